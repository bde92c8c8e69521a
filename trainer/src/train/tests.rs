use std::path::Path;

use candle_core::{Device, Tensor};
use medlight_ner::LabelSet;

use super::corpora::unannotated_tags;
use super::loss::loss;
use crate::batches::{self, Batch, Example};

fn labels() -> LabelSet {
    LabelSet::from_types(&["Chemical", "Disease"])
}

/// One sentence `[CLS] w1 w2 [SEP]` tagged `tags`, from a corpus whose O may be `outside_may_be`.
fn example(tags: [i64; 2], outside_may_be: &[u32]) -> Example {
    Example {
        ids: vec![101, 7, 8, 102],
        labels: vec![batches::IGNORE, tags[0], tags[1], batches::IGNORE],
        outside_may_be: outside_may_be.to_vec(),
        soft: Vec::new(),
    }
}

/// Logits of a 1-sentence batch: each labelled position strongly predicts `predicted`.
fn logits(predicted: [usize; 2]) -> Tensor {
    let mut values = vec![0f32; 4 * 5];
    for (position, label) in predicted.iter().enumerate() {
        values[(position + 1) * 5 + label] = 8.0;
    }
    Tensor::from_vec(values, (1, 4, 5), &Device::Cpu).unwrap()
}

fn loss_of(e: &Example, predicted: [usize; 2]) -> f32 {
    let batch = Batch::new(&[e], 0, &labels(), &Device::Cpu).unwrap();
    loss(&logits(predicted), &batch, 0.0)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}

#[test]
fn a_corpus_without_chemicals_leaves_their_tags_open() {
    let tags = unannotated_tags(
        &labels(),
        &["Disease".to_string()],
        Path::new("ncbi/train.tsv"),
    )
    .unwrap();
    assert_eq!(
        tags.iter()
            .map(|&id| labels().tag(id as usize).to_string())
            .collect::<Vec<_>>(),
        ["B-Chemical", "I-Chemical"]
    );
    assert!(unannotated_tags(
        &labels(),
        &["Chemical".into(), "Disease".into()],
        Path::new("x")
    )
    .unwrap()
    .is_empty());
}

