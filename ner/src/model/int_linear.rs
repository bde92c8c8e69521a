//! The linear layers of a quantised model on the CPU, in integer arithmetic: what the browser runs.
//!
//! Weights are 7-bit integers (±63) with one scale per output row; each call quantises its input
//! to 8 bits (±127) with one scale per row. Those ranges fit wasm's relaxed-SIMD dot product
//! (`i32x4.relaxed_dot_i8x16_i7x16_add`: 16 multiply-adds in one instruction, x86 `pmaddubsw`),
//! whose second operand must lie in 0..=127 to give the same result on every CPU, so with the
//! `relaxed-simd` feature the weights are stored plus 64 (a zero point; the sum is corrected by
//! 64 × the row's input sum) as i8. Without it they are held as i16, and one baseline-SIMD
//! `i32x4.dot_i16x8` (x86 `pmaddwd`) does 8 multiply-adds. Either way the weights are packed once,
//! at load, in the order the kernel reads them, so no call repacks a matrix.
//!
//! Sums of integer products are exact in any order, so the portable kernel gives the same numbers
//! as both wasm kernels and the x86 one: `trainer eval` natively measures the F1 the browser gets.
//! Measured on the shipped weights (docs/model-file.md): 7-bit weights with 8-bit
//! inputs score no lower on devel than the 8-bit weights with 13–15-bit inputs used before.

use std::fmt;

use candle_core::{CpuStorage, CustomOp1, Layout, Shape};

use super::contiguous_f32;

/// Output rows per kernel tile.
const TILE_OUT: usize = 2;
/// Input rows (tokens) per kernel tile. With `TILE_OUT` this keeps the tile's 8 accumulators and
/// 6 operands within the 16 SIMD registers V8 has on x86-64. Measured in the browser
/// (docs/benchmarks.md): 2 × 2 and 3 × 2 tiles were slower or no faster, 6 × 2 and unrolling
/// slower.
const TILE_IN: usize = 4;
/// Input rows per cache block: 64 rows of the widest layer (1536) are 192 KB of i16; a typical
/// sentence (≤ 64 sub-tokens) is one block, so the weights stream through once.
const ROW_BLOCK: usize = 64;
/// Largest weight magnitude: 7 bits, so that weight + `ZERO_POINT` fits the relaxed dot product's
/// unsigned 7-bit operand.
pub const WEIGHT_MAX: i32 = 63;
/// Largest input magnitude: 8 bits (i8). Sums stay far inside i32: 1536 × 127 × 127 < 2²⁵.
pub const INPUT_MAX: i32 = 127;

/// What one packed value is held in, how many fit a 128-bit vector (the step along the inner
/// dimension), and what is added to each stored weight.
#[cfg(all(target_arch = "wasm32", feature = "relaxed-simd"))]
mod lanes {
    pub type Lane = i8;
    pub const LANES: usize = 16;
    pub const ZERO_POINT: i32 = 64;
}
#[cfg(not(all(target_arch = "wasm32", feature = "relaxed-simd")))]
mod lanes {
    pub type Lane = i16;
    pub const LANES: usize = 8;
    pub const ZERO_POINT: i32 = 0;
}
use lanes::{Lane, LANES, ZERO_POINT};

/// `y = x · Wᵀ + b` with `W` packed as 7-bit integers and per-row scales.
pub struct IntLinear {
    in_dim: usize,
    out_dim: usize,
    /// `in_dim` rounded up to whole vectors; the padding is zero in inputs (and in weights before
    /// the zero point is added, so it adds nothing once the correction is made).
    depth: usize,
    /// Tile by tile of `TILE_OUT` rows, vector by vector along the depth, row by row in the tile.
    packed: Vec<Lane>,
    /// Per output row (padded to whole tiles): real weight = (packed value − zero point) × scale.
    scales: Vec<f32>,
    bias: Vec<f32>,
}

impl fmt::Debug for IntLinear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "IntLinear({} -> {}, {}-lane vectors)",
            self.in_dim, self.out_dim, LANES
        )
    }
}

/// A weight matrix as 7-bit integers (±[`WEIGHT_MAX`]) with one f32 scale per row: real weight =
/// integer × its row's scale. This is what the model file stores for each linear layer, so loading
/// only lays the integers out in the kernel's order.
#[derive(Debug, Clone, PartialEq)]
pub struct IntRows {
    pub rows: usize,
    pub cols: usize,
    /// Row-major, `rows × cols`.
    pub values: Vec<i8>,
    pub scales: Vec<f32>,
}

