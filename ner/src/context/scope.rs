//! Triggers found in one sentence, and the scope each one has over an entity's words.

use super::lexicon::{words, Category, Kind, Lexicon, Rule};

/// A trigger occurrence: word range [from, to) in the sentence, its text and rules.
#[derive(Debug, Clone)]
pub struct Hit {
    pub from: usize,
    pub to: usize,
    pub text: String,
    pub rules: Vec<Rule>,
}

/// The words of one sentence and the triggers in it, found once and shared by its entities.
#[derive(Debug, Clone)]
pub struct Sentence {
    pub words: Vec<(usize, usize, String)>,
    pub hits: Vec<Hit>,
}

impl Sentence {
    /// Finds triggers left to right, longest first; a pseudo-trigger hides the words it covers.
    pub fn new(lex: &Lexicon, text: &str) -> Self {
        let ws = words(text);
        let mut hits = Vec::new();
        let mut i = 0;
        while i < ws.len() {
            match lex.longest(&ws, i) {
                Some((n, rules)) => {
                    let text = text[ws[i].0..ws[i + n - 1].1].to_string();
                    hits.push(Hit {
                        from: i,
                        to: i + n,
                        text,
                        rules: rules.to_vec(),
                    });
                    i += n;
                }
                None => i += 1,
            }
        }
        Sentence { words: ws, hits }
    }

    /// Word range [from, to) of the byte span [start, end) (offsets into the sentence).
    pub fn word_range(&self, start: usize, end: usize) -> (usize, usize) {
        let from = self
            .words
            .iter()
            .position(|w| w.1 > start)
            .unwrap_or(self.words.len());
        let to = self
            .words
            .iter()
            .rposition(|w| w.0 < end)
            .map_or(from, |i| i + 1);
        (from, to.max(from))
    }

    /// The trigger of `cat` whose scope covers words [from, to): the nearest forward trigger
    /// before with no terminator of `cat` between, else the nearest backward trigger after.
    pub fn decide(&self, cat: Category, from: usize, to: usize) -> Option<&str> {
        let has = |h: &Hit, k: Kind| h.rules.iter().any(|r| r.category == cat && r.kind == k);
        let pseudo = |h: &Hit| h.rules.iter().any(|r| r.kind == Kind::Pseudo);
        for h in self.hits.iter().rev().filter(|h| h.to <= from) {
            if pseudo(h) {
                continue;
            }
            if has(h, Kind::Terminate) {
                break;
            }
            if has(h, Kind::Forward) {
                return Some(&h.text);
            }
        }
        for h in self.hits.iter().filter(|h| h.from >= to) {
            if pseudo(h) {
                continue;
            }
            if has(h, Kind::Terminate) {
                break;
            }
            if has(h, Kind::Backward) {
                return Some(&h.text);
            }
        }
        None
    }
}
