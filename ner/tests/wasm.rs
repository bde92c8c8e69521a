//! The core compiled to wasm32 and run in headless Chromium (`wasm-bindgen-test`): a Q8_0 model
//! file, run by the simd128 integer kernel, agrees with the f32 model; that kernel's sums are
//! exact, as natively; and the tagger's offsets hold for multi-byte text.
#![cfg(target_arch = "wasm32")]

use candle_core::quantized::GgmlDType;
use candle_core::{DType, Device, Tensor};
use medlight_ner::model::TokenClassifier;
use medlight_ner::testing::{gguf_bytes, tiny_classifier, tiny_tokenizer_json};
use medlight_ner::Tagger;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn logits(model: &TokenClassifier) -> Vec<f32> {
    let ids = Tensor::new(&[[2u32, 5, 6, 7, 8, 3]], &Device::Cpu).unwrap();
    let mask = Tensor::ones((1, 6), DType::U32, &Device::Cpu).unwrap();
    model
        .forward(&ids, &mask, None)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap()
}

#[wasm_bindgen_test]
fn q8_model_file_agrees_with_f32_in_wasm() {
    let (varmap, model) = tiny_classifier(11).unwrap();
    let reference = logits(&model);
    let bytes = gguf_bytes(&varmap, &model.config, GgmlDType::Q8_0).unwrap();
    let quantised = TokenClassifier::from_gguf(&bytes, &Device::Cpu).unwrap();
    let scale = reference.iter().fold(0f32, |m, x| m.max(x.abs()));
    let worst = logits(&quantised)
        .iter()
        .zip(&reference)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(
        worst <= 0.03 * scale,
        "q8 error {worst} against logit scale {scale}"
    );
}

#[wasm_bindgen_test]
fn int_linear_simd_kernel_gives_exact_sums() {
    medlight_ner::testing::check_int_linear_is_exact();
}

#[wasm_bindgen_test]
fn tagger_offsets_hold_for_multibyte_text() {
    let text = "β-asp\u{e9}irin 💊 induced nausea, 肝炎 in the patient.";
    let mut seen = 0;
    for seed in 0..50 {
        let (varmap, model) = tiny_classifier(seed).unwrap();
        let bytes = gguf_bytes(&varmap, &model.config, GgmlDType::Q8_0).unwrap();
        let tagger = Tagger::from_bytes(&bytes, tiny_tokenizer_json().as_bytes()).unwrap();
        for e in tagger.annotate(text).unwrap() {
            assert!(text.is_char_boundary(e.start) && text.is_char_boundary(e.end));
            assert!(e.start < e.end && e.end <= text.len());
            seen += 1;
        }
    }
    assert!(seen > 0, "no random model found any entity");
}
