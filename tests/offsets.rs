//! The app's offset logic compiled to wasm and run in headless Chromium (`wasm-bindgen-test`):
//! the worker's UTF-8 byte offsets cut the page's text exactly, and their UTF-16 conversions index
//! the same characters in a JavaScript string, for accents, Greek, emoji, CJK and CRLF.
//! Run: `cargo test --target wasm32-unknown-unknown --test offsets` (see scripts/test.sh).
#![cfg(target_arch = "wasm32")]

use js_sys::JsString;
use medlight::highlight::{segments, utf16_offset};
use medlight_ner::Entity;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const TEXT: &str = "Café-au-lait β-blocker 💊 caused hépatite\r\n肝炎 and 👩‍⚕️ noted nausea.";

fn entity_of(text: &str, word: &str, label: &str) -> Entity {
    let start = text.find(word).unwrap();
    Entity {
        start,
        end: start + word.len(),
        label: label.into(),
        score: 0.87,
        ..Default::default()
    }
}

#[wasm_bindgen_test]
fn utf16_offsets_index_the_same_characters_in_javascript() {
    let js = JsString::from(TEXT);
    for word in [
        "Café",
        "β-blocker",
        "💊",
        "hépatite",
        "\r\n",
        "肝炎",
        "👩‍⚕️",
        "nausea.",
    ] {
        let e = entity_of(TEXT, word, "X");
        let (start, end) = (utf16_offset(TEXT, e.start), utf16_offset(TEXT, e.end));
        let cut: String = js.substring(start as u32, end as u32).into();
        assert_eq!(
            cut, word,
            "UTF-16 {start}..{end} of bytes {}..{}",
            e.start, e.end
        );
    }
    assert_eq!(utf16_offset(TEXT, TEXT.len()), js.length() as usize);
}

#[wasm_bindgen_test]
fn segments_rebuild_the_text_and_mark_exactly_the_entities() {
    let entities = [
        entity_of(TEXT, "hépatite", "Disease"),
        entity_of(TEXT, "β-blocker", "Chemical"),
        entity_of(TEXT, "肝炎", "Disease"),
        entity_of(TEXT, "💊", "Chemical"),
    ];
    let parts = segments(TEXT, &entities);
    assert_eq!(
        parts.iter().map(|s| s.text.as_str()).collect::<String>(),
        TEXT
    );
    let marked: Vec<(&str, &str)> = parts
        .iter()
        .filter_map(|s| {
            s.entity
                .map(|i| (s.text.as_str(), entities[i].label.as_str()))
        })
        .collect();
    assert_eq!(
        marked,
        [
            ("β-blocker", "Chemical"),
            ("💊", "Chemical"),
            ("hépatite", "Disease"),
            ("肝炎", "Disease")
        ]
    );
}

#[wasm_bindgen_test]
fn offsets_inside_a_character_or_past_the_end_are_dropped() {
    let beta = TEXT.find('β').unwrap();
    let bad = [
        Entity {
            start: beta + 1,
            end: beta + 4,
            label: "X".into(),
            score: 0.5,
            ..Default::default()
        }, // inside β
        Entity {
            start: TEXT.len() - 2,
            end: TEXT.len() + 5,
            label: "X".into(),
            score: 0.5,
            ..Default::default()
        },
        Entity {
            start: 7,
            end: 7,
            label: "X".into(),
            score: 0.5,
            ..Default::default()
        },
    ];
    let parts = segments(TEXT, &bad);
    assert!(parts.iter().all(|s| s.entity.is_none()));
    assert_eq!(
        parts.iter().map(|s| s.text.as_str()).collect::<String>(),
        TEXT
    );
}
