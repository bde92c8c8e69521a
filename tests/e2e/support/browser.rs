//! ChromeDriver and headless Chromium.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

use super::READY_TIMEOUT;

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

pub struct Browser {
    client: Option<Client>,
    driver: Child,
    pub profile: PathBuf,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
        let _ = std::fs::remove_file(self.netlog());
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn executable(var: &str, default: &str) -> PathBuf {
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

pub async fn browser() -> Browser {
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
    pub fn client(&self) -> &Client {
        self.client.as_ref().unwrap()
    }

    pub async fn close(mut self) {
        if let Some(client) = self.client.take() {
            let _ = client.close().await;
        }
    }

    /// From now on, keeps every file the page offers for download, and what it copies to the
    /// clipboard (`window.__copied`), for [`Browser::export`].
    pub async fn capture_exports(&self) {
        let script = "window.__exports = []; const create = URL.createObjectURL; \
             URL.createObjectURL = (blob) => { window.__exports.push(blob); return create(blob); }; \
             Clipboard.prototype.writeText = function (text) { window.__copied = text; return Promise.resolve(); };";
        self.client().execute(script, vec![]).await.unwrap();
    }

    /// Clicks the export button `button` (a CSS selector) and returns the text of the file it offers.
    pub async fn export(&self, button: &str) -> String {
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

    pub fn netlog(&self) -> PathBuf {
        self.profile.with_extension("netlog.json")
    }

    /// Closes the browser and returns every request its network log recorded, as (initiator, URL).
    /// Chromium's NetLog covers the page, its workers and the service worker alike; requests the
    /// browser makes for itself have the initiator "not an origin".
    pub async fn close_and_read_netlog(mut self) -> Vec<(String, String)> {
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
    pub async fn wait_for(&self, css: &str, timeout: Duration) -> fantoccini::elements::Element {
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

    pub async fn body_text(&self) -> String {
        match self.client().find(Locator::Css("body")).await {
            Ok(body) => body.text().await.unwrap_or_default(),
            Err(e) => format!("<no body: {e}>"),
        }
    }

    /// Replaces the textarea's content by typing it.
    pub async fn type_text(&self, text: &str) {
        let input = self
            .wait_for("textarea#input", Duration::from_secs(10))
            .await;
        input.clear().await.unwrap();
        input.send_keys(text).await.unwrap();
    }

    /// Replaces the textarea's content as a paste would (one input event), for text with characters
    /// keys cannot type (CR). Returns the textarea's value: HTML turns its CRLF into LF.
    pub async fn paste_text(&self, text: &str) -> String {
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
    pub async fn input_value(&self) -> serde_json::Value {
        self.client()
            .execute("return document.querySelector('#input').value;", vec![])
            .await
            .unwrap()
    }

    /// Runs a Chrome DevTools Protocol command through ChromeDriver.
    pub async fn cdp(&self, cmd: &'static str, params: serde_json::Value) -> serde_json::Value {
        self.client()
            .issue_cmd(DevTools { cmd, params })
            .await
            .unwrap_or_else(|e| panic!("{cmd}: {e}"))
    }

    /// Network requests the page and its worker started since the last call: (URL, body).
    pub async fn requests_seen(&self) -> Vec<(String, String)> {
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
    pub async fn wait_for_service_worker(&self) {
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
    pub async fn marks(&self) -> Vec<(String, String, String, String)> {
        self.wait_for(".annotated[data-state='done']", Duration::from_secs(60))
            .await;
        let script = "return [...document.querySelectorAll('.annotated mark')].map(m => [m.id, m.textContent, m.dataset.label, m.title]);";
        let value = self.client().execute(script, vec![]).await.unwrap();
        serde_json::from_value::<Vec<(String, String, String, String)>>(value).unwrap()
    }

    /// The highlights (text, label, tooltip) once the finished result shows exactly `text`.
    pub async fn annotated(&self, text: &str) -> Vec<(String, String, String)> {
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
