//! Weight averaging: the element-wise mean of several saved models of one architecture (the last
//! few epochs of a run, or runs with other seeds from the same base). Averaging points along the
//! end of a fine-tuning trajectory lands nearer the middle of the low-loss region than any one of
//! them, at no inference cost.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use candle_core::{DType, Device, Tensor};

/// The mean of the safetensors `files`, tensor by tensor. They must hold the same names and shapes;
/// an error names the file and tensor that differ. A tensor equal in every file (frozen word
/// embeddings) is kept bit for bit rather than recomputed, so its quantised form does not change.
pub fn mean_of(files: &[PathBuf], device: &Device) -> Result<HashMap<String, Tensor>> {
    let Some((first, rest)) = files.split_first() else {
        bail!("nothing to average")
    };
    let read = |path: &Path| -> Result<HashMap<String, Tensor>> {
        let tensors = candle_core::safetensors::load(path, device)
            .with_context(|| format!("cannot read {}", path.display()))?;
        tensors
            .into_iter()
            .map(|(name, t)| Ok((name, t.to_dtype(DType::F32)?)))
            .collect()
    };
    let mut sums = read(first)?;
    let mut varies: HashMap<String, bool> = sums.keys().map(|k| (k.clone(), false)).collect();
    let mut firsts = sums.clone();
    for path in rest {
        let mut next = read(path)?;
        if next.len() != sums.len() {
            bail!(
                "{}: {} tensors, but {} has {}",
                path.display(),
                next.len(),
                first.display(),
                sums.len()
            );
        }
        for (name, sum) in sums.iter_mut() {
            let t = next
                .remove(name)
                .with_context(|| format!("{}: no tensor `{name}`", path.display()))?;
            if t.dims() != sum.dims() {
                bail!(
                    "{}: `{name}` has shape {:?}, but {:?} in {}",
                    path.display(),
                    t.dims(),
                    sum.dims(),
                    first.display()
                );
            }
            if !varies[name] && !bitwise_equal(&t, &firsts[name])? {
                varies.insert(name.clone(), true);
            }
            *sum = (&*sum + &t)?;
        }
    }
    let n = files.len() as f64;
    sums.into_iter()
        .map(|(name, sum)| {
            let mean = if varies[&name] {
                (sum / n)?
            } else {
                firsts.remove(&name).expect("same names")
            };
            Ok((name, mean))
        })
        .collect()
}

/// Writes the mean of the safetensors `files` to `<out>/model.safetensors`, creating `out`.
pub fn save_mean(files: &[PathBuf], out: &Path) -> Result<()> {
    let mean = mean_of(files, &Device::Cpu)?;
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    candle_core::safetensors::save(&mean, out.join("model.safetensors"))?;
    Ok(())
}

fn bitwise_equal(a: &Tensor, b: &Tensor) -> Result<bool> {
    let a: Vec<f32> = a.flatten_all()?.to_vec1()?;
    let b: Vec<f32> = b.flatten_all()?.to_vec1()?;
    Ok(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn save(dir: &Path, name: &str, tensors: &[(&str, &[f32])]) -> PathBuf {
        let map: HashMap<String, Tensor> = tensors
            .iter()
            .map(|(n, v)| (n.to_string(), Tensor::new(*v, &Device::Cpu).unwrap()))
            .collect();
        let path = dir.join(name);
        candle_core::safetensors::save(&map, &path).unwrap();
        path
    }

    fn scratch() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("medlight-average-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn averages_element_wise_and_keeps_unchanged_tensors_exactly() {
        let dir = scratch();
        let frozen = [0.1f32, 0.7, 1e-7];
        let a = save(
            &dir,
            "a.safetensors",
            &[("w", &[1.0, -2.0, 4.0]), ("frozen", &frozen)],
        );
        let b = save(
            &dir,
            "b.safetensors",
            &[("w", &[3.0, 2.0, 0.0]), ("frozen", &frozen)],
        );
        let c = save(
            &dir,
            "c.safetensors",
            &[("w", &[2.0, 3.0, 2.0]), ("frozen", &frozen)],
        );
        let mean = mean_of(&[a, b, c], &Device::Cpu).unwrap();
        assert_eq!(mean["w"].to_vec1::<f32>().unwrap(), [2.0, 1.0, 2.0]);
        let kept: Vec<u32> = mean["frozen"]
            .to_vec1::<f32>()
            .unwrap()
            .iter()
            .map(|v| v.to_bits())
            .collect();
        assert_eq!(kept, frozen.map(f32::to_bits));
    }

    #[test]
    fn files_that_do_not_match_are_named() {
        let dir = scratch();
        let a = save(&dir, "one.safetensors", &[("w", &[1.0, 2.0])]);
        let b = save(&dir, "other-shape.safetensors", &[("w", &[1.0, 2.0, 3.0])]);
        let c = save(&dir, "other-name.safetensors", &[("v", &[1.0, 2.0])]);
        let err = mean_of(&[a.clone(), b], &Device::Cpu)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("other-shape.safetensors") && err.contains("`w`"),
            "{err}"
        );
        let err = mean_of(&[a, c], &Device::Cpu).unwrap_err().to_string();
        assert!(
            err.contains("other-name.safetensors") && err.contains("no tensor `w`"),
            "{err}"
        );
        assert!(mean_of(&[], &Device::Cpu).is_err());
    }
}
