//! The concept index: every concept with its names, and the mentions of it that annotated text
//! contains, keyed for lookup. Its file is text (`concepts.tsv`), written by `trainer link-index`
//! and read by the browser's worker and the trainer alike:
//!
//! ```text
//! medlight-concepts<TAB>1
//! C<TAB>D014859<TAB>Chemical<TAB>Warfarin<TAB>Coumadin|Warfarin Sodium|…
//! M<TAB>Chemical<TAB>coumadin<TAB>D014859<TAB>12
//! ```
//!
//! `C` rows are concepts (ID, type, preferred name, entry terms as written); `M` rows are
//! normalised mentions from annotated text with the concept they named and how often.

use rustc_hash::FxHashMap as HashMap;
use std::fmt::Write as _;

use super::fuzzy::Fuzzy;
use super::normalise::{key, sorted_key, uninverted};

const MAGIC: &str = "medlight-concepts\t1";

/// The two entity types a concept can have.
pub const LABELS: [&str; 2] = ["Chemical", "Disease"];

/// One concept of the vocabulary.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub id: String,
    pub label: String,
    pub name: String,
    pub terms: Vec<String>,
}

/// A candidate for a key: the concept and how much the key speaks for it.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Hit {
    concept: u32,
    /// Times annotators linked the key to it; 0 for a vocabulary name.
    mentions: u32,
    /// The key is the concept's preferred name.
    preferred: bool,
    /// The key is one of the concept's names (not only a mention): it is in the fuzzy matcher.
    named: bool,
}

/// What a lookup found: the concept's position and a score in 0..=1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Found {
    pub concept: usize,
    pub score: f32,
}

/// The vocabulary, keyed.
#[derive(Debug, Default)]
pub struct ConceptIndex {
    entries: Vec<Entry>,
    by_id: HashMap<String, u32>,
    /// `label` + '\t' + key → candidates.
    exact: HashMap<String, Vec<Hit>>,
    /// `label` + '\t' + sorted key → concepts.
    sorted: HashMap<String, Vec<u32>>,
    fuzzy: HashMap<String, Fuzzy>,
    mentions: Vec<(String, String, String, u32)>,
}

fn slot(label: &str, key: &str) -> String {
    format!("{label}\t{key}")
}

impl ConceptIndex {
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn entry(&self, id: &str) -> Option<&Entry> {
        self.by_id.get(id).map(|&i| &self.entries[i as usize])
    }

    /// Adds a concept with its names; an ID already present gains the names.
    pub fn add_concept(&mut self, id: &str, label: &str, name: &str, terms: &[&str]) {
        let at = match self.by_id.get(id) {
            Some(&at) => at,
            None => {
                self.entries.push(Entry {
                    id: id.to_string(),
                    label: label.to_string(),
                    name: name.to_string(),
                    terms: Vec::new(),
                });
                let at = (self.entries.len() - 1) as u32;
                self.by_id.insert(id.to_string(), at);
                self.add_name(at, name, true);
                at
            }
        };
        for term in terms {
            self.entries[at as usize].terms.push(term.to_string());
            self.add_name(at, term, false);
        }
    }

    fn add_name(&mut self, concept: u32, name: &str, preferred: bool) {
        let label = self.entries[concept as usize].label.clone();
        let inverted = uninverted(name);
        for name in std::iter::once(name).chain(inverted.as_deref()) {
            let k = key(name);
            if k.is_empty() {
                continue;
            }
            let hits = self.exact.entry(slot(&label, &k)).or_default();
            let new_name = match hits.iter_mut().find(|h| h.concept == concept) {
                Some(hit) => {
                    hit.preferred |= preferred;
                    !std::mem::replace(&mut hit.named, true)
                }
                None => {
                    hits.push(Hit {
                        concept,
                        mentions: 0,
                        preferred,
                        named: true,
                    });
                    true
                }
            };
            let sorted = self
                .sorted
                .entry(slot(&label, &sorted_key(&k)))
                .or_default();
            if !sorted.contains(&concept) {
                sorted.push(concept);
            }
            // A name shared by spellings counts once.
            if new_name {
                self.fuzzy
                    .entry(label.clone())
                    .or_default()
                    .add(&k, concept);
            }
        }
    }

