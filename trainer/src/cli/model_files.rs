//! Commands that rewrite a trained model's files: `retune`, `average`, `quantize`, `dequantize`.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;

use trainer::model_dir::{self};
use trainer::{data, dequantize, export};

use super::numbers;
use super::rules::{LexiconRule, VocabularyRule};
use super::{DeviceArgs, WORD_EMBEDDINGS_QUANT};

#[derive(Args)]
pub(super) struct RetuneArgs {
    /// Model directory (a quantised medlight-*.safetensors with tokenizer.json; metrics.json, MODEL_CARD.md, config.json and
    /// model.safetensors are updated or re-scored when there)
    #[arg(long)]
    model: PathBuf,
    /// The new bias added to `O`'s log-probability when decoding
    #[arg(long, allow_negative_numbers = true, value_parser = numbers::finite_f32)]
    outside_bias: Option<f32>,
    /// Learn the model's lexicon anew from this IOB2 file (the train split it was trained on)
    #[arg(long, value_name = "TSV", conflicts_with = "no_lexicon")]
    lexicon: Option<PathBuf>,
    /// Remove the model's lexicon
    #[arg(long)]
    no_lexicon: bool,
    #[command(flatten)]
    lexicon_rule: LexiconRule,
    /// Add the names of this MeSH descriptors file to the lexicon (see `trainer::vocabulary`)
    #[arg(long, value_name = "TSV", conflicts_with = "no_lexicon")]
    vocabulary: Option<PathBuf>,
    #[command(flatten)]
    vocabulary_rule: VocabularyRule,
    /// IOB2 file to score (default: devel.tsv of the BC5CDR data directory `train` finds)
    #[arg(long)]
    data: Option<PathBuf>,
    #[command(flatten)]
    device: DeviceArgs,
}

pub(super) fn retune(args: RetuneArgs) -> Result<()> {
    // `--lexicon` and `--no-lexicon` conflict (clap), so at most one of the two applies.
    let lexicon = args.lexicon_rule.learn_if_given(args.lexicon.as_deref())?;
    let lexicon = lexicon.or_else(|| args.no_lexicon.then(export::LexiconEntries::new));
    let vocabulary = match &args.vocabulary {
        Some(mesh) => {
            let tokenizer = medlight_ner::align::load_tokenizer(&model_dir::read(
                &args.model.join("tokenizer.json"),
            )?)?;
            Some(args.vocabulary_rule.entries(mesh, &tokenizer)?)
        }
        None => None,
    };
    if args.outside_bias.is_none() && lexicon.is_none() && vocabulary.is_none() {
        bail!("nothing to change: give --outside-bias, --lexicon, --no-lexicon or --vocabulary");
    }
    let change = export::Change {
        outside_bias: args.outside_bias,
        lexicon,
        vocabulary,
    };
    let devel = match args.data {
        Some(file) => file,
        None => data::resolve_data_dir(None)?.join("devel.tsv"),
    };
    let sentences = data::read_iob2(&devel)?;
    let done = export::retune(&args.model, &change, &sentences, &args.device.open()?)?;
    let f32_text = done
        .devel_f32
        .map_or("no f32 weights to score".to_string(), |r| {
            format!("{:.2} f32", 100.0 * r.overall.f1)
        });
    println!(
        "{}: outside_bias {}, {} lexicon names; {} F1 {:.2} quantised ({}), {f32_text}",
        done.file.display(),
        done.outside_bias,
        done.lexicon_entries,
        devel.display(),
        100.0 * done.devel_quantized.overall.f1,
        done.devel_quantized
            .per_type
            .iter()
            .map(|(kind, s)| format!("{kind} {:.2}", 100.0 * s.f1))
            .collect::<Vec<_>>()
            .join(", "),
    );
    Ok(())
}

#[derive(Args)]
pub(super) struct AverageArgs {
    /// Models to average: model directories (their model.safetensors) or .safetensors files, such as
    /// a run's <out>/checkpoint/epoch-N.safetensors
    #[arg(required = true, num_args = 2..)]
    models: Vec<PathBuf>,
    /// Output model directory
    #[arg(long)]
    out: PathBuf,
    /// Directory whose config.json and tokenizer.json the output gets [default: the first model directory]
    #[arg(long)]
    like: Option<PathBuf>,
    /// Block format of the quantised model file
    #[arg(long, default_value = "q8_0")]
    quant: String,
    /// Block format of the word embedding table
    #[arg(long, default_value = WORD_EMBEDDINGS_QUANT)]
    word_embeddings_quant: String,
}

