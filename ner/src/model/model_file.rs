//! The quantised model file the web app fetches: a safetensors file (format version 3) that any
//! safetensors reader opens. Tensor names are Hugging Face's; each tensor is stored one of three ways:
//! - a linear layer's matrix `X.weight` as `I8` 7-bit integers `(out, in)`, row-major, with its
//!   per-row scales in `X.weight_scale` (`F32`, `(out)`): weight = integer × scale. These are the
//!   integers the CPU kernels multiply ([`IntRows`]), so loading only lays them out in tile order;
//! - an embedding table (words, positions) as `U8` rows of GGML blocks (`Q4_0`, `Q8_0`: each block
//!   an f16 scale then its packed integers), named in the metadata entry `medlight.blocks`
//!   (`{"tensor name": "q4_0"}`); the word table is looked up row by row in its blocks;
//! - everything else (norms, biases, the small classifier) as `F32`.
//!
//! Metadata: `medlight.format` (`"3"`), `medlight.config` (the model's `config.json` text, without
//! its lexicon), `medlight.lexicon` (the lexicon's JSON, zlib-compressed, in base64) and
//! `medlight.blocks`. The lexicon is kept apart because its tens of thousands of names would
//! otherwise be most of the header: compressed, they take a fifth of the bytes. Version 2 (the
//! lexicon inside the config) is still read.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use base64::Engine as _;
use candle_core::quantized::ggml_file::qtensor_from_ggml;
use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use safetensors::{Dtype, SafeTensors, View};

use super::int_linear::IntRows;
use super::weights::{QuantizedWeights, Stored, CONFIG_KEY, FORMAT_KEY};
use crate::{BertConfig, Error, Result};

/// This format's `medlight.format` value.
pub const VERSION: &str = "3";
/// The earlier version this build still reads: the lexicon inside `medlight.config`.
const VERSION_LEXICON_IN_CONFIG: &str = "2";
/// Metadata key holding the config's lexicon, zlib-compressed JSON in base64 (standard alphabet).
pub const LEXICON_KEY: &str = "medlight.lexicon";
/// A lexicon entry inflating past this is refused rather than read: the shipped one is 1.3 MB.
const LEXICON_MAX_BYTES: usize = 64 << 20;
/// Metadata key naming the tensors stored in GGML blocks, with their block format.
pub const BLOCKS_KEY: &str = "medlight.blocks";
/// Suffix of the tensor holding a 7-bit matrix's per-row scales.
pub const SCALE_SUFFIX: &str = "_scale";

/// How a tensor quantised to `q` is kept in the file: embedding tables stay in their blocks (looked
/// up, not multiplied), other matrices become 7-bit rows, f32 stays f32.
pub fn stored_for(name: &str, q: Arc<QTensor>) -> Result<Stored> {
    if q.dtype() == GgmlDType::F32 || name.contains("embeddings.") {
        return Ok(Stored::Blocks(q));
    }
    let (rows, cols) = q.shape().dims2()?;
    let weight: Vec<f32> = q.dequantize(&Device::Cpu)?.flatten_all()?.to_vec1()?;
    Ok(Stored::Rows(Arc::new(IntRows::quantise(
        &weight, rows, cols,
    ))))
}

/// A tensor's bytes as the file holds them.
struct Raw {
    dtype: Dtype,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

impl View for &Raw {
    fn dtype(&self) -> Dtype {
        self.dtype
    }
    fn shape(&self) -> &[usize] {
        &self.shape
    }
    fn data(&self) -> std::borrow::Cow<'_, [u8]> {
        (&self.bytes[..]).into()
    }
    fn data_len(&self) -> usize {
        self.bytes.len()
    }
}

/// The file for `tensors` (any order) and `config`.
pub fn write(tensors: &[(&str, &Stored)], config: &BertConfig) -> Result<Vec<u8>> {
    let mut raws: Vec<(String, Raw)> = Vec::new();
    let mut blocks = BTreeMap::new();
    for (name, stored) in tensors {
        match stored {
            Stored::Rows(r) => {
                let bytes = r.values.iter().map(|&v| v as u8).collect();
                raws.push((
                    name.to_string(),
                    Raw {
                        dtype: Dtype::I8,
                        shape: vec![r.rows, r.cols],
                        bytes,
                    },
                ));
                let scales = r.scales.iter().flat_map(|s| s.to_le_bytes()).collect();
                let scale_name = format!("{name}{SCALE_SUFFIX}");
                raws.push((
                    scale_name,
                    Raw {
                        dtype: Dtype::F32,
                        shape: vec![r.rows],
                        bytes: scales,
                    },
                ));
            }
            Stored::Blocks(q) if q.dtype() == GgmlDType::F32 => {
                let shape = q.shape().dims().to_vec();
                raws.push((
                    name.to_string(),
                    Raw {
                        dtype: Dtype::F32,
                        shape,
                        bytes: q.data()?.into_owned(),
                    },
                ));
            }
            Stored::Blocks(q) => {
                let (rows, _) = q.shape().dims2()?;
                let bytes = q.data()?.into_owned();
                let shape = vec![rows, bytes.len() / rows.max(1)];
                blocks.insert(name.to_string(), block_name(q.dtype())?.to_string());
                raws.push((
                    name.to_string(),
                    Raw {
                        dtype: Dtype::U8,
                        shape,
                        bytes,
                    },
                ));
            }
        }
    }
    let mut without_lexicon = config.clone();
    let lexicon = std::mem::take(&mut without_lexicon.lexicon);
    let mut metadata = HashMap::from([
        (FORMAT_KEY.to_string(), VERSION.to_string()),
        (
            CONFIG_KEY.to_string(),
            serde_json::to_string(&without_lexicon).expect("config serialises"),
        ),
        (
            BLOCKS_KEY.to_string(),
            serde_json::to_string(&blocks).expect("a map of strings"),
        ),
    ]);
    if !lexicon.is_empty() {
        metadata.insert(LEXICON_KEY.to_string(), packed_lexicon(&lexicon));
    }
    let views = raws.iter().map(|(name, raw)| (name.as_str(), raw));
    let file = safetensors::serialize(views, Some(metadata))
        .map_err(|e| Error::ModelFile(format!("cannot write: {e}")))?;
    Ok(with_sorted_header(file))
}

