//! Each training op against its primitive version, values and gradients.

use candle_core::{Tensor, D};

use super::{dropout, layer_norm, primitive_layer_norm, softmax_last_dim};

/// Compares each op with its primitive version on `device`, values and gradients. A trainer runs it
/// before using the ops, so a kernel that miscomputes on some GPU is caught, not trained with.
pub fn check(device: &candle_core::Device) -> candle_core::Result<()> {
    check_layer_norm(device)?;
    check_softmax(device)?;
    check_dropout(device)
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
