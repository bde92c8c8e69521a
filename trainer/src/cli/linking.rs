//! `trainer link-index` and `trainer link-eval`: the concept index and its scores.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::Args;

use trainer::model_dir::{self, Format};

use super::DeviceArgs;

#[derive(Args)]
pub(super) struct LinkIndexArgs {
    /// MeSH descriptors: TSV of id, name, tree_numbers, terms (`|`-separated)
    #[arg(long, default_value = trainer::linking::DEFAULT_MESH)]
    mesh: PathBuf,
    /// Annotated PubTator files whose mentions the index learns (repeatable)
    #[arg(
        long = "train",
        default_values = trainer::linking::DEFAULT_TRAIN
    )]
    train: Vec<PathBuf>,
    /// PubTator files whose documents (by PMID) the index must not learn from, so that scores on
    /// them stay honest (repeatable)
    #[arg(
        long = "exclude",
        default_value = trainer::linking::DEFAULT_DEVEL
    )]
    exclude: Vec<PathBuf>,
    /// Where to write the index
    #[arg(long, default_value = "runs/concepts.tsv")]
    out: PathBuf,
}

pub(super) fn link_index(args: LinkIndexArgs) -> Result<()> {
    let built = trainer::linking::build_index(&args.mesh, &args.train, &args.exclude)?;
    if let Some(parent) = args.out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    std::fs::write(&args.out, built.index.to_tsv())
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    println!("{}: {}", args.out.display(), built.summary());
    Ok(())
}

#[derive(Args)]
pub(super) struct LinkEvalArgs {
    /// PubTator file with gold mentions and their MeSH IDs
    #[arg(long)]
    data: PathBuf,
    /// Model directory for the end-to-end figures (its tokenizer.json and model file)
    #[arg(long, default_value = "public/models")]
    model: PathBuf,
    /// Concept index (from `link-index`); default: built from `link-index`'s default sources
    /// (BC5CDR devel among them), leaving out the documents of --data instead of devel's
    #[arg(long)]
    concepts: Option<PathBuf>,
    /// The least similarity at which the fuzzy fallback links (0 to 1); default: the linker's
    #[arg(long)]
    threshold: Option<f32>,
    /// Only link the gold mentions; skip tagging
    #[arg(long)]
    no_tagging: bool,
    /// Print each gold mention linked wrong (PMID, type, mention, gold IDs, what was linked) to stderr
    #[arg(long)]
    errors: bool,
    /// Which documents to score: all, odd or even (by position), to tune on one half
    #[arg(long, default_value = "all")]
    part: String,
    /// Print the figures as one JSON object on the last line too
    #[arg(long)]
    json: bool,
    #[arg(long, value_enum, default_value = "auto")]
    format: Format,
    #[command(flatten)]
    device: DeviceArgs,
}

pub(super) fn link_eval(args: LinkEvalArgs) -> Result<()> {
    use trainer::linking;
    let index = match &args.concepts {
        Some(file) => linking::read_index(file)?,
        None => {
            // The index `link-index` would write, learning nothing from the documents scored.
            let built = linking::build_index(
                Path::new(linking::DEFAULT_MESH),
                &linking::DEFAULT_TRAIN.map(PathBuf::from),
                std::slice::from_ref(&args.data),
            )?;
            eprintln!(
                "concept index built from {}: {}",
                linking::DEFAULT_MESH,
                built.summary()
            );
            built.index
        }
    };
    let concepts = args
        .concepts
        .clone()
        .unwrap_or_else(|| PathBuf::from("built"));
    let mut linker = medlight_ner::linking::Linker::new(index);
    if let Some(t) = args.threshold {
        if !(0.0..=1.0).contains(&t) {
            bail!("--threshold: expected a similarity from 0 to 1, got {t}");
        }
        linker.threshold = t;
    }
    let docs = trainer::pubtator::part(trainer::pubtator::read(&args.data)?, &args.part)?;
    let mentions = linking::score_mentions(&linker, &docs);
    if !mentions.unknown_ids.is_empty() {
        let some: Vec<&str> = mentions
            .unknown_ids
            .iter()
            .take(10)
            .map(String::as_str)
            .collect();
        eprintln!(
            "{}: {} gold IDs are not in the index {} (mentions of them count as wrong): {}…",
            args.data.display(),
            mentions.unknown_ids.len(),
            concepts.display(),
            some.join(", ")
        );
    }
    if args.errors {
        for e in &mentions.errors {
            eprintln!("{e}");
        }
    }
    println!("{} documents", docs.len());
    for label in medlight_ner::linking::LABELS {
        println!(
            "gold mentions  {label:<8}  accuracy@1 {:.4}  ({} of {}; {} without a concept; \
             at most {:.4}: {} with every gold ID in the index)",
            mentions.accuracy(label),
            mentions.correct.get(label).unwrap_or(&0),
            mentions.total.get(label).unwrap_or(&0),
            mentions.unlinked.get(label).unwrap_or(&0),
            mentions.ceiling(label),
            mentions.reachable.get(label).unwrap_or(&0),
        );
    }
    let documents = if args.no_tagging {
        None
    } else {
        let tagger = model_dir::load_tagger(&args.model, args.format, &args.device.open()?)?;
        let d = linking::score_documents(&tagger, &linker, &docs)?;
        for label in medlight_ner::linking::LABELS {
            let (p, r, f) = d.prf(label);
            println!(
                "documents      {label:<8}  P {p:.4}  R {r:.4}  F1 {f:.4}  ({} of {} tagged entities without a concept)",
                d.unlinked.get(label).unwrap_or(&0),
                d.entities.get(label).unwrap_or(&0)
            );
        }
        Some(d)
    };
    if args.json {
        println!("{}", linking::json(&mentions, documents.as_ref()));
    }
    Ok(())
}
