//! What a finished run leaves in `--out`: the best model in Hugging Face layout, the quantised
//! file the web app fetches, the tokenizer, metrics, the training curve and a model card.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use candle_core::{Device, Tensor};
use medlight_ner::metrics::Report;
use medlight_ner::model::quantize;
use medlight_ner::BertConfig;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::data::{self, Sentence};
use crate::model_dir::{self, Format};
use crate::train::{self, Outcome};

mod model_card;

use model_card::model_card;

#[derive(Serialize, Deserialize)]
pub struct Metrics {
    /// `None` after [`retune`] in a directory without the f32 weights: it could not be re-scored.
    pub devel_f32: Option<Report>,
    pub devel_quantized: Report,
    pub quantization: String,
    pub word_embeddings_quantization: String,
    pub quantized_file: String,
    pub quantized_bytes: u64,
    pub quantized_sha256: String,
    /// Added to `O`'s log-probability when decoding (in `config.json`; the scores above use it).
    pub outside_bias: f32,
    /// Names in the config's `lexicon` (the scores above use them).
    #[serde(default)]
    pub lexicon_entries: usize,
    /// Training steps, all epochs of all runs.
    pub train_seconds: f64,
    /// Whole epochs: training plus the devel evaluation after each.
    pub epochs_seconds: f64,
    pub tokens_per_second: f64,
    pub device: String,
    /// The first run's settings; the runs of a soup differ only in `seed`.
    pub settings: train::Settings,
    /// The training runs, one per seed. With several, the model is the mean of their best weights.
    pub runs: Vec<RunSummary>,
}

#[derive(Serialize, Deserialize)]
pub struct RunSummary {
    pub seed: u64,
    /// Devel F1 (f32) of the run's best model.
    pub best_f1: f64,
    pub best_epoch: usize,
    /// How many epochs, ending at `best_epoch`, the run's best weights average (1: none).
    pub best_averaged: usize,
    pub train_seconds: f64,
    pub epochs_seconds: f64,
    pub history: Vec<train::EpochRecord>,
}

impl RunSummary {
    fn of(outcome: &Outcome) -> Self {
        let history = &outcome.state.history;
        Self {
            seed: outcome.state.settings.seed,
            best_f1: outcome.state.best_f1,
            best_epoch: outcome.state.best_epoch,
            best_averaged: outcome.state.best_averaged,
            // Checkpoints from before per-epoch training time was recorded have 0 there: count the whole epoch.
            train_seconds: history
                .iter()
                .map(|r| {
                    if r.train_seconds > 0.0 {
                        r.train_seconds
                    } else {
                        r.seconds
                    }
                })
                .sum(),
            epochs_seconds: history.iter().map(|r| r.seconds).sum(),
            history: history.clone(),
        }
    }
}

/// How a finished run is exported.
pub struct Export {
    /// Block format of the weight matrices (`q8_0`, …).
    pub quant: String,
    pub word_embeddings_quant: String,
    /// Written into `config.json`: added to `O`'s log-probability when decoding.
    pub outside_bias: f32,
    /// Written into `config.json`: the names the training data tags (see [`medlight_ner::lexicon`]).
    pub lexicon: LexiconEntries,
}

/// A config's `lexicon`: entity type → names.
pub type LexiconEntries = BTreeMap<String, Vec<String>>;

/// The lexicon of an IOB2 file (see [`medlight_ner::lexicon::learn`]), or
/// of its first `max_sentences` sentences (all if `None`).
pub fn learn_lexicon(
    file: &Path,
    max_sentences: Option<usize>,
    min_share: f64,
    min_chars: usize,
) -> Result<LexiconEntries> {
    if !(min_share > 0.0 && min_share <= 1.0) {
        bail!("--lexicon-min-share {min_share} is not in (0, 1]");
    }
    let sentences: Vec<(Vec<String>, Vec<String>)> = data::read_iob2(file)?
        .into_iter()
        .take(max_sentences.unwrap_or(usize::MAX))
        .map(|s| (s.words, s.tags))
        .collect();
    Ok(medlight_ner::lexicon::learn(
        &sentences, min_share, min_chars,
    ))
}

fn entries(lexicon: &LexiconEntries) -> usize {
    lexicon.values().map(Vec::len).sum()
}

/// The quantised model's file name for a block format, e.g. `medlight-q8_0.safetensors`.
pub fn quantized_name(quant: &str) -> String {
    format!("medlight-{}.safetensors", quant.to_ascii_lowercase())
}

