//! Names the training data tags: where the model missed a string that the train split tags as an
//! entity in most of its occurrences, the string is tagged with that entity's type.
//!
//! The model misses some names it saw in training: a disease named once among 4,560 sentences
//! ("sphincter of Oddi spasm") is not always learned. The lexicon is learned by the trainer
//! ([`learn`]) and travels in the model's config (`lexicon`: type → strings of lower-cased words
//! joined by spaces), so the browser and `trainer eval` apply the same list. It only fills gaps
//! and completes names: where the model tagged none of a name's words, or only parts of the name
//! with the name's type ("syndrome" of "Reye syndrome"), the whole name is tagged; a name whose
//! words the model gave another type, or tagged as part of a longer entity, stays as the model read it.

use std::collections::{BTreeMap, HashMap, HashSet};

use crate::consistency::TagIds;
use crate::decode::chunks;
use crate::labels::LabelSet;

/// A lexicon entry's words are joined by this in the config.
const SEPARATOR: char = ' ';

/// An entry: lower-cased words and the entity type.
type Entry = (Vec<String>, String);

/// The lexicon of a model config, ready to match.
#[derive(Debug, Clone, Default)]
pub struct Lexicon {
    /// First word → the entries that start with it. Looking up each word once, rather than every
    /// span of every length, keeps a chunk's matching in microseconds.
    by_first: HashMap<String, Vec<Entry>>,
    /// Words in the longest entry.
    longest: usize,
    len: usize,
}

