//! Messages between the page and the worker (serialised with serde-wasm-bindgen).

use medlight_ner::Entity;
use serde::{Deserialize, Serialize};

/// Where the worker finds the model, relative to the page.
pub const MODEL_URL: &str = "models/medlight-q8_0.safetensors";
pub const TOKENIZER_URL: &str = "models/tokenizer.json";
/// The concept index (`trainer link-index`), loaded after the model.
pub const CONCEPTS_URL: &str = "models/concepts.tsv";
/// SHA-256 of the model files this build ships, recorded by `build.rs`.
pub const MODEL_SHA256: &str = env!("MEDLIGHT_MODEL_SHA256");
pub const TOKENIZER_SHA256: &str = env!("MEDLIGHT_TOKENIZER_SHA256");
pub const CONCEPTS_SHA256: &str = env!("MEDLIGHT_CONCEPTS_SHA256");

/// Bytes of sentences the model reads at a time (defined in the core, whose evaluation reads
/// text in the same chunks, since the consistency rule works within one).
pub use medlight_ner::sentences::CHUNK_BYTES;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum ToWorker {
    Load {
        model: String,
        tokenizer: String,
        concepts: String,
    },
    Annotate {
        id: u32,
        text: String,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum FromWorker {
    /// The worker's handler is in place. Messages posted before it would be lost: the worker's wasm
    /// starts asynchronously, after its script has run.
    Started,
    /// Bytes of the model files received so far, of `total` when the server said.
    Progress {
        loaded: f64,
        total: Option<f64>,
    },
    Ready {
        load_ms: f64,
        labels: Vec<String>,
    },
    /// The concept index is loaded: entities from now on carry their concept.
    Concepts {
        count: usize,
        load_ms: f64,
    },
    /// The concept index could not be loaded; entities are highlighted without concepts.
    ConceptsFailed {
        message: String,
    },
    /// The model could not be loaded (the page offers a retry).
    Failed {
        message: String,
    },
    /// Request `id` could not be annotated; the model stays loaded.
    AnnotateFailed {
        id: u32,
        message: String,
    },
    /// Request `id` is annotated up to byte `end` of its text: `entities` are those found since the
    /// previous chunk, with UTF-8 byte offsets into the whole text. Long text arrives in several.
    Chunk {
        id: u32,
        end: usize,
        entities: Vec<Entity>,
    },
    /// Request `id` is done: `ms` from request to last chunk, `tokens` sub-tokens read.
    Finished {
        id: u32,
        ms: f64,
        tokens: usize,
    },
}
