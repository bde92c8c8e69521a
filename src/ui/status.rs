//! The model's state line: download progress, readiness and the offline copy, the concept index,
//! and a retry after a failed load.

use leptos::prelude::*;

use super::pwa::Offline;

#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    Loading { loaded: f64, total: Option<f64> },
    Ready { load_ms: f64 },
    Failed(String),
}

/// Whether entities carry MeSH concepts yet.
#[derive(Debug, Clone, PartialEq)]
pub enum Concepts {
    Loading,
    Ready { count: usize, load_ms: f64 },
    Failed(String),
}

fn megabytes(bytes: f64) -> String {
    format!("{:.1} MB", bytes / 1e6)
}

/// `retry` is bumped by the Retry button (view closures must be Send, so it is a counter rather
/// than the worker itself).
#[component]
pub fn ModelStatus(
    status: ReadSignal<Status>,
    concepts: ReadSignal<Concepts>,
    offline: ReadSignal<Offline>,
    retry: WriteSignal<u32>,
) -> impl IntoView {
    view! {
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
                    <button class="retry" on:click=move |_| retry.update(|n| *n += 1)>"Retry"</button>
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
    }
}
