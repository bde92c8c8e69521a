//! `trainer context-eval`: scores the clinical context rules on a ConText test-kit TSV (header,
//! then number, condition, sentence, negation, temporality, experiencer).

use std::path::Path;

use anyhow::{bail, Context as _, Result};
use medlight_ner::context::{Certainty, ContextRules, Experiencer, Temporality};
use medlight_ner::metrics;

/// One row of the kit, with its line number in the file.
#[derive(Debug, Clone)]
pub struct Row {
    pub line: usize,
    pub condition: String,
    pub sentence: String,
    pub negated: bool,
    /// "recent", "historical" or "not particular" (hypothetical)
    pub temporality: String,
    pub patient: bool,
}

/// Parses the kit's TSV; a malformed row is an error naming the file and line.
pub fn read(path: &Path) -> Result<Vec<Row>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse(&path.display().to_string(), &text)
}

pub fn parse(name: &str, text: &str) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() < 6 {
            bail!(
                "{name}:{}: expected 6 tab-separated columns, found {}",
                i + 1,
                f.len()
            );
        }
        let negated = match f[3].trim().to_lowercase().as_str() {
            "negated" => true,
            "affirmed" | "possible" => false,
            other => bail!("{name}:{}: unknown negation {other:?}", i + 1),
        };
        let temporality = f[4].trim().to_lowercase();
        if !["recent", "historical", "not particular", "hypothetical"].contains(&&*temporality) {
            bail!("{name}:{}: unknown temporality {:?}", i + 1, f[4]);
        }
        let temporality = if temporality == "hypothetical" {
            "not particular".into()
        } else {
            temporality
        };
        rows.push(Row {
            line: i + 1,
            condition: f[1].trim().to_string(),
            sentence: f[2].to_string(),
            negated,
            temporality,
            patient: f[5].trim().eq_ignore_ascii_case("patient"),
        });
    }
    Ok(rows)
}

/// Counts and the rows whose condition was not found in its sentence.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Scores {
    pub rows: usize,
    pub tp: usize,
    pub fp: usize,
    pub fn_: usize,
    pub neg_correct: usize,
    pub temp_correct: usize,
    pub exp_correct: usize,
    pub missing: Vec<usize>,
    /// Each row judged wrong on some status: its line and what was wrong.
    pub errors: Vec<(usize, String)>,
}

/// Case-insensitive byte span of `needle` in `hay` (ASCII folding keeps byte offsets).
fn find_ci(hay: &str, needle: &str) -> Option<(usize, usize)> {
    let h = hay.to_ascii_lowercase();
    let n = needle.to_ascii_lowercase();
    h.find(&n).map(|s| (s, s + n.len()))
}

/// Scores every row. A condition missing from its sentence is listed in `missing` and scored as
/// the default context (affirmed, recent, patient), so it counts in every figure.
pub fn score(rules: &ContextRules, rows: &[Row]) -> Scores {
    let mut s = Scores::default();
    for r in rows {
        let c = match find_ci(&r.sentence, &r.condition) {
            Some((a, b)) => rules.span_context(&r.sentence, a, b),
            None => {
                s.missing.push(r.line);
                Default::default()
            }
        };
        s.rows += 1;
        match (c.negated, r.negated) {
            (true, true) => s.tp += 1,
            (true, false) => s.fp += 1,
            (false, true) => s.fn_ += 1,
            _ => {}
        }
        s.neg_correct += usize::from(c.negated == r.negated);
        let mut wrong = Vec::new();
        if c.negated != r.negated {
            let why = c
                .triggers
                .negated
                .as_deref()
                .map(|t| format!(" by '{t}'"))
                .unwrap_or_default();
            wrong.push(format!(
                "negated: kit {}, rules {}{why}",
                r.negated, c.negated
            ));
        }
        let temp = if c.certainty == Certainty::Hypothetical {
            "not particular"
        } else if c.temporality == Temporality::Historical {
            "historical"
        } else {
            "recent"
        };
        s.temp_correct += usize::from(temp == r.temporality);
        if temp != r.temporality {
            wrong.push(format!("temporality: kit {}, rules {temp}", r.temporality));
        }
        let patient = c.experiencer == Experiencer::Patient;
        s.exp_correct += usize::from(patient == r.patient);
        if patient != r.patient {
            wrong.push(format!("patient: kit {}, rules {patient}", r.patient));
        }
        if !wrong.is_empty() {
            s.errors.push((
                r.line,
                format!("{} | {} | {}", wrong.join("; "), r.condition, r.sentence),
            ));
        }
    }
    s
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

impl Scores {
    /// Negation's precision, recall and F1, Negated being the positive class.
    fn negation(&self) -> metrics::Scores {
        metrics::Scores::from_counts(self.tp, self.tp + self.fp, self.tp + self.fn_)
    }
    pub fn precision(&self) -> f64 {
        self.negation().precision
    }
    pub fn recall(&self) -> f64 {
        self.negation().recall
    }
    pub fn f1(&self) -> f64 {
        self.negation().f1
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "negation": {
                "precision": self.precision(), "recall": self.recall(), "f1": self.f1(),
                "accuracy": ratio(self.neg_correct, self.rows),
            },
            "temporality": {"accuracy": ratio(self.temp_correct, self.rows)},
            "experiencer": {"accuracy": ratio(self.exp_correct, self.rows)},
            "rows": self.rows,
        })
    }
}

