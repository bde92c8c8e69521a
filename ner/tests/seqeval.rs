//! The metric equals `seqeval` (default mode) to 4 decimals on fixtures scored by seqeval itself
//! (`scripts/seqeval-fixtures.py`): I- without B-, adjacent entities of one type, entities at
//! sentence end, empty sentences, and 60 random sequences.

use medlight_ner::metrics::{evaluate, Scores};
use serde_json::Value;

fn close(ours: f64, theirs: &Value, what: &str) {
    let theirs = theirs
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: not a number"));
    assert!(
        (ours - theirs).abs() < 5e-5,
        "{what}: ours {ours:.6}, seqeval {theirs:.6}"
    );
}

fn check(ours: &Scores, theirs: &Value, what: &str) {
    close(
        ours.precision,
        &theirs["precision"],
        &format!("{what} precision"),
    );
    close(ours.recall, &theirs["recall"], &format!("{what} recall"));
    close(ours.f1, &theirs["f1"], &format!("{what} f1"));
}

#[test]
fn metric_equals_seqeval_on_fixtures() {
    let cases: Vec<Value> = serde_json::from_str(include_str!("fixtures/seqeval.json")).unwrap();
    assert!(cases.len() > 60);
    for case in &cases {
        let name = case["name"].as_str().unwrap();
        let parse = |v: &Value| -> Vec<Vec<String>> { serde_json::from_value(v.clone()).unwrap() };
        let report = evaluate(&parse(&case["gold"]), &parse(&case["pred"]));
        let expected = &case["expected"];
        check(&report.overall, &expected["overall"], name);
        let types = expected["per_type"].as_object().unwrap();
        for (kind, theirs) in types {
            let ours = report
                .per_type
                .get(kind)
                .unwrap_or_else(|| panic!("{name}: no scores for {kind}"));
            check(ours, theirs, &format!("{name} {kind}"));
            assert_eq!(
                ours.support as u64,
                theirs["support"].as_u64().unwrap(),
                "{name} {kind} support"
            );
        }
        // seqeval lists types with gold entities; ours may add predicted-only types, scored 0 recall.
        for (kind, ours) in &report.per_type {
            if !types.contains_key(kind) {
                assert_eq!(
                    ours.support, 0,
                    "{name}: {kind} has gold entities seqeval did not see"
                );
            }
        }
    }
}
