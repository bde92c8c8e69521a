//! The command line: `Cli` and its commands, each command's flags and what it runs in a module of
//! its own; the work itself is the `trainer` library's.

use anyhow::{bail, Context, Result};
use candle_core::Device;
use clap::{Args, Parser, Subcommand, ValueEnum};

mod context_eval;
mod eval;
mod linking;
mod model_files;
mod numbers;
mod predict;
mod pretrain;
mod rules;
mod train;

use context_eval::ContextEvalArgs;
use eval::EvalArgs;
use linking::{LinkEvalArgs, LinkIndexArgs};
use model_files::{AverageArgs, DequantizeArgs, QuantizeArgs, RetuneArgs};
use predict::PredictArgs;
use pretrain::{PackArgs, PretrainArgs};
use train::TrainArgs;

#[derive(Parser)]
#[command(version, about, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    train: TrainArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Fine-tune on `<data>/train.tsv`, select on `<data>/devel.tsv`, write the model (the default).
    Train(TrainArgs),
    /// Score a model on an IOB2 file, or on PubTator or JSON Lines documents read as raw text:
    /// entity-level P/R/F1, overall and per type.
    Eval(EvalArgs),
    /// Tag plain text files (or stdin): one JSON line of entities per input.
    Predict(PredictArgs),
    /// Write the quantised model file (`medlight-<quant>.safetensors`) of a trained model directory;
    /// in a directory with only a GGUF file, store that file's weights as safetensors.
    Quantize(QuantizeArgs),
    /// Average several trained models' weights (epochs of one run, or runs with other seeds) into a
    /// model directory, quantised file included.
    Average(AverageArgs),
    /// Set a trained model's decoding (`outside_bias`, lexicon) without retraining: rewrite its
    /// quantised file (same weights) and re-score devel into its metrics and model card.
    Retune(RetuneArgs),
    /// Write f32 weights back from a quantised model file (for a model whose model.safetensors is
    /// gone): a model directory to average with new runs or to score with `--format f32`
    Dequantize(DequantizeArgs),
    /// Write a corpus's train and devel splits as windows of consecutive sentences, to train and read
    /// a model with context (`train --data OUT`, `eval --data OUT/devel.tsv` or `--ensemble DIR@FILE`).
    Pack(PackArgs),
    /// Task-adaptive pretraining: train the base encoder's masked-language-model objective on
    /// unlabelled in-domain text, writing a base directory for `train --base OUT`.
    Pretrain(PretrainArgs),
    /// Score the clinical context rules on a ConText test-kit TSV (negation, temporality,
    /// experiencer).
    ContextEval(ContextEvalArgs),
    /// Build the concept index the linker reads (`concepts.tsv`): MeSH descriptors and the
    /// mentions annotated PubTator files link.
    LinkIndex(LinkIndexArgs),
    /// Score concept linking on a PubTator file: gold-mention accuracy@1 per type, document-level
    /// concept P/R/F1 per type after tagging, and entities left without a concept.
    LinkEval(LinkEvalArgs),
}

/// The word embedding table is looked up, not multiplied: 4-bit blocks halve its share of the
/// download (half the file) and cost no inference time.
const WORD_EMBEDDINGS_QUANT: &str = "q4_0";

#[derive(Clone, Copy, ValueEnum)]
enum DeviceChoice {
    /// CUDA if built with `--features cuda` and a GPU is present, else CPU.
    Auto,
    Cpu,
    Cuda,
}

/// `--device`, shared by every command that runs the model.
#[derive(Clone, Copy, Args)]
struct DeviceArgs {
    #[arg(
        long = "device",
        value_name = "DEVICE",
        value_enum,
        default_value = "auto"
    )]
    choice: DeviceChoice,
}

impl DeviceArgs {
    /// The device chosen, with the CUDA driver settings applied.
    fn open(self) -> Result<Device> {
        let device = match self.choice {
            DeviceChoice::Auto => Device::cuda_if_available(0)?,
            DeviceChoice::Cpu => Device::Cpu,
            DeviceChoice::Cuda => {
                if !cfg!(feature = "cuda") {
                    bail!("--device cuda: this trainer was built without CUDA; rebuild with `--features cuda`");
                }
                Device::new_cuda(0).context("--device cuda: no usable CUDA device")?
            }
        };
        trainer::gpu::tune(&device)?;
        Ok(device)
    }
}

/// Runs the command `cli` names (`train` when it names none).
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        None => train::train(cli.train),
        Some(Command::Train(args)) => train::train(args),
        Some(Command::Eval(args)) => eval::eval(args),
        Some(Command::Predict(args)) => predict::predict(args),
        Some(Command::Quantize(args)) => model_files::quantize(args),
        Some(Command::Average(args)) => model_files::average(args),
        Some(Command::Retune(args)) => model_files::retune(args),
        Some(Command::Dequantize(args)) => model_files::dequantize(args),
        Some(Command::Pack(args)) => pretrain::pack(args),
        Some(Command::Pretrain(args)) => pretrain::pretrain(args),
        Some(Command::LinkIndex(args)) => linking::link_index(args),
        Some(Command::LinkEval(args)) => linking::link_eval(args),
        Some(Command::ContextEval(args)) => context_eval::run(args),
    }
}
