//! The side panel: unique entities with their counts; clicking one moves to its next occurrence.

use leptos::prelude::*;
use medlight_ner::Entity;
use wasm_bindgen::JsCast;
use web_sys::HtmlElement;

use crate::highlight::label_class;
use crate::results::{next_occurrence, unique, Annotation};

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
    annotation: RwSignal<Option<Annotation>>,
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
            {move || {
                let list = list.get();
                if list.is_empty() {
                    return view! { <p class="hint">"None yet."</p> }.into_any();
                }
                view! {
                    <ul>
                        {list.into_iter().map(|u| {
                            let count = u.occurrences.len();
                            let occurrences = u.occurrences.clone();
                            let concept = u.concept.as_ref().map(|c| format!(" · MeSH {} {}", c.id, c.name)).unwrap_or_default();
                            let title = format!("{}{concept} · {count} occurrence{}: click to go to the next", u.label, if count == 1 { "" } else { "s" });
                            let also = (!u.other_forms.is_empty()).then(|| format!("also {}", u.other_forms.join(", ")));
                            let concept_line = u.concept.as_ref().map(|c| format!("{} {}", c.id, c.name));
                            view! {
                                <li>
                                    <button class="unique" data-label=u.label.clone() title=title on:click=move |_| go_to_next(&occurrences, last)>
                                        <span class=label_class(&u.label)>{u.text}</span>
                                        <span class="count">{count}</span>
                                        {also.map(|a| view! { <span class="forms">{a}</span> })}
                                        {concept_line.map(|c| view! { <span class="concept">{c}</span> })}
                                    </button>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </aside>
    }
}
