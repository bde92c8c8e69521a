//! `trainer train` (the default command): its flags, the plan and the runs.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use candle_core::Device;
use clap::Args;
use medlight_ner::BertConfig;

use trainer::model_dir::{self};
use trainer::{data, distill, export, soup, train};

use super::numbers;
use super::rules::{LexiconRule, VocabularyRule};
use super::{DeviceArgs, WORD_EMBEDDINGS_QUANT};

#[derive(Args, Clone)]
pub(super) struct TrainArgs {
    /// Directory holding train.tsv and devel.tsv (IOB2) [default: data/bc5cdr, else ../shared/data/bc5cdr]
    #[arg(long, env = "MEDLIGHT_DATA")]
    data: Option<PathBuf>,
    /// Base BERT directory: config.json, tokenizer.json, model.safetensors
    #[arg(long, default_value = "models/base/all-MiniLM-L6-v2")]
    base: PathBuf,
    /// Output directory
    #[arg(long, default_value_os_t = export::default_out())]
    out: PathBuf,
    /// Epochs (12: devel F1 still rose after 6, +0.36 for the quantised file on the CPU)
    #[arg(long, default_value_t = 12)]
    epochs: usize,
    /// Sentences per batch
    #[arg(long, default_value_t = 16)]
    batch_size: usize,
    /// Peak learning rate
    #[arg(long, default_value_t = 2e-4, value_parser = numbers::positive)]
    lr: f64,
    /// Fraction of steps spent warming up the learning rate
    #[arg(long, default_value_t = 0.1, value_parser = numbers::share)]
    warmup: f64,
    #[arg(long, default_value_t = 0.01, value_parser = numbers::non_negative)]
    weight_decay: f64,
    /// Clip gradients to this global norm (0: off)
    #[arg(long, default_value_t = 1.0, value_parser = numbers::non_negative)]
    clip: f64,
    /// Hidden dropout [default: the base config's hidden_dropout_prob]
    #[arg(long, value_parser = numbers::below_one_f32)]
    dropout: Option<f32>,
    /// Attention dropout [default: the base config's attention_probs_dropout_prob]
    #[arg(long, value_parser = numbers::below_one_f32)]
    attention_dropout: Option<f32>,
    #[arg(long, default_value_t = 0.0, value_parser = numbers::below_one)]
    label_smoothing: f64,
    /// Also fine-tune the word embeddings. By default they stay as pretrained: steps are faster (no
    /// dense gradient and AdamW update of the 30k-row table) and devel F1 was no lower.
    #[arg(long)]
    train_word_embeddings: bool,
    /// Seeds, comma-separated. One seed: one run into --out. Several: a seed soup, one run per seed in
    /// <out>/seed-S, and the model in --out the element-wise mean of their best weights (the default:
    /// three seeds scored 85.51 quantised devel F1 against 84.99 for seed 42 alone; a fourth, 86.93
    /// against 86.75 with the shipped decoding)
    #[arg(long = "seeds", alias = "seed", value_delimiter = ',', default_values_t = [42, 43, 44, 45], value_name = "S,...")]
    seeds: Vec<u64>,
    #[command(flatten)]
    device: DeviceArgs,
    /// Matrix-product precision while training (bf16: mixed precision, f32 master weights)
    #[arg(long, value_enum, default_value = "f32")]
    precision: train::Precision,
    /// Block format of the quantised model file (q8_0, q5_0, q5_1, q4_0, q4_1)
    #[arg(long, default_value = "q8_0")]
    quant: String,
    /// Block format of the word embedding table in the quantised file
    #[arg(long, default_value = WORD_EMBEDDINGS_QUANT)]
    word_embeddings_quant: String,
    /// Written into the model's config: added to the log-probability of `O` when decoding (> 0: fewer,
    /// surer entities). [default: 2.5 for the student, which learned the teacher's less certain
    /// distributions; 1.75 with --no-distill, the soup's best on devel (docs/training.md)];
    /// `retune` changes it in a trained model
    #[arg(long, allow_negative_numbers = true, value_parser = numbers::finite_f32)]
    outside_bias: Option<f32>,
    #[command(flatten)]
    distill: DistillArgs,
    /// Export no lexicon (names of the train split, tagged where the model missed them), and no
    /// vocabulary names
    #[arg(long)]
    no_lexicon: bool,
    #[command(flatten)]
    lexicon_rule: LexiconRule,
    /// MeSH descriptors whose names join the exported lexicon (see `trainer::vocabulary`)
    #[arg(long, value_name = "TSV", default_value = trainer::linking::DEFAULT_MESH)]
    vocabulary: PathBuf,
    /// Export the lexicon without vocabulary names
    #[arg(long)]
    no_vocabulary: bool,
    #[command(flatten)]
    vocabulary_rule: VocabularyRule,
    /// Continue the run checkpointed in <out>/checkpoint
    #[arg(long)]
    resume: bool,
    /// Start from random weights (the base directory then needs no model.safetensors)
    #[arg(long)]
    from_scratch: bool,
    /// Also train on DIR/train.tsv, a corpus annotating some of the entity types (repeatable; e.g.
    /// ../shared/data/ncbi-disease, Disease only). Its `O` may stand for a type it does not annotate,
    /// so the loss there is over the tags it allows. Models are still selected on --data's devel.tsv.
    #[arg(long, value_name = "DIR")]
    extra_data: Vec<PathBuf>,
    /// After each epoch also score the mean of the last N epochs' weights, and keep it when it beats
    /// every single epoch on devel (1: off)
    #[arg(long, default_value_t = 1, value_name = "N")]
    average_last: usize,
    /// Use only the first N training sentences (of each corpus)
    #[arg(long)]
    max_train_sentences: Option<usize>,
    /// Use only the first N devel sentences
    #[arg(long)]
    max_devel_sentences: Option<usize>,
}

