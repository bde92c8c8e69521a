//! PubTator documents (`PMID|t|title`, `PMID|a|abstract`, then one tab-separated line per
//! mention: PMID, start, end, text, type, concept IDs), as BC5CDR, NCBI-disease and BioRED ship.

use std::path::Path;

use anyhow::{bail, Context as _, Result};

/// One annotated mention. Offsets are byte offsets into [`Document::text`].
#[derive(Debug, Clone, PartialEq)]
pub struct Mention {
    pub start: usize,
    pub end: usize,
    pub text: String,
    /// "Chemical" or "Disease" (the corpora's other names for them mapped; see [`label`]).
    pub label: String,
    /// MeSH IDs, "MESH:" stripped; empty for `-1` (no concept). A composite mention has several.
    pub ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Document {
    pub pmid: String,
    /// Title, a space, and the abstract, as the offsets count them.
    pub text: String,
    pub mentions: Vec<Mention>,
}

/// Medlight's type for a corpus's mention type; `None` for types it does not tag (genes, …).
pub fn label(kind: &str) -> Option<&'static str> {
    match kind {
        "Chemical" | "ChemicalEntity" => Some("Chemical"),
        "Disease"
        | "DiseaseOrPhenotypicFeature"
        | "SpecificDisease"
        | "DiseaseClass"
        | "Modifier"
        | "CompositeMention" => Some("Disease"),
        _ => None,
    }
}

/// IDs as the index holds them: "MESH:D012345" → "D012345"; "-1" and other vocabularies dropped.
fn mesh_ids(field: &str) -> Vec<String> {
    field
        .split(['|', ','])
        .map(|id| id.trim().trim_start_matches("MESH:"))
        .filter(|id| {
            id.len() > 1
                && (id.starts_with('D') || id.starts_with('C'))
                && id[1..].bytes().all(|b| b.is_ascii_digit())
        })
        .map(str::to_string)
        .collect()
}

/// Byte offset of the `chars`-th character of `text`.
pub(crate) fn byte_at(text: &str, chars: usize) -> Option<usize> {
    text.char_indices()
        .map(|(b, _)| b)
        .chain(std::iter::once(text.len()))
        .nth(chars)
}

pub fn read(path: &Path) -> Result<Vec<Document>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse(&path.display().to_string(), &text)
}

/// Parses PubTator text; a malformed line, or a mention whose offsets do not give its text, is an
/// error naming `name` and the line.
pub fn parse(name: &str, text: &str) -> Result<Vec<Document>> {
    let mut docs: Vec<Document> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        let at = format!("{name}:{}", i + 1);
        if line.trim().is_empty() {
            continue;
        }
        if let Some((pmid, rest)) = line.split_once("|t|") {
            if !pmid.contains('\t') {
                docs.push(Document {
                    pmid: pmid.to_string(),
                    text: rest.to_string(),
                    mentions: Vec::new(),
                });
                continue;
            }
        }
        if let Some((pmid, rest)) = line.split_once("|a|") {
            if !pmid.contains('\t') {
                let Some(doc) = docs.last_mut().filter(|d| d.pmid == pmid) else {
                    bail!("{at}: abstract of {pmid} without its title line before it");
                };
                doc.text.push(' ');
                doc.text.push_str(rest);
                continue;
            }
        }
        let f: Vec<&str> = line.split('\t').collect();
        let Some(doc) = docs
            .last_mut()
            .filter(|d| f.first() == Some(&d.pmid.as_str()))
        else {
            bail!("{at}: expected a title line (PMID|t|…), an abstract line or an annotation of the document above");
        };
        if f.len() < 4 {
            bail!(
                "{at}: expected at least 4 tab-separated fields, found {}",
                f.len()
            );
        }
        // Relation lines (BioRED: PMID, type, ID, ID…) have no offsets.
        let (Ok(start), Ok(end)) = (f[1].parse::<usize>(), f[2].parse::<usize>()) else {
            continue;
        };
        if f.len() < 6 {
            bail!(
                "{at}: an annotation needs 6 fields (PMID, start, end, text, type, IDs), found {}",
                f.len()
            );
        }
        let Some(label) = label(f[4]) else { continue };
        let (Some(s), Some(e)) = (byte_at(&doc.text, start), byte_at(&doc.text, end)) else {
            bail!(
                "{at}: offsets {start}..{end} run past the document ({} characters)",
                doc.text.chars().count()
            );
        };
        if s > e || doc.text[s..e].trim() != f[3].trim() {
            bail!(
                "{at}: offsets {start}..{end} give {:?}, not the mention {:?}",
                &doc.text[s.min(e)..e.max(s)],
                f[3]
            );
        }
        doc.mentions.push(Mention {
            start: s,
            end: e,
            text: doc.text[s..e].to_string(),
            label: label.to_string(),
            ids: mesh_ids(f[5]),
        });
    }
    Ok(docs)
}

/// Documents by position: "all", or "odd"/"even" halves, to tune on one and report the other.
pub fn part(docs: Vec<Document>, part: &str) -> Result<Vec<Document>> {
    match part {
        "all" => Ok(docs),
        "odd" | "even" => {
            let keep = usize::from(part == "even");
            Ok(docs
                .into_iter()
                .enumerate()
                .filter(|(i, _)| i % 2 == keep)
                .map(|(_, d)| d)
                .collect())
        }
        _ => bail!("--part: expected all, odd or even, got {part:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "1|t|Lithium toxicity.\n1|a|Breast and ovarian cancer.\n\
        1\t0\t7\tLithium\tChemical\tD008094\n\
        1\t18\t43\tBreast and ovarian cancer\tDisease\tD001943|D010051\tBreast cancer|ovarian cancer\n\
        1\t8\t16\ttoxicity\tDisease\t-1\n\
        1\tCID\tD008094\tD064420\n";

    #[test]
    fn documents_mentions_and_composite_ids() {
        let docs = parse("x.pubtator", DOC).unwrap();
        assert_eq!(docs.len(), 1);
        let d = &docs[0];
        assert_eq!(d.text, "Lithium toxicity. Breast and ovarian cancer.");
        assert_eq!(d.mentions.len(), 3);
        assert_eq!(d.mentions[1].ids, ["D001943", "D010051"]);
        assert!(d.mentions[2].ids.is_empty());
        assert_eq!(
            &d.text[d.mentions[1].start..d.mentions[1].end],
            "Breast and ovarian cancer"
        );
    }

    #[test]
    fn malformed_lines_name_file_and_line() {
        let err = parse("x.pubtator", "1|t|A b.\n1\t0\t9\tA b\tDisease\tD1\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("x.pubtator:2:"), "{err}");
        let err = parse("x.pubtator", "1|t|A b.\n1\t0\t1\tb\tDisease\tD1\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("x.pubtator:2:") && err.contains("not the mention"),
            "{err}"
        );
        let err = parse("x.pubtator", "garbage\n").unwrap_err().to_string();
        assert!(err.starts_with("x.pubtator:1:"), "{err}");
        assert_eq!(mesh_ids("MESH:D001|OMIM:1234"), ["D001"]);
    }
}