impl IntRows {
    /// Quantises a row-major `rows × cols` f32 matrix, each row scaled by its largest magnitude.
    pub fn quantise(weight: &[f32], rows: usize, cols: usize) -> Self {
        assert_eq!(weight.len(), rows * cols, "weight is rows × cols");
        let mut values = Vec::with_capacity(weight.len());
        let mut scales = Vec::with_capacity(rows);
        for row in weight.chunks_exact(cols.max(1)).take(rows) {
            let scale = max_abs(row) / WEIGHT_MAX as f32;
            scales.push(scale);
            values.extend(row.iter().map(|&w| quantise(w, scale) as i8));
        }
        Self {
            rows,
            cols,
            values,
            scales,
        }
    }

    /// The f32 matrix these integers stand for (GPUs and f32 exports).
    pub fn dequantise(&self) -> Vec<f32> {
        let cols = self.cols.max(1);
        self.values
            .iter()
            .enumerate()
            .map(|(i, &v)| v as f32 * self.scales[i / cols])
            .collect()
    }
}

impl IntLinear {
    /// From a row-major `(out_dim, in_dim)` f32 weight and its bias.
    pub fn new(weight: &[f32], bias: Vec<f32>, in_dim: usize, out_dim: usize) -> Self {
        Self::from_rows(&IntRows::quantise(weight, out_dim, in_dim), bias)
    }

    /// From a weight already in 7-bit rows (`rows` = outputs, `cols` = inputs) and its bias.
    pub fn from_rows(weight: &IntRows, bias: Vec<f32>) -> Self {
        let (in_dim, out_dim) = (weight.cols, weight.rows);
        assert_eq!(bias.len(), out_dim, "one bias per output");
        let depth = in_dim.div_ceil(LANES) * LANES;
        let tiles = out_dim.div_ceil(TILE_OUT);
        let mut packed = vec![ZERO_POINT as Lane; tiles * TILE_OUT * depth];
        let mut scales = vec![0f32; tiles * TILE_OUT];
        scales[..out_dim].copy_from_slice(&weight.scales);
        for (o, row) in weight.values.chunks_exact(in_dim).enumerate() {
            let (tile, within) = (o / TILE_OUT, o % TILE_OUT);
            for (k, &w) in row.iter().enumerate() {
                let at =
                    ((tile * depth / LANES + k / LANES) * TILE_OUT + within) * LANES + k % LANES;
                packed[at] = (w as i32 + ZERO_POINT) as Lane;
            }
        }
        Self {
            in_dim,
            out_dim,
            depth,
            packed,
            scales,
            bias,
        }
    }

    /// `x` is `rows × in_dim`, row-major; returns `rows × out_dim`.
    pub fn forward(&self, x: &[f32], rows: usize) -> Vec<f32> {
        assert_eq!(x.len(), rows * self.in_dim, "input is rows × in_dim");
        let (inputs, input_scales, corrections) = self.quantise_inputs(x, rows);
        let mut y = vec![0f32; rows * self.out_dim];
        let vectors = self.depth / LANES;
        // Blocks of rows small enough to stay in cache while every weight tile passes over them
        // (natively, a padded batch of 64 sentences read 271 sub-tokens/s when every tile swept all
        // rows, 362 with blocks).
        for block_start in (0..rows).step_by(ROW_BLOCK) {
            let block_rows = ROW_BLOCK.min(rows - block_start);
            let block = &inputs[block_start * self.depth..(block_start + block_rows) * self.depth];
            for (tile, weights) in self.packed.chunks_exact(TILE_OUT * self.depth).enumerate() {
                let mut store = |first_row: usize, sums: &[[i32; TILE_OUT]]| {
                    for (r, row_sums) in (block_start + first_row..).zip(sums) {
                        for (o, &sum) in (tile * TILE_OUT..self.out_dim).zip(row_sums) {
                            let exact = sum - corrections[r];
                            y[r * self.out_dim + o] =
                                exact as f32 * (input_scales[r] * self.scales[o]) + self.bias[o];
                        }
                    }
                };
                let mut first = 0;
                // Whole tiles of rows, then the last few rows with a kernel of their size (no padding).
                for rows_in in block.chunks_exact(TILE_IN * self.depth) {
                    store(first, &kernel::<TILE_IN>(rows_in, weights, vectors));
                    first += TILE_IN;
                }
                let rest = &block[first * self.depth..];
                match block_rows - first {
                    0 => {}
                    1 => store(first, &kernel::<1>(rest, weights, vectors)),
                    2 => store(first, &kernel::<2>(rest, weights, vectors)),
                    3 => store(first, &kernel::<3>(rest, weights, vectors)),
                    _ => unreachable!("fewer rows than a tile remain"),
                }
            }
        }
        y
    }