    /// Records that annotators linked a mention (any spelling) of type `label` to concept `id`,
    /// `count` times. An ID not in the index is an error naming it.
    pub fn add_mention(
        &mut self,
        label: &str,
        mention: &str,
        id: &str,
        count: u32,
    ) -> Result<(), String> {
        let &concept = self
            .by_id
            .get(id)
            .ok_or_else(|| format!("concept {id} is not in the index"))?;
        let k = key(mention);
        if k.is_empty() {
            return Ok(());
        }
        let hits = self.exact.entry(slot(label, &k)).or_default();
        match hits.iter_mut().find(|h| h.concept == concept) {
            Some(hit) => hit.mentions += count,
            None => hits.push(Hit {
                concept,
                mentions: count,
                preferred: false,
                named: false,
            }),
        }
        self.mentions
            .push((label.to_string(), k, id.to_string(), count));
        Ok(())
    }

    /// Builds the fuzzy matchers' weights; call once every name is added.
    pub fn finish(&mut self) {
        for fuzzy in self.fuzzy.values_mut() {
            fuzzy.finish();
        }
    }

    /// The concept a key names exactly: what annotators most often linked it to, else the concept
    /// whose preferred name it is, else the first concept with that name.
    pub fn exact(&self, label: &str, key: &str) -> Option<Found> {
        let hits = self.exact.get(&slot(label, key))?;
        let mentions: u32 = hits.iter().map(|h| h.mentions).sum();
        let best = hits
            .iter()
            .max_by_key(|h| (h.mentions, h.preferred, std::cmp::Reverse(h.concept)))?;
        let score = if mentions > 0 {
            best.mentions as f32 / mentions as f32
        } else {
            1.0 / hits.len() as f32
        };
        Some(Found {
            concept: best.concept as usize,
            score,
        })
    }

    /// The concept whose name has the same words in another order, if only one has.
    pub fn reordered(&self, label: &str, key: &str) -> Option<Found> {
        match self.sorted.get(&slot(label, &sorted_key(key)))?.as_slice() {
            [one] => Some(Found {
                concept: *one as usize,
                score: 0.9,
            }),
            _ => None,
        }
    }

    /// The concept with the most similar name (character trigram TF-IDF cosine) if its similarity
    /// reaches `threshold`.
    pub fn similar(&self, label: &str, key: &str, threshold: f32) -> Option<Found> {
        let (concept, score) = self.fuzzy.get(label)?.best(key)?;
        (score >= threshold).then_some(Found {
            concept: concept as usize,
            score,
        })
    }

    /// The index as its file.
    pub fn to_tsv(&self) -> String {
        let mut out = format!("{MAGIC}\n");
        for e in &self.entries {
            let terms: Vec<&str> = e
                .terms
                .iter()
                .map(|t| t.as_str())
                .filter(|t| !t.contains(['\t', '\n', '|']))
                .collect();
            let _ = writeln!(
                out,
                "C\t{}\t{}\t{}\t{}",
                e.id,
                e.label,
                e.name,
                terms.join("|")
            );
        }
        for (label, k, id, count) in &self.mentions {
            let _ = writeln!(out, "M\t{label}\t{k}\t{id}\t{count}");
        }
        out
    }

