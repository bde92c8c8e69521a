//! The IOB2 label set. It is read from the model's config (`id2label`), never hard-coded, so a
//! model trained on other entity types works unchanged.

use crate::{Error, Result};

/// One IOB2 tag split into its prefix and entity type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag<'a> {
    Outside,
    Begin(&'a str),
    Inside(&'a str),
}

impl<'a> Tag<'a> {
    /// Parses `O`, `B-Type` or `I-Type`; anything else is `None`.
    pub fn parse(tag: &'a str) -> Option<Self> {
        match tag {
            "O" => Some(Tag::Outside),
            _ => match tag.split_once('-') {
                Some(("B", kind)) if !kind.is_empty() => Some(Tag::Begin(kind)),
                Some(("I", kind)) if !kind.is_empty() => Some(Tag::Inside(kind)),
                _ => None,
            },
        }
    }

    pub fn kind(&self) -> Option<&'a str> {
        match self {
            Tag::Outside => None,
            Tag::Begin(k) | Tag::Inside(k) => Some(k),
        }
    }
}

/// The tags a model predicts, in the order of its output logits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelSet {
    tags: Vec<String>,
}

impl LabelSet {
    /// Builds the set from tags in logit order; every tag must be IOB2 and `O` must be present.
    pub fn new(tags: Vec<String>) -> Result<Self> {
        for tag in &tags {
            if Tag::parse(tag).is_none() {
                return Err(Error::UnknownLabel {
                    label: tag.clone(),
                    allowed: "O, B-<type>, I-<type>".into(),
                });
            }
        }
        if !tags.iter().any(|t| t == "O") {
            return Err(Error::config("id2label", "the label set has no `O` tag"));
        }
        Ok(Self { tags })
    }

    /// `O` plus `B-`/`I-` for each entity type, in the given type order.
    pub fn from_types<S: AsRef<str>>(types: &[S]) -> Self {
        let mut tags = vec!["O".to_string()];
        for kind in types {
            tags.push(format!("B-{}", kind.as_ref()));
            tags.push(format!("I-{}", kind.as_ref()));
        }
        Self { tags }
    }

    pub fn len(&self) -> usize {
        self.tags.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tags.is_empty()
    }

    pub fn tags(&self) -> &[String] {
        &self.tags
    }

    pub fn tag(&self, id: usize) -> &str {
        &self.tags[id]
    }

    pub fn id(&self, tag: &str) -> Option<usize> {
        self.tags.iter().position(|t| t == tag)
    }

    /// The id of `tag`, or an error listing the allowed tags.
    pub fn require_id(&self, tag: &str) -> Result<usize> {
        self.id(tag).ok_or_else(|| Error::UnknownLabel {
            label: tag.to_string(),
            allowed: self.tags.join(", "),
        })
    }

    /// The entity types, in first-seen order (e.g. `["Chemical", "Disease"]`).
    pub fn entity_types(&self) -> Vec<String> {
        let mut types: Vec<String> = Vec::new();
        for tag in &self.tags {
            if let Some(kind) = Tag::parse(tag).and_then(|t| t.kind()) {
                if !types.iter().any(|t| t == kind) {
                    types.push(kind.to_string());
                }
            }
        }
        types
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_iob2_tags() {
        assert_eq!(Tag::parse("O"), Some(Tag::Outside));
        assert_eq!(Tag::parse("B-Chemical"), Some(Tag::Begin("Chemical")));
        assert_eq!(Tag::parse("I-Disease"), Some(Tag::Inside("Disease")));
        assert_eq!(Tag::parse("B-"), None);
        assert_eq!(Tag::parse("X-Chemical"), None);
        assert_eq!(Tag::parse("Chemical"), None);
    }

    #[test]
    fn rejects_non_iob2_sets_naming_the_tag() {
        let err = LabelSet::new(vec!["O".into(), "Chemical".into()]).unwrap_err();
        assert!(err.to_string().contains("`Chemical`"), "{err}");
        assert!(LabelSet::new(vec!["B-X".into()]).is_err());
    }

    #[test]
    fn entity_types_follow_tag_order() {
        let set = LabelSet::from_types(&["Chemical", "Disease"]);
        assert_eq!(
            set.tags(),
            ["O", "B-Chemical", "I-Chemical", "B-Disease", "I-Disease"]
        );
        assert_eq!(set.entity_types(), ["Chemical", "Disease"]);
        assert!(set
            .require_id("B-Gene")
            .unwrap_err()
            .to_string()
            .contains("I-Disease"));
    }
}
