//! IOB2 TSV corpora: `token<TAB>tag` a line, a blank line between sentences. A third column, where a
//! file has one on every line, is a teacher's label distribution for the word (soft targets).

use std::ops::Range;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use medlight_ner::labels::Tag;
use medlight_ner::metrics::{self, Report};
use medlight_ner::{align, Tagger, WordDistributions};
use tokenizers::Tokenizer;

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Sentence {
    pub words: Vec<String>,
    pub tags: Vec<String>,
    /// One distribution per word where the file has a third column, else empty.
    pub soft: Vec<Soft>,
}

/// A word's label distribution, `O=0.97,B-Disease=0.02,…` in the third column (what `trainer eval
/// --write-distributions` writes): a teacher's, for a student to learn instead of the tag. Labels
/// left out have probability 0.
pub type Soft = Vec<(String, f32)>;

impl Sentence {
    pub fn words(&self) -> Vec<&str> {
        self.words.iter().map(String::as_str).collect()
    }
}

/// Reads a split; every problem names the file and line. An empty split is an error.
pub fn read_iob2(path: &Path) -> Result<Vec<Sentence>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let sentences = parse_iob2(&text, path)?;
    if sentences.is_empty() {
        bail!(
            "{}: no sentences: an empty split cannot be trained or scored",
            path.display()
        );
    }
    Ok(sentences)
}

pub fn parse_iob2(text: &str, path: &Path) -> Result<Vec<Sentence>> {
    let mut sentences = Vec::new();
    let mut current = Sentence::default();
    // Whether the file's first line had a third column: then every line must.
    let mut soft_file = None;
    for (index, line) in text.lines().enumerate() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            if !current.words.is_empty() {
                sentences.push(std::mem::take(&mut current));
            }
            continue;
        }
        let at = || format!("{}:{}", path.display(), index + 1);
        let mut fields = line.split('\t');
        let (Some(word), Some(tag), soft, None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            bail!(
                "{}: expected `token<TAB>tag` (or `token<TAB>tag<TAB>distribution`), found {:?}",
                at(),
                line
            );
        };
        match (*soft_file.get_or_insert(soft.is_some()), soft) {
            (true, Some(soft)) => current.soft.push(parse_soft(soft).with_context(at)?),
            (false, None) => {}
            (true, None) => bail!(
                "{}: no third column (distribution), where the file's first line has one",
                at()
            ),
            (false, Some(_)) => bail!(
                "{}: a third column, where the file's first line has none",
                at()
            ),
        }
        if word.is_empty() {
            bail!("{}: empty token", at());
        }
        if Tag::parse(tag).is_none() {
            bail!(
                "{}: tag `{tag}` is not IOB2 (allowed: O, B-<type>, I-<type>)",
                at()
            );
        }
        current.words.push(word.to_string());
        current.tags.push(tag.to_string());
    }
    if !current.words.is_empty() {
        sentences.push(current);
    }
    Ok(sentences)
}

/// `O=0.97,B-Disease=0.02,…`: probabilities in [0, 1] summing to 1 (to within 0.01).
fn parse_soft(text: &str) -> Result<Soft> {
    let mut soft = Soft::new();
    for pair in text.split(',') {
        let Some((label, p)) = pair.split_once('=') else {
            bail!("distribution entry `{pair}` is not `label=probability`");
        };
        let p: f32 = p
            .parse()
            .map_err(|_| anyhow::anyhow!("probability `{p}` of `{label}` is not a number"))?;
        if !(0.0..=1.0).contains(&p) {
            bail!("probability {p} of `{label}` is outside [0, 1]");
        }
        if Tag::parse(label).is_none() {
            bail!("label `{label}` is not IOB2 (allowed: O, B-<type>, I-<type>)");
        }
        soft.push((label.to_string(), p));
    }
    let total: f32 = soft.iter().map(|(_, p)| p).sum();
    if (total - 1.0).abs() > 0.01 {
        bail!("the distribution sums to {total}, not 1");
    }
    Ok(soft)
}

/// A distribution as the third column writes it ([`parse_soft`] reads it back).
pub fn format_soft(soft: &[(String, f32)]) -> String {
    soft.iter()
        .map(|(label, p)| format!("{label}={p}"))
        .collect::<Vec<_>>()
        .join(",")
}

/// Tags `sentences` with `tagger` and scores the tags against the sentences' gold tags. The
/// sentences are read as the browser reads a paste of them: see [`chunks`].
pub fn tag_and_score(
    tagger: &Tagger,
    sentences: &[Sentence],
) -> Result<(Vec<Vec<String>>, Report)> {
    let predicted = tagger.tag_texts(&words(sentences), &chunks(sentences))?;
    let report = score(sentences, &predicted);
    Ok((predicted, report))
}

/// Each sentence's words, as the tagger takes them.
pub fn words(sentences: &[Sentence]) -> Vec<Vec<&str>> {
    sentences.iter().map(Sentence::words).collect()
}