/// Runs the command: `part` is "all", "odd" or "even" (rows by position, to tune on one half).
/// With `errors`, each row judged wrong is printed to stderr with its line.
pub fn run(data: &Path, json: bool, part: &str, errors: bool) -> Result<()> {
    let rows = read(data)?;
    let rows: Vec<Row> = match part {
        "all" => rows,
        "odd" | "even" => {
            let keep = usize::from(part == "even");
            rows.into_iter()
                .enumerate()
                .filter(|(i, _)| i % 2 == keep)
                .map(|(_, r)| r)
                .collect()
        }
        _ => bail!("--part: expected all, odd or even, got {part:?}"),
    };
    let s = score(&ContextRules::default(), &rows);
    for line in &s.missing {
        eprintln!(
            "{}:{line}: condition not found in its sentence (scored as default)",
            data.display()
        );
    }
    if errors {
        for (line, what) in &s.errors {
            eprintln!("{}:{line}: {what}", data.display());
        }
    }
    println!("rows {} (condition not found: {})", s.rows, s.missing.len());
    println!(
        "negation    P {:.4}  R {:.4}  F1 {:.4}  accuracy {:.4}",
        s.precision(),
        s.recall(),
        s.f1(),
        ratio(s.neg_correct, s.rows)
    );
    println!("temporality accuracy {:.4}", ratio(s.temp_correct, s.rows));
    println!("experiencer accuracy {:.4}", ratio(s.exp_correct, s.rows));
    if json {
        println!("{}", s.json());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KIT: &str = "n\tc\ts\tneg\ttemp\texp\n\
        1\tfever\tPatient denies FEVER.\tNegated\tRecent\tPatient\n\
        2\tstroke\tHistory of STROKE.\tAffirmed\tHistorical\tPatient\n\
        3\tcough\tShe has a rash.\tAffirmed\tRecent\tPatient\n";

    #[test]
    fn scores_rows_and_counts_missing_conditions() {
        let rows = parse("kit.tsv", KIT).unwrap();
        let s = score(&ContextRules::default(), &rows);
        assert_eq!((s.rows, s.tp, s.fp, s.fn_), (3, 1, 0, 0));
        assert_eq!(s.missing, vec![4]);
        assert_eq!(s.temp_correct, 3);
        assert_eq!(s.json()["negation"]["f1"], 1.0);
        assert!(s.errors.is_empty(), "{:?}", s.errors);
        let wrong = parse(
            "kit.tsv",
            "h\n1\tfever\tHas FEVER.\tNegated\tRecent\tPatient\n",
        )
        .unwrap();
        let s = score(&ContextRules::default(), &wrong);
        assert_eq!(s.errors.len(), 1);
        assert!(
            s.errors[0].1.starts_with("negated: kit true, rules false"),
            "{:?}",
            s.errors
        );
    }

    #[test]
    fn malformed_rows_name_file_and_line() {
        let err = parse("kit.tsv", "h\n1\tfever\tno FEVER\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("kit.tsv:2"), "{err}");
        let err = parse("kit.tsv", "h\n1\tf\tF\tMaybe\tRecent\tPatient\n").unwrap_err();
        assert!(err.to_string().contains("kit.tsv:2"));
    }
}
