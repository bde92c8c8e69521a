//! `trainer pretrain` (masked-LM adaptation) and `trainer pack` (windows of consecutive sentences).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;

use trainer::model_dir::{self};
use trainer::{data, train};

use super::numbers;
use super::DeviceArgs;

#[derive(Args)]
pub(super) struct PretrainArgs {
    /// Base BERT directory: config.json, tokenizer.json, model.safetensors
    #[arg(long, default_value = "models/base/all-MiniLM-L6-v2")]
    base: PathBuf,
    /// IOB2 files whose words are the text to learn from (tags unread); repeatable
    #[arg(long, required = true, value_name = "TSV")]
    text: Vec<PathBuf>,
    /// IOB2 file whose masked-LM loss is reported before training and after each epoch
    #[arg(long, value_name = "TSV")]
    held_out: Option<PathBuf>,
    /// Output directory: a base directory (with the MLM head) and `pretrain.json`
    #[arg(long, default_value = "runs/tapt")]
    out: PathBuf,
    /// Epochs training the MLM head alone (the encoder fixed) first: a new head's random gradients
    /// would otherwise reach the encoder
    #[arg(long, default_value_t = 1)]
    head_epochs: usize,
    /// Peak learning rate of the head-only epochs (at 5e-3 one epoch took the held-out loss from
    /// 7.80 to 6.61 on the corpora's text)
    #[arg(long, default_value_t = 5e-3, value_parser = numbers::positive)]
    head_lr: f64,
    /// Epochs training encoder and head together, after the head-only ones
    #[arg(long, default_value_t = 1)]
    epochs: usize,
    /// Sequences per batch
    #[arg(long, default_value_t = 16)]
    batch_size: usize,
    /// Peak learning rate
    #[arg(long, default_value_t = 5e-5, value_parser = numbers::positive)]
    lr: f64,
    /// Fraction of steps spent warming up the learning rate
    #[arg(long, default_value_t = 0.06, value_parser = numbers::share)]
    warmup: f64,
    #[arg(long, default_value_t = 0.01, value_parser = numbers::non_negative)]
    weight_decay: f64,
    /// Clip gradients to this global norm (0: off)
    #[arg(long, default_value_t = 1.0, value_parser = numbers::non_negative)]
    clip: f64,
    /// Share of sub-tokens to predict
    #[arg(long, default_value_t = 0.15, value_parser = numbers::strictly_between_zero_and_one)]
    mask_prob: f64,
    /// Sub-tokens per sequence at most (consecutive sentences joined up to it)
    #[arg(long, default_value_t = 126)]
    max_tokens: usize,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    #[command(flatten)]
    device: DeviceArgs,
    /// Continue from `<out>/checkpoint/`
    #[arg(long)]
    resume: bool,
}

pub(super) fn pretrain(args: PretrainArgs) -> Result<()> {
    if args.head_epochs + args.epochs == 0 || args.batch_size == 0 || args.max_tokens == 0 {
        bail!(
            "--batch-size and --max-tokens must be at least 1, and --head-epochs or --epochs too"
        );
    }
    let settings = trainer::pretrain::Settings {
        base: args.base,
        text: args.text,
        held_out: args.held_out,
        head_epochs: args.head_epochs,
        head_lr: args.head_lr,
        epochs: args.epochs,
        batch_size: args.batch_size,
        lr: args.lr,
        warmup: args.warmup,
        weight_decay: args.weight_decay,
        clip: args.clip,
        mask_prob: args.mask_prob,
        max_tokens: args.max_tokens,
        seed: args.seed,
    };
    let control = train::Control {
        resume: args.resume,
        stop_after_epoch: None,
    };
    let state = trainer::pretrain::run(settings, &args.out, &args.device.open()?, control)?;
    let last = state.history.last().expect("at least one epoch");
    println!(
        "wrote {}: masked-LM loss {:.4}{}",
        args.out.display(),
        last.train_loss,
        match (state.held_out_before, last.held_out_loss) {
            (Some(a), Some(b)) => format!(", held out {a:.4} → {b:.4}"),
            _ => String::new(),
        }
    );
    Ok(())
}

#[derive(Args)]
pub(super) struct PackArgs {
    /// Directory holding train.tsv and devel.tsv (IOB2) [default: as `train` finds it]
    #[arg(long)]
    data: Option<PathBuf>,
    /// Output directory: train.tsv and devel.tsv, each sentence a window of consecutive sentences
    #[arg(long)]
    out: PathBuf,
    /// Sub-tokens per window at most, `[CLS]` and `[SEP]` not counted (254 fills BERT's 256 positions)
    #[arg(long, default_value_t = 254)]
    max_tokens: usize,
    /// The tokenizer that counts sub-tokens (the model's to be trained)
    #[arg(long, default_value = "models/base/all-MiniLM-L6-v2/tokenizer.json")]
    tokenizer: PathBuf,
}

pub(super) fn pack(args: PackArgs) -> Result<()> {
    let data = data::resolve_data_dir(args.data)?;
    if args.max_tokens == 0 {
        bail!("--max-tokens must be at least 1");
    }
    let json = model_dir::read(&args.tokenizer)?;
    let tokenizer = medlight_ner::align::load_tokenizer(&json)
        .with_context(|| format!("{}: not a tokenizer.json", args.tokenizer.display()))?;
    for (split, sentences, windows) in
        data::pack_corpus(&data, &tokenizer, args.max_tokens, &args.out)?
    {
        println!(
            "{split}: {sentences} sentences in {windows} windows of at most {} sub-tokens",
            args.max_tokens
        );
    }
    println!("wrote {}", args.out.display());
    Ok(())
}
