//! The student stage: a trained model (the seed soup) teaches a copy of itself on in-domain text that
//! nobody tagged for the task, through its per-word label distributions (soft targets), not its tags.
//!
//! The teacher is two readings averaged: the model by sentence, and the model fine-tuned to read windows
//! of consecutive sentences, by window. The two err differently (docs/experiments.md, "Tried
//! since"), so their mean teaches more than either; the student, trained on the gold train split
//! plus the taught text, reads by sentence as the browser does, at one model's cost. With several
//! rounds, each round's student is the next round's sentence reader.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use candle_core::Device;

use crate::data::{self, Sentence};
use crate::ensemble::{self, Reading};
use crate::export;
use crate::model_dir::{self, Format};
use crate::train::{self, Control, Outcome, Settings};

/// How the stage trains. The defaults are the measured recipe (docs/training.md, "The student").
#[derive(Debug, Clone)]
pub struct Recipe {
    /// Sub-tokens per window of consecutive sentences, for the context reader.
    pub window_tokens: usize,
    pub context_epochs: usize,
    pub context_batch_size: usize,
    pub context_lr: f64,
    pub context_seed: u64,
    /// The teacher's `outside_bias` for the tags written beside its distributions (the student
    /// learns the distributions; the tags only stand in where a word has none).
    pub teacher_outside_bias: f32,
    pub student_epochs: usize,
    pub student_lr: f64,
    pub student_seed: u64,
    /// Teacher-student rounds; each round's student reads by sentence for the next round's teacher.
    pub rounds: usize,
}

impl Default for Recipe {
    fn default() -> Self {
        Self {
            window_tokens: 254,
            context_epochs: 1,
            context_batch_size: 2,
            context_lr: 3e-5,
            context_seed: 42,
            teacher_outside_bias: 2.0,
            student_epochs: 1,
            student_lr: 2e-5,
            student_seed: 43,
            rounds: 1,
        }
    }
}

/// Where the stage works (its runs and their data) and where the final student goes.
#[derive(Debug, Clone, Copy)]
pub struct Dirs<'a> {
    pub work: &'a Path,
    pub out: &'a Path,
}

/// Runs the stage for the model in `teacher` (a model directory: f32 weights, config with its
/// decoding, tokenizer), writing its work under `<work>` and the final student's weights to
/// `out/model.safetensors`. `settings` gives the labelled corpus and everything the recipe leaves
/// as it is (dropout, weight decay, …). The texts' tags are ignored. With `control.resume`, runs
/// whose checkpoints are complete are reloaded, not trained again. `control` must not stop runs
/// early: each stage reads the last one's finished model.
pub fn run(
    teacher: &Path,
    texts: &[PathBuf],
    settings: &Settings,
    recipe: &Recipe,
    dirs: Dirs,
    device: &Device,
    control: Control,
) -> Result<Outcome> {
    let Dirs { work, out } = dirs;
    if texts.is_empty() {
        bail!("the student stage needs text to teach on (--distill-text FILE)");
    }
    if recipe.rounds == 0 {
        bail!("--distill-rounds must be at least 1");
    }
    std::fs::create_dir_all(work).with_context(|| format!("cannot create {}", work.display()))?;
    let tokenizer = model_dir::read(&teacher.join("tokenizer.json"))?;
    let tokenizer = medlight_ner::align::load_tokenizer(&tokenizer)
        .with_context(|| format!("{}/tokenizer.json", teacher.display()))?;

    // The context reader: the teacher fine-tuned on the labelled corpus packed into windows.
    let context_data = work.join("context-data");
    data::pack_corpus(
        &settings.data,
        &tokenizer,
        recipe.window_tokens,
        &context_data,
    )?;
    let context = work.join("context");
    eprintln!("student stage: the context reader, {}", context.display());
    let context_settings = Settings {
        data: context_data,
        base: teacher.to_path_buf(),
        from_scratch: false,
        epochs: recipe.context_epochs,
        batch_size: recipe.context_batch_size,
        lr: recipe.context_lr,
        seed: recipe.context_seed,
        extra_data: Vec::new(),
        average_last: 1,
        ..settings.clone()
    };
    let outcome = train::run(context_settings, &context, device, control)?;
    write_model_files(&outcome, teacher, &context)?;

    // The text, read by sentence and by window.
    let mut sentences = Vec::new();
    for text in texts {
        sentences.extend(data::read_iob2(text)?);
    }
    let windows = work.join("text-windows.tsv");
    data::write_iob2(
        &windows,
        &data::pack(&sentences, &tokenizer, recipe.window_tokens)?,
    )?;

    let mut reader = teacher.to_path_buf();
    for round in 1..=recipe.rounds {
        let taught = work.join(format!("round-{round}")).join("taught");
        eprintln!(
            "student stage, round {round} of {}: {} and {} by window teach",
            recipe.rounds,
            reader.display(),
            context.display()
        );
        teach(
            &reader,
            &context,
            &windows,
            &sentences,
            recipe.teacher_outside_bias,
            &taught,
            device,
        )?;
        let student_dir = if round == recipe.rounds {
            out.to_path_buf()
        } else {
            work.join(format!("round-{round}")).join("student")
        };
        let student_settings = Settings {
            base: teacher.to_path_buf(),
            from_scratch: false,
            epochs: recipe.student_epochs,
            lr: recipe.student_lr,
            seed: recipe.student_seed,
            extra_data: vec![taught],
            average_last: 1,
            ..settings.clone()
        };
        let student = train::run(student_settings, &student_dir, device, control)?;
        if round == recipe.rounds {
            return Ok(student);
        }
        write_model_files(&student, teacher, &student_dir)?;
        reader = student_dir;
    }
    unreachable!("the last round returns")
}

/// Writes `<taught>/train.tsv`: `sentences` with the mean of `reader`'s distributions (by sentence)
/// and `context`'s (reading `windows`, the same words), and the tags decoded from it.
fn teach(
    reader: &Path,
    context: &Path,
    windows: &Path,
    sentences: &[Sentence],
    outside_bias: f32,
    taught: &Path,
    device: &Device,
) -> Result<()> {
    let tagger =
        model_dir::load_tagger(reader, Format::F32, device)?.with_outside_bias(outside_bias);
    let words = data::words(sentences);
    let by_window = Reading {
        model: context.to_path_buf(),
        data: Some(windows.to_path_buf()),
    };
    let distributions = ensemble::read_with(&tagger, &[by_window], sentences, Format::F32, device)?;
    let predicted = tagger.tag_distributions(&words, &distributions, &data::chunks(sentences));
    std::fs::create_dir_all(taught)
        .with_context(|| format!("cannot create {}", taught.display()))?;
    data::write_iob2(
        &taught.join("train.tsv"),
        &data::taught(
            sentences,
            &predicted,
            &distributions,
            tagger.label_set().tags(),
        ),
    )
}

/// The config (with the teacher's decoding: bias and lexicon) and tokenizer beside a run's weights,
/// so that the directory loads as a model.
fn write_model_files(outcome: &Outcome, teacher: &Path, dir: &Path) -> Result<()> {
    let decoding = model_dir::read_config(teacher)?;
    export::write_model_files(outcome, dir, decoding.outside_bias, decoding.lexicon).map(drop)
}
