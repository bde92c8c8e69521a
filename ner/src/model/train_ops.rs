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

/// Compares each op with its primitive version on `device`, values and gradients. A trainer runs it
/// before using the ops, so a kernel that miscomputes on some GPU is caught, not trained with.
pub fn check(device: &candle_core::Device) -> candle_core::Result<()> {
    check_layer_norm(device)?;
    check_softmax(device)?;
    check_dropout(device)
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

/// Max relative difference, checked against a bound that a wrong formula or index far exceeds.
fn agree(what: &str, a: &[f32], b: &[f32]) -> candle_core::Result<()> {
    let worst = a
        .iter()
        .zip(b)
        .map(|(a, b)| (a - b).abs() / (1.0 + b.abs()))
        .fold(0.0f32, f32::max);
    // f32::max passes over NaN, so non-finite values are looked for on their own.
    let non_finite = a.iter().any(|x| !x.is_finite());
    if a.len() != b.len() || non_finite || worst >= 1e-4 {
        candle_core::bail!("{what} differs from the primitive ops by {worst}");
    }
    Ok(())
}

/// Runs `op` on a variable made from `x`, then the backward pass of `Σ op(x)·probe`; returns the
/// output and the gradient of `x`, flattened.
fn value_and_grad(
    x: &Tensor,
    probe: &Tensor,
    op: impl Fn(&Tensor) -> candle_core::Result<Tensor>,
) -> candle_core::Result<[Vec<f32>; 2]> {
    let var = candle_core::Var::from_tensor(x)?;
    let y = op(var.as_tensor())?;
    let grads = (&y * probe)?.sum_all()?.backward()?;
    let g = grads
        .get(var.as_tensor())
        .ok_or_else(|| candle_core::Error::Msg("no gradient".into()))?;
    Ok([y.flatten_all()?.to_vec1()?, g.flatten_all()?.to_vec1()?])
}

fn randn(
    shape: (usize, usize, usize),
    device: &candle_core::Device,
) -> candle_core::Result<Tensor> {
    Tensor::randn(0f32, 1f32, shape, &candle_core::Device::Cpu)?.to_device(device)
}

fn check_softmax(device: &candle_core::Device) -> candle_core::Result<()> {
    for shape in [(2, 5, 37), (1, 3, 130)] {
        let (x, probe) = ((randn(shape, device)? * 4.0)?, randn(shape, device)?);
        let fused = value_and_grad(&x, &probe, softmax_last_dim)?;
        let reference = value_and_grad(&x, &probe, |x| candle_nn::ops::softmax(x, D::Minus1))?;
        agree(
            &format!("fused softmax {shape:?}: output"),
            &fused[0],
            &reference[0],
        )?;
        agree(
            &format!("fused softmax {shape:?}: gradient"),
            &fused[1],
            &reference[1],
        )?;
    }
    Ok(())
}

fn check_dropout(device: &candle_core::Device) -> candle_core::Result<()> {
    let p = 0.25f32;
    let shape = (3, 7, 50);
    let (x, probe) = (randn(shape, device)?, randn(shape, device)?);
    let uniform = Tensor::rand(0f32, 1f32, shape, &candle_core::Device::Cpu)?.to_device(device)?;
    let fused = value_and_grad(&x, &probe, |x| dropout(x, &uniform, p))?;
    let mask = (uniform.ge(p as f64)?.to_dtype(candle_core::DType::F32)? / (1.0 - p as f64))?;
    let reference = value_and_grad(&x, &probe, |x| x * &mask)?;
    agree("fused dropout: output", &fused[0], &reference[0])?;
    agree("fused dropout: gradient", &fused[1], &reference[1])
}

fn check_layer_norm(device: &candle_core::Device) -> candle_core::Result<()> {
    for (rows, h) in [(7usize, 384usize), (3, 45)] {
        let x = (Tensor::randn(0f32, 1f32, (rows, h), &candle_core::Device::Cpu)? * 3.0)?
            .to_device(device)?;
        let w = Tensor::randn(1f32, 0.2f32, h, &candle_core::Device::Cpu)?.to_device(device)?;
        let b = Tensor::randn(0f32, 0.2f32, h, &candle_core::Device::Cpu)?.to_device(device)?;
        let probe =
            Tensor::randn(0f32, 1f32, (rows, h), &candle_core::Device::Cpu)?.to_device(device)?;
        let run = |fused: bool| -> candle_core::Result<Vec<Vec<f32>>> {
            let (xv, wv, bv) = (
                candle_core::Var::from_tensor(&x)?,
                candle_core::Var::from_tensor(&w)?,
                candle_core::Var::from_tensor(&b)?,
            );
            let norm = if fused {
                layer_norm
            } else {
                primitive_layer_norm
            };
            let y = norm(xv.as_tensor(), wv.as_tensor(), bv.as_tensor(), 1e-12)?;
            let grads = (&y * &probe)?.sum_all()?.backward()?;
            let mut out = vec![y.flatten_all()?.to_vec1()?];
            for v in [&xv, &wv, &bv] {
                let g = grads
                    .get(v.as_tensor())
                    .ok_or_else(|| candle_core::Error::Msg("layer norm: no gradient".into()))?;
                out.push(g.flatten_all()?.to_vec1()?);
            }
            Ok(out)
        };
        let (fused, reference) = (run(true)?, run(false)?);
        for (what, (a, b)) in [
            "output",
            "input gradient",
            "weight gradient",
            "bias gradient",
        ]
        .iter()
        .zip(fused.iter().zip(&reference))
        {
            agree(&format!("fused layer norm ({rows}×{h}): {what}"), a, b)?;
        }
    }
    Ok(())
}

#[cfg(feature = "cuda")]
mod cuda {
    use std::sync::OnceLock;

    use candle_core::backend::BackendStorage;
    use candle_core::cuda_backend::cudarc::driver::{LaunchConfig, PushKernelArg};
    use candle_core::cuda_backend::cudarc::nvrtc;
    use candle_core::cuda_backend::WrapErr;
    use candle_core::{CudaStorage, Layout, Result, Shape};

    // One warp per row: lanes stride over the row's columns and reduce with shuffles.
    const SOURCE: &str = r#"
__device__ float medlight_warp_sum(float x) {
    for (int offset = 16; offset > 0; offset >>= 1) x += __shfl_xor_sync(0xffffffffu, x, offset);
    return x;
}

extern "C" __global__ void medlight_ln_fwd(const float* x, const float* w, const float* b, float* y,
                                           unsigned int rows, unsigned int h, float eps, int affine) {
    unsigned int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    unsigned int lane = threadIdx.x & 31;
    if (row >= rows) return;
    const float* xr = x + (unsigned long long)row * h;
    float* yr = y + (unsigned long long)row * h;
    float s = 0.0f;
    for (unsigned int c = lane; c < h; c += 32) s += xr[c];
    float mean = medlight_warp_sum(s) / h;
    float q = 0.0f;
    for (unsigned int c = lane; c < h; c += 32) { float d = xr[c] - mean; q += d * d; }
    float rstd = 1.0f / sqrtf(medlight_warp_sum(q) / h + eps);
    for (unsigned int c = lane; c < h; c += 32) {
        float n = (xr[c] - mean) * rstd;
        yr[c] = affine ? n * w[c] + b[c] : n;
    }
}

extern "C" __global__ void medlight_ln_bwd(const float* x, const float* w, const float* dy, float* dx,
                                           unsigned int rows, unsigned int h, float eps) {
    unsigned int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    unsigned int lane = threadIdx.x & 31;
    if (row >= rows) return;
    const float* xr = x + (unsigned long long)row * h;
    const float* dyr = dy + (unsigned long long)row * h;
    float* dxr = dx + (unsigned long long)row * h;
    float s = 0.0f;
    for (unsigned int c = lane; c < h; c += 32) s += xr[c];
    float mean = medlight_warp_sum(s) / h;
    float q = 0.0f;
    for (unsigned int c = lane; c < h; c += 32) { float d = xr[c] - mean; q += d * d; }
    float rstd = 1.0f / sqrtf(medlight_warp_sum(q) / h + eps);
    float gs = 0.0f, gxs = 0.0f;
    for (unsigned int c = lane; c < h; c += 32) {
        float g = dyr[c] * w[c];
        gs += g;
        gxs += g * (xr[c] - mean) * rstd;
    }
    float g_mean = medlight_warp_sum(gs) / h;
    float gx_mean = medlight_warp_sum(gxs) / h;
    for (unsigned int c = lane; c < h; c += 32) {
        dxr[c] = rstd * (dyr[c] * w[c] - g_mean - (xr[c] - mean) * rstd * gx_mean);
    }
}

extern "C" __global__ void medlight_dropout(const float* x, const float* u, float* y, float p, float keep,
                                            unsigned int n) {
    unsigned int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = u[i] >= p ? x[i] * keep : 0.0f;
}
"#;
    const MODULE: &str = "medlight_train_ops";
    const ROWS_PER_BLOCK: u32 = 8;

    fn ptx() -> Result<&'static str> {
        static PTX: OnceLock<std::result::Result<String, String>> = OnceLock::new();
        PTX.get_or_init(|| {
            nvrtc::compile_ptx(SOURCE)
                .map(|p| p.to_src())
                .map_err(|e| e.to_string())
        })
        .as_deref()
        .map_err(|e| {
            candle_core::Error::Msg(format!("compiling the training kernels with NVRTC: {e}"))
        })
    }

    fn range(l: &Layout) -> Result<(usize, usize)> {
        l.contiguous_offsets().ok_or_else(|| {
            candle_core::Error::Msg("layer norm: operands must be contiguous".into())
        })
    }

    fn config(rows: usize) -> LaunchConfig {
        LaunchConfig {
            grid_dim: ((rows as u32).div_ceil(ROWS_PER_BLOCK), 1, 1),
            block_dim: (32 * ROWS_PER_BLOCK, 1, 1),
            shared_mem_bytes: 0,
        }
    }

    type Operand<'a> = (&'a CudaStorage, &'a Layout);

    /// Normalises the rows of `x`, then scales and shifts by `affine`'s (weight, bias) if given.
    pub fn forward(
        eps: f32,
        (sx, lx): Operand,
        affine: Option<(Operand, Operand)>,
    ) -> Result<(CudaStorage, Shape)> {
        let h = *lx
            .dims()
            .last()
            .expect("a layer norm input has a last dimension");
        let (a, b) = range(lx)?;
        let rows = (b - a) / h;
        let device = sx.device().clone();
        let x = sx.as_cuda_slice::<f32>()?.slice(a..b);
        // SAFETY: every element is written by the kernel before it is read.
        let mut y = unsafe { device.alloc::<f32>(b - a) }?;
        let func = device.get_or_load_custom_func("medlight_ln_fwd", MODULE, ptx()?)?;
        let (rows32, h32, flag) = (rows as u32, h as u32, affine.is_some() as i32);
        match affine {
            Some(((sw, lw), (sb, lb))) => {
                let ((c, d), (e, f)) = (range(lw)?, range(lb)?);
                if d - c != h || f - e != h {
                    candle_core::bail!(
                        "layer norm: weight and bias must have the input's last dimension {h}"
                    );
                }
                let w = sw.as_cuda_slice::<f32>()?.slice(c..d);
                let bias = sb.as_cuda_slice::<f32>()?.slice(e..f);
                let mut builder = func.builder();
                builder
                    .arg(&x)
                    .arg(&w)
                    .arg(&bias)
                    .arg(&mut y)
                    .arg(&rows32)
                    .arg(&h32)
                    .arg(&eps)
                    .arg(&flag);
                // SAFETY: arguments match the kernel's signature; rows·h elements in x and y, h in w and b.
                unsafe { builder.launch(config(rows)) }.w()?;
            }
            None => {
                let mut builder = func.builder();
                // Without the affine step the kernel never reads w or b; x stands in for them.
                builder
                    .arg(&x)
                    .arg(&x)
                    .arg(&x)
                    .arg(&mut y)
                    .arg(&rows32)
                    .arg(&h32)
                    .arg(&eps)
                    .arg(&flag);
                // SAFETY: as above.
                unsafe { builder.launch(config(rows)) }.w()?;
            }
        }
        Ok((CudaStorage::wrap_cuda_slice(y, device), lx.shape().clone()))
    }

    pub fn input_grad(
        eps: f32,
        (sx, lx): Operand,
        (sw, lw): Operand,
        (sd, ld): Operand,
    ) -> Result<(CudaStorage, Shape)> {
        let h = lw.shape().dims1()?;
        let ((a, b), (c, d), (e, f)) = (range(lx)?, range(lw)?, range(ld)?);
        if f - e != b - a {
            candle_core::bail!(
                "layer norm backward: the gradient has {} elements, the input {}",
                f - e,
                b - a
            );
        }
        let rows = (b - a) / h;
        let device = sx.device().clone();
        let x = sx.as_cuda_slice::<f32>()?.slice(a..b);
        let w = sw.as_cuda_slice::<f32>()?.slice(c..d);
        let dy = sd.as_cuda_slice::<f32>()?.slice(e..f);
        // SAFETY: every element is written by the kernel before it is read.
        let mut dx = unsafe { device.alloc::<f32>(b - a) }?;
        let func = device.get_or_load_custom_func("medlight_ln_bwd", MODULE, ptx()?)?;
        let (rows32, h32) = (rows as u32, h as u32);
        let mut builder = func.builder();
        builder
            .arg(&x)
            .arg(&w)
            .arg(&dy)
            .arg(&mut dx)
            .arg(&rows32)
            .arg(&h32)
            .arg(&eps);
        // SAFETY: arguments match the kernel's signature; rows·h elements in x, dy and dx, h in w.
        unsafe { builder.launch(config(rows)) }.w()?;
        Ok((CudaStorage::wrap_cuda_slice(dx, device), lx.shape().clone()))
    }

    pub fn dropout(p: f32, (sx, lx): Operand, (su, lu): Operand) -> Result<(CudaStorage, Shape)> {
        let ((a, b), (c, d)) = (range(lx)?, range(lu)?);
        if d - c != b - a {
            candle_core::bail!("dropout: {} draws for {} elements", d - c, b - a);
        }
        let n = (b - a) as u32;
        let device = sx.device().clone();
        let x = sx.as_cuda_slice::<f32>()?.slice(a..b);
        let u = su.as_cuda_slice::<f32>()?.slice(c..d);
        // SAFETY: every element is written by the kernel before it is read.
        let mut y = unsafe { device.alloc::<f32>(b - a) }?;
        let func = device.get_or_load_custom_func("medlight_dropout", MODULE, ptx()?)?;
        let keep = 1.0 / (1.0 - p);
        let mut builder = func.builder();
        builder
            .arg(&x)
            .arg(&u)
            .arg(&mut y)
            .arg(&p)
            .arg(&keep)
            .arg(&n);
        // SAFETY: arguments match the kernel's signature; n elements in x, u and y.
        unsafe { builder.launch(LaunchConfig::for_num_elems(n)) }.w()?;
        Ok((CudaStorage::wrap_cuda_slice(y, device), lx.shape().clone()))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_training_ops_match_the_primitive_ops_with_gradients() {
        super::check(&candle_core::Device::Cpu).unwrap();
    }
}
