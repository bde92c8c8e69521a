//! BERT's masked-LM head over the encoder, and the masked-LM loss of a batch.

use anyhow::Result;
use candle_core::{Device, Tensor, D};
use candle_nn::{Linear, Module, VarBuilder};
use medlight_ner::model::bert::{BertEncoder, LayerNorm, Pass};
use medlight_ner::model::{Dropout, Weights};
use medlight_ner::BertConfig;

use super::text::Masked;

/// BERT's masked-LM head (`cls.predictions`): a transform, then scores over the vocabulary against
/// the word-embedding table (tied weights, as in BERT; the table stays frozen, as in fine-tuning).
pub(super) struct Head {
    dense: Linear,
    norm: LayerNorm,
    bias: Tensor,
    words: Tensor,
    /// Always a training pass: the head exists only to be trained.
    pass: Pass,
}

impl Head {
    pub(super) fn new(
        vb: VarBuilder,
        config: &BertConfig,
        words: Tensor,
        fused: bool,
    ) -> Result<Self> {
        let (hidden, vocab) = (config.hidden_size, config.vocab_size);
        let vb = vb.pp("cls").pp("predictions");
        let transform = vb.pp("transform");
        Ok(Self {
            dense: candle_nn::linear(hidden, hidden, transform.pp("dense"))?,
            norm: LayerNorm::load(
                &Weights::float(transform.pp("LayerNorm")),
                hidden,
                config.layer_norm_eps,
            )?,
            bias: vb.get_with_hints(vocab, "bias", candle_nn::Init::Const(0.0))?,
            words,
            pass: Pass::training(fused),
        })
    }

    /// Log-probabilities over the vocabulary for hidden states `(n, hidden)`.
    fn log_probs(&self, hidden: &Tensor) -> Result<Tensor> {
        let x = self
            .norm
            .forward(&self.dense.forward(hidden)?.gelu_erf()?, self.pass)?;
        let scores = x.matmul(&self.words.t()?)?.broadcast_add(&self.bias)?;
        Ok(candle_nn::ops::log_softmax(&scores, D::Minus1)?)
    }
}

/// The encoder and head, and the masked-LM loss of a batch of sequences.
pub(super) struct Model {
    pub(super) encoder: BertEncoder,
    pub(super) head: Head,
    pub(super) pad: u32,
}

impl Model {
    /// With `dropout`, in training mode; `train_encoder` false keeps gradients out of the encoder.
    pub(super) fn loss(
        &self,
        batch: &[&Masked],
        device: &Device,
        dropout: Option<&mut Dropout>,
        train_encoder: bool,
    ) -> Result<Tensor> {
        let len = batch.iter().map(|m| m.ids.len()).max().unwrap_or(0);
        let (mut ids, mut mask, mut positions, mut targets) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (row, m) in batch.iter().enumerate() {
            ids.extend_from_slice(&m.ids);
            ids.extend(std::iter::repeat_n(self.pad, len - m.ids.len()));
            mask.extend((0..len).map(|i| u32::from(i < m.ids.len())));
            for &(position, id) in &m.targets {
                positions.push((row * len + position) as u32);
                targets.push(id);
            }
        }
        let shape = (batch.len(), len);
        let ids = Tensor::from_vec(ids, shape, device)?;
        let mask = Tensor::from_vec(mask, shape, device)?;
        let mut hidden = self.encoder.forward(&ids, &mask, dropout)?;
        if !train_encoder {
            hidden = hidden.detach();
        }
        let hidden = hidden
            .reshape(((), hidden.dim(D::Minus1)?))?
            .index_select(&Tensor::new(positions, device)?, 0)?;
        let log_probs = self.head.log_probs(&hidden)?;
        Ok(candle_nn::loss::nll(
            &log_probs,
            &Tensor::new(targets, device)?,
        )?)
    }

    /// Mean loss over `sequences`, masked once with a fixed seed, without dropout.
    pub(super) fn held_out_loss(
        &self,
        sequences: &[Masked],
        batch_size: usize,
        device: &Device,
    ) -> Result<f64> {
        let (mut sum, mut count) = (0.0, 0usize);
        for chunk in sequences.chunks(batch_size) {
            let members: Vec<&Masked> = chunk.iter().collect();
            let n: usize = chunk.iter().map(|m| m.targets.len()).sum();
            sum += self
                .loss(&members, device, None, false)?
                .to_scalar::<f32>()? as f64
                * n as f64;
            count += n;
        }
        Ok(sum / count.max(1) as f64)
    }
}
