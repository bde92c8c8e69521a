//! The annotator: paste or type text, see Chemical and Disease mentions highlighted.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use gloo_timers::callback::Timeout;
use leptos::prelude::*;
use medlight_ner::Entity;

use super::model::ModelWorker;
use crate::highlight::{label_class, segments};
use crate::protocol::{FromWorker, ToWorker};

/// Quiet time after the last keystroke before the text is sent for annotation.
const DEBOUNCE_MS: u32 = 250;

#[derive(Debug, Clone, PartialEq)]
enum Status {
    Loading { loaded: f64, total: Option<f64> },
    Ready { load_ms: f64 },
    Failed(String),
}

#[derive(Debug, Clone, PartialEq)]
struct Annotation {
    text: String,
    entities: Vec<Entity>,
    ms: f64,
    tokens: usize,
}

fn megabytes(bytes: f64) -> String {
    format!("{:.1} MB", bytes / 1e6)
}

#[component]
pub fn App() -> impl IntoView {
    let (status, set_status) = signal(Status::Loading { loaded: 0.0, total: None });
    let (labels, set_labels) = signal(Vec::<String>::new());
    let (text, set_text) = signal(String::new());
    let (annotation, set_annotation) = signal(None::<Annotation>);
    let (annotate_error, set_annotate_error) = signal(None::<String>);
    // Only the newest request's answer is shown; older ones are stale.
    let latest = Rc::new(Cell::new(0u32));
    let sent_texts: Rc<RefCell<Vec<(u32, String)>>> = Rc::new(RefCell::new(Vec::new()));

    let worker = {
        let (latest, sent_texts) = (latest.clone(), sent_texts.clone());
        ModelWorker::new(move |message| match message {
            FromWorker::Started => {}
            FromWorker::Progress { loaded, total } => set_status.set(Status::Loading { loaded, total }),
            FromWorker::Ready { load_ms, labels } => {
                set_labels.set(labels);
                set_status.set(Status::Ready { load_ms });
            }
            FromWorker::Failed { message } => set_status.set(Status::Failed(message)),
            FromWorker::Annotated { id, entities, ms, tokens } => {
                let mut sent = sent_texts.borrow_mut();
                let text = sent.iter().find(|(i, _)| *i == id).map(|(_, t)| t.clone());
                sent.retain(|(i, _)| *i > id);
                if let (true, Some(text)) = (id == latest.get(), text) {
                    set_annotate_error.set(None);
                    set_annotation.set(Some(Annotation { text, entities, ms, tokens }));
                }
            }
            FromWorker::AnnotateFailed { id, message } => {
                sent_texts.borrow_mut().retain(|(i, _)| *i > id);
                if id == latest.get() {
                    set_annotation.set(None);
                    set_annotate_error.set(Some(message));
                }
            }
        })
    };
    worker.start();

    let pending: Rc<RefCell<Option<Timeout>>> = Rc::new(RefCell::new(None));
    let request = {
        let worker = worker.clone();
        let latest = latest.clone();
        move |value: String| {
            let id = latest.get() + 1;
            latest.set(id);
            if value.trim().is_empty() {
                set_annotation.set(None);
                set_annotate_error.set(None);
                return;
            }
            sent_texts.borrow_mut().push((id, value.clone()));
            worker.send(&ToWorker::Annotate { id, text: value });
        }
    };
    // Re-annotate when the text changes (debounced) or once the model becomes ready.
    Effect::new(move |_| {
        let value = text.get();
        if !matches!(status.get(), Status::Ready { .. }) {
            return;
        }
        let request = request.clone();
        // Replacing the timeout drops (cancels) the previous one.
        *pending.borrow_mut() = Some(Timeout::new(DEBOUNCE_MS, move || request(value)));
    });

    // Retry restarts the worker; the button only bumps a counter, since view closures must be Send.
    let (retries, set_retries) = signal(0u32);
    Effect::new(move |previous: Option<u32>| {
        let count = retries.get();
        if previous.is_some_and(|p| p != count) {
            set_status.set(Status::Loading { loaded: 0.0, total: None });
            worker.start();
        }
        count
    });

    view! {
        <header>
            <h1>"Medlight"</h1>
            <p class="privacy">"Your text never leaves this page: the model runs in your browser."</p>
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
                    }.into_any(),
                    Status::Ready { load_ms } => view! {
                        <p class="ready">{format!("Model ready in {:.0} ms.", load_ms)}</p>
                    }.into_any(),
                    Status::Failed(message) => view! {
                        <p class="error" role="alert">{format!("The model could not be loaded: {message}")}</p>
                        <button class="retry" on:click=move |_| set_retries.update(|n| *n += 1)>"Retry"</button>
                    }.into_any(),
                }}
            </section>
            <label for="input">"Clinical note or abstract"</label>
            <textarea
                id="input"
                rows="8"
                placeholder="Paste or type text, e.g. “Cisplatin-induced nephrotoxicity in a patient with lung cancer.”"
                on:input=move |ev| set_text.set(event_target_value(&ev))
            ></textarea>
            <Legend labels=labels />
            <section class="result" aria-label="Highlighted entities">
                {move || match annotation.get() {
                    None if text.get().trim().is_empty() => view! {
                        <p class="hint">"Type or paste text above to see Chemical and Disease mentions."</p>
                    }.into_any(),
                    None => match annotate_error.get() {
                        Some(message) => view! {
                            <p class="error" role="alert">{format!("This text could not be annotated: {message}")}</p>
                        }.into_any(),
                        None => view! { <p class="hint">"Annotating…"</p> }.into_any(),
                    },
                    Some(a) => view! { <Highlighted annotation=a /> }.into_any(),
                }}
            </section>
        </main>
    }
}

#[component]
fn Legend(labels: ReadSignal<Vec<String>>) -> impl IntoView {
    view! {
        <ul class="legend" aria-label="Legend">
            {move || labels.get().into_iter().map(|label| view! {
                <li><span class=label_class(&label)>{label.clone()}</span></li>
            }).collect_view()}
        </ul>
    }
}

#[component]
fn Highlighted(annotation: Annotation) -> impl IntoView {
    let count = annotation.entities.len();
    let stats = format!(
        "{count} entit{} · {:.0} ms · {:.0} tokens/s",
        if count == 1 { "y" } else { "ies" },
        annotation.ms,
        annotation.tokens as f64 / (annotation.ms.max(0.1) / 1000.0)
    );
    // Every piece of user text is a text node (never HTML), highlighted or not.
    let parts = segments(&annotation.text, &annotation.entities)
        .into_iter()
        .map(|segment| match segment.entity {
            Some(e) => {
                let title = format!("{} · {:.0}% confidence", e.label, 100.0 * e.score);
                view! {
                    <mark class=label_class(&e.label) data-label=e.label.clone() title=title.clone() aria-label=title tabindex="0">
                        {segment.text}
                    </mark>
                }
                .into_any()
            }
            None => view! { <span>{segment.text}</span> }.into_any(),
        })
        .collect_view();
    view! {
        <div class="annotated">{parts}</div>
        <p class="stats">{stats}</p>
    }
}