/// The student stage after the soup (`distill.rs`).
#[derive(Args, Clone)]
pub(super) struct DistillArgs {
    /// Ship the soup itself: no student stage
    #[arg(long)]
    no_distill: bool,
    /// In-domain text the soup teaches the student on, IOB2 (its tags are ignored; repeatable)
    /// [default: train.tsv and devel.tsv of ncbi-disease beside the data directory]
    #[arg(long, value_name = "FILE")]
    distill_text: Vec<PathBuf>,
    /// Teacher-student rounds (each round's student reads by sentence for the next teacher)
    #[arg(long, default_value_t = distill::Recipe::default().rounds, value_name = "N")]
    distill_rounds: usize,
    /// Train no soup: this trained model directory (f32 weights, config, tokenizer) teaches the
    /// student (how the shipped file was made from the soup's dequantised weights,
    /// docs/training.md)
    #[arg(long, value_name = "DIR", conflicts_with = "no_distill")]
    teacher: Option<PathBuf>,
}

impl DistillArgs {
    /// The texts to teach on: the flag's, else NCBI-disease's splits beside `data`.
    fn texts(&self, data: &Path) -> Result<Vec<PathBuf>> {
        if !self.distill_text.is_empty() {
            return Ok(self.distill_text.clone());
        }
        let ncbi = data.parent().unwrap_or(Path::new(".")).join("ncbi-disease");
        let files = vec![ncbi.join("train.tsv"), ncbi.join("devel.tsv")];
        if let Some(missing) = files.iter().find(|f| !f.is_file()) {
            bail!(
                "the student stage reads {} (NCBI-disease's text, beside the data directory): pass --distill-text FILE, or --no-distill to ship the soup",
                missing.display()
            );
        }
        Ok(files)
    }
}

