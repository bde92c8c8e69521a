//! The BERT encoder, written for fine-tuning: unlike `candle_transformers::models::bert`, its layer
//! norm and attention softmax are differentiable (built from primitive ops, so gradients reach every
//! encoder weight) and its dropout really drops during training. Inference takes candle's fused
//! kernels, which give the same values faster.

use std::sync::Arc;

use candle_core::quantized::ggml_file::qtensor_from_ggml;
use candle_core::quantized::QTensor;
use candle_core::{DType, Device, Tensor};
use candle_nn::Init;

use super::dropout::Dropout;
use super::fast_ops::{FastGelu, FastSoftmax};
use super::int_linear::IntLinear;
use super::weights::Weights;
use crate::{BertConfig, Error, Result};

const WEIGHT_INIT: Init = Init::Randn {
    mean: 0.0,
    stdev: 0.02,
};
const ZERO: Init = Init::Const(0.0);
const ONE: Init = Init::Const(1.0);

/// A linear layer `x · Wᵀ + b` over the last dimension of any-rank input.
#[derive(Debug, Clone)]
pub enum Linear {
    /// Training, GPUs, and weights stored in f32.
    Float { weight: Tensor, bias: Tensor },
    /// Weights stored quantised, on the CPU: integer arithmetic (see [`IntLinear`]).
    Int(Arc<IntLinear>),
}

impl Linear {
    pub fn load(w: &Weights, in_dim: usize, out_dim: usize) -> Result<Self> {
        let bias = w.tensor(out_dim, "bias", ZERO)?;
        if w.device().is_cpu() {
            if let Some(rows) = w.int_rows((out_dim, in_dim), "weight")? {
                return Ok(Self::Int(Arc::new(IntLinear::from_rows(
                    &rows,
                    bias.to_vec1()?,
                ))));
            }
        }
        match w.blocks((out_dim, in_dim), "weight")? {
            Some(blocks) if w.device().is_cpu() => {
                let weight = blocks.dequantize(&Device::Cpu)?.flatten_all()?.to_vec1()?;
                Ok(Self::Int(Arc::new(IntLinear::new(
                    &weight,
                    bias.to_vec1()?,
                    in_dim,
                    out_dim,
                ))))
            }
            _ => Ok(Self::Float {
                weight: w.tensor((out_dim, in_dim), "weight", WEIGHT_INIT)?,
                bias,
            }),
        }
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_in(x, DType::F32)
    }

    /// As [`Linear::forward`], with the matrix product in `compute` (bf16 for mixed-precision
    /// training: the f32 weights stay the masters and gradients flow back through the casts).
    pub fn forward_in(&self, x: &Tensor, compute: DType) -> Result<Tensor> {
        let (weight, bias) = match self {
            Self::Float { weight, bias } => (weight, bias),
            Self::Int(layer) => return Ok(x.contiguous()?.apply_op1_no_bwd(layer.as_ref())?),
        };
        let mut dims = x.dims().to_vec();
        let in_dim = dims.pop().expect("linear input has a last dimension");
        let rows: usize = dims.iter().product();
        let y =
            matmul_in(&x.reshape((rows, in_dim))?, &weight.t()?, compute)?.broadcast_add(bias)?;
        dims.push(y.dim(1)?);
        Ok(y.reshape(dims)?)
    }
}

/// `a · b` computed in `compute`, returned in f32.
fn matmul_in(a: &Tensor, b: &Tensor, compute: DType) -> Result<Tensor> {
    if compute == DType::F32 {
        return Ok(a.matmul(b)?);
    }
    Ok(a.to_dtype(compute)?
        .matmul(&b.to_dtype(compute)?)?
        .to_dtype(DType::F32)?)
}

/// Layer norm over the last dimension, with the ops that [`Pass`] picks (candle_nn's `LayerNorm`
/// runs a fused kernel without a backward pass, so no gradient would pass through it).
#[derive(Debug, Clone)]
pub struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
    eps: f64,
}

/// What a forward pass computes with: inference kernels, or differentiable training ops, either
/// primitive or those of [`super::train_ops`] (as [`Dropout::fused`] says).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pass {
    Inference,
    #[cfg(feature = "training")]
    Train,
    #[cfg(feature = "training")]
    TrainFused,
}