/// The `safetensors` crate writes its metadata map in hash order, so the same model would give files
/// that differ byte for byte; sorting the header's keys makes a file a function of its contents, which
/// the integrity hash and `trainer retune`'s "same file back" rely on.
fn with_sorted_header(file: Vec<u8>) -> Vec<u8> {
    let length = u64::from_le_bytes(file[..8].try_into().expect("eight bytes")) as usize;
    let header: BTreeMap<String, serde_json::Value> =
        serde_json::from_slice(&file[8..8 + length]).expect("the crate's own header");
    let sorted: BTreeMap<&str, serde_json::Value> = header
        .iter()
        .map(|(key, value)| {
            let value = match value.as_object() {
                Some(map) => {
                    serde_json::to_value(map.iter().collect::<BTreeMap<_, _>>()).expect("a map")
                }
                None => value.clone(),
            };
            (key.as_str(), value)
        })
        .collect();
    let mut json = serde_json::to_vec(&sorted).expect("a map of values");
    // The spec pads the header with spaces so that the data starts 8-byte aligned.
    json.resize(json.len().next_multiple_of(8), b' ');
    let mut out = Vec::with_capacity(8 + json.len() + file.len() - 8 - length);
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(&file[8 + length..]);
    out
}

/// Reads a file written by [`write`].
pub fn read(bytes: &[u8], device: &Device) -> Result<QuantizedWeights> {
    let bad = |what: String| Error::ModelFile(what);
    let file = SafeTensors::deserialize(bytes)
        .map_err(|e| bad(format!("neither GGUF nor a readable safetensors file: {e}")))?;
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| bad(e.to_string()))?;
    let metadata = header.metadata().clone().unwrap_or_default();
    let Some(config) = metadata.get(CONFIG_KEY) else {
        return Err(bad(format!(
            "no `{CONFIG_KEY}` metadata entry: not a Medlight model"
        )));
    };
    let mut config = BertConfig::from_json(config)?;
    if let Some(version) = metadata
        .get(FORMAT_KEY)
        .filter(|v| *v != VERSION && *v != VERSION_LEXICON_IN_CONFIG)
    {
        return Err(bad(format!(
            "`{FORMAT_KEY}` is {version}; this build reads versions \
             {VERSION_LEXICON_IN_CONFIG} and {VERSION}"
        )));
    }
    if let Some(packed) = metadata.get(LEXICON_KEY) {
        if !config.lexicon.is_empty() {
            return Err(bad(format!(
                "both `{CONFIG_KEY}` and `{LEXICON_KEY}` hold a lexicon; a file has one"
            )));
        }
        config.lexicon = unpacked_lexicon(packed)?;
        config.validate()?;
    }
    let blocks: HashMap<String, String> = match metadata.get(BLOCKS_KEY) {
        Some(json) => {
            serde_json::from_str(json).map_err(|e| bad(format!("`{BLOCKS_KEY}`: {e}")))?
        }
        None => HashMap::new(),
    };
    let mut tensors = HashMap::new();
    for (name, view) in file.tensors() {
        if name.ends_with(SCALE_SUFFIX) {
            continue;
        }
        let stored = match view.dtype() {
            Dtype::F32 => Stored::Blocks(Arc::new(f32_tensor(view.data(), view.shape(), device)?)),
            Dtype::I8 => Stored::Rows(Arc::new(int_rows(&file, &name, view.data(), view.shape())?)),
            Dtype::U8 => {
                let format = blocks
                    .get(&name)
                    .ok_or_else(|| bad(format!("`{name}` is U8 but not in `{BLOCKS_KEY}`")))?;
                Stored::Blocks(Arc::new(block_tensor(
                    &name,
                    format,
                    view.data(),
                    view.shape(),
                    device,
                )?))
            }
            other => {
                return Err(bad(format!(
                    "tensor `{name}` has dtype {other:?}; expected F32, I8 or U8"
                )))
            }
        };
        tensors.insert(name, stored);
    }
    Ok(QuantizedWeights::new(tensors, config, device))
}

