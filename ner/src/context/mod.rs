//! Clinical context of an entity, in the spirit of ConText (Harkema et al., J Biomed Inform 2009):
//! whether the text negates it, how certain it is, whether it is past, and whose it is.

use serde::{Deserialize, Serialize};

/// How sure the text is of the entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Certainty {
    #[default]
    Certain,
    /// "possible", "rule out", "suspected", "?"
    Possible,
    /// "if", "return if", "should … develop"
    Hypothetical,
}

/// When the entity holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Temporality {
    #[default]
    Recent,
    /// "history of", "s/p", "previous"
    Historical,
}

/// Whose the entity is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Experiencer {
    #[default]
    Patient,
    Family,
    Other,
}

/// The phrase that decided each value other than its default: a trigger as written in the text,
/// or the section header that set it ("FAMILY HISTORY:").
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Triggers {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub negated: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certainty: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temporality: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiencer: Option<String>,
}

impl Triggers {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// An entity's clinical context. The default is a present, certain condition of the patient.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Context {
    pub negated: bool,
    pub certainty: Certainty,
    pub temporality: Temporality,
    pub experiencer: Experiencer,
    #[serde(default, skip_serializing_if = "Triggers::is_empty")]
    pub triggers: Triggers,
}

mod lexicon;
mod scope;
mod sections;

pub use lexicon::{Category, Kind, Lexicon};
pub use scope::Sentence;

use crate::decode::Entity;

const TRIGGERS: &str = include_str!("../../data/context_triggers.tsv");

impl Certainty {
    pub fn as_str(self) -> &'static str {
        match self {
            Certainty::Certain => "certain",
            Certainty::Possible => "possible",
            Certainty::Hypothetical => "hypothetical",
        }
    }
}

impl Temporality {
    pub fn as_str(self) -> &'static str {
        match self {
            Temporality::Recent => "recent",
            Temporality::Historical => "historical",
        }
    }
}

impl Experiencer {
    pub fn as_str(self) -> &'static str {
        match self {
            Experiencer::Patient => "patient",
            Experiencer::Family => "family",
            Experiencer::Other => "other",
        }
    }
}

impl Context {
    /// Each status other than the default, with the field of `triggers` that decided it.
    fn decided(&self) -> Vec<(&'static str, &Option<String>)> {
        let t = &self.triggers;
        let mut out = Vec::new();
        if self.negated {
            out.push(("negated", &t.negated));
        }
        if self.certainty != Certainty::Certain {
            out.push((self.certainty.as_str(), &t.certainty));
        }
        if self.temporality != Temporality::Recent {
            out.push((self.temporality.as_str(), &t.temporality));
        }
        if self.experiencer != Experiencer::Patient {
            out.push((self.experiencer.as_str(), &t.experiencer));
        }
        out
    }

    /// The statuses other than the default, as short words (CSS classes and screen-reader text):
    /// "negated", "possible", "hypothetical", "historical", "family", "other".
    pub fn statuses(&self) -> Vec<&'static str> {
        self.decided()
            .into_iter()
            .map(|(status, _)| status)
            .collect()
    }

    /// Each status with the phrase that decided it, for a tooltip: "negated by 'denies'".
    pub fn explanation(&self) -> Vec<String> {
        self.decided()
            .into_iter()
            .map(|(status, trigger)| {
                let status = match status {
                    "family" | "other" => format!("experienced by {status}"),
                    _ => status.to_string(),
                };
                match trigger {
                    Some(phrase) => format!("{status} by '{phrase}'"),
                    None => status,
                }
            })
            .collect()
    }
}

/// The compiled trigger lexicon; `default()` uses the one in `ner/data/context_triggers.tsv`.
#[derive(Debug, Clone)]
pub struct ContextRules {
    lexicon: Lexicon,
}

impl Default for ContextRules {
    fn default() -> Self {
        let lexicon = Lexicon::parse("context_triggers.tsv", TRIGGERS).expect("built-in lexicon");
        ContextRules { lexicon }
    }
}

