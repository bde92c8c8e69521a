//! Task-adaptive pretraining: the base encoder keeps learning to fill in masked sub-tokens (BERT's
//! masked-language-model objective), now on the corpora's own unlabelled text, before `trainer train
//! --base OUT` fine-tunes it for tagging. The base (all-MiniLM-L6-v2) was trained on general English;
//! this moves it towards abstracts. The output is a base directory like the one it started from, plus
//! the MLM head (`cls.predictions.*`) so that a later run can continue.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context, Result};
use candle_core::{DType, Device, Tensor, D};
use candle_nn::{Linear, Module, VarBuilder, VarMap};
use medlight_ner::align::{self, SpecialTokens};
use medlight_ner::model::bert::{BertEncoder, LayerNorm, Pass};
use medlight_ner::model::{init, Dropout, Weights};
use medlight_ner::BertConfig;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use tokenizers::Tokenizer;

use crate::data;
use crate::optim::{AdamW, Schedule};
use crate::train::{checkpoint_dir, fused_training_ops, save_atomically, Control, WORD_EMBEDDINGS};

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

/// The ids a masked copy of a sequence needs.
#[derive(Debug, Clone, Copy)]
pub struct MaskTokens {
    pub mask: u32,
    pub vocab: u32,
    pub special: SpecialTokens,
}

impl MaskTokens {
    pub fn from_tokenizer(tokenizer: &Tokenizer, vocab: usize) -> Result<Self> {
        let mask = tokenizer
            .token_to_id("[MASK]")
            .context("the vocabulary has no `[MASK]` token")?;
        Ok(Self {
            mask,
            vocab: vocab as u32,
            special: SpecialTokens::from_tokenizer(tokenizer)?,
        })
    }
}

/// One sequence to train on: `[CLS] … [SEP]` with some sub-tokens hidden, and what they were.
#[derive(Debug, Clone, PartialEq)]
pub struct Masked {
    pub ids: Vec<u32>,
    /// (position in `ids`, the original id) of each sub-token to predict.
    pub targets: Vec<(usize, u32)>,
}

/// Chooses each sub-token of `body` with probability `prob` (at least one per sequence) and hides
/// it as BERT does: `[MASK]` 80 % of the time, a random non-special sub-token 10 %, unchanged 10 %.
pub fn mask(body: &[u32], prob: f64, tokens: MaskTokens, rng: &mut StdRng) -> Masked {
    let mut ids = Vec::with_capacity(body.len() + 2);
    ids.push(tokens.special.cls);
    ids.extend_from_slice(body);
    ids.push(tokens.special.sep);
    let mut chosen: Vec<usize> = (1..=body.len()).filter(|_| rng.random_bool(prob)).collect();
    if chosen.is_empty() && !body.is_empty() {
        chosen.push(rng.random_range(1..=body.len()));
    }
    let mut targets = Vec::with_capacity(chosen.len());
    for position in chosen {
        targets.push((position, ids[position]));
        let roll: f64 = rng.random();
        if roll < 0.8 {
            ids[position] = tokens.mask;
        } else if roll < 0.9 {
            // In BERT's vocabularies the ids below 1,000 are special and unused tokens.
            let low = if tokens.vocab > 1_000 { 1_000 } else { 0 };
            ids[position] = rng.random_range(low..tokens.vocab);
        }
    }
    Masked { ids, targets }
}

/// The files' text as sub-token sequences: consecutive sentences joined up to `max_tokens` (as
/// `data::pack` joins them for training), and a longer sentence cut into pieces of that size.
pub fn sequences(
    files: &[PathBuf],
    tokenizer: &Tokenizer,
    max_tokens: usize,
) -> Result<Vec<Vec<u32>>> {
    let mut out = Vec::new();
    for file in files {
        // A word's pieces do not depend on its neighbours, so each sentence is encoded once and a
        // window's ids are its sentences' in turn.
        let ids = data::read_iob2(file)?
            .iter()
            .map(|s| Ok(align::encode_words(tokenizer, &s.words())?.ids))
            .collect::<Result<Vec<_>>>()?;
        let sizes: Vec<usize> = ids.iter().map(Vec::len).collect();
        for group in data::group_consecutive(&sizes, max_tokens) {
            let joined = ids[group].concat();
            out.extend(
                align::windows(joined.len(), max_tokens, 0)
                    .into_iter()
                    .map(|r| joined[r].to_vec()),
            );
        }
    }
    out.retain(|s| !s.is_empty());
    Ok(out)
}

