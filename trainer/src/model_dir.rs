//! Loading a trained model directory for `eval` and `predict`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use candle_core::{DType, Device};
use candle_nn::VarBuilder;
use medlight_ner::model::{TokenClassifier, Weights};
use medlight_ner::{align, BertConfig, Tagger};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// f32 `model.safetensors` if present, else the quantised model file.
    Auto,
    F32,
    Quantized,
}

/// The quantised model file in `dir`: the single `medlight-*.safetensors` there, or else the
/// single `*.gguf` (an older or optional export).
pub fn quantized_in(dir: &Path) -> Result<PathBuf> {
    let files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read model directory {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    let named = |p: &PathBuf, prefix: &str, ext: &str| {
        p.extension().is_some_and(|x| x == ext)
            && p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(prefix))
    };
    for (prefix, ext) in [("medlight-", "safetensors"), ("", "gguf")] {
        let mut found: Vec<&PathBuf> = files.iter().filter(|p| named(p, prefix, ext)).collect();
        match found.len() {
            0 => continue,
            1 => return Ok(found.remove(0).clone()),
            _ => bail!("{}: several {prefix}*.{ext} files; keep one", dir.display()),
        }
    }
    bail!(
        "{}: no quantised model (medlight-*.safetensors or *.gguf)",
        dir.display()
    )
}

pub fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

/// `<dir>/config.json`; errors name the file.
pub fn read_config(dir: &Path) -> Result<BertConfig> {
    let path = dir.join("config.json");
    let json = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    BertConfig::from_json(&json).with_context(|| path.display().to_string())
}

pub fn load_tagger(dir: &Path, format: Format, device: &Device) -> Result<Tagger> {
    let tokenizer = align::load_tokenizer(&read(&dir.join("tokenizer.json"))?)
        .with_context(|| format!("{}/tokenizer.json", dir.display()))?;
    let f32_file = dir.join("model.safetensors");
    let use_f32 = match format {
        Format::F32 => true,
        Format::Quantized => false,
        Format::Auto => f32_file.is_file(),
    };
    let model = if use_f32 {
        let config = read_config(dir)?;
        // SAFETY: the file is memory-mapped read-only and not modified while the model lives.
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[&f32_file], DType::F32, device) }
            .with_context(|| format!("cannot read {}", f32_file.display()))?;
        TokenClassifier::load(&Weights::float(vb), &config)
            .with_context(|| f32_file.display().to_string())?
    } else {
        let path = quantized_in(dir)?;
        TokenClassifier::from_model_file(&read(&path)?, device)
            .with_context(|| path.display().to_string())?
    };
    Ok(Tagger::new(model, tokenizer)?)
}
