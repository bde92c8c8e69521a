//! The result as files: JSON, CSV and brat standoff (`.ann`). Offsets in every export count Unicode
//! code points (what Python's `str` and brat count), not the UTF-8 bytes the worker reports.

use medlight_ner::Entity;
use serde::Serialize;

use crate::highlight::fits;

/// One entity as exported.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row<'a> {
    pub start: usize,
    pub end: usize,
    pub label: &'a str,
    pub score: f32,
    pub text: &'a str,
    /// Clinical context (flat, so CSV has a column for each).
    pub negated: bool,
    pub certainty: &'static str,
    pub temporality: &'static str,
    pub experiencer: &'static str,
    /// What decided the statuses: "negated by 'denies'"; empty for a present condition.
    pub context_trigger: String,
    /// The MeSH concept ("D014859"; a composite's IDs joined by `|`) and its preferred name; empty
    /// where the entity has none.
    pub concept_id: &'a str,
    pub concept_name: &'a str,
}

/// Entities in text order with code-point offsets. Entities whose offsets do not fit `text` are left out.
pub fn rows<'a>(text: &'a str, entities: &'a [Entity]) -> Vec<Row<'a>> {
    let mut sorted: Vec<&Entity> = entities.iter().filter(|e| fits(text, e)).collect();
    sorted.sort_by_key(|e| (e.start, e.end));
    sorted
        .into_iter()
        .map(|e| Row {
            start: text[..e.start].chars().count(),
            end: text[..e.end].chars().count(),
            label: &e.label,
            score: e.score,
            text: &text[e.start..e.end],
            negated: e.context.negated,
            certainty: e.context.certainty.as_str(),
            temporality: e.context.temporality.as_str(),
            experiencer: e.context.experiencer.as_str(),
            context_trigger: e.context.explanation().join("; "),
            concept_id: e.concept.as_ref().map_or("", |c| c.id.as_str()),
            concept_name: e.concept.as_ref().map_or("", |c| c.name.as_str()),
        })
        .collect()
}

#[derive(Serialize)]
struct Document<'a> {
    text: &'a str,
    offsets: &'static str,
    entities: Vec<Row<'a>>,
}

pub fn to_json(text: &str, entities: &[Entity]) -> String {
    let document = Document {
        text,
        offsets: "unicode code points, end exclusive",
        entities: rows(text, entities),
    };
    serde_json::to_string_pretty(&document).expect("plain data serialises")
}

pub fn to_csv(text: &str, entities: &[Entity]) -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in rows(text, entities) {
        writer
            .serialize(row)
            .expect("writing to memory cannot fail");
    }
    String::from_utf8(writer.into_inner().expect("writing to memory cannot fail"))
        .expect("CSV of UTF-8 is UTF-8")
}

/// brat standoff: `T<n>\t<label> <start> <end>\t<text>`. An entity across a line break becomes
/// fragments (`start end;start end`), as brat requires. Context other than the default follows
/// each entity as attribute lines: `A<m>\tNegated T<n>` and `A<m>\tCertainty T<n> possible`; its
/// concept as normalisation lines, one per ID: `N<k>\tReference T<n> MESH:D014859\tWarfarin`.
pub fn to_brat(text: &str, entities: &[Entity]) -> String {
    let mut out = String::new();
    let (mut attributes, mut references) = (0, 0);
    for (n, row) in rows(text, entities).into_iter().enumerate() {
        let mut fragments = Vec::new();
        let mut at = row.start;
        for piece in row.text.split(['\n', '\r']) {
            let len = piece.chars().count();
            if !piece.trim().is_empty() {
                let lead = piece.chars().take_while(|c| c.is_whitespace()).count();
                let trail = piece
                    .chars()
                    .rev()
                    .take_while(|c| c.is_whitespace())
                    .count();
                fragments.push((at + lead, at + len - trail, piece.trim()));
            }
            at += len + 1;
        }
        let spans: Vec<String> = fragments
            .iter()
            .map(|(s, e, _)| format!("{s} {e}"))
            .collect();
        let texts: Vec<&str> = fragments.iter().map(|(_, _, t)| *t).collect();
        out.push_str(&format!(
            "T{}\t{} {}\t{}\n",
            n + 1,
            row.label,
            spans.join(";"),
            texts.join(" ")
        ));
        for (name, value) in brat_attributes(&row) {
            attributes += 1;
            let value = value.map(|v| format!(" {v}")).unwrap_or_default();
            out.push_str(&format!("A{attributes}\t{name} T{}{value}\n", n + 1));
        }
        let names: Vec<&str> = row.concept_name.split(" | ").collect();
        for (i, id) in row
            .concept_id
            .split('|')
            .filter(|id| !id.is_empty())
            .enumerate()
        {
            references += 1;
            let name = names.get(i).copied().unwrap_or(row.concept_name);
            out.push_str(&format!(
                "N{references}\tReference T{} MESH:{id}\t{name}\n",
                n + 1
            ));
        }
    }
    out
}

