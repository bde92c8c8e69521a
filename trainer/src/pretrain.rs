//! Task-adaptive pretraining: the base encoder keeps learning to fill in masked sub-tokens (BERT's
//! masked-language-model objective), now on the corpora's own unlabelled text, before `trainer train
//! --base OUT` fine-tunes it for tagging. The base (all-MiniLM-L6-v2) was trained on general English;
//! this moves it towards abstracts. The output is a base directory like the one it started from, plus
//! the MLM head (`cls.predictions.*`) so that a later run can continue.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use medlight_ner::align;
use medlight_ner::model::bert::BertEncoder;
use medlight_ner::model::{init, Dropout, Weights};
use medlight_ner::BertConfig;
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use tokenizers::Tokenizer;

use crate::epochs::{self, fused_training_ops, save_atomically, Checkpoint, Control, RunState};
use crate::optim::{AdamW, Schedule};
use crate::train::WORD_EMBEDDINGS;

mod model;
mod text;

use model::{Head, Model};
pub use text::{mask, sequences, unigram_log_frequencies, MaskTokens, Masked};

/// Everything a pretraining run depends on; saved in its checkpoint and `pretrain.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Settings {
    pub base: PathBuf,
    /// IOB2 files whose words are the text (their tags are not read).
    pub text: Vec<PathBuf>,
    /// IOB2 file whose masked-LM loss is reported before training and after each epoch.
    pub held_out: Option<PathBuf>,
    /// Epochs that train the MLM head alone, the encoder fixed, before `epochs` that train both: a
    /// base without a head (all-MiniLM-L6-v2 has none) would otherwise send a random head's
    /// gradients into the encoder.
    pub head_epochs: usize,
    /// Peak learning rate of the head-only epochs.
    pub head_lr: f64,
    pub epochs: usize,
    pub batch_size: usize,
    pub lr: f64,
    pub warmup: f64,
    pub weight_decay: f64,
    pub clip: f64,
    /// Share of sub-tokens to predict (of those, 80 % are shown as `[MASK]`, 10 % as a random
    /// sub-token, 10 % unchanged, as in BERT).
    pub mask_prob: f64,
    /// Consecutive sentences are joined into sequences of at most this many sub-tokens.
    pub max_tokens: usize,
    pub seed: u64,
}

/// One epoch's record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Epoch {
    pub epoch: usize,
    /// Whether this epoch trained the head alone.
    pub head_only: bool,
    pub train_loss: f64,
    pub held_out_loss: Option<f64>,
    pub seconds: f64,
    pub tokens_per_second: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    pub settings: Settings,
    pub epochs_done: usize,
    /// Steps taken by the head-only optimiser, and by the optimiser of the encoder and head.
    pub head_step: usize,
    pub step: usize,
    /// The held-out loss of the base, before any step.
    pub held_out_before: Option<f64>,
    pub history: Vec<Epoch>,
}

const HEAD_BIAS: &str = "cls.predictions.bias";

/// The optimisers' files in the checkpoint: the encoder and head's, then the head-only one's.
const OPTIMISERS: [&str; 2] = ["optimiser.safetensors", "optimiser-head.safetensors"];

impl RunState for State {
    type Settings = Settings;

    fn settings(&self) -> &Settings {
        &self.settings
    }

    fn optimiser_steps(&self) -> Vec<usize> {
        vec![self.step, self.head_step]
    }
}

