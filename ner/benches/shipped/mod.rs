//! What the context and linking benchmarks share: the shipped model, and a long clinical note.

use std::ops::Range;
use std::path::PathBuf;
use std::time::Duration;

use medlight_ner::{Entity, Tagger};

/// Characters of the note the benchmarks annotate.
pub const NOTE_CHARS: usize = 50_000;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The tagger of `public/models/`.
pub fn tagger() -> Tagger {
    let models = root().join("public/models");
    Tagger::from_bytes(
        &std::fs::read(models.join("medlight-q8_0.safetensors")).expect("the shipped model"),
        &std::fs::read(models.join("tokenizer.json")).expect("the shipped tokenizer"),
    )
    .expect("the model loads")
}

/// The first `NOTE_CHARS` characters of the notes (`MEDLIGHT_NOTES`, default
/// `../shared/data/mtsamples/notes.txt`), as one long note.
pub fn note() -> String {
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

pub fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// The note annotated as the worker reads it: each chunk of sentences in one call, given the
/// whole text; the entities chunk by chunk.
pub fn annotate_in_chunks(
    tagger: &Tagger,
    note: &str,
    parts: &[Vec<Range<usize>>],
) -> Vec<Vec<Entity>> {
    parts
        .iter()
        .map(|part| {
            tagger
                .annotate_parts(note, part)
                .expect("annotates")
                .entities
        })
        .collect()
}
