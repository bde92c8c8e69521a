//! Offline use after one visit, installability, and the offer of a new release.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use fantoccini::Locator;
use serde_json::json;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_works_offline_after_one_visit_and_is_installable() {
    let server = serve(dist());
    let browser = browser().await;
    browser.client().goto(&server.url).await.unwrap();
    let ready = browser
        .wait_for(".status .ready", READY_TIMEOUT)
        .await
        .text()
        .await
        .unwrap();
    assert!(ready.contains("Works offline"), "{ready}");
    browser.wait_for_service_worker().await;

    // Chromium finds the manifest and nothing that stops installation.
    let manifest = browser.cdp("Page.getAppManifest", json!({})).await;
    assert_eq!(manifest["errors"], json!([]), "{manifest}");
    assert!(
        manifest["url"]
            .as_str()
            .unwrap_or_default()
            .ends_with("manifest.webmanifest"),
        "{manifest}"
    );
    let installability = browser.cdp("Page.getInstallabilityErrors", json!({})).await;
    assert_eq!(
        installability["installabilityErrors"],
        json!([]),
        "{installability}"
    );

    // Network off: the server drops every connection and the browser is offline.
    server.set(OFFLINE);
    browser.cdp("Network.enable", json!({})).await;
    browser.cdp(
        "Network.emulateNetworkConditions",
        json!({ "offline": true, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1 }),
    ).await;
    let before = server.requests().len();
    browser.client().refresh().await.unwrap();
    let ready = browser
        .wait_for(".status .ready", READY_TIMEOUT)
        .await
        .text()
        .await
        .unwrap();
    assert!(ready.starts_with("Model ready in"), "{ready}");
    browser.type_text(SENTENCE).await;
    let marks = browser.annotated(SENTENCE).await;
    let found = texts_and_labels(&marks);
    assert_eq!(found, SENTENCE_ENTITIES);
    // Only the browser's own update check for the service worker script may try the network (and get
    // no answer); the page, the app and the model all came from the cache.
    let reached = &server.requests()[before..];
    assert!(
        reached
            .iter()
            .all(|r| r.service_worker_script && r.target == "/sw.js"),
        "offline, yet the page asked for {reached:?}"
    );
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_a_new_release_is_offered_and_replaces_the_old_cache() {
    let (server, browser) = open_app().await;
    browser.wait_for_service_worker().await;
    let cache_names = "const done = arguments[arguments.length - 1]; caches.keys().then(done);";
    let before = browser
        .client()
        .execute_async(cache_names, vec![])
        .await
        .unwrap();
    let old: Vec<String> = serde_json::from_value(before).unwrap();
    assert_eq!(old.len(), 1, "{old:?}");
    assert!(browser
        .client()
        .find_all(Locator::Css(".update"))
        .await
        .unwrap()
        .is_empty());

    // A new release: the next visit finds a changed service worker, which installs behind the old one.
    server.new_release.store(true, Ordering::SeqCst);
    browser.client().refresh().await.unwrap();
    let offer = browser
        .wait_for(".update", READY_TIMEOUT)
        .await
        .text()
        .await
        .unwrap();
    assert!(
        offer.contains("A new version of Medlight is ready"),
        "{offer}"
    );
    browser
        .client()
        .find(Locator::Css(".update button.reload"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    // The page reloads under the new version, whose cache is the only one left.
    let started = Instant::now();
    loop {
        // A script that runs while the page reloads is cut off by the navigation: ask again.
        let names: Vec<String> = match browser.client().execute_async(cache_names, vec![]).await {
            Ok(value) => serde_json::from_value(value).unwrap(),
            Err(_) => Vec::new(),
        };
        if names.len() == 1 && names[0].starts_with("medlight-next-") {
            break;
        }
        assert!(
            started.elapsed() < READY_TIMEOUT,
            "caches after the update: {names:?} (before: {old:?})"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    browser.wait_for(".status .ready", READY_TIMEOUT).await;
    assert!(browser
        .client()
        .find_all(Locator::Css(".update"))
        .await
        .unwrap()
        .is_empty());
    browser.close().await;
}
