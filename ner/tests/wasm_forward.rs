//! A profiling harness, not a check of behaviour: the shipped model tags one 30-word sentence in
//! wasm under Node's V8 (the engine of the browser's worker), so a CPU profile can show where a
//! forward pass spends its time. `scripts/bench.sh wasm-profile` builds it, runs it with Node's
//! `--cpu-prof` and prints the functions by self time.
#![cfg(target_arch = "wasm32")]

use medlight_ner::Tagger;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = performance)]
    fn now() -> f64;
}

/// 30 words (44 sub-tokens with [CLS] and [SEP] under the shipped tokenizer), written for this
/// harness in the style of a BC5CDR abstract.
const SENTENCE: &str = "Two patients developed acute renal failure and severe hypotension after receiving \
    intravenous vancomycin together with gentamicin , which resolved within days once both drugs were \
    stopped in the hospital .";

#[wasm_bindgen_test]
fn tag_a_30_word_sentence() {
    let tagger = Tagger::from_bytes(
        include_bytes!("../../public/models/medlight-q8_0.safetensors"),
        include_bytes!("../../public/models/tokenizer.json"),
    )
    .unwrap();
    let first = tagger.annotate(SENTENCE).unwrap();
    let mut times: Vec<f64> = (0..100)
        .map(|_| {
            let start = now();
            assert_eq!(
                tagger.annotate(SENTENCE).unwrap(),
                first,
                "the same text tags the same way"
            );
            now() - start
        })
        .collect();
    times.sort_by(f64::total_cmp);
    let names: Vec<&str> = first.iter().map(|e| &SENTENCE[e.start..e.end]).collect();
    console_log!(
        "30-word sentence in wasm (Node): median {:.1} ms over 100; entities {names:?}",
        times[50]
    );
}
