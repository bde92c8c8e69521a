//! `trainer eval`: scores a model on IOB2 sentences or on documents read as raw text.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;
use medlight_ner::decode::Decoding;
use medlight_ner::{metrics, Tagger};

use trainer::model_dir::{self, Format};
use trainer::{data, ensemble};

use super::numbers;
use super::rules::{LexiconRule, VocabularyRule};
use super::DeviceArgs;

#[derive(Args)]
pub(super) struct EvalArgs {
    /// Model directory (model.safetensors + config.json, or a quantised medlight-*.safetensors) with tokenizer.json
    #[arg(long)]
    model: PathBuf,
    /// What to score: an IOB2 file, or documents read as raw text as the browser reads them, a
    /// PubTator file (`.pubtator`) or JSON Lines (`.jsonl`: `text`, `entities` with character
    /// offsets and labels)
    #[arg(long)]
    data: PathBuf,
    /// Print JSON instead of a table
    #[arg(long)]
    json: bool,
    /// Documents by position (`.pubtator`, `.jsonl`): all, or the odd (1st, 3rd, …) or even half,
    /// to choose on one half and report the other
    #[arg(long, default_value = "all")]
    part: String,
    /// Print each missed and spurious entity (`.pubtator`, `.jsonl`) to stderr
    #[arg(long)]
    errors: bool,
    /// Also write the predicted tags as IOB2 TSV (`token<TAB>gold<TAB>predicted`)
    #[arg(long)]
    write_predictions: Option<PathBuf>,
    /// Also write a corpus for a student: `token<TAB>predicted<TAB>distribution`, the label
    /// distribution (of the ensemble's mean, with `--ensemble`) before decoding; `train --extra-data`
    /// learns the distributions (soft targets)
    #[arg(long, value_name = "TSV")]
    write_distributions: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "auto")]
    format: Format,
    #[command(flatten)]
    device: DeviceArgs,
    /// How label distributions become tags
    #[arg(long, value_enum, default_value = "viterbi")]
    decoding: Decoding,
    /// Decode with this `outside_bias` instead of the model config's; several (`1.5,1.75,2`) score
    /// each from one run of the model
    #[arg(long, allow_negative_numbers = true, value_delimiter = ',', value_name = "BIAS", value_parser = numbers::finite_f32)]
    outside_bias: Vec<f32>,
    /// Tag each sentence on its own terms: no one-string-one-type rule across a chunk of text
    #[arg(long)]
    no_consistency: bool,
    /// Leave the model config's lexicon unused
    #[arg(long)]
    no_lexicon: bool,
    /// Keep entities inside upper-case headings and comma-separated lists whole (`.pubtator`,
    /// `.jsonl`; see `medlight_ner::spans`)
    #[arg(long)]
    no_span_rules: bool,
    /// Use a lexicon learned anew from this IOB2 file (a train split) instead of the model config's
    #[arg(long, value_name = "TSV", conflicts_with = "no_lexicon")]
    lexicon: Option<PathBuf>,
    #[command(flatten)]
    lexicon_rule: LexiconRule,
    /// Also tag the names of this MeSH descriptors file (`descriptors.tsv`) that the model missed,
    /// as the lexicon does (see `trainer::vocabulary`)
    #[arg(long, value_name = "TSV")]
    vocabulary: Option<PathBuf>,
    #[command(flatten)]
    vocabulary_rule: VocabularyRule,
    /// Average the label distributions of another model into the first's before decoding (repeatable;
    /// an experiment, not what the browser runs). `DIR@FILE`: that model reads FILE instead, the same
    /// words split otherwise (windows from `trainer pack`)
    #[arg(long, value_name = "DIR[@FILE]")]
    ensemble: Vec<ensemble::Reading>,
}

