//! What every end-to-end test uses: the built app, its server and a browser.

mod browser;
mod server;

pub use browser::*;
pub use server::*;

use std::path::PathBuf;
use std::time::Duration;

pub const READY_TIMEOUT: Duration = Duration::from_secs(180);
pub const SENTENCE: &str =
    "Cisplatin-induced nephrotoxicity was seen in patients treated for lung cancer.";
/// What the shipped model finds in [`SENTENCE`]: (text, label).
pub const SENTENCE_ENTITIES: [(&str, &str); 3] = [
    ("Cisplatin", "Chemical"),
    ("nephrotoxicity", "Disease"),
    ("lung cancer", "Disease"),
];

/// (text, label) of each highlight of [`Browser::annotated`].
pub fn texts_and_labels(marks: &[(String, String, String)]) -> Vec<(&str, &str)> {
    marks
        .iter()
        .map(|(t, l, _)| (t.as_str(), l.as_str()))
        .collect()
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The built app; its absence is a failure, never a skip.
pub fn dist() -> PathBuf {
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

/// The built app on a fresh server, open in a fresh browser, with the model ready.
pub async fn open_app() -> (Server, Browser) {
    let server = serve(dist());
    let browser = browser().await;
    browser.client().goto(&server.url).await.unwrap();
    browser.wait_for(".status .ready", READY_TIMEOUT).await;
    (server, browser)
}