/// The texts a corpus is read as: consecutive sentences (words joined by spaces) in chunks of at
/// most `CHUNK_BYTES`, as the browser reads a paste of them, each one text to the consistency rule.
pub fn chunks(sentences: &[Sentence]) -> Vec<Range<usize>> {
    medlight_ner::sentences::group_tokenised(sentences.iter().map(|s| &s.words))
}

/// Entity-level scores of `predicted` tags against the sentences' gold tags.
pub fn score(sentences: &[Sentence], predicted: &[Vec<String>]) -> Report {
    let gold: Vec<&Vec<String>> = sentences.iter().map(|s| &s.tags).collect();
    metrics::evaluate(&gold, predicted)
}

/// A corpus's `train.tsv` and `devel.tsv` in `data`, [`pack`]ed, written to `out` under the same names;
/// per split, its name and how many sentences went into how many windows.
pub fn pack_corpus(
    data: &Path,
    tokenizer: &Tokenizer,
    max_tokens: usize,
    out: &Path,
) -> Result<Vec<(&'static str, usize, usize)>> {
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut counts = Vec::new();
    for split in ["train.tsv", "devel.tsv"] {
        let sentences = read_iob2(&data.join(split))?;
        let windows = pack(&sentences, tokenizer, max_tokens)?;
        write_iob2(&out.join(split), &windows)?;
        counts.push((split, sentences.len(), windows.len()));
    }
    Ok(counts)
}

/// Consecutive sentences joined into windows of at most `max_tokens` sub-tokens (special tokens not
/// counted), so that a model trains and reads with its neighbours in view; a longer sentence stays
/// alone. The words and tags are the corpus's, in its order.
pub fn pack(
    sentences: &[Sentence],
    tokenizer: &Tokenizer,
    max_tokens: usize,
) -> Result<Vec<Sentence>> {
    let sizes = sentences
        .iter()
        .map(|s| Ok(align::encode_words(tokenizer, &s.words())?.ids.len()))
        .collect::<Result<Vec<_>>>()?;
    let windows = group_consecutive(&sizes, max_tokens)
        .into_iter()
        .map(|group| {
            let mut window = Sentence::default();
            for sentence in &sentences[group] {
                window.words.extend(sentence.words.iter().cloned());
                window.tags.extend(sentence.tags.iter().cloned());
                window.soft.extend(sentence.soft.iter().cloned());
            }
            window
        });
    Ok(windows.collect())
}

/// Consecutive items grouped in order, each group as many as fit in `budget` by their `sizes`; an
/// item over the budget stays alone. The groups are index ranges covering every item.
pub fn group_consecutive(sizes: &[usize], budget: usize) -> Vec<Range<usize>> {
    let mut groups = Vec::new();
    let (mut start, mut size) = (0, 0);
    for (i, &item) in sizes.iter().enumerate() {
        if i > start && size + item > budget {
            groups.push(start..i);
            (start, size) = (i, 0);
        }
        size += item;
    }
    if start < sizes.len() {
        groups.push(start..sizes.len());
    }
    groups
}

/// The sentences' words with a teacher's tags and distributions (a word without sub-tokens has no
/// distribution of its own: its tag's, certain).
pub fn taught(
    sentences: &[Sentence],
    predicted: &[Vec<String>],
    distributions: &WordDistributions,
    labels: &[String],
) -> Vec<Sentence> {
    let soft_of = |row: &Option<Vec<f32>>, tag: &str| match row {
        Some(row) => labels.iter().cloned().zip(row.iter().copied()).collect(),
        None => vec![(tag.to_string(), 1.0)],
    };
    sentences
        .iter()
        .zip(predicted)
        .zip(distributions)
        .map(|((sentence, tags), rows)| Sentence {
            words: sentence.words.clone(),
            tags: tags.clone(),
            soft: rows
                .iter()
                .zip(tags)
                .map(|(row, tag)| soft_of(row, tag))
                .collect(),
        })
        .collect()
}

