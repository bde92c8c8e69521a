//! The Web Worker that owns the model: it downloads the quantised model and tokenizer (reporting
//! bytes received), builds the tagger, and answers annotation requests, off the page's thread.

#[cfg(target_arch = "wasm32")]
mod fetch;

#[cfg(target_arch = "wasm32")]
pub fn main() {
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;

    use medlight::protocol::{FromWorker, ToWorker};
    use medlight_ner::linking::{ConceptIndex, Linker};
    use medlight_ner::Tagger;
    use wasm_bindgen::prelude::*;
    use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

    console_error_panic_hook::set_once();
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let tagger: Rc<RefCell<Option<Rc<Tagger>>>> = Rc::new(RefCell::new(None));
    let linker: Rc<RefCell<Option<Rc<Linker>>>> = Rc::new(RefCell::new(None));
    // The newest annotation request; older ones stop at their next chunk.
    let latest = Rc::new(Cell::new(0u32));
    let reply = {
        let scope = scope.clone();
        move |message: FromWorker| {
            let value = serde_wasm_bindgen::to_value(&message).expect("messages serialise");
            let _ = scope.post_message(&value);
        }
    };
    let now = {
        let scope = scope.clone();
        move || scope.performance().map_or(0.0, |p| p.now())
    };
    let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let request: ToWorker = match serde_wasm_bindgen::from_value(event.data()) {
            Ok(request) => request,
            Err(e) => {
                return reply(FromWorker::Failed {
                    message: format!("bad request: {e}"),
                })
            }
        };
        match request {
            ToWorker::Load {
                model,
                tokenizer,
                concepts,
            } => {
                let (tagger, linker, reply, now) =
                    (tagger.clone(), linker.clone(), reply.clone(), now.clone());
                wasm_bindgen_futures::spawn_local(async move {
                    let started = now();
                    let progress = reply.clone();
                    match fetch::model_files(&model, &tokenizer, move |loaded, total| {
                        progress(FromWorker::Progress { loaded, total })
                    })
                    .await
                    .and_then(|(m, t)| {
                        Tagger::from_bytes(&m, &t)
                            .map_err(|e| format!("the model file is unusable: {e}"))
                    }) {
                        Ok(loaded) => {
                            let labels = loaded.labels();
                            *tagger.borrow_mut() = Some(Rc::new(loaded));
                            reply(FromWorker::Ready {
                                load_ms: now() - started,
                                labels,
                            });
                        }
                        Err(message) => return reply(FromWorker::Failed { message }),
                    }
                    // After the model, so the first highlights do not wait for it.
                    let started = now();
                    match fetch::concepts_file(&concepts)
                        .await
                        .and_then(|text| ConceptIndex::from_tsv(&concepts, &text))
                    {
                        Ok(index) => {
                            let count = index.entries().len();
                            *linker.borrow_mut() = Some(Rc::new(Linker::new(index)));
                            reply(FromWorker::Concepts {
                                count,
                                load_ms: now() - started,
                            });
                        }
                        Err(message) => reply(FromWorker::ConceptsFailed { message }),
                    }
                });
            }
            ToWorker::Annotate { id, text } => {
                latest.set(id);
                let Some(tagger) = tagger.borrow().clone() else {
                    return reply(FromWorker::AnnotateFailed {
                        id,
                        message: "the model is not loaded yet".into(),
                    });
                };
                let linker = linker.borrow().clone();
                let (latest, reply, now) = (latest.clone(), reply.clone(), now.clone());
                wasm_bindgen_futures::spawn_local(stream(
                    id, text, tagger, linker, latest, reply, now,
                ));
            }
        }
    });
    scope.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
    onmessage.forget(); // lives as long as the worker
    let _ = scope.post_message(
        &serde_wasm_bindgen::to_value(&FromWorker::Started).expect("messages serialise"),
    );
}

/// Annotates `text` chunk by chunk, replying after each; yields to the event loop between chunks
/// so a newer request (which bumps `latest`) is seen, and then stops.
#[cfg(target_arch = "wasm32")]
async fn stream(
    id: u32,
    text: String,
    tagger: std::rc::Rc<medlight_ner::Tagger>,
    linker: Option<std::rc::Rc<medlight_ner::linking::Linker>>,
    latest: std::rc::Rc<std::cell::Cell<u32>>,
    reply: impl Fn(medlight::protocol::FromWorker),
    now: impl Fn() -> f64,
) {
    use medlight::protocol::FromWorker;
    let started = now();
    let mut tokens = 0;
    let mut chunks = medlight_ner::sentences::chunks(&text, medlight::protocol::CHUNK_BYTES)
        .into_iter()
        .peekable();
    while let Some(chunk) = chunks.next() {
        if latest.get() != id {
            return;
        }
        let end = chunk.last().map_or(0, |r| r.end);
        match tagger.annotate_parts(&text, &chunk) {
            Ok(found) => {
                tokens += found.sub_tokens;
                let mut entities = found.entities;
                if let Some(linker) = &linker {
                    linker.link_document(&text, &mut entities);
                }
                reply(FromWorker::Chunk { id, end, entities });
            }
            Err(e) => {
                return reply(FromWorker::AnnotateFailed {
                    id,
                    message: e.to_string(),
                })
            }
        }
        // Only between chunks: after the last one the answer is complete and goes out at once
        // (a timer, clamped by the browser, would add milliseconds to every short request).
        if chunks.peek().is_some() {
            gloo_timers::future::TimeoutFuture::new(0).await;
        }
    }
    if latest.get() == id {
        reply(FromWorker::Finished {
            id,
            ms: now() - started,
            tokens,
        });
    }
}

#[cfg(not(target_arch = "wasm32"))]
pub fn main() {
    eprintln!("the worker runs in a browser: build the app with `trunk build`");
}