    /// Rows padded to `depth`, with their scales and what the weights' zero point adds to each
    /// row's sums (`ZERO_POINT` × the row's sum).
    fn quantise_inputs(&self, x: &[f32], rows: usize) -> (Vec<Lane>, Vec<f32>, Vec<i32>) {
        let mut q = vec![0 as Lane; rows * self.depth];
        let mut scales = vec![0f32; rows];
        let mut corrections = vec![0i32; rows];
        for (r, row) in x.chunks_exact(self.in_dim).enumerate() {
            let scale = max_abs(row) / INPUT_MAX as f32;
            scales[r] = scale;
            let mut sum = 0i32;
            for (dst, &v) in q[r * self.depth..].iter_mut().zip(row) {
                let v = quantise(v, scale);
                sum += v;
                *dst = v as Lane;
            }
            corrections[r] = ZERO_POINT * sum;
        }
        (q, scales, corrections)
    }
}

fn max_abs(xs: &[f32]) -> f32 {
    xs.iter().fold(0f32, |m, v| m.max(v.abs()))
}

/// `v / scale` rounded to the nearest integer (ties to even); 0 when the whole row is 0.
fn quantise(v: f32, scale: f32) -> i32 {
    if scale == 0.0 {
        return 0;
    }
    // Adding and taking away 1.5·2²³ rounds |x| < 2²² in plain IEEE arithmetic, the same on every
    // target (`f32::round` is a libm call natively: 4 % of a forward pass).
    const ROUND: f32 = 12_582_912.0;
    ((v / scale + ROUND) - ROUND) as i32
}

/// Integer dot products of a tile: `ROWS` (≤ `TILE_IN`) input rows, each `vectors × LANES` long,
/// consecutive, against `TILE_OUT` packed weight rows, with relaxed SIMD (see the module's notes).
#[cfg(all(target_arch = "wasm32", feature = "relaxed-simd"))]
fn kernel<const ROWS: usize>(
    inputs: &[i8],
    weights: &[i8],
    vectors: usize,
) -> [[i32; TILE_OUT]; ROWS] {
    assert!(inputs.len() >= ROWS * vectors * LANES && weights.len() >= TILE_OUT * vectors * LANES);
    // SAFETY: the build enables relaxed SIMD only for engines that have it (the page loads this
    // worker after `WebAssembly.validate` accepted a relaxed-SIMD module); the lengths are checked.
    unsafe { relaxed_kernel::<ROWS>(inputs, weights, vectors) }
}

#[cfg(all(target_arch = "wasm32", feature = "relaxed-simd"))]
#[target_feature(enable = "relaxed-simd")]
unsafe fn relaxed_kernel<const ROWS: usize>(
    inputs: &[i8],
    weights: &[i8],
    vectors: usize,
) -> [[i32; TILE_OUT]; ROWS] {
    use core::arch::wasm32::*;
    let depth = vectors * LANES;
    // SAFETY: callers assert the lengths; v128_load allows unaligned reads.
    let load =
        |s: &[i8], at: usize| -> v128 { unsafe { v128_load(s.as_ptr().add(at) as *const v128) } };
    let mut acc = [[i32x4_splat(0); TILE_OUT]; ROWS];
    for v in 0..vectors {
        let w: [v128; TILE_OUT] =
            std::array::from_fn(|j| load(weights, (v * TILE_OUT + j) * LANES));
        for (i, acc_row) in acc.iter_mut().enumerate() {
            let x = load(inputs, i * depth + v * LANES);
            for (a, &wj) in acc_row.iter_mut().zip(&w) {
                // Inputs are the signed i8 operand, weights + 64 the 0..=127 one.
                *a = i32x4_relaxed_dot_i8x16_i7x16_add(x, wj, *a);
            }
        }
    }
    acc.map(|row| row.map(horizontal_sum))
}

#[cfg(target_arch = "wasm32")]
fn horizontal_sum(a: core::arch::wasm32::v128) -> i32 {
    use core::arch::wasm32::*;
    i32x4_extract_lane::<0>(a)
        + i32x4_extract_lane::<1>(a)
        + i32x4_extract_lane::<2>(a)
        + i32x4_extract_lane::<3>(a)
}

/// The same with baseline wasm SIMD: `i32x4.dot_i16x8` on values held in i16.
#[cfg(all(
    target_arch = "wasm32",
    target_feature = "simd128",
    not(feature = "relaxed-simd")
))]
fn kernel<const ROWS: usize>(
    inputs: &[i16],
    weights: &[i16],
    vectors: usize,
) -> [[i32; TILE_OUT]; ROWS] {
    use core::arch::wasm32::*;
    let depth = vectors * LANES;
    assert!(inputs.len() >= ROWS * depth && weights.len() >= TILE_OUT * depth);
    let load = |s: &[i16], at: usize| -> v128 {
        // SAFETY: `at + LANES <= s.len()` by the assertion above; v128_load allows unaligned reads.
        unsafe { v128_load(s.as_ptr().add(at) as *const v128) }
    };
    let mut acc = [[i32x4_splat(0); TILE_OUT]; ROWS];
    for v in 0..vectors {
        let w: [v128; TILE_OUT] =
            std::array::from_fn(|j| load(weights, (v * TILE_OUT + j) * LANES));
        for (i, acc_row) in acc.iter_mut().enumerate() {
            let x = load(inputs, i * depth + v * LANES);
            for (a, &wj) in acc_row.iter_mut().zip(&w) {
                *a = i32x4_add(*a, i32x4_dot_i16x8(x, wj));
            }
        }
    }
    acc.map(|row| row.map(horizontal_sum))
}