pub(super) fn train(args: TrainArgs) -> Result<()> {
    let device = args.device.open()?;
    let data = data::resolve_data_dir(args.data.clone())?;
    // Learned first, so that a bad setting fails before hours of training.
    let lexicon = learned_lexicon(&args, &data)?;
    trainer::base_model::ensure(&args.base, args.from_scratch)?;
    let lexicon = with_vocabulary(&args, lexicon)?;
    let settings = settings(&args, data)?;
    medlight_ner::model::quantize::parse_dtype(&args.quant)?;
    medlight_ner::model::quantize::parse_dtype(&args.word_embeddings_quant)?;
    if settings.batch_size == 0 || settings.epochs == 0 || settings.average_last == 0 {
        bail!("--batch-size, --epochs and --average-last must be positive");
    }
    let control = train::Control {
        resume: args.resume,
        stop_after_epoch: None,
    };
    let texts = if args.distill.no_distill {
        Vec::new()
    } else {
        args.distill.texts(&settings.data)?
    };
    let soup_out = if args.distill.no_distill {
        args.out.clone()
    } else {
        args.out.join("soup")
    };
    let recipe = distill::Recipe {
        rounds: args.distill.distill_rounds,
        ..Default::default()
    };
    let soup_runs = if args.distill.teacher.is_some() {
        0
    } else {
        args.seeds.len()
    };
    let distilled = (!args.distill.no_distill).then_some((&recipe, texts.as_slice()));
    trainer::plan::start(&settings, soup_runs, distilled, &device)?;
    let teacher = match &args.distill.teacher {
        Some(teacher) => teacher.clone(),
        None => {
            train_soup(&args, &settings, control, &soup_out, &lexicon, &device)?;
            if args.distill.no_distill {
                return Ok(());
            }
            soup_out
        }
    };
    let student = distill::run(
        &teacher,
        &texts,
        &settings,
        &recipe,
        distill::Dirs {
            work: &args.out.join("distill"),
            out: &args.out,
        },
        &device,
        control,
    )?;
    let m = export::finish(
        &[student],
        &args.out,
        &export_with(
            &args,
            &lexicon,
            args.outside_bias.unwrap_or(STUDENT_OUTSIDE_BIAS),
        ),
        &device,
    )?;
    report(&m, &args.out)
}

/// The names of the train split for the lexicon (none with `--no-lexicon`).
fn learned_lexicon(args: &TrainArgs, data: &Path) -> Result<export::LexiconEntries> {
    if args.no_lexicon {
        args.lexicon_rule.unused("with --no-lexicon")?;
        Ok(export::LexiconEntries::new())
    } else {
        args.lexicon_rule
            .learn(&data.join("train.tsv"), args.max_train_sentences)
    }
}

/// `lexicon` with the vocabulary's names, unless `--no-lexicon` or `--no-vocabulary`.
fn with_vocabulary(
    args: &TrainArgs,
    lexicon: export::LexiconEntries,
) -> Result<export::LexiconEntries> {
    if args.no_lexicon || args.no_vocabulary {
        return Ok(lexicon);
    }
    let tokenizer =
        medlight_ner::align::load_tokenizer(&model_dir::read(&args.base.join("tokenizer.json"))?)
            .with_context(|| format!("{}/tokenizer.json", args.base.display()))?;
    let names = args
        .vocabulary_rule
        .entries(&args.vocabulary, &tokenizer)
        .context("the MeSH names for the lexicon (--vocabulary TSV, or --no-vocabulary)")?;
    Ok(trainer::vocabulary::merged(&lexicon, &names))
}

