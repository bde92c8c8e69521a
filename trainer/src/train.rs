//! The training loop: epochs of AdamW steps over length-bucketed batches, devel evaluation after
//! each epoch, the best model kept, and a checkpoint per epoch so an interrupted run resumes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use candle_core::{DType, Device, Tensor, D};
use candle_nn::{VarBuilder, VarMap};
use medlight_ner::align::{self, SpecialTokens};
use medlight_ner::metrics::Report;
use medlight_ner::model::{init, train_ops, Dropout, TokenClassifier, Weights};
use medlight_ner::{BertConfig, LabelSet, Tagger};
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use crate::average;
use crate::batches::{self, Batch, Example};
use crate::data::{self, Sentence};
use crate::optim::{AdamW, Schedule};
use crate::progress;

/// Everything a run depends on; saved in checkpoints and `metrics.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Settings {
    pub data: PathBuf,
    pub base: PathBuf,
    pub from_scratch: bool,
    pub epochs: usize,
    pub batch_size: usize,
    pub lr: f64,
    pub warmup: f64,
    pub weight_decay: f64,
    pub clip: f64,
    pub hidden_dropout: f32,
    pub attention_dropout: f32,
    pub label_smoothing: f64,
    pub freeze_embeddings: bool,
    pub seed: u64,
    pub max_train_sentences: Option<usize>,
    pub max_devel_sentences: Option<usize>,
    /// Corpus directories whose `train.tsv` joins the training data; they may annotate only some of
    /// the entity types (absent in checkpoints written before the option existed: none).
    #[serde(default)]
    pub extra_data: Vec<PathBuf>,
    /// Absent in checkpoints written before the option existed: those trained in f32.
    #[serde(default)]
    pub precision: Precision,
    /// Also evaluate the mean of the last this-many epochs' weights after each epoch, and keep it
    /// when it beats every single epoch (1: off; absent in older checkpoints: off).
    #[serde(default = "one")]
    pub average_last: usize,
}

fn one() -> usize {
    1
}

/// The dtype of the encoder's matrix products during training.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// Everything in f32.
    #[default]
    F32,
    /// Mixed precision: matrix products in bf16 (tensor cores on a GPU), f32 master weights,
    /// layer norms, softmax and loss.
    Bf16,
}