/// Trains, checkpointing after every epoch into `<out>/checkpoint/`; with `control.resume`,
/// continues from there. Writes `<out>/model.safetensors`, `config.json`, `tokenizer.json` and
/// `pretrain.json` at the end.
pub fn run(settings: Settings, out: &Path, device: &Device, control: Control) -> Result<State> {
    let base = &settings.base;
    for file in ["config.json", "tokenizer.json", "model.safetensors"] {
        if !base.join(file).is_file() {
            bail!("{}: no {file} (a BERT base directory: config.json, tokenizer.json, model.safetensors)", base.display());
        }
    }
    let config_text = std::fs::read_to_string(base.join("config.json"))?;
    let config = BertConfig::from_json(&config_text)
        .with_context(|| format!("{}/config.json", base.display()))?;
    let tokenizer = align::load_tokenizer(&std::fs::read(base.join("tokenizer.json"))?)
        .with_context(|| format!("{}/tokenizer.json", base.display()))?;
    let mut run = Pretraining::set_up(&settings, config, &tokenizer, out, device)?;
    let mut state = run.start_or_resume(control.resume)?;
    for epoch in state.epochs_done + 1..=settings.head_epochs + settings.epochs {
        run.epoch(epoch, &mut state)?;
        if control.stop_after_epoch == Some(epoch) {
            return Ok(state);
        }
    }

    save_atomically(&out.join("model.safetensors"), |p| {
        Ok(run.varmap.save(p)?)
    })?;
    std::fs::write(out.join("config.json"), &config_text)?;
    std::fs::copy(base.join("tokenizer.json"), out.join("tokenizer.json"))?;
    std::fs::write(
        out.join("pretrain.json"),
        serde_json::to_string_pretty(&state)?,
    )?;
    Ok(state)
}

/// The held-out file's sequences, masked once with a seed of their own.
fn masked_held_out(
    settings: &Settings,
    tokenizer: &Tokenizer,
    tokens: MaskTokens,
) -> Result<Vec<Masked>> {
    let mut fixed = StdRng::seed_from_u64(settings.seed ^ 0x5eed);
    Ok(match &settings.held_out {
        Some(file) => sequences(std::slice::from_ref(file), tokenizer, settings.max_tokens)?
            .iter()
            .map(|s| mask(s, settings.mask_prob, tokens, &mut fixed))
            .collect(),
        None => Vec::new(),
    })
}

/// A pretraining run's text, model and optimisers, set up for its epochs.
struct Pretraining<'a> {
    settings: &'a Settings,
    device: &'a Device,
    checkpoint: Checkpoint,
    config: BertConfig,
    tokens: MaskTokens,
    train: Vec<Vec<u32>>,
    held_out: Vec<Masked>,
    varmap: VarMap,
    model: Model,
    fused_ops: bool,
    /// Of the encoder and head.
    optimiser: AdamW,
    head_optimiser: AdamW,
    schedule: Schedule,
    head_schedule: Schedule,
}

impl<'a> Pretraining<'a> {
    fn set_up(
        settings: &'a Settings,
        config: BertConfig,
        tokenizer: &Tokenizer,
        out: &Path,
        device: &'a Device,
    ) -> Result<Self> {
        let tokens = MaskTokens::from_tokenizer(tokenizer, config.vocab_size)?;
        let train = sequences(&settings.text, tokenizer, settings.max_tokens)?;
        if train.is_empty() {
            bail!("--text: no text to train on");
        }
        let held_out = masked_held_out(settings, tokenizer, tokens)?;
        eprintln!(
            "masked-LM training on {} sequences ({} sub-tokens) from {} file(s); held out: {} sequences",
            train.len(),
            train.iter().map(Vec::len).sum::<usize>(),
            settings.text.len(),
            held_out.len()
        );
        let varmap = VarMap::new();
        let (model, fused_ops) = load_model(settings, &config, &varmap, &train, tokens, device)?;
        let (optimiser, head_optimiser) = optimisers(&varmap, settings.weight_decay)?;
        let steps_per_epoch = train.len().div_ceil(settings.batch_size);
        let (head_schedule, schedule) = (
            epochs::schedule(
                settings.head_lr,
                settings.warmup,
                steps_per_epoch,
                settings.head_epochs,
            ),
            epochs::schedule(
                settings.lr,
                settings.warmup,
                steps_per_epoch,
                settings.epochs,
            ),
        );
        Ok(Self {
            settings,
            device,
            checkpoint: Checkpoint::of(out),
            config,
            tokens,
            train,
            held_out,
            varmap,
            model,
            fused_ops,
            optimiser,
            head_optimiser,
            schedule,
            head_schedule,
        })
    }