impl Lexicon {
    /// From a config's `lexicon` field. A string listed under two types keeps the first.
    pub fn new(entries: &BTreeMap<String, Vec<String>>) -> Self {
        let mut seen = HashSet::new();
        let mut by_first: HashMap<String, Vec<Entry>> = HashMap::new();
        for (kind, strings) in entries {
            for string in strings {
                let words: Vec<String> = string
                    .split(SEPARATOR)
                    .filter(|w| !w.is_empty())
                    .map(str::to_lowercase)
                    .collect();
                if !words.is_empty() && seen.insert(words.clone()) {
                    by_first
                        .entry(words[0].clone())
                        .or_default()
                        .push((words, kind.clone()));
                }
            }
        }
        Self {
            longest: seen.iter().map(Vec::len).max().unwrap_or(0),
            len: seen.len(),
            by_first,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Tags, in each sentence of a text (`words` and `tags` in the same shape, one tag id per word),
    /// each whole-word occurrence of an entry whose words are untagged or entities of the entry's
    /// type that lie inside it, longer entries first (so a long name is not cut into a shorter one's).
    pub fn fill<S: AsRef<str>>(
        &self,
        words: &[Vec<S>],
        tags: &mut [Vec<usize>],
        labels: &LabelSet,
    ) {
        if self.is_empty() {
            return;
        }
        let ids = TagIds::new(labels);
        let known = labels.entity_types();
        for (words, tags) in words.iter().zip(tags.iter_mut()) {
            self.fill_sentence(words, tags, &ids, &known);
        }
    }

    fn fill_sentence<S: AsRef<str>>(
        &self,
        words: &[S],
        tags: &mut [usize],
        ids: &TagIds,
        known: &[String],
    ) {
        let lower: Vec<String> = words.iter().map(|w| w.as_ref().to_lowercase()).collect();
        let starting: Vec<&[Entry]> = lower
            .iter()
            .map(|w| self.by_first.get(w).map_or(&[][..], Vec::as_slice))
            .collect();
        for n in (1..=self.longest.min(lower.len())).rev() {
            let mut at = 0;
            while at + n <= lower.len() {
                let end = at + n;
                match starting[at]
                    .iter()
                    .find(|(entry, _)| entry[..] == lower[at..end])
                {
                    Some((_, kind))
                        if known.contains(kind) && ids.can_widen(tags, at..end, kind) =>
                    {
                        ids.write(&mut tags[at..end], kind);
                        at = end;
                    }
                    _ => at += 1,
                }
            }
        }
    }
}

/// The lexicon of a training set, for a config's `lexicon` field: every entity string (lower-cased
/// words) that is tagged in at least `min_share` of its whole-word occurrences and has at least
/// `min_chars` characters (spaces excluded), under the type it is tagged with most (ties: the type
/// that sorts first). `sentences` are (words, IOB2 tags) pairs.
pub fn learn<W: AsRef<str>, T: AsRef<str>>(
    sentences: &[(Vec<W>, Vec<T>)],
    min_share: f64,
    min_chars: usize,
) -> BTreeMap<String, Vec<String>> {
    let lower: Vec<Vec<String>> = sentences
        .iter()
        .map(|(words, _)| words.iter().map(|w| w.as_ref().to_lowercase()).collect())
        .collect();
    // Entity string → how often it is tagged as each type.
    let mut tagged: HashMap<Vec<String>, BTreeMap<String, usize>> = HashMap::new();
    for (words, (_, tags)) in lower.iter().zip(sentences) {
        for chunk in chunks(tags) {
            *tagged
                .entry(words[chunk.start..chunk.end].to_vec())
                .or_default()
                .entry(chunk.kind)
                .or_default() += 1;
        }
    }
    let longest = tagged.keys().map(Vec::len).max().unwrap_or(0);
    let mut occurrences: HashMap<&[String], usize> = HashMap::new();
    for words in &lower {
        for n in 1..=longest.min(words.len()) {
            for window in words.windows(n) {
                if tagged.contains_key(window) {
                    *occurrences.entry(window).or_default() += 1;
                }
            }
        }
    }
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (words, kinds) in &tagged {
        let times: usize = kinds.values().sum();
        let share = times as f64 / occurrences[words.as_slice()] as f64;
        let chars: usize = words.iter().map(|w| w.chars().count()).sum();
        if share < min_share || chars < min_chars {
            continue;
        }
        let most = kinds.values().copied().max().unwrap_or(0);
        let kind = kinds
            .iter()
            .find(|(_, &n)| n == most)
            .map(|(k, _)| k.clone())
            .expect("a tagged string has a type");
        out.entry(kind)
            .or_default()
            .push(words.join(&SEPARATOR.to_string()));
    }
    for strings in out.values_mut() {
        strings.sort();
    }
    out
}

/// Vocabulary names (type, lower-cased words) as lexicon entries, for names the train split rarely
/// shows: a name that occurs in `sentences` is kept only if it is tagged with its type in at least
/// `min_share` of its whole-word occurrences, so a word the annotators leave untagged ("lead",
/// "protein") is not tagged everywhere; names the train split never shows (brand names) are kept.
/// Names shorter than `min_chars` characters, and names listed under two types, are dropped.
pub fn from_vocabulary<W: AsRef<str>, T: AsRef<str>>(
    names: &[(String, Vec<String>)],
    sentences: &[(Vec<W>, Vec<T>)],
    min_share: f64,
    min_chars: usize,
) -> BTreeMap<String, Vec<String>> {
    let mut kinds: HashMap<&[String], Option<&str>> = HashMap::new();
    for (kind, words) in names {
        let chars: usize = words.iter().map(|w| w.chars().count()).sum();
        if words.is_empty() || chars < min_chars {
            continue;
        }
        kinds
            .entry(words.as_slice())
            .and_modify(|k| {
                if *k != Some(kind.as_str()) {
                    *k = None;
                }
            })
            .or_insert(Some(kind.as_str()));
    }
    let longest = kinds.keys().map(|w| w.len()).max().unwrap_or(0);
    // Name → (whole-word occurrences, occurrences tagged exactly as one entity of its type).
    let mut seen: HashMap<&[String], (usize, usize)> = HashMap::new();
    for (words, tags) in sentences {
        let lower: Vec<String> = words.iter().map(|w| w.as_ref().to_lowercase()).collect();
        let tagged: HashSet<(usize, usize, String)> = chunks(tags)
            .into_iter()
            .map(|c| (c.start, c.end, c.kind))
            .collect();
        for n in 1..=longest.min(lower.len()) {
            for (at, window) in lower.windows(n).enumerate() {
                let Some((name, Some(kind))) = kinds.get_key_value(window) else {
                    continue;
                };
                let count = seen.entry(*name).or_default();
                count.0 += 1;
                count.1 += usize::from(tagged.contains(&(at, at + n, kind.to_string())));
            }
        }
    }
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (words, kind) in kinds {
        let Some(kind) = kind else { continue };
        let keep = seen
            .get(words)
            .is_none_or(|&(times, tagged)| tagged as f64 >= min_share * times as f64);
        if keep {
            out.entry(kind.to_string())
                .or_default()
                .push(words.join(&SEPARATOR.to_string()));
        }
    }
    for strings in out.values_mut() {
        strings.sort();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sentence(text: &str, tags: &str) -> (Vec<String>, Vec<String>) {
        (
            text.split(' ').map(String::from).collect(),
            tags.split(' ').map(String::from).collect(),
        )
    }

    #[test]
    fn learns_strings_tagged_in_most_of_their_occurrences() {
        let train = [
            sentence(
                "Aspirin caused Reye syndrome",
                "B-Chemical O B-Disease I-Disease",
            ),
            sentence("aspirin and fever", "B-Chemical O B-Disease"),
            sentence("no fever here , fever", "O O O O O"),
            sentence("a rash", "O B-Disease"),
        ];
        let lexicon = learn(&train, 0.5, 2);
        assert_eq!(lexicon["Chemical"], ["aspirin"]);
        // "fever" is tagged in one of its three occurrences.
        assert_eq!(lexicon["Disease"], ["rash", "reye syndrome"]);
        assert_eq!(learn(&train, 0.5, 5)["Disease"], ["reye syndrome"]);
        assert_eq!(
            learn(&train, 0.2, 2)["Disease"],
            ["fever", "rash", "reye syndrome"]
        );
    }

    #[test]
    fn fills_only_untagged_words_longest_entries_first() {
        let labels = LabelSet::from_types(&["Chemical", "Disease"]);
        let entries = BTreeMap::from([
            (
                "Disease".to_string(),
                vec!["reye syndrome".to_string(), "syndrome".to_string()],
            ),
            ("Chemical".to_string(), vec!["aspirin".to_string()]),
        ]);
        let lexicon = Lexicon::new(&entries);
        let fill = |words: &str, tags: &str| -> String {
            let words: Vec<&str> = words.split(' ').collect();
            let mut ids: Vec<usize> = tags.split(' ').map(|t| labels.id(t).unwrap()).collect();
            lexicon.fill(&[words], std::slice::from_mut(&mut ids), &labels);
            ids.iter()
                .map(|&t| labels.tag(t))
                .collect::<Vec<_>>()
                .join(" ")
        };
        // Untagged names are filled, the longer first; the model tagged the second "aspirin" as a
        // Disease with the word after it: left alone.
        assert_eq!(
            fill(
                "Aspirin and Reye syndrome ; ASPIRIN dose",
                "O O O O O B-Disease I-Disease"
            ),
            "B-Chemical O B-Disease I-Disease O B-Disease I-Disease"
        );
        // A part of a name tagged with the name's type grows to the whole name; with another type, or
        // within a longer entity, it stays (here the untagged "syndrome" is then filled on its own).
        assert_eq!(fill("Reye syndrome", "O B-Disease"), "B-Disease I-Disease");
        assert_eq!(fill("Reye syndrome", "B-Disease O"), "B-Disease I-Disease");
        assert_eq!(
            fill("Reye syndrome", "B-Chemical O"),
            "B-Chemical B-Disease"
        );
        assert_eq!(
            fill("Reye syndrome type", "O B-Disease I-Disease"),
            "O B-Disease I-Disease"
        );
    }

    #[test]
    fn a_string_under_two_types_keeps_the_first() {
        let labels = LabelSet::from_types(&["Chemical", "Disease"]);
        let twice = vec![
            "Lithium toxicity".to_string(),
            "lithium  TOXICITY".to_string(),
        ];
        let lexicon = Lexicon::new(&BTreeMap::from([
            ("Chemical".to_string(), twice.clone()),
            ("Disease".to_string(), twice),
        ]));
        assert_eq!(lexicon.len(), 1);
        let mut tags = vec![vec![0, 0]];
        lexicon.fill(&[vec!["lithium", "toxicity"]], &mut tags, &labels);
        assert_eq!(
            tags[0],
            [
                labels.id("B-Chemical").unwrap(),
                labels.id("I-Chemical").unwrap()
            ]
        );
    }

    #[test]
    fn an_empty_lexicon_changes_nothing() {
        let labels = LabelSet::from_types(&["Chemical"]);
        let mut tags = vec![vec![0, 0]];
        Lexicon::new(&BTreeMap::new()).fill(&[vec!["a", "b"]], &mut tags, &labels);
        assert_eq!(tags, [[0, 0]]);
    }

    #[test]
    fn vocabulary_names_the_train_split_leaves_untagged_are_dropped() {
        let words = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        let names = [
            ("Chemical".to_string(), words("lead")),
            ("Chemical".to_string(), words("coumadin")),
            ("Disease".to_string(), words("fever")),
            ("Disease".to_string(), words("mi")),
            ("Chemical".to_string(), words("cold")),
            ("Disease".to_string(), words("cold")),
        ];
        let train = [
            sentence("lead to fever", "O O B-Disease"),
            sentence("Lead poisoning and fever", "B-Chemical B-Disease O O"),
        ];
        let got = from_vocabulary(&names, &train, 0.5, 2);
        // "lead" and "fever" are tagged in 1 of 2 occurrences, kept at 0.5; "mi" never occurs;
        // "cold" is listed under two types.
        assert_eq!(got["Chemical"], ["coumadin", "lead"]);
        assert_eq!(got["Disease"], ["fever", "mi"]);
        let strict = from_vocabulary(&names, &train, 0.6, 3);
        assert_eq!(strict["Chemical"], ["coumadin"]);
        assert!(!strict.contains_key("Disease"));
    }
}