impl Pass {
    fn of(drop: Option<&Dropout>) -> Self {
        match drop {
            None => Self::Inference,
            #[cfg(feature = "training")]
            Some(d) => Self::training(d.fused),
            #[cfg(not(feature = "training"))]
            Some(d) => d.unreachable(),
        }
    }

    /// A training pass: the ops of [`super::train_ops`] where `fused` (after their check), else the
    /// primitive ops.
    #[cfg(feature = "training")]
    pub fn training(fused: bool) -> Self {
        if fused {
            Self::TrainFused
        } else {
            Self::Train
        }
    }
}

impl LayerNorm {
    pub fn load(w: &Weights, size: usize, eps: f64) -> Result<Self> {
        Ok(Self {
            weight: w.tensor(size, "weight", ONE)?,
            bias: w.tensor(size, "bias", ZERO)?,
            eps,
        })
    }

    pub fn forward(&self, x: &Tensor, pass: Pass) -> Result<Tensor> {
        let (w, b) = (&self.weight, &self.bias);
        Ok(match pass {
            Pass::Inference => candle_nn::ops::layer_norm(x, w, b, self.eps as f32)?,
            #[cfg(feature = "training")]
            Pass::Train => super::train_ops::primitive_layer_norm(x, w, b, self.eps)?,
            #[cfg(feature = "training")]
            Pass::TrainFused => super::train_ops::layer_norm(x, w, b, self.eps)?,
        })
    }
}

fn dropout(x: &Tensor, p: f32, dropout: Option<&mut Dropout>) -> Result<Tensor> {
    match dropout {
        Some(d) => d.apply(x, p),
        None => Ok(x.clone()),
    }
}

#[derive(Debug, Clone, Copy)]
enum Activation {
    GeluErf,
    GeluTanh,
    Relu,
}

impl Activation {
    fn from_config(name: &str) -> Result<Self> {
        match name {
            "gelu" => Ok(Self::GeluErf),
            "gelu_new" | "gelu_pytorch_tanh" => Ok(Self::GeluTanh),
            "relu" => Ok(Self::Relu),
            other => Err(Error::Config {
                field: "hidden_act".into(),
                message: format!("`{other}` is not supported"),
            }),
        }
    }

    fn forward(self, x: &Tensor, train: bool) -> Result<Tensor> {
        Ok(match self {
            Self::GeluErf if !train && x.device().is_cpu() => {
                x.contiguous()?.apply_op1_no_bwd(&FastGelu)?
            }
            Self::GeluErf => x.gelu_erf()?,
            Self::GeluTanh => x.gelu()?,
            Self::Relu => x.relu()?,
        })
    }
}

/// The word-embedding table: a tensor (training, f32 files), or kept in its quantised blocks on the
/// CPU, where only the looked-up rows are dequantised (the whole Q4_0 table in f32 took 47 MB per
/// worker and its dequantisation was part of every load).
#[derive(Clone)]
enum WordTable {
    Dense(Tensor),
    Blocks(Arc<QTensor>),
}

impl WordTable {
    fn hidden(&self) -> Result<usize> {
        Ok(match self {
            Self::Dense(t) => t.dim(1)?,
            Self::Blocks(q) => q.shape().dims()[1],
        })
    }

    /// Rows `ids` (any shape, flattened) as a `(ids, hidden)` f32 tensor.
    fn rows(&self, ids: &Tensor) -> Result<Tensor> {
        let ids = ids.flatten_all()?;
        let table = match self {
            Self::Dense(t) => return Ok(t.index_select(&ids, 0)?),
            Self::Blocks(q) => q,
        };
        let (vocab, hidden) = table.shape().dims2()?;
        let dtype = table.dtype();
        let row_bytes = hidden / dtype.block_size() * dtype.type_size();
        let data = table.data()?;
        let mut picked = Vec::with_capacity(ids.dim(0)? * row_bytes);
        for id in ids.to_vec1::<u32>()? {
            let id = id as usize;
            if id >= vocab {
                return Err(Error::ModelFile(format!(
                    "token id {id} is outside the vocabulary of {vocab}"
                )));
            }
            picked.extend_from_slice(&data[id * row_bytes..(id + 1) * row_bytes]);
        }
        let rows = qtensor_from_ggml(
            dtype,
            &picked,
            vec![picked.len() / row_bytes, hidden],
            &Device::Cpu,
        )?;
        Ok(rows.dequantize(&Device::Cpu)?)
    }
}

