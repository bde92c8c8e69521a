//! `trainer predict`: tags plain text files, one JSON line per input.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use medlight_ner::decode::{char_offset, Decoding};

use trainer::model_dir::{self, Format};

use super::DeviceArgs;

#[derive(Args)]
pub(super) struct PredictArgs {
    /// Model directory (model.safetensors + config.json, or a quantised medlight-*.safetensors) with tokenizer.json
    #[arg(long)]
    model: PathBuf,
    /// Plain text files; `-` or none reads stdin
    files: Vec<PathBuf>,
    #[arg(long, value_enum, default_value = "auto")]
    format: Format,
    #[command(flatten)]
    device: DeviceArgs,
    /// How label distributions become tags
    #[arg(long, value_enum, default_value = "viterbi")]
    decoding: Decoding,
    /// Tag each sentence on its own terms: no one-string-one-type rule across the text
    #[arg(long)]
    no_consistency: bool,
    /// Leave the model config's lexicon unused
    #[arg(long)]
    no_lexicon: bool,
    /// Concept index to link entities with; default: concepts.tsv in the model directory, if any
    #[arg(long)]
    concepts: Option<PathBuf>,
}

#[derive(serde::Serialize)]
pub(super) struct PredictedEntity<'a> {
    start: usize,
    end: usize,
    label: &'a str,
    score: f32,
    text: &'a str,
    context: &'a medlight_ner::context::Context,
    /// The linked MeSH concept; null where the index has none or there is no index.
    concept_id: Option<&'a str>,
    concept_name: Option<&'a str>,
}

pub(super) fn predict(args: PredictArgs) -> Result<()> {
    let tagger = model_dir::load_tagger(&args.model, args.format, &args.device.open()?)?
        .with_decoding(args.decoding)
        .with_consistency(!args.no_consistency)
        .with_lexicon(!args.no_lexicon);
    let concepts = args
        .concepts
        .clone()
        .unwrap_or_else(|| args.model.join("concepts.tsv"));
    let linker = if args.concepts.is_some() || concepts.exists() {
        Some(medlight_ner::linking::Linker::new(
            trainer::linking::read_index(&concepts)?,
        ))
    } else {
        None
    };
    let files = if args.files.is_empty() {
        vec![PathBuf::from("-")]
    } else {
        args.files
    };
    for file in files {
        let text = if file.as_os_str() == "-" {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("reading stdin")?;
            text
        } else {
            std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {} as UTF-8 text", file.display()))?
        };
        let mut entities = tagger.annotate(&text)?;
        if let Some(linker) = &linker {
            linker.link_document(&text, &mut entities);
        }
        let entities: Vec<PredictedEntity> = entities
            .iter()
            .map(|e| PredictedEntity {
                start: char_offset(&text, e.start),
                end: char_offset(&text, e.end),
                label: &e.label,
                score: e.score,
                text: &text[e.start..e.end],
                context: &e.context,
                concept_id: e.concept.as_ref().map(|c| c.id.as_str()),
                concept_name: e.concept.as_ref().map(|c| c.name.as_str()),
            })
            .collect();
        let line =
            serde_json::json!({ "source": file.display().to_string(), "entities": entities });
        println!("{line}");
    }
    Ok(())
}
