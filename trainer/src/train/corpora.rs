//! The sentences a run trains and is scored on: the main corpus's train and devel sets, and the
//! training examples from it and from the `--extra-data` corpora.

use std::path::Path;

use anyhow::{bail, Result};
use medlight_ner::align::SpecialTokens;
use medlight_ner::LabelSet;

use super::Settings;
use crate::batches::{self, Example};
use crate::data::{self, Sentence};

/// The main corpus's train and devel sentences, each cut to its `--max-*-sentences`.
pub(super) fn read_main(settings: &Settings) -> Result<(Vec<Sentence>, Vec<Sentence>)> {
    let mut train = data::read_iob2(&settings.data.join("train.tsv"))?;
    let mut devel = data::read_iob2(&settings.data.join("devel.tsv"))?;
    if let Some(n) = settings.max_train_sentences {
        train.truncate(n);
    }
    if let Some(n) = settings.max_devel_sentences {
        devel.truncate(n);
    }
    Ok((train, devel))
}

/// The training examples of `train` (the main corpus) and then of each extra corpus.
pub(super) fn examples(
    settings: &Settings,
    train: &[Sentence],
    tokenizer: &tokenizers::Tokenizer,
    labels: &LabelSet,
    special: SpecialTokens,
    window: usize,
) -> Result<Vec<Example>> {
    let mut examples = batches::encode(train, tokenizer, labels, special, window, &[])?;
    if examples.is_empty() {
        bail!(
            "{}: no training examples",
            settings.data.join("train.tsv").display()
        );
    }
    for dir in &settings.extra_data {
        examples.extend(extra_examples(
            settings, dir, tokenizer, labels, special, window,
        )?);
    }
    let has = |f: fn(&Example) -> bool| examples.iter().any(f);
    if has(|e| !e.soft.is_empty()) && has(|e| !e.outside_may_be.is_empty()) {
        bail!(
            "--extra-data: a corpus with soft targets (a third column) and a partially annotated corpus cannot \
             train together (the loss takes one or the other); train them in separate runs"
        );
    }
    Ok(examples)
}

/// The examples of the extra corpus in `dir`, whose `O` may stand for the types it does not annotate.
fn extra_examples(
    settings: &Settings,
    dir: &Path,
    tokenizer: &tokenizers::Tokenizer,
    labels: &LabelSet,
    special: SpecialTokens,
    window: usize,
) -> Result<Vec<Example>> {
    let path = dir.join("train.tsv");
    let mut sentences = data::read_iob2(&path)?;
    if let Some(n) = settings.max_train_sentences {
        sentences.truncate(n);
    }
    // A teacher's distributions cover every label, so such a corpus is read as fully annotated.
    let soft = sentences.iter().any(|s| !s.soft.is_empty());
    let unannotated = if soft {
        Vec::new()
    } else {
        unannotated_tags(labels, &data::entity_types(&sentences), &path)?
    };
    let extra = batches::encode(&sentences, tokenizer, labels, special, window, &unannotated)?;
    eprintln!(
        "joint training with {} ({} sentences; {})",
        path.display(),
        sentences.len(),
        match (soft, unannotated.is_empty()) {
            (true, _) =>
                "the teacher's distributions in its third column are the targets".to_string(),
            (false, true) => "its O may be only O".to_string(),
            (false, false) => format!(
                "its O may be {}",
                unannotated
                    .iter()
                    .map(|&id| labels.tag(id as usize))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    );
    Ok(extra)
}

/// The tags of the main corpus's entity types that an extra corpus does not annotate (its `O`
/// may be one of them). A type the main corpus lacks is an error: the model has no label for it.
pub(super) fn unannotated_tags(
    labels: &LabelSet,
    extra_types: &[String],
    path: &Path,
) -> Result<Vec<u32>> {
    let main_types = labels.entity_types();
    if let Some(unknown) = extra_types.iter().find(|t| !main_types.contains(t)) {
        bail!(
            "{}: entity type `{unknown}` is not one of the main corpus's ({}); an extra corpus may only annotate \
             a subset of them",
            path.display(),
            main_types.join(", ")
        );
    }
    let mut tags = Vec::new();
    for kind in main_types.iter().filter(|t| !extra_types.contains(t)) {
        for prefix in ["B", "I"] {
            tags.push(labels.require_id(&format!("{prefix}-{kind}"))? as u32);
        }
    }
    Ok(tags)
}
