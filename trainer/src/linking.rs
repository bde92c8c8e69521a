//! `trainer link-index` builds the concept index the linker reads (MeSH descriptors plus the
//! mentions annotated corpora link), and `trainer link-eval` scores linking on a PubTator file.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use anyhow::{bail, Context as _, Result};
use medlight_ner::linking::{normalise, ConceptIndex, Linker};
use medlight_ner::{Entity, Tagger};

use crate::pubtator::Document;

/// Medlight's type for a descriptor, by its tree numbers: `C` and `F03` are diseases, `D`
/// chemicals; other branches are not indexed.
fn descriptor_label(trees: &str) -> Option<&'static str> {
    let trees: Vec<&str> = trees.split('|').collect();
    if trees
        .iter()
        .any(|t| t.starts_with('C') || t.starts_with("F03"))
    {
        Some("Disease")
    } else if trees.iter().any(|t| t.starts_with('D')) {
        Some("Chemical")
    } else {
        None
    }
}

/// One MeSH descriptor: its ID, preferred name, tree numbers and entry terms.
#[derive(Debug, Clone, PartialEq)]
pub struct Descriptor {
    pub id: String,
    pub name: String,
    pub trees: Vec<String>,
    pub terms: Vec<String>,
    /// Medlight's type for it, by its trees; `None` outside the indexed branches.
    pub label: Option<&'static str>,
}

/// The descriptors of a MeSH TSV (id, name, tree_numbers, terms joined by `|`).
pub fn read_descriptors(path: &Path) -> Result<Vec<Descriptor>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let f: Vec<&str> = line.trim_end_matches('\r').split('\t').collect();
        if f.len() < 3 {
            bail!(
                "{}:{}: expected id, name, tree_numbers and terms, found {} fields",
                path.display(),
                i + 1,
                f.len()
            );
        }
        let split = |field: Option<&&str>| -> Vec<String> {
            field.map_or(Vec::new(), |t| {
                t.split('|')
                    .filter(|t| !t.is_empty())
                    .map(str::to_string)
                    .collect()
            })
        };
        out.push(Descriptor {
            id: f[0].to_string(),
            name: f[1].to_string(),
            trees: split(f.get(2)),
            terms: split(f.get(3)),
            label: descriptor_label(f[2]),
        });
    }
    Ok(out)
}

/// Adds the descriptors of a MeSH TSV that have a type.
pub fn add_descriptors(index: &mut ConceptIndex, path: &Path) -> Result<usize> {
    let mut added = 0;
    for d in read_descriptors(path)? {
        let Some(label) = d.label else { continue };
        let terms: Vec<&str> = d.terms.iter().map(String::as_str).collect();
        index.add_concept(&d.id, label, &d.name, &terms);
        added += 1;
    }
    Ok(added)
}

/// Adds the mentions of annotated PubTator files: each (type, key, ID) with its count. IDs the
/// vocabulary lacks (supplementary `C…` concepts) become concepts named by their commonest mention.
pub fn add_mentions(index: &mut ConceptIndex, docs: &[Document]) -> Result<usize> {
    let mut counts: BTreeMap<(String, String, String), u32> = BTreeMap::new();
    let mut names: HashMap<String, HashMap<String, u32>> = HashMap::new();
    for d in docs {
        for m in &d.mentions {
            // A mention with conjunctions and several IDs ("breast and ovarian cancer") is split by
            // the linker itself; one without ("hemorrhagic cystitis": cystitis and hemorrhage) is
            // learnt whole, as a concept of its own with the IDs joined.
            let key = normalise::key(&m.text);
            let joined = key.split(' ').any(|w| w == "and" || w == "or") || m.text.contains(',');
            if m.ids.is_empty() || (m.ids.len() > 1 && joined) {
                continue;
            }
            let id = m.ids.join("|");
            *counts
                .entry((m.label.clone(), key, id.clone()))
                .or_default() += 1;
            *names
                .entry(id)
                .or_default()
                .entry(m.text.clone())
                .or_default() += 1;
        }
    }
    for (label, _, id) in counts.keys() {
        if index.entry(id).is_some() {
            continue;
        }
        let parts: Option<Vec<String>> = id
            .split('|')
            .map(|p| index.entry(p).map(|e| e.name.clone()))
            .collect();
        let name = match parts {
            Some(parts) if parts.len() > 1 => parts.join(" | "),
            _ => names[id]
                .iter()
                .max_by_key(|(n, c)| (**c, std::cmp::Reverse(*n)))
                .map_or(id.clone(), |(n, _)| n.clone()),
        };
        index.add_concept(id, label, &name, &[]);
    }
    for ((label, key, id), count) in &counts {
        index
            .add_mention(label, key, id, *count)
            .map_err(anyhow::Error::msg)?;
    }
    Ok(counts.len())
}

