//! What the page knows about the current result, and what it shows of it: the annotation as it
//! streams in, the user's filters (entity types switched off, a confidence threshold), and the
//! side panel's list of unique entities. Plain data, so it is tested natively.

use std::collections::HashMap;

use medlight_ner::Entity;

/// The annotation of one text, filled in chunk by chunk by the worker.
#[derive(Debug, Clone, PartialEq)]
pub struct Annotation {
    pub id: u32,
    pub text: String,
    /// Entities found so far, in text order, with UTF-8 byte offsets into `text`.
    pub entities: Vec<Entity>,
    /// Bytes of `text` annotated so far.
    pub done: usize,
    /// Once finished: milliseconds taken and sub-tokens read.
    pub finished: Option<(f64, usize)>,
}

impl Annotation {
    /// Fraction of the text annotated, 0 to 1.
    pub fn progress(&self) -> f64 {
        if self.text.is_empty() {
            1.0
        } else {
            self.done as f64 / self.text.len() as f64
        }
    }
}

/// Which entities are shown.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Filters {
    /// Entity types the user switched off.
    pub hidden: Vec<String>,
    /// Entities scoring below this (0 to 1) are not shown.
    pub threshold: f32,
    /// Context groups (of `CONTEXT_GROUPS`) the user switched off.
    pub hidden_context: Vec<&'static str>,
}

/// The context filter's groups, as (group, what its checkbox says); the default, a present
/// condition of the patient, is always shown.
pub const CONTEXT_GROUPS: [(&str, &str); 4] = [
    ("negated", "negated"),
    ("possible", "possible or hypothetical"),
    ("historical", "historical"),
    ("family", "not the patient's"),
];

/// The group of `CONTEXT_GROUPS` a status (of `Context::statuses`) falls under.
fn context_group(status: &str) -> &str {
    match status {
        "hypothetical" => "possible",
        "other" => "family",
        status => status,
    }
}

impl Filters {
    pub fn shows(&self, entity: &Entity) -> bool {
        entity.score >= self.threshold
            && !self.hidden.contains(&entity.label)
            && !entity
                .context
                .statuses()
                .into_iter()
                .any(|s| self.hidden_context.contains(&context_group(s)))
    }

    pub fn toggle_context(&mut self, group: &'static str, on: bool) {
        self.hidden_context.retain(|g| *g != group);
        if !on {
            self.hidden_context.push(group);
        }
    }

    pub fn toggle(&mut self, label: &str, on: bool) {
        self.hidden.retain(|l| l != label);
        if !on {
            self.hidden.push(label.to_string());
        }
    }
}

/// The entities the filters let through, in text order.
pub fn shown(entities: &[Entity], filters: &Filters) -> Vec<Entity> {
    let mut out: Vec<Entity> = entities
        .iter()
        .filter(|e| filters.shows(e))
        .cloned()
        .collect();
    out.sort_by_key(|e| (e.start, e.end));
    out
}

/// A unique entity (same type and same concept, or without a concept the same text up to case)
/// and where it occurs.
#[derive(Debug, Clone, PartialEq)]
pub struct Unique {
    pub label: String,
    /// The text of its first occurrence.
    pub text: String,
    /// The other ways the text writes it ("Coumadin" beside "warfarin"), up to case.
    pub other_forms: Vec<String>,
    pub concept: Option<medlight_ner::linking::Concept>,
    /// Indices into the `entities` given to [`unique`], in text order.
    pub occurrences: Vec<usize>,
}

/// The MeSH Browser's page of each concept `concept` names (a composite mention names several):
/// (ID, address). The page only links to them; nothing is fetched unless the user follows one.
pub fn mesh_pages(concept: &medlight_ner::linking::Concept) -> Vec<(String, String)> {
    concept
        .id
        .split('|')
        .filter(|id| !id.is_empty())
        .map(|id| {
            let address = format!("https://meshb.nlm.nih.gov/record/ui?ui={id}");
            (id.to_string(), address)
        })
        .collect()
}

