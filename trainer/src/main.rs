//! `trainer`: fine-tunes a BERT encoder into Medlight's token classifier (`train`, the default),
//! scores a model (`eval`) and tags plain text (`predict`).

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use candle_core::Device;
use clap::{Args, Parser, Subcommand, ValueEnum};
use medlight_ner::decode::{char_offset, Decoding};
use medlight_ner::{metrics, BertConfig, Tagger};

use trainer::model_dir::{self, Format};
use trainer::{data, dequantize, distill, ensemble, export, soup, train};

mod numbers;

/// Training allocates and frees tensors of a few MB all the time. With glibc's defaults, freed memory at
/// the top of the heap goes back to the kernel and is faulted in again at the next allocation (brk trims,
/// page faults, TLB shootdowns across the worker threads); with the in-place AdamW that cost 25 % of a
/// CPU epoch. Larger thresholds keep the memory: 321–404 → 549–600 training tokens/s on 600 sentences
/// here (477–541 with the earlier tensor-op AdamW).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_freed_memory() {
    // SAFETY: mallopt only sets allocator parameters, before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_freed_memory() {}

#[derive(Parser)]
#[command(version, about, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    train: TrainArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Fine-tune on `<data>/train.tsv`, select on `<data>/devel.tsv`, write the model (the default).
    Train(TrainArgs),
    /// Score a model on an IOB2 file: entity-level P/R/F1, overall and per type.
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

#[derive(Args)]
struct LinkIndexArgs {
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
        default_value = "../shared/data/bc5cdr/pubtator/devel.pubtator"
    )]
    exclude: Vec<PathBuf>,
    /// Where to write the index
    #[arg(long, default_value = "runs/concepts.tsv")]
    out: PathBuf,
}

#[derive(Args)]
struct LinkEvalArgs {
    /// PubTator file with gold mentions and their MeSH IDs
    #[arg(long)]
    data: PathBuf,
    /// Model directory for the end-to-end figures (its tokenizer.json and model file)
    #[arg(long, default_value = "public/models")]
    model: PathBuf,
    /// Concept index (from `link-index`); default: built as `link-index` builds it by default,
    /// leaving out the documents of --data
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
    #[arg(long, value_enum, default_value = "auto")]
    device: DeviceChoice,
}

#[derive(Args)]
struct ContextEvalArgs {
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

#[derive(Args)]
struct DequantizeArgs {
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

#[derive(Args)]
struct RetuneArgs {
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
    #[arg(long, value_enum, default_value = "auto")]
    device: DeviceChoice,
}

#[derive(Args)]
struct AverageArgs {
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

#[derive(Args)]
struct QuantizeArgs {
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

#[derive(Args, Clone)]
struct TrainArgs {
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
    #[arg(long, value_enum, default_value = "auto")]
    device: DeviceChoice,
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
struct DistillArgs {
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

/// Which MeSH names join the lexicon (see `trainer::vocabulary`).
#[derive(Args, Clone)]
struct VocabularyRule {
    /// The IOB2 train split that shows which vocabulary names the annotators leave untagged
    #[arg(
        long,
        value_name = "TSV",
        default_value = "../shared/data/bc5cdr/train.tsv"
    )]
    vocabulary_train: PathBuf,
    /// Keep a vocabulary name that the train split tags in at least this share of its occurrences
    #[arg(long, value_name = "SHARE", default_value_t = 0.5)]
    vocabulary_min_share: f64,
    /// Keep a vocabulary name of at least this many characters, spaces excluded
    #[arg(long, value_name = "CHARS", default_value_t = 4)]
    vocabulary_min_chars: usize,
}

impl VocabularyRule {
    /// The lexicon entries of the descriptors file `mesh`, words split by `tokenizer`.
    fn entries(
        &self,
        mesh: &Path,
        tokenizer: &tokenizers::Tokenizer,
    ) -> Result<export::LexiconEntries> {
        if !(self.vocabulary_min_share > 0.0 && self.vocabulary_min_share <= 1.0) {
            bail!(
                "--vocabulary-min-share {} is not in (0, 1]",
                self.vocabulary_min_share
            );
        }
        let rule = trainer::vocabulary::Rule {
            min_share: self.vocabulary_min_share,
            min_chars: self.vocabulary_min_chars,
        };
        let names = trainer::vocabulary::entries(mesh, &self.vocabulary_train, tokenizer, rule)?;
        let count: usize = names.values().map(Vec::len).sum();
        eprintln!("{}: {count} vocabulary names kept", mesh.display());
        Ok(names)
    }
}

/// Which names of a train split the model's lexicon keeps (see `medlight_ner::lexicon`).
#[derive(Args, Clone)]
struct LexiconRule {
    /// Keep a string that the train split tags as an entity in at least this share of its whole-word
    /// occurrences [default: 0.5]
    #[arg(long, value_name = "SHARE")]
    lexicon_min_share: Option<f64>,
    /// Keep a string of at least this many characters, spaces excluded [default: 4]
    #[arg(long, value_name = "CHARS")]
    lexicon_min_chars: Option<usize>,
}

impl LexiconRule {
    /// The lexicon of `file`'s first `max_sentences` sentences (all if `None`).
    fn learn(&self, file: &Path, max_sentences: Option<usize>) -> Result<export::LexiconEntries> {
        let share = self.lexicon_min_share.unwrap_or(0.5);
        let chars = self.lexicon_min_chars.unwrap_or(4);
        export::learn_lexicon(file, max_sentences, share, chars)
    }

