//! Which names join the model's lexicon: the train split's (`--lexicon-min-*`) and the MeSH vocabulary's (`--vocabulary-*`), flags shared by `train`, `eval` and `retune`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use clap::Args;

use trainer::export;

/// Which MeSH names join the lexicon (see `trainer::vocabulary`).
#[derive(Args, Clone)]
pub(super) struct VocabularyRule {
    /// The IOB2 train split that shows which vocabulary names the annotators leave untagged
    #[arg(
        long,
        value_name = "TSV",
        default_value = "../shared/data/bc5cdr/train.tsv"
    )]
    vocabulary_train: PathBuf,
    /// Keep a vocabulary name that the train split tags in at least this share of its occurrences
    #[arg(long, value_name = "SHARE", default_value_t = 0.5)]
    vocabulary_min_share: f64,
    /// Keep a vocabulary name of at least this many characters, spaces excluded
    #[arg(long, value_name = "CHARS", default_value_t = 4)]
    vocabulary_min_chars: usize,
}

impl VocabularyRule {
    /// The lexicon entries of the descriptors file `mesh`, words split by `tokenizer`.
    pub(super) fn entries(
        &self,
        mesh: &Path,
        tokenizer: &tokenizers::Tokenizer,
    ) -> Result<export::LexiconEntries> {
        if !(self.vocabulary_min_share > 0.0 && self.vocabulary_min_share <= 1.0) {
            bail!(
                "--vocabulary-min-share {} is not in (0, 1]",
                self.vocabulary_min_share
            );
        }
        let rule = trainer::vocabulary::Rule {
            min_share: self.vocabulary_min_share,
            min_chars: self.vocabulary_min_chars,
        };
        let names = trainer::vocabulary::entries(mesh, &self.vocabulary_train, tokenizer, rule)?;
        let count: usize = names.values().map(Vec::len).sum();
        eprintln!("{}: {count} vocabulary names kept", mesh.display());
        Ok(names)
    }
}

/// Which names of a train split the model's lexicon keeps (see `medlight_ner::lexicon`).
#[derive(Args, Clone)]
pub(super) struct LexiconRule {
    /// Keep a string that the train split tags as an entity in at least this share of its whole-word
    /// occurrences [default: 0.5]
    #[arg(long, value_name = "SHARE")]
    lexicon_min_share: Option<f64>,
    /// Keep a string of at least this many characters, spaces excluded [default: 4]
    #[arg(long, value_name = "CHARS")]
    lexicon_min_chars: Option<usize>,
}

impl LexiconRule {
    /// The lexicon of `file`'s first `max_sentences` sentences (all if `None`).
    pub(super) fn learn(
        &self,
        file: &Path,
        max_sentences: Option<usize>,
    ) -> Result<export::LexiconEntries> {
        let share = self.lexicon_min_share.unwrap_or(0.5);
        let chars = self.lexicon_min_chars.unwrap_or(4);
        export::learn_lexicon(file, max_sentences, share, chars)
    }

    /// The lexicon of `file` when one is given (`--lexicon TSV`); without it, `None`, and a rule given
    /// anyway is an error.
    pub(super) fn learn_if_given(
        &self,
        file: Option<&Path>,
    ) -> Result<Option<export::LexiconEntries>> {
        match file {
            Some(file) => Ok(Some(self.learn(file, None)?)),
            None => {
                self.unused("without --lexicon TSV (the file to learn the lexicon from)")?;
                Ok(None)
            }
        }
    }

    /// An error when a rule was given that no lexicon will be learned with (`why`: the flags that say so).
    pub(super) fn unused(&self, why: &str) -> Result<()> {
        let given = [
            ("--lexicon-min-share", self.lexicon_min_share.is_some()),
            ("--lexicon-min-chars", self.lexicon_min_chars.is_some()),
        ];
        match given.iter().find(|(_, given)| *given) {
            Some((flag, _)) => bail!("{flag} has no effect {why}"),
            None => Ok(()),
        }
    }
}
