//! Small fixtures for tests here, in the trainer and in the browser: a WordPiece tokenizer over a
//! few biomedical words and a tiny BERT config, so tests run in seconds without a real model.

use tokenizers::models::wordpiece::WordPiece;
use tokenizers::normalizers::bert::BertNormalizer;
use tokenizers::pre_tokenizers::bert::BertPreTokenizer;
use tokenizers::Tokenizer;

use crate::{BertConfig, LabelSet};

/// The tiny vocabulary; "aspirin" splits into "asp" "##irin".
pub const TINY_VOCAB: &[&str] = &[
    "[PAD]",
    "[UNK]",
    "[CLS]",
    "[SEP]",
    "[MASK]",
    "asp",
    "##irin",
    "induced",
    "nausea",
    "-",
    ".",
    ",",
    "the",
    "patient",
    "with",
    "and",
    "cisplatin",
    "renal",
    "failure",
    "after",
    "of",
    "a",
    "in",
    "was",
    "treated",
    "for",
    "caused",
    "hepatitis",
    "pain",
    "by",
    "no",
    "acute",
    "dose",
    "high",
    "β",
    "##s",
];

/// A lower-casing BERT WordPiece tokenizer over [`TINY_VOCAB`].
pub fn tiny_tokenizer() -> Tokenizer {
    // `bpe::Vocab` is the public name of the hash map type WordPiece takes too.
    let vocab: tokenizers::models::bpe::Vocab = TINY_VOCAB
        .iter()
        .enumerate()
        .map(|(i, w)| (w.to_string(), i as u32))
        .collect();
    let model = WordPiece::builder()
        .vocab(vocab)
        .unk_token("[UNK]".into())
        .build()
        .expect("valid vocab");
    let mut tokenizer = Tokenizer::new(model);
    tokenizer
        .with_normalizer(Some(BertNormalizer::default()))
        .expect("normalizer");
    tokenizer.with_pre_tokenizer(Some(BertPreTokenizer));
    tokenizer
}

/// [`tiny_tokenizer`] as `tokenizer.json` text.
pub fn tiny_tokenizer_json() -> String {
    tiny_tokenizer()
        .to_string(false)
        .expect("tokenizer serialises")
}

/// A 2-layer, 32-wide BERT over [`TINY_VOCAB`] that classifies into `labels`.
pub fn tiny_config(labels: &LabelSet) -> BertConfig {
    let json = format!(
        r#"{{"vocab_size": {}, "hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
            "intermediate_size": 64, "max_position_embeddings": 64, "hidden_dropout_prob": 0.1,
            "attention_probs_dropout_prob": 0.1}}"#,
        TINY_VOCAB.len()
    );
    BertConfig::from_json(&json)
        .expect("tiny config is valid")
        .with_labels(labels)
}

/// A tiny random Chemical/Disease classifier whose weights live in the returned `VarMap`.
pub fn tiny_classifier(
    seed: u64,
) -> crate::Result<(candle_nn::VarMap, crate::model::TokenClassifier)> {
    let labels = LabelSet::from_types(&["Chemical", "Disease"]);
    let varmap = candle_nn::VarMap::new();
    let model = crate::model::TokenClassifier::trainable(
        &varmap,
        &tiny_config(&labels),
        &candle_core::Device::Cpu,
    )?;
    crate::model::init::seed_variables(&varmap, seed)?;
    Ok((varmap, model))
}

fn named_variables(varmap: &candle_nn::VarMap) -> Vec<(String, candle_core::Tensor)> {
    let mut named: Vec<(String, candle_core::Tensor)> = varmap
        .data()
        .lock()
        .expect("varmap lock")
        .iter()
        .map(|(name, var)| (name.clone(), var.as_tensor().clone()))
        .collect();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    named
}

/// The variables of `varmap` as a GGUF model file in memory.
pub fn gguf_bytes(
    varmap: &candle_nn::VarMap,
    config: &BertConfig,
    dtype: candle_core::quantized::GgmlDType,
) -> crate::Result<Vec<u8>> {
    let named = named_variables(varmap);
    let mut out = std::io::Cursor::new(Vec::new());
    crate::model::quantize::write_gguf(
        &mut out,
        &named,
        config,
        crate::model::quantize::Formats::uniform(dtype),
    )?;
    Ok(out.into_inner())
}

/// The variables of `varmap` as the web app's safetensors model file in memory.
pub fn safetensors_bytes(
    varmap: &candle_nn::VarMap,
    config: &BertConfig,
    dtype: candle_core::quantized::GgmlDType,
) -> crate::Result<Vec<u8>> {
    let formats = crate::model::quantize::Formats::uniform(dtype);
    crate::model::quantize::write_safetensors(&named_variables(varmap), config, formats)
}

/// Panics unless [`IntLinear`](crate::model::int_linear::IntLinear) gives exact integer dot
/// products on this target: inputs and weights that quantise to themselves (each row's largest
/// magnitude is the format's limit, so scales are 1) and sums small enough for f32 to hold exactly.
/// Run natively and in wasm, it shows that both kernels compute the same numbers.
pub fn check_int_linear_is_exact() {
    use crate::model::int_linear::{IntLinear, INPUT_MAX, WEIGHT_MAX};
    for (rows, in_dim, out_dim) in [(1, 5, 3), (7, 384, 9), (5, 1536, 4), (70, 24, 3)] {
        let small =
            |i: usize, range: i64| ((i * 7919 + 13) % (2 * range as usize + 1)) as i64 - range;
        let mut w: Vec<i64> = (0..in_dim * out_dim).map(|i| small(i, 20)).collect();
        for o in 0..out_dim {
            w[o * in_dim + (o % in_dim)] = WEIGHT_MAX as i64;
        }
        let w_f32: Vec<f32> = w.iter().map(|&v| v as f32).collect();
        let layer = IntLinear::new(&w_f32, vec![0.0; out_dim], in_dim, out_dim);
        let big = INPUT_MAX as i64;
        let mut x: Vec<i64> = (0..rows * in_dim).map(|i| small(i * 31, 5)).collect();
        for r in 0..rows {
            x[r * in_dim + (r * 3 % in_dim)] = if r % 2 == 0 { big } else { -big };
        }
        let x_f32: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        let y = layer.forward(&x_f32, rows);
        for r in 0..rows {
            for o in 0..out_dim {
                let exact: i64 = (0..in_dim)
                    .map(|k| x[r * in_dim + k] * w[o * in_dim + k])
                    .sum();
                assert!(exact.abs() < 1 << 24, "test sums must fit f32 exactly");
                assert_eq!(
                    y[r * out_dim + o],
                    exact as f32,
                    "{rows}×{in_dim}→{out_dim} at ({r}, {o})"
                );
            }
        }
    }
}
