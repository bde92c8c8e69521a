//! AdamW's element-wise work as three in-place passes per parameter (first moment, second moment,
//! weight), on the CPU as plain loops and on a GPU as kernels compiled once with NVRTC.
//!
//! Why: written with tensor ops, one update took 17 ops per parameter, each allocating a tensor,
//! reading and writing the whole parameter; for this model that is ~1,700 kernel launches a step on
//! a GPU and 17 passes over 11M floats on a CPU.

use candle_core::{CpuStorage, InplaceOp2, InplaceOp3, Layout, Result, Tensor};

/// `m ← β·m + c·g` (or `c·g²` with `square`): one moment estimate, gradient scale folded into `c`.
pub struct Moment {
    pub beta: f32,
    pub coef: f32,
    pub square: bool,
}

/// `θ ← θ·decay − lr_c1·m / (√(v·inv_c2) + ε)`: the bias-corrected step with decoupled decay.
pub struct Step {
    pub decay: f32,
    pub lr_c1: f32,
    pub inv_c2: f32,
    pub eps: f32,
}

/// The element range of a contiguous operand.
fn offsets(layout: &Layout, op: &str) -> Result<(usize, usize)> {
    layout
        .contiguous_offsets()
        .ok_or_else(|| candle_core::Error::Msg(format!("{op}: operands must be contiguous")))
}

fn contiguous<'a>(storage: &'a CpuStorage, layout: &Layout, op: &str) -> Result<&'a [f32]> {
    let (start, end) = offsets(layout, op)?;
    Ok(&storage.as_slice::<f32>()?[start..end])
}

fn contiguous_mut<'a>(
    storage: &'a mut CpuStorage,
    layout: &Layout,
    op: &str,
) -> Result<&'a mut [f32]> {
    let (start, end) = offsets(layout, op)?;
    match storage {
        CpuStorage::F32(data) => Ok(&mut data[start..end]),
        _ => Err(candle_core::Error::Msg(format!("{op}: f32 tensors only"))),
    }
}

impl InplaceOp2 for Moment {
    fn name(&self) -> &'static str {
        "adamw-moment"
    }

    fn cpu_fwd(
        &self,
        s1: &mut CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<()> {
        let g = contiguous(s2, l2, self.name())?;
        let m = contiguous_mut(s1, l1, self.name())?;
        let (beta, coef) = (self.beta, self.coef);
        if self.square {
            m.iter_mut()
                .zip(g)
                .for_each(|(m, &g)| *m = beta * *m + coef * (g * g));
        } else {
            m.iter_mut()
                .zip(g)
                .for_each(|(m, &g)| *m = beta * *m + coef * g);
        }
        Ok(())
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        s1: &mut candle_core::CudaStorage,
        l1: &Layout,
        s2: &candle_core::CudaStorage,
        l2: &Layout,
    ) -> Result<()> {
        cuda::moment(self, s1, l1, s2, l2)
    }
}

impl InplaceOp3 for Step {
    fn name(&self) -> &'static str {
        "adamw-step"
    }

    fn cpu_fwd(
        &self,
        s1: &mut CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<()> {
        let (m, v) = (
            contiguous(s2, l2, self.name())?,
            contiguous(s3, l3, self.name())?,
        );
        let theta = contiguous_mut(s1, l1, self.name())?;
        for ((t, &m), &v) in theta.iter_mut().zip(m).zip(v) {
            *t = *t * self.decay - self.lr_c1 * m / ((v * self.inv_c2).sqrt() + self.eps);
        }
        Ok(())
    }

    #[cfg(feature = "cuda")]
    fn cuda_fwd(
        &self,
        s1: &mut candle_core::CudaStorage,
        l1: &Layout,
        s2: &candle_core::CudaStorage,
        l2: &Layout,
        s3: &candle_core::CudaStorage,
        l3: &Layout,
    ) -> Result<()> {
        cuda::step(self, s1, l1, s2, l2, s3, l3)
    }
}

/// Runs both passes once on a one-element tensor of `device`: on a GPU this compiles and loads the
/// kernels, so a missing NVRTC shows here rather than halfway through an update.
pub fn probe(device: &candle_core::Device) -> Result<()> {
    let one = Tensor::ones(1, candle_core::DType::F32, device)?;
    let (m, v, theta) = (one.zeros_like()?, one.zeros_like()?, one.zeros_like()?);
    m.inplace_op2(
        &one,
        &Moment {
            beta: 0.5,
            coef: 1.0,
            square: false,
        },
    )?;
    v.inplace_op2(
        &one,
        &Moment {
            beta: 0.5,
            coef: 1.0,
            square: true,
        },
    )?;
    theta.inplace_op3(
        &m,
        &v,
        &Step {
            decay: 1.0,
            lr_c1: 1.0,
            inv_c2: 1.0,
            eps: 0.0,
        },
    )?;
    let got = theta.to_vec1::<f32>()?[0];
    if got != -1.0 {
        candle_core::bail!("the fused AdamW update gave {got} where -1 was expected");
    }
    Ok(())
}