/// Completes `out` for the model already written there, trained by `runs` (one run, or a soup's
/// members): config with the decoding's `outside_bias` and lexicon, tokenizer, quantised file, devel
/// scores of both, metrics, training curve, model card.
pub fn finish(runs: &[Outcome], out: &Path, export: &Export, device: &Device) -> Result<Metrics> {
    let Export {
        quant,
        word_embeddings_quant,
        outside_bias,
        lexicon,
    } = export;
    let Some(first) = runs.first() else {
        bail!("no training run to export")
    };
    let config = write_model_files(first, out, *outside_bias, lexicon.clone())?;
    let model_path = write_quantized(out, &config, quant, word_embeddings_quant)?;
    let bytes = std::fs::read(&model_path)?;

    let devel_f32 = score(out, Format::F32, device, &first.devel)?;
    let devel_quantized = score(out, Format::Quantized, device, &first.devel)?;
    let summaries: Vec<RunSummary> = runs.iter().map(RunSummary::of).collect();
    let records = || summaries.iter().flat_map(|r| &r.history);
    let soup_f1 = (runs.len() > 1).then_some(devel_f32.overall.f1);
    let metrics = Metrics {
        devel_f32: Some(devel_f32),
        devel_quantized,
        quantization: quant.to_string(),
        word_embeddings_quantization: word_embeddings_quant.to_string(),
        quantized_file: quantized_name(quant),
        quantized_bytes: bytes.len() as u64,
        quantized_sha256: hex(&Sha256::digest(&bytes)),
        outside_bias: *outside_bias,
        lexicon_entries: entries(lexicon),
        train_seconds: summaries.iter().map(|r| r.train_seconds).sum(),
        epochs_seconds: summaries.iter().map(|r| r.epochs_seconds).sum(),
        tokens_per_second: records().map(|r| r.tokens_per_second).sum::<f64>()
            / records().count().max(1) as f64,
        device: format!("{device:?}"),
        settings: first.state.settings.clone(),
        runs: summaries,
    };
    std::fs::write(
        out.join("metrics.json"),
        serde_json::to_string_pretty(&metrics)?,
    )?;
    let curves: Vec<(u64, &[train::EpochRecord])> = metrics
        .runs
        .iter()
        .map(|r| (r.seed, r.history.as_slice()))
        .collect();
    crate::plot::training_curve(&curves, soup_f1, &out.join("training-curve.svg"))?;
    std::fs::write(
        out.join("MODEL_CARD.md"),
        model_card(&metrics, &first.labels),
    )?;
    Ok(metrics)
}

/// Writes `dir/config.json`, the run's config with this decoding (`outside_bias`, `lexicon`), and
/// `dir/tokenizer.json`, so that the weights there load as a model; returns the config.
pub fn write_model_files(
    run: &Outcome,
    dir: &Path,
    outside_bias: f32,
    lexicon: LexiconEntries,
) -> Result<BertConfig> {
    let mut config = run.config.clone();
    config.outside_bias = outside_bias;
    config.lexicon = lexicon;
    std::fs::write(dir.join("config.json"), config.to_json())
        .with_context(|| format!("cannot write {}/config.json", dir.display()))?;
    run.tokenizer
        .save(dir.join("tokenizer.json"), false)
        .map_err(|e| anyhow::anyhow!("writing {}/tokenizer.json: {e}", dir.display()))?;
    Ok(config)
}

/// What [`retune`] changes in a model's decoding; `None`: as it is.
#[derive(Default)]
pub struct Change {
    pub outside_bias: Option<f32>,
    pub lexicon: Option<LexiconEntries>,
    /// Vocabulary names added to the lexicon (see [`crate::vocabulary`]).
    pub vocabulary: Option<LexiconEntries>,
}

impl Change {
    pub fn bias(outside_bias: f32) -> Self {
        Self {
            outside_bias: Some(outside_bias),
            ..Self::default()
        }
    }

    fn apply(&self, config: &mut BertConfig) {
        if let Some(bias) = self.outside_bias {
            config.outside_bias = bias;
        }
        if let Some(lexicon) = &self.lexicon {
            config.lexicon = lexicon.clone();
        }
        if let Some(names) = &self.vocabulary {
            config.lexicon = crate::vocabulary::merged(&config.lexicon, names);
        }
    }
}