/// The same kernel with x86-64's SSE2 (`pmaddwd`), which every x86-64 CPU has.
#[cfg(target_arch = "x86_64")]
fn kernel<const ROWS: usize>(
    inputs: &[i16],
    weights: &[i16],
    vectors: usize,
) -> [[i32; TILE_OUT]; ROWS] {
    use std::arch::x86_64::*;
    let depth = vectors * LANES;
    assert!(inputs.len() >= ROWS * depth && weights.len() >= TILE_OUT * depth);
    // SAFETY: SSE2 is part of x86-64; every load reads LANES i16 within the lengths asserted above.
    unsafe {
        let load = |s: &[i16], at: usize| _mm_loadu_si128(s.as_ptr().add(at) as *const __m128i);
        let mut acc = [[_mm_setzero_si128(); TILE_OUT]; ROWS];
        for v in 0..vectors {
            let w: [__m128i; TILE_OUT] =
                std::array::from_fn(|j| load(weights, (v * TILE_OUT + j) * LANES));
            for (i, acc_row) in acc.iter_mut().enumerate() {
                let x = load(inputs, i * depth + v * LANES);
                for (a, &wj) in acc_row.iter_mut().zip(&w) {
                    *a = _mm_add_epi32(*a, _mm_madd_epi16(x, wj));
                }
            }
        }
        acc.map(|row| {
            row.map(|a| {
                let mut lanes = [0i32; 4];
                _mm_storeu_si128(lanes.as_mut_ptr() as *mut __m128i, a);
                lanes.iter().sum()
            })
        })
    }
}

#[cfg(not(any(target_arch = "wasm32", target_arch = "x86_64")))]
fn kernel<const ROWS: usize>(
    inputs: &[Lane],
    weights: &[Lane],
    vectors: usize,
) -> [[i32; TILE_OUT]; ROWS] {
    portable_kernel::<ROWS>(inputs, weights, vectors)
}

#[cfg(all(
    target_arch = "wasm32",
    not(target_feature = "simd128"),
    not(feature = "relaxed-simd")
))]
fn kernel<const ROWS: usize>(
    inputs: &[Lane],
    weights: &[Lane],
    vectors: usize,
) -> [[i32; TILE_OUT]; ROWS] {
    portable_kernel::<ROWS>(inputs, weights, vectors)
}

/// The same sums in portable code (other CPUs): per-lane accumulators, as in the SIMD
/// kernels, so LLVM can vectorise the lane loop.
#[allow(dead_code)] // used by the kernels' test, and on CPUs without one of the SIMD kernels
fn portable_kernel<const ROWS: usize>(
    inputs: &[Lane],
    weights: &[Lane],
    vectors: usize,
) -> [[i32; TILE_OUT]; ROWS] {
    let depth = vectors * LANES;
    let inputs = &inputs[..ROWS * depth];
    let weights = &weights[..TILE_OUT * depth];
    let mut acc = [[[0i32; LANES]; TILE_OUT]; ROWS];
    for v in 0..vectors {
        let w: [&[Lane]; TILE_OUT] =
            std::array::from_fn(|j| &weights[(v * TILE_OUT + j) * LANES..][..LANES]);
        for (i, acc_row) in acc.iter_mut().enumerate() {
            let x = &inputs[i * depth + v * LANES..][..LANES];
            for (a, wj) in acc_row.iter_mut().zip(&w) {
                for l in 0..LANES {
                    a[l] += x[l] as i32 * wj[l] as i32;
                }
            }
        }
    }
    acc.map(|row| row.map(|a| a.iter().sum()))
}

/// As a candle op on f32 CPU tensors of any rank whose last dimension is `in_dim`.
impl CustomOp1 for IntLinear {
    fn name(&self) -> &'static str {
        "int-linear"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let x = contiguous_f32(self.name(), storage, layout)?;
        let mut dims = layout.shape().dims().to_vec();
        if dims.last() != Some(&self.in_dim) {
            candle_core::bail!(
                "int-linear expects last dimension {}, got shape {dims:?}",
                self.in_dim
            )
        }
        let y = self.forward(x, x.len() / self.in_dim);
        *dims.last_mut().expect("checked above") = self.out_dim;
        Ok((CpuStorage::F32(y), Shape::from(dims)))
    }
}

#[cfg(test)]
mod tests;
