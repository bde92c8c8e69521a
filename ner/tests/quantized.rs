//! The quantised model file: written and read back, it keeps the config and gives logits close to
//! the f32 model's; a damaged file is a clear error.

use candle_core::quantized::GgmlDType;
use candle_core::{Device, Tensor};
use medlight_ner::model::quantize::edit_config;
use medlight_ner::model::TokenClassifier;
use medlight_ner::testing::{gguf_bytes, tiny_classifier, tiny_tokenizer_json};
use medlight_ner::Tagger;

fn logits(model: &TokenClassifier) -> Vec<f32> {
    let ids = Tensor::new(&[[2u32, 5, 6, 7, 8, 3]], &Device::Cpu).unwrap();
    let mask = Tensor::ones((1, 6), candle_core::DType::U32, &Device::Cpu).unwrap();
    model
        .forward(&ids, &mask, None)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap()
}

fn max_abs(xs: &[f32]) -> f32 {
    xs.iter().fold(0.0, |m, x| m.max(x.abs()))
}

#[test]
fn quantised_logits_stay_close_to_f32() {
    let (varmap, model) = tiny_classifier(11).unwrap();
    let reference = logits(&model);
    for (dtype, tolerance) in [
        (GgmlDType::F32, 1e-5),
        (GgmlDType::Q8_0, 0.03),
        (GgmlDType::Q4_0, 0.25),
    ] {
        let bytes = gguf_bytes(&varmap, &model.config, dtype).unwrap();
        let quantised = TokenClassifier::from_gguf(&bytes, &Device::Cpu).unwrap();
        assert_eq!(quantised.labels, model.labels);
        let diff: Vec<f32> = logits(&quantised)
            .iter()
            .zip(&reference)
            .map(|(a, b)| a - b)
            .collect();
        let relative = max_abs(&diff) / max_abs(&reference);
        assert!(
            relative <= tolerance,
            "{dtype:?}: relative error {relative}"
        );
    }
}

#[test]
fn q8_file_is_about_a_quarter_of_f32() {
    let (varmap, model) = tiny_classifier(12).unwrap();
    let f32_len = gguf_bytes(&varmap, &model.config, GgmlDType::F32)
        .unwrap()
        .len();
    let q8_len = gguf_bytes(&varmap, &model.config, GgmlDType::Q8_0)
        .unwrap()
        .len();
    assert!(
        (q8_len as f64) < 0.45 * f32_len as f64,
        "q8 {q8_len} bytes vs f32 {f32_len}"
    );
}

#[test]
fn damaged_files_are_named_errors() {
    let tokenizer = tiny_tokenizer_json();
    let err = Tagger::from_bytes(b"not a model", tokenizer.as_bytes())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("GGUF"), "{err}");
    let (varmap, model) = tiny_classifier(13).unwrap();
    let bytes = gguf_bytes(&varmap, &model.config, GgmlDType::Q8_0).unwrap();
    let truncated = &bytes[..bytes.len() / 2];
    assert!(Tagger::from_bytes(truncated, tokenizer.as_bytes()).is_err());
    let err = Tagger::from_bytes(&bytes, b"{}").err().unwrap().to_string();
    assert!(err.contains("tokenizer"), "{err}");
}

#[test]
fn a_new_config_rewrites_the_file_around_the_same_blocks() {
    let (varmap, model) = tiny_classifier(14).unwrap();
    let original = gguf_bytes(&varmap, &model.config, GgmlDType::Q8_0).unwrap();
    let mut biased = std::io::Cursor::new(Vec::new());
    let biased_config = edit_config(&original, &mut biased, |c| c.outside_bias = 1.75).unwrap();
    assert_eq!(
        biased_config.to_json(),
        medlight_ner::BertConfig {
            outside_bias: 1.75,
            ..model.config.clone()
        }
        .to_json()
    );
    let biased = biased.into_inner();
    assert_ne!(biased, original);
    let reread = TokenClassifier::from_gguf(&biased, &Device::Cpu).unwrap();
    assert_eq!(reread.config.outside_bias, 1.75);
    assert_eq!(
        logits(&reread),
        logits(&TokenClassifier::from_gguf(&original, &Device::Cpu).unwrap())
    );
    let mut restored = std::io::Cursor::new(Vec::new());
    let restored_config = edit_config(&biased, &mut restored, |c| {
        c.outside_bias = model.config.outside_bias
    })
    .unwrap();
    assert_eq!(restored_config.to_json(), model.config.to_json());
    assert!(
        restored.into_inner() == original,
        "the old config gives back the very same bytes"
    );
    assert!(edit_config(
        b"not a model",
        &mut std::io::Cursor::new(Vec::new()),
        |_| ()
    )
    .is_err());
}
