//! Seeded initialisation of a fresh model's variables, and loading a pretrained encoder into them.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{Device, Tensor};
use candle_nn::VarMap;
use rand::rngs::StdRng;
use rand::SeedableRng;
use rand_distr::{Distribution, Normal};

use crate::{Error, Result};

/// Sets every variable as Hugging Face initialises BERT, from `seed`: weights ~ N(0, 0.02),
/// LayerNorm weights 1, biases 0. Candle's own initialisers cannot be seeded on the CPU.
pub fn seed_variables(varmap: &VarMap, seed: u64) -> Result<()> {
    let mut rng = StdRng::seed_from_u64(seed);
    let normal = Normal::new(0.0f32, 0.02).expect("valid normal");
    let data = varmap.data().lock().expect("varmap lock");
    let mut names: Vec<&String> = data.keys().collect();
    names.sort(); // HashMap order is random; the draw order must not be.
    for name in names {
        let var = &data[name];
        let shape = var.shape().clone();
        let value = if name.ends_with("LayerNorm.weight") {
            Tensor::ones(&shape, var.dtype(), var.device())?
        } else if name.ends_with(".bias") {
            Tensor::zeros(&shape, var.dtype(), var.device())?
        } else {
            let values: Vec<f32> = (0..shape.elem_count())
                .map(|_| normal.sample(&mut rng))
                .collect();
            Tensor::from_vec(values, &shape, var.device())?
        };
        var.set(&value)?;
    }
    Ok(())
}

/// What [`load_pretrained`] did.
#[derive(Debug, Default)]
pub struct LoadReport {
    pub loaded: Vec<String>,
    /// Variables the checkpoint lacked (a base encoder lacks `classifier.*`), left as initialised.
    pub missing: Vec<String>,
}

/// The tensor `name` (Hugging Face's `bert.`-prefixed name) of a pretrained checkpoint, also when the
/// encoder was saved without the prefix (as `BertModel` and sentence-transformers save it).
pub fn pretrained_tensor<'a>(
    tensors: &'a HashMap<String, Tensor>,
    name: &str,
) -> Option<&'a Tensor> {
    tensors
        .get(name)
        .or_else(|| name.strip_prefix("bert.").and_then(|n| tensors.get(n)))
}

/// Copies tensors of a safetensors file into the matching variables, found by [`pretrained_tensor`].
pub fn load_pretrained(varmap: &VarMap, path: &Path, device: &Device) -> Result<LoadReport> {
    let tensors: HashMap<String, Tensor> = candle_core::safetensors::load(path, device)
        .map_err(|e| Error::ModelFile(format!("{}: {e}", path.display())))?;
    let data = varmap.data().lock().expect("varmap lock");
    let mut report = LoadReport::default();
    let mut names: Vec<&String> = data.keys().collect();
    names.sort();
    for name in names {
        let var = &data[name];
        match pretrained_tensor(&tensors, name) {
            Some(tensor) => {
                if tensor.shape() != var.shape() {
                    return Err(Error::ModelFile(format!(
                        "{}: tensor `{name}` has shape {:?}, the config needs {:?}",
                        path.display(),
                        tensor.shape(),
                        var.shape()
                    )));
                }
                var.set(&tensor.to_dtype(var.dtype())?)?;
                report.loaded.push(name.clone());
            }
            None => report.missing.push(name.clone()),
        }
    }
    Ok(report)
}
