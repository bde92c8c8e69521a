//! The `train` pipeline's plan, counted before any training: its stages, their epochs and steps, so
//! that the trainer can say up front what it will do and (with a measured time per step) how long.

use std::path::PathBuf;

use anyhow::{Context, Result};
use medlight_ner::align::{self, SpecialTokens};
use medlight_ner::{BertConfig, LabelSet};

use crate::batches;
use crate::data;
use crate::distill::Recipe;
use crate::train::Settings;

/// One stage: `runs` trainings of `epochs` epochs of `steps` steps each.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    pub name: &'static str,
    pub runs: usize,
    pub epochs: usize,
    pub steps: usize,
}

impl Stage {
    pub fn total(&self) -> usize {
        self.runs * self.epochs * self.steps
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub stages: Vec<Stage>,
}

impl Plan {
    /// The plan for `seeds` soup runs (none when a teacher is given) and, with a recipe, the
    /// distillation stage on `texts`.
    pub fn count(
        settings: &Settings,
        seeds: usize,
        distill: Option<(&Recipe, &[PathBuf])>,
    ) -> Result<Self> {
        let counter = Counter::new(settings)?;
        let mut train = data::read_iob2(&settings.data.join("train.tsv"))?;
        truncate(&mut train, settings.max_train_sentences);
        let train_examples = counter.examples(&train)?;
        let mut stages = Vec::new();
        if seeds > 0 {
            let mut examples = train_examples;
            for dir in &settings.extra_data {
                let mut extra = data::read_iob2(&dir.join("train.tsv"))?;
                truncate(&mut extra, settings.max_train_sentences);
                examples += counter.examples(&extra)?;
            }
            let steps = examples.div_ceil(settings.batch_size);
            stages.push(Stage {
                name: "soup",
                runs: seeds,
                epochs: settings.epochs,
                steps,
            });
        }
        if let Some((recipe, texts)) = distill {
            let mut windows = data::pack(&train, &counter.tokenizer, recipe.window_tokens)?;
            truncate(&mut windows, settings.max_train_sentences);
            let steps = counter
                .examples(&windows)?
                .div_ceil(recipe.context_batch_size);
            stages.push(Stage {
                name: "context reader",
                runs: 1,
                epochs: recipe.context_epochs,
                steps,
            });
            let mut text = Vec::new();
            for path in texts {
                text.extend(data::read_iob2(path)?);
            }
            truncate(&mut text, settings.max_train_sentences);
            // The text's own tags are replaced by the teacher's; only its sentences count here.
            // Counted by words, a slight undercount where sub-tokens overflow the window.
            let taught = text
                .iter()
                .map(|s| s.words.len().div_ceil(counter.window).max(1))
                .sum::<usize>();
            let steps = (train_examples + taught).div_ceil(settings.batch_size);
            let (runs, epochs) = (recipe.rounds, recipe.student_epochs);
            stages.push(Stage {
                name: "distillation round",
                runs,
                epochs,
                steps,
            });
        }
        Ok(Self { stages })
    }

    pub fn total_steps(&self) -> usize {
        self.stages.iter().map(Stage::total).sum()
    }

    /// One line: each stage's runs × epochs × steps, and the total.
    pub fn describe(&self) -> String {
        let stages: Vec<String> = self
            .stages
            .iter()
            .map(|s| {
                format!(
                    "{} × {} ({} epochs × {} steps)",
                    s.runs, s.name, s.epochs, s.steps
                )
            })
            .collect();
        format!(
            "plan: {}, then export and scoring = {} steps",
            stages.join(", then "),
            self.total_steps()
        )
    }
}

/// Counts and prints the plan, then starts the pipeline's progress bar over its steps.
pub fn start(
    settings: &Settings,
    seeds: usize,
    distill: Option<(&Recipe, &[PathBuf])>,
    device: &candle_core::Device,
) -> Result<Plan> {
    let plan = Plan::count(settings, seeds, distill)?;
    eprintln!(
        "{}; the time per step is measured on {device:?} once training starts",
        plan.describe()
    );
    crate::progress::begin(plan.total_steps() as u64, &format!("{device:?}"));
    Ok(plan)
}

fn truncate<T>(items: &mut Vec<T>, max: Option<usize>) {
    if let Some(n) = max {
        items.truncate(n);
    }
}

/// Counts examples the way `train::run` encodes them (a sentence longer than the window is several).
struct Counter {
    tokenizer: tokenizers::Tokenizer,
    special: SpecialTokens,
    window: usize,
}

impl Counter {
    fn new(settings: &Settings) -> Result<Self> {
        let base = &settings.base;
        let config_path = base.join("config.json");
        let config = BertConfig::from_json(&std::fs::read_to_string(&config_path)?)
            .with_context(|| config_path.display().to_string())?;
        let tokenizer = align::load_tokenizer(&std::fs::read(base.join("tokenizer.json"))?)
            .with_context(|| format!("{}/tokenizer.json", base.display()))?;
        let special = SpecialTokens::from_tokenizer(&tokenizer)?;
        Ok(Self {
            tokenizer,
            special,
            window: config.max_position_embeddings - 2,
        })
    }

    fn examples(&self, sentences: &[data::Sentence]) -> Result<usize> {
        let labels = LabelSet::from_types(&data::entity_types(sentences));
        Ok(batches::encode(
            sentences,
            &self.tokenizer,
            &labels,
            self.special,
            self.window,
            &[],
        )?
        .len())
    }
}
