//! The encoder is fine-tunable: a loss on the classifier's output reaches every weight.

use candle_core::{Device, Tensor};
use medlight_ner::model::Dropout;
use medlight_ner::testing::tiny_classifier;

#[test]
fn every_weight_receives_a_gradient() {
    let (varmap, model) = tiny_classifier(3).unwrap();
    let ids = Tensor::new(
        &[[2u32, 5, 6, 7, 8, 3, 0], [2, 16, 17, 18, 10, 3, 0]],
        &Device::Cpu,
    )
    .unwrap();
    let mask = Tensor::new(
        &[[1u32, 1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1, 0]],
        &Device::Cpu,
    )
    .unwrap();
    let mut dropout = Dropout::new(0, 0.1, 0.1);
    let logits = model.forward(&ids, &mask, Some(&mut dropout)).unwrap();
    let loss = logits.sqr().unwrap().sum_all().unwrap();
    let grads = loss.backward().unwrap();
    let vars = varmap.data().lock().unwrap();
    assert!(
        vars.len() > 30,
        "expected the whole model's variables, got {}",
        vars.len()
    );
    for (name, var) in vars.iter() {
        if name.contains("token_type_embeddings") {
            continue; // only row 0 (single-segment input) is used; checked below
        }
        let grad = grads
            .get(var.as_tensor())
            .unwrap_or_else(|| panic!("{name}: no gradient"));
        let norm = grad
            .sqr()
            .unwrap()
            .sum_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        assert!(norm > 0.0, "{name}: zero gradient");
    }
    let token_types = vars
        .get("bert.embeddings.token_type_embeddings.weight")
        .unwrap();
    let row0 = grads.get(token_types.as_tensor()).unwrap().get(0).unwrap();
    assert!(
        row0.abs()
            .unwrap()
            .sum_all()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap()
            > 0.0
    );
}

#[test]
fn dropout_changes_training_outputs_but_not_inference() {
    let (_, model) = tiny_classifier(4).unwrap();
    let ids = Tensor::new(&[[2u32, 5, 6, 7, 3]], &Device::Cpu).unwrap();
    let mask = Tensor::new(&[[1u32, 1, 1, 1, 1]], &Device::Cpu).unwrap();
    let infer = |m: &medlight_ner::model::TokenClassifier| {
        m.forward(&ids, &mask, None)
            .unwrap()
            .to_vec3::<f32>()
            .unwrap()
    };
    assert_eq!(infer(&model), infer(&model));
    let mut dropout = Dropout::new(1, 0.5, 0.5);
    let train = model
        .forward(&ids, &mask, Some(&mut dropout))
        .unwrap()
        .to_vec3::<f32>()
        .unwrap();
    assert_ne!(train, infer(&model));
}
