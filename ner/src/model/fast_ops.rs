//! GELU and softmax for inference on the CPU, with approximations of erf and exp that vectorise:
//! candle's ops call scalar libm functions per element (its `gelu_erf` took 9 % of a forward pass
//! natively; its softmax 7 % in wasm, profiled). Both stay within a few 1e-7 of the exact
//! functions, far below the int8 weights' error. Training keeps candle's ops, whose gradients it
//! needs.

use candle_core::{CpuStorage, CustomOp1, Layout, Shape};

use super::contiguous_f32;

/// `erf(x)` for f32 as the rational function `x·P(x²)/Q(x²)` on [-4, 4] (erf is ±1 in f32 beyond),
/// with the coefficients of Eigen's and XLA's `fast_erf`.
fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = x2 * -2.726_142_3e-10 + 2.770_681_4e-8;
    p = x2 * p - 2.101_024e-6;
    p = x2 * p - 5.692_506_4e-5;
    p = x2 * p - 7.349_906_3e-4;
    p = x2 * p - 2.9546e-3;
    p = x2 * p - 1.609_603_3e-2;
    let mut q = x2 * -1.456_607_2e-5 - 2.133_740_6e-4;
    q = x2 * q - 1.682_827e-3;
    q = x2 * q - 7.373_329e-3;
    q = x2 * q - 1.426_474e-2;
    x * p / q
}

/// `eˣ` for x ≤ 0 (softmax's shifted scores): 2ⁿ·e^r with n = round(x/ln 2), |r| ≤ ln2/2, and
/// e^r by its degree-6 Taylor polynomial (error < 2e-7 relative). Zero below e⁻⁸⁷, where f32
/// would go subnormal.
fn exp_nonpositive(x: f32) -> f32 {
    if x < -87.0 {
        return 0.0;
    }
    const ROUND: f32 = 12_582_912.0; // 1.5·2²³: adding and taking it away rounds to an integer
    let n = (x * std::f32::consts::LOG2_E + ROUND) - ROUND;
    // ln 2 in two parts, so r keeps its low bits.
    let r = x - n * 0.693_145_75 - n * 1.428_606_8e-6;
    let p = 1.0
        + r * (1.0
            + r * (0.5 + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r / 720.0)))));
    p * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// `0.5·x·(1 + erf(x/√2))` on f32 CPU tensors.
pub struct FastGelu;

impl CustomOp1 for FastGelu {
    fn name(&self) -> &'static str {
        "fast-gelu"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let y = contiguous_f32(self.name(), storage, layout)?
            .iter()
            .map(|&x| gelu(x))
            .collect();
        Ok((CpuStorage::F32(y), layout.shape().clone()))
    }
}

/// Softmax over the last dimension of f32 CPU tensors.
pub struct FastSoftmax;

impl CustomOp1 for FastSoftmax {
    fn name(&self) -> &'static str {
        "fast-softmax"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let width = layout.shape().dims().last().copied().unwrap_or(1).max(1);
        let mut y = contiguous_f32(self.name(), storage, layout)?.to_vec();
        for row in y.chunks_exact_mut(width) {
            let max = row.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
            row.iter_mut().for_each(|v| *v = exp_nonpositive(*v - max));
            let total: f32 = row.iter().sum();
            row.iter_mut().for_each(|v| *v /= total);
        }
        Ok((CpuStorage::F32(y), layout.shape().clone()))
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Tensor};

    use super::*;

    #[test]
    fn matches_candles_exact_gelu() {
        let xs: Vec<f32> = (-8000..=8000).map(|i| i as f32 / 1000.0).collect();
        let t = Tensor::new(xs.as_slice(), &Device::Cpu).unwrap();
        let exact: Vec<f32> = t.gelu_erf().unwrap().to_vec1().unwrap();
        let fast: Vec<f32> = t.apply_op1_no_bwd(&FastGelu).unwrap().to_vec1().unwrap();
        for ((x, e), f) in xs.iter().zip(&exact).zip(&fast) {
            // erf within 5e-7, scaled by x/2, plus rounding of the result.
            assert!(
                (e - f).abs() <= 2.5e-7 * x.abs().max(1.0) + e.abs() * f32::EPSILON,
                "gelu({x}): {f} vs {e}"
            );
        }
    }

    #[test]
    fn exp_is_close_to_libm() {
        for i in 0..=90_000 {
            let x = -(i as f32) / 1000.0;
            let (want, got) = (x.exp(), exp_nonpositive(x));
            let tolerance = if x < -87.0 { 1e-37 } else { 4e-7 * want };
            assert!((want - got).abs() <= tolerance, "exp({x}): {got} vs {want}");
        }
    }

    #[test]
    fn matches_candles_softmax_with_masked_scores() {
        // Attention scores with padding masked by -10⁴, as the encoder makes them.
        let mut xs: Vec<f32> = (0..12 * 38)
            .map(|i| ((i * 37) % 101) as f32 / 9.0 - 5.0)
            .collect();
        xs.iter_mut()
            .skip(30)
            .step_by(38)
            .for_each(|v| *v -= 10_000.0);
        let t = Tensor::from_vec(xs, (12, 38), &Device::Cpu).unwrap();
        let exact: Vec<f32> = candle_nn::ops::softmax_last_dim(&t)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        let fast: Vec<f32> = t
            .apply_op1_no_bwd(&FastSoftmax)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
        for (e, f) in exact.iter().zip(&fast) {
            assert!((e - f).abs() <= 1e-6 * e.max(1e-3), "{f} vs {e}");
        }
    }
}