/// Unique entities, most frequent first (ties: by type, then text). Mentions of one concept are
/// one entity, whatever their spelling.
pub fn unique(text: &str, entities: &[Entity]) -> Vec<Unique> {
    let mut index: HashMap<(String, String), usize> = HashMap::new();
    let mut out: Vec<Unique> = Vec::new();
    for (i, e) in entities.iter().enumerate() {
        let Some(mention) = text.get(e.start..e.end) else {
            continue;
        };
        let key = match &e.concept {
            Some(c) => (e.label.clone(), format!("concept {}", c.id)),
            None => (e.label.clone(), format!("text {}", mention.to_lowercase())),
        };
        match index.get(&key) {
            Some(&at) => {
                let u = &mut out[at];
                u.occurrences.push(i);
                let lower = mention.to_lowercase();
                if u.text.to_lowercase() != lower
                    && !u.other_forms.iter().any(|f| f.to_lowercase() == lower)
                {
                    u.other_forms.push(mention.to_string());
                }
            }
            None => {
                index.insert(key, out.len());
                out.push(Unique {
                    label: e.label.clone(),
                    text: mention.to_string(),
                    other_forms: Vec::new(),
                    concept: e.concept.clone(),
                    occurrences: vec![i],
                });
            }
        }
    }
    out.sort_by(|a, b| {
        b.occurrences
            .len()
            .cmp(&a.occurrences.len())
            .then_with(|| (&a.label, &a.text).cmp(&(&b.label, &b.text)))
    });
    out
}

