//! Ops for training on a GPU, each with its gradient, in fewer kernels than the primitive ops they
//! replace: on a GPU a step of this small model is bound by kernel launches, not arithmetic.
//! - Layer norm: 9 launches forward and ~30 backward as primitive ops (13 per step); here 1
//!   forward, 5 backward.
//! - Softmax: candle's fused kernel forward (it has no gradient) plus a copy that carries the
//!   gradient, 4 ops backward; the primitive version is 5 forward and ~10 backward.
//! - Dropout: one kernel applies the mask from uniform draws, forward and backward; the tensor-op
//!   version takes 4 more launches.
//!
//! The CPU versions exist to test the arithmetic and its wiring into autograd against the
//! primitive versions; CPU training keeps the primitive ops, whose results the shipped model was
//! trained with.

use candle_core::{CpuStorage, CustomOp1, CustomOp2, CustomOp3, Layout, Shape, Tensor, D};

use super::contiguous_f32;

mod check;
#[cfg(feature = "cuda")]
mod cuda;

pub use check::check;

/// `(x − mean)/√(var + ε)·w + b` over the last dimension of `x`.
pub fn layer_norm(
    x: &Tensor,
    weight: &Tensor,
    bias: &Tensor,
    eps: f64,
) -> candle_core::Result<Tensor> {
    x.contiguous()?
        .apply_op3(weight, bias, LayerNorm { eps: eps as f32 })
}

/// Per row: its mean and `1/√(var + ε)`.
fn moments(row: &[f32], eps: f32) -> (f32, f32) {
    let n = row.len() as f32;
    let mean = row.iter().sum::<f32>() / n;
    let var = row.iter().map(|x| (x - mean) * (x - mean)).sum::<f32>() / n;
    (mean, 1.0 / (var + eps).sqrt())
}

fn width(weight: &Layout) -> candle_core::Result<usize> {
    weight.shape().dims1()
}

struct LayerNorm {
    eps: f32,
}

impl CustomOp3 for LayerNorm {
    fn name(&self) -> &'static str {
        "medlight-layer-norm"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (x, w, b) = (
            contiguous_f32(self.name(), s1, l1)?,
            contiguous_f32(self.name(), s2, l2)?,
            contiguous_f32(self.name(), s3, l3)?,
        );
        let h = width(l2)?;
        let mut y = Vec::with_capacity(x.len());
        for row in x.chunks(h) {
            let (mean, rstd) = moments(row, self.eps);
            y.extend(
                row.iter()
                    .zip(w)
                    .zip(b)
                    .map(|((x, w), b)| (x - mean) * rstd * w + b),
            );
        }
        Ok((CpuStorage::F32(y), l1.shape().clone()))
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        s1: &candle_core::CudaStorage,
        l1: &Layout,
        s2: &candle_core::CudaStorage,
        l2: &Layout,
        s3: &candle_core::CudaStorage,
        l3: &Layout,
    ) -> candle_core::Result<(candle_core::CudaStorage, Shape)> {
        cuda::forward(self.eps, (s1, l1), Some(((s2, l2), (s3, l3))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        weight: &Tensor,
        _bias: &Tensor,
        _y: &Tensor,
        dy: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let h = weight.dim(0)?;
        let dy = dy.contiguous()?;
        let dx = x.apply_op3_no_bwd(weight, &dy, &InputGrad { eps: self.eps })?;
        let normed = x.apply_op1_no_bwd(&Normalize { eps: self.eps })?;
        let dy = dy.reshape(((), h))?;
        let dw = (&dy * normed.reshape(((), h))?)?.sum(0)?;
        let db = dy.sum(0)?;
        Ok((Some(dx), Some(dw), Some(db)))
    }
}

/// `x̂ = (x − mean)/√(var + ε)` per row of width `h` (the last dimension of the input).
struct Normalize {
    eps: f32,
}

impl CustomOp1 for Normalize {
    fn name(&self) -> &'static str {
        "medlight-normalize"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = contiguous_f32(self.name(), s, l)?;
        let h = *l
            .dims()
            .last()
            .expect("a layer norm input has a last dimension");
        let mut y = Vec::with_capacity(x.len());
        for row in x.chunks(h) {
            let (mean, rstd) = moments(row, self.eps);
            y.extend(row.iter().map(|x| (x - mean) * rstd));
        }
        Ok((CpuStorage::F32(y), l.shape().clone()))
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        s: &candle_core::CudaStorage,
        l: &Layout,
    ) -> candle_core::Result<(candle_core::CudaStorage, Shape)> {
        cuda::forward(self.eps, (s, l), None)
    }
}

/// `dx = r·(g − mean(g) − x̂·mean(g·x̂))` with `g = dy·w` and `r = 1/√(var + ε)`, per row.
struct InputGrad {
    eps: f32,
}