/// The attributes brat shows for an entity: `Negated` is binary, the others carry their value.
fn brat_attributes(row: &Row) -> Vec<(&'static str, Option<&'static str>)> {
    let mut out = Vec::new();
    if row.negated {
        out.push(("Negated", None));
    }
    for (name, value, default) in [
        ("Certainty", row.certainty, "certain"),
        ("Temporality", row.temporality, "recent"),
        ("Experiencer", row.experiencer, "patient"),
    ] {
        if value != default {
            out.push((name, Some(value)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entity(text: &str, needle: &str, label: &str) -> Entity {
        let start = text.find(needle).unwrap();
        Entity {
            start,
            end: start + needle.len(),
            label: label.into(),
            score: 0.5,
            ..Default::default()
        }
    }

    const TEXT: &str = "Café 💊 \"β-blockers\", then lung\r\ncancer.";

    fn found() -> Vec<Entity> {
        vec![
            entity(TEXT, "lung\r\ncancer", "Disease"),
            entity(TEXT, "\"β-blockers\"", "Chemical"),
        ]
    }

    #[test]
    fn offsets_count_code_points() {
        let found = found();
        let rows = rows(TEXT, &found);
        assert_eq!(rows[0].text, "\"β-blockers\"");
        let chars: Vec<char> = TEXT.chars().collect();
        for row in &rows {
            assert_eq!(
                chars[row.start..row.end].iter().collect::<String>(),
                row.text
            );
        }
        assert_eq!((rows[0].start, rows[0].end), (7, 19));
    }

    #[test]
    fn json_round_trips() {
        let value: serde_json::Value = serde_json::from_str(&to_json(TEXT, &found())).unwrap();
        assert_eq!(value["text"], TEXT);
        assert_eq!(value["entities"][1]["label"], "Disease");
        assert_eq!(value["entities"][1]["text"], "lung\r\ncancer");
        assert_eq!(value["entities"][0]["start"], 7);
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let csv = to_csv(TEXT, &found());
        let mut lines = csv.lines();
        assert_eq!(
            lines.next(),
            Some("start,end,label,score,text,negated,certainty,temporality,experiencer,context_trigger,concept_id,concept_name")
        );
        assert_eq!(
            lines.next(),
            Some("7,19,Chemical,0.5,\"\"\"β-blockers\"\"\",false,certain,recent,patient,,,")
        );
        assert!(csv.contains("\"lung\r\ncancer\""));
    }

    #[test]
    fn brat_splits_entities_at_line_breaks() {
        assert_eq!(
            to_brat(TEXT, &found()),
            "T1\tChemical 7 19\t\"β-blockers\"\nT2\tDisease 26 30;32 38\tlung cancer\n"
        );
        let chars: Vec<char> = TEXT.chars().collect();
        assert_eq!(chars[26..30].iter().collect::<String>(), "lung");
        assert_eq!(chars[32..38].iter().collect::<String>(), "cancer");
    }

    #[test]
    fn context_travels_to_every_export() {
        use medlight_ner::context::{Certainty, Context, Experiencer, Triggers};
        let text = "Denies fever. Mother had asthma.";
        let mut fever = entity(text, "fever", "Disease");
        fever.context = Context {
            negated: true,
            triggers: Triggers {
                negated: Some("Denies".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let mut asthma = entity(text, "asthma", "Disease");
        asthma.context = Context {
            experiencer: Experiencer::Family,
            certainty: Certainty::Possible,
            ..Default::default()
        };
        let found = [fever, asthma];
        assert_eq!(
            to_brat(text, &found),
            "T1\tDisease 7 12\tfever\nA1\tNegated T1\n\
             T2\tDisease 25 31\tasthma\nA2\tCertainty T2 possible\nA3\tExperiencer T2 family\n"
        );
        let json: serde_json::Value = serde_json::from_str(&to_json(text, &found)).unwrap();
        assert_eq!(json["entities"][0]["negated"], true);
        assert_eq!(
            json["entities"][0]["context_trigger"],
            "negated by 'Denies'"
        );
        assert_eq!(json["entities"][1]["experiencer"], "family");
        assert!(to_csv(text, &found).contains(",true,certain,recent,patient,negated by 'Denies'"));
    }

    #[test]
    fn concepts_travel_to_every_export() {
        use medlight_ner::linking::Concept;
        let text = "Coumadin; breast and ovarian cancer.";
        let mut drug = entity(text, "Coumadin", "Chemical");
        drug.concept = Some(Concept {
            id: "D014859".into(),
            name: "Warfarin".into(),
            score: 1.0,
        });
        let mut cancer = entity(text, "breast and ovarian cancer", "Disease");
        cancer.concept = Some(Concept {
            id: "D001943|D010051".into(),
            name: "Breast Neoplasms | Ovarian Neoplasms".into(),
            score: 1.0,
        });
        let found = [drug, cancer];
        assert_eq!(
            to_brat(text, &found),
            "T1\tChemical 0 8\tCoumadin\nN1\tReference T1 MESH:D014859\tWarfarin\n\
             T2\tDisease 10 35\tbreast and ovarian cancer\n\
             N2\tReference T2 MESH:D001943\tBreast Neoplasms\nN3\tReference T2 MESH:D010051\tOvarian Neoplasms\n"
        );
        let json: serde_json::Value = serde_json::from_str(&to_json(text, &found)).unwrap();
        assert_eq!(json["entities"][0]["concept_id"], "D014859");
        assert_eq!(json["entities"][0]["concept_name"], "Warfarin");
        assert!(to_csv(text, &found).contains(",D014859,Warfarin\n"));
    }
}