/// Writes sentences as IOB2 TSV, as [`read_iob2`] reads them.
pub fn write_iob2(path: &Path, sentences: &[Sentence]) -> Result<()> {
    let mut text = String::new();
    for sentence in sentences {
        for (i, (word, tag)) in sentence.words.iter().zip(&sentence.tags).enumerate() {
            match sentence.soft.get(i) {
                Some(soft) => text.push_str(&format!("{word}\t{tag}\t{}\n", format_soft(soft))),
                None => text.push_str(&format!("{word}\t{tag}\n")),
            }
        }
        text.push('\n');
    }
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// The entity types of a corpus, sorted, for a label set that does not depend on line order.
pub fn entity_types(sentences: &[Sentence]) -> Vec<String> {
    let mut types: Vec<String> = sentences
        .iter()
        .flat_map(|s| s.tags.iter())
        .filter_map(|t| Tag::parse(t).and_then(|t| t.kind()).map(String::from))
        .collect();
    types.sort();
    types.dedup();
    types
}

/// `--data DIR`: the flag, else `MEDLIGHT_DATA` (clap reads it), else the first default that exists.
pub fn resolve_data_dir(given: Option<PathBuf>) -> Result<PathBuf> {
    if let Some(dir) = given {
        return Ok(dir);
    }
    let defaults = [
        PathBuf::from("data/bc5cdr"),
        PathBuf::from("../shared/data/bc5cdr"),
    ];
    defaults.iter().find(|d| d.join("train.tsv").is_file()).cloned().with_context(|| {
        format!(
            "no BC5CDR data found at {}: pass --data DIR (holding train.tsv and devel.tsv) or set MEDLIGHT_DATA",
            defaults.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(" or ")
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<Sentence>> {
        parse_iob2(text, Path::new("x.tsv"))
    }

    #[test]
    fn reads_sentences_separated_by_blank_lines() {
        let s = parse("Aspirin\tB-Chemical\n.\tO\n\n\nnausea\tB-Disease\r\n").unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].words, ["Aspirin", "."]);
        assert_eq!(s[1].tags, ["B-Disease"]);
    }

    #[test]
    fn a_malformed_line_names_file_and_line() {
        let err = parse("a\tO\nbroken line\n").unwrap_err().to_string();
        assert!(err.contains("x.tsv:2"), "{err}");
    }

    #[test]
    fn an_unknown_tag_names_the_allowed_tags() {
        let err = parse("a\tO\nb\tChemical\n").unwrap_err().to_string();
        assert!(
            err.contains("x.tsv:2") && err.contains("`Chemical`") && err.contains("B-<type>"),
            "{err}"
        );
    }

    #[test]
    fn packing_joins_consecutive_sentences_up_to_the_budget_and_keeps_every_word() {
        let tokenizer = medlight_ner::testing::tiny_tokenizer();
        // "aspirin" is two sub-tokens: the sentences are 3, 2, 1 and 4 sub-tokens long.
        let s = parse("aspirin\tB-Chemical\nnausea\tB-Disease\n\nacute\tB-Disease\npain\tI-Disease\n\n.\tO\n\n\
                       the\tO\npatient\tO\nwith\tO\nhepatitis\tB-Disease\n")
            .unwrap();
        let packed = pack(&s, &tokenizer, 6).unwrap();
        assert_eq!(packed.len(), 2);
        assert_eq!(packed[0].words, ["aspirin", "nausea", "acute", "pain", "."]);
        assert_eq!(
            packed[0].tags,
            ["B-Chemical", "B-Disease", "B-Disease", "I-Disease", "O"]
        );
        assert_eq!(packed[1], s[3]);
        // A sentence over the budget stays alone; nothing is cut.
        let alone = pack(&s, &tokenizer, 2).unwrap();
        assert_eq!(
            alone.iter().map(|w| w.words.len()).collect::<Vec<_>>(),
            [2, 2, 1, 4]
        );
    }

    #[test]
    fn written_iob2_reads_back_the_same() {
        let s = parse("aspirin\tB-Chemical\nnausea\tB-Disease\n\n.\tO\n").unwrap();
        let path = std::env::temp_dir().join(format!("medlight-write-{}.tsv", std::process::id()));
        write_iob2(&path, &s).unwrap();
        assert_eq!(read_iob2(&path).unwrap(), s);
    }

    #[test]
    fn a_third_column_is_a_distribution_per_word_and_reads_back_the_same() {
        let s = parse("aspirin\tB-Chemical\tO=0.25,B-Chemical=0.75\n\n.\tO\tO=1\n").unwrap();
        assert_eq!(
            s[0].soft,
            [vec![
                ("O".to_string(), 0.25),
                ("B-Chemical".to_string(), 0.75)
            ]]
        );
        let path = std::env::temp_dir().join(format!("medlight-soft-{}.tsv", std::process::id()));
        write_iob2(&path, &s).unwrap();
        assert_eq!(read_iob2(&path).unwrap(), s);
    }

    #[test]
    fn a_bad_distribution_names_file_line_and_problem() {
        let err = |text| format!("{:#}", parse(text).unwrap_err());
        let e = err("a\tO\tO=1\nb\tO\n");
        assert!(
            e.contains("x.tsv:2") && e.contains("no third column"),
            "{e}"
        );
        let e = err("a\tO\nb\tO\tO=1\n");
        assert!(e.contains("x.tsv:2") && e.contains("has none"), "{e}");
        let e = err("a\tO\tO=0.5,B-Disease=0.2\n");
        assert!(e.contains("x.tsv:1") && e.contains("sums to 0.7"), "{e}");
        let e = err("a\tO\tO=1,Disease=0\n");
        assert!(e.contains("x.tsv:1") && e.contains("`Disease`"), "{e}");
        let e = err("a\tO\tO=x\n");
        assert!(e.contains("x.tsv:1") && e.contains("`x`"), "{e}");
    }

    #[test]
    fn an_empty_split_is_an_error() {
        let dir = std::env::temp_dir().join(format!("medlight-empty-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("devel.tsv");
        std::fs::write(&path, "\n\n").unwrap();
        let err = read_iob2(&path).unwrap_err().to_string();
        assert!(err.contains("no sentences"), "{err}");
    }
}
