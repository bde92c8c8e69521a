use super::*;

fn ctx(sentence: &str, target: &str) -> Context {
    let start = sentence.find(target).expect("target in sentence");
    ContextRules::default().span_context(sentence, start, start + target.len())
}

#[test]
fn forward_negation_and_lists() {
    let s = "Patient denies fever, chills or cough.";
    for t in ["fever", "chills", "cough"] {
        let c = ctx(s, t);
        assert!(c.negated, "{t}");
        assert_eq!(c.triggers.negated.as_deref(), Some("denies"));
    }
    assert!(ctx("No fever, chills or cough.", "cough").negated);
    assert!(!ctx("The patient has fever.", "fever").negated);
}

#[test]
fn pseudo_triggers_do_not_negate() {
    assert!(!ctx("There is no increase in the effusion.", "effusion").negated);
}

#[test]
fn terminators_end_scope() {
    for s in [
        "No fever but has cough.",
        "No fever, however cough.",
        "No pain except cough.",
    ] {
        assert!(!ctx(s, "cough").negated, "{s}");
    }
}

#[test]
fn post_triggers_act_backward() {
    let c = ctx("Pneumonia was ruled out.", "Pneumonia");
    assert!(c.negated);
}

#[test]
fn possible_hypothetical_historical_family() {
    assert_eq!(ctx("Rule out MI.", "MI").certainty, Certainty::Possible);
    assert_eq!(
        ctx("Return if you develop fever.", "fever").certainty,
        Certainty::Hypothetical
    );
    assert_eq!(
        ctx("History of stroke.", "stroke").temporality,
        Temporality::Historical
    );
    assert_eq!(
        ctx("Mother had breast cancer.", "breast cancer").experiencer,
        Experiencer::Family
    );
    assert_eq!(
        ctx("Mother had breast cancer.", "breast cancer")
            .triggers
            .experiencer
            .as_deref(),
        Some("Mother")
    );
}

#[test]
fn section_headers_set_context_until_the_next() {
    let text = "FAMILY HISTORY: diabetes.\nPAST MEDICAL HISTORY: asthma.\nPLAN: aspirin.";
    let mut es: Vec<Entity> = ["diabetes", "asthma", "aspirin"]
        .iter()
        .map(|w| {
            let start = text.find(w).unwrap();
            Entity {
                start,
                end: start + w.len(),
                label: "Disease".into(),
                ..Default::default()
            }
        })
        .collect();
    ContextRules::default().apply(text, &mut es);
    assert_eq!(es[0].context.experiencer, Experiencer::Family);
    assert_eq!(es[1].context.temporality, Temporality::Historical);
    assert_eq!(es[2].context, Context::default());
}

#[test]
fn bad_lexicon_rows_name_their_line() {
    let err = ContextRules::from_tsv("x.tsv", "# c\nno\tnegated\n").unwrap_err();
    assert!(err.contains("x.tsv:2"), "{err}");
}

#[test]
fn statuses_and_explanation_name_each_non_default_value_and_its_trigger() {
    let c = ctx("Denies chest pain.", "chest pain");
    assert_eq!(c.statuses(), vec!["negated"]);
    assert_eq!(c.explanation(), vec!["negated by 'Denies'"]);
    let c = ctx("Mother had breast cancer.", "breast cancer");
    assert_eq!(c.statuses(), vec!["family"]);
    assert_eq!(c.explanation(), vec!["experienced by family by 'Mother'"]);
    assert!(Context::default().statuses().is_empty());
    let untriggered = Context {
        certainty: Certainty::Possible,
        ..Default::default()
    };
    assert_eq!(untriggered.explanation(), vec!["possible"]);
}

#[test]
fn a_chunk_of_entities_gets_the_context_it_gets_with_all_of_them() {
    let text = "FAMILY HISTORY: diabetes.\nHPI: Denies fever. Has cough.\nPLAN: return if rash.";
    let all: Vec<Entity> = ["diabetes", "fever", "cough", "rash"]
        .iter()
        .map(|w| {
            let start = text.find(w).unwrap();
            Entity {
                start,
                end: start + w.len(),
                label: "Disease".into(),
                ..Default::default()
            }
        })
        .collect();
    let rules = ContextRules::default();
    let mut whole = all.clone();
    rules.apply(text, &mut whole);
    for (i, e) in all.iter().enumerate() {
        let mut one = vec![e.clone()];
        rules.apply(text, &mut one);
        assert_eq!(
            one[0].context,
            whole[i].context,
            "{}",
            &text[e.start..e.end]
        );
    }
    assert!(whole[1].context.negated && !whole[2].context.negated);
}

#[test]
fn status_words_are_the_serialised_names() {
    use serde_json::to_value;
    for c in [
        Certainty::Certain,
        Certainty::Possible,
        Certainty::Hypothetical,
    ] {
        assert_eq!(to_value(c).unwrap(), c.as_str());
    }
    for t in [Temporality::Recent, Temporality::Historical] {
        assert_eq!(to_value(t).unwrap(), t.as_str());
    }
    for e in [
        Experiencer::Patient,
        Experiencer::Family,
        Experiencer::Other,
    ] {
        assert_eq!(to_value(e).unwrap(), e.as_str());
    }
}
