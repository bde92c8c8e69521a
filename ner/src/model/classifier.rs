//! `BertForTokenClassification`: the encoder plus a linear layer giving one logit per label.

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};

use super::bert::{BertEncoder, Linear};
use super::dropout::Dropout;
use super::weights::{QuantizedWeights, Weights};
use crate::{BertConfig, LabelSet, Result};

#[derive(Clone)]
pub struct TokenClassifier {
    encoder: BertEncoder,
    classifier: Linear,
    pub config: BertConfig,
    pub labels: LabelSet,
}

impl TokenClassifier {
    /// Loads from weights named as in Hugging Face (`bert.*`, `classifier.*`).
    pub fn load(w: &Weights, config: &BertConfig) -> Result<Self> {
        let labels = config.labels()?;
        Ok(Self {
            encoder: BertEncoder::load(&w.pp("bert"), config)?,
            classifier: Linear::load(&w.pp("classifier"), config.hidden_size, labels.len())?,
            config: config.clone(),
            labels,
        })
    }

    /// A model whose weights are variables in `varmap` (created there if absent), for training.
    pub fn trainable(varmap: &VarMap, config: &BertConfig, device: &Device) -> Result<Self> {
        Self::load(
            &Weights::float(VarBuilder::from_varmap(varmap, DType::F32, device)),
            config,
        )
    }

    /// The quantised model of a model file: the safetensors file the web app fetches, or GGUF.
    pub fn from_model_file(bytes: &[u8], device: &Device) -> Result<Self> {
        let weights = QuantizedWeights::from_bytes(bytes, device)?;
        let model = Self::load(&Weights::quantized(&weights), &weights.config)?;
        Ok(model)
    }

    /// The quantised model of a GGUF model file.
    pub fn from_gguf(bytes: &[u8], device: &Device) -> Result<Self> {
        let weights = QuantizedWeights::from_gguf(bytes, device)?;
        let model = Self::load(&Weights::quantized(&weights), &weights.config)?;
        Ok(model)
    }

    /// See [`BertEncoder::freeze_word_embeddings`].
    pub fn freeze_word_embeddings(&mut self) {
        self.encoder.freeze_word_embeddings();
    }

    /// See [`BertEncoder::set_compute_dtype`].
    pub fn set_compute_dtype(&mut self, compute: DType) {
        self.encoder.set_compute_dtype(compute);
    }

    pub fn device(&self) -> &Device {
        self.encoder.device()
    }

    /// Whether the encoder's linear layers run in integers ([`super::int_linear::IntLinear`]: a
    /// quantised model on the CPU) rather than as float matrix products. The classifier cannot
    /// tell: too small to quantise, it stays f32 in the model file.
    pub fn computes_in_integers(&self) -> bool {
        self.encoder.computes_in_integers()
    }

    /// Logits `(batch, len, labels)` for `(batch, len)` u32 ids and attention mask.
    /// With `dropout`, the model is in training mode.
    pub fn forward(
        &self,
        ids: &Tensor,
        mask: &Tensor,
        mut dropout: Option<&mut Dropout>,
    ) -> Result<Tensor> {
        let hidden = self.encoder.forward(ids, mask, dropout.as_deref_mut())?;
        let hidden = match dropout {
            Some(d) => {
                let p = d.hidden;
                d.apply(&hidden, p)?
            }
            None => hidden,
        };
        self.classifier.forward(&hidden)
    }
}
