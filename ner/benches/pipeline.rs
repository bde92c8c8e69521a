//! Where a sentence's time goes, natively, on the shipped model: tokenise and align, the forward
//! pass, decoding, the whole pipeline on one typical sentence, and throughput over BC5CDR devel
//! sentences, read one by one (the CPU default) or padded into one batch. And the choice behind
//! the forward pass: one encoder linear layer in integers (what inference runs, on weights
//! re-packed at load) against candle's f32 matmul and its quantised matmuls on Q8_0 and Q4_0 blocks.
//! And the text-level rules ([`medlight_ner::consistency::harmonise`]) over devel's chunks.
//!
//! `cargo bench -p medlight-ner --bench pipeline` (data: `MEDLIGHT_DEVEL`, default
//! `../shared/data/bc5cdr/devel.tsv`; model: `public/models/`).

use std::path::PathBuf;

use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{Device, Module, Tensor};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use medlight_ner::align::{self, SpecialTokens};
use medlight_ner::model::int_linear::IntLinear;
use medlight_ner::sentences::{group_tokenised, sentences};
use medlight_ner::tagger::frame_batch;
use medlight_ner::{consistency, decode, LabelSet, Tagger};

/// A typical sentence has this many words (BC5CDR devel: median 22, mean 25).
const TYPICAL_WORDS: usize = 30;
/// Sentences per batch in the throughput benchmark.
const BATCH: usize = 64;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The devel sentences as text (words joined by spaces), in file order.
fn devel_sentences() -> Vec<String> {
    devel_tagged()
        .into_iter()
        .map(|(words, _)| words.join(" "))
        .collect()
}

