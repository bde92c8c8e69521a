//! The `train` command's start, through the binary: a missing file in a given base directory is
//! named, and a run prints its plan (stages, epochs, steps) and the measured time per step.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use medlight_ner::testing::{tiny_config, tiny_tokenizer_json};
use medlight_ner::LabelSet;

const SENTENCE: &str =
    "cisplatin\tB-Chemical\ncaused\tO\nrenal\tB-Disease\nfailure\tI-Disease\n.\tO\n\n";

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("medlight-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("base")).unwrap();
    std::fs::create_dir_all(dir.join("data")).unwrap();
    let config = tiny_config(&LabelSet::from_types(&["Chemical", "Disease"]));
    std::fs::write(dir.join("base/config.json"), config.to_json()).unwrap();
    std::fs::write(dir.join("base/tokenizer.json"), tiny_tokenizer_json()).unwrap();
    let corpus = SENTENCE.repeat(12);
    std::fs::write(dir.join("data/train.tsv"), &corpus).unwrap();
    std::fs::write(dir.join("data/devel.tsv"), &corpus).unwrap();
    dir
}

fn train(dir: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trainer"))
        .arg("train")
        .args([
            "--device",
            "cpu",
            "--no-distill",
            "--no-vocabulary",
            "--epochs",
            "2",
            "--batch-size",
            "2",
        ])
        .arg("--data")
        .arg(dir.join("data"))
        .arg("--base")
        .arg(dir.join("base"))
        .arg("--out")
        .arg(dir.join("out"))
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn a_given_base_without_its_weights_names_the_missing_file() {
    let dir = scratch("missing");
    let out = train(&dir, &["--seeds", "1"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("model.safetensors"), "{stderr}");
    assert!(
        !stderr.contains("fetching"),
        "only the default directory is fetched: {stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_run_prints_its_plan_and_measured_time_per_step() {
    let dir = scratch("plan");
    let out = train(
        &dir,
        &[
            "--from-scratch",
            "--seeds",
            "1,2,3,4",
            "--max-train-sentences",
            "10",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // 10 sentences in batches of 2: 5 steps per epoch; 4 runs of 2 epochs.
    assert!(
        stderr.contains("plan: 4 × soup (2 epochs × 5 steps), then export and scoring = 40 steps"),
        "{stderr}"
    );
    assert!(stderr.contains("s/step on Cpu"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}
