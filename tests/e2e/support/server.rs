//! A static file server for dist/ that records every request it receives, on hyper (one request per
//! connection, as a plain static server would answer a browser).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;

/// A request as the server received it.
#[derive(Debug, Clone)]
pub struct Logged {
    pub method: String,
    pub target: String,
    pub body: Vec<u8>,
    /// The browser fetching a service worker script (`Service-Worker: script`), e.g. to check for updates.
    pub service_worker_script: bool,
}

pub struct Server {
    pub url: String,
    /// How requests are answered: [`SERVE`], [`UNAVAILABLE`], [`TAMPERED`] or [`OFFLINE`].
    mode: Arc<AtomicU8>,
    log: Arc<Mutex<Vec<Logged>>>,
    /// Serve sw.js as a new release would: same files, another version.
    pub new_release: Arc<AtomicBool>,
}

impl Server {
    pub fn set(&self, mode: u8) {
        self.mode.store(mode, Ordering::SeqCst);
    }

    pub fn requests(&self) -> Vec<Logged> {
        self.log.lock().unwrap().clone()
    }
}

pub const SERVE: u8 = 0;
/// Every file under /models/ answers 503.
pub const UNAVAILABLE: u8 = 1;
/// The model file is served with one byte changed: still a valid model, but not the one shipped.
pub const TAMPERED: u8 = 2;
/// Connections are closed unanswered, as with the network down.
pub const OFFLINE: u8 = 3;

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

/// What the connections share: the files, the mode and the log.
struct Files {
    root: PathBuf,
    mode: Arc<AtomicU8>,
    log: Arc<Mutex<Vec<Logged>>>,
    new_release: Arc<AtomicBool>,
}

pub fn serve(root: PathBuf) -> Server {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a local port");
    listener
        .set_nonblocking(true)
        .expect("a non-blocking listener");
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let files = Arc::new(Files {
        root,
        mode: Arc::new(AtomicU8::new(SERVE)),
        log: Arc::new(Mutex::new(Vec::new())),
        new_release: Arc::new(AtomicBool::new(false)),
    });
    let server = Server {
        url,
        mode: files.mode.clone(),
        log: files.log.clone(),
        new_release: files.new_release.clone(),
    };
    // Its own runtime on its own thread: the tests' runtimes come and go with each test.
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("the file server's runtime");
        runtime.block_on(accept(listener, files));
    });
    server
}

async fn accept(listener: std::net::TcpListener, files: Arc<Files>) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let files = files.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| answer(files.clone(), request));
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(false)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Logs `request` and answers it as the mode says; an error closes the connection unanswered.
async fn answer(
    files: Arc<Files>,
    request: Request<Incoming>,
) -> io::Result<Response<Full<Bytes>>> {
    let service_worker_script = request
        .headers()
        .get("service-worker")
        .is_some_and(|v| v == "script");
    let method = request.method().to_string();
    let target = request.uri().to_string();
    let body = match request.into_body().collect().await {
        Ok(body) => body.to_bytes().to_vec(),
        Err(e) => return Err(io::Error::other(e)),
    };
    files.log.lock().unwrap().push(Logged {
        method,
        target: target.clone(),
        body,
        service_worker_script,
    });
    let mode = files.mode.load(Ordering::SeqCst);
    if mode == OFFLINE {
        return Err(io::Error::other("offline: dropped unanswered"));
    }
    let (status, body, kind) = file_for(&files, &target, mode);
    let response = Response::builder()
        .status(status)
        .header("content-type", kind)
        .header("cache-control", "no-store")
        .body(Full::new(Bytes::from(body)))
        .expect("a valid response");
    Ok(response)
}

/// The status, body and content type that `target` gets in `mode`.
fn file_for(files: &Files, target: &str, mode: u8) -> (StatusCode, Vec<u8>, &'static str) {
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let relative = if path == "/" {
        "index.html"
    } else {
        path.trim_start_matches('/')
    };
    let file = files.root.join(relative);
    let inside = !relative
        .split('/')
        .any(|part| part == ".." || part.is_empty());
    let is_model = relative.starts_with("models/");
    match std::fs::read(&file) {
        _ if is_model && mode == UNAVAILABLE => (
            StatusCode::SERVICE_UNAVAILABLE,
            b"model download disabled by the test".to_vec(),
            "text/plain",
        ),
        Ok(mut body) if inside => {
            if mode == TAMPERED && relative.ends_with(".safetensors") {
                let last = body.len() - 1;
                body[last] ^= 0x40;
            }
            if relative == "sw.js" && files.new_release.load(Ordering::SeqCst) {
                body = String::from_utf8(body)
                    .unwrap()
                    .replace("const VERSION = \"", "const VERSION = \"next-")
                    .into_bytes();
            }
            (StatusCode::OK, body, content_type(&file))
        }
        _ => (StatusCode::NOT_FOUND, b"not found".to_vec(), "text/plain"),
    }
}
