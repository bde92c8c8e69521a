//! The training loop: epochs of AdamW steps over length-bucketed batches, devel evaluation after
//! each epoch, the best model kept, and a checkpoint per epoch so an interrupted run resumes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use medlight_ner::align::{self, SpecialTokens};
use medlight_ner::metrics::Report;
use medlight_ner::model::{init, Dropout, TokenClassifier, Weights};
use medlight_ner::{BertConfig, LabelSet, Tagger};
use serde::{Deserialize, Serialize};

use crate::batches::{self, Batch, Example};
use crate::data::{self, Sentence};
use crate::epochs::{self, fused_training_ops, save_atomically, Checkpoint, RunState};
use crate::optim::{AdamW, Schedule};
use crate::progress;

mod averaging;
mod corpora;
mod loss;
#[cfg(test)]
mod tests;

use averaging::{evaluate_average, keep_epoch_weights};
use loss::loss;

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

impl RunState for State {
    type Settings = Settings;

    fn settings(&self) -> &Settings {
        &self.settings
    }

    fn optimiser_steps(&self) -> Vec<usize> {
        vec![self.step]
    }
}

// Re-exported: the callers of `run` (CLI, soup, tests) name it here.
pub use crate::epochs::Control;

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

/// The optimiser's file in the checkpoint.
const OPTIMISER: &str = "optimiser.safetensors";

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

pub fn run(settings: Settings, out: &Path, device: &Device, control: Control) -> Result<Outcome> {
    let mut run = Run::set_up(&settings, out, device)?;
    let mut state = run.start_or_resume(control.resume)?;
    // A resumed run's finished epochs count as done on the pipeline's bar.
    progress::skip((state.epochs_done * run.steps_per_epoch) as u64);
    for epoch in state.epochs_done + 1..=settings.epochs {
        run.epoch(epoch, &mut state)?;
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
    let best = TokenClassifier::load(&Weights::float(vb), &run.config)?;
    Ok(Outcome {
        best,
        state,
        config: run.config,
        tokenizer: run.tokenizer,
        devel: run.devel,
        labels: run.labels,
    })
}

/// The base's config for a model tagging `labels`, with the run's dropout.
fn base_config(settings: &Settings, labels: &LabelSet) -> Result<BertConfig> {
    let config_path = settings.base.join("config.json");
    let mut config = BertConfig::from_json(&std::fs::read_to_string(&config_path)?)
        .with_context(|| config_path.display().to_string())?
        .with_labels(labels);
    config.hidden_dropout_prob = settings.hidden_dropout as f64;
    config.attention_probs_dropout_prob = settings.attention_dropout as f64;
    // Epochs are scored, and the best chosen, without a bias or lexicon, also when the base is a
    // Medlight model directory whose config carries them; the export writes its own.
    config.outside_bias = 0.0;
    config.lexicon.clear();
    Ok(config)
}

/// A run's data, model and optimiser, set up for its epochs.
struct Run<'a> {
    settings: &'a Settings,
    out: &'a Path,
    device: &'a Device,
    checkpoint: Checkpoint,
    config: BertConfig,
    tokenizer: tokenizers::Tokenizer,
    labels: LabelSet,
    pad: u32,
    examples: Vec<Example>,
    devel: Vec<Sentence>,
    varmap: VarMap,
    model: TokenClassifier,
    fused_ops: bool,
    optimiser: AdamW,
    steps_per_epoch: usize,
    schedule: Schedule,
}

/// An epoch's training steps: the sum of their losses and the sub-tokens they saw.
struct Steps {
    loss_sum: f64,
    tokens: usize,
    seconds: f64,
}

