//! The page's handle on the worker: starts it, forwards its messages, and lets a failed load be retried.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use web_sys::{MessageEvent, Worker};

use crate::protocol::{FromWorker, ToWorker, CONCEPTS_URL, MODEL_URL, TOKENIZER_URL};

/// Trunk's loaders for the two worker builds: classic worker scripts (`importScripts`), their names
/// kept stable by `filehash = false`. The relaxed-SIMD build runs a 30-word sentence about a fifth
/// faster (docs/benchmarks.md) but does not load in engines without relaxed SIMD.
const WORKER_URL: &str = "./worker_loader.js";
const RELAXED_WORKER_URL: &str = "./worker_relaxed_loader.js";

/// The worker build this browser can run: the relaxed-SIMD one where it validates a module using the
/// instruction that build's kernel uses ([`crate::relaxed_simd::RELAXED_SIMD_PROBE`]).
fn worker_url() -> &'static str {
    let probe = js_sys::Uint8Array::from(crate::relaxed_simd::RELAXED_SIMD_PROBE);
    match js_sys::WebAssembly::validate(&probe) {
        Ok(true) => RELAXED_WORKER_URL,
        _ => WORKER_URL,
    }
}

#[derive(Clone)]
pub struct ModelWorker {
    worker: Rc<RefCell<Option<Worker>>>,
    on_message: Rc<dyn Fn(FromWorker)>,
}

impl ModelWorker {
    pub fn new(on_message: impl Fn(FromWorker) + 'static) -> Self {
        Self {
            worker: Rc::new(RefCell::new(None)),
            on_message: Rc::new(on_message),
        }
    }

    /// (Re)starts the worker; it is asked to load the model once it says it has started.
    pub fn start(&self) {
        if let Some(old) = self.worker.borrow_mut().take() {
            old.terminate();
        }
        let worker = match Worker::new(worker_url()) {
            Ok(worker) => worker,
            Err(e) => {
                return (self.on_message)(FromWorker::Failed {
                    message: format!("cannot start the worker: {e:?}"),
                })
            }
        };
        let on_message = self.on_message.clone();
        let this = worker.clone();
        let handler = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            match serde_wasm_bindgen::from_value::<FromWorker>(event.data()) {
                Ok(FromWorker::Started) => {
                    let load = ToWorker::Load {
                        model: MODEL_URL.into(),
                        tokenizer: TOKENIZER_URL.into(),
                        concepts: CONCEPTS_URL.into(),
                    };
                    let _ = this.post_message(
                        &serde_wasm_bindgen::to_value(&load).expect("requests serialise"),
                    );
                }
                Ok(message) => on_message(message),
                Err(e) => on_message(FromWorker::Failed {
                    message: format!("unreadable worker message: {e}"),
                }),
            }
        });
        worker.set_onmessage(Some(handler.as_ref().unchecked_ref()));
        handler.forget();
        let on_message = self.on_message.clone();
        let on_error =
            Closure::<dyn FnMut(web_sys::ErrorEvent)>::new(move |event: web_sys::ErrorEvent| {
                on_message(FromWorker::Failed {
                    message: format!("the worker stopped: {}", event.message()),
                });
            });
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        on_error.forget();
        *self.worker.borrow_mut() = Some(worker);
    }

    pub fn terminate(&self) {
        if let Some(worker) = self.worker.borrow_mut().take() {
            worker.terminate();
        }
    }

    pub fn send(&self, request: &ToWorker) {
        if let Some(worker) = self.worker.borrow().as_ref() {
            let value = serde_wasm_bindgen::to_value(request).expect("requests serialise");
            let _ = worker.post_message(&value);
        }
    }
}