#[derive(Clone)]
struct Embeddings {
    word: WordTable,
    position: Tensor,
    token_type: Tensor,
    norm: LayerNorm,
}

impl Embeddings {
    fn load(w: &Weights, c: &BertConfig) -> Result<Self> {
        let words = w.pp("word_embeddings");
        let shape = (c.vocab_size, c.hidden_size);
        let word = match words.blocks(shape, "weight")? {
            Some(blocks) if w.device().is_cpu() => WordTable::Blocks(blocks),
            _ => WordTable::Dense(words.tensor(shape, "weight", WEIGHT_INIT)?),
        };
        Ok(Self {
            word,
            position: w.pp("position_embeddings").tensor(
                (c.max_position_embeddings, c.hidden_size),
                "weight",
                WEIGHT_INIT,
            )?,
            token_type: w.pp("token_type_embeddings").tensor(
                (c.type_vocab_size, c.hidden_size),
                "weight",
                WEIGHT_INIT,
            )?,
            norm: LayerNorm::load(&w.pp("LayerNorm"), c.hidden_size, c.layer_norm_eps)?,
        })
    }

    fn forward(&self, ids: &Tensor, drop: Option<&mut Dropout>) -> Result<Tensor> {
        let (batch, len) = ids.dims2()?;
        let hidden = self.word.hidden()?;
        let words = self.word.rows(ids)?.reshape((batch, len, hidden))?;
        let positions = self.position.narrow(0, 0, len)?;
        // Single-segment input: every token has type 0.
        let token_type = self.token_type.narrow(0, 0, 1)?;
        let x = words
            .broadcast_add(&positions)?
            .broadcast_add(&token_type)?;
        let x = self.norm.forward(&x, Pass::of(drop.as_deref()))?;
        let p = drop.as_deref().map_or(0.0, |d| d.hidden);
        dropout(&x, p, drop)
    }
}

#[derive(Clone)]
struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attention_out: Linear,
    attention_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    output_norm: LayerNorm,
    heads: usize,
    activation: Activation,
    /// The dtype of the matrix products (f32 unless mixed precision is on).
    compute: DType,
}

impl Layer {
    fn load(w: &Weights, c: &BertConfig) -> Result<Self> {
        let h = c.hidden_size;
        let attention = w.pp("attention");
        let own = attention.pp("self");
        Ok(Self {
            query: Linear::load(&own.pp("query"), h, h)?,
            key: Linear::load(&own.pp("key"), h, h)?,
            value: Linear::load(&own.pp("value"), h, h)?,
            attention_out: Linear::load(&attention.pp("output").pp("dense"), h, h)?,
            attention_norm: LayerNorm::load(
                &attention.pp("output").pp("LayerNorm"),
                h,
                c.layer_norm_eps,
            )?,
            intermediate: Linear::load(&w.pp("intermediate").pp("dense"), h, c.intermediate_size)?,
            output: Linear::load(&w.pp("output").pp("dense"), c.intermediate_size, h)?,
            output_norm: LayerNorm::load(&w.pp("output").pp("LayerNorm"), h, c.layer_norm_eps)?,
            heads: c.num_attention_heads,
            activation: Activation::from_config(&c.hidden_act)?,
            compute: DType::F32,
        })
    }