/// Changes the decoding settings (`outside_bias`, lexicon) of the model in `dir` without retraining:
/// the quantised file is rewritten around the same weight blocks (and `config.json` if there), devel
/// is re-scored with the new decoding, and `metrics.json` and `MODEL_CARD.md` are rewritten if the
/// directory has them.
pub fn retune(dir: &Path, change: &Change, devel: &[Sentence], device: &Device) -> Result<Retuned> {
    // Everything is read before anything is written: a bad file leaves the directory as it was.
    let metrics_path = dir.join("metrics.json");
    let metrics: Option<Metrics> = match std::fs::read_to_string(&metrics_path) {
        Ok(text) => Some(
            serde_json::from_str(&text)
                .with_context(|| format!("{}: not a metrics file", metrics_path.display()))?,
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", metrics_path.display())),
    };
    let f32_config = if dir.join("config.json").is_file() {
        Some(model_dir::read_config(dir)?)
    } else {
        None
    };
    let model_path = model_dir::quantized_in(dir)?;
    let mut bytes = std::io::Cursor::new(Vec::new());
    let config = quantize::edit_config(&model_dir::read(&model_path)?, &mut bytes, |c| {
        change.apply(c)
    })
    .with_context(|| model_path.display().to_string())?;
    let bytes = bytes.into_inner();
    let labels = config.labels()?;
    // Written beside and renamed over: an interrupted run leaves the old file whole.
    let partial = model_path.with_extension("partial");
    let mut file = std::fs::File::create(&partial)?;
    file.write_all(&bytes)?;
    file.sync_all()?;
    std::fs::rename(&partial, &model_path)?;
    if let Some(mut f32_config) = f32_config {
        change.apply(&mut f32_config);
        std::fs::write(dir.join("config.json"), f32_config.to_json())?;
    }

    let devel_quantized = score(dir, Format::Quantized, device, devel)?;
    let has_f32 = dir.join("model.safetensors").is_file();
    let devel_f32 = if has_f32 {
        Some(score(dir, Format::F32, device, devel)?)
    } else {
        None
    };
    if let Some(mut m) = metrics {
        m.outside_bias = config.outside_bias;
        m.lexicon_entries = entries(&config.lexicon);
        m.devel_quantized = devel_quantized.clone();
        m.devel_f32 = devel_f32.clone();
        m.quantized_bytes = bytes.len() as u64;
        m.quantized_sha256 = hex(&Sha256::digest(&bytes));
        std::fs::write(&metrics_path, serde_json::to_string_pretty(&m)?)?;
        std::fs::write(dir.join("MODEL_CARD.md"), model_card(&m, &labels))?;
    }
    Ok(Retuned {
        file: model_path,
        outside_bias: config.outside_bias,
        lexicon_entries: entries(&config.lexicon),
        devel_quantized,
        devel_f32,
    })
}

/// What [`retune`] wrote and measured.
pub struct Retuned {
    pub file: PathBuf,
    pub outside_bias: f32,
    pub lexicon_entries: usize,
    pub devel_quantized: Report,
    pub devel_f32: Option<Report>,
}

/// Quantises `<dir>/model.safetensors` into `<dir>/medlight-<quant>.safetensors` (the word embedding
/// table in `word_embeddings_quant`), replacing any other quantised file there (a model directory
/// holds one).
pub fn write_quantized(
    dir: &Path,
    config: &BertConfig,
    quant: &str,
    word_embeddings_quant: &str,
) -> Result<PathBuf> {
    let formats = formats(quant, word_embeddings_quant)?;
    let named = f32_tensors(dir)?;
    let path = dir.join(quantized_name(quant));
    for stale in std::fs::read_dir(dir)?.filter_map(|e| e.ok().map(|e| e.path())) {
        let name = stale
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let quantized = name.ends_with(".gguf")
            || (name.starts_with("medlight-") && name.ends_with(".safetensors"));
        if quantized && stale != path {
            std::fs::remove_file(&stale)?;
        }
    }
    let bytes = quantize::write_safetensors(&named, config, formats)?;
    let mut file = std::fs::File::create(&path)?;
    file.write_all(&bytes)?;
    file.sync_all()?;
    Ok(path)
}

/// Stores the GGUF model file `gguf` as the safetensors file beside it (named for its matrices'
/// block format), which gives the same logits, and removes the GGUF file.
pub fn gguf_to_safetensors(gguf: &Path) -> Result<PathBuf> {
    let bytes = quantize::gguf_to_safetensors(&model_dir::read(gguf)?)
        .with_context(|| gguf.display().to_string())?;
    let quant = gguf
        .file_stem()
        .and_then(|s| s.to_str())
        .and_then(|s| s.strip_prefix("medlight-"))
        .unwrap_or("q8_0");
    let path = gguf.with_file_name(quantized_name(quant));
    let mut file = std::fs::File::create(&path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(&bytes)?;
    file.sync_all()?;
    std::fs::remove_file(gguf)?;
    Ok(path)
}

/// The optional GGUF export of `<dir>/model.safetensors` (not what the web app loads), at `out`.
pub fn write_gguf(
    dir: &Path,
    config: &BertConfig,
    quant: &str,
    word_embeddings_quant: &str,
    out: &Path,
) -> Result<()> {
    let named = f32_tensors(dir)?;
    let mut file = BufWriter::new(
        std::fs::File::create(out).with_context(|| format!("cannot create {}", out.display()))?,
    );
    quantize::write_gguf(
        &mut file,
        &named,
        config,
        formats(quant, word_embeddings_quant)?,
    )?;
    file.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    Ok(())
}

fn formats(quant: &str, word_embeddings_quant: &str) -> Result<quantize::Formats> {
    Ok(quantize::Formats {
        matrices: quantize::parse_dtype(quant)?,
        word_embeddings: quantize::parse_dtype(word_embeddings_quant)?,
    })
}

/// `<dir>/model.safetensors`'s tensors in name order.
fn f32_tensors(dir: &Path) -> Result<Vec<(String, Tensor)>> {
    let path = dir.join("model.safetensors");
    let tensors: HashMap<String, Tensor> = candle_core::safetensors::load(&path, &Device::Cpu)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let mut named: Vec<(String, Tensor)> = tensors.into_iter().collect();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(named)
}

fn score(dir: &Path, format: Format, device: &Device, devel: &[Sentence]) -> Result<Report> {
    let tagger = model_dir::load_tagger(dir, format, device)?;
    Ok(data::tag_and_score(&tagger, devel)?.1)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `<out>` unless given.
pub fn default_out() -> PathBuf {
    PathBuf::from("runs/bc5cdr")
}
