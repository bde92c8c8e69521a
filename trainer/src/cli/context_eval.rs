//! `trainer context-eval`: the clinical context rules on a ConText test-kit TSV.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

#[derive(Args)]
pub(super) struct ContextEvalArgs {
    /// The kit's TSV: header, then number, condition, sentence, negation, temporality, experiencer
    #[arg(long)]
    data: PathBuf,
    /// Print the figures as one JSON object on the last line too
    #[arg(long)]
    json: bool,
    /// Which rows to score: all, odd or even (by position), to tune on one half
    #[arg(long, default_value = "all")]
    part: String,
    /// Print each row the rules judge wrong (line, what was wrong, condition, sentence) to stderr
    #[arg(long)]
    errors: bool,
}

pub(super) fn run(args: ContextEvalArgs) -> Result<()> {
    trainer::context_eval::run(&args.data, args.json, &args.part, args.errors)
}
