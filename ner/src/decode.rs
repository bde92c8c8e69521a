//! IOB2 tags → entity chunks and spans.
//!
//! Chunking follows `seqeval`'s default (conlleval) rules exactly, so that decoding and scoring
//! agree: an `I-X` after `O` or after another type starts a new entity, and a type change ends one.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::context::Context;
use crate::linking::Concept;

/// An entity over word positions `start..end` of one sentence.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Chunk {
    pub kind: String,
    pub start: usize,
    pub end: usize,
}

/// seqeval splits a tag into its first character and the type after the separator (`_` if none).
fn split(tag: &str) -> (char, &str) {
    let mut chars = tag.chars();
    let prefix = chars.next().unwrap_or('O');
    let rest = chars.as_str();
    let kind = rest.split_once('-').map_or(rest, |(_, k)| k);
    (prefix, if kind.is_empty() { "_" } else { kind })
}

fn ends_chunk(prev: char, tag: char, prev_kind: &str, kind: &str) -> bool {
    matches!(prev, 'E' | 'S')
        || (matches!(prev, 'B' | 'I') && matches!(tag, 'B' | 'S' | 'O'))
        || (prev != 'O' && prev != '.' && prev_kind != kind)
}

fn starts_chunk(prev: char, tag: char, prev_kind: &str, kind: &str) -> bool {
    matches!(tag, 'B' | 'S')
        || (matches!(prev, 'E' | 'S' | 'O') && matches!(tag, 'E' | 'I'))
        || (tag != 'O' && tag != '.' && prev_kind != kind)
}

/// The entities of one sentence's tags, as `seqeval.metrics.sequence_labeling.get_entities` finds them.
pub fn chunks<S: AsRef<str>>(tags: &[S]) -> Vec<Chunk> {
    let mut out = Vec::new();
    let (mut prev, mut prev_kind) = ('O', "_");
    let mut begin = 0;
    let closing = std::iter::once("O");
    for (i, tag) in tags.iter().map(|t| t.as_ref()).chain(closing).enumerate() {
        let (prefix, kind) = split(tag);
        if ends_chunk(prev, prefix, prev_kind, kind) {
            out.push(Chunk {
                kind: prev_kind.to_string(),
                start: begin,
                end: i,
            });
        }
        if starts_chunk(prev, prefix, prev_kind, kind) {
            begin = i;
        }
        prev = prefix;
        prev_kind = kind;
    }
    out
}

/// An entity found in text. Offsets are UTF-8 byte offsets into the annotated text.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Entity {
    pub start: usize,
    pub end: usize,
    pub label: String,
    /// Mean probability of the predicted tags over the entity's words.
    pub score: f32,
    /// Negated, possible, historical or someone else's ([`crate::context`]); set after decoding.
    #[serde(default)]
    pub context: Context,
    /// The vocabulary concept it names ([`crate::linking`]), once linked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concept: Option<Concept>,
}

/// Entities from per-word tags and tag probabilities, given each word's byte range.
pub fn entities<S: AsRef<str>>(words: &[Range<usize>], tags: &[S], probs: &[f32]) -> Vec<Entity> {
    chunks(tags)
        .into_iter()
        .map(|c| Entity {
            start: words[c.start].start,
            end: words[c.end - 1].end,
            score: probs[c.start..c.end].iter().sum::<f32>() / (c.end - c.start) as f32,
            label: c.kind,
            ..Default::default()
        })
        .collect()
}

