//! What the clinical context rules ([`medlight_ner::context`]) add to annotating a 50,000-character
//! note, read as the browser's worker reads it: chunk by chunk of sentences, each call given the
//! whole text (section headers reach across chunks). Prints the medians of a few runs of the whole
//! annotation (which includes the rules) and of the rules alone on the same entities, and the
//! share the rules add. Native, so the share stands for the browser's only as a proxy: both parts
//! run as wasm there.
//!
//! `cargo bench -p medlight-ner --bench context` (note text: `MEDLIGHT_NOTES`, default
//! `../shared/data/mtsamples/notes.txt`; model: `public/models/`).

use std::time::Instant;

use medlight_ner::context::ContextRules;
use medlight_ner::sentences::{chunks, CHUNK_BYTES};
use medlight_ner::Entity;

mod shipped;
use shipped::{annotate_in_chunks, median, note, tagger, NOTE_CHARS};

const RUNS: usize = 5;

fn main() {
    let tagger = tagger();
    let note = note();
    let parts = chunks(&note, CHUNK_BYTES);
    let rules = ContextRules::builtin();

    let (mut whole, mut context) = (Vec::new(), Vec::new());
    let mut found: Vec<Vec<Entity>> = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        found = annotate_in_chunks(&tagger, &note, &parts);
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
