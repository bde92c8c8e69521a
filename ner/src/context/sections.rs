//! Section headers ("FAMILY HISTORY:") that set context for what follows, until the next header.

use super::lexicon::Category;

/// A header: its byte span and the category it sets, if any.
#[derive(Debug, Clone)]
pub struct Header {
    pub start: usize,
    pub end: usize,
    pub text: String,
    pub sets: Option<Category>,
}

fn category_of(name: &str) -> Option<Category> {
    let n = name.to_lowercase();
    if n.contains("family") {
        Some(Category::Family)
    } else if n.contains("present illness") {
        None
    } else if n.contains("past") || n.contains("history") {
        Some(Category::Historical)
    } else if n.contains("allerg") {
        // An allergen is a substance the patient reacted to before, not one present now.
        Some(Category::Historical)
    } else {
        None
    }
}

/// Headers at the start of a line: upper-case words then a colon.
pub fn headers(text: &str) -> Vec<Header> {
    let mut out = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let lead = line.len() - line.trim_start().len();
        let body = &line[lead..];
        if let Some(colon) = body.find(':') {
            let name = &body[..colon];
            let upper = name.chars().any(|c| c.is_alphabetic())
                && name.chars().all(|c| c.is_uppercase() || " /&-".contains(c));
            if upper {
                let start = offset + lead;
                out.push(Header {
                    start,
                    end: start + colon + 1,
                    text: body[..=colon].to_string(),
                    sets: category_of(name),
                });
            }
        }
        offset += line.len();
    }
    out
}