pub(super) fn average(args: AverageArgs) -> Result<()> {
    let files: Vec<PathBuf> = args
        .models
        .iter()
        .map(|m| {
            if m.is_dir() {
                m.join("model.safetensors")
            } else {
                m.clone()
            }
        })
        .collect();
    let Some(like) = args
        .like
        .clone()
        .or_else(|| args.models.iter().find(|m| m.is_dir()).cloned())
    else {
        bail!("--like DIR is needed: no model directory among the inputs to take config.json and tokenizer.json from");
    };
    let config = model_dir::read_config(&like)?;
    trainer::average::save_mean(&files, &args.out)?;
    std::fs::write(args.out.join("config.json"), config.to_json())?;
    let tokenizer = like.join("tokenizer.json");
    std::fs::copy(&tokenizer, args.out.join("tokenizer.json"))
        .with_context(|| format!("cannot copy {}", tokenizer.display()))?;
    let path =
        export::write_quantized(&args.out, &config, &args.quant, &args.word_embeddings_quant)?;
    println!(
        "averaged {} models into {} ({})",
        files.len(),
        args.out.display(),
        path.display()
    );
    Ok(())
}

#[derive(Args)]
pub(super) struct QuantizeArgs {
    /// Model directory with model.safetensors and config.json (or only a *.gguf to convert)
    #[arg(long)]
    model: PathBuf,
    /// Also write a GGUF file of the same blocks here (an optional export; the web app loads the
    /// safetensors file)
    #[arg(long, value_name = "FILE")]
    gguf: Option<PathBuf>,
    /// Block format (q8_0, q5_0, q5_1, q4_0, q4_1, f16, f32)
    #[arg(long, default_value = "q8_0")]
    quant: String,
    /// Block format of the word embedding table
    #[arg(long, default_value = WORD_EMBEDDINGS_QUANT)]
    word_embeddings_quant: String,
}

pub(super) fn quantize(args: QuantizeArgs) -> Result<()> {
    if !args.model.join("model.safetensors").is_file() {
        let gguf = model_dir::quantized_in(&args.model)?;
        if gguf.extension().is_none_or(|x| x != "gguf") {
            bail!("{}: no model.safetensors to quantise", args.model.display());
        }
        let path = export::gguf_to_safetensors(&gguf)?;
        println!(
            "stored {} as {} (same weights, same logits)",
            gguf.display(),
            path.display()
        );
        return Ok(());
    }
    let config = model_dir::read_config(&args.model)?;
    let path = export::write_quantized(
        &args.model,
        &config,
        &args.quant,
        &args.word_embeddings_quant,
    )?;
    println!(
        "wrote {} ({:.1} MB)",
        path.display(),
        std::fs::metadata(&path)?.len() as f64 / 1e6
    );
    // After the safetensors file: writing it clears the directory's stale quantised files, which
    // would include a GGUF just written there.
    if let Some(gguf) = &args.gguf {
        export::write_gguf(
            &args.model,
            &config,
            &args.quant,
            &args.word_embeddings_quant,
            gguf,
        )?;
        println!("wrote {}", gguf.display());
    }
    Ok(())
}

#[derive(Args)]
pub(super) struct DequantizeArgs {
    /// Model directory with the quantised file (medlight-*.safetensors) and tokenizer.json
    #[arg(long)]
    model: PathBuf,
    /// Output model directory
    #[arg(long)]
    out: PathBuf,
    /// Base model directory whose exact word embedding table replaces the file's 4-bit one (for a
    /// model trained with the table frozen, the default)
    #[arg(long, value_name = "DIR")]
    word_embeddings_from: Option<PathBuf>,
}

pub(super) fn dequantize(args: DequantizeArgs) -> Result<()> {
    dequantize::dequantize(&args.model, args.word_embeddings_from.as_deref(), &args.out)?;
    println!("wrote {}", args.out.display());
    Ok(())
}
