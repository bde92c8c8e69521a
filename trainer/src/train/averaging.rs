//! `--average-last`: each epoch's weights kept for a window of epochs, and the devel scores of
//! their mean.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Result;
use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use medlight_ner::model::{TokenClassifier, Weights};
use medlight_ner::{BertConfig, Tagger};

use super::Averaged;
use crate::average;
use crate::data::{self, Sentence};
use crate::epochs::save_atomically;

/// Saves this epoch's weights in the checkpoint directory, deletes those that fell out of the window,
/// and returns the window's files, oldest first (on a resumed run the earlier ones are still there).
pub(super) fn keep_epoch_weights(
    checkpoint: &Path,
    epoch: usize,
    window: usize,
    varmap: &VarMap,
) -> Result<Vec<PathBuf>> {
    let file = |e: usize| checkpoint.join(format!("epoch-{e}.safetensors"));
    std::fs::create_dir_all(checkpoint)?;
    save_atomically(&file(epoch), |p| Ok(varmap.save(p)?))?;
    for old in 1..=epoch.saturating_sub(window) {
        if file(old).is_file() {
            std::fs::remove_file(file(old))?;
        }
    }
    Ok((epoch.saturating_sub(window) + 1..=epoch)
        .map(file)
        .filter(|f| f.is_file())
        .collect())
}

/// Devel scores of the mean of `files` (none for fewer than two), with the mean itself.
pub(super) fn evaluate_average(
    files: &[PathBuf],
    config: &BertConfig,
    tokenizer: &tokenizers::Tokenizer,
    devel: &[Sentence],
    device: &Device,
) -> Result<Option<(Averaged, HashMap<String, Tensor>)>> {
    if files.len() < 2 {
        return Ok(None);
    }
    let mean = average::mean_of(files, device)?;
    let vb = VarBuilder::from_tensors(mean.clone(), DType::F32, device);
    let tagger = Tagger::new(
        TokenClassifier::load(&Weights::float(vb), config)?,
        tokenizer.clone(),
    )?;
    let (_, report) = data::tag_and_score(&tagger, devel)?;
    Ok(Some((
        Averaged {
            epochs: files.len(),
            devel: report,
        },
        mean,
    )))
}
