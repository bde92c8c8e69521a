//! The BERT token classifier: one model code path for training (f32 variables) and inference
//! (quantised weights from the safetensors model file), with Hugging Face weight names so checkpoints load either way.

pub mod bert;
pub mod classifier;
#[cfg(feature = "cuda")]
pub mod cuda_kernels;
#[cfg(feature = "training")]
pub mod dropout;
// Without training, a stand-in that keeps the model code one code path.
#[cfg(not(feature = "training"))]
#[path = "no_dropout.rs"]
pub mod dropout;
pub mod fast_ops;
#[cfg(feature = "training")]
pub mod init;
pub mod int_linear;
pub mod model_file;
pub mod quantize;
#[cfg(feature = "training")]
pub mod train_ops;
pub mod weights;

pub use classifier::TokenClassifier;
pub use dropout::Dropout;
pub use weights::{QuantizedWeights, Weights};

/// The f32 data of a contiguous CPU tensor, for the inference ops written as candle custom ops.
fn contiguous_f32<'a>(
    op: &str,
    storage: &'a candle_core::CpuStorage,
    layout: &candle_core::Layout,
) -> candle_core::Result<&'a [f32]> {
    let candle_core::CpuStorage::F32(data) = storage else {
        candle_core::bail!("{op} takes f32 input")
    };
    let Some((start, end)) = layout.contiguous_offsets() else {
        candle_core::bail!("{op} takes a contiguous input")
    };
    Ok(&data[start..end])
}
