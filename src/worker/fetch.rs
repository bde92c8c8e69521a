//! Downloads with progress: reads the response body chunk by chunk so the page can show bytes
//! received of the total.

use js_sys::{Reflect, Uint8Array};
use medlight::integrity::{hex, sha256_hex, verify_digest};
use medlight::protocol::{CONCEPTS_SHA256, MODEL_SHA256, TOKENIZER_SHA256};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    DedicatedWorkerGlobalScope, ReadableStreamDefaultReader, Response, WorkerGlobalScope,
};

fn describe(e: JsValue) -> String {
    e.as_string()
        .or_else(|| {
            e.dyn_ref::<js_sys::Error>()
                .map(|e| String::from(e.message()))
        })
        .unwrap_or_else(|| format!("{e:?}"))
}

async fn open(url: &str) -> Result<(Response, Option<f64>), String> {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let response: Response = JsFuture::from(scope.fetch_with_str(url))
        .await
        .map_err(|e| format!("cannot download {url}: {}", describe(e)))?
        .unchecked_into();
    if !response.ok() {
        return Err(format!(
            "cannot download {url}: HTTP {} {}",
            response.status(),
            response.status_text()
        ));
    }
    let total = response
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.parse().ok());
    Ok((response, total))
}

async fn read_body(
    url: &str,
    response: Response,
    size: Option<f64>,
    mut on_chunk: impl FnMut(usize),
) -> Result<Vec<u8>, String> {
    let body = response
        .body()
        .ok_or_else(|| format!("{url}: empty response"))?;
    let reader: ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    // Sized once when the server says how big (no regrowth and re-copying of 18 MB).
    let mut bytes = Vec::with_capacity(size.unwrap_or(0.0) as usize);
    loop {
        let chunk = JsFuture::from(reader.read())
            .await
            .map_err(|e| format!("{url}: download interrupted: {}", describe(e)))?;
        if Reflect::get(&chunk, &"done".into())
            .ok()
            .and_then(|d| d.as_bool())
            .unwrap_or(true)
        {
            return Ok(bytes);
        }
        let value: Uint8Array = Reflect::get(&chunk, &"value".into())
            .map_err(describe)?
            .unchecked_into();
        let start = bytes.len();
        bytes.resize(start + value.length() as usize, 0);
        value.copy_to(&mut bytes[start..]);
        on_chunk(value.length() as usize);
    }
}

/// SHA-256 by the browser's Web Crypto where it has one (native code: about 0.1 s for the model,
/// where the wasm `sha2` took 1 s while the worker's code was still baseline-compiled); by `sha2`
/// where it has none (`crypto.subtle` exists only in secure contexts: https or localhost).
async fn sha256(bytes: &[u8]) -> String {
    match web_crypto_sha256(bytes).await {
        Some(digest) => digest,
        None => sha256_hex(bytes),
    }
}

/// `None` where there is no `crypto.subtle` or its digest fails.
async fn web_crypto_sha256(bytes: &[u8]) -> Option<String> {
    let scope: WorkerGlobalScope = js_sys::global().unchecked_into();
    let subtle = scope.crypto().ok()?.subtle();
    if subtle.is_undefined() {
        return None;
    }
    let digest = JsFuture::from(subtle.digest_with_str_and_u8_array("SHA-256", bytes).ok()?)
        .await
        .ok()?;
    Some(hex(&Uint8Array::new(&digest).to_vec()))
}

/// Verifies `bytes`; a file that fails is also dropped from the offline cache, so that a retry
/// downloads it again instead of failing on the same bad copy.
async fn checked(url: &str, bytes: &[u8], expected: &str) -> Result<(), String> {
    let result = verify_digest(url, &sha256(bytes).await, expected);
    if result.is_err() {
        evict(url).await;
    }
    result
}

async fn evict(url: &str) {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let Ok(caches) = scope.caches() else { return };
    let Ok(names) = JsFuture::from(caches.keys()).await else {
        return;
    };
    for name in js_sys::Array::from(&names)
        .iter()
        .filter_map(|n| n.as_string())
    {
        if let Ok(cache) = JsFuture::from(caches.open(&name)).await {
            let cache: web_sys::Cache = cache.unchecked_into();
            let _ = JsFuture::from(cache.delete_with_str(url)).await;
        }
    }
}

/// Both model files, each checked against its recorded SHA-256; `progress(loaded, total)` after
/// each chunk (total once both sizes are known).
pub async fn model_files(
    model_url: &str,
    tokenizer_url: &str,
    progress: impl Fn(f64, Option<f64>),
) -> Result<(Vec<u8>, Vec<u8>), String> {
    let (model_response, model_total) = open(model_url).await?;
    let (tokenizer_response, tokenizer_total) = open(tokenizer_url).await?;
    let total = model_total.zip(tokenizer_total).map(|(a, b)| a + b);
    let mut loaded = 0.0;
    let mut report = |n: usize| {
        loaded += n as f64;
        progress(loaded, total);
    };
    let model = read_body(model_url, model_response, model_total, &mut report).await?;
    checked(model_url, &model, MODEL_SHA256).await?;
    let tokenizer = read_body(
        tokenizer_url,
        tokenizer_response,
        tokenizer_total,
        &mut report,
    )
    .await?;
    checked(tokenizer_url, &tokenizer, TOKENIZER_SHA256).await?;
    Ok((model, tokenizer))
}

/// The concept index, checked against its recorded SHA-256, as text.
pub async fn concepts_file(url: &str) -> Result<String, String> {
    let (response, total) = open(url).await?;
    let bytes = read_body(url, response, total, |_| {}).await?;
    checked(url, &bytes, CONCEPTS_SHA256).await?;
    String::from_utf8(bytes).map_err(|e| format!("{url}: not UTF-8 text: {e}"))
}