/// Converts a UTF-8 byte offset into `text` to a character (Unicode scalar) offset.
pub fn char_offset(text: &str, byte: usize) -> usize {
    text[..byte].chars().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(tags: &[&str]) -> Vec<(String, usize, usize)> {
        chunks(tags)
            .into_iter()
            .map(|c| (c.kind, c.start, c.end))
            .collect()
    }

    #[test]
    fn iob2_chunks() {
        assert_eq!(
            spans(&["B-Chemical", "I-Chemical", "O", "B-Disease"]),
            vec![("Chemical".into(), 0, 2), ("Disease".into(), 3, 4)]
        );
    }

    #[test]
    fn inside_without_begin_starts_an_entity() {
        assert_eq!(
            spans(&["O", "I-Disease", "I-Disease"]),
            vec![("Disease".into(), 1, 3)]
        );
        assert_eq!(spans(&["I-Disease"]), vec![("Disease".into(), 0, 1)]);
    }

    #[test]
    fn adjacent_entities_of_one_type_stay_apart() {
        assert_eq!(
            spans(&["B-Disease", "B-Disease", "I-Disease"]),
            vec![("Disease".into(), 0, 1), ("Disease".into(), 1, 3)]
        );
    }

    #[test]
    fn a_type_change_splits_the_entity() {
        assert_eq!(
            spans(&["B-Chemical", "I-Disease"]),
            vec![("Chemical".into(), 0, 1), ("Disease".into(), 1, 2)]
        );
    }

    #[test]
    fn entities_carry_byte_offsets_and_mean_scores() {
        let words = [0..7, 8..15, 16..22];
        let found = entities(&words, &["B-Chemical", "O", "B-Disease"], &[0.9, 0.5, 0.7]);
        assert_eq!(found.len(), 2);
        assert_eq!(
            (found[0].start, found[0].end, found[0].label.as_str()),
            (0, 7, "Chemical")
        );
        assert!((found[1].score - 0.7).abs() < 1e-6);
    }

    #[test]
    fn char_offsets_count_scalars_not_bytes() {
        let text = "β-blocker 💊 x";
        let byte = text.find('x').unwrap();
        assert_eq!(char_offset(text, byte), 12);
    }
}

/// How per-word label distributions become tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Decoding {
    /// The most probable tag of each word on its own.
    Argmax,
    /// The most probable tag sequence that is valid IOB2 (`I-X` only after `B-X` or `I-X`).
    #[default]
    Viterbi,
}

/// Tag ids for a sequence of per-word probability rows (`rows[i][tag]`), scored as log-probabilities
/// with `outside_bias` added to `O`'s.
pub fn decode_tags(
    rows: &[Vec<f32>],
    labels: &crate::LabelSet,
    decoding: Decoding,
    outside_bias: f32,
) -> Vec<usize> {
    let outside = labels.tags().iter().position(|t| t == "O");
    let scores: Vec<Vec<f32>> = rows
        .iter()
        .map(|row| {
            let bias = |t: usize| {
                if Some(t) == outside {
                    outside_bias
                } else {
                    0.0
                }
            };
            row.iter()
                .enumerate()
                .map(|(t, &p)| p.max(1e-12).ln() + bias(t))
                .collect()
        })
        .collect();
    match decoding {
        Decoding::Argmax => scores.iter().map(|row| argmax(row)).collect(),
        Decoding::Viterbi => viterbi(&scores, labels),
    }
}

fn argmax(row: &[f32]) -> usize {
    row.iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |(i, _)| i)
}

/// `rows`: per-word log-scores.
fn viterbi(rows: &[Vec<f32>], labels: &crate::LabelSet) -> Vec<usize> {
    use crate::labels::Tag;
    let n = labels.len();
    if rows.is_empty() {
        return Vec::new();
    }
    let tags: Vec<Tag> = labels
        .tags()
        .iter()
        .map(|t| Tag::parse(t).expect("label sets hold IOB2 tags"))
        .collect();
    // `I-X` may follow only `B-X` or `I-X`, and may not open a sentence.
    let allowed = |prev: Option<usize>, next: usize| match tags[next] {
        Tag::Inside(kind) => prev.is_some_and(|p| tags[p].kind() == Some(kind)),
        _ => true,
    };
    let mut score: Vec<f32> = (0..n)
        .map(|t| {
            if allowed(None, t) {
                rows[0][t]
            } else {
                f32::NEG_INFINITY
            }
        })
        .collect();
    let mut back = vec![vec![0usize; n]; rows.len()];
    for (i, row) in rows.iter().enumerate().skip(1) {
        let mut next = vec![f32::NEG_INFINITY; n];
        for t in 0..n {
            for (p, &s) in score.iter().enumerate() {
                if allowed(Some(p), t) && s > next[t] {
                    next[t] = s;
                    back[i][t] = p;
                }
            }
            next[t] += row[t];
        }
        score = next;
    }
    let mut best = argmax(&score);
    let mut path = vec![best; rows.len()];
    for i in (1..rows.len()).rev() {
        best = back[i][best];
        path[i - 1] = best;
    }
    path
}