impl Precision {
    pub fn dtype(self) -> DType {
        match self {
            Self::F32 => DType::F32,
            Self::Bf16 => DType::BF16,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EpochRecord {
    pub epoch: usize,
    pub train_loss: f64,
    pub devel: Report,
    /// Training and devel evaluation.
    pub seconds: f64,
    /// Training steps alone (absent in checkpoints written before it was recorded).
    #[serde(default)]
    pub train_seconds: f64,
    pub tokens_per_second: f64,
    /// With `--average-last`: the devel scores of the mean of this and the preceding epochs' weights.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub averaged: Option<Averaged>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Averaged {
    /// How many epochs' weights (this one and those just before it).
    pub epochs: usize,
    pub devel: Report,
}

/// Saved after every epoch in `<out>/checkpoint/`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    pub settings: Settings,
    pub epochs_done: usize,
    pub step: usize,
    pub best_f1: f64,
    pub best_epoch: usize,
    /// How many epochs, ending at `best_epoch`, the best model averages (1: that epoch's weights).
    #[serde(default = "one")]
    pub best_averaged: usize,
    pub history: Vec<EpochRecord>,
}

/// How a call to [`run`] starts and ends, beyond the settings.
#[derive(Debug, Clone, Copy, Default)]
pub struct Control {
    /// Continue from `<out>/checkpoint` if there is one.
    pub resume: bool,
    /// Return after this epoch as if interrupted (tests use it to check resuming).
    pub stop_after_epoch: Option<usize>,
}

pub struct Outcome {
    /// The best model on devel, in memory.
    pub best: TokenClassifier,
    pub state: State,
    pub config: BertConfig,
    pub tokenizer: tokenizers::Tokenizer,
    pub devel: Vec<Sentence>,
    pub labels: LabelSet,
}

/// The word embedding table (frozen unless `--train-word-embeddings`).
pub const WORD_EMBEDDINGS: &str = "bert.embeddings.word_embeddings.weight";

/// Steps between reads of the running loss (each read is a GPU synchronisation).
const LOSS_READ_EVERY: usize = 25;

pub fn checkpoint_dir(out: &Path) -> PathBuf {
    out.join("checkpoint")
}

fn require_file(path: &Path, what: &str, base: &Path) -> Result<()> {
    if !path.is_file() {
        bail!(
            "missing {what}: {} (the base encoder directory {} needs config.json, tokenizer.json and \
             model.safetensors; fetch all-MiniLM-L6-v2 with scripts/fetch-base-model.sh, or pass --base DIR)",
            path.display(),
            base.display()
        );
    }
    Ok(())
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

pub fn run(settings: Settings, out: &Path, device: &Device, control: Control) -> Result<Outcome> {
    let base = &settings.base;
    require_file(&base.join("config.json"), "base config", base)?;
    require_file(&base.join("tokenizer.json"), "base tokenizer", base)?;
    if !settings.from_scratch {
        require_file(&base.join("model.safetensors"), "base weights", base)?;
    }
    let mut train = data::read_iob2(&settings.data.join("train.tsv"))?;
    let mut devel = data::read_iob2(&settings.data.join("devel.tsv"))?;
    if let Some(n) = settings.max_train_sentences {
        train.truncate(n);
    }
    if let Some(n) = settings.max_devel_sentences {
        devel.truncate(n);
    }
    let labels = LabelSet::from_types(&data::entity_types(&train));
    let config_path = base.join("config.json");
    let mut config = BertConfig::from_json(&std::fs::read_to_string(&config_path)?)
        .with_context(|| config_path.display().to_string())?
        .with_labels(&labels);
    config.hidden_dropout_prob = settings.hidden_dropout as f64;
    config.attention_probs_dropout_prob = settings.attention_dropout as f64;
    // Epochs are scored, and the best chosen, without a bias or lexicon, also when the base is a
    // Medlight model directory whose config carries them; the export writes its own.
    config.outside_bias = 0.0;
    config.lexicon.clear();
    let tokenizer = align::load_tokenizer(&std::fs::read(base.join("tokenizer.json"))?)
        .with_context(|| format!("{}/tokenizer.json", base.display()))?;
    let special = SpecialTokens::from_tokenizer(&tokenizer)?;
    let window = config.max_position_embeddings - 2;
    let mut examples = batches::encode(&train, &tokenizer, &labels, special, window, &[])?;
    if examples.is_empty() {
        bail!(
            "{}: no training examples",
            settings.data.join("train.tsv").display()
        );
    }
    for dir in &settings.extra_data {
        let path = dir.join("train.tsv");
        let mut sentences = data::read_iob2(&path)?;
        if let Some(n) = settings.max_train_sentences {
            sentences.truncate(n);
        }
        // A teacher's distributions cover every label, so such a corpus is read as fully annotated.
        let soft = sentences.iter().any(|s| !s.soft.is_empty());
        let unannotated = if soft {
            Vec::new()
        } else {
            unannotated_tags(&labels, &data::entity_types(&sentences), &path)?
        };
        let extra = batches::encode(
            &sentences,
            &tokenizer,
            &labels,
            special,
            window,
            &unannotated,
        )?;
        eprintln!(
            "joint training with {} ({} sentences; {})",
            path.display(),
            sentences.len(),
            match (soft, unannotated.is_empty()) {
                (true, _) =>
                    "the teacher's distributions in its third column are the targets".to_string(),
                (false, true) => "its O may be only O".to_string(),
                (false, false) => format!(
                    "its O may be {}",
                    unannotated
                        .iter()
                        .map(|&id| labels.tag(id as usize))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }
        );
        examples.extend(extra);
    }
    let has = |f: fn(&Example) -> bool| examples.iter().any(f);
    if has(|e| !e.soft.is_empty()) && has(|e| !e.outside_may_be.is_empty()) {
        bail!(
            "--extra-data: a corpus with soft targets (a third column) and a partially annotated corpus cannot \
             train together (the loss takes one or the other); train them in separate runs"
        );
    }

    let varmap = VarMap::new();
    let mut model = TokenClassifier::trainable(&varmap, &config, device)?;
    model.set_compute_dtype(settings.precision.dtype());
    let fused_ops = fused_training_ops(device);
    init::seed_variables(&varmap, settings.seed)?;
    if !settings.from_scratch {
        let report = init::load_pretrained(&varmap, &base.join("model.safetensors"), device)?;
        progress::println(format!(
            "loaded {} tensors from {}; newly initialised: {}",
            report.loaded.len(),
            base.display(),
            report.missing.join(", ")
        ));
    }
    let frozen: &[&str] = if settings.freeze_embeddings {
        model.freeze_word_embeddings();
        &[WORD_EMBEDDINGS]
    } else {
        &[]
    };
    let mut optimiser = AdamW::new(&varmap, settings.weight_decay, frozen)?;
    let steps_per_epoch = examples.len().div_ceil(settings.batch_size);
    let total_steps = steps_per_epoch * settings.epochs;
    let schedule = Schedule {
        peak: settings.lr,
        warmup_steps: ((total_steps as f64 * settings.warmup) as usize).max(1),
        total_steps,
    };

    let checkpoint = checkpoint_dir(out);
    let mut state = if control.resume && checkpoint.join("state.json").is_file() {
        let state = load_checkpoint(&checkpoint, &varmap, &mut optimiser, device)?;
        if state.settings != settings {
            bail!(
                "{}: the checkpoint was made with other settings ({:?}); rerun with those, or use another --out",
                checkpoint.display(),
                state.settings
            );
        }
        progress::println(format!(
            "resuming after epoch {} of {}",
            state.epochs_done, settings.epochs
        ));
        state
    } else {
        if checkpoint.join("state.json").is_file() {
            bail!(
                "{} holds a checkpoint of an earlier run: pass --resume to continue it, or choose another --out",
                checkpoint.display()
            );
        }
        State {
            settings: settings.clone(),
            epochs_done: 0,
            step: 0,
            best_f1: -1.0,
            best_epoch: 0,
            best_averaged: 1,
            history: Vec::new(),
        }
    };

    // A resumed run's finished epochs count as done on the pipeline's bar.
    progress::skip((state.epochs_done * steps_per_epoch) as u64);
    for epoch in state.epochs_done + 1..=settings.epochs {
        let started = Instant::now();
        // Seeds derived from (seed, epoch): a resumed run sees the same batches and dropout.
        let mut rng =
            StdRng::seed_from_u64(settings.seed.wrapping_mul(1000).wrapping_add(epoch as u64));
        let mut dropout = Dropout::new(
            settings.seed.wrapping_mul(7919).wrapping_add(epoch as u64),
            settings.hidden_dropout,
            settings.attention_dropout,
        );
        dropout.fused = fused_ops;
        let plan = batches::plan_epoch(&examples, settings.batch_size, &mut rng);
        let bar = progress::epoch_bar(plan.len() as u64, epoch, settings.epochs);
        // The losses add up where they are computed and are read only now and then: on a GPU each
        // read waits for the queued work, and the GPU then idles while the next step is prepared.
        let (mut loss_sum, mut loss_total, mut tokens) = (0.0, None::<Tensor>, 0usize);
        for (i, indices) in plan.iter().enumerate() {
            let members: Vec<&Example> = indices.iter().map(|&i| &examples[i]).collect();
            let batch = Batch::new(&members, special.pad, &labels, device)?;
            let logits = model.forward(&batch.ids, &batch.mask, Some(&mut dropout))?;
            let loss = loss(&logits, &batch, settings.label_smoothing)?;
            let grads = loss.backward()?;
            optimiser.step(&grads, schedule.at(state.step), settings.clip)?;
            state.step += 1;
            progress::step_done();
            let loss = loss.detach();
            loss_total = Some(match loss_total {
                Some(total) => (total + loss)?,
                None => loss,
            });
            tokens += batch.tokens;
            if (i + 1) % LOSS_READ_EVERY == 0 || i + 1 == plan.len() {
                loss_sum = loss_total
                    .as_ref()
                    .expect("summed above")
                    .to_scalar::<f32>()? as f64;
                let rate = tokens as f64 / started.elapsed().as_secs_f64();
                bar.set_message(format!(
                    "loss {:.4} | {:.0} tok/s",
                    loss_sum / (i + 1) as f64,
                    rate
                ));
            }
            bar.inc(1);
        }
        let train_seconds = started.elapsed().as_secs_f64();
        progress::end_epoch(&bar);
        let tagger = Tagger::new(model.clone(), tokenizer.clone())?;
        let (_, report) = data::tag_and_score(&tagger, &devel)?;
        let averaged = if settings.average_last > 1 {
            let files = keep_epoch_weights(&checkpoint, epoch, settings.average_last, &varmap)?;
            evaluate_average(&files, &config, &tokenizer, &devel, device)?
        } else {
            None
        };
        let record = EpochRecord {
            epoch,
            train_loss: loss_sum / plan.len() as f64,
            tokens_per_second: tokens as f64 / train_seconds,
            seconds: started.elapsed().as_secs_f64(),
            train_seconds,
            devel: report.clone(),
            averaged: averaged.as_ref().map(|(a, _)| a.clone()),
        };
        progress::println(format!(
            "epoch {epoch}/{}: loss {:.4}, devel P {:.2} R {:.2} F1 {:.2} ({}), {:.0} tok/s, {:.1} s ({:.1} s training)",
            settings.epochs,
            record.train_loss,
            100.0 * report.overall.precision,
            100.0 * report.overall.recall,
            100.0 * report.overall.f1,
            per_type_f1(&report),
            record.tokens_per_second,
            record.seconds,
            record.train_seconds
        ));
        if let Some((a, _)) = &averaged {
            progress::println(format!(
                "  mean of epochs {}-{epoch}: devel F1 {:.2} ({})",
                epoch + 1 - a.epochs,
                100.0 * a.devel.overall.f1,
                per_type_f1(&a.devel)
            ));
        }
        state.history.push(record);
        state.epochs_done = epoch;
        // The model directory holds the best candidate so far: an epoch's weights or a mean of epochs.
        let keep_best = |write: &dyn Fn(&Path) -> Result<()>| -> Result<()> {
            std::fs::create_dir_all(out)?;
            save_atomically(&out.join("model.safetensors"), write)?;
            Ok(std::fs::write(out.join("config.json"), config.to_json())?)
        };
        if report.overall.f1 > state.best_f1 {
            (state.best_f1, state.best_epoch, state.best_averaged) = (report.overall.f1, epoch, 1);
            keep_best(&|p| Ok(varmap.save(p)?))?;
        }
        if let Some((a, mean)) = averaged.filter(|(a, _)| a.devel.overall.f1 > state.best_f1) {
            (state.best_f1, state.best_epoch, state.best_averaged) =
                (a.devel.overall.f1, epoch, a.epochs);
            keep_best(&|p| Ok(candle_core::safetensors::save(&mean, p)?))?;
        }
        save_checkpoint(&checkpoint, &state, &varmap, &optimiser)?;
        if control.stop_after_epoch == Some(epoch) {
            break;
        }
    }
    // The best model is the one saved at its epoch; reading it back also covers a resumed run
    // whose best epoch came before the interruption.
    // SAFETY: read-only mapping of a file this process finished writing.
    let vb = unsafe {
        VarBuilder::from_mmaped_safetensors(&[out.join("model.safetensors")], DType::F32, device)?
    };
    let best = TokenClassifier::load(&Weights::float(vb), &config)?;
    Ok(Outcome {
        best,
        state,
        config,
        tokenizer,
        devel,
        labels,
    })
}

/// Saves this epoch's weights in the checkpoint directory, deletes those that fell out of the window,
/// and returns the window's files, oldest first (on a resumed run the earlier ones are still there).
fn keep_epoch_weights(
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
fn evaluate_average(
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

/// The tags of the main corpus's entity types that an extra corpus does not annotate (its `O`
/// may be one of them). A type the main corpus lacks is an error: the model has no label for it.
fn unannotated_tags(labels: &LabelSet, extra_types: &[String], path: &Path) -> Result<Vec<u32>> {
    let main_types = labels.entity_types();
    if let Some(unknown) = extra_types.iter().find(|t| !main_types.contains(t)) {
        bail!(
            "{}: entity type `{unknown}` is not one of the main corpus's ({}); an extra corpus may only annotate \
             a subset of them",
            path.display(),
            main_types.join(", ")
        );
    }
    let mut tags = Vec::new();
    for kind in main_types.iter().filter(|t| !extra_types.contains(t)) {
        for prefix in ["B", "I"] {
            tags.push(labels.require_id(&format!("{prefix}-{kind}"))? as u32);
        }
    }
    Ok(tags)
}

/// Cross-entropy over labelled positions, optionally with label smoothing. Where a batch holds
/// partially annotated examples, each position's loss is −log of the probability summed over the
/// labels its gold tag allows (a corpus's `O` may be a type it does not annotate). Where it holds
/// soft targets, each position's loss is the cross-entropy against its target distribution.
fn loss(logits: &Tensor, batch: &Batch, smoothing: f64) -> Result<Tensor> {
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

pub fn per_type_f1(report: &Report) -> String {
    report
        .per_type
        .iter()
        .map(|(k, s)| format!("{k} {:.2}", 100.0 * s.f1))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Writes through a temporary file and renames, so a kill mid-write never leaves a torn file.
pub(crate) fn save_atomically(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let tmp = path.with_extension("tmp");
    write(&tmp)?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("cannot move {} into place", path.display()))
}

fn save_checkpoint(dir: &Path, state: &State, varmap: &VarMap, optimiser: &AdamW) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    save_atomically(&dir.join("weights.safetensors"), |p| Ok(varmap.save(p)?))?;
    save_atomically(&dir.join("optimiser.safetensors"), |p| optimiser.save(p))?;
    // state.json last: it is what marks the checkpoint complete.
    save_atomically(&dir.join("state.json"), |p| {
        Ok(std::fs::write(p, serde_json::to_string_pretty(state)?)?)
    })
}

fn load_checkpoint(
    dir: &Path,
    varmap: &VarMap,
    optimiser: &mut AdamW,
    device: &Device,
) -> Result<State> {
    let state_path = dir.join("state.json");
    let state: State = serde_json::from_str(&std::fs::read_to_string(&state_path)?)
        .with_context(|| format!("{} is not a checkpoint state", state_path.display()))?;
    let report = init::load_pretrained(varmap, &dir.join("weights.safetensors"), device)?;
    if !report.missing.is_empty() {
        bail!(
            "{}: checkpoint lacks {}",
            dir.display(),
            report.missing.join(", ")
        );
    }
    optimiser.load(&dir.join("optimiser.safetensors"), state.step)?;
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> LabelSet {
        LabelSet::from_types(&["Chemical", "Disease"])
    }

    /// One sentence `[CLS] w1 w2 [SEP]` tagged `tags`, from a corpus whose O may be `outside_may_be`.
    fn example(tags: [i64; 2], outside_may_be: &[u32]) -> Example {
        Example {
            ids: vec![101, 7, 8, 102],
            labels: vec![batches::IGNORE, tags[0], tags[1], batches::IGNORE],
            outside_may_be: outside_may_be.to_vec(),
            soft: Vec::new(),
        }
    }

    /// Logits of a 1-sentence batch: each labelled position strongly predicts `predicted`.
    fn logits(predicted: [usize; 2]) -> Tensor {
        let mut values = vec![0f32; 4 * 5];
        for (position, label) in predicted.iter().enumerate() {
            values[(position + 1) * 5 + label] = 8.0;
        }
        Tensor::from_vec(values, (1, 4, 5), &Device::Cpu).unwrap()
    }

    fn loss_of(e: &Example, predicted: [usize; 2]) -> f32 {
        let batch = Batch::new(&[e], 0, &labels(), &Device::Cpu).unwrap();
        loss(&logits(predicted), &batch, 0.0)
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
    }

    #[test]
    fn a_corpus_without_chemicals_leaves_their_tags_open() {
        let tags = unannotated_tags(
            &labels(),
            &["Disease".to_string()],
            Path::new("ncbi/train.tsv"),
        )
        .unwrap();
        assert_eq!(
            tags.iter()
                .map(|&id| labels().tag(id as usize).to_string())
                .collect::<Vec<_>>(),
            ["B-Chemical", "I-Chemical"]
        );
        assert!(unannotated_tags(
            &labels(),
            &["Chemical".into(), "Disease".into()],
            Path::new("x")
        )
        .unwrap()
        .is_empty());
    }

    #[test]
    fn an_extra_corpus_with_a_type_the_model_lacks_is_an_error_naming_file_and_type() {
        let err = unannotated_tags(
            &labels(),
            &["Gene".to_string()],
            Path::new("genes/train.tsv"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("genes/train.tsv")
                && err.contains("`Gene`")
                && err.contains("Chemical, Disease"),
            "{err}"
        );
    }

    #[test]
    fn partial_labels_accept_an_unannotated_type_for_o_and_nothing_else() {
        let (o, b_chem, b_dis) = (0, 1, 3);
        let full = example([o, b_dis], &[]);
        let disease_only = example([o, b_dis], &[1, 2]);
        // Fully annotated: predicting Chemical where gold says O costs as much in both batch forms.
        let strict = loss_of(&full, [b_chem as usize, b_dis as usize]);
        assert!(strict > 3.0, "{strict}");
        // Disease-only corpus: its O may be a chemical, so that prediction costs (almost) nothing…
        assert!(loss_of(&disease_only, [b_chem as usize, b_dis as usize]) < 0.01);
        // …but a Disease tag is still exact: predicting O there costs the full −log p (logit gap 8,
        // averaged over the 2 positions), as in the full corpus.
        let missed_disease = loss_of(&disease_only, [o as usize, o as usize]);
        assert!(missed_disease > 3.99, "{missed_disease}");
        assert!(
            (missed_disease - loss_of(&full, [o as usize, o as usize])).abs() < 1e-3,
            "{missed_disease}"
        );
    }

    #[test]
    fn a_batch_mixing_corpora_uses_the_partial_loss_and_agrees_with_cross_entropy_on_full_examples()
    {
        let full = example([0, 3], &[]);
        let disease_only = example([0, 0], &[1, 2]);
        let batch = Batch::new(&[&full, &full], 0, &labels(), &Device::Cpu).unwrap();
        assert!(batch.allowed.is_none());
        let mixed = Batch::new(&[&full, &disease_only], 0, &labels(), &Device::Cpu).unwrap();
        let allowed = mixed.allowed.as_ref().unwrap().to_vec2::<f32>().unwrap();
        let open: Vec<Vec<bool>> = allowed
            .iter()
            .map(|row| row.iter().map(|&v| v == 0.0).collect())
            .collect();
        assert_eq!(open[0], [true, false, false, false, false]);
        assert_eq!(open[1], [false, false, false, true, false]);
        assert_eq!(open[2], [true, true, true, false, false]);
        // On fully annotated examples the partial form is plain cross-entropy.
        let x = Tensor::from_vec(
            (0..40).map(|i| (i as f32 * 0.37).sin()).collect::<Vec<_>>(),
            (2, 4, 5),
            &Device::Cpu,
        )
        .unwrap();
        let forced = Batch {
            allowed: Some(
                Tensor::from_vec(allowed[..2].concat().repeat(2), (4, 5), &Device::Cpu).unwrap(),
            ),
            ..Batch::new(&[&full, &full], 0, &labels(), &Device::Cpu).unwrap()
        };
        let a = loss(&x, &batch, 0.0).unwrap().to_scalar::<f32>().unwrap();
        let b = loss(&x, &forced, 0.0).unwrap().to_scalar::<f32>().unwrap();
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }

    #[test]
    fn soft_targets_are_learned_as_distributions_and_one_hot_rows_stand_for_tags() {
        let (o, b_dis) = (0usize, 3usize);
        let tagged = example([o as i64, b_dis as i64], &[]);
        let mut taught = example([o as i64, b_dis as i64], &[]);
        let mut unsure = vec![0.0; 5];
        (unsure[o], unsure[b_dis]) = (0.5, 0.5);
        taught.soft = vec![one_hot(o), unsure.clone()];
        let batch = Batch::new(&[&tagged, &taught], 0, &labels(), &Device::Cpu).unwrap();
        let rows = batch.soft.as_ref().unwrap().to_vec2::<f32>().unwrap();
        assert_eq!(rows, [one_hot(o), one_hot(b_dis), one_hot(o), unsure]);
        // One-hot rows give plain cross-entropy: the same loss as the tags alone.
        let x = Tensor::from_vec(
            (0..40).map(|i| (i as f32 * 0.37).sin()).collect::<Vec<_>>(),
            (2, 4, 5),
            &Device::Cpu,
        )
        .unwrap();
        let plain = Batch::new(&[&tagged, &tagged], 0, &labels(), &Device::Cpu).unwrap();
        let rows = [one_hot(o), one_hot(b_dis)].concat().repeat(2);
        let as_soft = Batch {
            soft: Some(Tensor::from_vec(rows, (4, 5), &Device::Cpu).unwrap()),
            ..Batch::new(&[&tagged, &tagged], 0, &labels(), &Device::Cpu).unwrap()
        };
        let (a, b) = (
            loss(&x, &plain, 0.0).unwrap(),
            loss(&x, &as_soft, 0.0).unwrap(),
        );
        assert!((a.to_scalar::<f32>().unwrap() - b.to_scalar::<f32>().unwrap()).abs() < 1e-5);
        // A word the teacher splits evenly between O and Disease costs least where the student does too.
        let even = soft_loss_of(&taught, [0.0, 0.0]);
        assert!(
            even < soft_loss_of(&taught, [4.0, 0.0]) && even < soft_loss_of(&taught, [0.0, 4.0]),
            "{even}"
        );
    }

    #[test]
    fn soft_targets_and_a_partially_annotated_corpus_in_one_batch_are_an_error() {
        let mut taught = example([0, 3], &[]);
        taught.soft = vec![one_hot(0), one_hot(3)];
        let partial = example([0, 3], &[1, 2]);
        let err = Batch::new(&[&taught, &partial], 0, &labels(), &Device::Cpu)
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("soft targets") && err.contains("partially annotated"),
            "{err}"
        );
    }

    fn one_hot(label: usize) -> Vec<f32> {
        let mut row = vec![0.0; 5];
        row[label] = 1.0;
        row
    }

    /// The loss of `e` alone when the second word's logits favour O by `o` and B-Disease by `dis`.
    fn soft_loss_of(e: &Example, [o, dis]: [f32; 2]) -> f32 {
        let mut values = vec![0f32; 4 * 5];
        values[5] = 8.0;
        (values[10], values[13]) = (o, dis);
        let x = Tensor::from_vec(values, (1, 4, 5), &Device::Cpu).unwrap();
        let batch = Batch::new(&[e], 0, &labels(), &Device::Cpu).unwrap();
        loss(&x, &batch, 0.0).unwrap().to_scalar::<f32>().unwrap()
    }
}
