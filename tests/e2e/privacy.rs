//! No request carries the text, nothing stores it, and the page's CSP.

use std::time::Duration;

use serde_json::json;

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_no_request_carries_the_text_and_nothing_stores_it() {
    let server = serve(dist());
    let browser = browser().await;
    browser.requests_seen().await; // the browser's own start page, before ours
    browser.client().goto(&server.url).await.unwrap();
    browser.wait_for(".status .ready", READY_TIMEOUT).await;
    // The worker fetches the concept index after the model: wait for it too.
    browser
        .wait_for(".status .concepts[data-state='ready']", READY_TIMEOUT)
        .await;
    let at_ready = server.requests().len();
    let loading = browser.requests_seen().await;
    assert!(
        !loading.is_empty(),
        "the performance log saw no requests at all"
    );

    let secret = "Kowalczyk48213";
    let note =
        format!("Patient {secret} developed hepatotoxicity after cisplatin. Café 💊 {secret}.");
    browser.type_text(&note).await;
    browser.annotated(&note).await;
    browser
        .paste_text(&format!(
            "{note}\nSecond {secret} note: aspirin and nausea."
        ))
        .await;
    browser
        .wait_for(".annotated[data-state='done']", Duration::from_secs(60))
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after_ready = browser.requests_seen().await;
    let all = server.requests();

    let origin = server.url.trim_end_matches('/');
    let sent = Sent {
        loading: &loading,
        after_ready: &after_ready,
        server: &all[..],
        late: &all[at_ready..],
    };
    no_request_leaves_or_carries(&sent, origin, secret);
    nothing_stored_holds(&browser, secret).await;
    let requests = browser.close_and_read_netlog().await;
    the_network_log_saw_this_origin_only(&requests, origin, secret);
}

/// The requests of the privacy test: what the browser sent up to the model's readiness and after it,
/// and what the server received in all and after readiness.
struct Sent<'a> {
    loading: &'a [(String, String)],
    after_ready: &'a [(String, String)],
    server: &'a [Logged],
    late: &'a [Logged],
}

/// Every request went to this origin, none after the model was ready, and none carried the text.
fn no_request_leaves_or_carries(sent: &Sent, origin: &str, secret: &str) {
    // Every network request, from page load to the end of the session, went to this origin (data:,
    // blob: and the browser's own chrome:// pages never leave the machine)...
    for (url, _) in sent.loading.iter().chain(sent.after_ready) {
        let network = ["http:", "https:", "ws:", "wss:", "ftp:"]
            .iter()
            .any(|scheme| url.starts_with(scheme));
        assert!(
            !network || url.starts_with(origin),
            "request to another origin: {url}"
        );
    }
    assert!(
        sent.loading
            .iter()
            .any(|(url, _)| url.ends_with("medlight_bg.wasm")),
        "the log missed the page's requests"
    );
    // ...none was made by the app once the model was ready (the browser itself may check the service
    // worker script for updates: that is how a new version is found, and it carries nothing of ours)...
    assert!(
        sent.after_ready.is_empty(),
        "requests after the model was ready: {:?}",
        sent.after_ready
    );
    let late: Vec<&Logged> = sent
        .late
        .iter()
        .filter(|r| !(r.service_worker_script && r.target == "/sw.js"))
        .collect();
    assert!(
        late.is_empty(),
        "the server got requests after the model was ready: {late:?}"
    );
    // ...and none carried the text, in its URL or its body.
    for (url, body) in sent.loading.iter().chain(sent.after_ready) {
        assert!(
            !url.contains(secret) && !body.contains(secret),
            "{url} carried the text"
        );
    }
    for request in sent.server {
        assert!(
            !request.target.contains(secret),
            "{} {} carried the text",
            request.method,
            request.target
        );
        assert!(
            !String::from_utf8_lossy(&request.body).contains(secret),
            "{} body carried the text",
            request.target
        );
        assert_eq!(request.method, "GET", "{request:?}");
    }
}

