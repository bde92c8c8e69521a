//! The entity panel, the type, confidence and context filters, and the exports follow the highlights.

use std::time::Duration;

use fantoccini::Locator;
use serde_json::json;

use crate::support::*;

const REPEATED: &str = "Aspirin and cisplatin caused nausea. Aspirin again caused nausea and lung cancer. aspirin helped.";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_panel_filters_and_exports_follow_the_highlights() {
    let (_server, browser) = open_app().await;
    browser.paste_text(REPEATED).await;
    browser.annotated(REPEATED).await;
    let marks = browser.marks().await;
    assert!(
        marks.iter().filter(|m| m.2 == "Chemical").count() >= 2,
        "{marks:?}"
    );
    assert!(marks.iter().any(|m| m.2 == "Disease"), "{marks:?}");

    let panel = the_panel_counts_the_highlights(&browser, &marks).await;
    clicking_an_entry_visits_its_occurrences(&browser, &panel[0]).await;
    a_type_toggle_hides_and_restores_it(&browser, &marks).await;
    the_threshold_hides_low_scores(&browser, &marks).await;
    the_exports_hold_the_highlights(&browser, &marks).await;
    browser.close().await;
}

/// A highlight: (id, text, label, tooltip).
type Mark = (String, String, String, String);

/// The panel lists each unique entity (type + text up to case) with its count. Returns the panel's rows: (label, text, count).
async fn the_panel_counts_the_highlights(
    browser: &Browser,
    marks: &[Mark],
) -> Vec<(String, String, usize)> {
    let mut expected: Vec<(String, String, usize)> = Vec::new();
    for (_, text, label, _) in marks {
        match expected
            .iter_mut()
            .find(|(l, t, _)| l == label && t.to_lowercase() == text.to_lowercase())
        {
            Some(entry) => entry.2 += 1,
            None => expected.push((label.clone(), text.clone(), 1)),
        }
    }
    let script = "return [...document.querySelectorAll('.panel button.unique')].map(b => \
                  [b.dataset.label, b.querySelector('.entity').textContent, Number(b.querySelector('.count').textContent)]);";
    let panel: Vec<(String, String, usize)> =
        serde_json::from_value(browser.client().execute(script, vec![]).await.unwrap()).unwrap();
    let mut sorted_expected = expected.clone();
    sorted_expected.sort();
    let mut sorted_panel = panel.clone();
    sorted_panel.sort();
    assert_eq!(sorted_panel, sorted_expected);
    assert!(
        panel.windows(2).all(|w| w[0].2 >= w[1].2),
        "most frequent first: {panel:?}"
    );
    panel
}

/// Clicking an entry focuses its occurrences in turn.
async fn clicking_an_entry_visits_its_occurrences(
    browser: &Browser,
    entry: &(String, String, usize),
) {
    let (label, text, count) = entry.clone();
    assert!(count >= 2, "{entry:?}");
    let button = browser
        .client()
        .find(Locator::Css(".panel button.unique"))
        .await
        .unwrap();
    let focused =
        "const m = document.activeElement; return [m.id, m.textContent, m.dataset.label || ''];";
    let mut visited = Vec::new();
    for _ in 0..count {
        button.click().await.unwrap();
        let (id, shown, shown_label): (String, String, String) =
            serde_json::from_value(browser.client().execute(focused, vec![]).await.unwrap())
                .unwrap();
        assert!(id.starts_with("mention-"), "focused {id:?}");
        assert_eq!(
            (shown.to_lowercase(), shown_label),
            (text.to_lowercase(), label.clone())
        );
        visited.push(id);
    }
    let mut distinct = visited.clone();
    distinct.dedup();
    assert_eq!(distinct.len(), count, "each click moves on: {visited:?}");
}

