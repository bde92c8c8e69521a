//! What the fine-tuning loop (`train.rs`) and the pretraining loop (`pretrain.rs`) share: the
//! learning-rate schedule over their epochs, each epoch's seeds, and the checkpoint after each
//! epoch from which an interrupted run resumes.

use std::fmt::Debug;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use candle_core::Device;
use candle_nn::VarMap;
use medlight_ner::model::{init, train_ops, Dropout};
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::optim::{AdamW, Schedule};

/// How a call to `train::run` or `pretrain::run` starts and ends, beyond the settings.
#[derive(Debug, Clone, Copy, Default)]
pub struct Control {
    /// Continue from `<out>/checkpoint` if there is one.
    pub resume: bool,
    /// Return after this epoch as if interrupted (tests use it to check resuming).
    pub stop_after_epoch: Option<usize>,
}

pub fn checkpoint_dir(out: &Path) -> PathBuf {
    out.join("checkpoint")
}

/// Linear warmup over the share `warmup` of `epochs` epochs' steps, then linear decay to 0.
pub(crate) fn schedule(peak: f64, warmup: f64, steps_per_epoch: usize, epochs: usize) -> Schedule {
    let total_steps = steps_per_epoch * epochs;
    Schedule {
        peak,
        warmup_steps: ((total_steps as f64 * warmup) as usize).max(1),
        total_steps,
    }
}

/// An epoch's generator (batch order, masks) and dropout, both derived from (seed, epoch) so that
/// a resumed run sees what the interrupted one would have.
pub(crate) fn epoch_randomness(
    seed: u64,
    epoch: usize,
    hidden_dropout: f32,
    attention_dropout: f32,
    fused: bool,
) -> (StdRng, Dropout) {
    let rng = StdRng::seed_from_u64(seed.wrapping_mul(1000).wrapping_add(epoch as u64));
    let mut dropout = Dropout::new(
        seed.wrapping_mul(7919).wrapping_add(epoch as u64),
        hidden_dropout,
        attention_dropout,
    );
    dropout.fused = fused;
    (rng, dropout)
}

/// Whether training on `device` takes the fused ops of `train_ops`: a step on a GPU is bound by
/// kernel launches, and those ops (layer norm, softmax, dropout) need fewer. They are used only
/// after a check against the primitive ops passes; the dropout state carries the choice through
/// the model (`Dropout::fused`).
pub(crate) fn fused_training_ops(device: &Device) -> bool {
    device.is_cuda()
        && train_ops::check(device)
            .map_err(|e| eprintln!("warning: training ops built from primitive ops (slower): {e}"))
            .is_ok()
}

/// Writes through a temporary file and renames, so a kill mid-write never leaves a torn file.
pub(crate) fn save_atomically(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let tmp = path.with_extension("tmp");
    write(&tmp)?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("cannot move {} into place", path.display()))
}

/// A run's `state.json`: what it was started with and how far its optimisers got.
pub(crate) trait RunState: Serialize + DeserializeOwned {
    type Settings: PartialEq + Debug;
    fn settings(&self) -> &Self::Settings;
    /// The steps taken by each optimiser, in the order the run passes them to [`Checkpoint`].
    fn optimiser_steps(&self) -> Vec<usize>;
}

/// `<out>/checkpoint/`: the weights, each optimiser's moments (under its own file name) and the
/// state, rewritten after every epoch.
pub(crate) struct Checkpoint {
    pub dir: PathBuf,
}

impl Checkpoint {
    pub fn of(out: &Path) -> Self {
        Self {
            dir: checkpoint_dir(out),
        }
    }

    fn state_path(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    /// With `resume` and a checkpoint here: its state, with its weights loaded into `varmap` and
    /// its moments into `optimisers` (file name, optimiser). `None` starts afresh; a checkpoint
    /// without `resume` is an error, so that a new run never overwrites an earlier one's.
    pub fn resume<S: RunState>(
        &self,
        resume: bool,
        settings: &S::Settings,
        varmap: &VarMap,
        optimisers: &mut [(&str, &mut AdamW)],
        device: &Device,
    ) -> Result<Option<S>> {
        let state_path = self.state_path();
        if !state_path.is_file() {
            return Ok(None);
        }
        if !resume {
            bail!(
                "{} holds a checkpoint of an earlier run: pass --resume to continue it, or choose another --out",
                self.dir.display()
            );
        }
        let state: S = serde_json::from_str(&std::fs::read_to_string(&state_path)?)
            .with_context(|| format!("{} is not a checkpoint state", state_path.display()))?;
        if state.settings() != settings {
            bail!(
                "{}: the checkpoint was made with other settings ({:?}); rerun with those, or use another --out",
                self.dir.display(),
                state.settings()
            );
        }
        let report = init::load_pretrained(varmap, &self.dir.join("weights.safetensors"), device)?;
        if !report.missing.is_empty() {
            bail!(
                "{}: checkpoint lacks {}",
                self.dir.display(),
                report.missing.join(", ")
            );
        }
        for ((file, optimiser), step) in optimisers.iter_mut().zip(state.optimiser_steps()) {
            optimiser.load(&self.dir.join(file), step)?;
        }
        Ok(Some(state))
    }

    pub fn save<S: RunState>(
        &self,
        state: &S,
        varmap: &VarMap,
        optimisers: &[(&str, &AdamW)],
    ) -> Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        save_atomically(&self.dir.join("weights.safetensors"), |p| {
            Ok(varmap.save(p)?)
        })?;
        for (file, optimiser) in optimisers {
            save_atomically(&self.dir.join(file), |p| optimiser.save(p))?;
        }
        // state.json last: it is what marks the checkpoint complete.
        save_atomically(&self.state_path(), |p| {
            Ok(std::fs::write(p, serde_json::to_string_pretty(state)?)?)
        })
    }
}
