//! The worker of `main.rs`, built with `--features relaxed-simd`: its integer linear layers use
//! relaxed SIMD's 8-bit dot product. Engines without relaxed SIMD reject the whole module, so the
//! page starts this build only where `WebAssembly.validate` accepts a relaxed-SIMD function.

#[path = "main.rs"]
mod worker;

fn main() {
    worker::main();
}
