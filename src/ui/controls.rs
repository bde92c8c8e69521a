//! The controls over the result: the legend with a toggle per entity type, the confidence
//! threshold, and the exports (JSON, CSV, brat standoff, clipboard).

use leptos::prelude::*;
use medlight_ner::Entity;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, BlobPropertyBag, HtmlAnchorElement, Url};

use crate::export::{to_brat, to_csv, to_json};
use crate::highlight::label_class;
use crate::results::{Annotation, Filters, CONTEXT_GROUPS};

#[component]
pub fn TypeFilters(
    labels: ReadSignal<Vec<String>>,
    filters: ReadSignal<Filters>,
    set_filters: WriteSignal<Filters>,
) -> impl IntoView {
    let percent = move || (filters.with(|f| f.threshold) * 100.0).round();
    view! {
        <div class="filters">
            <ul class="legend" aria-label="Legend: show or hide each entity type">
                <For each=move || labels.get() key=|label| label.clone() let:label>
                    {
                    let (name, toggled) = (label.clone(), label.clone());
                    view! {
                        <li>
                            <label class="toggle">
                                <input
                                    type="checkbox"
                                    data-label=label.clone()
                                    prop:checked=move || filters.with(|f| !f.hidden.contains(&name))
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        set_filters.update(|f| f.toggle(&toggled, on));
                                    }
                                />
                                <span class=label_class(&label)>{label.clone()}</span>
                            </label>
                        </li>
                    }
                    }
                </For>
            </ul>
            <ul class="context-filter" aria-label="Show or hide entities by clinical context">
                {CONTEXT_GROUPS.into_iter().map(|(group, says)| view! {
                    <li>
                        <label class="toggle">
                            <input
                                type="checkbox"
                                data-context=group
                                prop:checked=move || filters.with(|f| !f.hidden_context.contains(&group))
                                on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    set_filters.update(|f| f.toggle_context(group, on));
                                }
                            />
                            <span class=format!("status {group}")>{says}</span>
                        </label>
                    </li>
                }).collect_view()}
            </ul>
            <label class="threshold">
                {move || format!("Confidence ≥ {:.0}%", percent())}
                <input
                    id="threshold"
                    type="range"
                    min="0"
                    max="100"
                    step="5"
                    prop:value=move || percent().to_string()
                    on:input=move |ev| {
                        let value: f32 = event_target_value(&ev).parse().unwrap_or(0.0);
                        set_filters.update(|f| f.threshold = value / 100.0);
                    }
                />
            </label>
        </div>
    }
}

/// Offers `content` as a file download; the object URL is released once the download has begun.
fn download(name: &str, mime: &str, content: &str) -> Result<(), JsValue> {
    let options = BlobPropertyBag::new();
    options.set_type(mime);
    let blob =
        Blob::new_with_str_sequence_and_options(&js_sys::Array::of1(&content.into()), &options)?;
    let url = Url::create_object_url_with_blob(&blob)?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let link: HtmlAnchorElement = document.create_element("a")?.unchecked_into();
    link.set_href(&url);
    link.set_download(name);
    link.click();
    gloo_timers::callback::Timeout::new(10_000, move || {
        let _ = Url::revoke_object_url(&url);
    })
    .forget();
    Ok(())
}

#[derive(Clone, Copy)]
enum Format {
    Json,
    Csv,
    Brat,
}

impl Format {
    fn render(self, text: &str, entities: &[Entity]) -> String {
        match self {
            Format::Json => to_json(text, entities),
            Format::Csv => to_csv(text, entities),
            Format::Brat => to_brat(text, entities),
        }
    }

    fn file(self) -> (&'static str, &'static str) {
        match self {
            Format::Json => ("medlight-entities.json", "application/json"),
            Format::Csv => ("medlight-entities.csv", "text/csv"),
            Format::Brat => ("medlight-entities.ann", "text/plain"),
        }
    }
}

/// Export buttons; they export the entities shown (filters applied), once annotation is done.
#[component]
pub fn Exports(
    annotation: ReadSignal<Option<Annotation>>,
    visible: Memo<Vec<Entity>>,
) -> impl IntoView {
    let (message, set_message) = signal(None::<String>);
    let ready = move || annotation.with(|a| a.as_ref().is_some_and(|a| a.finished.is_some()));
    let render = move |format: Format| {
        annotation.with(|a| {
            a.as_ref()
                .map(|a| visible.with(|v| format.render(&a.text, v)))
        })
    };
    let save = move |format: Format| {
        let Some(content) = render(format) else {
            return;
        };
        let (name, mime) = format.file();
        set_message.set(match download(name, mime, &content) {
            Ok(()) => None,
            Err(e) => Some(format!("The export failed: {e:?}")),
        });
    };
    let copy = move |_| {
        let Some(content) = render(Format::Json) else {
            return;
        };
        let Some(window) = web_sys::window() else {
            return;
        };
        let promise = window.navigator().clipboard().write_text(&content);
        wasm_bindgen_futures::spawn_local(async move {
            set_message.set(Some(match JsFuture::from(promise).await {
                Ok(_) => "Copied the JSON to the clipboard.".to_string(),
                Err(_) => {
                    "The browser did not allow copying; use the JSON download instead.".to_string()
                }
            }));
        });
    };
    view! {
        <div class="exports" aria-label="Export the entities shown">
            <span>"Export: "</span>
            <button class="export-json" disabled=move || !ready() on:click=move |_| save(Format::Json)>"JSON"</button>
            <button class="export-csv" disabled=move || !ready() on:click=move |_| save(Format::Csv)>"CSV"</button>
            <button class="export-brat" disabled=move || !ready() on:click=move |_| save(Format::Brat)>"brat .ann"</button>
            <button class="export-copy" disabled=move || !ready() on:click=copy>"Copy JSON"</button>
            {move || message.get().map(|m| view! { <span class="export-message" role="status">{m}</span> })}
        </div>
    }
}