impl<'a> Run<'a> {
    fn set_up(settings: &'a Settings, out: &'a Path, device: &'a Device) -> Result<Self> {
        let base = &settings.base;
        require_file(&base.join("config.json"), "base config", base)?;
        require_file(&base.join("tokenizer.json"), "base tokenizer", base)?;
        if !settings.from_scratch {
            require_file(&base.join("model.safetensors"), "base weights", base)?;
        }
        let (train, devel) = corpora::read_main(settings)?;
        let labels = LabelSet::from_types(&data::entity_types(&train));
        let config = base_config(settings, &labels)?;
        let tokenizer = align::load_tokenizer(&std::fs::read(base.join("tokenizer.json"))?)
            .with_context(|| format!("{}/tokenizer.json", base.display()))?;
        let special = SpecialTokens::from_tokenizer(&tokenizer)?;
        let window = config.max_position_embeddings - 2;
        let examples = corpora::examples(settings, &train, &tokenizer, &labels, special, window)?;

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
        let optimiser = AdamW::new(&varmap, settings.weight_decay, frozen)?;
        let steps_per_epoch = examples.len().div_ceil(settings.batch_size);
        let schedule = epochs::schedule(
            settings.lr,
            settings.warmup,
            steps_per_epoch,
            settings.epochs,
        );
        Ok(Self {
            settings,
            out,
            device,
            checkpoint: Checkpoint::of(out),
            config,
            tokenizer,
            labels,
            pad: special.pad,
            examples,
            devel,
            varmap,
            model,
            fused_ops,
            optimiser,
            steps_per_epoch,
            schedule,
        })
    }

    /// The checkpoint's state with `resume`, or that of a run yet to take its first step.
    fn start_or_resume(&mut self, resume: bool) -> Result<State> {
        let resumed = self.checkpoint.resume::<State>(
            resume,
            self.settings,
            &self.varmap,
            &mut [(OPTIMISER, &mut self.optimiser)],
            self.device,
        )?;
        if let Some(state) = resumed {
            progress::println(format!(
                "resuming after epoch {} of {}",
                state.epochs_done, self.settings.epochs
            ));
            return Ok(state);
        }
        Ok(State {
            settings: self.settings.clone(),
            epochs_done: 0,
            step: 0,
            best_f1: -1.0,
            best_epoch: 0,
            best_averaged: 1,
            history: Vec::new(),
        })
    }

    /// Trains and scores one epoch, keeps the model if it is the best so far, and checkpoints.
    fn epoch(&mut self, epoch: usize, state: &mut State) -> Result<()> {
        let started = Instant::now();
        let settings = self.settings;
        let (mut rng, mut dropout) = epochs::epoch_randomness(
            settings.seed,
            epoch,
            settings.hidden_dropout,
            settings.attention_dropout,
            self.fused_ops,
        );
        let plan = batches::plan_epoch(&self.examples, settings.batch_size, &mut rng);
        let steps = self.train_steps(epoch, &plan, &mut dropout, &mut state.step, started)?;
        let tagger = Tagger::new(self.model.clone(), self.tokenizer.clone())?;
        let (_, report) = data::tag_and_score(&tagger, &self.devel)?;
        let averaged = if settings.average_last > 1 {
            let files = keep_epoch_weights(
                &self.checkpoint.dir,
                epoch,
                settings.average_last,
                &self.varmap,
            )?;
            evaluate_average(
                &files,
                &self.config,
                &self.tokenizer,
                &self.devel,
                self.device,
            )?
        } else {
            None
        };
        let record = EpochRecord {
            epoch,
            train_loss: steps.loss_sum / plan.len() as f64,
            tokens_per_second: steps.tokens as f64 / steps.seconds,
            seconds: started.elapsed().as_secs_f64(),
            train_seconds: steps.seconds,
            devel: report.clone(),
            averaged: averaged.as_ref().map(|(a, _)| a.clone()),
        };
        print_epoch(&record, settings.epochs);
        state.history.push(record);
        state.epochs_done = epoch;
        self.keep_best(epoch, &report, averaged, state)?;
        self.checkpoint
            .save(state, &self.varmap, &[(OPTIMISER, &self.optimiser)])
    }

