//! The annotator page: wires the worker's messages to the page's state and lays out the parts.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use gloo_timers::callback::Timeout;
use leptos::prelude::*;

use super::controls::{Exports, TypeFilters};
use super::input::TextInput;
use super::panel::EntityPanel;
use super::pool::WorkerPool;
use super::pwa::{self, Offline, UpdateBanner};
use super::result::{Highlighted, RunStatus};
use crate::protocol::FromWorker;
use crate::results::{shown, Annotation, Filters};

/// Quiet time after the last keystroke before the text is sent for annotation.
const DEBOUNCE_MS: u32 = 250;

#[derive(Debug, Clone, PartialEq)]
enum Status {
    Loading { loaded: f64, total: Option<f64> },
    Ready { load_ms: f64 },
    Failed(String),
}

fn megabytes(bytes: f64) -> String {
    format!("{:.1} MB", bytes / 1e6)
}

/// Whether entities carry MeSH concepts yet.
#[derive(Debug, Clone, PartialEq)]
pub enum Concepts {
    Loading,
    Ready { count: usize, load_ms: f64 },
    Failed(String),
}

#[component]
pub fn App() -> impl IntoView {
    let concepts = RwSignal::new(Concepts::Loading);
    let status = RwSignal::new(Status::Loading {
        loaded: 0.0,
        total: None,
    });
    let labels = RwSignal::new(Vec::<String>::new());
    let text = RwSignal::new(String::new());
    let annotation = RwSignal::new(None::<Annotation>);
    let annotate_error = RwSignal::new(None::<String>);
    let filters = RwSignal::new(Filters::default());
    let offline = RwSignal::new(Offline::Saving);
    let update_waiting = RwSignal::new(false);
    pwa::register(offline, update_waiting);
    // Only the newest request's chunks are shown; older ones are stale (the worker drops them too).
    let latest = Rc::new(Cell::new(0u32));
    let sent: Rc<RefCell<HashMap<u32, String>>> = Rc::new(RefCell::new(HashMap::new()));

    let worker = {
        let (latest, sent) = (latest.clone(), sent.clone());
        WorkerPool::new(move |message| match message {
            FromWorker::Started => {}
            FromWorker::Progress { loaded, total } => status.set(Status::Loading { loaded, total }),
            FromWorker::Ready {
                load_ms,
                labels: found,
            } => {
                labels.set(found);
                status.set(Status::Ready { load_ms });
            }
            FromWorker::Failed { message } => status.set(Status::Failed(message)),
            FromWorker::Concepts { count, load_ms } => {
                concepts.set(Concepts::Ready { count, load_ms })
            }
            FromWorker::ConceptsFailed { message } => concepts.set(Concepts::Failed(message)),
            FromWorker::Chunk { id, end, entities } if id == latest.get() => {
                annotate_error.set(None);
                annotation.update(|current| match current {
                    Some(a) if a.id == id => {
                        a.entities.extend(entities);
                        a.done = end;
                    }
                    _ => {
                        let text = sent.borrow().get(&id).cloned().unwrap_or_default();
                        sent.borrow_mut().retain(|&i, _| i >= id);
                        *current = Some(Annotation {
                            id,
                            text,
                            entities,
                            done: end,
                            finished: None,
                        });
                    }
                });
            }
            FromWorker::Finished { id, ms, tokens } if id == latest.get() => {
                annotation.update(|current| {
                    if let Some(a) = current.as_mut().filter(|a| a.id == id) {
                        a.done = a.text.len();
                        a.finished = Some((ms, tokens));
                    }
                })
            }
            FromWorker::AnnotateFailed { id, message } if id == latest.get() => {
                annotation.set(None);
                annotate_error.set(Some(message));
            }
            FromWorker::Chunk { .. }
            | FromWorker::Finished { .. }
            | FromWorker::AnnotateFailed { .. } => {}
        })
    };
    worker.start();

    let pending: Rc<RefCell<Option<Timeout>>> = Rc::new(RefCell::new(None));
    let request = {
        let worker = worker.clone();
        move |value: String| {
            let id = latest.get() + 1;
            latest.set(id);
            if value.trim().is_empty() {
                worker.cancel();
                annotation.set(None);
                annotate_error.set(None);
                return;
            }
            sent.borrow_mut().insert(id, value.clone());
            worker.annotate(id, value);
        }
    };
    // Re-annotate when the text changes (debounced), once the model becomes ready, and once the
    // concept index is loaded (what was shown before it has no concepts).
    Effect::new(move |_| {
        let value = text.get();
        concepts.track();
        if !matches!(status.get(), Status::Ready { .. }) {
            return;
        }
        let request = request.clone();
        // Replacing the timeout drops (cancels) the previous one.
        *pending.borrow_mut() = Some(Timeout::new(DEBOUNCE_MS, move || request(value)));
    });

    // Retry restarts the worker; the button only bumps a counter, since view closures must be Send.
    let retries = RwSignal::new(0u32);
    Effect::new(move |previous: Option<u32>| {
        let count = retries.get();
        if previous.is_some_and(|p| p != count) {
            status.set(Status::Loading {
                loaded: 0.0,
                total: None,
            });
            worker.start();
        }
        count
    });

    let visible = Memo::new(move |_| {
        annotation.with(|a| {
            a.as_ref()
                .map(|a| shown(&a.entities, &filters.get()))
                .unwrap_or_default()
        })
    });

    view! {
        <header>
            <h1>"Medlight"</h1>
            <p class="privacy">
                "Your text never leaves this page: the model runs in your browser, and nothing you type is sent or stored."
            </p>
            <UpdateBanner waiting=update_waiting />
        </header>
        <main>
            <section class="status" aria-live="polite">
                {move || match status.get() {
                    Status::Loading { loaded, total } => view! {
                        <p class="loading">
                            "Loading the model… "
                            {match total {
                                Some(total) => format!("{} of {}", megabytes(loaded), megabytes(total)),
                                None => megabytes(loaded),
                            }}
                        </p>
                        <progress max=total.unwrap_or(0.0) value=loaded></progress>
                    }.into_any(),
                    // "Ready" waits for the offline copy too: after it, the page makes no request at all.
                    Status::Ready { load_ms } => match offline.get() {
                        Offline::Saving => view! {
                            <p class="saving">{format!("Model loaded in {load_ms:.0} ms; saving a copy for offline use…")}</p>
                        }.into_any(),
                        Offline::Ready => view! {
                            <p class="ready">{format!("Model ready in {load_ms:.0} ms. Works offline.")}</p>
                        }.into_any(),
                        Offline::Unavailable => view! {
                            <p class="ready">{format!("Model ready in {load_ms:.0} ms.")}</p>
                        }.into_any(),
                    },
                    Status::Failed(message) => view! {
                        <p class="error" role="alert">{format!("The model could not be loaded: {message}")}</p>
                        <button class="retry" on:click=move |_| retries.update(|n| *n += 1)>"Retry"</button>
                    }.into_any(),
                }}
                {move || matches!(status.get(), Status::Ready { .. }).then(|| match concepts.get() {
                    Concepts::Loading => view! {
                        <p class="concepts" data-state="loading">"Loading MeSH concepts…"</p>
                    }.into_any(),
                    Concepts::Ready { count, load_ms } => view! {
                        <p class="concepts" data-state="ready">{format!("{count} MeSH concepts linked to entities (index loaded in {load_ms:.0} ms).")}</p>
                    }.into_any(),
                    Concepts::Failed(message) => view! {
                        <p class="concepts error" data-state="failed">{format!("Entities are shown without MeSH concepts: {message}")}</p>
                    }.into_any(),
                })}
            </section>
            <TextInput text=text />
            <TypeFilters labels=labels filters=filters />
            <div class="workspace">
                <section class="result" aria-label="Highlighted entities">
                    <RunStatus annotation=annotation visible=visible />
                    {move || match (annotation.with(Option::is_some), annotate_error.get()) {
                        (false, _) if text.with(|t| t.trim().is_empty()) => view! {
                            <p class="hint">"Type or paste text above, or open a .txt file, to see Chemical and Disease mentions."</p>
                        }.into_any(),
                        (_, Some(message)) => view! {
                            <p class="error" role="alert">{format!("This text could not be annotated: {message}")}</p>
                        }.into_any(),
                        (false, None) => view! { <p class="hint">"Annotating…"</p> }.into_any(),
                        (true, None) => view! { <Highlighted annotation=annotation visible=visible /> }.into_any(),
                    }}
                    <Exports annotation=annotation visible=visible />
                </section>
                <EntityPanel annotation=annotation visible=visible />
            </div>
        </main>
    }
}