/// The lexicon as the `medlight.lexicon` entry holds it.
fn packed_lexicon(lexicon: &BTreeMap<String, Vec<String>>) -> String {
    let json = serde_json::to_vec(lexicon).expect("a map of strings");
    let zlib = miniz_oxide::deflate::compress_to_vec_zlib(&json, 9);
    base64::engine::general_purpose::STANDARD.encode(zlib)
}

/// The `medlight.lexicon` entry read back; errors name the entry and the step that failed.
fn unpacked_lexicon(packed: &str) -> Result<BTreeMap<String, Vec<String>>> {
    let bad = |what: String| Error::ModelFile(format!("`{LEXICON_KEY}`: {what}"));
    let zlib = base64::engine::general_purpose::STANDARD
        .decode(packed)
        .map_err(|e| bad(format!("not base64: {e}")))?;
    let json = miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(&zlib, LEXICON_MAX_BYTES)
        .map_err(|e| {
            bad(format!(
                "not zlib data within {LEXICON_MAX_BYTES} bytes: {e}"
            ))
        })?;
    serde_json::from_slice(&json)
        .map_err(|e| bad(format!("not a JSON object of entity type → names: {e}")))
}

fn f32_tensor(bytes: &[u8], shape: &[usize], device: &Device) -> Result<QTensor> {
    let values: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    Ok(QTensor::quantize(
        &Tensor::from_vec(values, shape, device)?,
        GgmlDType::F32,
    )?)
}

fn int_rows(file: &SafeTensors, name: &str, bytes: &[u8], shape: &[usize]) -> Result<IntRows> {
    let &[rows, cols] = shape else {
        return Err(Error::ModelFile(format!(
            "I8 tensor `{name}` has shape {shape:?}; expected 2 dimensions"
        )));
    };
    let scale_name = format!("{name}{SCALE_SUFFIX}");
    let scales = file
        .tensor(&scale_name)
        .map_err(|_| Error::ModelFile(format!("I8 tensor `{name}` has no `{scale_name}`")))?;
    if scales.dtype() != Dtype::F32 || scales.shape() != [rows] {
        return Err(Error::ModelFile(format!(
            "`{scale_name}` must be F32 of shape [{rows}]"
        )));
    }
    let scales = scales
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let values: Vec<i8> = bytes.iter().map(|&b| b as i8).collect();
    if values
        .iter()
        .any(|v| v.unsigned_abs() as i32 > super::int_linear::WEIGHT_MAX)
    {
        return Err(Error::ModelFile(format!(
            "`{name}` holds values outside ±{}",
            super::int_linear::WEIGHT_MAX
        )));
    }
    Ok(IntRows {
        rows,
        cols,
        values,
        scales,
    })
}

fn block_tensor(
    name: &str,
    format: &str,
    bytes: &[u8],
    shape: &[usize],
    device: &Device,
) -> Result<QTensor> {
    let Some(&(_, dtype)) = BLOCK_FORMATS.iter().find(|(n, _)| *n == format) else {
        let known: Vec<&str> = BLOCK_FORMATS.iter().map(|(n, _)| *n).collect();
        return Err(Error::ModelFile(format!(
            "`{name}`: unknown block format `{format}` ({})",
            known.join(", ")
        )));
    };
    let &[rows, row_bytes] = shape else {
        return Err(Error::ModelFile(format!(
            "block tensor `{name}` has shape {shape:?}; expected 2 dimensions"
        )));
    };
    if row_bytes % dtype.type_size() != 0 {
        return Err(Error::ModelFile(format!(
            "`{name}`: {row_bytes} bytes per row is not whole {format} blocks"
        )));
    }
    let cols = row_bytes / dtype.type_size() * dtype.block_size();
    // A copy: the blocks' f16 scales must be aligned, which a slice of the file need not be.
    let aligned: Vec<u8> = bytes.to_vec();
    Ok(qtensor_from_ggml(
        dtype,
        &aligned,
        vec![rows, cols],
        device,
    )?)
}

/// The block formats an embedding table may be stored in, by their names in `medlight.blocks`.
const BLOCK_FORMATS: [(&str, GgmlDType); 6] = [
    ("q4_0", GgmlDType::Q4_0),
    ("q4_1", GgmlDType::Q4_1),
    ("q5_0", GgmlDType::Q5_0),
    ("q5_1", GgmlDType::Q5_1),
    ("q8_0", GgmlDType::Q8_0),
    ("f16", GgmlDType::F16),
];

fn block_name(dtype: GgmlDType) -> Result<&'static str> {
    BLOCK_FORMATS
        .iter()
        .find(|(_, d)| *d == dtype)
        .map(|(name, _)| *name)
        .ok_or_else(|| Error::ModelFile(format!("embedding blocks in {dtype:?} cannot be stored")))
}
