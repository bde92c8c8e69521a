use candle_core::quantized::GgmlDType;

use super::*;
use crate::model::QuantizedWeights;
use crate::testing::{gguf_bytes, tiny_classifier};

#[test]
fn a_quantised_model_on_the_cpu_computes_in_integers_and_a_trainable_one_does_not() {
    let (varmap, model) = tiny_classifier(3).unwrap();
    assert!(!model.computes_in_integers());
    let bytes = gguf_bytes(&varmap, &model.config, GgmlDType::Q8_0).unwrap();
    let quantised = crate::model::TokenClassifier::from_gguf(&bytes, &Device::Cpu).unwrap();
    assert!(quantised.computes_in_integers());
}

/// `Dropout::fused` switches the whole encoder to the training ops (here with dropping off, on
/// the CPU, where those ops have reference implementations): same logits, same gradients.
#[test]
fn fused_training_ops_give_the_primitive_ops_results_through_the_whole_model() {
    let (varmap, model) = tiny_classifier(7).unwrap();
    let ids = Tensor::new(&[[2u32, 9, 4, 0], [5, 3, 0, 0]], &Device::Cpu).unwrap();
    let mask = Tensor::new(&[[1u32, 1, 1, 1], [1, 1, 0, 0]], &Device::Cpu).unwrap();
    let run = |fused: bool| {
        let mut dropout = Dropout::new(1, 0.0, 0.0);
        dropout.fused = fused;
        let logits = model.forward(&ids, &mask, Some(&mut dropout)).unwrap();
        let grads = (&logits * &logits)
            .unwrap()
            .sum_all()
            .unwrap()
            .backward()
            .unwrap();
        let mut values: Vec<f32> = logits.flatten_all().unwrap().to_vec1().unwrap();
        for var in varmap.all_vars() {
            if let Some(g) = grads.get(var.as_tensor()) {
                values.extend(g.flatten_all().unwrap().to_vec1::<f32>().unwrap());
            }
        }
        values
    };
    let (fused, primitive) = (run(true), run(false));
    assert_eq!(fused.len(), primitive.len());
    let worst = fused
        .iter()
        .zip(&primitive)
        .map(|(a, b)| (a - b).abs() / (1.0 + b.abs()))
        .fold(0.0f32, f32::max);
    assert!(
        fused.iter().all(|x| x.is_finite()) && worst < 1e-4,
        "worst difference {worst}"
    );
}

#[test]
fn quantised_word_rows_equal_the_dequantised_table() {
    let (varmap, model) = tiny_classifier(5).unwrap();
    for dtype in [GgmlDType::Q4_0, GgmlDType::Q8_0] {
        let bytes = gguf_bytes(&varmap, &model.config, dtype).unwrap();
        let weights = QuantizedWeights::from_gguf(&bytes, &Device::Cpu).unwrap();
        let w = Weights::quantized(&weights)
            .pp("bert")
            .pp("embeddings")
            .pp("word_embeddings");
        let shape = (model.config.vocab_size, model.config.hidden_size);
        let blocks = WordTable::Blocks(
            w.blocks(shape, "weight")
                .unwrap()
                .expect("stored in blocks"),
        );
        let dense = WordTable::Dense(w.tensor(shape, "weight", ZERO).unwrap());
        let ids = Tensor::new(&[[3u32, 0, 7], [35, 7, 1]], &Device::Cpu).unwrap();
        let a: Vec<f32> = blocks
            .rows(&ids)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let b: Vec<f32> = dense
            .rows(&ids)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        assert_eq!(a, b, "{dtype:?}");
        let outside = Tensor::new(&[99u32], &Device::Cpu).unwrap();
        assert!(blocks
            .rows(&outside)
            .unwrap_err()
            .to_string()
            .contains("outside the vocabulary"));
    }
}
