//! AdamW with decoupled weight decay, global-norm gradient clipping and a warmup + linear-decay
//! schedule. Written here rather than using `candle_nn::AdamW` because a resumed run needs the
//! moment estimates saved and restored, which candle's optimiser keeps private.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, Result};
use candle_core::backprop::GradStore;
use candle_core::{Tensor, Var};
use candle_nn::VarMap;

mod update;
use update::{same_shape, Moment, Step};

pub struct Schedule {
    pub peak: f64,
    pub warmup_steps: usize,
    pub total_steps: usize,
}

impl Schedule {
    /// Linear warmup to `peak`, then linear decay to 0 at `total_steps`.
    pub fn at(&self, step: usize) -> f64 {
        if step < self.warmup_steps {
            self.peak * (step + 1) as f64 / self.warmup_steps as f64
        } else {
            let left = self.total_steps.saturating_sub(step) as f64;
            self.peak * left / (self.total_steps - self.warmup_steps).max(1) as f64
        }
    }
}

struct Param {
    name: String,
    var: Var,
    m: Tensor,
    v: Tensor,
    /// Biases and LayerNorm weights get no weight decay, as in the reference recipe.
    decay: bool,
}

pub struct AdamW {
    params: Vec<Param>,
    pub step: usize,
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
    /// The in-place kernels of [`update`]; false where they cannot run (a GPU without NVRTC), then
    /// tensor ops do the same arithmetic.
    fused: bool,
    /// On a GPU: the whole model in two kernels ([`update::cuda::step_all`]) instead of three per
    /// parameter plus a norm read back to the host.
    #[cfg_attr(not(feature = "cuda"), allow(dead_code))]
    all_at_once: bool,
    /// The gradients' squared global norm at the last step, where it was computed (on a GPU,
    /// reading it waits for the step).
    sumsq: Option<Tensor>,
}

impl AdamW {
    /// Optimises every variable of `varmap` except those named in `frozen`.
    pub fn new(varmap: &VarMap, weight_decay: f64, frozen: &[&str]) -> Result<Self> {
        let data = varmap.data().lock().expect("varmap lock");
        let mut names: Vec<&String> = data
            .keys()
            .filter(|n| !frozen.contains(&n.as_str()))
            .collect();
        names.sort();
        let params = names
            .into_iter()
            .map(|name| {
                let var = data[name].clone();
                Ok(Param {
                    name: name.clone(),
                    m: var.zeros_like()?,
                    v: var.zeros_like()?,
                    decay: !(name.ends_with(".bias") || name.contains("LayerNorm")),
                    var,
                })
            })
            .collect::<Result<_>>()?;
        let mut adamw = Self {
            params,
            step: 0,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay,
            fused: true,
            all_at_once: false,
            sumsq: None,
        };
        let device = adamw.device();
        if let Err(e) = update::probe(&device) {
            eprintln!("warning: AdamW falls back to tensor ops (slower): {e}");
            adamw.fused = false;
        }
        #[cfg(feature = "cuda")]
        if let (true, candle_core::Device::Cuda(cuda)) = (adamw.fused, &device) {
            match update::cuda::probe_all(cuda) {
                Ok(()) => adamw.all_at_once = true,
                Err(e) => eprintln!("warning: AdamW updates one parameter at a time (slower): {e}"),
            }
        }
        Ok(adamw)
    }

    fn device(&self) -> candle_core::Device {
        self.params
            .first()
            .map(|p| p.var.device().clone())
            .unwrap_or(candle_core::Device::Cpu)
    }

