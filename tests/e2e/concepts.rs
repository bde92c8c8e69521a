//! MeSH concepts on entities; one concept is one panel row.

use crate::support::*;

/// Two names of one drug, and a condition.
const CONCEPT_NOTE: &str = "Coumadin was stopped; warfarin restarted. She denies headache.";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_entities_carry_their_mesh_concept_and_one_concept_is_one_panel_row() {
    let (_server, browser) = open_app().await;
    browser
        .wait_for(".status .concepts[data-state='ready']", READY_TIMEOUT)
        .await;
    browser.paste_text(CONCEPT_NOTE).await;
    let marks = browser.annotated(CONCEPT_NOTE).await;
    let found = texts_and_labels(&marks);
    assert_eq!(
        found,
        [
            ("Coumadin", "Chemical"),
            ("warfarin", "Chemical"),
            ("headache", "Disease")
        ]
    );
    for ((_, _, title), concept) in
        marks
            .iter()
            .zip(["D014859 Warfarin", "D014859 Warfarin", "D006261 Headache"])
    {
        assert!(title.ends_with(&format!(" · MeSH {concept}")), "{title}");
    }

    let script = "return [...document.querySelectorAll('.panel button.unique')].map(b => \
                  [b.querySelector('.entity').textContent, Number(b.querySelector('.count').textContent), \
                   b.querySelector('.forms')?.textContent ?? '', b.querySelector('.concept')?.textContent ?? '']);";
    let panel: Vec<(String, usize, String, String)> =
        serde_json::from_value(browser.client().execute(script, vec![]).await.unwrap()).unwrap();
    assert_eq!(
        panel,
        [
            (
                "Coumadin".into(),
                2,
                "also warfarin".into(),
                "D014859 Warfarin".into()
            ),
            (
                "headache".into(),
                1,
                String::new(),
                "D006261 Headache".into()
            ),
        ]
    );
    // Each row links to its concept's MeSH page, opened apart from the page, only when clicked.
    let links = "return [...document.querySelectorAll('.panel a.mesh-page')].map(a => [a.href, a.target, a.rel]);";
    let links: Vec<(String, String, String)> =
        serde_json::from_value(browser.client().execute(links, vec![]).await.unwrap()).unwrap();
    let page = |id: &str| {
        (
            format!("https://meshb.nlm.nih.gov/record/ui?ui={id}"),
            "_blank".to_string(),
            "noopener noreferrer".to_string(),
        )
    };
    assert_eq!(links, [page("D014859"), page("D006261")]);

    browser.capture_exports().await;
    let exported = browser.export("button.export-json").await;
    let document: serde_json::Value = serde_json::from_str(&exported).unwrap();
    let ids: Vec<&str> = document["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["concept_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["D014859", "D014859", "D006261"]);
    let ann = browser.export("button.export-brat").await;
    let references: Vec<&str> = ann.lines().filter(|l| l.starts_with('N')).collect();
    assert_eq!(
        references,
        [
            "N1\tReference T1 MESH:D014859\tWarfarin",
            "N2\tReference T2 MESH:D014859\tWarfarin",
            "N3\tReference T3 MESH:D006261\tHeadache",
        ]
    );
}
