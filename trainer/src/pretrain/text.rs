//! The text as masked-LM training sequences: sub-token windows of the corpora's sentences, a
//! masked copy of each, and the sub-tokens' frequencies.

use std::path::PathBuf;

use anyhow::{Context, Result};
use medlight_ner::align::{self, SpecialTokens};
use rand::rngs::StdRng;
use rand::Rng;
use tokenizers::Tokenizer;

use crate::data;

/// The ids a masked copy of a sequence needs.
#[derive(Debug, Clone, Copy)]
pub struct MaskTokens {
    pub mask: u32,
    pub vocab: u32,
    pub special: SpecialTokens,
}

impl MaskTokens {
    pub fn from_tokenizer(tokenizer: &Tokenizer, vocab: usize) -> Result<Self> {
        let mask = tokenizer
            .token_to_id("[MASK]")
            .context("the vocabulary has no `[MASK]` token")?;
        Ok(Self {
            mask,
            vocab: vocab as u32,
            special: SpecialTokens::from_tokenizer(tokenizer)?,
        })
    }
}

/// One sequence to train on: `[CLS] … [SEP]` with some sub-tokens hidden, and what they were.
#[derive(Debug, Clone, PartialEq)]
pub struct Masked {
    pub ids: Vec<u32>,
    /// (position in `ids`, the original id) of each sub-token to predict.
    pub targets: Vec<(usize, u32)>,
}

/// Chooses each sub-token of `body` with probability `prob` (at least one per sequence) and hides
/// it as BERT does: `[MASK]` 80 % of the time, a random non-special sub-token 10 %, unchanged 10 %.
pub fn mask(body: &[u32], prob: f64, tokens: MaskTokens, rng: &mut StdRng) -> Masked {
    let mut ids = Vec::with_capacity(body.len() + 2);
    ids.push(tokens.special.cls);
    ids.extend_from_slice(body);
    ids.push(tokens.special.sep);
    let mut chosen: Vec<usize> = (1..=body.len()).filter(|_| rng.random_bool(prob)).collect();
    if chosen.is_empty() && !body.is_empty() {
        chosen.push(rng.random_range(1..=body.len()));
    }
    let mut targets = Vec::with_capacity(chosen.len());
    for position in chosen {
        targets.push((position, ids[position]));
        let roll: f64 = rng.random();
        if roll < 0.8 {
            ids[position] = tokens.mask;
        } else if roll < 0.9 {
            // In BERT's vocabularies the ids below 1,000 are special and unused tokens.
            let low = if tokens.vocab > 1_000 { 1_000 } else { 0 };
            ids[position] = rng.random_range(low..tokens.vocab);
        }
    }
    Masked { ids, targets }
}

/// The files' text as sub-token sequences: consecutive sentences joined up to `max_tokens` (as
/// `data::pack` joins them for training), and a longer sentence cut into pieces of that size.
pub fn sequences(
    files: &[PathBuf],
    tokenizer: &Tokenizer,
    max_tokens: usize,
) -> Result<Vec<Vec<u32>>> {
    let mut out = Vec::new();
    for file in files {
        // A word's pieces do not depend on its neighbours, so each sentence is encoded once and a
        // window's ids are its sentences' in turn.
        let ids = data::read_iob2(file)?
            .iter()
            .map(|s| Ok(align::encode_words(tokenizer, &s.words())?.ids))
            .collect::<Result<Vec<_>>>()?;
        let sizes: Vec<usize> = ids.iter().map(Vec::len).collect();
        for group in data::group_consecutive(&sizes, max_tokens) {
            let joined = ids[group].concat();
            out.extend(
                align::windows(joined.len(), max_tokens, 0)
                    .into_iter()
                    .map(|r| joined[r].to_vec()),
            );
        }
    }
    out.retain(|s| !s.is_empty());
    Ok(out)
}

