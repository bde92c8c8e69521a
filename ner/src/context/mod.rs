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
