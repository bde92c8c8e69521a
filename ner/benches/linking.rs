//! What concept linking ([`medlight_ner::linking`]) adds to annotating a 50,000-character note,
//! read as the browser's worker reads it: chunk by chunk, each chunk's entities linked as one
//! document. Prints the medians of a few runs of annotation, of linking alone on the same
//! entities, the share linking adds, and the time to read the index once (the worker does that
//! once, after the model). Native, so the share stands for the browser's only as a proxy.
//!
//! `cargo bench --profile fast -p medlight-ner --bench linking` (note text: `MEDLIGHT_NOTES`,
//! default `../shared/data/mtsamples/notes.txt`; model and index: `public/models/`).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use medlight_ner::linking::{ConceptIndex, Linker};
use medlight_ner::sentences::{chunks, CHUNK_BYTES};
use medlight_ner::{Entity, Tagger};

const NOTE_CHARS: usize = 50_000;
const RUNS: usize = 5;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

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
    let models = root().join("public/models");
    let tagger = Tagger::from_bytes(
        &std::fs::read(models.join("medlight-q8_0.safetensors")).expect("the shipped model"),
        &std::fs::read(models.join("tokenizer.json")).expect("the shipped tokenizer"),
    )
    .expect("the model loads");
    let index_text =
        std::fs::read_to_string(models.join("concepts.tsv")).expect("public/models/concepts.tsv");
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
        found = parts
            .iter()
            .map(|part| {
                tagger
                    .annotate_parts(&note, part)
                    .expect("annotates")
                    .entities
            })
            .collect();
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
