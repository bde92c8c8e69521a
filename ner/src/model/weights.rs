//! Where a model's tensors come from: f32 variables (training, safetensors checkpoints) or a
//! quantised model file (the browser's safetensors file, see [`super::model_file`], or an older
//! GGUF file). The model asks by Hugging Face name and does not care which.

use std::collections::HashMap;
use std::io::Cursor;
use std::sync::Arc;

use candle_core::quantized::{gguf_file, GgmlDType, QTensor};
use candle_core::{Device, Shape, Tensor};
use candle_nn::{Init, VarBuilder};

use super::int_linear::IntRows;
use crate::{BertConfig, Error, Result};

/// Metadata key holding the model's `config.json`.
pub const CONFIG_KEY: &str = "medlight.config";
/// Metadata key holding the format version of Medlight's model file.
pub const FORMAT_KEY: &str = "medlight.format";
/// Version 1: GGUF. Versions 2 and 3: safetensors ([`super::model_file`]).
pub const FORMAT_VERSION: u32 = 1;

/// One tensor of a quantised model file, as stored.
#[derive(Clone)]
pub enum Stored {
    /// In GGML blocks (or plain f32), as candle's quantised tensors hold them.
    Blocks(Arc<QTensor>),
    /// A linear layer's matrix in 7-bit rows, ready for integer arithmetic.
    Rows(Arc<IntRows>),
}

impl Stored {
    pub fn dims(&self) -> Vec<usize> {
        match self {
            Self::Blocks(q) => q.shape().dims().to_vec(),
            Self::Rows(r) => vec![r.rows, r.cols],
        }
    }

    /// The tensor in f32.
    pub fn dequantize(&self, device: &Device) -> Result<Tensor> {
        Ok(match self {
            Self::Blocks(q) => q.dequantize(device)?,
            Self::Rows(r) => Tensor::from_vec(r.dequantise(), (r.rows, r.cols), device)?,
        })
    }
}

/// The tensors of a quantised model file, with the config stored beside them.
pub struct QuantizedWeights {
    tensors: HashMap<String, Stored>,
    pub config: BertConfig,
    device: Device,
}

impl QuantizedWeights {
    /// Reads a model file in either format: GGUF (it starts with the magic `GGUF`) or safetensors.
    pub fn from_bytes(bytes: &[u8], device: &Device) -> Result<Self> {
        if bytes.starts_with(b"GGUF") {
            Self::from_gguf(bytes, device)
        } else {
            super::model_file::read(bytes, device)
        }
    }

    pub(crate) fn new(
        tensors: HashMap<String, Stored>,
        config: BertConfig,
        device: &Device,
    ) -> Self {
        Self {
            tensors,
            config,
            device: device.clone(),
        }
    }

    /// Reads a GGUF model file written by [`crate::model::quantize::write_gguf`].
    pub fn from_gguf(bytes: &[u8], device: &Device) -> Result<Self> {
        let mut reader = Cursor::new(bytes);
        let content = gguf_file::Content::read(&mut reader)
            .map_err(|e| Error::ModelFile(format!("not a readable GGUF file: {e}")))?;
        let config = match content.metadata.get(CONFIG_KEY) {
            Some(gguf_file::Value::String(json)) => BertConfig::from_json(json)?,
            _ => {
                return Err(Error::ModelFile(format!(
                    "no `{CONFIG_KEY}` entry: not a Medlight model"
                )))
            }
        };
        let mut tensors = HashMap::new();
        for name in content.tensor_infos.keys() {
            let tensor = content
                .tensor(&mut reader, name, device)
                .map_err(|e| Error::ModelFile(format!("tensor `{name}`: {e}")))?;
            tensors.insert(name.clone(), Stored::Blocks(Arc::new(tensor)));
        }
        Ok(Self {
            tensors,
            config,
            device: device.clone(),
        })
    }

    /// Every tensor with its name, in name order.
    pub fn named(&self) -> Vec<(&str, &Stored)> {
        let mut named: Vec<_> = self
            .tensors
            .iter()
            .map(|(name, tensor)| (name.as_str(), tensor))
            .collect();
        named.sort_by_key(|(name, _)| *name);
        named
    }

    fn get(&self, name: &str, shape: &Shape) -> Result<&Stored> {
        let tensor = self
            .tensors
            .get(name)
            .ok_or_else(|| Error::ModelFile(format!("missing tensor `{name}`")))?;
        if tensor.dims() != shape.dims() {
            return Err(Error::ModelFile(format!(
                "tensor `{name}` has shape {:?}, expected {:?}",
                tensor.dims(),
                shape
            )));
        }
        Ok(tensor)
    }
}

#[derive(Clone)]
enum Source<'a> {
    Float(VarBuilder<'a>),
    Quantized {
        weights: &'a QuantizedWeights,
        prefix: String,
    },
}

/// A view on a model's tensors under a name prefix.
#[derive(Clone)]
pub struct Weights<'a> {
    source: Source<'a>,
}

impl<'a> Weights<'a> {
    pub fn float(vb: VarBuilder<'a>) -> Self {
        Self {
            source: Source::Float(vb),
        }
    }

    pub fn quantized(weights: &'a QuantizedWeights) -> Self {
        Self {
            source: Source::Quantized {
                weights,
                prefix: String::new(),
            },
        }
    }

    pub fn pp(&self, name: &str) -> Self {
        let source = match &self.source {
            Source::Float(vb) => Source::Float(vb.pp(name)),
            Source::Quantized { weights, prefix } => Source::Quantized {
                weights,
                prefix: join(prefix, name),
            },
        };
        Self { source }
    }

    pub fn device(&self) -> &Device {
        match &self.source {
            Source::Float(vb) => vb.device(),
            Source::Quantized { weights, .. } => &weights.device,
        }
    }

    /// The tensor `name` in its quantised blocks, if a model file stores it so (not in f32).
    pub fn blocks<S: Into<Shape>>(&self, shape: S, name: &str) -> Result<Option<Arc<QTensor>>> {
        match &self.source {
            Source::Float(_) => Ok(None),
            Source::Quantized { weights, prefix } => {
                match weights.get(&join(prefix, name), &shape.into())? {
                    Stored::Blocks(q) => Ok((q.dtype() != GgmlDType::F32).then(|| q.clone())),
                    Stored::Rows(_) => Ok(None),
                }
            }
        }
    }

    /// The matrix `name` in 7-bit rows, if a model file stores it so.
    pub fn int_rows<S: Into<Shape>>(&self, shape: S, name: &str) -> Result<Option<Arc<IntRows>>> {
        match &self.source {
            Source::Float(_) => Ok(None),
            Source::Quantized { weights, prefix } => {
                match weights.get(&join(prefix, name), &shape.into())? {
                    Stored::Rows(rows) => Ok(Some(rows.clone())),
                    Stored::Blocks(_) => Ok(None),
                }
            }
        }
    }

    /// A tensor in f32, dequantised if it was stored quantised (candle's quantised matmul ran a
    /// 30-word sentence 2.2× slower in the browser than f32; linear layers then re-pack their
    /// matrices for integer arithmetic, see [`super::int_linear`]).
    /// `init` seeds a fresh variable when training builds the model from nothing.
    pub fn tensor<S: Into<Shape>>(&self, shape: S, name: &str, init: Init) -> Result<Tensor> {
        let shape = shape.into();
        match &self.source {
            Source::Float(vb) => Ok(vb.get_with_hints(shape, name, init)?),
            Source::Quantized { weights, prefix } => weights
                .get(&join(prefix, name), &shape)?
                .dequantize(&weights.device),
        }
    }
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}
