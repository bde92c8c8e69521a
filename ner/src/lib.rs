//! Medlight's NER core, shared by the web app and the trainer.
//!
//! - [`labels`]: the IOB2 label set, read from the model's config.
//! - [`config`]: the Hugging Face `BertForTokenClassification` config.
//! - [`align`]: words → sub-tokens (first sub-token carries the word's label), windows for long inputs.
//! - [`model`]: the BERT token classifier on candle (f32 for training, quantised for inference).
//! - [`decode`]: IOB2 tags → entity spans with offsets and scores.
//! - [`consistency`]: one string, one type, throughout a text.
//! - [`lexicon`]: names the training data tags, filled in where the model tagged nothing.
//! - [`context`]: negated, possible, historical or someone else's (ConText).
//! - [`linking`]: an entity's MeSH concept.
//! - [`abbreviation`]: the abbreviations a text defines ("overactive bladder (OAB)").
//! - [`metrics`]: entity-level precision/recall/F1, equal to `seqeval`'s default mode.
//! - [`sentences`]: raw text → sentences, grouped into chunks for streaming.
//! - [`tagger`]: the whole pipeline on raw text, as the browser and `trainer predict` use it.

pub mod abbreviation;
pub mod align;
pub mod config;
pub mod consistency;
pub mod context;
pub mod decode;
pub mod labels;
pub mod lexicon;
pub mod linking;
pub mod metrics;
pub mod model;
pub mod sentences;
pub mod spans;
pub mod tagger;
#[cfg(feature = "training")]
pub mod testing;

mod error;

pub use config::BertConfig;
pub use decode::Entity;
pub use error::{Error, Result};
pub use labels::LabelSet;
pub use tagger::{Tagger, WordDistributions};