/// Checks shapes before an in-place pass (the ops themselves see only storage).
pub fn same_shape(a: &Tensor, b: &Tensor) -> Result<()> {
    if a.shape() != b.shape() {
        candle_core::bail!("AdamW: shape {:?} against {:?}", a.shape(), b.shape());
    }
    Ok(())
}

#[cfg(feature = "cuda")]
pub mod cuda {
    use candle_core::backend::BackendStorage;
    use candle_core::cuda_backend::cudarc::driver::{
        CudaStream, DevicePtr, LaunchConfig, PushKernelArg,
    };
    use candle_core::cuda_backend::WrapErr;
    use candle_core::{CudaDevice, CudaStorage, DType, Device, Layout, Result, Storage, Tensor};
    use medlight_ner::model::cuda_kernels::Kernels;

    use super::{offsets, Moment, Step};

    static KERNELS: Kernels = Kernels::new("AdamW", "medlight_adamw", include_str!("adamw.cu"));

    pub fn moment(
        op: &Moment,
        s1: &mut CudaStorage,
        l1: &Layout,
        s2: &CudaStorage,
        l2: &Layout,
    ) -> Result<()> {
        let ((a, b), (c, d)) = (offsets(l1, "adamw-moment")?, offsets(l2, "adamw-moment")?);
        let n = (b - a) as u32;
        let [func] = KERNELS.load(s1.device(), ["medlight_adamw_moment"])?;
        let g = s2.as_cuda_slice::<f32>()?.slice(c..d);
        let mut m = s1.as_cuda_slice_mut::<f32>()?.slice_mut(a..b);
        let square = op.square as i32;
        let mut builder = func.builder();
        builder
            .arg(&mut m)
            .arg(&g)
            .arg(&op.beta)
            .arg(&op.coef)
            .arg(&square)
            .arg(&n);
        // SAFETY: the kernel's arguments match its signature; every index is bounds-checked.
        unsafe { builder.launch(LaunchConfig::for_num_elems(n)) }.w()?;
        Ok(())
    }

    pub fn step(
        op: &Step,
        s1: &mut CudaStorage,
        l1: &Layout,
        s2: &CudaStorage,
        l2: &Layout,
        s3: &CudaStorage,
        l3: &Layout,
    ) -> Result<()> {
        let ((a, b), (c, d), (e, f)) = (
            offsets(l1, "adamw-step")?,
            offsets(l2, "adamw-step")?,
            offsets(l3, "adamw-step")?,
        );
        let n = (b - a) as u32;
        let [func] = KERNELS.load(s1.device(), ["medlight_adamw_step"])?;
        let m = s2.as_cuda_slice::<f32>()?.slice(c..d);
        let v = s3.as_cuda_slice::<f32>()?.slice(e..f);
        let mut theta = s1.as_cuda_slice_mut::<f32>()?.slice_mut(a..b);
        let mut builder = func.builder();
        builder
            .arg(&mut theta)
            .arg(&m)
            .arg(&v)
            .arg(&op.decay)
            .arg(&op.lr_c1)
            .arg(&op.inv_c2)
            .arg(&op.eps)
            .arg(&n);
        // SAFETY: as above.
        unsafe { builder.launch(LaunchConfig::for_num_elems(n)) }.w()?;
        Ok(())
    }

    /// Entry width of the kernels' table (ENTRY in the source).
    const ENTRY: usize = 6;
    /// Blocks striding over each parameter; the largest (1,536 × 384) then takes ~36 loop turns
    /// per thread.
    const BLOCKS_PER_PARAM: u32 = 64;

    /// The address of a contiguous f32 tensor's first element.
    fn address(t: &Tensor, stream: &CudaStream) -> Result<u64> {
        let (storage, layout) = t.storage_and_layout();
        let Storage::Cuda(storage) = &*storage else {
            candle_core::bail!("AdamW: a tensor is not on the GPU")
        };
        let (start, _) = offsets(layout, "adamw-all")?;
        let (ptr, _sync) = storage.as_cuda_slice::<f32>()?.device_ptr(stream);
        Ok(ptr + (start * std::mem::size_of::<f32>()) as u64)
    }