/// Where `link-index` and `link-eval` find the vocabulary and the annotated corpora by default.
pub const DEFAULT_MESH: &str = "../shared/data/mesh/descriptors.tsv";
/// BC5CDR devel is a source too: whichever file is scored, its own documents are left out, so
/// devel teaches the index only when other text (a held-out split) is scored.
pub const DEFAULT_TRAIN: [&str; 3] = [
    "../shared/data/bc5cdr/pubtator/train.pubtator",
    "../shared/data/ncbi-disease/pubtator/train.pubtator",
    DEFAULT_DEVEL,
];
/// BC5CDR devel, which `link-index` leaves out by default so that the shipped index scores devel honestly.
pub const DEFAULT_DEVEL: &str = "../shared/data/bc5cdr/pubtator/devel.pubtator";

/// An index and what went into it.
pub struct Built {
    pub index: ConceptIndex,
    pub descriptors: usize,
    pub mentions: usize,
    /// Training documents left out because an excluded file holds them too.
    pub left_out: usize,
}

impl Built {
    pub fn summary(&self) -> String {
        format!(
            "{} concepts ({} MeSH descriptors), {} annotated (type, name, ID) triples, {} training documents left out as excluded",
            self.index.entries().len(),
            self.descriptors,
            self.mentions,
            self.left_out
        )
    }
}

/// The index of the descriptors in `mesh` and the mentions of the `train` PubTator files, less
/// the documents (by PMID) that the `exclude` files hold.
pub fn build_index(
    mesh: &Path,
    train: &[std::path::PathBuf],
    exclude: &[std::path::PathBuf],
) -> Result<Built> {
    let mut index = ConceptIndex::default();
    let descriptors = add_descriptors(&mut index, mesh)?;
    let mut excluded = std::collections::HashSet::new();
    for file in exclude {
        excluded.extend(crate::pubtator::read(file)?.into_iter().map(|d| d.pmid));
    }
    let mut docs = Vec::new();
    let mut left_out = 0;
    for file in train {
        for doc in crate::pubtator::read(file)? {
            if excluded.contains(&doc.pmid) {
                left_out += 1;
            } else {
                docs.push(doc);
            }
        }
    }
    let mentions = add_mentions(&mut index, &docs)?;
    index.finish();
    Ok(Built {
        index,
        descriptors,
        mentions,
        left_out,
    })
}

/// Reads a concept index file.
pub fn read_index(path: &Path) -> Result<ConceptIndex> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    ConceptIndex::from_tsv(&path.display().to_string(), &text).map_err(anyhow::Error::msg)
}

/// A document's entities for the gold mentions: their spans and types, no concept yet.
fn gold_entities(d: &Document) -> Vec<Entity> {
    d.mentions
        .iter()
        .map(|m| Entity {
            start: m.start,
            end: m.end,
            label: m.label.clone(),
            score: 1.0,
            ..Default::default()
        })
        .collect()
}

fn ids(entity: &Entity) -> BTreeSet<String> {
    entity
        .concept
        .iter()
        .flat_map(|c| c.id.split('|').map(str::to_string))
        .collect()
}

