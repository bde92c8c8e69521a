//! Records the SHA-256 of the shipped model files (and the concept index) at build time. The worker checks the downloaded
//! bytes against these before using them, so a damaged or tampered file is an error, never silent
//! garbage predictions.

use std::path::Path;

use sha2::{Digest, Sha256};

fn main() {
    for (file, var) in [
        (
            "public/models/medlight-q8_0.safetensors",
            "MEDLIGHT_MODEL_SHA256",
        ),
        ("public/models/tokenizer.json", "MEDLIGHT_TOKENIZER_SHA256"),
        ("public/models/concepts.tsv", "MEDLIGHT_CONCEPTS_SHA256"),
    ] {
        println!("cargo:rerun-if-changed={file}");
        let bytes = std::fs::read(Path::new(file)).unwrap_or_else(|e| {
            panic!("{file}: {e} (the app ships this file; see README.md for how to produce it)")
        });
        let digest: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        println!("cargo:rustc-env={var}={digest}");
    }
}