/// The occurrence to move to from `current` (the index focused now, if any): the next one after
/// it, wrapping round to the first.
pub fn next_occurrence(occurrences: &[usize], current: Option<usize>) -> Option<usize> {
    occurrences
        .iter()
        .copied()
        .find(|&i| current.is_some_and(|c| i > c))
        .or(occurrences.first().copied())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entity(text: &str, nth: usize, needle: &str, label: &str, score: f32) -> Entity {
        let start = text.match_indices(needle).nth(nth).unwrap().0;
        Entity {
            start,
            end: start + needle.len(),
            label: label.into(),
            score,
            ..Default::default()
        }
    }

    const TEXT: &str = "Aspirin and aspirin caused Nausea; ASPIRIN again, and nausea.";

    fn found() -> Vec<Entity> {
        vec![
            entity(TEXT, 0, "Aspirin", "Chemical", 0.99),
            entity(TEXT, 0, "aspirin", "Chemical", 0.40),
            entity(TEXT, 0, "Nausea", "Disease", 0.90),
            entity(TEXT, 0, "ASPIRIN", "Chemical", 0.95),
            entity(TEXT, 0, "nausea", "Disease", 0.70),
        ]
    }

    #[test]
    fn a_composite_concept_has_one_mesh_page_per_id() {
        let concept = |id: &str| medlight_ner::linking::Concept {
            id: id.into(),
            name: "x".into(),
            score: 1.0,
        };
        let pages = mesh_pages(&concept("D001943|D010051"));
        let ids: Vec<&str> = pages.iter().map(|(id, _)| id.as_str()).collect();
        assert_eq!(ids, ["D001943", "D010051"]);
        assert_eq!(pages[1].1, "https://meshb.nlm.nih.gov/record/ui?ui=D010051");
        assert_eq!(mesh_pages(&concept("C422649")).len(), 1);
    }

    #[test]
    fn filters_hide_types_and_low_scores() {
        let mut filters = Filters::default();
        assert_eq!(shown(&found(), &filters).len(), 5);
        filters.threshold = 0.5;
        assert_eq!(shown(&found(), &filters).len(), 4);
        filters.toggle("Disease", false);
        let left = shown(&found(), &filters);
        assert_eq!(
            left.iter()
                .map(|e| &TEXT[e.start..e.end])
                .collect::<Vec<_>>(),
            ["Aspirin", "ASPIRIN"]
        );
        filters.toggle("Disease", true);
        assert_eq!(shown(&found(), &filters).len(), 4);
    }

    #[test]
    fn the_context_filter_hides_each_group_and_keeps_present_conditions() {
        use medlight_ner::context::{Certainty, Experiencer, Temporality};
        let mut found = found();
        found[2].context.negated = true;
        found[3].context.certainty = Certainty::Hypothetical;
        found[4].context.experiencer = Experiencer::Other;
        found[0].context.temporality = Temporality::Historical;
        let mut filters = Filters::default();
        let count = |f: &Filters| shown(&found, f).len();
        assert_eq!(count(&filters), 5);
        for (group, _) in CONTEXT_GROUPS {
            filters.toggle_context(group, false);
            assert_eq!(count(&filters), 4, "{group}");
            filters.toggle_context(group, true);
        }
        for (group, _) in CONTEXT_GROUPS {
            filters.toggle_context(group, false);
        }
        let left = shown(&found, &filters);
        assert_eq!(
            left.iter()
                .map(|e| &TEXT[e.start..e.end])
                .collect::<Vec<_>>(),
            ["aspirin"]
        );
    }

    #[test]
    fn unique_entities_count_case_insensitively() {
        let all = shown(&found(), &Filters::default());
        let list = unique(TEXT, &all);
        let summary: Vec<(&str, &str, usize)> = list
            .iter()
            .map(|u| (u.label.as_str(), u.text.as_str(), u.occurrences.len()))
            .collect();
        assert_eq!(
            summary,
            [("Chemical", "Aspirin", 3), ("Disease", "Nausea", 2)]
        );
        assert_eq!(list[0].occurrences, [0, 1, 3]);
    }

    #[test]
    fn mentions_of_one_concept_are_one_entity_with_each_spelling() {
        use medlight_ner::linking::Concept;
        let text = "Coumadin, then warfarin; WARFARIN again, and heparin.";
        let warfarin = Concept {
            id: "D014859".into(),
            name: "Warfarin".into(),
            score: 1.0,
        };
        let mut all: Vec<Entity> = ["Coumadin", "warfarin", "WARFARIN", "heparin"]
            .iter()
            .map(|m| entity(text, 0, m, "Chemical", 0.9))
            .collect();
        for e in &mut all[..3] {
            e.concept = Some(warfarin.clone());
        }
        let list = unique(text, &all);
        assert_eq!(list.len(), 2);
        assert_eq!(
            (list[0].text.as_str(), list[0].occurrences.len()),
            ("Coumadin", 3)
        );
        assert_eq!(list[0].other_forms, ["warfarin"]);
        assert_eq!(
            list[0].concept.as_ref().map(|c| c.id.as_str()),
            Some("D014859")
        );
        assert_eq!(
            (list[1].text.as_str(), list[1].concept.is_none()),
            ("heparin", true)
        );
    }

    #[test]
    fn clicking_cycles_through_occurrences() {
        let occurrences = [2, 5, 9];
        assert_eq!(next_occurrence(&occurrences, None), Some(2));
        assert_eq!(next_occurrence(&occurrences, Some(2)), Some(5));
        assert_eq!(next_occurrence(&occurrences, Some(7)), Some(9));
        assert_eq!(next_occurrence(&occurrences, Some(9)), Some(2));
        assert_eq!(next_occurrence(&[], Some(1)), None);
    }

    #[test]
    fn progress_runs_from_zero_to_one() {
        let mut a = Annotation {
            id: 1,
            text: "abcd".into(),
            entities: vec![],
            done: 0,
            finished: None,
        };
        assert_eq!(a.progress(), 0.0);
        a.done = 2;
        assert_eq!(a.progress(), 0.5);
    }
}