    /// One AdamW step per batch of `plan`, from step `step` of the schedule on.
    fn train_steps(
        &mut self,
        epoch: usize,
        plan: &[Vec<usize>],
        dropout: &mut Dropout,
        step: &mut usize,
        started: Instant,
    ) -> Result<Steps> {
        let settings = self.settings;
        let bar = progress::epoch_bar(plan.len() as u64, epoch, settings.epochs);
        // The losses add up where they are computed and are read only now and then: on a GPU each
        // read waits for the queued work, and the GPU then idles while the next step is prepared.
        let (mut loss_sum, mut loss_total, mut tokens) = (0.0, None::<Tensor>, 0usize);
        for (i, indices) in plan.iter().enumerate() {
            let members: Vec<&Example> = indices.iter().map(|&i| &self.examples[i]).collect();
            let batch = Batch::new(&members, self.pad, &self.labels, self.device)?;
            let logits = self
                .model
                .forward(&batch.ids, &batch.mask, Some(&mut *dropout))?;
            let loss = loss(&logits, &batch, settings.label_smoothing)?;
            let grads = loss.backward()?;
            self.optimiser
                .step(&grads, self.schedule.at(*step), settings.clip)?;
            *step += 1;
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
        let seconds = started.elapsed().as_secs_f64();
        progress::end_epoch(&bar);
        Ok(Steps {
            loss_sum,
            tokens,
            seconds,
        })
    }

    /// The model directory holds the best candidate so far: an epoch's weights or a mean of epochs.
    fn keep_best(
        &self,
        epoch: usize,
        report: &Report,
        averaged: Option<(Averaged, HashMap<String, Tensor>)>,
        state: &mut State,
    ) -> Result<()> {
        let out = self.out;
        let keep_best = |write: &dyn Fn(&Path) -> Result<()>| -> Result<()> {
            std::fs::create_dir_all(out)?;
            save_atomically(&out.join("model.safetensors"), write)?;
            Ok(std::fs::write(
                out.join("config.json"),
                self.config.to_json(),
            )?)
        };
        if report.overall.f1 > state.best_f1 {
            (state.best_f1, state.best_epoch, state.best_averaged) = (report.overall.f1, epoch, 1);
            keep_best(&|p| Ok(self.varmap.save(p)?))?;
        }
        if let Some((a, mean)) = averaged.filter(|(a, _)| a.devel.overall.f1 > state.best_f1) {
            (state.best_f1, state.best_epoch, state.best_averaged) =
                (a.devel.overall.f1, epoch, a.epochs);
            keep_best(&|p| Ok(candle_core::safetensors::save(&mean, p)?))?;
        }
        Ok(())
    }
}

fn print_epoch(record: &EpochRecord, epochs: usize) {
    let (epoch, report) = (record.epoch, &record.devel);
    progress::println(format!(
        "epoch {epoch}/{}: loss {:.4}, devel P {:.2} R {:.2} F1 {:.2} ({}), {:.0} tok/s, {:.1} s ({:.1} s training)",
        epochs,
        record.train_loss,
        100.0 * report.overall.precision,
        100.0 * report.overall.recall,
        100.0 * report.overall.f1,
        per_type_f1(report),
        record.tokens_per_second,
        record.seconds,
        record.train_seconds
    ));
    if let Some(a) = &record.averaged {
        progress::println(format!(
            "  mean of epochs {}-{epoch}: devel F1 {:.2} ({})",
            epoch + 1 - a.epochs,
            100.0 * a.devel.overall.f1,
            per_type_f1(&a.devel)
        ));
    }
}

pub fn per_type_f1(report: &Report) -> String {
    report
        .per_type
        .iter()
        .map(|(k, s)| format!("{k} {:.2}", 100.0 * s.f1))
        .collect::<Vec<_>>()
        .join(", ")
}