const HEAD_BIAS: &str = "cls.predictions.bias";

/// Each sub-token's log-frequency in `sequences` (add-one smoothed over the vocabulary).
pub fn unigram_log_frequencies(sequences: &[Vec<u32>], vocab: usize) -> Vec<f32> {
    let mut counts = vec![1.0f64; vocab];
    for &id in sequences.iter().flatten() {
        if let Some(c) = counts.get_mut(id as usize) {
            *c += 1.0;
        }
    }
    let total: f64 = counts.iter().sum();
    counts.iter().map(|c| (c / total).ln() as f32).collect()
}

/// BERT's masked-LM head (`cls.predictions`): a transform, then scores over the vocabulary against
/// the word-embedding table (tied weights, as in BERT; the table stays frozen, as in fine-tuning).
struct Head {
    dense: Linear,
    norm: LayerNorm,
    bias: Tensor,
    words: Tensor,
    /// Always a training pass: the head exists only to be trained.
    pass: Pass,
}

impl Head {
    fn new(vb: VarBuilder, config: &BertConfig, words: Tensor, fused: bool) -> Result<Self> {
        let (hidden, vocab) = (config.hidden_size, config.vocab_size);
        let vb = vb.pp("cls").pp("predictions");
        let transform = vb.pp("transform");
        Ok(Self {
            dense: candle_nn::linear(hidden, hidden, transform.pp("dense"))?,
            norm: LayerNorm::load(
                &Weights::float(transform.pp("LayerNorm")),
                hidden,
                config.layer_norm_eps,
            )?,
            bias: vb.get_with_hints(vocab, "bias", candle_nn::Init::Const(0.0))?,
            words,
            pass: Pass::training(fused),
        })
    }

    /// Log-probabilities over the vocabulary for hidden states `(n, hidden)`.
    fn log_probs(&self, hidden: &Tensor) -> Result<Tensor> {
        let x = self
            .norm
            .forward(&self.dense.forward(hidden)?.gelu_erf()?, self.pass)?;
        let scores = x.matmul(&self.words.t()?)?.broadcast_add(&self.bias)?;
        Ok(candle_nn::ops::log_softmax(&scores, D::Minus1)?)
    }
}

/// The encoder and head, and the masked-LM loss of a batch of sequences.
struct Model {
    encoder: BertEncoder,
    head: Head,
    pad: u32,
}

impl Model {
    /// With `dropout`, in training mode; `train_encoder` false keeps gradients out of the encoder.
    fn loss(
        &self,
        batch: &[&Masked],
        device: &Device,
        dropout: Option<&mut Dropout>,
        train_encoder: bool,
    ) -> Result<Tensor> {
        let len = batch.iter().map(|m| m.ids.len()).max().unwrap_or(0);
        let (mut ids, mut mask, mut positions, mut targets) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (row, m) in batch.iter().enumerate() {
            ids.extend_from_slice(&m.ids);
            ids.extend(std::iter::repeat_n(self.pad, len - m.ids.len()));
            mask.extend((0..len).map(|i| u32::from(i < m.ids.len())));
            for &(position, id) in &m.targets {
                positions.push((row * len + position) as u32);
                targets.push(id);
            }
        }
        let shape = (batch.len(), len);
        let ids = Tensor::from_vec(ids, shape, device)?;
        let mask = Tensor::from_vec(mask, shape, device)?;
        let mut hidden = self.encoder.forward(&ids, &mask, dropout)?;
        if !train_encoder {
            hidden = hidden.detach();
        }
        let hidden = hidden
            .reshape(((), hidden.dim(D::Minus1)?))?
            .index_select(&Tensor::new(positions, device)?, 0)?;
        let log_probs = self.head.log_probs(&hidden)?;
        Ok(candle_nn::loss::nll(
            &log_probs,
            &Tensor::new(targets, device)?,
        )?)
    }

