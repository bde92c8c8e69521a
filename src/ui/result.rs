//! The annotated text, streamed in chunk by chunk, and the run's progress and figures.

use leptos::prelude::*;
use medlight_ner::Entity;

use crate::highlight::{label_class, segments};
use crate::results::Annotation;

/// Progress while a long text streams in; latency and throughput once it is done.
#[component]
pub fn RunStatus(
    annotation: ReadSignal<Option<Annotation>>,
    visible: Memo<Vec<Entity>>,
) -> impl IntoView {
    move || {
        annotation.with(|a| {
            let a = a.as_ref()?;
            Some(match a.finished {
                None => {
                    let percent = (100.0 * a.progress()).floor();
                    view! {
                        <p class="stats running" aria-live="polite">
                            <progress max="100" value=percent></progress>
                            {format!(" Annotating… {percent:.0}% ({} entities so far)", visible.with(Vec::len))}
                        </p>
                    }
                    .into_any()
                }
                Some((ms, tokens)) => {
                    let count = visible.with(Vec::len);
                    let total = a.entities.len();
                    let hidden = if total > count { format!(" ({} hidden by filters)", total - count) } else { String::new() };
                    let rate = tokens as f64 / (ms.max(0.1) / 1000.0);
                    view! {
                        <p class="stats">
                            {format!("{count} entit{}{hidden} · {ms:.0} ms · {rate:.0} tokens/s", if count == 1 { "y" } else { "ies" })}
                        </p>
                    }
                    .into_any()
                }
            })
        })
    }
}

/// The text with the visible entities as `<mark>`s. Every piece of user text is a text node, never
/// HTML. The part not annotated yet is shown plain.
#[component]
pub fn Highlighted(
    annotation: ReadSignal<Option<Annotation>>,
    visible: Memo<Vec<Entity>>,
) -> impl IntoView {
    move || {
        annotation.with(|a| {
            let a = a.as_ref()?;
            let done = if a.text.is_char_boundary(a.done) {
                a.done.min(a.text.len())
            } else {
                0
            };
            let shown = visible.get();
            let parts = segments(&a.text[..done], &shown)
                .into_iter()
                .map(|segment| match segment.entity {
                    Some(i) => {
                        let e = &shown[i];
                        let why: String = e
                            .context
                            .explanation()
                            .iter()
                            .map(|w| format!(" · {w}"))
                            .collect();
                        let concept = e
                            .concept
                            .as_ref()
                            .map(|c| format!(" · MeSH {} {}", c.id, c.name))
                            .unwrap_or_default();
                        let title = format!(
                            "{}{why} · {:.0}% confidence{concept}",
                            e.label,
                            100.0 * e.score
                        );
                        let statuses = e.context.statuses();
                        let class = std::iter::once(label_class(&e.label))
                            .chain(statuses.iter().map(|s| s.to_string()))
                            .collect::<Vec<_>>()
                            .join(" ");
                        let spoken = format!("{}: {title}", segment.text);
                        view! {
                            <mark
                                id=format!("mention-{i}")
                                class=class
                                data-context=statuses.join(" ")
                                aria-label=spoken
                                data-label=e.label.clone()
                                title=title.clone()
                                data-tip=title
                                tabindex="0"
                            >
                                {segment.text}
                            </mark>
                        }
                        .into_any()
                    }
                    None => view! { <span>{segment.text}</span> }.into_any(),
                })
                .collect_view();
            let state = if a.finished.is_some() {
                "done"
            } else {
                "running"
            };
            let rest = a.text[done..].to_string();
            Some(view! {
                <div class="annotated" data-state=state>
                    {parts}
                    <span class="pending">{rest}</span>
                </div>
            })
        })
    }
}

/// The result area's body: a hint before any text, the error of a failed run, or the highlights.
#[component]
pub fn ResultBody(
    text: ReadSignal<String>,
    annotation: ReadSignal<Option<Annotation>>,
    annotate_error: ReadSignal<Option<String>>,
    visible: Memo<Vec<Entity>>,
) -> impl IntoView {
    move || {
        match (annotation.with(Option::is_some), annotate_error.get()) {
        (false, _) if text.with(|t| t.trim().is_empty()) => view! {
            <p class="hint">"Type or paste text above, or open a .txt file, to see Chemical and Disease mentions."</p>
        }
        .into_any(),
        (_, Some(message)) => view! {
            <p class="error" role="alert">{format!("This text could not be annotated: {message}")}</p>
        }
        .into_any(),
        (false, None) => view! { <p class="hint">"Annotating…"</p> }.into_any(),
        (true, None) => view! { <Highlighted annotation=annotation visible=visible /> }.into_any(),
    }
    }
}
