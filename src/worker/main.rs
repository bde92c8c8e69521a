//! The Web Worker that owns the model: it downloads the quantised model and tokenizer (reporting
//! bytes received), builds the tagger, and answers annotation requests, off the page's thread.

#[cfg(target_arch = "wasm32")]
mod fetch;

#[cfg(target_arch = "wasm32")]
fn main() {
    use std::cell::RefCell;
    use std::rc::Rc;

    use medlight::protocol::{FromWorker, ToWorker};
    use medlight_ner::Tagger;
    use wasm_bindgen::prelude::*;
    use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

    console_error_panic_hook::set_once();
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let tagger: Rc<RefCell<Option<Tagger>>> = Rc::new(RefCell::new(None));
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
            Err(e) => return reply(FromWorker::Failed { message: format!("bad request: {e}") }),
        };
        match request {
            ToWorker::Load { model, tokenizer } => {
                let (tagger, reply, now) = (tagger.clone(), reply.clone(), now.clone());
                wasm_bindgen_futures::spawn_local(async move {
                    let started = now();
                    let progress = reply.clone();
                    match fetch::model_files(&model, &tokenizer, move |loaded, total| {
                        progress(FromWorker::Progress { loaded, total })
                    })
                    .await
                    .and_then(|(m, t)| Tagger::from_bytes(&m, &t).map_err(|e| format!("the model file is unusable: {e}")))
                    {
                        Ok(loaded) => {
                            let labels = loaded.labels();
                            *tagger.borrow_mut() = Some(loaded);
                            reply(FromWorker::Ready { load_ms: now() - started, labels });
                        }
                        Err(message) => reply(FromWorker::Failed { message }),
                    }
                });
            }
            ToWorker::Annotate { id, text } => {
                let guard = tagger.borrow();
                let Some(tagger) = guard.as_ref() else {
                    return reply(FromWorker::AnnotateFailed { id, message: "the model is not loaded yet".into() });
                };
                let started = now();
                match tagger.annotate(&text) {
                    Ok(entities) => {
                        let tokens = tagger.tokenizer().encode(text.as_str(), false).map_or(0, |e| e.len());
                        reply(FromWorker::Annotated { id, entities, ms: now() - started, tokens })
                    }
                    Err(e) => reply(FromWorker::AnnotateFailed { id, message: e.to_string() }),
                }
            }
        }
    });
    scope.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
    onmessage.forget(); // lives as long as the worker
    let _ = scope.post_message(&serde_wasm_bindgen::to_value(&FromWorker::Started).expect("messages serialise"));
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("the worker runs in a browser: build the app with `trunk build`");
}
