//! Dropout with its own seeded generator: candle's CPU generator cannot be seeded, and `--seed`
//! must make a training run repeatable.

use candle_core::{DType, Tensor};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::Result;

/// Present during training (the model then drops activations), absent at inference.
pub struct Dropout {
    rng: StdRng,
    /// Drop probability on hidden states (`hidden_dropout_prob`).
    pub hidden: f32,
    /// Drop probability on attention probabilities (`attention_probs_dropout_prob`).
    pub attention: f32,
    /// Whether the GPU's generator has been seeded from `rng` yet.
    device_seeded: bool,
    /// Training uses the ops of [`super::train_ops`]: layer norm and softmax in the encoder, and on
    /// a GPU this dropout's one kernel. Set it only where [`super::train_ops::check`] passed.
    pub fused: bool,
}

impl Dropout {
    pub fn new(seed: u64, hidden: f32, attention: f32) -> Self {
        Self {
            rng: StdRng::seed_from_u64(seed),
            hidden,
            attention,
            device_seeded: false,
            fused: false,
        }
    }

    /// Zeroes each element with probability `p` and scales the rest by `1 / (1 - p)`.
    pub fn apply(&mut self, xs: &Tensor, p: f32) -> Result<Tensor> {
        if p <= 0.0 {
            return Ok(xs.clone());
        }
        let keep = 1.0 / (1.0 - p);
        if xs.device().is_cuda() {
            // On a GPU the mask is drawn there (cuRAND): a host-made mask would cost a CPU loop and
            // a copy for each of the ~20 dropouts of a step. Seeding the device generator from
            // this one keeps a run, and a resumed epoch, repeatable.
            if !self.device_seeded {
                xs.device().set_seed(self.rng.random())?;
                self.device_seeded = true;
            }
            let uniform = Tensor::rand(0f32, 1f32, xs.shape(), xs.device())?;
            if self.fused && xs.dtype() == DType::F32 {
                return Ok(super::train_ops::dropout(xs, &uniform, p)?);
            }
            let kept = uniform.ge(p as f64)?;
            let mask = (kept.to_dtype(DType::F32)? * keep as f64)?.to_dtype(xs.dtype())?;
            return Ok(xs.mul(&mask)?);
        }
        let mask: Vec<f32> = (0..xs.elem_count())
            .map(|_| {
                if self.rng.random::<f32>() < p {
                    0.0
                } else {
                    keep
                }
            })
            .collect();
        let mask = Tensor::from_vec(mask, xs.shape(), xs.device())?.to_dtype(xs.dtype())?;
        Ok(xs.mul(&mask)?)
    }
}
