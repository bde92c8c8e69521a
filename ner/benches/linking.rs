//! What concept linking ([`medlight_ner::linking`]) adds to annotating a 50,000-character note,
//! read as the browser's worker reads it: chunk by chunk, each chunk's entities linked as one
//! document. Prints the medians of a few runs of annotation, of linking alone on the same
//! entities, the share linking adds, and the time to read the index once (the worker does that
//! once, after the model). Native, so the share stands for the browser's only as a proxy.
//!
//! `cargo bench --profile fast -p medlight-ner --bench linking` (note text: `MEDLIGHT_NOTES`,
//! default `../shared/data/mtsamples/notes.txt`; model and index: `public/models/`).

use std::time::Instant;

use medlight_ner::linking::{ConceptIndex, Linker};
use medlight_ner::sentences::{chunks, CHUNK_BYTES};
use medlight_ner::Entity;

mod shipped;
use shipped::{annotate_in_chunks, median, note, tagger, NOTE_CHARS};

const RUNS: usize = 5;

fn main() {
    let tagger = tagger();
    let index_text = std::fs::read_to_string(shipped::root().join("public/models/concepts.tsv"))
        .expect("public/models/concepts.tsv");
    let mut reads = Vec::new();
    let mut index = None;
    for _ in 0..RUNS {
        let started = Instant::now();
        index = Some(ConceptIndex::from_tsv("concepts.tsv", &index_text).expect("the index reads"));
        reads.push(started.elapsed());
    }
    let linker = Linker::new(index.expect("read above"));
    let note = note();
    let parts = chunks(&note, CHUNK_BYTES);

    let (mut annotating, mut linking) = (Vec::new(), Vec::new());
    let mut found: Vec<Vec<Entity>> = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        found = annotate_in_chunks(&tagger, &note, &parts);
        annotating.push(started.elapsed());
        let started = Instant::now();
        for entities in &mut found {
            linker.link_document(&note, entities);
        }
        linking.push(started.elapsed());
    }
    let entities: usize = found.iter().map(Vec::len).sum();
    let linked = found
        .iter()
        .flatten()
        .filter(|e| e.concept.is_some())
        .count();
    let (annotating, linking) = (median(annotating), median(linking));
    println!(
        "{NOTE_CHARS} characters, {} chunks, {entities} entities, {linked} linked to a concept",
        parts.len()
    );
    println!(
        "annotation, median of {RUNS}: {:.1} ms",
        annotating.as_secs_f64() * 1e3
    );
    println!(
        "linking its entities, median of {RUNS}: {:.2} ms",
        linking.as_secs_f64() * 1e3
    );
    println!(
        "linking adds {:.2} % to annotation",
        100.0 * linking.as_secs_f64() / annotating.as_secs_f64()
    );
    println!(
        "reading the index ({} bytes), median of {RUNS}: {:.0} ms",
        index_text.len(),
        median(reads).as_secs_f64() * 1e3
    );
}
