//! Concept linking: an entity's MeSH concept.

use serde::{Deserialize, Serialize};

/// A vocabulary concept an entity names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Concept {
    /// MeSH ID as the corpora write it ("D014859", or a supplementary "C…"); a composite mention
    /// names several, joined by `|` ("D001943|D010051").
    pub id: String,
    /// The concept's preferred name ("Warfarin").
    pub name: String,
    /// How sure the linker is, 0 to 1.
    pub score: f32,
}
