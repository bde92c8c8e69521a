//! Each entity's clinical context (negated, possible, historical, not the patient's) in the text,
//! the panel and the exports.

use fantoccini::Locator;

use crate::support::*;

/// A note whose four conditions each have a different clinical context. (The shipped model misses
/// "fever" and "MI" in such notes, so the note names conditions it finds.)
const CONTEXT_NOTE: &str =
    "She denies headache. History of stroke. Mother had breast cancer. Rule out myocardial infarction.";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_each_entity_shows_its_clinical_context_in_the_text_the_panel_and_the_export() {
    let (_server, browser) = open_app().await;
    browser.paste_text(CONTEXT_NOTE).await;
    browser.annotated(CONTEXT_NOTE).await;
    let script = "return [...document.querySelectorAll('.annotated mark')].map(m => \
                  [m.textContent, m.dataset.context, m.getAttribute('aria-label')]);";
    let marks: Vec<(String, String, String)> =
        serde_json::from_value(browser.client().execute(script, vec![]).await.unwrap()).unwrap();
    let expected = [
        ("headache", "negated", "negated by 'denies'"),
        ("stroke", "historical", "historical by 'History'"),
        (
            "breast cancer",
            "family",
            "experienced by family by 'Mother'",
        ),
        (
            "myocardial infarction",
            "possible",
            "possible by 'Rule out'",
        ),
    ];
    assert_eq!(marks.len(), expected.len(), "{marks:?}");
    for ((text, context, spoken), (want_text, want_context, why)) in marks.iter().zip(expected) {
        assert_eq!((text.as_str(), context.as_str()), (want_text, want_context));
        assert!(
            spoken.starts_with(&format!("{want_text}: Disease · {why} · ")),
            "{spoken}"
        );
    }
    let counts = browser
        .client()
        .find(Locator::Css(".panel .context-counts"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        counts,
        "0 present · 1 negated · 3 possible, historical or not the patient's"
    );

    // The context filter hides negated entities, and showing them again brings them back.
    let negated = "document.querySelector(\"input[data-context='negated']\").click();";
    browser.client().execute(negated, vec![]).await.unwrap();
    let shown = browser.marks().await;
    assert_eq!(
        shown.iter().map(|m| m.1.as_str()).collect::<Vec<_>>(),
        ["stroke", "breast cancer", "myocardial infarction"]
    );
    browser.client().execute(negated, vec![]).await.unwrap();
    assert_eq!(browser.marks().await.len(), expected.len());

    browser.capture_exports().await;
    let exported = browser.export("button.export-json").await;
    let document: serde_json::Value = serde_json::from_str(&exported).unwrap();
    let rows: Vec<(&str, bool, &str, &str, &str)> = document["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let field = |name: &str| e[name].as_str().unwrap();
            (
                field("text"),
                e["negated"].as_bool().unwrap(),
                field("certainty"),
                field("temporality"),
                field("experiencer"),
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("headache", true, "certain", "recent", "patient"),
            ("stroke", false, "certain", "historical", "patient"),
            ("breast cancer", false, "certain", "recent", "family"),
            (
                "myocardial infarction",
                false,
                "possible",
                "recent",
                "patient"
            ),
        ]
    );
}