impl CustomOp3 for InputGrad {
    fn name(&self) -> &'static str {
        "medlight-layer-norm-grad"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (x, w, dy) = (
            contiguous_f32(self.name(), s1, l1)?,
            contiguous_f32(self.name(), s2, l2)?,
            contiguous_f32(self.name(), s3, l3)?,
        );
        let h = width(l2)?;
        let mut dx = Vec::with_capacity(x.len());
        for (row, dy) in x.chunks(h).zip(dy.chunks(h)) {
            let (mean, rstd) = moments(row, self.eps);
            let (mut g_mean, mut gx_mean) = (0.0f32, 0.0f32);
            for ((x, dy), w) in row.iter().zip(dy).zip(w) {
                let g = dy * w;
                g_mean += g;
                gx_mean += g * (x - mean) * rstd;
            }
            let (g_mean, gx_mean) = (g_mean / h as f32, gx_mean / h as f32);
            dx.extend(
                row.iter()
                    .zip(dy)
                    .zip(w)
                    .map(|((x, dy), w)| rstd * (dy * w - g_mean - (x - mean) * rstd * gx_mean)),
            );
        }
        Ok((CpuStorage::F32(dx), l1.shape().clone()))
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        s1: &candle_core::CudaStorage,
        l1: &Layout,
        s2: &candle_core::CudaStorage,
        l2: &Layout,
        s3: &candle_core::CudaStorage,
        l3: &Layout,
    ) -> candle_core::Result<(candle_core::CudaStorage, Shape)> {
        cuda::input_grad(self.eps, (s1, l1), (s2, l2), (s3, l3))
    }
}

/// Layer norm built from primitive ops, the reference the fused op is checked against.
pub fn primitive_layer_norm(
    x: &Tensor,
    weight: &Tensor,
    bias: &Tensor,
    eps: f64,
) -> candle_core::Result<Tensor> {
    use candle_core::D;
    let mean = x.mean_keepdim(D::Minus1)?;
    let centred = x.broadcast_sub(&mean)?;
    let variance = centred.sqr()?.mean_keepdim(D::Minus1)?;
    let normed = centred.broadcast_div(&(variance + eps)?.sqrt()?)?;
    normed.broadcast_mul(weight)?.broadcast_add(bias)
}

/// Softmax over the last dimension, differentiable, with candle's fused forward kernel.
pub fn softmax_last_dim(x: &Tensor) -> candle_core::Result<Tensor> {
    let probs = candle_nn::ops::softmax_last_dim(&x.detach())?;
    x.apply_op2(&probs, SoftmaxGrad)
}

/// Returns a copy of its second operand (the softmax of the first) and gives the first the
/// softmax's gradient: `p·(dy − Σ dy·p)` over the last dimension.
struct SoftmaxGrad;

impl CustomOp2 for SoftmaxGrad {
    fn name(&self) -> &'static str {
        "medlight-softmax-grad"
    }

    fn cpu_fwd(
        &self,
        _: &CpuStorage,
        _: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let probs = contiguous_f32(self.name(), s2, l2)?;
        Ok((CpuStorage::F32(probs.to_vec()), l2.shape().clone()))
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        _: &candle_core::CudaStorage,
        _: &Layout,
        s2: &candle_core::CudaStorage,
        l2: &Layout,
    ) -> candle_core::Result<(candle_core::CudaStorage, Shape)> {
        use candle_core::backend::BackendStorage;
        if l2.contiguous_offsets() != Some((0, l2.shape().elem_count())) {
            candle_core::bail!(
                "{}: the probabilities must be a whole contiguous tensor",
                self.name()
            );
        }
        Ok((s2.try_clone(l2)?, l2.shape().clone()))
    }

    fn bwd(
        &self,
        _: &Tensor,
        probs: &Tensor,
        _: &Tensor,
        dy: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let dot = (dy * probs)?.sum_keepdim(D::Minus1)?;
        Ok((Some((probs * dy.broadcast_sub(&dot)?)?), None))
    }
}

/// `x·[u ≥ p]/(1 − p)`: dropout with the uniform draws `u` (same shape as `x`) made by the caller.
pub fn dropout(x: &Tensor, uniform: &Tensor, p: f32) -> candle_core::Result<Tensor> {
    x.contiguous()?
        .apply_op2(&uniform.contiguous()?, DropMask { p })
}

struct DropMask {
    p: f32,
}

impl CustomOp2 for DropMask {
    fn name(&self) -> &'static str {
        "medlight-dropout"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (x, u) = (
            contiguous_f32(self.name(), s1, l1)?,
            contiguous_f32(self.name(), s2, l2)?,
        );
        if x.len() != u.len() {
            candle_core::bail!(
                "{}: {} draws for {} elements",
                self.name(),
                u.len(),
                x.len()
            );
        }
        let keep = 1.0 / (1.0 - self.p);
        let y = x
            .iter()
            .zip(u)
            .map(|(x, u)| if *u >= self.p { x * keep } else { 0.0 })
            .collect();
        Ok((CpuStorage::F32(y), l1.shape().clone()))
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        s1: &candle_core::CudaStorage,
        l1: &Layout,
        s2: &candle_core::CudaStorage,
        l2: &Layout,
    ) -> candle_core::Result<(candle_core::CudaStorage, Shape)> {
        cuda::dropout(self.p, (s1, l1), (s2, l2))
    }

    fn bwd(
        &self,
        _: &Tensor,
        uniform: &Tensor,
        _: &Tensor,
        dy: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        Ok((
            Some(dy.contiguous()?.apply_op2_no_bwd(uniform, self)?),
            None,
        ))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_training_ops_match_the_primitive_ops_with_gradients() {
        super::check(&candle_core::Device::Cpu).unwrap();
    }
}
