//! Where text comes in: typing, pasting, opening or dropping a `.txt` file.

use leptos::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{DragEvent, File, HtmlInputElement};

/// Files above this size are refused rather than freezing the tab on a multi-megabyte paste.
const MAX_FILE_BYTES: f64 = 5e6;

/// Why `file` will not be read, if it will not.
fn refuse(file: &File) -> Option<String> {
    let name = file.name();
    let plain = file.type_().is_empty() || file.type_().starts_with("text/");
    if !plain || !(name.ends_with(".txt") || name.ends_with(".text") || !name.contains('.')) {
        return Some(format!(
            "{name} is not a plain-text file; open a .txt file."
        ));
    }
    (file.size() > MAX_FILE_BYTES).then(|| {
        format!(
            "{name} is {:.1} MB; Medlight reads text files up to {:.0} MB.",
            file.size() / 1e6,
            MAX_FILE_BYTES / 1e6
        )
    })
}

/// Reads `file` as UTF-8 into `text`, or says why not in `problem`.
fn load(file: File, set_text: WriteSignal<String>, set_problem: WriteSignal<Option<String>>) {
    if let Some(reason) = refuse(&file) {
        return set_problem.set(Some(reason));
    }
    wasm_bindgen_futures::spawn_local(async move {
        match JsFuture::from(file.text())
            .await
            .ok()
            .and_then(|v| v.as_string())
        {
            Some(content) => {
                set_problem.set(None);
                set_text.set(content);
            }
            None => set_problem.set(Some(format!("{} could not be read.", file.name()))),
        }
    });
}

#[component]
pub fn TextInput(text: ReadSignal<String>, set_text: WriteSignal<String>) -> impl IntoView {
    let (problem, set_problem) = signal(None::<String>);
    let (dragging, set_dragging) = signal(false);
    view! {
        <div class="input-head">
            <label for="input">"Clinical note or abstract"</label>
            <label class="open-file">
                "Open a .txt file"
                <input
                    type="file"
                    id="file"
                    accept=".txt,text/plain"
                    on:change=move |ev| {
                        let input: HtmlInputElement = event_target(&ev);
                        if let Some(file) = input.files().and_then(|files| files.get(0)) {
                            load(file, set_text, set_problem);
                        }
                        input.set_value("");
                    }
                />
            </label>
        </div>
        <textarea
            id="input"
            rows="8"
            class:dragging=move || dragging.get()
            placeholder="Paste or type text, or drop a .txt file here. Example: “Cisplatin-induced nephrotoxicity in a patient with lung cancer.”"
            prop:value=move || text.get()
            on:input=move |ev| set_text.set(event_target_value(&ev))
            on:dragover=move |ev: DragEvent| {
                ev.prevent_default();
                set_dragging.set(true);
            }
            on:dragleave=move |_| set_dragging.set(false)
            on:drop=move |ev: DragEvent| {
                set_dragging.set(false);
                let file = ev.data_transfer().and_then(|d| d.files()).and_then(|files| files.get(0));
                if let Some(file) = file {
                    // A dropped file replaces the text instead of being inserted as its path.
                    ev.prevent_default();
                    load(file, set_text, set_problem);
                }
            }
        ></textarea>
        {move || problem.get().map(|message| view! { <p class="error file-error" role="alert">{message}</p> })}
    }
}
