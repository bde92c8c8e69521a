//! Rules on decoded entities that need the raw text, for the way notes are written: a section
//! heading names a section, not a finding ("ALLERGIES:", "ESTIMATED BLOOD LOSS:"); the items
//! of a comma-separated list are separate mentions ("nausea, vomiting"); and a side is where a
//! condition is, not part of its name ("right knee pain" names knee pain).

use std::ops::Range;

use crate::decode::Entity;

/// Applies the rules in order: entities inside headings are dropped, list items split, and a
/// leading side trimmed.
pub fn tidy(text: &str, entities: &mut Vec<Entity>) {
    let headings = headings(text);
    entities.retain(|e| {
        !headings
            .iter()
            .any(|h| h.start <= e.start && e.end <= h.end)
    });
    *entities = entities
        .drain(..)
        .flat_map(|e| split_list(text, e))
        .map(|e| without_side(text, e))
        .collect();
}

/// Words that name a side.
const SIDES: [&str; 3] = ["left", "right", "bilateral"];

/// Words after a side that make the side part of the name ("left ventricular hypertrophy",
/// "right bundle branch block").
const SIDED_NAMES: [&str; 7] = [
    "ventricular",
    "ventricle",
    "atrial",
    "atrium",
    "bundle",
    "heart",
    "sided",
];

/// A disease that starts with a side word, followed by more words, loses the side.
fn without_side(text: &str, mut entity: Entity) -> Entity {
    if entity.label != "Disease" {
        return entity;
    }
    let span = &text[entity.start..entity.end];
    let Some((first, rest)) = span.split_once(' ') else {
        return entity;
    };
    let next = rest
        .split(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or("")
        .to_lowercase();
    let side = SIDES.contains(&first.to_lowercase().as_str());
    if side && !next.is_empty() && !SIDED_NAMES.contains(&next.as_str()) {
        entity.start += span.len() - rest.len();
    }
    entity
}

/// Byte spans of inline headings: a run of upper-case words ending in a colon, anywhere in the
/// text (notes run "General. ESTIMATED BLOOD LOSS: Less than 5 mL." on one line).
pub fn headings(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    for (colon, _) in text.match_indices(':') {
        let before = &text[..colon];
        let start = before
            .char_indices()
            .rev()
            .take_while(|&(_, c)| c.is_uppercase() || " /&-".contains(c))
            .last()
            .map_or(colon, |(i, _)| i);
        // Leading spaces and hyphens belong to what comes before, not the heading.
        let start = start + (text[start..colon].len() - text[start..colon].trim_start().len());
        let name = &text[start..colon];
        let letters = name.chars().filter(|c| c.is_alphabetic()).count();
        let word_start = start == 0 || !text[..start].ends_with(|c: char| c.is_alphanumeric());
        if letters >= 3 && word_start {
            out.push(start..colon + 1);
        }
    }
    out
}

/// An entity whose words run across ", " is split there, each item keeping the entity's type and
/// score; items are trimmed of the list's "and"/"or".
fn split_list(text: &str, entity: Entity) -> Vec<Entity> {
    let span = &text[entity.start..entity.end];
    if !span.contains(", ") {
        return vec![entity];
    }
    let mut out = Vec::new();
    let mut at = entity.start;
    for item in span.split(", ") {
        let lead = item.len() - item.trim_start().len();
        let mut start = at + lead;
        let mut body = item.trim();
        for conjunction in ["and ", "or "] {
            if let Some(rest) = body.strip_prefix(conjunction) {
                start += conjunction.len();
                body = rest;
            }
        }
        if !body.is_empty() {
            out.push(Entity {
                start,
                end: start + body.len(),
                ..entity.clone()
            });
        }
        at += item.len() + 2;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entity(text: &str, part: &str, label: &str) -> Entity {
        let start = text.find(part).unwrap();
        Entity {
            start,
            end: start + part.len(),
            label: label.to_string(),
            ..Default::default()
        }
    }

    fn spans<'a>(text: &'a str, entities: &[Entity]) -> Vec<&'a str> {
        entities.iter().map(|e| &text[e.start..e.end]).collect()
    }

    #[test]
    fn headings_are_upper_case_runs_before_a_colon() {
        let text = "General. ESTIMATED BLOOD LOSS: Less than 5 mL. Ratio 1:2. Dx: MI";
        let found: Vec<&str> = headings(text).into_iter().map(|r| &text[r]).collect();
        assert_eq!(found, ["ESTIMATED BLOOD LOSS:"]);
    }

    #[test]
    fn entities_in_headings_go_and_lists_split() {
        let text = "ALLERGIES: None. HISTORY: nausea, vomiting, and diarrhea with fever, \
            right knee pain and left ventricular hypertrophy.";
        let mut entities = vec![
            entity(text, "ALLERGIES", "Disease"),
            entity(text, "nausea, vomiting, and diarrhea", "Disease"),
            entity(text, "fever", "Disease"),
            entity(text, "right knee pain", "Disease"),
            entity(text, "left ventricular hypertrophy", "Disease"),
        ];
        tidy(text, &mut entities);
        assert_eq!(
            spans(text, &entities),
            [
                "nausea",
                "vomiting",
                "diarrhea",
                "fever",
                "knee pain",
                "left ventricular hypertrophy"
            ]
        );
        assert!(entities.iter().all(|e| e.label == "Disease"));
    }
}
