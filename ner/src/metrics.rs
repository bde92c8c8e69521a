//! Entity-level precision, recall and F1, overall (micro) and per type, equal to `seqeval`'s
//! default mode (`classification_report`, `f1_score` with `mode=None`): an entity counts only if
//! its type and both boundaries match exactly. A ratio with a zero denominator is 0, as there.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::decode::chunks;

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    /// Gold entities.
    pub support: usize,
    pub predicted: usize,
    pub correct: usize,
}

impl Scores {
    /// The scores of `correct` hits among `predicted` answers and `support` gold items.
    pub fn from_counts(correct: usize, predicted: usize, support: usize) -> Self {
        let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let precision = ratio(correct, predicted);
        let recall = ratio(correct, support);
        let f1 = if precision + recall == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        };
        Self {
            precision,
            recall,
            f1,
            support,
            predicted,
            correct,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub overall: Scores,
    pub per_type: BTreeMap<String, Scores>,
}

/// Scores predicted tag sequences against gold ones, sentence by sentence.
///
/// # Panics
/// If the two lists differ in the number of sentences or any sentence in length.
pub fn evaluate<G, P, S, T>(gold: &[G], predicted: &[P]) -> Report
where
    G: AsRef<[S]>,
    P: AsRef<[T]>,
    S: AsRef<str>,
    T: AsRef<str>,
{
    assert_eq!(
        gold.len(),
        predicted.len(),
        "gold and predicted differ in sentence count"
    );
    let mut gold_set = HashSet::new();
    let mut pred_set = HashSet::new();
    for (i, (g, p)) in gold.iter().zip(predicted).enumerate() {
        let (g, p) = (g.as_ref(), p.as_ref());
        assert_eq!(
            g.len(),
            p.len(),
            "sentence {i}: gold and predicted differ in length"
        );
        gold_set.extend(chunks(g).into_iter().map(|c| (i, c)));
        pred_set.extend(chunks(p).into_iter().map(|c| (i, c)));
    }
    let mut types: Vec<&str> = gold_set
        .iter()
        .chain(&pred_set)
        .map(|(_, c)| c.kind.as_str())
        .collect();
    types.sort();
    types.dedup();
    let per_type = types
        .iter()
        .map(|kind| {
            let of = |set: &HashSet<(usize, crate::decode::Chunk)>| {
                set.iter().filter(|(_, c)| c.kind == *kind).count()
            };
            let correct = gold_set
                .iter()
                .filter(|e| e.1.kind == *kind && pred_set.contains(*e))
                .count();
            (
                kind.to_string(),
                Scores::from_counts(correct, of(&pred_set), of(&gold_set)),
            )
        })
        .collect();
    let correct = gold_set.intersection(&pred_set).count();
    Report {
        overall: Scores::from_counts(correct, pred_set.len(), gold_set.len()),
        per_type,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn perfect_and_empty_predictions() {
        let gold = vec![tags("B-Chemical I-Chemical O B-Disease")];
        let perfect = evaluate(&gold, &gold);
        assert_eq!(perfect.overall.f1, 1.0);
        let none = evaluate(&gold, &[tags("O O O O")]);
        assert_eq!(
            (none.overall.precision, none.overall.recall, none.overall.f1),
            (0.0, 0.0, 0.0)
        );
        assert_eq!(none.per_type["Chemical"].support, 1);
    }

    #[test]
    fn a_boundary_error_is_both_a_false_positive_and_a_false_negative() {
        let report = evaluate(&[tags("B-Disease I-Disease O")], &[tags("B-Disease O O")]);
        assert_eq!(
            (
                report.overall.correct,
                report.overall.predicted,
                report.overall.support
            ),
            (0, 1, 1)
        );
    }
}
