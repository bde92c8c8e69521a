//! Scores the tagger on documents with gold character spans (PubTator files, and JSON Lines such
//! as the clinical development set), reading each document's raw text as the browser does rather
//! than pre-split IOB2 tokens: tokenisation, sentence splitting and decoding are all under test.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{bail, Context as _, Result};
use medlight_ner::metrics::{Report, Scores};
use medlight_ner::Tagger;
use serde::Deserialize;

use crate::pubtator::{self, Document, Mention};

/// Whether `path` holds documents this module reads, rather than IOB2.
pub fn is_documents(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("jsonl" | "pubtator")
    )
}

/// Documents from a `.jsonl` or `.pubtator` file.
pub fn read(path: &Path) -> Result<Vec<Document>> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("jsonl") => read_jsonl(path),
        Some("pubtator") => pubtator::read(path),
        _ => bail!("{}: expected a .jsonl or .pubtator file", path.display()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    #[serde(default)]
    id: Option<String>,
    text: String,
    entities: Vec<Span>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Span {
    start: usize,
    end: usize,
    label: String,
    /// The covered text, checked against the offsets when given.
    #[serde(default)]
    text: Option<String>,
}

pub fn read_jsonl(path: &Path) -> Result<Vec<Document>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse_jsonl(&path.display().to_string(), &text)
}

/// One document per non-blank line: `{"id"?, "text", "entities": [{"start", "end", "label",
/// "text"?}]}`, offsets in characters (end exclusive). A bad line is an error naming `name`, the
/// line and the field.
pub fn parse_jsonl(name: &str, text: &str) -> Result<Vec<Document>> {
    let mut docs = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = format!("{name}:{}", i + 1);
        let parsed: Line = serde_json::from_str(line).with_context(|| at.clone())?;
        let mut mentions = Vec::new();
        for (k, span) in parsed.entities.iter().enumerate() {
            let field = format!("{at}: entities[{k}]");
            let Some(label) = pubtator::label(&span.label) else {
                bail!(
                    "{field}.label: expected Chemical or Disease, got {:?}",
                    span.label
                );
            };
            let (Some(s), Some(e)) = (
                pubtator::byte_at(&parsed.text, span.start),
                pubtator::byte_at(&parsed.text, span.end),
            ) else {
                bail!(
                    "{field}: offsets {}..{} run past the text ({} characters)",
                    span.start,
                    span.end,
                    parsed.text.chars().count()
                );
            };
            if s >= e {
                bail!(
                    "{field}: start {} is not before end {}",
                    span.start,
                    span.end
                );
            }
            let covered = &parsed.text[s..e];
            if let Some(expected) = span.text.as_deref().filter(|t| *t != covered) {
                bail!(
                    "{field}.text: offsets {}..{} give {covered:?}, not {expected:?}",
                    span.start,
                    span.end
                );
            }
            mentions.push(Mention {
                start: s,
                end: e,
                text: covered.to_string(),
                label: label.to_string(),
                ids: Vec::new(),
            });
        }
        docs.push(Document {
            pmid: parsed.id.unwrap_or_else(|| format!("line {}", i + 1)),
            text: parsed.text,
            mentions,
        });
    }
    Ok(docs)
}

/// A span the tagger and the gold disagree on.
#[derive(Debug, Clone, PartialEq)]
pub struct Miss {
    pub document: String,
    /// "missed" (gold only) or "spurious" (predicted only).
    pub kind: &'static str,
    pub label: String,
    pub text: String,
}

impl std::fmt::Display for Miss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}\t{}\t{}\t{}",
            self.document, self.kind, self.label, self.text
        )
    }
}

type Key = (usize, usize, usize, String);

