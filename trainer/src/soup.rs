//! A seed soup: the same recipe trained once per seed, each run in `<out>/seed-S`, and the model the
//! element-wise mean of the runs' best weights. Runs from one pretrained encoder stay in one basin,
//! so their mean scores above its members (measured on BC5CDR devel: docs/experiments.md,
//! "Seeds, and soups").

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use candle_core::Device;

use crate::average;
use crate::train::{self, Control, Outcome, Settings};

/// Where the run with `seed` lives inside a soup's output directory.
pub fn member_dir(out: &Path, seed: u64) -> PathBuf {
    out.join(format!("seed-{seed}"))
}

/// Trains (or, with `control.resume`, continues or just reloads) one run per seed, in order. A run
/// whose checkpoint has all its epochs is not trained again, so an interrupted soup resumes at the
/// seed it stopped in. Each member directory is a model directory of its own (tokenizer included).
pub fn train_members(
    settings: &Settings,
    seeds: &[u64],
    out: &Path,
    device: &Device,
    control: Control,
) -> Result<Vec<Outcome>> {
    let mut seen = HashSet::new();
    if let Some(twice) = seeds.iter().find(|s| !seen.insert(**s)) {
        bail!("--seeds: {twice} is given twice; a soup's runs need distinct seeds");
    }
    let mut members = Vec::with_capacity(seeds.len());
    for (i, &seed) in seeds.iter().enumerate() {
        let dir = member_dir(out, seed);
        crate::progress::println(format!(
            "seed {seed} ({} of {}): {}",
            i + 1,
            seeds.len(),
            dir.display()
        ));
        let outcome = train::run(
            Settings {
                seed,
                ..settings.clone()
            },
            &dir,
            device,
            control,
        )
        .with_context(|| format!("run with seed {seed} in {}", dir.display()))?;
        outcome
            .tokenizer
            .save(dir.join("tokenizer.json"), false)
            .map_err(|e| anyhow::anyhow!("writing {}/tokenizer.json: {e}", dir.display()))?;
        let interrupted = outcome.state.epochs_done < settings.epochs;
        members.push(outcome);
        if interrupted {
            break;
        }
    }
    Ok(members)
}

/// Writes `<to>/model.safetensors`, the mean of the best weights of the members in `out`
/// (`export::finish` then writes the config and the rest).
pub fn write_mean(members: &[Outcome], out: &Path, to: &Path) -> Result<()> {
    let files: Vec<PathBuf> = members
        .iter()
        .map(|m| member_dir(out, m.state.settings.seed).join("model.safetensors"))
        .collect();
    std::fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    average::save_mean(&files, to)
}