    /// Mean loss over `sequences`, masked once with a fixed seed, without dropout.
    fn held_out_loss(
        &self,
        sequences: &[Masked],
        batch_size: usize,
        device: &Device,
    ) -> Result<f64> {
        let (mut sum, mut count) = (0.0, 0usize);
        for chunk in sequences.chunks(batch_size) {
            let members: Vec<&Masked> = chunk.iter().collect();
            let n: usize = chunk.iter().map(|m| m.targets.len()).sum();
            sum += self
                .loss(&members, device, None, false)?
                .to_scalar::<f32>()? as f64
                * n as f64;
            count += n;
        }
        Ok(sum / count.max(1) as f64)
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
    let tokens = MaskTokens::from_tokenizer(&tokenizer, config.vocab_size)?;
    let train = sequences(&settings.text, &tokenizer, settings.max_tokens)?;
    if train.is_empty() {
        bail!("--text: no text to train on");
    }
    let mut fixed = StdRng::seed_from_u64(settings.seed ^ 0x5eed);
    let held_out = match &settings.held_out {
        Some(file) => sequences(std::slice::from_ref(file), &tokenizer, settings.max_tokens)?
            .iter()
            .map(|s| mask(s, settings.mask_prob, tokens, &mut fixed))
            .collect(),
        None => Vec::new(),
    };
    eprintln!(
        "masked-LM training on {} sequences ({} sub-tokens) from {} file(s); held out: {} sequences",
        train.len(),
        train.iter().map(Vec::len).sum::<usize>(),
        settings.text.len(),
        held_out.len()
    );

    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, device);
    let mut encoder = BertEncoder::load(&Weights::float(vb.clone()).pp("bert"), &config)?;
    // Detached views share the variable's storage, so they see the weights loaded into it below.
    encoder.freeze_word_embeddings();
    let words = varmap.data().lock().expect("varmap lock")[WORD_EMBEDDINGS]
        .as_tensor()
        .detach();
    let fused_ops = fused_training_ops(device);
    let head = Head::new(vb, &config, words, fused_ops)?;
    init::seed_variables(&varmap, settings.seed)?;
    let report = init::load_pretrained(&varmap, &base.join("model.safetensors"), device)?;
    eprintln!(
        "loaded {} tensors from {}; newly initialised: {}",
        report.loaded.len(),
        base.display(),
        report.missing.join(", ")
    );
    if report.missing.iter().any(|n| n == HEAD_BIAS) {
        // A new head starts from the text's sub-token frequencies: at a random bias its loss sits above
        // a uniform guess's (10.83 against ln 30,522 = 10.33 on BC5CDR devel), at these 7.80.
        let bias = unigram_log_frequencies(&train, config.vocab_size);
        varmap.data().lock().expect("varmap lock")[HEAD_BIAS].set(&Tensor::new(bias, device)?)?;
    }
    let model = Model {
        encoder,
        head,
        pad: tokens.special.pad,
    };

    let mut optimiser = AdamW::new(&varmap, settings.weight_decay, &[WORD_EMBEDDINGS])?;
    let encoder_names: Vec<String> = varmap
        .data()
        .lock()
        .expect("varmap lock")
        .keys()
        .filter(|n| !n.starts_with("cls."))
        .cloned()
        .collect();
    let mut head_optimiser = AdamW::new(
        &varmap,
        settings.weight_decay,
        &encoder_names.iter().map(String::as_str).collect::<Vec<_>>(),
    )?;
    let steps_per_epoch = train.len().div_ceil(settings.batch_size);
    let schedule_of = |peak: f64, epochs: usize| {
        let total_steps = steps_per_epoch * epochs;
        Schedule {
            peak,
            warmup_steps: ((total_steps as f64 * settings.warmup) as usize).max(1),
            total_steps,
        }
    };
    let (head_schedule, schedule) = (
        schedule_of(settings.head_lr, settings.head_epochs),
        schedule_of(settings.lr, settings.epochs),
    );
    let checkpoint = checkpoint_dir(out);
    let mut state = if control.resume && checkpoint.join("state.json").is_file() {
        let state: State =
            serde_json::from_str(&std::fs::read_to_string(checkpoint.join("state.json"))?)?;
        if state.settings != settings {
            bail!(
                "{}: the checkpoint was made with other settings ({:?})",
                checkpoint.display(),
                state.settings
            );
        }
        let report =
            init::load_pretrained(&varmap, &checkpoint.join("weights.safetensors"), device)?;
        if !report.missing.is_empty() {
            bail!(
                "{}: checkpoint lacks {}",
                checkpoint.display(),
                report.missing.join(", ")
            );
        }
        optimiser.load(&checkpoint.join("optimiser.safetensors"), state.step)?;
        head_optimiser.load(
            &checkpoint.join("optimiser-head.safetensors"),
            state.head_step,
        )?;
        eprintln!(
            "resuming after epoch {} of {}",
            state.epochs_done,
            settings.head_epochs + settings.epochs
        );
        state
    } else {
        if checkpoint.join("state.json").is_file() {
            bail!(
                "{} holds a checkpoint: pass --resume to continue it, or choose another --out",
                checkpoint.display()
            );
        }
        let held_out_before = if held_out.is_empty() {
            None
        } else {
            Some(model.held_out_loss(&held_out, settings.batch_size, device)?)
        };
        if let Some(loss) = held_out_before {
            eprintln!("held-out masked-LM loss of the base: {loss:.4}");
        }
        State {
            settings: settings.clone(),
            epochs_done: 0,
            head_step: 0,
            step: 0,
            held_out_before,
            history: Vec::new(),
        }
    };