/// Nothing in the browser's storage holds the text (the offline copy is there, and clean).
async fn nothing_stored_holds(browser: &Browser, secret: &str) {
    let storage = browser.client().execute_async(
        "const [secret, done] = [arguments[0], arguments[arguments.length - 1]];
         (async () => {
           const found = [];
           for (const [name, store] of [['localStorage', localStorage], ['sessionStorage', sessionStorage]])
             for (let i = 0; i < store.length; i++)
               if ((store.key(i) + store.getItem(store.key(i))).includes(secret)) found.push(name);
           if (document.cookie.includes(secret)) found.push('cookie');
           const databases = await indexedDB.databases();
           for (const info of databases) {
             const db = await new Promise((ok, err) => { const r = indexedDB.open(info.name); r.onsuccess = () => ok(r.result); r.onerror = err; });
             for (const store of db.objectStoreNames) {
               const all = await new Promise((ok) => { const r = db.transaction(store).objectStore(store).getAll(); r.onsuccess = () => ok(r.result); });
               if (JSON.stringify(all).includes(secret)) found.push('indexedDB ' + info.name + '/' + store);
             }
           }
           let cached = 0;
           for (const name of await caches.keys()) {
             const cache = await caches.open(name);
             for (const request of await cache.keys()) {
               cached += 1;
               const body = await (await cache.match(request)).text();
               if (request.url.includes(secret) || body.includes(secret)) found.push('cache ' + request.url);
             }
           }
           done({ found, databases: databases.length, cached, localStorage: localStorage.length, cookies: document.cookie });
         })().catch((e) => done({ error: String(e) }));",
        vec![json!(secret)],
    ).await.unwrap();
    assert_eq!(storage["found"], json!([]), "{storage}");
    assert!(
        storage["cached"].as_u64().unwrap_or(0) > 0,
        "the offline copy should be in the cache: {storage}"
    );
}

/// The browser-wide network log (page, worker, service worker) saw this origin only.
fn the_network_log_saw_this_origin_only(requests: &[(String, String)], origin: &str, secret: &str) {
    let ours: Vec<&String> = requests
        .iter()
        .filter(|(initiator, _)| initiator == origin)
        .map(|(_, url)| url)
        .collect();
    // This Chromium has relaxed SIMD: the page runs, and the service worker caches, that build only.
    assert!(
        ours.iter().any(|u| u.ends_with("/worker_relaxed_bg.wasm")),
        "the network log missed the worker: {requests:?}"
    );
    assert!(
        !ours.iter().any(|u| u.ends_with("/worker_bg.wasm")),
        "the baseline worker was fetched too: {ours:?}"
    );
    assert!(
        ours.iter()
            .any(|u| u.ends_with("/models/medlight-q8_0.safetensors")),
        "the network log missed the model"
    );
    for url in ours {
        assert!(
            url.starts_with(origin),
            "the app contacted another origin: {url}"
        );
    }
    for (_, url) in requests {
        assert!(!url.contains(secret), "{url} carried the text");
    }
}

/// The page's Content-Security-Policy allows only same-origin code, so the built page must carry
/// it and must not rely on inline scripts (Trunk's default initialiser is one; `public/boot.js`
/// replaces it). That the app then boots under this policy is what the tests above show.
#[test]
fn e2e_built_page_has_the_csp_and_no_inline_scripts() {
    let html = std::fs::read_to_string(dist().join("index.html")).unwrap();
    assert!(
        html.contains("http-equiv=\"Content-Security-Policy\"")
            && html.contains("default-src 'self'"),
        "dist/index.html lacks the Content-Security-Policy"
    );
    for script in html.split("<script").skip(1) {
        let tag = &script[..script.find('>').unwrap()];
        assert!(
            tag.contains("src="),
            "inline <script{tag}> would be blocked by the policy"
        );
        let body = &script[script.find('>').unwrap() + 1..script.find("</script>").unwrap()];
        assert!(body.trim().is_empty(), "inline script body: {body}");
    }
    assert!(
        !html.contains(" style=\""),
        "inline styles would be blocked by style-src 'self'"
    );
}