    /// One update at learning rate `lr`, after scaling gradients to a global norm of at most
    /// `max_norm` ([`AdamW::last_norm`] tells the norm before clipping).
    pub fn step(&mut self, grads: &GradStore, lr: f64, max_norm: f64) -> Result<()> {
        self.step += 1;
        let t = self.step as i32;
        let (c1, c2) = (1.0 - self.beta1.powi(t), 1.0 - self.beta2.powi(t));
        #[cfg(feature = "cuda")]
        if self.all_at_once {
            let candle_core::Device::Cuda(cuda) = self.device() else {
                unreachable!("probed on a GPU")
            };
            let mut entries = Vec::with_capacity(self.params.len());
            for p in &self.params {
                let Some(g) = grads.get(p.var.as_tensor()) else {
                    continue;
                };
                same_shape(p.var.as_tensor(), g)?;
                entries.push(update::Entry {
                    grad: g.contiguous()?,
                    m: &p.m,
                    v: &p.v,
                    theta: p.var.as_tensor(),
                    decay: p.decay,
                });
            }
            let op = update::AllStep {
                max_norm: max_norm as f32,
                beta1: self.beta1 as f32,
                beta2: self.beta2 as f32,
                decay: (1.0 - lr * self.weight_decay) as f32,
                lr_c1: (lr / c1) as f32,
                inv_c2: (1.0 / c2) as f32,
                eps: self.eps as f32,
            };
            self.sumsq = Some(update::cuda::step_all(&cuda, &entries, &op)?);
            return Ok(());
        }
        let mut squares = Vec::new();
        for p in &self.params {
            if let Some(g) = grads.get(p.var.as_tensor()) {
                squares.push(g.sqr()?.sum_all()?);
            }
        }
        let sumsq = Tensor::stack(&squares, 0)?.sum_all()?;
        let norm = sumsq.to_scalar::<f32>()?.sqrt() as f64;
        self.sumsq = Some(sumsq);
        let scale = if max_norm > 0.0 && norm > max_norm {
            max_norm / (norm + 1e-6)
        } else {
            1.0
        };
        // Clipping folds into the moments' coefficients: (scale·g) and (scale·g)².
        let first = Moment {
            beta: self.beta1 as f32,
            coef: ((1.0 - self.beta1) * scale) as f32,
            square: false,
        };
        let second = Moment {
            beta: self.beta2 as f32,
            coef: ((1.0 - self.beta2) * scale * scale) as f32,
            square: true,
        };
        for p in &mut self.params {
            let Some(g) = grads.get(p.var.as_tensor()) else {
                continue;
            };
            let decay = if p.decay {
                1.0 - lr * self.weight_decay
            } else {
                1.0
            };
            if !self.fused {
                let g = (g * scale)?;
                p.m = ((&p.m * self.beta1)? + (&g * (1.0 - self.beta1))?)?;
                p.v = ((&p.v * self.beta2)? + (g.sqr()? * (1.0 - self.beta2))?)?;
                let update = ((&p.m / c1)? / ((&p.v / c2)?.sqrt()? + self.eps)?)?;
                p.var
                    .set(&((p.var.as_tensor() * decay)? - (update * lr)?)?)?;
                continue;
            }
            let g = g.contiguous()?;
            let theta = p.var.as_tensor();
            // The moments' shapes are checked where they are made or loaded.
            same_shape(theta, &g)?;
            p.m.inplace_op2(&g, &first)?;
            p.v.inplace_op2(&g, &second)?;
            let step = Step {
                decay: decay as f32,
                lr_c1: (lr / c1) as f32,
                inv_c2: (1.0 / c2) as f32,
                eps: self.eps as f32,
            };
            theta.inplace_op3(&p.m, &p.v, &step)?;
        }
        Ok(())
    }

    /// The gradients' global norm before clipping at the last step (0 before the first).
    pub fn last_norm(&self) -> Result<f64> {
        Ok(match &self.sumsq {
            Some(sumsq) => (sumsq.sum_all()?.to_scalar::<f32>()? as f64).sqrt(),
            None => 0.0,
        })
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        let mut tensors = HashMap::new();
        for p in &self.params {
            tensors.insert(format!("m.{}", p.name), p.m.clone());
            tensors.insert(format!("v.{}", p.name), p.v.clone());
        }
        candle_core::safetensors::save(&tensors, path)
            .with_context(|| format!("writing {}", path.display()))
    }

