//! Which worker build a browser gets. The relaxed-SIMD build (`worker_relaxed`) runs the linear
//! layers with `i32x4.relaxed_dot_i8x16_i7x16_add_s`; an engine without relaxed SIMD rejects that
//! whole module, so the page (`ui::worker_handle`) and the service worker (`public/sw.js`, which caches only
//! the build the browser will run) ask `WebAssembly.validate` about this probe first.

/// A wasm module with one function `() -> v128` that applies `i32x4.relaxed_dot_i8x16_i7x16_add_s`
/// (opcode 0xfd 0x113) to three zero vectors. `public/sw.js` and the bench page
/// (`bench/page/ours.js`) hold the same bytes (a test checks).
pub const RELAXED_SIMD_PROBE: &[u8] = &[
    0, 97, 115, 109, 1, 0, 0, 0, // magic, version 1
    1, 5, 1, 96, 0, 1, 123, // types: () -> v128
    3, 2, 1, 0, // one function of type 0
    10, 61, 1, 59, 0, // code: one body of 59 bytes, no locals
    253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // v128.const 0
    253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // v128.const 0
    253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // v128.const 0
    253, 147, 2,  // i32x4.relaxed_dot_i8x16_i7x16_add_s
    11, // end
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_service_worker_and_the_bench_page_probe_with_the_same_module() {
        let list = RELAXED_SIMD_PROBE
            .iter()
            .map(|b| b.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        for file in ["public/sw.js", "bench/page/ours.js"] {
            let text = std::fs::read_to_string(
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file),
            )
            .unwrap();
            assert!(
                text.contains(&format!("[{list}]")),
                "{file} should probe with [{list}]"
            );
        }
    }

    #[test]
    fn the_probe_is_a_well_formed_module_of_the_sizes_it_declares() {
        let p = RELAXED_SIMD_PROBE;
        assert_eq!(&p[..4], b"\0asm");
        // The code section (id 10 at index 19): its size covers the rest of the module, and its one
        // body's size the bytes after that; the body ends with `end`.
        assert_eq!((p[19], p[20] as usize), (10, p.len() - 21));
        assert_eq!((p[21], p[22] as usize), (1, p.len() - 23));
        assert_eq!(p.last(), Some(&11));
    }
}
