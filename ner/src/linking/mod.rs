//! Concept linking: an entity's MeSH concept. A mention is looked up, in this order, as
//! annotators linked it ([`ConceptIndex::add_mention`]), by a vocabulary name with the same key
//! ([`normalise::key`]), by a name with the same words in another order, as a composite mention
//! ("breast and ovarian cancer" names two), as the organ's disease if it names a harm to an organ
//! ("pulmonary toxicity"), and by the most similar name if it is similar enough.
//! Within a document, a short form the text defines ("neuroleptic malignant syndrome (NMS)") is
//! linked as its long form.

use serde::{Deserialize, Serialize};

use crate::abbreviation::abbreviates;
use crate::decode::Entity;

mod fuzzy;
mod index;
pub mod normalise;
mod organ_harm;

pub use index::{ConceptIndex, Entry, Found, LABELS};

/// A vocabulary concept an entity names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Concept {
    /// MeSH ID as the corpora write it ("D014859", or a supplementary "C…"); a composite mention
    /// names several, joined by `|` ("D001943|D010051").
    pub id: String,
    /// The concept's preferred name ("Warfarin"); a composite's names joined by " | ".
    pub name: String,
    /// How sure the linker is, 0 to 1.
    pub score: f32,
}

/// The index and how far to trust a similar name.
#[derive(Debug)]
pub struct Linker {
    pub index: ConceptIndex,
    /// The least trigram cosine at which a similar name is taken ([`ConceptIndex::similar`]).
    pub threshold: f32,
}

/// The fuzzy fallback's default threshold (chosen on BC5CDR devel, docs/linking.md).
pub const DEFAULT_THRESHOLD: f32 = 0.7;

/// Conjunctions that join the parts of a composite mention.
const CONJUNCTIONS: [&str; 4] = ["and", "or", "and/or", ","];

impl Linker {
    pub fn new(index: ConceptIndex) -> Self {
        Linker {
            index,
            threshold: DEFAULT_THRESHOLD,
        }
    }

    fn concept(&self, found: Found) -> Concept {
        let e = &self.index.entries()[found.concept];
        Concept {
            id: e.id.clone(),
            name: e.name.clone(),
            score: found.score,
        }
    }

    /// The concept a key names, without composites.
    fn single(&self, label: &str, key: &str) -> Option<Found> {
        self.index
            .exact(label, key)
            .or_else(|| self.index.reordered(label, key))
    }

    /// The concept a mention of type `label` names, or `None`.
    pub fn link(&self, label: &str, mention: &str) -> Option<Concept> {
        let key = normalise::key(mention);
        if key.is_empty() {
            return None;
        }
        if let Some(found) = self.single(label, &key) {
            return Some(self.concept(found));
        }
        if let Some(parts) = self.composite(label, mention) {
            return Some(parts);
        }
        if let Some(found) = self.organ_disease(label, &key) {
            return Some(self.concept(found));
        }
        self.index
            .similar(label, &key, self.threshold)
            .map(|f| self.concept(f))
    }

    /// The disease of the organ a Disease mention names a harm to ("renal damage": Kidney
    /// Diseases), a little less sure than the name it was looked up by.
    fn organ_disease(&self, label: &str, key: &str) -> Option<Found> {
        if label != "Disease" {
            return None;
        }
        organ_harm::organ_disease_keys(key)
            .iter()
            .find_map(|k| self.single(label, k))
            .map(|found| Found {
                score: 0.8 * found.score,
                ..found
            })
    }

    /// A composite mention's concepts: "breast and ovarian cancer" as "breast cancer" and
    /// "ovarian cancer"; "renal, hepatic or cardiac toxicity" likewise. Each part must link by
    /// its key or its reordered key.
    fn composite(&self, label: &str, mention: &str) -> Option<Concept> {
        let spaced = mention.replace(',', " , ");
        let words: Vec<&str> = spaced.split_whitespace().collect();
        let is_cut = |w: &str| CONJUNCTIONS.iter().any(|c| w.eq_ignore_ascii_case(c));
        let cuts: Vec<usize> = (0..words.len()).filter(|&i| is_cut(words[i])).collect();
        let &last_cut = cuts.last()?;
        let last = &words[last_cut + 1..];
        if last.len() < 2 {
            return None;
        }
        let head = last[last.len() - 1];
        let mut parts: Vec<String> = Vec::new();
        let mut from = 0;
        for &cut in &cuts {
            if cut > from {
                parts.push(format!("{} {head}", words[from..cut].join(" ")));
            }
            from = cut + 1;
        }
        parts.push(last.join(" "));
        let found: Vec<Found> = parts
            .iter()
            .map(|p| self.single(label, &normalise::key(p)))
            .collect::<Option<_>>()?;
        let concepts: Vec<Concept> = found.into_iter().map(|f| self.concept(f)).collect();
        Some(Concept {
            id: concepts
                .iter()
                .map(|c| c.id.as_str())
                .collect::<Vec<_>>()
                .join("|"),
            name: concepts
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(" | "),
            score: concepts.iter().map(|c| c.score).fold(1.0, f32::min),
        })
    }

    /// Links every entity of a document (`text`, which the entities' byte offsets index). A short
    /// form defined right after a linked long form ("… syndrome (NMS)") gets the long form's
    /// concept wherever it occurs in the document.
    pub fn link_document(&self, text: &str, entities: &mut [Entity]) {
        for e in entities.iter_mut() {
            e.concept = text
                .get(e.start..e.end)
                .and_then(|mention| self.link(&e.label, mention));
        }
        let mut defined: Vec<(String, String, Concept)> = Vec::new();
        for e in entities.iter() {
            let (Some(concept), Some(long)) = (&e.concept, text.get(e.start..e.end)) else {
                continue;
            };
            if let Some(short) = defined_short_form(&text[e.end..]) {
                let words: Vec<&str> = long.split_whitespace().collect();
                if short != long && abbreviates(short, &words) {
                    defined.push((short.to_string(), e.label.clone(), concept.clone()));
                }
            }
        }
        for e in entities.iter_mut() {
            let Some(mention) = text.get(e.start..e.end) else {
                continue;
            };
            if let Some((_, _, concept)) = defined
                .iter()
                .find(|(s, l, _)| s == mention && *l == e.label)
            {
                e.concept = Some(concept.clone());
            }
        }
    }
}

/// The short form in parentheses that opens `after`: "  (NMS) was…" and "(PB: 15 mg…)" give
/// "NMS" and "PB".
fn defined_short_form(after: &str) -> Option<&str> {
    let inner = after.trim_start().strip_prefix('(')?.trim_start();
    let end = inner.find([')', ':', ';', ',', ' '])?;
    let short = &inner[..end];
    (!short.is_empty()).then_some(short)
}

#[cfg(test)]
mod tests;