#[cfg(test)]
mod viterbi_tests {
    use super::*;
    use crate::LabelSet;

    #[test]
    fn viterbi_repairs_an_inside_tag_after_outside() {
        let labels = LabelSet::from_types(&["Disease"]); // O, B-Disease, I-Disease
                                                         // Argmax says O, I-Disease: invalid. The best valid path is O, B-Disease.
        let rows = vec![vec![0.8, 0.1, 0.1], vec![0.2, 0.35, 0.45]];
        assert_eq!(
            decode_tags(&rows, &labels, Decoding::Argmax, 0.0),
            vec![0, 2]
        );
        assert_eq!(
            decode_tags(&rows, &labels, Decoding::Viterbi, 0.0),
            vec![0, 1]
        );
    }

    #[test]
    fn viterbi_keeps_a_valid_argmax_path() {
        let labels = LabelSet::from_types(&["Chemical", "Disease"]);
        let rows = vec![
            vec![0.1, 0.8, 0.05, 0.03, 0.02],
            vec![0.1, 0.05, 0.8, 0.03, 0.02],
            vec![0.9, 0.02, 0.02, 0.03, 0.03],
        ];
        assert_eq!(
            decode_tags(&rows, &labels, Decoding::Viterbi, 0.0),
            vec![1, 2, 0]
        );
        assert_eq!(
            decode_tags(&rows, &labels, Decoding::Argmax, 0.0),
            vec![1, 2, 0]
        );
    }

    #[test]
    fn viterbi_never_continues_another_type() {
        let labels = LabelSet::from_types(&["Chemical", "Disease"]);
        let rows = vec![vec![0.0, 0.9, 0.0, 0.1, 0.0], vec![0.1, 0.0, 0.1, 0.0, 0.8]];
        let tags = decode_tags(&rows, &labels, Decoding::Viterbi, 0.0);
        assert_ne!(tags, vec![1, 4], "B-Chemical I-Disease is not IOB2");
    }

    #[test]
    fn an_outside_bias_drops_the_less_certain_entity_in_both_decodings() {
        let labels = LabelSet::from_types(&["Disease"]);
        // Word 1: B-Disease at 0.9 against O at 0.1; word 2: B-Disease at 0.6 against O at 0.4.
        let rows = vec![vec![0.1, 0.9, 0.0], vec![0.4, 0.6, 0.0]];
        for decoding in [Decoding::Argmax, Decoding::Viterbi] {
            assert_eq!(
                decode_tags(&rows, &labels, decoding, 0.0),
                vec![1, 1],
                "{decoding:?}"
            );
            // ln(0.6/0.4) = 0.41 < 1 < ln(0.9/0.1) = 2.2
            assert_eq!(
                decode_tags(&rows, &labels, decoding, 1.0),
                vec![1, 0],
                "{decoding:?}"
            );
            assert_eq!(
                decode_tags(&rows, &labels, decoding, 3.0),
                vec![0, 0],
                "{decoding:?}"
            );
            // A negative bias favours entities.
            assert_eq!(
                decode_tags(&[vec![0.7, 0.3, 0.0]], &labels, decoding, -1.0),
                vec![1],
                "{decoding:?}"
            );
        }
    }
}
