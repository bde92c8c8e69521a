//! The training ops' kernel launches; the kernels are in `kernels.cu`.

use candle_core::backend::BackendStorage;
use candle_core::cuda_backend::cudarc::driver::{LaunchConfig, PushKernelArg};
use candle_core::cuda_backend::WrapErr;
use candle_core::{CudaStorage, Layout, Result, Shape};

use crate::model::cuda_kernels::Kernels;

static KERNELS: Kernels =
    Kernels::new("training", "medlight_train_ops", include_str!("kernels.cu"));
const ROWS_PER_BLOCK: u32 = 8;

fn range(l: &Layout) -> Result<(usize, usize)> {
    l.contiguous_offsets()
        .ok_or_else(|| candle_core::Error::Msg("layer norm: operands must be contiguous".into()))
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
    let [func] = KERNELS.load(&device, ["medlight_ln_fwd"])?;
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
    let [func] = KERNELS.load(&device, ["medlight_ln_bwd"])?;
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
    let [func] = KERNELS.load(&device, ["medlight_dropout"])?;
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