    /// The whole update in two kernel launches and one small upload, whatever the number of
    /// parameters: the gradients' squared norm summed on the GPU, then every moment and weight
    /// updated with the clipping scale computed there. Returns the squared norm, still on the GPU
    /// (reading it would wait for the step).
    pub fn step_all(
        device: &CudaDevice,
        entries: &[super::Entry],
        op: &super::AllStep,
    ) -> Result<Tensor> {
        let stream = device.cuda_stream();
        let mut table = Vec::with_capacity(entries.len() * ENTRY);
        for e in entries {
            let n = e.theta.elem_count();
            if e.grad.elem_count() != n || e.m.elem_count() != n || e.v.elem_count() != n {
                candle_core::bail!(
                    "AdamW: a gradient or moment does not match its weight's {n} elements"
                );
            }
            for t in [&e.grad, e.m, e.v, e.theta] {
                table.push(address(t, &stream)?);
            }
            table.extend([n as u64, e.decay as u64]);
        }
        let table = stream.clone_htod(&table).w()?;
        let sumsq = Tensor::zeros(1, DType::F32, &Device::Cuda(device.clone()))?;
        let sumsq_at = address(&sumsq, &stream)?;
        let config = LaunchConfig {
            grid_dim: (BLOCKS_PER_PARAM, entries.len() as u32, 1),
            block_dim: (256, 1, 1),
            shared_mem_bytes: 0,
        };
        let [sumsq_func, update_func] =
            KERNELS.load(device, ["medlight_grad_sumsq", "medlight_adamw_all"])?;
        let mut builder = sumsq_func.builder();
        builder.arg(&table).arg(&sumsq_at);
        // SAFETY: the table's addresses are live contiguous f32 buffers of the lengths it states
        // (the tensors outlive this call and the stream orders their frees after the kernels).
        unsafe { builder.launch(config) }.w()?;
        let mut builder = update_func.builder();
        builder
            .arg(&table)
            .arg(&sumsq_at)
            .arg(&op.max_norm)
            .arg(&op.beta1)
            .arg(&op.beta2)
            .arg(&op.decay)
            .arg(&op.lr_c1)
            .arg(&op.inv_c2)
            .arg(&op.eps);
        // SAFETY: as above; each parameter's buffers are distinct, so no element is written twice.
        unsafe { builder.launch(config) }.w()?;
        Ok(sumsq)
    }

    /// Checks [`step_all`] on two one-element parameters against values worked out by hand: the
    /// norm spans both (3, 4 → 5, clipped to 1) and only the first decays.
    pub fn probe_all(device: &CudaDevice) -> Result<()> {
        let dev = Device::Cuda(device.clone());
        let t = |x: f32| Tensor::new(&[x], &dev);
        let (m1, v1, theta1, m2, v2, theta2) =
            (t(0.0)?, t(0.0)?, t(1.0)?, t(0.0)?, t(0.0)?, t(1.0)?);
        let entries = [
            super::Entry {
                grad: t(3.0)?,
                m: &m1,
                v: &v1,
                theta: &theta1,
                decay: true,
            },
            super::Entry {
                grad: t(4.0)?,
                m: &m2,
                v: &v2,
                theta: &theta2,
                decay: false,
            },
        ];
        let op = super::AllStep {
            max_norm: 1.0,
            beta1: 0.5,
            beta2: 0.5,
            decay: 0.5,
            lr_c1: 1.0,
            inv_c2: 1.0,
            eps: 0.0,
        };
        let sumsq = step_all(device, &entries, &op)?.to_vec1::<f32>()?[0];
        // Scaled gradients 0.6 and 0.8; m = 0.3, 0.4; v = 0.18, 0.32; each step is 1/√2.
        let want = [
            25.0,
            0.5 - std::f32::consts::FRAC_1_SQRT_2,
            1.0 - std::f32::consts::FRAC_1_SQRT_2,
            0.3,
            0.32,
        ];
        let got = [
            sumsq,
            theta1.to_vec1()?[0],
            theta2.to_vec1()?[0],
            m1.to_vec1()?[0],
            v2.to_vec1()?[0],
        ];
        if got.iter().zip(want).any(|(g, w)| (g - w).abs() > 1e-4) {
            candle_core::bail!(
                "the whole-model AdamW update gave {got:?} where {want:?} was expected"
            );
        }
        Ok(())
    }
}

/// One parameter for [`cuda::step_all`]: its gradient (contiguous), moments and weight.
#[cfg(feature = "cuda")]
pub struct Entry<'a> {
    pub grad: Tensor,
    pub m: &'a Tensor,
    pub v: &'a Tensor,
    pub theta: &'a Tensor,
    pub decay: bool,
}

/// The scalars of one whole-model update; clipping is decided on the GPU.
#[cfg(feature = "cuda")]
pub struct AllStep {
    pub max_norm: f32,
    pub beta1: f32,
    pub beta2: f32,
    /// The factor on decaying weights, `1 − lr·weight_decay`.
    pub decay: f32,
    pub lr_c1: f32,
    pub inv_c2: f32,
    pub eps: f32,
}