/// Entity-level scores (exact type and boundaries, as [`medlight_ner::metrics`]) of the tagger's
/// entities in each document's text, with the disagreements.
pub fn score(tagger: &Tagger, docs: &[Document]) -> Result<(Report, Vec<Miss>)> {
    let mut gold: BTreeSet<Key> = BTreeSet::new();
    let mut found: BTreeSet<Key> = BTreeSet::new();
    for (i, d) in docs.iter().enumerate() {
        gold.extend(
            d.mentions
                .iter()
                .map(|m| (i, m.start, m.end, m.label.clone())),
        );
        let entities = tagger
            .annotate(&d.text)
            .with_context(|| format!("document {}", d.pmid))?;
        found.extend(entities.into_iter().map(|e| (i, e.start, e.end, e.label)));
    }
    let misses = gold
        .difference(&found)
        .map(|k| ("missed", k))
        .chain(found.difference(&gold).map(|k| ("spurious", k)))
        .map(|(kind, (i, s, e, label))| Miss {
            document: docs[*i].pmid.clone(),
            kind,
            label: label.clone(),
            text: docs[*i].text[*s..*e].to_string(),
        })
        .collect();
    Ok((report(&gold, &found), misses))
}

fn report(gold: &BTreeSet<Key>, found: &BTreeSet<Key>) -> Report {
    let count = |set: &BTreeSet<Key>, label: Option<&str>| {
        set.iter()
            .filter(|k| label.is_none_or(|l| k.3 == l))
            .count()
    };
    let both: BTreeSet<Key> = gold.intersection(found).cloned().collect();
    let scores = |label: Option<&str>| {
        Scores::from_counts(count(&both, label), count(found, label), count(gold, label))
    };
    let labels: BTreeSet<&str> = gold.iter().chain(found).map(|k| k.3.as_str()).collect();
    Report {
        overall: scores(None),
        per_type: labels
            .into_iter()
            .map(|l| (l.to_string(), scores(Some(l))))
            .collect::<BTreeMap<_, _>>(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonl_offsets_are_characters_and_checked() {
        let docs = parse_jsonl(
            "c.jsonl",
            "{\"id\":\"a\",\"text\":\"Naïve MI on Coumadin.\",\"entities\":[\
             {\"start\":6,\"end\":8,\"label\":\"Disease\",\"text\":\"MI\"},\
             {\"start\":12,\"end\":20,\"label\":\"Chemical\"}]}\n\n\
             {\"text\":\"Nothing here.\",\"entities\":[]}\n",
        )
        .unwrap();
        assert_eq!(docs.len(), 2);
        let d = &docs[0];
        assert_eq!(&d.text[d.mentions[0].start..d.mentions[0].end], "MI");
        assert_eq!(d.mentions[1].text, "Coumadin");
        assert_eq!(docs[1].pmid, "line 3");
    }

    #[test]
    fn bad_lines_name_file_line_and_field() {
        let err = |line: &str| format!("{:#}", parse_jsonl("c.jsonl", line).unwrap_err());
        let e = err("{\"text\":\"MI.\",\"entities\":[{\"start\":0,\"end\":2,\"label\":\"Drug\"}]}");
        assert!(e.contains("c.jsonl:1: entities[0].label"), "{e}");
        let e =
            err("{\"text\":\"MI.\",\"entities\":[{\"start\":0,\"end\":9,\"label\":\"Disease\"}]}");
        assert!(e.contains("run past the text"), "{e}");
        let e = err(
            "{\"text\":\"MI.\",\"entities\":[{\"start\":0,\"end\":1,\"label\":\"Disease\",\"text\":\"MI\"}]}",
        );
        assert!(e.contains("entities[0].text"), "{e}");
        let e = err("{\"text\":\"MI.\"}");
        assert!(e.contains("c.jsonl:1") && e.contains("entities"), "{e}");
    }

    #[test]
    fn scores_count_exact_spans_per_type() {
        let key = |s, e, l: &str| (0, s, e, l.to_string());
        let gold = BTreeSet::from([key(0, 2, "Disease"), key(5, 9, "Chemical")]);
        let found = BTreeSet::from([key(0, 2, "Disease"), key(5, 8, "Chemical")]);
        let r = report(&gold, &found);
        assert_eq!(r.overall.correct, 1);
        assert_eq!(r.per_type["Disease"].f1, 1.0);
        assert_eq!(r.per_type["Chemical"].f1, 0.0);
        assert_eq!(r.overall.f1, 0.5);
    }
}