#[test]
fn an_extra_corpus_with_a_type_the_model_lacks_is_an_error_naming_file_and_type() {
    let err = unannotated_tags(
        &labels(),
        &["Gene".to_string()],
        Path::new("genes/train.tsv"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("genes/train.tsv")
            && err.contains("`Gene`")
            && err.contains("Chemical, Disease"),
        "{err}"
    );
}

#[test]
fn partial_labels_accept_an_unannotated_type_for_o_and_nothing_else() {
    let (o, b_chem, b_dis) = (0, 1, 3);
    let full = example([o, b_dis], &[]);
    let disease_only = example([o, b_dis], &[1, 2]);
    // Fully annotated: predicting Chemical where gold says O costs as much in both batch forms.
    let strict = loss_of(&full, [b_chem as usize, b_dis as usize]);
    assert!(strict > 3.0, "{strict}");
    // Disease-only corpus: its O may be a chemical, so that prediction costs (almost) nothing…
    assert!(loss_of(&disease_only, [b_chem as usize, b_dis as usize]) < 0.01);
    // …but a Disease tag is still exact: predicting O there costs the full −log p (logit gap 8,
    // averaged over the 2 positions), as in the full corpus.
    let missed_disease = loss_of(&disease_only, [o as usize, o as usize]);
    assert!(missed_disease > 3.99, "{missed_disease}");
    assert!(
        (missed_disease - loss_of(&full, [o as usize, o as usize])).abs() < 1e-3,
        "{missed_disease}"
    );
}

#[test]
fn a_batch_mixing_corpora_uses_the_partial_loss_and_agrees_with_cross_entropy_on_full_examples() {
    let full = example([0, 3], &[]);
    let disease_only = example([0, 0], &[1, 2]);
    let batch = Batch::new(&[&full, &full], 0, &labels(), &Device::Cpu).unwrap();
    assert!(batch.allowed.is_none());
    let mixed = Batch::new(&[&full, &disease_only], 0, &labels(), &Device::Cpu).unwrap();
    let allowed = mixed.allowed.as_ref().unwrap().to_vec2::<f32>().unwrap();
    let open: Vec<Vec<bool>> = allowed
        .iter()
        .map(|row| row.iter().map(|&v| v == 0.0).collect())
        .collect();
    assert_eq!(open[0], [true, false, false, false, false]);
    assert_eq!(open[1], [false, false, false, true, false]);
    assert_eq!(open[2], [true, true, true, false, false]);
    // On fully annotated examples the partial form is plain cross-entropy.
    let x = Tensor::from_vec(
        (0..40).map(|i| (i as f32 * 0.37).sin()).collect::<Vec<_>>(),
        (2, 4, 5),
        &Device::Cpu,
    )
    .unwrap();
    let forced = Batch {
        allowed: Some(
            Tensor::from_vec(allowed[..2].concat().repeat(2), (4, 5), &Device::Cpu).unwrap(),
        ),
        ..Batch::new(&[&full, &full], 0, &labels(), &Device::Cpu).unwrap()
    };
    let a = loss(&x, &batch, 0.0).unwrap().to_scalar::<f32>().unwrap();
    let b = loss(&x, &forced, 0.0).unwrap().to_scalar::<f32>().unwrap();
    assert!((a - b).abs() < 1e-5, "{a} vs {b}");
}

#[test]
fn soft_targets_are_learned_as_distributions_and_one_hot_rows_stand_for_tags() {
    let (o, b_dis) = (0usize, 3usize);
    let tagged = example([o as i64, b_dis as i64], &[]);
    let mut taught = example([o as i64, b_dis as i64], &[]);
    let mut unsure = vec![0.0; 5];
    (unsure[o], unsure[b_dis]) = (0.5, 0.5);
    taught.soft = vec![one_hot(o), unsure.clone()];
    let batch = Batch::new(&[&tagged, &taught], 0, &labels(), &Device::Cpu).unwrap();
    let rows = batch.soft.as_ref().unwrap().to_vec2::<f32>().unwrap();
    assert_eq!(rows, [one_hot(o), one_hot(b_dis), one_hot(o), unsure]);
    // One-hot rows give plain cross-entropy: the same loss as the tags alone.
    let x = Tensor::from_vec(
        (0..40).map(|i| (i as f32 * 0.37).sin()).collect::<Vec<_>>(),
        (2, 4, 5),
        &Device::Cpu,
    )
    .unwrap();
    let plain = Batch::new(&[&tagged, &tagged], 0, &labels(), &Device::Cpu).unwrap();
    let rows = [one_hot(o), one_hot(b_dis)].concat().repeat(2);
    let as_soft = Batch {
        soft: Some(Tensor::from_vec(rows, (4, 5), &Device::Cpu).unwrap()),
        ..Batch::new(&[&tagged, &tagged], 0, &labels(), &Device::Cpu).unwrap()
    };
    let (a, b) = (
        loss(&x, &plain, 0.0).unwrap(),
        loss(&x, &as_soft, 0.0).unwrap(),
    );
    assert!((a.to_scalar::<f32>().unwrap() - b.to_scalar::<f32>().unwrap()).abs() < 1e-5);
    // A word the teacher splits evenly between O and Disease costs least where the student does too.
    let even = soft_loss_of(&taught, [0.0, 0.0]);
    assert!(
        even < soft_loss_of(&taught, [4.0, 0.0]) && even < soft_loss_of(&taught, [0.0, 4.0]),
        "{even}"
    );
}

#[test]
fn soft_targets_and_a_partially_annotated_corpus_in_one_batch_are_an_error() {
    let mut taught = example([0, 3], &[]);
    taught.soft = vec![one_hot(0), one_hot(3)];
    let partial = example([0, 3], &[1, 2]);
    let err = Batch::new(&[&taught, &partial], 0, &labels(), &Device::Cpu)
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("soft targets") && err.contains("partially annotated"),
        "{err}"
    );
}

fn one_hot(label: usize) -> Vec<f32> {
    let mut row = vec![0.0; 5];
    row[label] = 1.0;
    row
}

/// The loss of `e` alone when the second word's logits favour O by `o` and B-Disease by `dis`.
fn soft_loss_of(e: &Example, [o, dis]: [f32; 2]) -> f32 {
    let mut values = vec![0f32; 4 * 5];
    values[5] = 8.0;
    (values[10], values[13]) = (o, dis);
    let x = Tensor::from_vec(values, (1, 4, 5), &Device::Cpu).unwrap();
    let batch = Batch::new(&[e], 0, &labels(), &Device::Cpu).unwrap();
    loss(&x, &batch, 0.0).unwrap().to_scalar::<f32>().unwrap()
}