    let all_epochs = settings.head_epochs + settings.epochs;
    for epoch in state.epochs_done + 1..=all_epochs {
        let head_only = epoch <= settings.head_epochs;
        let started = Instant::now();
        // Masks, order and dropout derive from (seed, epoch): a resumed run sees the same.
        let mut rng =
            StdRng::seed_from_u64(settings.seed.wrapping_mul(1000).wrapping_add(epoch as u64));
        let mut dropout = Dropout::new(
            settings.seed.wrapping_mul(7919).wrapping_add(epoch as u64),
            config.hidden_dropout_prob as f32,
            config.attention_probs_dropout_prob as f32,
        );
        dropout.fused = fused_ops;
        let masked: Vec<Masked> = train
            .iter()
            .map(|s| mask(s, settings.mask_prob, tokens, &mut rng))
            .collect();
        let mut order: Vec<usize> = (0..masked.len()).collect();
        rand::seq::SliceRandom::shuffle(order.as_mut_slice(), &mut rng);
        let bar = indicatif::ProgressBar::new(order.len().div_ceil(settings.batch_size) as u64);
        let (mut loss_sum, mut steps, mut sub_tokens) = (0.0, 0usize, 0usize);
        for indices in order.chunks(settings.batch_size) {
            let batch: Vec<&Masked> = indices.iter().map(|&i| &masked[i]).collect();
            if head_only {
                let loss = model.loss(&batch, device, None, false)?;
                head_optimiser.step(
                    &loss.backward()?,
                    head_schedule.at(state.head_step),
                    settings.clip,
                )?;
                state.head_step += 1;
                loss_sum += loss.to_scalar::<f32>()? as f64;
            } else {
                let loss = model.loss(&batch, device, Some(&mut dropout), true)?;
                optimiser.step(&loss.backward()?, schedule.at(state.step), settings.clip)?;
                state.step += 1;
                loss_sum += loss.to_scalar::<f32>()? as f64;
            }
            steps += 1;
            sub_tokens += batch.iter().map(|m| m.ids.len()).sum::<usize>();
            bar.set_message(format!("loss {:.4}", loss_sum / steps as f64));
            bar.inc(1);
        }
        bar.finish_and_clear();
        let seconds = started.elapsed().as_secs_f64();
        let held_out_loss = if held_out.is_empty() {
            None
        } else {
            Some(model.held_out_loss(&held_out, settings.batch_size, device)?)
        };
        let record = Epoch {
            epoch,
            head_only,
            train_loss: loss_sum / steps as f64,
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
        std::fs::create_dir_all(&checkpoint)?;
        save_atomically(&checkpoint.join("weights.safetensors"), |p| {
            Ok(varmap.save(p)?)
        })?;
        save_atomically(&checkpoint.join("optimiser.safetensors"), |p| {
            optimiser.save(p)
        })?;
        save_atomically(&checkpoint.join("optimiser-head.safetensors"), |p| {
            head_optimiser.save(p)
        })?;
        save_atomically(&checkpoint.join("state.json"), |p| {
            Ok(std::fs::write(p, serde_json::to_string_pretty(&state)?)?)
        })?;
        if control.stop_after_epoch == Some(epoch) {
            return Ok(state);
        }
    }

    save_atomically(&out.join("model.safetensors"), |p| Ok(varmap.save(p)?))?;
    std::fs::write(out.join("config.json"), &config_text)?;
    std::fs::copy(base.join("tokenizer.json"), out.join("tokenizer.json"))?;
    std::fs::write(
        out.join("pretrain.json"),
        serde_json::to_string_pretty(&state)?,
    )?;
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> MaskTokens {
        MaskTokens {
            mask: 4,
            vocab: 2_000,
            special: SpecialTokens {
                cls: 2,
                sep: 3,
                pad: 0,
            },
        }
    }

    #[test]
    fn sequences_are_the_packed_windows_encoded_whole_and_cut_to_the_budget() {
        let tokenizer = medlight_ner::testing::tiny_tokenizer();
        // Sentences of 3, 2, 1 and 4 sub-tokens ("aspirin" is two), then one of 7.
        let text =
            "aspirin\tO\nnausea\tO\n\nacute\tO\npain\tO\n\n.\tO\n\nthe\tO\npatient\tO\nwith\tO\n\
                    hepatitis\tO\n\naspirin\tO\naspirin\tO\naspirin\tO\nnausea\tO\n";
        let path =
            std::env::temp_dir().join(format!("medlight-sequences-{}.tsv", std::process::id()));
        std::fs::write(&path, text).unwrap();
        for budget in [2, 3, 5, 6, 100] {
            // What the sequences must be: each window that `data::pack` makes, encoded as one text.
            let mut expected = Vec::new();
            for window in data::pack(&data::read_iob2(&path).unwrap(), &tokenizer, budget).unwrap()
            {
                let ids = align::encode_words(&tokenizer, &window.words())
                    .unwrap()
                    .ids;
                expected.extend(
                    align::windows(ids.len(), budget, 0)
                        .into_iter()
                        .map(|r| ids[r].to_vec()),
                );
            }
            let got = sequences(std::slice::from_ref(&path), &tokenizer, budget).unwrap();
            assert_eq!(got, expected, "budget {budget}");
            assert!(got.iter().all(|s| !s.is_empty() && s.len() <= budget));
            assert_eq!(got.concat().len(), 17, "every sub-token, once");
        }
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn masking_frames_the_sequence_and_hides_about_the_share_asked_as_bert_does() {
        let body: Vec<u32> = (1_000..1_100).collect();
        let mut rng = StdRng::seed_from_u64(1);
        let (mut chosen, mut as_mask, mut unchanged) = (0, 0, 0);
        for _ in 0..200 {
            let m = mask(&body, 0.15, tokens(), &mut rng);
            assert_eq!(
                (m.ids[0], m.ids[101], m.ids.len()),
                (2, 3, 102),
                "framed by [CLS] … [SEP]"
            );
            for &(position, original) in &m.targets {
                assert_eq!(
                    original,
                    body[position - 1],
                    "the target is the original sub-token"
                );
                as_mask += usize::from(m.ids[position] == 4);
                unchanged += usize::from(m.ids[position] == original);
            }
            chosen += m.targets.len();
            // Positions not chosen are untouched.
            let hidden: Vec<usize> = m.targets.iter().map(|t| t.0).collect();
            assert!((1..=100)
                .filter(|p| !hidden.contains(p))
                .all(|p| m.ids[p] == body[p - 1]));
        }
        let share = chosen as f64 / 20_000.0;
        assert!((0.13..0.17).contains(&share), "{share}");
        let (as_mask, unchanged) = (
            as_mask as f64 / chosen as f64,
            unchanged as f64 / chosen as f64,
        );
        assert!(
            (0.77..0.83).contains(&as_mask) && (0.08..0.12).contains(&unchanged),
            "{as_mask} {unchanged}"
        );
    }

    #[test]
    fn a_new_heads_bias_is_the_texts_log_frequencies() {
        let bias = unigram_log_frequencies(&[vec![1, 1, 2], vec![1]], 4);
        // Counts 1 + (0, 3, 1, 0) over a total of 8.
        let expected: Vec<f32> = [1.0f64, 4.0, 2.0, 1.0]
            .iter()
            .map(|c| (c / 8.0).ln() as f32)
            .collect();
        assert_eq!(bias, expected);
    }

    #[test]
    fn every_sequence_gets_a_target() {
        let mut rng = StdRng::seed_from_u64(3);
        assert!((0..100).all(|_| mask(&[1_500], 0.01, tokens(), &mut rng).targets.len() == 1));
    }
}
