//! The trainer as a library: the `trainer` binary is a thin CLI over it, and tests drive it directly.

pub mod average;
pub mod base_model;
pub mod batches;
pub mod context_eval;
pub mod data;
pub mod dequantize;
pub mod distill;
pub mod ensemble;
pub mod epochs;
pub mod export;
pub mod gpu;
pub mod linking;
pub mod model_dir;
pub mod optim;
pub mod plan;
pub mod plot;
pub mod pretrain;
pub mod progress;
pub mod pubtator;
pub mod soup;
pub mod text_eval;
pub mod train;
pub mod vocabulary;
