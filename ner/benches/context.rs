//! What the clinical context rules ([`medlight_ner::context`]) add to annotating a 50,000-character
//! note, read as the browser's worker reads it: chunk by chunk of sentences, each call given the
//! whole text (section headers reach across chunks). Prints the medians of a few runs of the whole
//! annotation (which includes the rules) and of the rules alone on the same entities, and the
//! share the rules add. Native, so the share stands for the browser's only as a proxy: both parts
//! run as wasm there.
//!
//! `cargo bench -p medlight-ner --bench context` (note text: `MEDLIGHT_NOTES`, default
//! `../shared/data/mtsamples/notes.txt`; model: `public/models/`).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use medlight_ner::context::ContextRules;
use medlight_ner::sentences::{chunks, CHUNK_BYTES};
use medlight_ner::{Entity, Tagger};

const NOTE_CHARS: usize = 50_000;
const RUNS: usize = 5;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The first `NOTE_CHARS` characters of the notes, as one long note.
fn note() -> String {
    let path = std::env::var_os("MEDLIGHT_NOTES")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/data/mtsamples/notes.txt"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (set MEDLIGHT_NOTES)", path.display()));
    let note: String = text.chars().take(NOTE_CHARS).collect();
    assert_eq!(
        note.chars().count(),
        NOTE_CHARS,
        "{} is shorter than the note",
        path.display()
    );
    note
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn main() {
    let model = root().join("public/models");
    let tagger = Tagger::from_bytes(
        &std::fs::read(model.join("medlight-q8_0.safetensors")).expect("the shipped model"),
        &std::fs::read(model.join("tokenizer.json")).expect("the shipped tokenizer"),
    )
    .expect("the model loads");
    let note = note();
    let parts = chunks(&note, CHUNK_BYTES);
    let rules = ContextRules::builtin();

    let (mut whole, mut context) = (Vec::new(), Vec::new());
    let mut found: Vec<Vec<Entity>> = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        found = parts
            .iter()
            .map(|part| {
                tagger
                    .annotate_parts(&note, part)
                    .expect("annotates")
                    .entities
            })
            .collect();
        whole.push(started.elapsed());

        let mut again = found.clone();
        let started = Instant::now();
        for entities in &mut again {
            rules.apply(&note, entities);
        }
        context.push(started.elapsed());
        assert_eq!(again, found, "the rules decide the same context again");
    }
    let entities: usize = found.iter().map(Vec::len).sum();
    let contextual = found
        .iter()
        .flatten()
        .filter(|e| !e.context.statuses().is_empty())
        .count();
    let (whole, context) = (median(whole), median(context));
    let share = context.as_secs_f64() / (whole - context).as_secs_f64();
    println!(
        "{NOTE_CHARS} characters, {} chunks, {entities} entities ({contextual} with a context other than present)",
        parts.len()
    );
    println!(
        "annotation with the rules, median of {RUNS}: {:.1} ms",
        whole.as_secs_f64() * 1e3
    );
    println!(
        "the rules alone, median of {RUNS}: {:.2} ms",
        context.as_secs_f64() * 1e3
    );
    println!(
        "the rules add {:.2} % to annotation without them",
        100.0 * share
    );
}
