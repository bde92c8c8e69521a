//! The annotator page: wires the worker's messages to the page's state and lays out the parts.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use gloo_timers::callback::Timeout;
use leptos::prelude::*;

use super::controls::{Exports, TypeFilters};
use super::input::TextInput;
use super::panel::EntityPanel;
use super::pool::WorkerPool;
use super::pwa::{self, Offline, UpdateBanner};
use super::result::{ResultBody, RunStatus};
use super::status::{Concepts, ModelStatus, Status};
use crate::protocol::FromWorker;
use crate::results::{shown, Annotation, Filters};

/// Quiet time after the last keystroke before the text is sent for annotation.
const DEBOUNCE_MS: u32 = 250;

/// What the worker's messages write.
#[derive(Clone, Copy)]
struct PageWriters {
    status: WriteSignal<Status>,
    labels: WriteSignal<Vec<String>>,
    concepts: WriteSignal<Concepts>,
    annotation: WriteSignal<Option<Annotation>>,
    annotate_error: WriteSignal<Option<String>>,
}

/// The texts sent for annotation. Only the newest request's chunks are shown; older ones are
/// stale (the worker pool drops them too).
#[derive(Default)]
struct Requests {
    latest: u32,
    sent: HashMap<u32, String>,
}

/// Applies one message of the worker pool to the page.
fn on_worker_message(page: PageWriters, requests: &RefCell<Requests>, message: FromWorker) {
    let latest = requests.borrow().latest;
    match message {
        FromWorker::Started => {}
        FromWorker::Progress { loaded, total } => {
            page.status.set(Status::Loading { loaded, total })
        }
        FromWorker::Ready { load_ms, labels } => {
            page.labels.set(labels);
            page.status.set(Status::Ready { load_ms });
        }
        FromWorker::Failed { message } => page.status.set(Status::Failed(message)),
        FromWorker::Concepts { count, load_ms } => {
            page.concepts.set(Concepts::Ready { count, load_ms })
        }
        FromWorker::ConceptsFailed { message } => page.concepts.set(Concepts::Failed(message)),
        FromWorker::Chunk { id, end, entities } if id == latest => {
            page.annotate_error.set(None);
            page.annotation.update(|current| match current {
                Some(a) if a.id == id => {
                    a.entities.extend(entities);
                    a.done = end;
                }
                _ => {
                    let mut requests = requests.borrow_mut();
                    let text = requests.sent.get(&id).cloned().unwrap_or_default();
                    requests.sent.retain(|&i, _| i >= id);
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
        FromWorker::Finished { id, ms, tokens } if id == latest => {
            page.annotation.update(|current| {
                if let Some(a) = current.as_mut().filter(|a| a.id == id) {
                    a.done = a.text.len();
                    a.finished = Some((ms, tokens));
                }
            })
        }
        FromWorker::AnnotateFailed { id, message } if id == latest => {
            page.annotation.set(None);
            page.annotate_error.set(Some(message));
        }
        FromWorker::Chunk { .. }
        | FromWorker::Finished { .. }
        | FromWorker::AnnotateFailed { .. } => {}
    }
}

/// Sends `value` as the newest request; blank text clears the result instead.
fn request(worker: &WorkerPool, page: PageWriters, requests: &RefCell<Requests>, value: String) {
    let id = {
        let mut requests = requests.borrow_mut();
        requests.latest += 1;
        requests.latest
    };
    if value.trim().is_empty() {
        worker.cancel();
        page.annotation.set(None);
        page.annotate_error.set(None);
        return;
    }
    requests.borrow_mut().sent.insert(id, value.clone());
    worker.annotate(id, value);
}

#[component]
pub fn App() -> impl IntoView {
    let (concepts, set_concepts) = signal(Concepts::Loading);
    let (status, set_status) = signal(Status::Loading {
        loaded: 0.0,
        total: None,
    });
    let (labels, set_labels) = signal(Vec::<String>::new());
    let (text, set_text) = signal(String::new());
    let (annotation, set_annotation) = signal(None::<Annotation>);
    let (annotate_error, set_annotate_error) = signal(None::<String>);
    let (filters, set_filters) = signal(Filters::default());
    let (offline, set_offline) = signal(Offline::Saving);
    let (update_waiting, set_update_waiting) = signal(false);
    pwa::register(set_offline, set_update_waiting);

    let page = PageWriters {
        status: set_status,
        labels: set_labels,
        concepts: set_concepts,
        annotation: set_annotation,
        annotate_error: set_annotate_error,
    };
    let requests = Rc::new(RefCell::new(Requests::default()));
    let worker = {
        let requests = requests.clone();
        WorkerPool::new(move |message| on_worker_message(page, &requests, message))
    };
    worker.start();

    // Re-annotate when the text changes (debounced), once the model becomes ready, and once the
    // concept index is loaded (what was shown before it has no concepts).
    let pending: Rc<RefCell<Option<Timeout>>> = Rc::default();
    let requester = worker.clone();
    Effect::new(move |_| {
        let value = text.get();
        concepts.track();
        if !matches!(status.get(), Status::Ready { .. }) {
            return;
        }
        let (worker, requests) = (requester.clone(), requests.clone());
        // Replacing the timeout drops (cancels) the previous one.
        *pending.borrow_mut() = Some(Timeout::new(DEBOUNCE_MS, move || {
            request(&worker, page, &requests, value)
        }));
    });

    let (retries, set_retries) = signal(0u32);
    Effect::new(move |previous: Option<u32>| {
        let count = retries.get();
        if previous.is_some_and(|p| p != count) {
            set_status.set(Status::Loading {
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
            <ModelStatus status=status concepts=concepts offline=offline retry=set_retries />
            <TextInput text=text set_text=set_text />
            <TypeFilters labels=labels filters=filters set_filters=set_filters />
            <div class="workspace">
                <section class="result" aria-label="Highlighted entities">
                    <RunStatus annotation=annotation visible=visible />
                    <ResultBody text=text annotation=annotation annotate_error=annotate_error visible=visible />
                    <Exports annotation=annotation visible=visible />
                </section>
                <EntityPanel annotation=annotation visible=visible />
            </div>
        </main>
    }
}
