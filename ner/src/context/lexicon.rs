//! The trigger lexicon: parsed from `ner/data/context_triggers.tsv` (phrase, category, kind).

use std::collections::HashMap;

/// Which value a trigger sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    Negated,
    Possible,
    Hypothetical,
    Historical,
    Family,
    Other,
}

/// How a trigger acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Forward,
    Backward,
    Pseudo,
    Terminate,
}

/// One entry of the lexicon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rule {
    pub category: Category,
    pub kind: Kind,
}

/// A phrase's words and the rules it triggers.
type Phrase = (Vec<String>, Vec<Rule>);

/// Phrases as lower-case word sequences, indexed by their first word.
#[derive(Debug, Clone, Default)]
pub struct Lexicon {
    by_first: HashMap<String, Vec<Phrase>>,
}

/// Splits text into lower-case words (letters/digits/'/'), and single punctuation marks, with
/// their byte spans.
pub fn words(text: &str) -> Vec<(usize, usize, String)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        let wordy = c.is_alphanumeric() || c == '/' || c == '\'';
        match (wordy, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((s, i, text[s..i].to_lowercase()));
                start = None;
            }
            _ => {}
        }
        if !wordy && !c.is_whitespace() {
            out.push((i, i + c.len_utf8(), c.to_string()));
        }
    }
    if let Some(s) = start {
        out.push((s, text.len(), text[s..].to_lowercase()));
    }
    out
}

impl Lexicon {
    /// Parses the TSV; `#` lines and blank lines are comments. `name` names the source in errors.
    pub fn parse(name: &str, data: &str) -> Result<Self, String> {
        let mut lex = Lexicon::default();
        for (n, line) in data.lines().enumerate() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let f: Vec<&str> = line.split('\t').collect();
            let bad = |what: &str| format!("{name}:{}: {what}: {line:?}", n + 1);
            if f.len() != 3 {
                return Err(bad("expected phrase, category, kind"));
            }
            let category = match f[1] {
                "negated" => Category::Negated,
                "possible" => Category::Possible,
                "hypothetical" => Category::Hypothetical,
                "historical" => Category::Historical,
                "family" => Category::Family,
                "other" => Category::Other,
                _ => return Err(bad("unknown category")),
            };
            let kind = match f[2] {
                "forward" => Kind::Forward,
                "backward" => Kind::Backward,
                "pseudo" => Kind::Pseudo,
                "terminate" => Kind::Terminate,
                _ => return Err(bad("unknown kind")),
            };
            let seq: Vec<String> = words(f[0]).into_iter().map(|w| w.2).collect();
            if seq.is_empty() {
                return Err(bad("empty phrase"));
            }
            lex.add(seq, Rule { category, kind });
        }
        Ok(lex)
    }

    fn add(&mut self, seq: Vec<String>, rule: Rule) {
        let list = self.by_first.entry(seq[0].clone()).or_default();
        match list.iter_mut().find(|(s, _)| *s == seq) {
            Some((_, rules)) if !rules.contains(&rule) => rules.push(rule),
            Some(_) => {}
            None => {
                list.push((seq, vec![rule]));
                // Longest first, so the first match is the longest.
                list.sort_by_key(|(s, _)| std::cmp::Reverse(s.len()));
            }
        }
    }

    /// The longest phrase starting at word `i`: its length in words and its rules.
    pub fn longest(&self, ws: &[(usize, usize, String)], i: usize) -> Option<(usize, &[Rule])> {
        let list = self.by_first.get(&ws[i].2)?;
        list.iter()
            .find(|(s, _)| {
                i + s.len() <= ws.len() && s.iter().zip(&ws[i..]).all(|(a, b)| *a == b.2)
            })
            .map(|(s, r)| (s.len(), r.as_slice()))
    }
}