/// Per type: mentions, correctly linked, and linked to nothing.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct MentionScores {
    pub total: BTreeMap<String, usize>,
    pub correct: BTreeMap<String, usize>,
    pub unlinked: BTreeMap<String, usize>,
    /// Gold IDs the index does not hold (reported; such mentions cannot be linked right).
    pub unknown_ids: BTreeSet<String>,
    /// Mentions whose every gold ID the index holds: the most a linker with this index can get right.
    pub reachable: BTreeMap<String, usize>,
    /// Each mention linked wrong: PMID, type, mention, gold IDs, what the linker said.
    pub errors: Vec<String>,
}

impl MentionScores {
    pub fn accuracy(&self, label: &str) -> f64 {
        ratio(
            self.correct.get(label).copied().unwrap_or(0),
            self.total.get(label).copied().unwrap_or(0),
        )
    }

    /// The accuracy a perfect linker would reach with this index.
    pub fn ceiling(&self, label: &str) -> f64 {
        ratio(
            self.reachable.get(label).copied().unwrap_or(0),
            self.total.get(label).copied().unwrap_or(0),
        )
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// (a) Links the gold spans. A mention is right when its set of IDs is the gold set (`-1`: none).
pub fn score_mentions(linker: &Linker, docs: &[Document]) -> MentionScores {
    let mut s = MentionScores::default();
    for d in docs {
        let mut entities = gold_entities(d);
        linker.link_document(&d.text, &mut entities);
        for (m, e) in d.mentions.iter().zip(&entities) {
            let gold: BTreeSet<String> = m.ids.iter().cloned().collect();
            let unknown: Vec<&String> = gold
                .iter()
                .filter(|id| linker.index.entry(id).is_none())
                .collect();
            *s.reachable.entry(m.label.clone()).or_default() += usize::from(unknown.is_empty());
            s.unknown_ids.extend(unknown.into_iter().cloned());
            *s.total.entry(m.label.clone()).or_default() += 1;
            let right = ids(e) == gold;
            *s.correct.entry(m.label.clone()).or_default() += usize::from(right);
            if !right {
                let said = e.concept.as_ref().map_or("none".to_string(), |c| {
                    format!("{} {} ({:.2})", c.id, c.name, c.score)
                });
                let gold: Vec<&str> = gold.iter().map(String::as_str).collect();
                s.errors.push(format!(
                    "{}\t{}\t{}\tgold {}\tlinked {said}",
                    d.pmid,
                    m.label,
                    m.text,
                    gold.join("|")
                ));
            }
            *s.unlinked.entry(m.label.clone()).or_default() += usize::from(e.concept.is_none());
        }
    }
    s
}

/// Per type: document-level concept pairs found, gold, and both; entities the tagger found and
/// how many of them got no concept.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct DocumentScores {
    pub found: BTreeMap<String, usize>,
    pub gold: BTreeMap<String, usize>,
    pub both: BTreeMap<String, usize>,
    pub entities: BTreeMap<String, usize>,
    pub unlinked: BTreeMap<String, usize>,
}

impl DocumentScores {
    pub fn prf(&self, label: &str) -> (f64, f64, f64) {
        let get = |m: &BTreeMap<String, usize>| m.get(label).copied().unwrap_or(0);
        let s = medlight_ner::metrics::Scores::from_counts(
            get(&self.both),
            get(&self.found),
            get(&self.gold),
        );
        (s.precision, s.recall, s.f1)
    }
}

/// (b) Tags each document, links what the tagger found, and compares the (PMID, ID) pairs per
/// type with the gold pairs, as BC5CDR's disease normalisation task does.
pub fn score_documents(
    tagger: &Tagger,
    linker: &Linker,
    docs: &[Document],
) -> Result<DocumentScores> {
    let mut s = DocumentScores::default();
    for d in docs {
        let mut entities = tagger.annotate(&d.text)?;
        linker.link_document(&d.text, &mut entities);
        let mut found: BTreeSet<(String, String)> = BTreeSet::new();
        for e in &entities {
            *s.entities.entry(e.label.clone()).or_default() += 1;
            *s.unlinked.entry(e.label.clone()).or_default() += usize::from(e.concept.is_none());
            found.extend(ids(e).into_iter().map(|id| (e.label.clone(), id)));
        }
        let gold: BTreeSet<(String, String)> = d
            .mentions
            .iter()
            .flat_map(|m| m.ids.iter().map(|id| (m.label.clone(), id.clone())))
            .collect();
        for (label, _) in &found {
            *s.found.entry(label.clone()).or_default() += 1;
        }
        for (label, _) in &gold {
            *s.gold.entry(label.clone()).or_default() += 1;
        }
        for (label, _) in found.intersection(&gold) {
            *s.both.entry(label.clone()).or_default() += 1;
        }
    }
    Ok(s)
}

/// The figures as the JSON object `link-eval --json` prints last.
pub fn json(mentions: &MentionScores, documents: Option<&DocumentScores>) -> serde_json::Value {
    let mut document = serde_json::Map::new();
    if let Some(d) = documents {
        for label in medlight_ner::linking::LABELS {
            let (precision, recall, f1) = d.prf(label);
            document.insert(
                label.into(),
                serde_json::json!({"precision": precision, "recall": recall, "f1": f1}),
            );
        }
    }
    serde_json::json!({
        "mention_accuracy": {
            "Chemical": mentions.accuracy("Chemical"),
            "Disease": mentions.accuracy("Disease"),
        },
        "document": document,
        "unlinked": {
            "gold_mentions": mentions.unlinked,
            "tagged_entities": documents.map(|d| d.unlinked.clone()).unwrap_or_default(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pubtator;

    fn linker() -> Linker {
        let mut index = ConceptIndex::default();
        index.add_concept("D008094", "Chemical", "Lithium", &[]);
        index.add_concept("D001943", "Disease", "Breast Neoplasms", &["Breast Cancer"]);
        index.add_concept(
            "D010051",
            "Disease",
            "Ovarian Neoplasms",
            &["Ovarian Cancer"],
        );
        let docs = pubtator::parse(
            "t",
            "9|t|Toxicity.\n9|a|x\n9\t0\t8\tToxicity\tDisease\tD064420\n",
        )
        .unwrap();
        add_mentions(&mut index, &docs).unwrap();
        index.finish();
        Linker::new(index)
    }

    #[test]
    fn gold_mentions_are_scored_by_their_id_sets() {
        let docs = pubtator::parse(
            "t",
            "1|t|Lithium toxicity.\n1|a|Breast and ovarian cancer. Gout.\n\
             1\t0\t7\tLithium\tChemical\tD008094\n\
             1\t8\t16\ttoxicity\tDisease\tD064420\n\
             1\t18\t43\tBreast and ovarian cancer\tDisease\tD001943|D010051\n\
             1\t45\t49\tGout\tDisease\tD006073\n",
        )
        .unwrap();
        let l = linker();
        assert_eq!(
            l.index.entry("D064420").unwrap().name,
            "Toxicity",
            "named by its mention"
        );
        let s = score_mentions(&l, &docs);
        assert_eq!(s.accuracy("Chemical"), 1.0);
        assert_eq!(
            (
                s.correct["Disease"],
                s.total["Disease"],
                s.unlinked["Disease"]
            ),
            (2, 3, 1)
        );
        assert_eq!(s.unknown_ids.iter().collect::<Vec<_>>(), ["D006073"]);
        // Gout's ID is unknown, so at most two of the three Disease mentions can be right.
        assert_eq!(s.reachable["Disease"], 2);
        assert_eq!(s.ceiling("Disease"), 2.0 / 3.0);
        assert_eq!(s.ceiling("Chemical"), 1.0);
        let j = json(&s, None);
        assert_eq!(j["mention_accuracy"]["Chemical"], 1.0);
    }

    #[test]
    fn descriptors_are_typed_by_their_trees() {
        assert_eq!(descriptor_label("C04.588|D27.505"), Some("Disease"));
        assert_eq!(descriptor_label("F03.600"), Some("Disease"));
        assert_eq!(descriptor_label("D02.355"), Some("Chemical"));
        assert_eq!(descriptor_label("F01.145|G07"), None);
    }
}