    /// The lexicon of `file` when one is given (`--lexicon TSV`); without it, `None`, and a rule given
    /// anyway is an error.
    fn learn_if_given(&self, file: Option<&Path>) -> Result<Option<export::LexiconEntries>> {
        match file {
            Some(file) => Ok(Some(self.learn(file, None)?)),
            None => {
                self.unused("without --lexicon TSV (the file to learn the lexicon from)")?;
                Ok(None)
            }
        }
    }

    /// An error when a rule was given that no lexicon will be learned with (`why`: the flags that say so).
    fn unused(&self, why: &str) -> Result<()> {
        let given = [
            ("--lexicon-min-share", self.lexicon_min_share.is_some()),
            ("--lexicon-min-chars", self.lexicon_min_chars.is_some()),
        ];
        match given.iter().find(|(_, given)| *given) {
            Some((flag, _)) => bail!("{flag} has no effect {why}"),
            None => Ok(()),
        }
    }
}

#[derive(Args)]
struct EvalArgs {
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
    #[arg(long, value_enum, default_value = "auto")]
    device: DeviceChoice,
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

#[derive(Args)]
struct PackArgs {
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

#[derive(Args)]
struct PretrainArgs {
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
    #[arg(long, value_enum, default_value = "auto")]
    device: DeviceChoice,
    /// Continue from `<out>/checkpoint/`
    #[arg(long)]
    resume: bool,
}

#[derive(Args)]
struct PredictArgs {
    /// Model directory (model.safetensors + config.json, or a quantised medlight-*.safetensors) with tokenizer.json
    #[arg(long)]
    model: PathBuf,
    /// Plain text files; `-` or none reads stdin
    files: Vec<PathBuf>,
    #[arg(long, value_enum, default_value = "auto")]
    format: Format,
    #[arg(long, value_enum, default_value = "auto")]
    device: DeviceChoice,
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

fn main() -> Result<()> {
    keep_freed_memory();
    let cli = Cli::parse();
    match cli.command {
        None => train(cli.train),
        Some(Command::Train(args)) => train(args),
        Some(Command::Eval(args)) => eval(args),
        Some(Command::Predict(args)) => predict(args),
        Some(Command::Quantize(args)) => quantize(args),
        Some(Command::Average(args)) => average(args),
        Some(Command::Retune(args)) => retune(args),
        Some(Command::Pack(args)) => pack(args),
        Some(Command::Pretrain(args)) => pretrain(args),
        Some(Command::LinkIndex(a)) => link_index(a),
        Some(Command::LinkEval(a)) => link_eval(a),
        Some(Command::ContextEval(a)) => {
            trainer::context_eval::run(&a.data, a.json, &a.part, a.errors)
        }
        Some(Command::Dequantize(args)) => {
            dequantize::dequantize(&args.model, args.word_embeddings_from.as_deref(), &args.out)?;
            println!("wrote {}", args.out.display());
            Ok(())
        }
    }
}

fn retune(args: RetuneArgs) -> Result<()> {
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
    let done = export::retune(&args.model, &change, &sentences, &device(args.device)?)?;
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

fn average(args: AverageArgs) -> Result<()> {
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

fn quantize(args: QuantizeArgs) -> Result<()> {
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

fn device(choice: DeviceChoice) -> Result<Device> {
    let device = match choice {
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

fn train(args: TrainArgs) -> Result<()> {
    let device = device(args.device)?;
    let data = data::resolve_data_dir(args.data)?;
    // Learned first, so that a bad setting fails before hours of training.
    let lexicon = if args.no_lexicon {
        args.lexicon_rule.unused("with --no-lexicon")?;
        export::LexiconEntries::new()
    } else {
        args.lexicon_rule
            .learn(&data.join("train.tsv"), args.max_train_sentences)?
    };
    trainer::base_model::ensure(&args.base, args.from_scratch)?;
    let lexicon = if args.no_lexicon || args.no_vocabulary {
        lexicon
    } else {
        let tokenizer = medlight_ner::align::load_tokenizer(&model_dir::read(
            &args.base.join("tokenizer.json"),
        )?)
        .with_context(|| format!("{}/tokenizer.json", args.base.display()))?;
        let names = args
            .vocabulary_rule
            .entries(&args.vocabulary, &tokenizer)
            .context("the MeSH names for the lexicon (--vocabulary TSV, or --no-vocabulary)")?;
        trainer::vocabulary::merged(&lexicon, &names)
    };
    // Dropout defaults come from the base config when it is readable; train::run reports it if not.
    let base_config = std::fs::read_to_string(args.base.join("config.json"))
        .ok()
        .and_then(|text| BertConfig::from_json(&text).ok());
    if args.seeds.is_empty() {
        bail!("--seeds needs at least one seed");
    }
    let settings = train::Settings {
        data,
        base: args.base,
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
        extra_data: args.extra_data,
        precision: args.precision,
        average_last: args.average_last,
    };
    medlight_ner::model::quantize::parse_dtype(&args.quant)?;
    medlight_ner::model::quantize::parse_dtype(&args.word_embeddings_quant)?;
    if settings.batch_size == 0 || settings.epochs == 0 || settings.average_last == 0 {
        bail!("--batch-size, --epochs and --average-last must be positive");
    }
    let control = train::Control {
        resume: args.resume,
        stop_after_epoch: None,
    };
    let export_with = |outside_bias: f32| export::Export {
        quant: args.quant.clone(),
        word_embeddings_quant: args.word_embeddings_quant.clone(),
        outside_bias,
        lexicon: lexicon.clone(),
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
            eprintln!(
                "training on {:?} from {}, writing {}",
                device,
                settings.base.display(),
                soup_out.display()
            );
            let runs = match args.seeds.as_slice() {
                [_] => vec![train::run(settings.clone(), &soup_out, &device, control)?],
                seeds => {
                    let members =
                        soup::train_members(&settings, seeds, &args.out, &device, control)?;
                    soup::write_mean(&members, &args.out, &soup_out)?;
                    members
                }
            };
            let soup_bias = if args.distill.no_distill {
                args.outside_bias.unwrap_or(SOUP_OUTSIDE_BIAS)
            } else {
                SOUP_OUTSIDE_BIAS
            };
            report(
                &export::finish(&runs, &soup_out, &export_with(soup_bias), &device)?,
                &soup_out,
            )?;
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
        &export_with(args.outside_bias.unwrap_or(STUDENT_OUTSIDE_BIAS)),
        &device,
    )?;
    report(&m, &args.out)
}

/// `--outside-bias`'s defaults: the soup's best on devel (1.75), and the student's (2.5), which
/// learned less certain distributions (docs/training.md).
const SOUP_OUTSIDE_BIAS: f32 = 1.75;
const STUDENT_OUTSIDE_BIAS: f32 = 2.5;

/// Prints what `train` wrote to `out` and how it scores.
fn report(m: &export::Metrics, out: &Path) -> Result<()> {
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

fn eval(args: EvalArgs) -> Result<()> {
    if (args.write_predictions.is_some() || args.write_distributions.is_some())
        && args.outside_bias.len() > 1
    {
        bail!("--write-predictions and --write-distributions write one decoding: give one --outside-bias");
    }
    let lexicon = args.lexicon_rule.learn_if_given(args.lexicon.as_deref())?;
    let device = device(args.device)?;
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
fn eval_documents(args: &EvalArgs, mut tagger: Tagger, biases: &[f32]) -> Result<()> {
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

fn print_reports(json: bool, biases: &[f32], reports: &[metrics::Report]) -> Result<()> {
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
fn write_predictions(
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

fn print_report(report: &metrics::Report) {
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

fn pretrain(args: PretrainArgs) -> Result<()> {
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
    let state = trainer::pretrain::run(settings, &args.out, &device(args.device)?, control)?;
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

fn pack(args: PackArgs) -> Result<()> {
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

#[derive(serde::Serialize)]
struct PredictedEntity<'a> {
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

fn predict(args: PredictArgs) -> Result<()> {
    let tagger = model_dir::load_tagger(&args.model, args.format, &device(args.device)?)?
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

fn link_index(args: LinkIndexArgs) -> Result<()> {
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

fn link_eval(args: LinkEvalArgs) -> Result<()> {
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
            "gold mentions  {label:<8}  accuracy@1 {:.4}  ({} of {}; {} without a concept)",
            mentions.accuracy(label),
            mentions.correct.get(label).unwrap_or(&0),
            mentions.total.get(label).unwrap_or(&0),
            mentions.unlinked.get(label).unwrap_or(&0)
        );
    }
    let documents = if args.no_tagging {
        None
    } else {
        let tagger = model_dir::load_tagger(&args.model, args.format, &device(args.device)?)?;
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