/// A type switched off disappears from the text and the panel; switched on, it returns.
async fn a_type_toggle_hides_and_restores_it(browser: &Browser, marks: &[Mark]) {
    let toggle = browser
        .client()
        .find(Locator::Css("input[type=checkbox][data-label='Disease']"))
        .await
        .unwrap();
    toggle.click().await.unwrap();
    let filtered = browser.marks().await;
    assert!(filtered.iter().all(|m| m.2 != "Disease"), "{filtered:?}");
    assert_eq!(
        filtered.len(),
        marks.iter().filter(|m| m.2 != "Disease").count()
    );
    let panel_labels = browser.client().execute(
        "return [...document.querySelectorAll('.panel button.unique')].map(b => b.dataset.label);", vec![]).await.unwrap();
    assert!(
        !panel_labels.to_string().contains("Disease"),
        "{panel_labels}"
    );
    toggle.click().await.unwrap();
    assert_eq!(browser.marks().await.len(), marks.len());
}

/// The confidence threshold hides what scores below it.
async fn the_threshold_hides_low_scores(browser: &Browser, marks: &[Mark]) {
    let set_threshold = "const t = document.querySelector('#threshold'); t.value = arguments[0]; \
                         t.dispatchEvent(new Event('input', { bubbles: true }));";
    browser
        .client()
        .execute(set_threshold, vec![json!("100")])
        .await
        .unwrap();
    let confident = browser.marks().await;
    assert!(
        confident.iter().all(|m| m.3.contains("· 100% confidence")),
        "{confident:?}"
    );
    let all_certain = marks.iter().all(|m| m.3.contains("· 100% confidence"));
    if !all_certain {
        assert!(confident.len() < marks.len());
        let stats = browser
            .wait_for(".result .stats", Duration::from_secs(5))
            .await
            .text()
            .await
            .unwrap();
        assert!(stats.contains("hidden by filters"), "{stats}");
    }
    browser
        .client()
        .execute(set_threshold, vec![json!("0")])
        .await
        .unwrap();
    assert_eq!(browser.marks().await.len(), marks.len());
}

/// The JSON, CSV and brat exports and the copied JSON hold the highlights (captured as the page
/// hands them to the browser).
async fn the_exports_hold_the_highlights(browser: &Browser, marks: &[Mark]) {
    browser.capture_exports().await;
    let exported = browser.export("button.export-json").await;
    let document: serde_json::Value = serde_json::from_str(&exported).unwrap();
    assert_eq!(document["text"], REPEATED);
    let entities = document["entities"].as_array().unwrap();
    assert_eq!(entities.len(), marks.len());
    let chars: Vec<char> = REPEATED.chars().collect();
    for (entity, mark) in entities.iter().zip(marks) {
        let (start, end) = (
            entity["start"].as_u64().unwrap() as usize,
            entity["end"].as_u64().unwrap() as usize,
        );
        assert_eq!(chars[start..end].iter().collect::<String>(), mark.1);
        assert_eq!(
            (
                entity["text"].as_str().unwrap(),
                entity["label"].as_str().unwrap()
            ),
            (mark.1.as_str(), mark.2.as_str())
        );
    }

    let csv = browser.export("button.export-csv").await;
    assert!(
        csv.starts_with("start,end,label,score,text,negated,certainty,temporality,experiencer,context_trigger,concept_id,concept_name\n"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), marks.len() + 1);

    let ann = browser.export("button.export-brat").await;
    let lines: Vec<&str> = ann.lines().filter(|l| l.starts_with('T')).collect();
    assert_eq!(lines.len(), marks.len());
    for (n, (line, mark)) in lines.iter().zip(marks).enumerate() {
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!(fields[0], format!("T{}", n + 1));
        assert!(fields[1].starts_with(&format!("{} ", mark.2)), "{line}");
        assert_eq!(fields[2], mark.1);
    }

    browser
        .client()
        .find(Locator::Css("button.export-copy"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let message = browser
        .wait_for(".export-message", Duration::from_secs(5))
        .await
        .text()
        .await
        .unwrap();
    assert!(message.contains("Copied"), "{message}");
    let copied = browser
        .client()
        .execute("return window.__copied;", vec![])
        .await
        .unwrap();
    assert_eq!(copied.as_str(), Some(exported.as_str()));
}
