//! Float weights back from a quantised model file, for a model whose f32 weights are gone: to
//! average it with newly trained runs, or to train it further. Weights come back within half a
//! quantisation step of their scale; the word embedding table, 4-bit in
//! the file but frozen while training, can be taken exactly from the base model it came from.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{bail, Context, Result};
use candle_core::{DType, Device, Tensor};
use medlight_ner::model::init::pretrained_tensor;
use medlight_ner::model::QuantizedWeights;

use crate::model_dir;
use crate::train::WORD_EMBEDDINGS;

/// Writes `<out>/model.safetensors` (every tensor of the quantised file in `model`, dequantised to f32),
/// `config.json` (the file's, `outside_bias` included) and `tokenizer.json`. With `base`, the word
/// embedding table is the base model's (its `model.safetensors`, with or without the `bert.` prefix).
pub fn dequantize(model: &Path, base: Option<&Path>, out: &Path) -> Result<()> {
    let file = model_dir::quantized_in(model)?;
    // Writing into the model's own directory would replace its config and copy its tokenizer onto itself.
    if out
        .canonicalize()
        .is_ok_and(|o| model.canonicalize().is_ok_and(|m| m == o))
    {
        bail!(
            "--out {} is the model's own directory: choose another",
            out.display()
        );
    }
    let weights = QuantizedWeights::from_bytes(&model_dir::read(&file)?, &Device::Cpu)
        .with_context(|| file.display().to_string())?;
    let mut tensors: HashMap<String, Tensor> = HashMap::new();
    for (name, blocks) in weights.named() {
        tensors.insert(name.to_string(), blocks.dequantize(&Device::Cpu)?);
    }
    if let Some(base) = base {
        let path = base.join("model.safetensors");
        let base_tensors = candle_core::safetensors::load(&path, &Device::Cpu)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let name = WORD_EMBEDDINGS;
        let Some(quantized) = tensors.get(name) else {
            bail!("{}: no `{name}`", file.display())
        };
        let table = pretrained_tensor(&base_tensors, name)
            .with_context(|| format!("{}: no `{name}`", path.display()))?;
        if table.dims() != quantized.dims() {
            bail!(
                "{}: `{name}` has shape {:?}, but {:?} in {}",
                path.display(),
                table.dims(),
                quantized.dims(),
                file.display()
            );
        }
        tensors.insert(name.to_string(), table.to_dtype(DType::F32)?);
    }
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    candle_core::safetensors::save(&tensors, out.join("model.safetensors"))?;
    std::fs::write(out.join("config.json"), weights.config.to_json())?;
    let tokenizer = model.join("tokenizer.json");
    std::fs::copy(&tokenizer, out.join("tokenizer.json"))
        .with_context(|| format!("cannot copy {}", tokenizer.display()))?;
    Ok(())
}