/// Each sub-token's log-frequency in `sequences` (add-one smoothed over the vocabulary).
pub fn unigram_log_frequencies(sequences: &[Vec<u32>], vocab: usize) -> Vec<f32> {
    let mut counts = vec![1.0f64; vocab];
    for &id in sequences.iter().flatten() {
        if let Some(c) = counts.get_mut(id as usize) {
            *c += 1.0;
        }
    }
    let total: f64 = counts.iter().sum();
    counts.iter().map(|c| (c / total).ln() as f32).collect()
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    fn tokens() -> MaskTokens {
        MaskTokens {
            mask: 4,
            vocab: 2_000,
            special: SpecialTokens {
                cls: 2,
                sep: 3,
                pad: 0,
            },
        }
    }

    #[test]
    fn sequences_are_the_packed_windows_encoded_whole_and_cut_to_the_budget() {
        let tokenizer = medlight_ner::testing::tiny_tokenizer();
        // Sentences of 3, 2, 1 and 4 sub-tokens ("aspirin" is two), then one of 7.
        let text =
            "aspirin\tO\nnausea\tO\n\nacute\tO\npain\tO\n\n.\tO\n\nthe\tO\npatient\tO\nwith\tO\n\
                    hepatitis\tO\n\naspirin\tO\naspirin\tO\naspirin\tO\nnausea\tO\n";
        let path =
            std::env::temp_dir().join(format!("medlight-sequences-{}.tsv", std::process::id()));
        std::fs::write(&path, text).unwrap();
        for budget in [2, 3, 5, 6, 100] {
            // What the sequences must be: each window that `data::pack` makes, encoded as one text.
            let mut expected = Vec::new();
            for window in data::pack(&data::read_iob2(&path).unwrap(), &tokenizer, budget).unwrap()
            {
                let ids = align::encode_words(&tokenizer, &window.words())
                    .unwrap()
                    .ids;
                expected.extend(
                    align::windows(ids.len(), budget, 0)
                        .into_iter()
                        .map(|r| ids[r].to_vec()),
                );
            }
            let got = sequences(std::slice::from_ref(&path), &tokenizer, budget).unwrap();
            assert_eq!(got, expected, "budget {budget}");
            assert!(got.iter().all(|s| !s.is_empty() && s.len() <= budget));
            assert_eq!(got.concat().len(), 17, "every sub-token, once");
        }
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn masking_frames_the_sequence_and_hides_about_the_share_asked_as_bert_does() {
        let body: Vec<u32> = (1_000..1_100).collect();
        let mut rng = StdRng::seed_from_u64(1);
        let (mut chosen, mut as_mask, mut unchanged) = (0, 0, 0);
        for _ in 0..200 {
            let m = mask(&body, 0.15, tokens(), &mut rng);
            assert_eq!(
                (m.ids[0], m.ids[101], m.ids.len()),
                (2, 3, 102),
                "framed by [CLS] … [SEP]"
            );
            for &(position, original) in &m.targets {
                assert_eq!(
                    original,
                    body[position - 1],
                    "the target is the original sub-token"
                );
                as_mask += usize::from(m.ids[position] == 4);
                unchanged += usize::from(m.ids[position] == original);
            }
            chosen += m.targets.len();
            // Positions not chosen are untouched.
            let hidden: Vec<usize> = m.targets.iter().map(|t| t.0).collect();
            assert!((1..=100)
                .filter(|p| !hidden.contains(p))
                .all(|p| m.ids[p] == body[p - 1]));
        }
        let share = chosen as f64 / 20_000.0;
        assert!((0.13..0.17).contains(&share), "{share}");
        let (as_mask, unchanged) = (
            as_mask as f64 / chosen as f64,
            unchanged as f64 / chosen as f64,
        );
        assert!(
            (0.77..0.83).contains(&as_mask) && (0.08..0.12).contains(&unchanged),
            "{as_mask} {unchanged}"
        );
    }

    #[test]
    fn a_new_heads_bias_is_the_texts_log_frequencies() {
        let bias = unigram_log_frequencies(&[vec![1, 1, 2], vec![1]], 4);
        // Counts 1 + (0, 3, 1, 0) over a total of 8.
        let expected: Vec<f32> = [1.0f64, 4.0, 2.0, 1.0]
            .iter()
            .map(|c| (c / 8.0).ln() as f32)
            .collect();
        assert_eq!(bias, expected);
    }

    #[test]
    fn every_sequence_gets_a_target() {
        let mut rng = StdRng::seed_from_u64(3);
        assert!((0..100).all(|_| mask(&[1_500], 0.01, tokens(), &mut rng).targets.len() == 1));
    }
}
