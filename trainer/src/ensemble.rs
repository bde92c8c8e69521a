//! Several readings of one corpus, their per-word label distributions averaged before decoding
//! (`trainer eval --ensemble`): other models, reading the corpus's sentences or the same words split
//! otherwise (windows of consecutive sentences, as `trainer pack` writes them). An experiment's tool:
//! the browser runs one model over sentences.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use anyhow::{bail, Result};
use candle_core::Device;
use medlight_ner::{LabelSet, Tagger, WordDistributions};

use crate::data::{self, Sentence};
use crate::model_dir::{self, Format};

/// One more model's reading: `DIR` (the corpus's sentences) or `DIR@FILE` (FILE's split of the same
/// words, in the same order).
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub model: PathBuf,
    pub data: Option<PathBuf>,
}

impl FromStr for Reading {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (model, data) = match text.split_once('@') {
            Some((model, data)) => (model, Some(PathBuf::from(data))),
            None => (text, None),
        };
        if model.is_empty() || data.as_ref().is_some_and(|d| d.as_os_str().is_empty()) {
            return Err(format!("`{text}`: expected DIR or DIR@FILE"));
        }
        Ok(Self {
            model: PathBuf::from(model),
            data,
        })
    }
}

/// `reading`'s distributions laid over `sentences`' words. Its model must have the tags of `labels`.
pub fn distributions(
    reading: &Reading,
    labels: &LabelSet,
    sentences: &[Sentence],
    format: Format,
    device: &Device,
) -> Result<WordDistributions> {
    let tagger = model_dir::load_tagger(&reading.model, format, device)?;
    if tagger.label_set().tags() != labels.tags() {
        bail!(
            "{}: its tags {:?} differ from the first model's {:?}; an ensemble needs one label set",
            reading.model.display(),
            tagger.label_set().tags(),
            labels.tags()
        );
    }
    match &reading.data {
        None => Ok(tagger.word_distributions(&data::words(sentences))?),
        Some(file) => {
            let split = data::read_iob2(file)?;
            let read = tagger.word_distributions(&data::words(&split))?;
            relay(read, &split, file, sentences)
        }
    }
}

/// Distributions of `from`'s words (read from `file`) laid over `onto`'s sentences: the same words in
/// the same order, split into sentences otherwise.
fn relay(
    read: WordDistributions,
    from: &[Sentence],
    file: &Path,
    onto: &[Sentence],
) -> Result<WordDistributions> {
    let theirs = from.iter().flat_map(|s| &s.words);
    let ours = onto.iter().flat_map(|s| &s.words);
    for (index, (a, b)) in theirs.zip(ours).enumerate() {
        if a != b {
            bail!("{}: word {} is `{a}` where the scored file has `{b}`; a reading must hold the same words in the same order", file.display(), index + 1);
        }
    }
    let count = |sentences: &[Sentence]| sentences.iter().map(|s| s.words.len()).sum::<usize>();
    let (n_theirs, n_ours) = (count(from), count(onto));
    if n_theirs != n_ours {
        bail!(
            "{}: {n_theirs} words where the scored file has {n_ours}",
            file.display()
        );
    }
    let mut flat = read.into_iter().flatten();
    Ok(onto
        .iter()
        .map(|s| flat.by_ref().take(s.words.len()).collect())
        .collect())
}

/// `tagger`'s distributions of `sentences`' words averaged with `others`' readings of them.
pub fn read_with(
    tagger: &Tagger,
    others: &[Reading],
    sentences: &[Sentence],
    format: Format,
    device: &Device,
) -> Result<WordDistributions> {
    let mut readings = vec![tagger.word_distributions(&data::words(sentences))?];
    for reading in others {
        readings.push(distributions(
            reading,
            tagger.label_set(),
            sentences,
            format,
            device,
        )?);
    }
    Ok(mean(readings))
}

/// The element-wise mean of several readings of the same words. A word keeps a distribution only
/// where every reading has one.
pub fn mean(mut readings: Vec<WordDistributions>) -> WordDistributions {
    let n = readings.len() as f32;
    let mut sum = readings.remove(0);
    for other in readings {
        for (mine, theirs) in sum.iter_mut().flatten().zip(other.into_iter().flatten()) {
            match (mine.as_mut(), theirs) {
                (Some(a), Some(b)) => a.iter_mut().zip(b).for_each(|(x, y)| *x += y),
                _ => *mine = None,
            }
        }
    }
    if n > 1.0 {
        sum.iter_mut()
            .flatten()
            .flatten()
            .flatten()
            .for_each(|p| *p /= n);
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sentence(words: &[&str]) -> Sentence {
        Sentence {
            words: words.iter().map(|w| w.to_string()).collect(),
            tags: vec!["O".into(); words.len()],
            ..Default::default()
        }
    }

    #[test]
    fn a_reading_is_a_directory_or_a_directory_and_a_file() {
        assert_eq!(
            "runs/a".parse(),
            Ok(Reading {
                model: "runs/a".into(),
                data: None
            })
        );
        assert_eq!(
            "runs/a@w.tsv".parse(),
            Ok(Reading {
                model: "runs/a".into(),
                data: Some("w.tsv".into())
            })
        );
        assert!("runs/a@"
            .parse::<Reading>()
            .unwrap_err()
            .contains("DIR@FILE"));
    }

    #[test]
    fn a_window_reading_is_laid_back_over_the_sentences() {
        let sentences = [
            sentence(&["a", "b"]),
            sentence(&["c"]),
            sentence(&["d", "e"]),
        ];
        let windows = [sentence(&["a", "b", "c"]), sentence(&["d", "e"])];
        let read = vec![
            vec![Some(vec![1.0]), Some(vec![2.0]), None],
            vec![Some(vec![4.0]), Some(vec![5.0])],
        ];
        let laid = relay(read, &windows, Path::new("w.tsv"), &sentences).unwrap();
        assert_eq!(
            laid,
            vec![
                vec![Some(vec![1.0]), Some(vec![2.0])],
                vec![None],
                vec![Some(vec![4.0]), Some(vec![5.0])]
            ]
        );
    }

    #[test]
    fn a_reading_of_other_words_is_refused_with_the_first_difference() {
        let sentences = [sentence(&["a", "b"])];
        let err = relay(
            vec![vec![None, None]],
            &[sentence(&["a", "x"])],
            Path::new("w.tsv"),
            &sentences,
        )
        .unwrap_err();
        assert!(err.to_string().contains("w.tsv: word 2 is `x`"), "{err}");
        let err = relay(
            vec![vec![None]],
            &[sentence(&["a"])],
            Path::new("w.tsv"),
            &sentences,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("1 words where the scored file has 2"),
            "{err}"
        );
    }

    #[test]
    fn the_mean_averages_each_word_and_drops_words_a_reading_lacks() {
        let one = vec![vec![Some(vec![0.2, 0.8]), Some(vec![1.0, 0.0])]];
        let two = vec![vec![Some(vec![0.6, 0.4]), None]];
        let mean = mean(vec![one, two]);
        let first = mean[0][0].as_ref().unwrap();
        assert!(
            (first[0] - 0.4).abs() < 1e-6 && (first[1] - 0.6).abs() < 1e-6,
            "{first:?}"
        );
        assert_eq!(mean[0][1], None);
    }
}