    /// The checkpoint's state with `resume`, or that of a run yet to take its first step (with the
    /// base's held-out loss).
    fn start_or_resume(&mut self, resume: bool) -> Result<State> {
        let settings = self.settings;
        let [all, head] = OPTIMISERS;
        let resumed = self.checkpoint.resume::<State>(
            resume,
            settings,
            &self.varmap,
            &mut [(all, &mut self.optimiser), (head, &mut self.head_optimiser)],
            self.device,
        )?;
        if let Some(state) = resumed {
            eprintln!(
                "resuming after epoch {} of {}",
                state.epochs_done,
                settings.head_epochs + settings.epochs
            );
            return Ok(state);
        }
        let held_out_before = self.held_out_loss()?;
        if let Some(loss) = held_out_before {
            eprintln!("held-out masked-LM loss of the base: {loss:.4}");
        }
        Ok(State {
            settings: settings.clone(),
            epochs_done: 0,
            head_step: 0,
            step: 0,
            held_out_before,
            history: Vec::new(),
        })
    }

    fn held_out_loss(&self) -> Result<Option<f64>> {
        if self.held_out.is_empty() {
            return Ok(None);
        }
        let loss =
            self.model
                .held_out_loss(&self.held_out, self.settings.batch_size, self.device)?;
        Ok(Some(loss))
    }

    /// Trains one epoch (the head alone in the first `head_epochs`), reports it and checkpoints.
    fn epoch(&mut self, epoch: usize, state: &mut State) -> Result<()> {
        let settings = self.settings;
        let all_epochs = settings.head_epochs + settings.epochs;
        let head_only = epoch <= settings.head_epochs;
        let started = Instant::now();
        // Masks, order and dropout derive from (seed, epoch): a resumed run sees the same.
        let (mut rng, mut dropout) = epochs::epoch_randomness(
            settings.seed,
            epoch,
            self.config.hidden_dropout_prob as f32,
            self.config.attention_probs_dropout_prob as f32,
            self.fused_ops,
        );
        let masked: Vec<Masked> = self
            .train
            .iter()
            .map(|s| mask(s, settings.mask_prob, self.tokens, &mut rng))
            .collect();
        let mut order: Vec<usize> = (0..masked.len()).collect();
        rand::seq::SliceRandom::shuffle(order.as_mut_slice(), &mut rng);
        let (train_loss, sub_tokens) =
            self.train_steps(&masked, &order, head_only, &mut dropout, state)?;
        let seconds = started.elapsed().as_secs_f64();
        let held_out_loss = self.held_out_loss()?;
        let record = Epoch {
            epoch,
            head_only,
            train_loss,
            held_out_loss,
            seconds,
            tokens_per_second: sub_tokens as f64 / seconds,
        };
        eprintln!(
            "epoch {epoch}/{all_epochs}{}: masked-LM loss {:.4}{}, {:.0} s, {:.0} tok/s",
            if head_only { " (head only)" } else { "" },
            record.train_loss,
            held_out_loss
                .map(|l| format!(", held out {l:.4}"))
                .unwrap_or_default(),
            record.seconds,
            record.tokens_per_second
        );
        state.history.push(record);
        state.epochs_done = epoch;
        let [all, head] = OPTIMISERS;
        self.checkpoint.save(
            state,
            &self.varmap,
            &[(all, &self.optimiser), (head, &self.head_optimiser)],
        )
    }