    /// `mask_bias` is `(batch, 1, 1, len)`: 0 for real tokens, a large negative for padding.
    fn forward(
        &self,
        x: &Tensor,
        mask_bias: &Tensor,
        mut drop: Option<&mut Dropout>,
    ) -> Result<Tensor> {
        let pass = Pass::of(drop.as_deref());
        let train = pass != Pass::Inference;
        let (batch, len, hidden) = x.dims3()?;
        let head_dim = hidden / self.heads;
        let split = |t: Tensor| -> Result<Tensor> {
            Ok(t.reshape((batch, len, self.heads, head_dim))?
                .transpose(1, 2)?
                .contiguous()?)
        };
        let c = self.compute;
        let q = split(self.query.forward_in(x, c)?)?;
        let k = split(self.key.forward_in(x, c)?)?;
        let v = split(self.value.forward_in(x, c)?)?;
        let scores =
            (matmul_in(&q, &k.t()?, c)? / (head_dim as f64).sqrt())?.broadcast_add(mask_bias)?;
        let probs = match pass {
            #[cfg(feature = "training")]
            Pass::TrainFused => super::train_ops::softmax_last_dim(&scores)?,
            #[cfg(feature = "training")]
            Pass::Train => candle_nn::ops::softmax(&scores, candle_core::D::Minus1)?,
            Pass::Inference if scores.device().is_cpu() => {
                scores.contiguous()?.apply_op1_no_bwd(&FastSoftmax)?
            }
            Pass::Inference => candle_nn::ops::softmax_last_dim(&scores)?,
        };
        let p = drop.as_deref().map_or(0.0, |d| d.attention);
        let probs = dropout(&probs, p, drop.as_deref_mut())?;
        let context = matmul_in(&probs, &v, c)?
            .transpose(1, 2)?
            .reshape((batch, len, hidden))?;
        let p = drop.as_deref().map_or(0.0, |d| d.hidden);
        let attended = dropout(
            &self.attention_out.forward_in(&context, c)?,
            p,
            drop.as_deref_mut(),
        )?;
        let x = self.attention_norm.forward(&(attended + x)?, pass)?;
        let inner = self
            .activation
            .forward(&self.intermediate.forward_in(&x, c)?, train)?;
        let out = dropout(&self.output.forward_in(&inner, c)?, p, drop)?;
        self.output_norm.forward(&(out + x)?, pass)
    }
}

/// The encoder: embeddings and transformer layers, hidden states out.
#[derive(Clone)]
pub struct BertEncoder {
    embeddings: Embeddings,
    layers: Vec<Layer>,
    device: Device,
}

impl BertEncoder {
    /// Loads from `w`, whose names are those under Hugging Face's `bert.` prefix.
    pub fn load(w: &Weights, config: &BertConfig) -> Result<Self> {
        let layers = (0..config.num_hidden_layers)
            .map(|i| Layer::load(&w.pp("encoder").pp("layer").pp(&i.to_string()), config))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            embeddings: Embeddings::load(&w.pp("embeddings"), config)?,
            layers,
            device: w.device().clone(),
        })
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Whether the linear layers run in integers (see [`Linear::Int`]).
    pub fn computes_in_integers(&self) -> bool {
        self.layers
            .first()
            .is_some_and(|layer| matches!(layer.query, Linear::Int(_)))
    }

    /// Stops training the word embeddings: they then get no gradient (saving the backward pass
    /// into a vocabulary-sized matrix) and keep their pretrained values.
    pub fn freeze_word_embeddings(&mut self) {
        if let WordTable::Dense(table) = &self.embeddings.word {
            self.embeddings.word = WordTable::Dense(table.detach());
        }
    }

    /// Mixed precision: the transformer layers' matrix products run in `compute` (bf16), while
    /// weights, layer norms, softmax and the loss stay f32. Float weights only; inference on the
    /// CPU ignores it.
    pub fn set_compute_dtype(&mut self, compute: DType) {
        for layer in &mut self.layers {
            layer.compute = compute;
        }
    }

    /// `ids` and `mask` are `(batch, len)` u32; returns `(batch, len, hidden)`.
    pub fn forward(
        &self,
        ids: &Tensor,
        mask: &Tensor,
        mut drop: Option<&mut Dropout>,
    ) -> Result<Tensor> {
        let (batch, len) = mask.dims2()?;
        // 0 where attended, -10⁴ where padding (as Hugging Face's BERT does in f32).
        let mask_bias =
            ((mask.to_dtype(DType::F32)? - 1.0)? * 10_000.0)?.reshape((batch, 1, 1, len))?;
        let mut x = self.embeddings.forward(ids, drop.as_deref_mut())?;
        for layer in &self.layers {
            x = layer.forward(&x, &mask_bias, drop.as_deref_mut())?;
        }
        Ok(x)
    }
}

#[cfg(test)]
mod tests;