pub(super) fn eval(args: EvalArgs) -> Result<()> {
    if (args.write_predictions.is_some() || args.write_distributions.is_some())
        && args.outside_bias.len() > 1
    {
        bail!("--write-predictions and --write-distributions write one decoding: give one --outside-bias");
    }
    let lexicon = args.lexicon_rule.learn_if_given(args.lexicon.as_deref())?;
    let device = args.device.open()?;
    let mut tagger = model_dir::load_tagger(&args.model, args.format, &device)?
        .with_decoding(args.decoding)
        .with_consistency(!args.no_consistency)
        .with_lexicon(!args.no_lexicon)
        .with_span_rules(!args.no_span_rules);
    if let Some(entries) = &lexicon {
        tagger = tagger.with_lexicon_entries(entries);
    }
    if let Some(mesh) = &args.vocabulary {
        let names = args.vocabulary_rule.entries(mesh, tagger.tokenizer())?;
        let base = match (&lexicon, args.no_lexicon) {
            (Some(learned), _) => learned.clone(),
            (None, true) => Default::default(),
            (None, false) => tagger.model().config.lexicon.clone(),
        };
        tagger = tagger.with_lexicon_entries(&trainer::vocabulary::merged(&base, &names));
    }
    let biases = match args.outside_bias.as_slice() {
        [] => vec![tagger.model().config.outside_bias],
        given => given.to_vec(),
    };
    if trainer::text_eval::is_documents(&args.data) {
        return eval_documents(&args, tagger, &biases);
    }
    if args.part != "all" || args.errors {
        bail!("--part and --errors read documents: give a .pubtator or .jsonl file");
    }
    let sentences = data::read_iob2(&args.data)?;
    let words = data::words(&sentences);
    // The model runs once; each bias is a decoding of the same distributions.
    let distributions =
        ensemble::read_with(&tagger, &args.ensemble, &sentences, args.format, &device)?;
    let texts = data::chunks(&sentences);
    let mut reports = Vec::new();
    for &bias in &biases {
        tagger = tagger.with_outside_bias(bias);
        let predicted = tagger.tag_distributions(&words, &distributions, &texts);
        if let Some(path) = &args.write_predictions {
            write_predictions(path, &sentences, &predicted)?;
        }
        if let Some(path) = &args.write_distributions {
            data::write_iob2(
                path,
                &data::taught(
                    &sentences,
                    &predicted,
                    &distributions,
                    tagger.label_set().tags(),
                ),
            )?;
        }
        reports.push(data::score(&sentences, &predicted));
    }
    print_reports(args.json, &biases, &reports)
}

/// `eval` of PubTator or JSON Lines documents: the tagger reads each text whole.
pub(super) fn eval_documents(args: &EvalArgs, mut tagger: Tagger, biases: &[f32]) -> Result<()> {
    if args.write_predictions.is_some()
        || args.write_distributions.is_some()
        || !args.ensemble.is_empty()
    {
        bail!(
            "--write-predictions, --write-distributions and --ensemble read IOB2 files, not {}",
            args.data.display()
        );
    }
    let docs = trainer::pubtator::part(trainer::text_eval::read(&args.data)?, &args.part)?;
    eprintln!("{}: {} documents", args.data.display(), docs.len());
    let mut reports = Vec::new();
    for &bias in biases {
        tagger = tagger.with_outside_bias(bias);
        let (report, misses) = trainer::text_eval::score(&tagger, &docs)?;
        if args.errors {
            for m in &misses {
                eprintln!("{m}");
            }
        }
        reports.push(report);
    }
    print_reports(args.json, biases, &reports)
}

pub(super) fn print_reports(json: bool, biases: &[f32], reports: &[metrics::Report]) -> Result<()> {
    if json {
        let json = match reports {
            [report] => serde_json::to_value(report)?,
            _ => biases
                .iter()
                .zip(reports)
                .map(|(b, r)| serde_json::json!({ "outside_bias": b, "report": r }))
                .collect(),
        };
        println!("{}", serde_json::to_string_pretty(&json)?);
        return Ok(());
    }
    for (bias, report) in biases.iter().zip(reports) {
        if biases.len() > 1 {
            println!("outside_bias {bias}");
        }
        print_report(report);
    }
    Ok(())
}

/// `token<TAB>gold<TAB>predicted` a line, a blank line between sentences.
pub(super) fn write_predictions(
    path: &Path,
    sentences: &[data::Sentence],
    predicted: &[Vec<String>],
) -> Result<()> {
    let mut tsv = String::new();
    for (sentence, tags) in sentences.iter().zip(predicted) {
        for ((word, gold), tag) in sentence.words.iter().zip(&sentence.tags).zip(tags) {
            tsv.push_str(&format!("{word}\t{gold}\t{tag}\n"));
        }
        tsv.push('\n');
    }
    std::fs::write(path, tsv).with_context(|| format!("cannot write {}", path.display()))
}

pub(super) fn print_report(report: &metrics::Report) {
    println!(
        "{:<10} {:>9} {:>9} {:>9} {:>9}",
        "type", "precision", "recall", "f1", "support"
    );
    let row = |name: &str, s: &metrics::Scores| {
        println!(
            "{name:<10} {:>9.2} {:>9.2} {:>9.2} {:>9}",
            100.0 * s.precision,
            100.0 * s.recall,
            100.0 * s.f1,
            s.support
        )
    };
    for (kind, scores) in &report.per_type {
        row(kind, scores);
    }
    row("overall", &report.overall);
}
