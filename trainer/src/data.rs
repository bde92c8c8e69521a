//! IOB2 TSV corpora: `token<TAB>tag` a line, a blank line between sentences.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use medlight_ner::labels::Tag;
use medlight_ner::metrics::{self, Report};
use medlight_ner::Tagger;

#[derive(Debug, Clone, PartialEq)]
pub struct Sentence {
    pub words: Vec<String>,
    pub tags: Vec<String>,
}

impl Sentence {
    pub fn words(&self) -> Vec<&str> {
        self.words.iter().map(String::as_str).collect()
    }
}

/// Reads a split; every problem names the file and line. An empty split is an error.
pub fn read_iob2(path: &Path) -> Result<Vec<Sentence>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let sentences = parse_iob2(&text, path)?;
    if sentences.is_empty() {
        bail!("{}: no sentences: an empty split cannot be trained or scored", path.display());
    }
    Ok(sentences)
}

pub fn parse_iob2(text: &str, path: &Path) -> Result<Vec<Sentence>> {
    let mut sentences = Vec::new();
    let mut current = Sentence { words: Vec::new(), tags: Vec::new() };
    for (index, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            if !current.words.is_empty() {
                sentences.push(std::mem::replace(&mut current, Sentence { words: Vec::new(), tags: Vec::new() }));
            }
            continue;
        }
        let at = || format!("{}:{}", path.display(), index + 1);
        let mut fields = line.split('\t');
        let (Some(word), Some(tag), None) = (fields.next(), fields.next(), fields.next()) else {
            bail!("{}: expected `token<TAB>tag`, found {:?}", at(), line);
        };
        if word.is_empty() {
            bail!("{}: empty token", at());
        }
        if Tag::parse(tag).is_none() {
            bail!("{}: tag `{tag}` is not IOB2 (allowed: O, B-<type>, I-<type>)", at());
        }
        current.words.push(word.to_string());
        current.tags.push(tag.to_string());
    }
    if !current.words.is_empty() {
        sentences.push(current);
    }
    Ok(sentences)
}

/// Tags `sentences` with `tagger` and scores the tags against the sentences' gold tags. The
/// sentences are read as the browser reads a paste of them: consecutive sentences (words joined by
/// spaces) in chunks of at most `CHUNK_BYTES`, each one text to the consistency rule.
pub fn tag_and_score(tagger: &Tagger, sentences: &[Sentence]) -> Result<(Vec<Vec<String>>, Report)> {
    let words: Vec<Vec<&str>> = sentences.iter().map(Sentence::words).collect();
    let bytes = words.iter().map(|w| w.iter().map(|w| w.len() + 1).sum::<usize>());
    let texts = medlight_ner::sentences::group(bytes, medlight_ner::sentences::CHUNK_BYTES);
    let predicted = tagger.tag_texts(&words, &texts)?;
    let gold: Vec<&Vec<String>> = sentences.iter().map(|s| &s.tags).collect();
    let report = metrics::evaluate(&gold, &predicted);
    Ok((predicted, report))
}

/// The entity types of a corpus, sorted, for a label set that does not depend on line order.
pub fn entity_types(sentences: &[Sentence]) -> Vec<String> {
    let mut types: Vec<String> = sentences
        .iter()
        .flat_map(|s| s.tags.iter())
        .filter_map(|t| Tag::parse(t).and_then(|t| t.kind()).map(String::from))
        .collect();
    types.sort();
    types.dedup();
    types
}

/// `--data DIR`: the flag, else `MEDLIGHT_DATA` (clap reads it), else the first default that exists.
pub fn resolve_data_dir(given: Option<PathBuf>) -> Result<PathBuf> {
    if let Some(dir) = given {
        return Ok(dir);
    }
    let defaults = [PathBuf::from("data/bc5cdr"), PathBuf::from("../shared/data/bc5cdr")];
    defaults.iter().find(|d| d.join("train.tsv").is_file()).cloned().with_context(|| {
        format!(
            "no BC5CDR data found at {}: pass --data DIR (holding train.tsv and devel.tsv) or set MEDLIGHT_DATA",
            defaults.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(" or ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<Sentence>> {
        parse_iob2(text, Path::new("x.tsv"))
    }

    #[test]
    fn reads_sentences_separated_by_blank_lines() {
        let s = parse("Aspirin\tB-Chemical\n.\tO\n\n\nnausea\tB-Disease\r\n").unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].words, ["Aspirin", "."]);
        assert_eq!(s[1].tags, ["B-Disease"]);
    }

    #[test]
    fn a_malformed_line_names_file_and_line() {
        let err = parse("a\tO\nbroken line\n").unwrap_err().to_string();
        assert!(err.contains("x.tsv:2"), "{err}");
    }

    #[test]
    fn an_unknown_tag_names_the_allowed_tags() {
        let err = parse("a\tO\nb\tChemical\n").unwrap_err().to_string();
        assert!(err.contains("x.tsv:2") && err.contains("`Chemical`") && err.contains("B-<type>"), "{err}");
    }

    #[test]
    fn an_empty_split_is_an_error() {
        let dir = std::env::temp_dir().join(format!("medlight-empty-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("devel.tsv");
        std::fs::write(&path, "\n\n").unwrap();
        let err = read_iob2(&path).unwrap_err().to_string();
        assert!(err.contains("no sentences"), "{err}");
    }
}
