//! The training loss of a batch of token-classification logits.

use anyhow::Result;
use candle_core::{Tensor, D};

use crate::batches::Batch;

/// Cross-entropy over labelled positions, optionally with label smoothing. Where a batch holds
/// partially annotated examples, each position's loss is −log of the probability summed over the
/// labels its gold tag allows (a corpus's `O` may be a type it does not annotate). Where it holds
/// soft targets, each position's loss is the cross-entropy against its target distribution.
pub(super) fn loss(logits: &Tensor, batch: &Batch, smoothing: f64) -> Result<Tensor> {
    let n_labels = logits.dim(D::Minus1)?;
    let flat = logits
        .reshape(((), n_labels))?
        .index_select(&batch.positions, 0)?;
    let log_probs = candle_nn::ops::log_softmax(&flat, D::Minus1)?;
    let nll = match (&batch.allowed, &batch.soft) {
        (_, Some(soft)) => (&log_probs * soft)?.sum(D::Minus1)?.mean_all()?.neg()?,
        (Some(allowed), None) => (&log_probs + allowed)?
            .log_sum_exp(D::Minus1)?
            .mean_all()?
            .neg()?,
        (None, None) => candle_nn::loss::nll(&log_probs, &batch.targets)?,
    };
    if smoothing <= 0.0 {
        return Ok(nll);
    }
    let uniform = log_probs.mean(D::Minus1)?.mean_all()?.neg()?;
    Ok(((nll * (1.0 - smoothing))? + (uniform * smoothing)?)?)
}