    /// Reads an index file; a malformed line is an error naming `name` and the line.
    pub fn from_tsv(name: &str, text: &str) -> Result<Self, String> {
        let mut lines = text.lines().enumerate();
        if lines.next().map(|(_, l)| l.trim_end_matches('\r')) != Some(MAGIC) {
            return Err(format!(
                "{name}:1: not a concept index (expected the line {MAGIC:?})"
            ));
        }
        let mut index = ConceptIndex::default();
        for (i, line) in lines {
            let at = |what: String| format!("{name}:{}: {what}", i + 1);
            let f: Vec<&str> = line.trim_end_matches('\r').split('\t').collect();
            match f.as_slice() {
                [""] => {}
                ["C", id, label, preferred, terms] => {
                    if !LABELS.contains(label) {
                        return Err(at(format!("unknown type {label:?}")));
                    }
                    let terms: Vec<&str> = terms.split('|').filter(|t| !t.is_empty()).collect();
                    index.add_concept(id, label, preferred, &terms);
                }
                ["M", label, mention, id, count] => {
                    let count = count
                        .parse()
                        .map_err(|_| at(format!("count {count:?} is not a number")))?;
                    index.add_mention(label, mention, id, count).map_err(at)?;
                }
                _ => {
                    return Err(at(format!(
                        "expected a C row of 5 fields or an M row of 5, found {line:?}"
                    )))
                }
            }
        }
        index.finish();
        Ok(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> ConceptIndex {
        let mut index = ConceptIndex::default();
        index.add_concept(
            "D014859",
            "Chemical",
            "Warfarin",
            &["Coumadin", "Warfarin Sodium"],
        );
        index.add_concept("D000740", "Disease", "Anemia", &[]);
        index.add_concept(
            "D000743",
            "Disease",
            "Anemia, Hemolytic",
            &["Hemolytic Anemias"],
        );
        index.add_concept(
            "D064420",
            "Disease",
            "Drug-Related Side Effects and Adverse Reactions",
            &["Toxicity"],
        );
        index.add_concept("D011041", "Chemical", "Poisons", &["Toxicity"]);
        index.finish();
        index
    }

    #[test]
    fn names_entry_terms_and_inverted_terms_find_their_concept() {
        let index = small();
        let id = |label, name: &str| {
            index
                .exact(label, &key(name))
                .map(|f| index.entries()[f.concept].id.as_str())
        };
        assert_eq!(id("Chemical", "coumadin"), Some("D014859"));
        assert_eq!(id("Chemical", "warfarin sodium"), Some("D014859"));
        assert_eq!(id("Disease", "hemolytic anemia"), Some("D000743"));
        assert_eq!(id("Disease", "warfarin"), None, "types do not mix");
    }

    #[test]
    fn annotated_mentions_outrank_vocabulary_names_and_survive_the_file() {
        let mut index = small();
        index.add_concept("C000001", "Chemical", "Toxin X", &[]);
        index
            .add_mention("Disease", "toxicity", "D064420", 3)
            .unwrap();
        assert!(index
            .add_mention("Disease", "x", "D999999", 1)
            .unwrap_err()
            .contains("D999999"));
        index.finish();
        let file = index.to_tsv();
        let read = ConceptIndex::from_tsv("concepts.tsv", &file).unwrap();
        let found = read.exact("Disease", "toxicity").unwrap();
        assert_eq!(read.entries()[found.concept].id, "D064420");
        assert_eq!(found.score, 1.0);
        assert_eq!(read.to_tsv(), file);
        assert_eq!(read.entry("C000001").unwrap().name, "Toxin X");
    }

    #[test]
    fn reordered_and_similar_names_find_their_concept() {
        let index = small();
        let found = index
            .reordered("Disease", &key("anemia hemolytic"))
            .unwrap();
        assert_eq!(index.entries()[found.concept].id, "D000743");
        let found = index.similar("Chemical", &key("warfarine"), 0.5).unwrap();
        assert_eq!(index.entries()[found.concept].id, "D014859");
        assert!(index.similar("Chemical", &key("penicillin"), 0.5).is_none());
    }

    #[test]
    fn malformed_lines_name_their_line() {
        let err = ConceptIndex::from_tsv("c.tsv", "medlight-concepts\t1\nC\tD1\tDrug\tX\t\n")
            .unwrap_err();
        assert!(err.starts_with("c.tsv:2:"), "{err}");
        let err = ConceptIndex::from_tsv("c.tsv", "medlight-concepts\t1\nM\tDisease\tx\tD9\t1\n")
            .unwrap_err();
        assert!(err.contains("c.tsv:2:") && err.contains("D9"), "{err}");
        assert!(ConceptIndex::from_tsv("c.tsv", "hello\n")
            .unwrap_err()
            .starts_with("c.tsv:1:"));
    }
}
