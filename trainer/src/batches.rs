//! Sentences → sub-token examples, and length-bucketed batches padded only to their longest member.

use anyhow::Result;
use candle_core::{Device, Tensor};
use medlight_ner::align::{self, SpecialTokens};
use medlight_ner::LabelSet;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use tokenizers::Tokenizer;

use crate::data::Sentence;

/// Marks a position whose loss is ignored (special tokens, continuation sub-tokens, padding).
pub const IGNORE: i64 = -100;

/// One training window: `[CLS] pieces [SEP]` with a label on each word's first sub-token.
#[derive(Debug, Clone)]
pub struct Example {
    pub ids: Vec<u32>,
    pub labels: Vec<i64>,
    /// Label ids an `O` may also stand for: the tags of entity types its corpus does not annotate
    /// (a Disease-only corpus says `O` for chemicals). Empty for a fully annotated corpus.
    pub outside_may_be: Vec<u32>,
    /// Target distributions over the label set, one per labelled position in order, where the
    /// corpus has a teacher's (soft targets); empty where the tags are the targets.
    pub soft: Vec<Vec<f32>>,
}

/// Encodes sentences; one longer than the model's window becomes several (nothing is dropped).
/// `outside_may_be`: see [`Example::outside_may_be`].
pub fn encode(
    sentences: &[Sentence],
    tokenizer: &Tokenizer,
    labels: &LabelSet,
    special: SpecialTokens,
    window: usize,
    outside_may_be: &[u32],
) -> Result<Vec<Example>> {
    let mut out = Vec::with_capacity(sentences.len());
    for sentence in sentences {
        let pieces = align::encode_words(tokenizer, &sentence.words())?;
        let mut piece_labels = vec![IGNORE; pieces.ids.len()];
        let mut piece_soft = vec![None; pieces.ids.len()];
        for (word, (first, tag)) in pieces.first_piece.iter().zip(&sentence.tags).enumerate() {
            if let Some(first) = first {
                piece_labels[*first] = labels.require_id(tag)? as i64;
                if let Some(soft) = sentence.soft.get(word) {
                    piece_soft[*first] = Some(distribution(soft, labels)?);
                }
            }
        }
        for range in align::windows(pieces.ids.len(), window, 0) {
            let mut ids = vec![special.cls];
            ids.extend_from_slice(&pieces.ids[range.clone()]);
            ids.push(special.sep);
            let mut labels = vec![IGNORE];
            labels.extend_from_slice(&piece_labels[range.clone()]);
            labels.push(IGNORE);
            let soft = piece_soft[range].iter().flatten().cloned().collect();
            out.push(Example {
                ids,
                labels,
                outside_may_be: outside_may_be.to_vec(),
                soft,
            });
        }
    }
    Ok(out)
}

/// A word's soft target as a row over `labels`; a label the model lacks is an error.
fn distribution(soft: &[(String, f32)], labels: &LabelSet) -> Result<Vec<f32>> {
    let mut row = vec![0.0; labels.len()];
    for (label, p) in soft {
        row[labels.require_id(label)?] += p;
    }
    Ok(row)
}

/// Added to the log-probability of a label the gold tag rules out: exp() of it is 0 in f32.
const DISALLOWED: f32 = -1e9;

/// A padded batch on the training device.
pub struct Batch {
    pub ids: Tensor,
    pub mask: Tensor,
    /// Flat indices (into `batch × len`) of labelled positions, and their labels.
    pub positions: Tensor,
    pub targets: Tensor,
    /// For batches holding partially annotated examples: per labelled position, 0 for each label
    /// the gold tag allows and a large negative number for the others (`positions × labels`).
    pub allowed: Option<Tensor>,
    /// For batches holding examples with soft targets: per labelled position, the distribution to
    /// learn (`positions × labels`; the tag's one-hot row for examples without).
    pub soft: Option<Tensor>,
    /// Real (non-padding) sub-tokens, for tokens/s.
    pub tokens: usize,
}

impl Batch {
    pub fn new(
        examples: &[&Example],
        pad: u32,
        labels: &LabelSet,
        device: &Device,
    ) -> Result<Self> {
        let (n_labels, outside) = (labels.len(), labels.require_id("O")? as i64);
        let len = examples.iter().map(|e| e.ids.len()).max().unwrap_or(0);
        let mut ids = Vec::with_capacity(examples.len() * len);
        let mut mask = Vec::with_capacity(examples.len() * len);
        let (mut positions, mut targets) = (Vec::new(), Vec::new());
        let partial = examples.iter().any(|e| !e.outside_may_be.is_empty());
        let soft_targets = examples.iter().any(|e| !e.soft.is_empty());
        if partial && soft_targets {
            anyhow::bail!("a batch mixes soft targets with a partially annotated corpus; the loss takes one or the other");
        }
        let (mut allowed, mut soft) = (Vec::new(), Vec::new());
        for (row, e) in examples.iter().enumerate() {
            let mut rows = e.soft.iter();
            ids.extend_from_slice(&e.ids);
            ids.extend(std::iter::repeat_n(pad, len - e.ids.len()));
            mask.extend(std::iter::repeat_n(1u32, e.ids.len()));
            mask.extend(std::iter::repeat_n(0u32, len - e.ids.len()));
            for (col, &label) in e.labels.iter().enumerate() {
                if label != IGNORE {
                    positions.push((row * len + col) as u32);
                    targets.push(label as u32);
                    if soft_targets {
                        match rows.next() {
                            Some(row) => soft.extend_from_slice(row),
                            None => {
                                let start = soft.len();
                                soft.resize(start + n_labels, 0.0);
                                soft[start + label as usize] = 1.0;
                            }
                        }
                    }
                    if partial {
                        // This position's row of `allowed`, appended in place (the loop's `row` is the batch row).
                        let start = allowed.len();
                        allowed.resize(start + n_labels, DISALLOWED);
                        allowed[start + label as usize] = 0.0;
                        if label == outside {
                            for &alt in &e.outside_may_be {
                                allowed[start + alt as usize] = 0.0;
                            }
                        }
                    }
                }
            }
        }
        let shape = (examples.len(), len);
        let allowed = if partial {
            Some(Tensor::from_vec(
                allowed,
                (targets.len(), n_labels),
                device,
            )?)
        } else {
            None
        };
        let soft = if soft_targets {
            Some(Tensor::from_vec(soft, (targets.len(), n_labels), device)?)
        } else {
            None
        };
        Ok(Self {
            ids: Tensor::from_vec(ids, shape, device)?,
            mask: Tensor::from_vec(mask, shape, device)?,
            positions: Tensor::new(positions, device)?,
            targets: Tensor::new(targets, device)?,
            allowed,
            soft,
            tokens: examples.iter().map(|e| e.ids.len()).sum(),
        })
    }
}

/// An epoch's batches: shuffled, then sorted by length inside pools of 50 batches so each batch
/// pads little, then the batches themselves shuffled. Returns indices into `examples`.
pub fn plan_epoch(examples: &[Example], batch_size: usize, rng: &mut StdRng) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..examples.len()).collect();
    order.shuffle(rng);
    let mut batches = Vec::new();
    for pool in order.chunks(batch_size * 50) {
        let mut pool = pool.to_vec();
        pool.sort_by_key(|&i| examples[i].ids.len());
        batches.extend(pool.chunks(batch_size).map(<[usize]>::to_vec));
    }
    batches.shuffle(rng);
    batches
}
