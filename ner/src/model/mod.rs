//! The BERT token classifier: one model code path for training (f32 variables) and inference
//! (quantised GGUF weights), with Hugging Face weight names so checkpoints load either way.

pub mod bert;
pub mod classifier;
pub mod dropout;
pub mod fast_ops;
pub mod init;
pub mod int_linear;
pub mod quantize;
pub mod weights;

pub use classifier::TokenClassifier;
pub use dropout::Dropout;
pub use weights::{QuantizedWeights, Weights};
