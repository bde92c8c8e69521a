//! The MeSH vocabulary as lexicon entries ([`medlight_ner::lexicon::from_vocabulary`]): names the
//! model may miss because the train split never shows them, brand names above all.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Result;
use medlight_ner::align;
use medlight_ner::linking::normalise;
use tokenizers::Tokenizer;

use crate::{data, linking};

/// Which vocabulary names become lexicon entries.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rule {
    pub min_share: f64,
    pub min_chars: usize,
}

/// Every disease descriptor, and the chemicals whose trees all lie in the small-molecule
/// branches (D01–D04: inorganic, organic, heterocyclic and polycyclic compounds, where the drugs
/// and their brand names are). Proteins, enzymes and the "chemical actions and uses" classes
/// are names BC5CDR leaves untagged; chosen on the odd half of devel (docs/experiments.md).
fn kept(label: &str, trees: &[String]) -> bool {
    label == "Disease"
        || trees
            .iter()
            .all(|t| SMALL_MOLECULES.iter().any(|branch| t.starts_with(branch)))
}

const SMALL_MOLECULES: [&str; 4] = ["D01", "D02", "D03", "D04"];

/// The descriptors' names and entry terms (inverted ones in text order), split into lower-cased
/// words as the tagger splits text, kept by `rule` against the IOB2 `train` split.
pub fn entries(
    mesh: &Path,
    train: &Path,
    tokenizer: &Tokenizer,
    rule: Rule,
) -> Result<BTreeMap<String, Vec<String>>> {
    let mut names = Vec::new();
    for d in linking::read_descriptors(mesh)? {
        let Some(label) = d.label.filter(|&l| kept(l, &d.trees)) else {
            continue;
        };
        for term in std::iter::once(&d.name).chain(&d.terms) {
            let term = normalise::uninverted(term).unwrap_or_else(|| term.clone());
            if term.contains(',') {
                continue;
            }
            let pieces = align::encode_text(tokenizer, &term)?;
            let words = pieces
                .words
                .iter()
                .map(|w| term[w.bytes.clone()].to_lowercase())
                .collect();
            names.push((label.to_string(), words));
        }
    }
    let sentences: Vec<(Vec<String>, Vec<String>)> = data::read_iob2(train)?
        .into_iter()
        .map(|s| (s.words, s.tags))
        .collect();
    Ok(medlight_ner::lexicon::from_vocabulary(
        &names,
        &sentences,
        rule.min_share,
        rule.min_chars,
    ))
}

/// `extra`'s entries added to `base`'s, except names `base` already lists (under any type).
pub fn merged(
    base: &BTreeMap<String, Vec<String>>,
    extra: &BTreeMap<String, Vec<String>>,
) -> BTreeMap<String, Vec<String>> {
    let known: std::collections::HashSet<&String> = base.values().flatten().collect();
    let mut out = base.clone();
    for (kind, names) in extra {
        let new = names.iter().filter(|n| !known.contains(n)).cloned();
        out.entry(kind.clone()).or_default().extend(new);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        pairs
            .iter()
            .map(|(k, names)| (k.to_string(), names.iter().map(|n| n.to_string()).collect()))
            .collect()
    }

    #[test]
    fn merging_keeps_the_lexicon_s_type_for_a_name_it_lists() {
        let base = entries(&[("Disease", &["reye syndrome", "lead poisoning"])]);
        let extra = entries(&[
            ("Chemical", &["coumadin", "reye syndrome"]),
            ("Disease", &["fever"]),
        ]);
        let merged = merged(&base, &extra);
        assert_eq!(merged["Chemical"], ["coumadin"]);
        assert_eq!(
            merged["Disease"],
            ["reye syndrome", "lead poisoning", "fever"]
        );
        assert_eq!(
            super::merged(&merged, &extra),
            merged,
            "merging twice adds nothing"
        );
    }

    #[test]
    fn chemicals_outside_the_small_molecule_branches_are_left_out() {
        let trees = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(kept("Chemical", &trees(&["D02.455", "D03.633"])));
        assert!(!kept("Chemical", &trees(&["D02.455", "D12.776"])));
        assert!(kept("Disease", &trees(&["C23.888"])));
    }
}
