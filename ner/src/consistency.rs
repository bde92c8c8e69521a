//! One text, one reading: a string the model tags as an entity somewhere in a text is tagged the
//! same way everywhere in it.
//!
//! Abstracts name a chemical or a disease many times, often as an abbreviation ("NMS", "5-HT") whose
//! context differs between sentences; the model, reading one sentence at a time, tags some
//! occurrences and misses or mistypes others. Two rules, applied to the decoded tags of a whole text:
//! - **vote**: an entity whose string (lower-cased words) the model tagged more often as another type
//!   in the text takes that type;
//! - **fill**: every untagged occurrence of an entity's string, as whole words, gets the string's
//!   most frequent type (longer strings first, so a long name is not cut into a shorter one's).
//!
//! Before both, the abbreviations the text defines ("overactive bladder ( OAB )", see
//! [`crate::abbreviation`]) are read as the author states them:
//! - a short form whose long form is an entity gets the long form's type, and keeps it throughout the
//!   text, whatever the vote: the author's definition outweighs the model's other readings;
//! - so does a short form whose long form is a phrase named after the entity that ends it
//!   ("ribavirin - induced hemolytic anemia ( RIHA )" is a disease);
//! - a short form tagged as an entity whose long form has no tag at all ("parathyroid hormone ( PTH )")
//!   is not an entity anywhere in the text.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use crate::abbreviation;
use crate::decode::{chunks, Chunk};
use crate::labels::{LabelSet, Tag};

/// Words that put a phrase's head before them ("duration of catatonia", "studies of left ventricular
/// dysfunction"): a long form holding one is not named after the entity that ends it.
const HEAD_FIRST_WORDS: [&str; 10] = [
    "of", "in", "for", "on", "with", "by", "to", "from", "and", "or",
];

/// Strings shorter than this (in characters, spaces excluded) are never filled in: a one-letter
/// entity such as "T" is too ambiguous to copy.
const MIN_FILL_CHARS: usize = 2;

/// Harmonises `tags` (one list of tag ids per sentence, one id per word) across all the sentences
/// of one text. `words` holds the sentences' words, in the same shape.
pub fn harmonise<S: AsRef<str>>(words: &[Vec<S>], tags: &mut [Vec<usize>], labels: &LabelSet) {
    let lower: Vec<Vec<String>> = words
        .iter()
        .map(|s| s.iter().map(|w| w.as_ref().to_lowercase()).collect())
        .collect();
    let ids = TagIds::new(labels);
    let Definitions {
        not_entities,
        stated,
    } = read_definitions(&lower, tags, &ids);
    // The type a defined short form keeps throughout the text.
    let stated_type = |key: &[String]| match key {
        [word] => stated.get(word).cloned(),
        _ => None,
    };
    // Each sentence's entities as decoded, less the short forms that are no entity in this text
    // (untagged here); the vote keeps their spans, so they hold throughout.
    let entities: Vec<Vec<Chunk>> = lower
        .iter()
        .zip(tags.iter_mut())
        .map(|(sentence, sentence_tags)| {
            let mut found = chunks(&ids.names(sentence_tags));
            found.retain(|c| {
                let keep = c.end - c.start > 1 || !not_entities.contains(&sentence[c.start]);
                if !keep {
                    sentence_tags[c.start] = ids.outside;
                }
                keep
            });
            found
        })
        .collect();
    // Entity string → how often each type was predicted for it, in order of first appearance.
    let mut counts: Vec<(Vec<String>, HashMap<String, usize>)> = Vec::new();
    let mut found: HashMap<Vec<String>, usize> = HashMap::new();
    for (sentence, sentence_entities) in lower.iter().zip(&entities) {
        for chunk in sentence_entities {
            let key = sentence[chunk.start..chunk.end].to_vec();
            let slot = *found.entry(key.clone()).or_insert_with(|| {
                counts.push((key, HashMap::new()));
                counts.len() - 1
            });
            *counts[slot].1.entry(chunk.kind.clone()).or_default() += 1;
        }
    }
    // Ties go to the type listed first in the label set, so the result never depends on hashing.
    let order = labels.entity_types();
    let majority = |kinds: &HashMap<String, usize>| -> String {
        let best = kinds.values().copied().max().unwrap_or(0);
        order
            .iter()
            .find(|k| kinds.get(*k) == Some(&best))
            .cloned()
            .unwrap_or_default()
    };

    // Vote.
    for ((sentence, sentence_tags), sentence_entities) in
        lower.iter().zip(tags.iter_mut()).zip(&entities)
    {
        for chunk in sentence_entities {
            let key = &sentence[chunk.start..chunk.end];
            let kinds = &counts[found[key]].1;
            let stated = stated_type(key);
            let winner = stated.clone().unwrap_or_else(|| majority(kinds));
            if winner != chunk.kind && (stated.is_some() || kinds[&winner] > kinds[&chunk.kind]) {
                ids.write(&mut sentence_tags[chunk.start..chunk.end], &winner);
            }
        }
    }

    // Fill, longest strings first.
    counts.sort_by_key(|(key, _)| std::cmp::Reverse(key.len()));
    for (key, kinds) in &counts {
        if key.iter().map(|w| w.chars().count()).sum::<usize>() < MIN_FILL_CHARS {
            continue;
        }
        let kind = stated_type(key).unwrap_or_else(|| majority(kinds));
        for (sentence, sentence_tags) in lower.iter().zip(tags.iter_mut()) {
            let mut at = 0;
            while at + key.len() <= sentence.len() {
                let end = at + key.len();
                if sentence[at..end] == key[..] && ids.can_fill(sentence_tags, at..end) {
                    ids.write(&mut sentence_tags[at..end], &kind);
                    at = end;
                } else {
                    at += 1;
                }
            }
        }
    }
}