/// The settings of each run, the first seed's (a soup's runs differ only in the seed).
fn settings(args: &TrainArgs, data: PathBuf) -> Result<train::Settings> {
    // Dropout defaults come from the base config when it is readable; train::run reports it if not.
    let base_config = std::fs::read_to_string(args.base.join("config.json"))
        .ok()
        .and_then(|text| BertConfig::from_json(&text).ok());
    if args.seeds.is_empty() {
        bail!("--seeds needs at least one seed");
    }
    Ok(train::Settings {
        data,
        base: args.base.clone(),
        from_scratch: args.from_scratch,
        epochs: args.epochs,
        batch_size: args.batch_size,
        lr: args.lr,
        warmup: args.warmup,
        weight_decay: args.weight_decay,
        clip: args.clip,
        hidden_dropout: args.dropout.unwrap_or(
            base_config
                .as_ref()
                .map_or(0.1, |c| c.hidden_dropout_prob as f32),
        ),
        attention_dropout: args.attention_dropout.unwrap_or(
            base_config
                .as_ref()
                .map_or(0.1, |c| c.attention_probs_dropout_prob as f32),
        ),
        label_smoothing: args.label_smoothing,
        freeze_embeddings: !args.train_word_embeddings,
        seed: args.seeds[0],
        max_train_sentences: args.max_train_sentences,
        max_devel_sentences: args.max_devel_sentences,
        extra_data: args.extra_data.clone(),
        precision: args.precision,
        average_last: args.average_last,
    })
}

fn export_with(
    args: &TrainArgs,
    lexicon: &export::LexiconEntries,
    outside_bias: f32,
) -> export::Export {
    export::Export {
        quant: args.quant.clone(),
        word_embeddings_quant: args.word_embeddings_quant.clone(),
        outside_bias,
        lexicon: lexicon.clone(),
    }
}

/// Trains one run per seed into `soup_out` (several: their mean), and exports and reports it.
fn train_soup(
    args: &TrainArgs,
    settings: &train::Settings,
    control: train::Control,
    soup_out: &Path,
    lexicon: &export::LexiconEntries,
    device: &Device,
) -> Result<()> {
    eprintln!(
        "training on {:?} from {}, writing {}",
        device,
        settings.base.display(),
        soup_out.display()
    );
    let runs = match args.seeds.as_slice() {
        [_] => vec![train::run(settings.clone(), soup_out, device, control)?],
        seeds => {
            let members = soup::train_members(settings, seeds, &args.out, device, control)?;
            soup::write_mean(&members, &args.out, soup_out)?;
            members
        }
    };
    let soup_bias = if args.distill.no_distill {
        args.outside_bias.unwrap_or(SOUP_OUTSIDE_BIAS)
    } else {
        SOUP_OUTSIDE_BIAS
    };
    report(
        &export::finish(
            &runs,
            soup_out,
            &export_with(args, lexicon, soup_bias),
            device,
        )?,
        soup_out,
    )
}

/// `--outside-bias`'s defaults: the soup's best on devel (1.75), and the student's (2.5), which
/// learned less certain distributions (docs/training.md).
pub(super) const SOUP_OUTSIDE_BIAS: f32 = 1.75;

pub(super) const STUDENT_OUTSIDE_BIAS: f32 = 2.5;

/// Prints what `train` wrote to `out` and how it scores.
pub(super) fn report(m: &export::Metrics, out: &Path) -> Result<()> {
    for run in m.runs.iter().filter(|_| m.runs.len() > 1) {
        println!(
            "seed {}: devel F1 {:.2} (f32), best epoch {}",
            run.seed,
            100.0 * run.best_f1,
            run.best_epoch
        );
    }
    println!(
        "devel F1 {:.2} (f32) / {:.2} ({}, {:.1} MB) [{}]; {}; {:.0} s training, {:.0} tokens/s",
        100.0 * m.devel_f32.as_ref().map_or(f64::NAN, |r| r.overall.f1),
        100.0 * m.devel_quantized.overall.f1,
        m.quantization,
        m.quantized_bytes as f64 / 1e6,
        train::per_type_f1(&m.devel_quantized),
        match m.runs.as_slice() {
            [run] => format!("best epoch {}", run.best_epoch),
            runs => format!("mean of {} runs", runs.len()),
        },
        m.train_seconds,
        m.tokens_per_second
    );
    println!("wrote {}", out.display());
    Ok(())
}