/// Byte ranges of sentences: ended by a line break, or by '.', '!' or ';' before whitespace.
fn sentence_spans(text: &str, from: usize, to: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut start = from;
    for i in from..to {
        let end = match bytes[i] {
            b'\n' => true,
            b'.' | b'!' | b';' => bytes.get(i + 1).is_none_or(|b| b.is_ascii_whitespace()),
            _ => false,
        };
        if end {
            out.push((start, i + 1));
            start = i + 1;
        }
    }
    if start < to {
        out.push((start, to));
    }
    out
}

impl ContextRules {
    /// The built-in rules, compiled once: every annotation applies them.
    pub fn builtin() -> &'static ContextRules {
        static RULES: std::sync::OnceLock<ContextRules> = std::sync::OnceLock::new();
        RULES.get_or_init(ContextRules::default)
    }

    /// Parses a lexicon in the TSV format of the built-in one.
    pub fn from_tsv(name: &str, data: &str) -> Result<Self, String> {
        Ok(ContextRules {
            lexicon: Lexicon::parse(name, data)?,
        })
    }

    /// The context of the byte span [start, end) of one sentence.
    pub fn span_context(&self, sentence: &str, start: usize, end: usize) -> Context {
        let s = Sentence::new(&self.lexicon, sentence);
        let (from, to) = s.word_range(start, end);
        decide(&s, from, to)
    }

    /// Fills each entity's context (byte offsets into `text`); triggers are found once per
    /// sentence, section headers once per text.
    pub fn apply(&self, text: &str, entities: &mut [Entity]) {
        let headers = sections::headers(text);
        let mut bounds: Vec<usize> = headers.iter().flat_map(|h| [h.start, h.end]).collect();
        bounds.insert(0, 0);
        bounds.push(text.len());
        // The worker calls this once per chunk with the whole text: split into sentences only the
        // sections that hold one of this call's entities.
        let mut spans = Vec::new();
        for w in bounds.windows(2) {
            let (from, to) = (w[0], w[1].max(w[0]));
            if entities.iter().any(|e| e.start >= from && e.start < to) {
                spans.extend(sentence_spans(text, from, to));
            }
        }
        let mut cache: Option<(usize, Sentence)> = None;
        for e in entities.iter_mut() {
            let Some(si) = spans.iter().position(|&(a, b)| e.start >= a && e.start < b) else {
                continue;
            };
            let (a, b) = spans[si];
            if cache.as_ref().is_none_or(|c| c.0 != si) {
                cache = Some((si, Sentence::new(&self.lexicon, &text[a..b])));
            }
            let s = &cache.as_ref().expect("set above").1;
            let (from, to) = s.word_range(e.start - a, e.end.min(b) - a);
            e.context = decide(s, from, to);
            let header = headers.iter().rev().find(|h| h.end <= e.start);
            if let Some(h) = header {
                apply_header(&mut e.context, h);
            }
        }
    }
}

fn apply_header(c: &mut Context, h: &sections::Header) {
    match h.sets {
        Some(Category::Family) if c.experiencer == Experiencer::Patient => {
            c.experiencer = Experiencer::Family;
            c.triggers.experiencer = Some(h.text.clone());
        }
        Some(Category::Historical) if c.temporality == Temporality::Recent => {
            c.temporality = Temporality::Historical;
            c.triggers.temporality = Some(h.text.clone());
        }
        _ => {}
    }
}

fn decide(s: &Sentence, from: usize, to: usize) -> Context {
    let get = |c| s.decide(c, from, to).map(str::to_string);
    let mut c = Context::default();
    if let Some(t) = get(Category::Negated) {
        c.negated = true;
        c.triggers.negated = Some(t);
    }
    if let Some(t) = get(Category::Hypothetical) {
        c.certainty = Certainty::Hypothetical;
        c.triggers.certainty = Some(t);
    } else if let Some(t) = get(Category::Possible) {
        c.certainty = Certainty::Possible;
        c.triggers.certainty = Some(t);
    }
    if let Some(t) = get(Category::Historical) {
        c.temporality = Temporality::Historical;
        c.triggers.temporality = Some(t);
    }
    if let Some(t) = get(Category::Family) {
        c.experiencer = Experiencer::Family;
        c.triggers.experiencer = Some(t);
    } else if let Some(t) = get(Category::Other) {
        c.experiencer = Experiencer::Other;
        c.triggers.experiencer = Some(t);
    }
    c
}

#[cfg(test)]
mod tests;
