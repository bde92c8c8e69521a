//! The side panel: unique entities with their counts; clicking one moves to its next occurrence.

use leptos::prelude::*;
use medlight_ner::Entity;
use wasm_bindgen::JsCast;
use web_sys::HtmlElement;

use crate::highlight::label_class;
use crate::results::{mesh_pages, next_occurrence, unique, Annotation, Unique};

/// Focuses (and so scrolls to) the occurrence after `last`, the one the panel moved to before
/// (the click itself has moved focus to the panel's button), and remembers it.
fn go_to_next(occurrences: &[usize], last: RwSignal<Option<usize>>) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let Some(next) = next_occurrence(occurrences, last.get_untracked()) else {
        return;
    };
    last.set(Some(next));
    if let Some(mark) = document
        .get_element_by_id(&format!("mention-{next}"))
        .and_then(|e| e.dyn_into::<HtmlElement>().ok())
    {
        let _ = mark.focus();
    }
}

#[component]
pub fn EntityPanel(
    annotation: ReadSignal<Option<Annotation>>,
    visible: Memo<Vec<Entity>>,
) -> impl IntoView {
    let last = RwSignal::new(None::<usize>);
    let list = Memo::new(move |_| {
        annotation.with(|a| {
            a.as_ref()
                .map(|a| visible.with(|v| unique(&a.text, v)))
                .unwrap_or_default()
        })
    });
    view! {
        <aside class="panel" aria-label="Entities found">
            <h2>"Entities"</h2>
            <p class="context-counts" aria-live="polite">
                {move || {
                    visible.with(|v| {
                        let negated = v.iter().filter(|e| e.context.negated).count();
                        let present = v.iter().filter(|e| e.context.statuses().is_empty()).count();
                        let other = v.len() - negated - present;
                        format!("{present} present · {negated} negated · {other} possible, historical or not the patient's")
                    })
                }}
            </p>
            {move || list.with(Vec::is_empty).then(|| view! { <p class="hint">"None yet."</p> })}
            <ul>
                <For each=move || list.get() key=row_key let:entity>
                    <EntityRow entity=entity last=last />
                </For>
            </ul>
        </aside>
    }
}

/// Everything a row shows: a row is rebuilt only when one of these changes.
fn row_key(u: &Unique) -> (String, String, Vec<usize>, Vec<String>, Option<String>) {
    (
        u.label.clone(),
        u.text.clone(),
        u.occurrences.clone(),
        u.other_forms.clone(),
        u.concept.as_ref().map(|c| c.id.clone()),
    )
}

/// One unique entity: its text, count, other spellings and concept; a click moves to its next
/// occurrence in the text.
#[component]
fn EntityRow(entity: Unique, last: RwSignal<Option<usize>>) -> impl IntoView {
    let count = entity.occurrences.len();
    let occurrences = entity.occurrences;
    let concept = entity
        .concept
        .as_ref()
        .map(|c| format!(" · MeSH {} {}", c.id, c.name))
        .unwrap_or_default();
    let title = format!(
        "{}{concept} · {count} occurrence{}: click to go to the next",
        entity.label,
        if count == 1 { "" } else { "s" }
    );
    let also =
        (!entity.other_forms.is_empty()).then(|| format!("also {}", entity.other_forms.join(", ")));
    let pages = entity.concept.as_ref().map(mesh_pages).unwrap_or_default();
    let several = pages.len() > 1;
    let concept_line = entity
        .concept
        .as_ref()
        .map(|c| format!("{} {}", c.id, c.name));
    view! {
        <li>
            <button class="unique" data-label=entity.label.clone() title=title on:click=move |_| go_to_next(&occurrences, last)>
                <span class=label_class(&entity.label)>{entity.text}</span>
                <span class="count">{count}</span>
                {also.map(|a| view! { <span class="forms">{a}</span> })}
                {concept_line.map(|c| view! { <span class="concept">{c}</span> })}
            </button>
            // Beside the button, not in it: a link inside a button is not valid HTML.
            {pages.into_iter().map(|(id, address)| {
                let text = if several { format!("MeSH {id} ↗") } else { "MeSH page ↗".to_string() };
                view! {
                    <a class="mesh-page" href=address target="_blank" rel="noopener noreferrer" title=format!("{id} in the MeSH Browser (opens nlm.nih.gov)")>{text}</a>
                }
            }).collect_view()}
        </li>
    }
}