    /// One step per batch of `order`: the mean loss and the sub-tokens seen.
    fn train_steps(
        &mut self,
        masked: &[Masked],
        order: &[usize],
        head_only: bool,
        dropout: &mut Dropout,
        state: &mut State,
    ) -> Result<(f64, usize)> {
        let (settings, device) = (self.settings, self.device);
        let bar = indicatif::ProgressBar::new(order.len().div_ceil(settings.batch_size) as u64);
        let (mut loss_sum, mut steps, mut sub_tokens) = (0.0, 0usize, 0usize);
        for indices in order.chunks(settings.batch_size) {
            let batch: Vec<&Masked> = indices.iter().map(|&i| &masked[i]).collect();
            if head_only {
                let loss = self.model.loss(&batch, device, None, false)?;
                self.head_optimiser.step(
                    &loss.backward()?,
                    self.head_schedule.at(state.head_step),
                    settings.clip,
                )?;
                state.head_step += 1;
                loss_sum += loss.to_scalar::<f32>()? as f64;
            } else {
                let loss = self.model.loss(&batch, device, Some(&mut *dropout), true)?;
                self.optimiser.step(
                    &loss.backward()?,
                    self.schedule.at(state.step),
                    settings.clip,
                )?;
                state.step += 1;
                loss_sum += loss.to_scalar::<f32>()? as f64;
            }
            steps += 1;
            sub_tokens += batch.iter().map(|m| m.ids.len()).sum::<usize>();
            bar.set_message(format!("loss {:.4}", loss_sum / steps as f64));
            bar.inc(1);
        }
        bar.finish_and_clear();
        Ok((loss_sum / steps as f64, sub_tokens))
    }
}

/// The encoder and head with the base's weights (a base without a head gets a new one, its bias
/// from the sub-token frequencies of `train`), and whether they take the fused training ops.
fn load_model(
    settings: &Settings,
    config: &BertConfig,
    varmap: &VarMap,
    train: &[Vec<u32>],
    tokens: MaskTokens,
    device: &Device,
) -> Result<(Model, bool)> {
    let base = &settings.base;
    let vb = VarBuilder::from_varmap(varmap, DType::F32, device);
    let mut encoder = BertEncoder::load(&Weights::float(vb.clone()).pp("bert"), config)?;
    // Detached views share the variable's storage, so they see the weights loaded into it below.
    encoder.freeze_word_embeddings();
    let words = varmap.data().lock().expect("varmap lock")[WORD_EMBEDDINGS]
        .as_tensor()
        .detach();
    let fused_ops = fused_training_ops(device);
    let head = Head::new(vb, config, words, fused_ops)?;
    init::seed_variables(varmap, settings.seed)?;
    let report = init::load_pretrained(varmap, &base.join("model.safetensors"), device)?;
    eprintln!(
        "loaded {} tensors from {}; newly initialised: {}",
        report.loaded.len(),
        base.display(),
        report.missing.join(", ")
    );
    if report.missing.iter().any(|n| n == HEAD_BIAS) {
        // A new head starts from the text's sub-token frequencies: at a random bias its loss sits above
        // a uniform guess's (10.83 against ln 30,522 = 10.33 on BC5CDR devel), at these 7.80.
        let bias = unigram_log_frequencies(train, config.vocab_size);
        varmap.data().lock().expect("varmap lock")[HEAD_BIAS].set(&Tensor::new(bias, device)?)?;
    }
    let model = Model {
        encoder,
        head,
        pad: tokens.special.pad,
    };
    Ok((model, fused_ops))
}

/// The optimiser of the encoder and head, and that of the head alone.
fn optimisers(varmap: &VarMap, weight_decay: f64) -> Result<(AdamW, AdamW)> {
    let optimiser = AdamW::new(varmap, weight_decay, &[WORD_EMBEDDINGS])?;
    let encoder_names: Vec<String> = varmap
        .data()
        .lock()
        .expect("varmap lock")
        .keys()
        .filter(|n| !n.starts_with("cls."))
        .cloned()
        .collect();
    let head_optimiser = AdamW::new(
        varmap,
        weight_decay,
        &encoder_names.iter().map(String::as_str).collect::<Vec<_>>(),
    )?;
    Ok((optimiser, head_optimiser))
}
