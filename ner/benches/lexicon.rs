//! What the lexicon (the train split's names and the MeSH vocabulary's, [`medlight_ner::lexicon`])
//! and the span rules ([`medlight_ner::spans`]) cost: building the lexicon when the model loads,
//! and their share of annotating a 50,000-character note as the worker reads it (chunk by chunk).
//! Prints medians of a few runs, all measured in one run of the benchmark. Native, so the shares
//! stand for the browser's only as a proxy.
//!
//! `cargo bench --profile fast -p medlight-ner --bench lexicon` (note text: `MEDLIGHT_NOTES`, default
//! `../shared/data/mtsamples/notes.txt`; model: `public/models/`).

use std::time::{Duration, Instant};

use medlight_ner::lexicon::Lexicon;
use medlight_ner::sentences::{chunks, CHUNK_BYTES};
use medlight_ner::Tagger;

mod shipped;
use shipped::{annotate_in_chunks, median, note, tagger, NOTE_CHARS};

const RUNS: usize = 5;

fn timed(runs: usize, mut run: impl FnMut()) -> Duration {
    median(
        (0..runs)
            .map(|_| {
                let started = Instant::now();
                run();
                started.elapsed()
            })
            .collect(),
    )
}

fn main() {
    let full = tagger();
    let names = &full.model().config.lexicon;
    let count: usize = names.values().map(Vec::len).sum();
    let build = timed(RUNS, || {
        std::hint::black_box(Lexicon::new(names));
    });
    let note = note();
    let parts = chunks(&note, CHUNK_BYTES);
    let variants: [(&str, Tagger); 3] = [
        ("lexicon and span rules (shipped)", tagger()),
        ("span rules, no lexicon", tagger().with_lexicon(false)),
        (
            "neither",
            tagger().with_lexicon(false).with_span_rules(false),
        ),
    ];
    println!(
        "{NOTE_CHARS} characters, {} chunks; lexicon of {count} names",
        parts.len()
    );
    println!(
        "building the lexicon at load, median of {RUNS}: {:.1} ms",
        build.as_secs_f64() * 1e3
    );
    // Interleaved, so that a slow moment of the machine falls on all three alike.
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); variants.len()];
    let mut found = vec![0; variants.len()];
    for _ in 0..RUNS {
        for (i, (_, tagger)) in variants.iter().enumerate() {
            let started = Instant::now();
            let entities = annotate_in_chunks(tagger, &note, &parts);
            times[i].push(started.elapsed());
            found[i] = entities.iter().map(Vec::len).sum();
        }
    }
    let medians: Vec<Duration> = times.into_iter().map(median).collect();
    for (((name, _), time), n) in variants.iter().zip(&medians).zip(&found) {
        println!(
            "annotation, {name}, median of {RUNS}: {:.1} ms, {n} entities ({:+.2} % against neither)",
            time.as_secs_f64() * 1e3,
            100.0 * (time.as_secs_f64() / medians[2].as_secs_f64() - 1.0)
        );
    }
}