/// What a text's abbreviation definitions say about its short forms.
struct Definitions {
    /// Short forms defined with an untagged long form, which the model tagged anyway: they are not
    /// entities in this text.
    not_entities: HashSet<String>,
    /// Short forms defined with an entity as long form (or ending it): the entity's type, from the
    /// first definition.
    stated: HashMap<String, String>,
}

/// Applies the abbreviations each sentence defines: a short form takes its long form's type when the
/// long form is an entity, or a phrase named after the entity that ends it.
fn read_definitions(lower: &[Vec<String>], tags: &mut [Vec<usize>], ids: &TagIds) -> Definitions {
    let mut not_entities = HashSet::new();
    let mut stated = HashMap::new();
    for (sentence, sentence_tags) in lower.iter().zip(tags.iter_mut()) {
        let entities = chunks(&ids.names(sentence_tags));
        for short in abbreviation::parenthesised(sentence) {
            // Only a short form that is untagged or one word of its own can change: it touches no other entity.
            let alone = sentence_tags[short] == ids.outside
                || (ids.begin[sentence_tags[short]] && !ids.inside[sentence_tags[short + 1]]);
            if !alone {
                continue;
            }
            let open = short - 1;
            if let Some(long) = entities.iter().find(|c| c.end == open) {
                if abbreviation::abbreviates(&sentence[short], &sentence[long.start..open])
                    || names_after(sentence, short, long.start)
                {
                    ids.write(&mut sentence_tags[short..short + 1], &long.kind);
                    stated
                        .entry(sentence[short].clone())
                        .or_insert_with(|| long.kind.clone());
                }
            } else if sentence_tags[short] != ids.outside {
                let untagged_long_form = abbreviation::long_form_start(sentence, short)
                    .is_some_and(|start| {
                        sentence_tags[start..open].iter().all(|&t| t == ids.outside)
                    });
                if untagged_long_form {
                    sentence_tags[short] = ids.outside;
                    not_entities.insert(sentence[short].clone());
                }
            }
        }
    }
    Definitions {
        not_entities,
        stated,
    }
}

/// Whether the short form at `short` abbreviates a phrase that begins before the entity starting at
/// `entity` (and ending at the parenthesis) with words that only modify it: English names a noun
/// phrase after its last noun unless a preposition or conjunction puts the head first.
fn names_after(sentence: &[String], short: usize, entity: usize) -> bool {
    abbreviation::long_form_start(sentence, short).is_some_and(|start| {
        start < entity
            && !sentence[start..entity]
                .iter()
                .any(|w| HEAD_FIRST_WORDS.contains(&w.as_str()))
    })
}

/// Tag ids by role, looked up once.
pub(crate) struct TagIds<'a> {
    labels: &'a LabelSet,
    outside: usize,
    /// Per tag id: whether it is a `B-` tag.
    begin: Vec<bool>,
    /// Per tag id: whether it is an `I-` tag.
    inside: Vec<bool>,
    /// Per tag id: its entity type (`None` for `O`).
    kind: Vec<Option<&'a str>>,
}

impl<'a> TagIds<'a> {
    pub(crate) fn new(labels: &'a LabelSet) -> Self {
        let is = |role: fn(&Tag) -> bool| {
            labels
                .tags()
                .iter()
                .map(|t| Tag::parse(t).is_some_and(|t| role(&t)))
                .collect()
        };
        let (begin, inside) = (
            is(|t| matches!(t, Tag::Begin(_))),
            is(|t| matches!(t, Tag::Inside(_))),
        );
        let kind = labels
            .tags()
            .iter()
            .map(|t| Tag::parse(t).and_then(|t| t.kind()))
            .collect();
        Self {
            labels,
            outside: labels.id("O").expect("a label set always has O"),
            begin,
            inside,
            kind,
        }
    }

    fn names(&self, tags: &[usize]) -> Vec<&'a str> {
        tags.iter().map(|&t| self.labels.tag(t)).collect()
    }

    /// Whether the words in `span` can become a new entity: all untagged, and not followed by an
    /// `I-`, which would continue the new entity and change another one.
    pub(crate) fn can_fill(&self, tags: &[usize], span: Range<usize>) -> bool {
        !self.continues(tags, span.end) && tags[span].iter().all(|&t| t == self.outside)
    }

    /// Whether the words in `span` can become one entity of `kind`: every entity they touch lies
    /// inside them and has that type (or none is there), and no `I-` after them continues one.
    pub(crate) fn can_widen(&self, tags: &[usize], span: Range<usize>, kind: &str) -> bool {
        !self.continues(tags, span.start)
            && !self.continues(tags, span.end)
            && tags[span]
                .iter()
                .all(|&t| t == self.outside || self.kind[t] == Some(kind))
    }

    /// Whether the word at `at` (if any) continues an entity begun before it: an `I-` tag.
    fn continues(&self, tags: &[usize], at: usize) -> bool {
        tags.get(at).is_some_and(|&t| self.inside[t])
    }

    /// Tags `span` as one entity of `kind`.
    pub(crate) fn write(&self, span: &mut [usize], kind: &str) {
        let begin = self
            .labels
            .id(&format!("B-{kind}"))
            .expect("kinds come from the label set");
        let inside = self
            .labels
            .id(&format!("I-{kind}"))
            .expect("kinds come from the label set");
        for (i, tag) in span.iter_mut().enumerate() {
            *tag = if i == 0 { begin } else { inside };
        }
    }
}

#[cfg(test)]
mod tests;
