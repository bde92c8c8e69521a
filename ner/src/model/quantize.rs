//! Quantising a model: the safetensors file the web app fetches ([`super::model_file`]), or
//! optionally a GGUF file (version 2, as candle writes it) holding
//! - every weight matrix with at least [`MIN_QUANTISED_ROWS`] rows and rows a multiple of the block
//!   size, in the chosen block format (Q8_0 by default: blocks of 32 int8 values with one f16 scale);
//! - the word embedding table in its own block format ([`Formats::word_embeddings`]): it is half
//!   the parameters, and it is looked up, not multiplied (dequantised when loaded), so a coarser
//!   format shrinks the download without slowing inference;
//! - everything else (norms, biases, the small classifier) in f32;
//! - the metadata entries `medlight.config` (the model's `config.json` text) and `medlight.format`.
//!
//! Tensor names are Hugging Face's, so either file maps one-to-one onto `model.safetensors`.
//! Both start from the same blocks, so they give the same logits.

use std::io::{Seek, Write};

use candle_core::quantized::{gguf_file, GgmlDType, QTensor};
use candle_core::{Device, Tensor};

use super::model_file;
use super::weights::{QuantizedWeights, Stored, CONFIG_KEY, FORMAT_KEY, FORMAT_VERSION};
use crate::{BertConfig, Error, Result};

/// Matrices with fewer rows (the classifier, token types) stay f32: tiny, and most sensitive.
pub const MIN_QUANTISED_ROWS: usize = 32;

/// Parses a block format name as the CLI takes it.
pub fn parse_dtype(name: &str) -> Result<GgmlDType> {
    Ok(match name.to_ascii_lowercase().as_str() {
        "q8_0" => GgmlDType::Q8_0,
        "q5_0" => GgmlDType::Q5_0,
        "q5_1" => GgmlDType::Q5_1,
        "q4_0" => GgmlDType::Q4_0,
        "q4_1" => GgmlDType::Q4_1,
        "f16" => GgmlDType::F16,
        "f32" => GgmlDType::F32,
        other => {
            return Err(Error::ModelFile(format!(
                "unknown quantisation `{other}` (allowed: q8_0, q5_0, q5_1, q4_0, q4_1, f16, f32)"
            )))
        }
    })
}

/// Block formats of a model file: one for the weight matrices, one for the word embedding table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Formats {
    pub matrices: GgmlDType,
    pub word_embeddings: GgmlDType,
}

impl Formats {
    /// Every quantisable tensor in one format.
    pub fn uniform(dtype: GgmlDType) -> Self {
        Self {
            matrices: dtype,
            word_embeddings: dtype,
        }
    }

    fn for_tensor(&self, name: &str) -> GgmlDType {
        if name.ends_with("word_embeddings.weight") {
            self.word_embeddings
        } else {
            self.matrices
        }
    }
}

fn should_quantise(name: &str, tensor: &Tensor, dtype: GgmlDType) -> bool {
    let dims = tensor.dims();
    name.ends_with(".weight")
        && !name.contains("LayerNorm")
        && dims.len() == 2
        && dims[0] >= MIN_QUANTISED_ROWS
        && dims[1].is_multiple_of(dtype.block_size())
}

/// Each tensor (Hugging Face names, f32) in the block format `formats` gives it.
fn quantise_all(tensors: &[(String, Tensor)], formats: Formats) -> Result<Vec<(&str, QTensor)>> {
    let mut quantised = Vec::with_capacity(tensors.len());
    for (name, tensor) in tensors {
        let dtype = formats.for_tensor(name);
        let target = if should_quantise(name, tensor, dtype) {
            dtype
        } else {
            GgmlDType::F32
        };
        quantised.push((name.as_str(), QTensor::quantize(tensor, target)?));
    }
    Ok(quantised)
}

/// `tensors` (Hugging Face names, f32) and `config` as the web app's safetensors model file.
pub fn write_safetensors(
    tensors: &[(String, Tensor)],
    config: &BertConfig,
    formats: Formats,
) -> Result<Vec<u8>> {
    let mut stored = Vec::with_capacity(tensors.len());
    for (name, q) in quantise_all(tensors, formats)? {
        stored.push((name, model_file::stored_for(name, std::sync::Arc::new(q))?));
    }
    let refs: Vec<(&str, &Stored)> = stored.iter().map(|(n, s)| (*n, s)).collect();
    model_file::write(&refs, config)
}

/// A GGUF model file rewritten as the safetensors file with the same logits.
pub fn gguf_to_safetensors(gguf: &[u8]) -> Result<Vec<u8>> {
    let weights = QuantizedWeights::from_gguf(gguf, &Device::Cpu)?;
    let mut stored = Vec::new();
    for (name, tensor) in weights.named() {
        let Stored::Blocks(q) = tensor else {
            unreachable!("a GGUF file holds blocks")
        };
        stored.push((name, model_file::stored_for(name, q.clone())?));
    }
    let refs: Vec<(&str, &Stored)> = stored.iter().map(|(n, s)| (*n, s)).collect();
    model_file::write(&refs, &weights.config)
}

/// Writes `tensors` (Hugging Face names, f32) and `config` as a Medlight GGUF model file.
pub fn write_gguf<W: Write + Seek>(
    out: &mut W,
    tensors: &[(String, Tensor)],
    config: &BertConfig,
    formats: Formats,
) -> Result<()> {
    let quantised = quantise_all(tensors, formats)?;
    let refs: Vec<(&str, &QTensor)> = quantised.iter().map(|(n, t)| (*n, t)).collect();
    write_file(out, &refs, config)
}

/// Rewrites a Medlight model file (either format, kept) with its config changed by `edit` (such as
/// a new `outside_bias`), its tensors copied as stored: the weights, and so every score they give,
/// are unchanged. The file is byte for byte what writing these tensors and the new config gives;
/// the new config is returned.
pub fn edit_config<W: Write + Seek>(
    file: &[u8],
    out: &mut W,
    edit: impl FnOnce(&mut BertConfig),
) -> Result<BertConfig> {
    let weights = QuantizedWeights::from_bytes(file, &Device::Cpu)?;
    let mut config = weights.config.clone();
    edit(&mut config);
    // An edited config that would not load again (a lexicon naming a type the model lacks) is refused here.
    config.validate()?;
    let tensors = weights.named();
    if file.starts_with(b"GGUF") {
        let mut blocks = Vec::with_capacity(tensors.len());
        for (name, tensor) in &tensors {
            let Stored::Blocks(q) = tensor else {
                unreachable!("a GGUF file holds blocks")
            };
            blocks.push((*name, q.as_ref()));
        }
        write_file(out, &blocks, &config)?;
    } else {
        out.write_all(&model_file::write(&tensors, &config)?)
            .map_err(candle_core::Error::from)?;
    }
    Ok(config)
}

fn write_file<W: Write + Seek>(
    out: &mut W,
    tensors: &[(&str, &QTensor)],
    config: &BertConfig,
) -> Result<()> {
    let config_json = gguf_file::Value::String(config.to_json());
    let version = gguf_file::Value::U32(FORMAT_VERSION);
    let metadata = [(CONFIG_KEY, &config_json), (FORMAT_KEY, &version)];
    gguf_file::write(out, &metadata, tensors)?;
    Ok(())
}
