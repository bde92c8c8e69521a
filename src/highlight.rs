//! Splits text into plain and highlighted segments. Offsets from the worker are UTF-8 byte offsets
//! into the very `String` the page sent, so slicing here is exact for any Unicode text; anything
//! out of range or off a character boundary is dropped rather than trusted.

use medlight_ner::Entity;

#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub text: String,
    /// The index (into the entities given) of the entity this segment is, if any.
    pub entity: Option<usize>,
}

/// Whether `entity`'s byte offsets delimit a non-empty slice of `text` (the worker's offsets are
/// into the text the page sent, but nothing from outside is trusted).
pub fn fits(text: &str, entity: &Entity) -> bool {
    entity.start < entity.end
        && entity.end <= text.len()
        && text.is_char_boundary(entity.start)
        && text.is_char_boundary(entity.end)
}

/// Plain and entity segments covering `text` in order. Entities that overlap an earlier one or
/// have invalid offsets are skipped.
pub fn segments(text: &str, entities: &[Entity]) -> Vec<Segment> {
    let mut sorted: Vec<(usize, &Entity)> = entities
        .iter()
        .enumerate()
        .filter(|(_, e)| fits(text, e))
        .collect();
    sorted.sort_by_key(|(_, e)| (e.start, e.end));
    let mut out = Vec::new();
    let mut at = 0;
    for (i, e) in sorted {
        if e.start < at {
            continue;
        }
        if e.start > at {
            out.push(Segment {
                text: text[at..e.start].to_string(),
                entity: None,
            });
        }
        out.push(Segment {
            text: text[e.start..e.end].to_string(),
            entity: Some(i),
        });
        at = e.end;
    }
    if at < text.len() {
        out.push(Segment {
            text: text[at..].to_string(),
            entity: None,
        });
    }
    out
}

/// A CSS class for an entity label: lower case letters, digits and dashes only.
pub fn label_class(label: &str) -> String {
    let safe: String = label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    format!("entity entity-{safe}")
}

/// The UTF-16 offset (what JavaScript strings count) of a UTF-8 byte offset into `text`.
pub fn utf16_offset(text: &str, byte: usize) -> usize {
    text[..byte].encode_utf16().count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entity(start: usize, end: usize, label: &str) -> Entity {
        Entity {
            start,
            end,
            label: label.into(),
            score: 0.9,
            ..Default::default()
        }
    }

    #[test]
    fn segments_cover_the_text_exactly() {
        let text = "β-blockers cause 💊 nausea\r\n肝炎";
        let b = text.find("β-blockers").unwrap();
        let n = text.find("nausea").unwrap();
        let h = text.find("肝炎").unwrap();
        let entities = [
            entity(n, n + "nausea".len(), "Disease"),
            entity(b, b + "β-blockers".len(), "Chemical"),
            entity(h, text.len(), "Disease"),
        ];
        let parts = segments(text, &entities);
        let joined: String = parts.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(joined, text);
        let marked: Vec<&str> = parts
            .iter()
            .filter(|s| s.entity.is_some())
            .map(|s| s.text.as_str())
            .collect();
        assert_eq!(marked, ["β-blockers", "nausea", "肝炎"]);
    }

    #[test]
    fn invalid_or_overlapping_offsets_are_dropped() {
        let text = "βeta";
        // 1 is inside the two-byte β; 3..99 is past the end; 0..4 overlaps 2..4.
        let parts = segments(
            text,
            &[
                entity(1, 3, "X"),
                entity(3, 99, "X"),
                entity(0, 4, "X"),
                entity(2, 4, "X"),
            ],
        );
        assert_eq!(parts.iter().filter(|s| s.entity.is_some()).count(), 1);
        assert_eq!(
            parts.iter().map(|s| s.text.as_str()).collect::<String>(),
            text
        );
    }

    #[test]
    fn utf16_offsets_count_surrogate_pairs() {
        let text = "a💊b";
        assert_eq!(utf16_offset(text, text.find('b').unwrap()), 3);
        assert_eq!(utf16_offset("Café", 5), 4);
    }

    #[test]
    fn label_classes_are_safe() {
        assert_eq!(label_class("Chemical"), "entity entity-chemical");
        assert_eq!(
            label_class("x\" onclick=\"y"),
            "entity entity-x--onclick--y"
        );
    }
}
