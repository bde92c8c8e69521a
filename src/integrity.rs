//! The model files' integrity check: downloaded bytes must have the SHA-256 that `build.rs`
//! recorded for the files this build ships.

use sha2::{Digest, Sha256};

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lowercase hex, the form `build.rs` records digests in.
pub fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Fails, naming the file and both digests, unless `bytes` hash to `expected`.
pub fn verify(url: &str, bytes: &[u8], expected: &str) -> Result<(), String> {
    verify_digest(url, &sha256_hex(bytes), expected)
}

/// [`verify`] for a digest computed elsewhere (the browser's Web Crypto, in the worker).
pub fn verify_digest(url: &str, actual: &str, expected: &str) -> Result<(), String> {
    if actual == expected {
        Ok(())
    } else {
        Err(format!(
            "integrity check failed: {url} has SHA-256 {actual}, but this build expects {expected}. \
             The file was damaged or replaced, so it was not used."
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{MODEL_SHA256, TOKENIZER_SHA256};

    #[test]
    fn the_shipped_files_pass_and_a_changed_byte_fails() {
        let model = std::fs::read("public/models/medlight-q8_0.safetensors").unwrap();
        assert!(verify("m", &model, MODEL_SHA256).is_ok());
        let tokenizer = std::fs::read("public/models/tokenizer.json").unwrap();
        assert!(verify("t", &tokenizer, TOKENIZER_SHA256).is_ok());
        let mut tampered = model;
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        let error =
            verify("models/medlight-q8_0.safetensors", &tampered, MODEL_SHA256).unwrap_err();
        assert!(
            error.starts_with(
                "integrity check failed: models/medlight-q8_0.safetensors has SHA-256 "
            ),
            "{error}"
        );
        assert!(error.contains(MODEL_SHA256));
    }

    #[test]
    fn digests_are_lowercase_hex() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
