use super::*;

fn reference(
    w: &[f32],
    b: &[f32],
    x: &[f32],
    rows: usize,
    in_dim: usize,
    out_dim: usize,
) -> Vec<f32> {
    let mut y = vec![0f32; rows * out_dim];
    for r in 0..rows {
        for o in 0..out_dim {
            let dot: f32 = (0..in_dim)
                .map(|k| x[r * in_dim + k] * w[o * in_dim + k])
                .sum();
            y[r * out_dim + o] = dot + b[o];
        }
    }
    y
}

/// Deterministic values in [-1, 1) with a few large ones, like activations.
fn values(n: usize, seed: u32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..n)
        .map(|i| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            let v = (s as f32 / u32::MAX as f32) * 2.0 - 1.0;
            if i % 97 == 0 {
                v * 8.0
            } else {
                v
            }
        })
        .collect()
}

#[test]
fn matches_float_matmul_within_quantisation_error_for_ragged_shapes() {
    // Rows, inputs and outputs that fill no tile or vector exactly.
    for (rows, in_dim, out_dim) in [
        (1, 3, 1),
        (5, 13, 7),
        (38, 384, 1536),
        (9, 1536, 5),
        (139, 40, 6),
    ] {
        let w = values(in_dim * out_dim, 1);
        let b = values(out_dim, 2);
        let x = values(rows * in_dim, 3);
        let got = IntLinear::new(&w, b.clone(), in_dim, out_dim).forward(&x, rows);
        let want = reference(&w, &b, &x, rows, in_dim, out_dim);
        let scale = want.iter().fold(0f32, |m, v| m.max(v.abs()));
        let worst = got
            .iter()
            .zip(&want)
            .fold(0f32, |m, (g, w)| m.max((g - w).abs()));
        // 7-bit weights and 8-bit inputs, in rows whose 8× outliers leave the bulk of the values
        // few levels: a few per cent of the output's scale here. What that costs a real model is
        // measured as devel F1 (docs/model-file.md).
        assert!(
            worst <= 0.05 * scale,
            "{rows}×{in_dim}→{out_dim}: error {worst} of scale {scale}"
        );
        assert_eq!(got.len(), rows * out_dim);
    }
}

#[test]
fn simd_and_portable_kernels_agree() {
    let vectors = 48;
    // Inputs over the whole i8 range, weights as stored: 7-bit values plus the zero point.
    let inputs: Vec<Lane> = values(TILE_IN * vectors * LANES, 4)
        .iter()
        .map(|v| (v.clamp(-1.0, 1.0) * 127.0) as Lane)
        .collect();
    let weights: Vec<Lane> = values(TILE_OUT * vectors * LANES, 5)
        .iter()
        .map(|v| ((v.clamp(-1.0, 1.0) * 63.0) as i32 + ZERO_POINT) as Lane)
        .collect();
    assert_eq!(
        kernel::<TILE_IN>(&inputs, &weights, vectors),
        portable_kernel::<TILE_IN>(&inputs, &weights, vectors)
    );
    assert_eq!(
        kernel::<3>(&inputs, &weights, vectors),
        portable_kernel::<3>(&inputs, &weights, vectors)
    );
}

#[test]
fn kernel_sums_are_exact() {
    crate::testing::check_int_linear_is_exact();
}

#[test]
fn zero_rows_and_largest_inputs_stay_exact_and_finite() {
    let (in_dim, out_dim) = (1536, 3);
    let w = vec![1.0f32; in_dim * out_dim];
    let layer = IntLinear::new(&w, vec![0.5; out_dim], in_dim, out_dim);
    // A zero row gives the bias; a row of equal extremes sums without overflow.
    let mut x = vec![0f32; in_dim];
    x.extend(vec![-1000.0f32; in_dim]);
    let y = layer.forward(&x, 2);
    assert_eq!(&y[..3], &[0.5, 0.5, 0.5]);
    for v in &y[3..] {
        assert!((v - (-1000.0 * in_dim as f32 + 0.5)).abs() < 1.0, "{v}");
    }
}