/// The devel sentences as words and gold tags, in file order.
fn devel_tagged() -> Vec<(Vec<String>, Vec<String>)> {
    let path = std::env::var_os("MEDLIGHT_DEVEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/data/bc5cdr/devel.tsv"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (set MEDLIGHT_DEVEL)", path.display()));
    text.split("\n\n")
        .map(|block| {
            block
                .lines()
                .filter_map(|l| l.split_once('\t'))
                .map(|(w, t)| (w.to_string(), t.to_string()))
                .unzip()
        })
        .filter(|(words, _): &(Vec<String>, Vec<String>)| !words.is_empty())
        .collect()
}

fn tagger(model: &[u8]) -> Tagger {
    let tokenizer = std::fs::read(root().join("public/models/tokenizer.json"))
        .expect("public/models/tokenizer.json");
    Tagger::from_bytes(model, &tokenizer).expect("the model loads")
}

fn bench(c: &mut Criterion) {
    let shipped = std::fs::read(root().join("public/models/medlight-q8_0.safetensors"))
        .expect("public/models/medlight-q8_0.safetensors");
    let ours = &tagger(&shipped);
    let devel = devel_sentences();
    let sentence = devel
        .iter()
        .find(|s| s.split(' ').count() == TYPICAL_WORDS)
        .expect("a devel sentence of the typical length");
    let pieces = align::encode_text(ours.tokenizer(), sentence).unwrap();
    let special = SpecialTokens::from_tokenizer(ours.tokenizer()).unwrap();
    let (ids, mask) = frame_batch(&[&pieces.ids], special);
    let len = ids.len();
    let ids = Tensor::from_vec(ids, (1, len), &Device::Cpu).unwrap();
    let mask = Tensor::from_vec(mask, (1, len), &Device::Cpu).unwrap();
    let firsts: Vec<usize> = pieces.words.iter().map(|w| w.pieces.start).collect();
    let rows = ours.classify(&[(&pieces.ids, &firsts)]).unwrap().remove(0);
    eprintln!(
        "typical sentence: {TYPICAL_WORDS} words, {} sub-tokens: {sentence}",
        pieces.ids.len()
    );

    let mut group = c.benchmark_group(format!("sentence_{TYPICAL_WORDS}_words"));
    group.bench_function("tokenise_align", |b| {
        b.iter(|| align::encode_text(ours.tokenizer(), sentence).unwrap())
    });
    group.bench_function("forward", |b| {
        b.iter(|| ours.model().forward(&ids, &mask, None).unwrap())
    });
    group.bench_function("decode", |b| {
        b.iter(|| {
            let tags: Vec<&str> = ours
                .decode(&rows)
                .iter()
                .map(|p| ours.label_set().tag(p.tag))
                .collect();
            let spans: Vec<_> = pieces.words.iter().map(|w| w.bytes.clone()).collect();
            decode::entities(&spans, &tags, &vec![1.0; tags.len()])
        })
    });
    group.bench_function("annotate", |b| b.iter(|| ours.annotate(sentence).unwrap()));
    group.finish();

    // One intermediate layer's matmul on this sentence's activations, in each weight format.
    let (rows, inner, outer) = (len, 384, 1536);
    let x = Tensor::randn(0f32, 1.0, (rows, inner), &Device::Cpu).unwrap();
    let w = (Tensor::randn(0f32, 1.0, (outer, inner), &Device::Cpu).unwrap() * 0.05).unwrap();
    let mut group = c.benchmark_group(format!("linear_{rows}x{inner}x{outer}"));
    group.bench_function("f32", |b| b.iter(|| x.matmul(&w.t().unwrap()).unwrap()));
    let int = IntLinear::new(
        &w.flatten_all().unwrap().to_vec1().unwrap(),
        vec![0.0; outer],
        inner,
        outer,
    );
    group.bench_function("int8", |b| b.iter(|| x.apply_op1_no_bwd(&int).unwrap()));
    for dtype in [GgmlDType::Q8_0, GgmlDType::Q4_0] {
        let q = QMatMul::from_qtensor(QTensor::quantize(&w, dtype).unwrap()).unwrap();
        group.bench_function(format!("{dtype:?}").to_lowercase(), |b| {
            b.iter(|| q.forward(&x).unwrap())
        });
    }
    group.finish();

    // Batched: what the browser's worker does with a chunk of a long document.
    let document = devel[..BATCH].join("\n");
    let parts = sentences(&document);
    let tokens = ours.annotate_parts(&document, &parts).unwrap().sub_tokens;
    let mut group = c.benchmark_group(format!("batch_{BATCH}_sentences"));
    group
        .throughput(Throughput::Elements(tokens as u64))
        .sample_size(10);
    for (name, batch_tokens) in [("one_by_one", 0), ("padded_batch", 8192)] {
        let tagger = tagger(&shipped).with_batch_tokens(batch_tokens);
        group.bench_function(name, |b| {
            b.iter_batched(
                || parts.clone(),
                |p| tagger.annotate_parts(&document, &p).unwrap(),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();

    // The rules over each of devel's chunks, as `trainer eval` groups them, from the gold tags:
    // their cost beside the model's work on a chunk.
    let labels = LabelSet::from_types(&["Chemical", "Disease"]);
    let (words, gold): (Vec<Vec<String>>, Vec<Vec<String>>) = devel_tagged().into_iter().unzip();
    let chunks = group_tokenised(&words);
    let tags: Vec<Vec<usize>> = gold
        .iter()
        .map(|tags| {
            tags.iter()
                .map(|t| labels.id(t).expect("a BC5CDR tag"))
                .collect()
        })
        .collect();
    let mut group = c.benchmark_group("rules");
    group
        .throughput(Throughput::Elements(chunks.len() as u64))
        .sample_size(20);
    group.bench_function("harmonise_devel_chunks", |b| {
        b.iter_batched(
            || tags.clone(),
            |mut tags| {
                for chunk in &chunks {
                    consistency::harmonise(
                        &words[chunk.clone()],
                        &mut tags[chunk.clone()],
                        &labels,
                    );
                }
                tags
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