    pub fn load(&mut self, path: &Path, step: usize) -> Result<()> {
        let mut tensors = candle_core::safetensors::load(path, &self.device())
            .with_context(|| format!("reading optimiser state {}", path.display()))?;
        for p in &mut self.params {
            let missing = || format!("{}: no optimiser state for `{}`", path.display(), p.name);
            p.m = tensors
                .remove(&format!("m.{}", p.name))
                .with_context(missing)?;
            p.v = tensors
                .remove(&format!("v.{}", p.name))
                .with_context(missing)?;
            let theta = p.var.as_tensor();
            same_shape(theta, &p.m)
                .and_then(|()| same_shape(theta, &p.v))
                .with_context(|| format!("{}: optimiser state for `{}`", path.display(), p.name))?;
        }
        self.step = step;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_warms_up_then_decays_to_zero() {
        let s = Schedule {
            peak: 1.0,
            warmup_steps: 10,
            total_steps: 110,
        };
        assert!((s.at(0) - 0.1).abs() < 1e-9);
        assert!((s.at(9) - 1.0).abs() < 1e-9);
        assert!((s.at(60) - 0.5).abs() < 1e-9);
        assert_eq!(s.at(110), 0.0);
    }

    /// Two clipped steps with weight decay against AdamW written out in f64, by the in-place
    /// kernels and by the tensor-op fallback.
    #[test]
    fn both_update_paths_follow_the_adamw_formula() -> Result<()> {
        for fused in [true, false] {
            two_steps_against_the_formula(fused)?;
        }
        Ok(())
    }

    fn two_steps_against_the_formula(fused: bool) -> Result<()> {
        let device = candle_core::Device::Cpu;
        let mut varmap = VarMap::new();
        let init = [0.5f32, -1.0, 2.0, 0.0, 3.0, -0.25];
        let x = varmap.get(
            6,
            "w",
            candle_nn::Init::Const(0.0),
            candle_core::DType::F32,
            &device,
        )?;
        varmap.set_one("w", Tensor::new(&init, &device)?)?;
        let weights = Tensor::new(&[1.0f32, -2.0, 3.0, 0.5, -4.0, 2.5], &device)?;
        let mut opt = AdamW::new(&varmap, 0.1, &[])?;
        assert!(opt.fused, "the CPU runs the in-place kernels");
        opt.fused = fused;
        let (lr, max_norm) = (0.01, 1.0);
        let (mut theta, mut m, mut v) = (init.map(f64::from), [0.0f64; 6], [0.0f64; 6]);
        for t in 1..=2 {
            // loss = Σ wᵢ·xᵢ²: gradient 2·wᵢ·xᵢ, norm well above 1, so clipping applies.
            let grads = (x.sqr()? * &weights)?.sum_all()?.backward()?;
            opt.step(&grads, lr, max_norm)?;
            let g: Vec<f64> = theta
                .iter()
                .zip([1.0, -2.0, 3.0, 0.5, -4.0, 2.5])
                .map(|(x, w)| 2.0 * w * x)
                .collect();
            let norm = g.iter().map(|g| g * g).sum::<f64>().sqrt();
            let scale = if norm > max_norm {
                max_norm / (norm + 1e-6)
            } else {
                1.0
            };
            let (c1, c2) = (1.0 - 0.9f64.powi(t), 1.0 - 0.999f64.powi(t));
            for i in 0..6 {
                let g = g[i] * scale;
                m[i] = 0.9 * m[i] + 0.1 * g;
                v[i] = 0.999 * v[i] + 0.001 * g * g;
                theta[i] =
                    theta[i] * (1.0 - lr * 0.1) - lr * (m[i] / c1) / ((v[i] / c2).sqrt() + 1e-8);
            }
        }
        let got: Vec<f32> = x.to_vec1()?;
        for (got, want) in got.iter().zip(theta) {
            assert!(
                (*got as f64 - want).abs() < 1e-6,
                "fused {fused}: {got} vs {want}"
            );
        }
        Ok(())
    }

    #[test]
    fn adamw_moves_a_parameter_downhill_and_clips() -> Result<()> {
        let varmap = VarMap::new();
        let x = varmap.get(
            2,
            "w",
            candle_nn::Init::Const(1.0),
            candle_core::DType::F32,
            &candle_core::Device::Cpu,
        )?;
        let mut opt = AdamW::new(&varmap, 0.0, &[])?;
        let loss = (x.sqr()? * 100.0)?.sum_all()?;
        opt.step(&loss.backward()?, 0.1, 1.0)?;
        let norm = opt.last_norm()?;
        assert!(norm > 100.0, "norm {norm}");
        let after: Vec<f32> = varmap.all_vars()[0].to_vec1()?;
        // Adam's first step moves each weight by about lr, whatever the gradient's scale.
        assert!(after.iter().all(|v| (v - 0.9).abs() < 1e-3), "{after:?}");
        Ok(())
    }
}
