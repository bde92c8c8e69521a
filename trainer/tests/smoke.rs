//! Training end to end on a tiny random BERT and a few sentences (seconds): the loss falls, every
//! output is written, the reloaded models (f32 and quantised) find the in-memory model's spans, and
//! an interrupted run resumes to exactly where an uninterrupted one gets.

use std::path::{Path, PathBuf};

use candle_core::Device;
use medlight_ner::testing::{tiny_config, tiny_tokenizer_json};
use medlight_ner::{LabelSet, Tagger};
use trainer::data::Sentence;
use trainer::export::Change;
use trainer::model_dir::{load_tagger, Format};
use trainer::soup;
use trainer::train::{self, Control, Precision, Settings};

const TRAIN: &str = "\
asp\tB-Chemical\ninduced\tO\nnausea\tB-Disease\n.\tO\n\n\
cisplatin\tB-Chemical\ncaused\tO\nrenal\tB-Disease\nfailure\tI-Disease\n.\tO\n\n\
the\tO\npatient\tO\nwas\tO\ntreated\tO\nwith\tO\ncisplatin\tB-Chemical\n.\tO\n\n\
acute\tB-Disease\nhepatitis\tI-Disease\nafter\tO\nhigh\tO\ndose\tO\nasp\tB-Chemical\n.\tO\n\n\
no\tO\npain\tB-Disease\nwas\tO\ninduced\tO\nby\tO\ncisplatin\tB-Chemical\n.\tO\n";

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("medlight-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A base directory with the tiny config and tokenizer, and a data directory (devel = train).
fn fixtures(name: &str) -> (PathBuf, PathBuf) {
    let root = scratch(name);
    let base = root.join("base");
    let data = root.join("data");
    std::fs::create_dir_all(&base).unwrap();
    std::fs::create_dir_all(&data).unwrap();
    let config = tiny_config(&LabelSet::from_types(&["Chemical", "Disease"]));
    std::fs::write(base.join("config.json"), config.to_json()).unwrap();
    std::fs::write(base.join("tokenizer.json"), tiny_tokenizer_json()).unwrap();
    std::fs::write(data.join("train.tsv"), TRAIN).unwrap();
    std::fs::write(data.join("devel.tsv"), TRAIN).unwrap();
    (base, data)
}

fn settings(base: &Path, data: &Path, epochs: usize) -> Settings {
    Settings {
        data: data.to_path_buf(),
        base: base.to_path_buf(),
        from_scratch: true,
        epochs,
        batch_size: 2,
        lr: 3e-3,
        warmup: 0.1,
        weight_decay: 0.01,
        clip: 1.0,
        hidden_dropout: 0.0,
        attention_dropout: 0.0,
        label_smoothing: 0.0,
        freeze_embeddings: false,
        seed: 7,
        max_train_sentences: None,
        max_devel_sentences: None,
        extra_data: Vec::new(),
        precision: Precision::F32,
        average_last: 1,
    }
}

fn export(outside_bias: f32) -> trainer::export::Export {
    trainer::export::Export {
        quant: "q8_0".into(),
        word_embeddings_quant: "q4_0".into(),
        outside_bias,
        lexicon: Default::default(),
    }
}

/// A run of 10 epochs on the fixtures, exported with `outside_bias` 0.5: base, data and output
/// directories, and the run.
fn trained_and_exported(name: &str) -> (PathBuf, PathBuf, PathBuf, train::Outcome) {
    let (base, data) = fixtures(name);
    let out = base.parent().unwrap().join("out");
    let outcome = train::run(
        settings(&base, &data, 10),
        &out,
        &Device::Cpu,
        Control::default(),
    )
    .unwrap();
    trainer::export::finish(
        std::slice::from_ref(&outcome),
        &out,
        &export(0.5),
        &Device::Cpu,
    )
    .unwrap();
    (base, data, out, outcome)
}

fn spans(tagger: &Tagger, text: &str) -> Vec<(usize, usize, String)> {
    tagger
        .annotate(text)
        .unwrap()
        .into_iter()
        .map(|e| (e.start, e.end, e.label))
        .collect()
}

#[test]
fn trains_writes_outputs_and_reloads_to_the_same_spans() {
    let (base, data) = fixtures("smoke");
    let out = base.parent().unwrap().join("out");
    let outcome = train::run(
        settings(&base, &data, 30),
        &out,
        &Device::Cpu,
        Control::default(),
    )
    .unwrap();
    let history = &outcome.state.history;
    let (first, last) = (history[0].train_loss, history.last().unwrap().train_loss);
    assert!(last < 0.5 * first, "loss did not fall: {first} → {last}");
    assert!(
        outcome.state.best_f1 > 0.8,
        "devel F1 {}",
        outcome.state.best_f1
    );

    let metrics = trainer::export::finish(
        std::slice::from_ref(&outcome),
        &out,
        &export(0.0),
        &Device::Cpu,
    )
    .unwrap();
    for file in [
        "model.safetensors",
        "config.json",
        "tokenizer.json",
        "medlight-q8_0.safetensors",
        "metrics.json",
        "training-curve.svg",
        "MODEL_CARD.md",
    ] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(written["settings"]["seed"], 7);
    assert_eq!(written["runs"].as_array().unwrap().len(), 1);
    assert_eq!(written["runs"][0]["history"].as_array().unwrap().len(), 30);
    // Training time counts the steps only; the whole epochs add the devel evaluation.
    let (steps, epochs) = (
        written["train_seconds"].as_f64().unwrap(),
        written["epochs_seconds"].as_f64().unwrap(),
    );
    assert!(
        steps > 0.0 && steps < epochs,
        "train_seconds {steps}, epochs_seconds {epochs}"
    );
    assert!(
        (written["devel_f32"]["overall"]["f1"].as_f64().unwrap()
            - metrics.devel_f32.as_ref().unwrap().overall.f1)
            .abs()
            < 1e-12
    );
    assert!(std::fs::read_to_string(out.join("training-curve.svg"))
        .unwrap()
        .contains("<svg"));

    let in_memory = Tagger::new(outcome.best.clone(), outcome.tokenizer.clone()).unwrap();
    let f32_model = load_tagger(&out, Format::F32, &Device::Cpu).unwrap();
    let quantised = load_tagger(&out, Format::Quantized, &Device::Cpu).unwrap();
    for text in [
        "Cisplatin caused renal failure.",
        "The patient was treated with aspirin; no pain.",
    ] {
        let expected = spans(&in_memory, text);
        assert!(
            !expected.is_empty(),
            "the trained model found nothing in {text:?}"
        );
        assert_eq!(spans(&f32_model, text), expected, "f32 reload on {text:?}");
        assert_eq!(
            spans(&quantised, text),
            expected,
            "quantised reload on {text:?}"
        );
    }
}

#[test]
fn mixed_precision_trains_and_saves_f32_weights() {
    let (base, data) = fixtures("bf16");
    let out = base.parent().unwrap().join("out");
    let mut bf16 = settings(&base, &data, 30);
    bf16.precision = Precision::Bf16;
    let outcome = train::run(bf16, &out, &Device::Cpu, Control::default()).unwrap();
    let history = &outcome.state.history;
    let (first, last) = (history[0].train_loss, history.last().unwrap().train_loss);
    assert!(last < 0.5 * first, "loss did not fall: {first} → {last}");
    assert!(
        outcome.state.best_f1 > 0.8,
        "devel F1 {}",
        outcome.state.best_f1
    );
    let saved =
        candle_core::safetensors::load(out.join("model.safetensors"), &Device::Cpu).unwrap();
    assert!(
        saved.values().all(|t| t.dtype() == candle_core::DType::F32),
        "master weights are f32"
    );

    // bf16 products are not f32 products: the two runs' losses differ, if only slightly.
    let f32_run = train::run(
        settings(&base, &data, 30),
        &base.parent().unwrap().join("f32"),
        &Device::Cpu,
        Control::default(),
    )
    .unwrap();
    assert_ne!(f32_run.state.history[0].train_loss, history[0].train_loss);
}

#[test]
fn an_interrupted_run_resumes_to_the_same_result() {
    let (base, data) = fixtures("resume");
    let root = base.parent().unwrap();
    // With weight averaging, whose window of epoch weights must survive the interruption too.
    let settings = |base: &Path, data: &Path, epochs| Settings {
        average_last: 2,
        ..settings(base, data, epochs)
    };
    let whole = train::run(
        settings(&base, &data, 4),
        &root.join("whole"),
        &Device::Cpu,
        Control::default(),
    )
    .unwrap();

    let out = root.join("interrupted");
    let stop = Control {
        resume: false,
        stop_after_epoch: Some(2),
    };
    let partial = train::run(settings(&base, &data, 4), &out, &Device::Cpu, stop).unwrap();
    assert_eq!(partial.state.epochs_done, 2);

    let again = train::run(
        settings(&base, &data, 4),
        &out,
        &Device::Cpu,
        Control::default(),
    );
    let err = again
        .err()
        .expect("an existing checkpoint without --resume is refused")
        .to_string();
    assert!(err.contains("--resume"), "{err}");

    let resumed = train::run(
        settings(&base, &data, 4),
        &out,
        &Device::Cpu,
        Control {
            resume: true,
            stop_after_epoch: None,
        },
    )
    .unwrap();
    assert_eq!(resumed.state.history.len(), 4);
    for (a, b) in whole.state.history.iter().zip(&resumed.state.history) {
        assert!(
            (a.train_loss - b.train_loss).abs() < 1e-5,
            "epoch {}: {} vs {}",
            a.epoch,
            a.train_loss,
            b.train_loss
        );
        let f1 =
            |r: &train::EpochRecord| r.averaged.as_ref().map(|a| (a.epochs, a.devel.overall.f1));
        assert_eq!(f1(a), f1(b), "epoch {}", a.epoch);
    }
    assert_eq!(whole.state.best_averaged, resumed.state.best_averaged);
    assert_eq!(whole.state.best_epoch, resumed.state.best_epoch);

    let mut other = settings(&base, &data, 4);
    other.seed = 8;
    let err = train::run(
        other,
        &out,
        &Device::Cpu,
        Control {
            resume: true,
            stop_after_epoch: None,
        },
    )
    .err()
    .unwrap();
    assert!(err.to_string().contains("other settings"), "{err}");
}

#[test]
fn averaging_scores_the_mean_of_a_window_of_epochs_and_keeps_the_best_candidate() {
    let (base, data) = fixtures("average");
    let out = base.parent().unwrap().join("out");
    let outcome = train::run(
        Settings {
            average_last: 2,
            ..settings(&base, &data, 4)
        },
        &out,
        &Device::Cpu,
        Control::default(),
    )
    .unwrap();
    let history = &outcome.state.history;
    assert!(
        history[0].averaged.is_none(),
        "one epoch has nothing to average"
    );
    assert!(history[1..]
        .iter()
        .all(|r| r.averaged.as_ref().is_some_and(|a| a.epochs == 2)));
    // Only the window's epochs stay on disk.
    let file = |e: usize| {
        out.join("checkpoint")
            .join(format!("epoch-{e}.safetensors"))
    };
    assert_eq!(
        (1..=4).map(|e| file(e).is_file()).collect::<Vec<_>>(),
        [false, false, true, true]
    );
    // The last record's averaged score is that of the mean of the files left.
    let mean = trainer::average::mean_of(&[file(3), file(4)], &Device::Cpu).unwrap();
    let vb = candle_nn::VarBuilder::from_tensors(mean, candle_core::DType::F32, &Device::Cpu);
    let model = medlight_ner::model::TokenClassifier::load(
        &medlight_ner::model::Weights::float(vb),
        &outcome.config,
    )
    .unwrap();
    let tagger = Tagger::new(model, outcome.tokenizer.clone()).unwrap();
    let (_, report) = trainer::data::tag_and_score(&tagger, &outcome.devel).unwrap();
    assert_eq!(
        report.overall.f1,
        history[3].averaged.as_ref().unwrap().devel.overall.f1
    );
    // The model written is the best candidate, single epoch or mean, as scored.
    let best = candle_nn::VarBuilder::from_tensors(
        candle_core::safetensors::load(out.join("model.safetensors"), &Device::Cpu).unwrap(),
        candle_core::DType::F32,
        &Device::Cpu,
    );
    let model = medlight_ner::model::TokenClassifier::load(
        &medlight_ner::model::Weights::float(best),
        &outcome.config,
    )
    .unwrap();
    let (_, report) = trainer::data::tag_and_score(
        &Tagger::new(model, outcome.tokenizer.clone()).unwrap(),
        &outcome.devel,
    )
    .unwrap();
    assert_eq!(report.overall.f1, outcome.state.best_f1);
    let candidates = history.iter().flat_map(|r| {
        [
            Some(r.devel.overall.f1),
            r.averaged.as_ref().map(|a| a.devel.overall.f1),
        ]
    });
    assert_eq!(
        candidates.flatten().fold(f64::MIN, f64::max),
        outcome.state.best_f1
    );
}

#[test]
fn a_missing_base_file_names_the_file_and_the_fetch_script() {
    let (base, data) = fixtures("missing");
    let mut s = settings(&base, &data, 1);
    s.from_scratch = false; // now model.safetensors is required, and absent
    let err = train::run(
        s,
        &base.parent().unwrap().join("out"),
        &Device::Cpu,
        Control::default(),
    )
    .err()
    .unwrap()
    .to_string();
    assert!(
        err.contains("model.safetensors") && err.contains("scripts/fetch-base-model.sh"),
        "{err}"
    );
}

#[test]
fn a_seed_soup_resumes_at_the_seed_it_stopped_in_and_ships_the_mean_of_the_best_weights() {
    let (base, data) = fixtures("soup");
    let out = base.parent().unwrap().join("soup");
    let s = settings(&base, &data, 30);
    let err = soup::train_members(&s, &[7, 8, 7], &out, &Device::Cpu, Control::default())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("7 is given twice"), "{err}");

    // Seed 7 finished, then the soup interrupted during seed 8.
    let seven = train::run(
        Settings {
            seed: 7,
            ..s.clone()
        },
        &soup::member_dir(&out, 7),
        &Device::Cpu,
        Control::default(),
    )
    .unwrap();
    let stop = Control {
        resume: true,
        stop_after_epoch: Some(1),
    };
    let partial = soup::train_members(&s, &[7, 8, 9], &out, &Device::Cpu, stop).unwrap();
    assert_eq!(
        partial
            .iter()
            .map(|m| m.state.epochs_done)
            .collect::<Vec<_>>(),
        [30, 1],
        "stops in the interrupted run"
    );
    let err = soup::train_members(&s, &[7, 8, 9], &out, &Device::Cpu, Control::default())
        .err()
        .unwrap();
    assert!(
        format!("{err:#}").contains("seed-7") && format!("{err:#}").contains("--resume"),
        "{err:#}"
    );

    let members = soup::train_members(
        &s,
        &[7, 8, 9],
        &out,
        &Device::Cpu,
        Control {
            resume: true,
            stop_after_epoch: None,
        },
    )
    .unwrap();
    assert_eq!(
        members
            .iter()
            .map(|m| (m.state.settings.seed, m.state.epochs_done))
            .collect::<Vec<_>>(),
        [(7, 30), (8, 30), (9, 30)]
    );
    // The finished run was reloaded, not trained again: its records (timings included) are the same.
    let seconds = |o: &train::Outcome| {
        o.state
            .history
            .iter()
            .map(|r| r.seconds)
            .collect::<Vec<_>>()
    };
    assert_eq!(seconds(&members[0]), seconds(&seven));

    the_mean_is_the_members_average(&members, &out);

    let metrics = trainer::export::finish(&members, &out, &export(0.5), &Device::Cpu).unwrap();
    assert_eq!(
        metrics.runs.iter().map(|r| r.seed).collect::<Vec<_>>(),
        [7, 8, 9]
    );
    // The bias is in the config the f32 and quantised files load, and the scores were taken with it.
    for format in [Format::F32, Format::Quantized] {
        assert_eq!(
            load_tagger(&out, format, &Device::Cpu)
                .unwrap()
                .model()
                .config
                .outside_bias,
            0.5
        );
    }
    let (_, report) = trainer::data::tag_and_score(
        &load_tagger(&out, Format::F32, &Device::Cpu).unwrap(),
        &members[0].devel,
    )
    .unwrap();
    assert_eq!(
        report.overall.f1,
        metrics.devel_f32.as_ref().unwrap().overall.f1
    );
    let total: f64 = metrics.runs.iter().map(|r| r.train_seconds).sum();
    assert_eq!(metrics.train_seconds, total);
    let card = std::fs::read_to_string(out.join("MODEL_CARD.md")).unwrap();
    assert!(
        card.contains("mean of the best weights of 3 runs") && card.contains("seed 9 (best: epoch"),
        "{card}"
    );
    let curve = std::fs::read_to_string(out.join("training-curve.svg")).unwrap();
    assert!(
        curve.contains("seed 9") && curve.contains("their mean&apos;s weights"),
        "the soup curve names its runs and the mean"
    );
    // Each member is a model directory of its own.
    let member = load_tagger(&soup::member_dir(&out, 8), Format::F32, &Device::Cpu).unwrap();
    assert!(!spans(&member, "Cisplatin caused renal failure.").is_empty());
}

/// The soup's weights are the mean of its members' (which differ from each other).
fn the_mean_is_the_members_average(members: &[train::Outcome], out: &Path) {
    soup::write_mean(members, out, out).unwrap();
    let load = |p: &Path| candle_core::safetensors::load(p, &Device::Cpu).unwrap();
    let mean = load(&out.join("model.safetensors"));
    let runs: Vec<_> = [7, 8, 9]
        .map(|seed| load(&soup::member_dir(out, seed).join("model.safetensors")))
        .into();
    let name = "classifier.weight";
    let values = |t: &candle_core::Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let by_hand: Vec<f32> = (0..values(&mean[name]).len())
        .map(|i| runs.iter().map(|r| values(&r[name])[i]).sum::<f32>() / 3.0)
        .collect();
    for (got, want) in values(&mean[name]).iter().zip(&by_hand) {
        assert!((got - want).abs() < 1e-6, "{got} vs {want}");
    }
    assert!(
        runs.iter().all(|r| values(&r[name]) != values(&mean[name])),
        "the seeds trained different weights"
    );
}

#[test]
fn retuning_the_bias_rewrites_the_file_around_the_same_weights_and_rescores_it() {
    let (_, data, out, outcome) = trained_and_exported("retune");
    let model_file = out.join("medlight-q8_0.safetensors");
    let before = std::fs::read(&model_file).unwrap();
    let probabilities = |format| {
        let tagger = load_tagger(&out, format, &Device::Cpu).unwrap();
        tagger
            .annotate("cisplatin caused renal failure .")
            .unwrap()
            .iter()
            .map(|e| e.score)
            .collect::<Vec<_>>()
    };
    let was = probabilities(Format::Quantized);

    let done =
        trainer::export::retune(&out, &Change::bias(-2.0), &outcome.devel, &Device::Cpu).unwrap();
    let read = |name: &str| json_file(&out.join(name));
    let metrics = read("metrics.json");
    assert_eq!(metrics["outside_bias"], -2.0);
    for format in [Format::F32, Format::Quantized] {
        assert_eq!(
            load_tagger(&out, format, &Device::Cpu)
                .unwrap()
                .model()
                .config
                .outside_bias,
            -2.0,
            "{format:?}"
        );
    }
    // The scores in metrics.json are those of the retuned files.
    let (_, quantized) = trainer::data::tag_and_score(
        &load_tagger(&out, Format::Quantized, &Device::Cpu).unwrap(),
        &outcome.devel,
    )
    .unwrap();
    assert_eq!(
        metrics["devel_quantized"]["overall"]["f1"]
            .as_f64()
            .unwrap(),
        quantized.overall.f1
    );
    assert_eq!(done.devel_quantized.overall.f1, quantized.overall.f1);
    assert!(
        done.devel_f32.is_some(),
        "model.safetensors is there to score"
    );
    assert_eq!(metrics["quantized_sha256"].as_str().unwrap().len(), 64);
    assert!(std::fs::read_to_string(out.join("MODEL_CARD.md"))
        .unwrap()
        .contains("`outside_bias` -2 is added"));
    assert_eq!(
        metrics["runs"][0]["history"].as_array().unwrap().len(),
        10,
        "the training record is kept"
    );

    a_lexicon_goes_into_the_configs_and_a_stranger_is_refused(&out, &data, &outcome.devel);

    // Back to the old bias, without a lexicon: the very same file.
    let old = Change {
        outside_bias: Some(0.5),
        lexicon: Some(Default::default()),
        vocabulary: None,
    };
    trainer::export::retune(&out, &old, &outcome.devel, &Device::Cpu).unwrap();
    assert!(std::fs::read(&model_file).unwrap() == before);
    assert_eq!(probabilities(Format::Quantized), was);

    without_f32_weights_or_with_bad_metrics(&out, &data, &outcome.devel);
}

/// A lexicon of the train split goes into both configs and the card; a lexicon naming a type the model lacks is refused before anything is written.
fn a_lexicon_goes_into_the_configs_and_a_stranger_is_refused(
    out: &Path,
    data: &Path,
    devel: &[Sentence],
) {
    let read = |name: &str| json_file(&out.join(name));
    let lexicon = trainer::export::learn_lexicon(&data.join("train.tsv"), None, 0.5, 4).unwrap();
    let with = Change {
        outside_bias: None,
        lexicon: Some(lexicon.clone()),
        vocabulary: None,
    };
    let done = trainer::export::retune(out, &with, devel, &Device::Cpu).unwrap();
    let entries: usize = lexicon.values().map(Vec::len).sum();
    assert!(entries > 0 && done.lexicon_entries == entries && done.outside_bias == -2.0);
    assert_eq!(read("metrics.json")["lexicon_entries"], entries);
    for format in [Format::F32, Format::Quantized] {
        assert_eq!(
            load_tagger(out, format, &Device::Cpu)
                .unwrap()
                .model()
                .config
                .lexicon,
            lexicon,
            "{format:?}"
        );
    }
    assert!(std::fs::read_to_string(out.join("MODEL_CARD.md"))
        .unwrap()
        .contains(&format!("the {entries} names of `lexicon`")));
    let stranger = Change {
        outside_bias: None,
        lexicon: Some([("Gene".to_string(), vec!["brca1".to_string()])].into()),
        vocabulary: None,
    };
    refused_untouched(
        out,
        &stranger,
        devel,
        "`Gene` is not one of the model's entity types",
    );
}

/// A JSON file the export wrote.
fn json_file(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `change` is refused with an error saying `why`, and the model file is untouched.
fn refused_untouched(out: &Path, change: &Change, devel: &[Sentence], why: &str) {
    let model_file = out.join("medlight-q8_0.safetensors");
    let file = std::fs::read(&model_file).unwrap();
    let err = trainer::export::retune(out, change, devel, &Device::Cpu)
        .err()
        .unwrap();
    assert!(format!("{err:#}").contains(why), "{err:#}");
    assert!(
        std::fs::read(&model_file).unwrap() == file,
        "the model file is untouched"
    );
}

/// Without the f32 weights only the quantised file is scored, and the card says so.
fn without_f32_weights_or_with_bad_metrics(out: &Path, data: &Path, devel: &[Sentence]) {
    let read = |name: &str| json_file(&out.join(name));
    std::fs::remove_file(out.join("model.safetensors")).unwrap();
    let done = trainer::export::retune(out, &Change::bias(1.0), devel, &Device::Cpu).unwrap();
    assert!(done.devel_f32.is_none());
    assert!(read("metrics.json")["devel_f32"].is_null());
    assert!(std::fs::read_to_string(out.join("MODEL_CARD.md"))
        .unwrap()
        .contains("| **–** |"));
    // A bad metrics file is an error before anything is written.
    std::fs::write(out.join("metrics.json"), "{").unwrap();
    refused_untouched(
        out,
        &Change::bias(2.0),
        devel,
        "metrics.json: not a metrics file",
    );
    let err = trainer::export::retune(data, &Change::bias(1.0), devel, &Device::Cpu)
        .err()
        .unwrap();
    assert!(format!("{err:#}").contains("no quantised model"), "{err:#}");
}

#[test]
fn dequantizing_gives_back_the_weights_within_a_quantisation_step_and_the_frozen_table_exactly() {
    let (base, data, out, _) = trained_and_exported("dequantize");
    let trained =
        candle_core::safetensors::load(out.join("model.safetensors"), &Device::Cpu).unwrap();
    // A base model holding the trained table under the base's names (no `bert.` prefix).
    let table_name = trainer::train::WORD_EMBEDDINGS;
    let pretrained = std::collections::HashMap::from([(
        "embeddings.word_embeddings.weight".to_string(),
        trained[table_name].clone(),
    )]);
    candle_core::safetensors::save(&pretrained, base.join("model.safetensors")).unwrap();

    let back = base.parent().unwrap().join("back");
    trainer::dequantize::dequantize(&out, Some(&base), &back).unwrap();
    let restored =
        candle_core::safetensors::load(back.join("model.safetensors"), &Device::Cpu).unwrap();
    assert_eq!(restored.len(), trained.len());
    let values = |t: &candle_core::Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    for (name, tensor) in &trained {
        let (want, got) = (values(tensor), values(&restored[name]));
        let largest = want.iter().fold(0f32, |m, v| m.max(v.abs()));
        let worst = want
            .iter()
            .zip(&got)
            .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        // Matrices are stored as 7-bit rows: one step is at most the largest weight over 63.
        assert!(
            worst <= largest / 63.0,
            "{name}: off by {worst} (largest weight {largest})"
        );
        if name == table_name || name.contains("LayerNorm") || name.ends_with(".bias") {
            assert_eq!(worst, 0.0, "{name} is stored exactly");
        }
    }
    let config = trainer::model_dir::read_config(&back).unwrap();
    assert_eq!(config.outside_bias, 0.5, "the file's config comes back");
    let text = "cisplatin caused renal failure .";
    let found = spans(
        &load_tagger(&back, Format::F32, &Device::Cpu).unwrap(),
        text,
    );
    assert!(!found.is_empty());
    assert_eq!(
        found,
        spans(&load_tagger(&out, Format::F32, &Device::Cpu).unwrap(), text),
        "the trained weights' spans"
    );

    // Without the base the 4-bit table comes back as it is in the file; a base without it is named.
    trainer::dequantize::dequantize(&out, None, &back).unwrap();
    let other = std::collections::HashMap::from([(
        "pooler.dense.bias".to_string(),
        trained["classifier.bias"].clone(),
    )]);
    candle_core::safetensors::save(&other, data.join("model.safetensors")).unwrap();
    let err = trainer::dequantize::dequantize(&out, Some(&data), &back)
        .err()
        .unwrap();
    assert!(
        format!("{err:#}")
            .contains("model.safetensors: no `bert.embeddings.word_embeddings.weight`"),
        "{err:#}"
    );
    let tokenizer = std::fs::read(out.join("tokenizer.json")).unwrap();
    let err = trainer::dequantize::dequantize(&out, None, &out.join("."))
        .err()
        .unwrap();
    assert!(
        format!("{err:#}").contains("the model's own directory"),
        "{err:#}"
    );
    assert_eq!(
        std::fs::read(out.join("tokenizer.json")).unwrap(),
        tokenizer,
        "nothing was overwritten"
    );
}

#[test]
fn a_trained_model_as_the_base_is_scored_without_its_outside_bias_or_lexicon() {
    let (base, data) = fixtures("biased-base");
    let mut config = medlight_ner::BertConfig::from_json(
        &std::fs::read_to_string(base.join("config.json")).unwrap(),
    )
    .unwrap();
    config.outside_bias = 3.0;
    config.lexicon = [("Chemical".to_string(), vec!["cisplatin".to_string()])].into();
    std::fs::write(base.join("config.json"), config.to_json()).unwrap();
    let out = base.parent().unwrap().join("out");
    let outcome = train::run(
        settings(&base, &data, 1),
        &out,
        &Device::Cpu,
        Control::default(),
    )
    .unwrap();
    assert_eq!(
        outcome.config.outside_bias, 0.0,
        "the per-epoch devel scores use the model's config"
    );
    assert!(outcome.config.lexicon.is_empty());
}

#[test]
fn an_ensemble_of_a_model_with_itself_is_the_model_and_a_reading_by_window_covers_every_word() {
    use trainer::data;
    use trainer::ensemble::{self, Reading};
    let (_, data_dir, out, _) = trained_and_exported("ensemble");
    let tagger = load_tagger(&out, Format::F32, &Device::Cpu).unwrap();
    let sentences = data::read_iob2(&data_dir.join("devel.tsv")).unwrap();
    let words = data::words(&sentences);
    let alone = tagger.word_distributions(&words).unwrap();
    let read = |data: Option<PathBuf>| {
        let reading = Reading {
            model: out.clone(),
            data,
        };
        ensemble::distributions(
            &reading,
            tagger.label_set(),
            &sentences,
            Format::F32,
            &Device::Cpu,
        )
        .unwrap()
    };
    let twice = ensemble::mean(vec![alone.clone(), read(None)]);
    assert_eq!(twice, alone);
    let texts = data::chunks(&sentences);
    assert_eq!(
        tagger.tag_distributions(&words, &twice, &texts),
        tagger.tag_texts(&words, &texts).unwrap()
    );

    // The same words packed into windows: fewer sequences, every word still read, in context.
    let windows = data::pack(&sentences, &medlight_ner::testing::tiny_tokenizer(), 16).unwrap();
    assert!(windows.len() < sentences.len(), "{} windows", windows.len());
    let file = out.join("windows.tsv");
    data::write_iob2(&file, &windows).unwrap();
    let by_window = read(Some(file));
    let shape = |d: &medlight_ner::WordDistributions| {
        d.iter()
            .map(|s| s.iter().map(Option::is_some).collect::<Vec<_>>())
            .collect::<Vec<_>>()
    };
    assert_eq!(shape(&by_window), shape(&alone));
    assert_ne!(
        by_window, alone,
        "a word read beside other sentences gets another distribution"
    );
}

#[test]
fn a_teachers_distributions_are_written_read_back_and_learned_as_soft_targets() {
    use trainer::data;
    let (base, data_dir, out, _) = trained_and_exported("soft");
    let teacher = load_tagger(&out, Format::F32, &Device::Cpu).unwrap();
    let sentences = data::read_iob2(&data_dir.join("devel.tsv")).unwrap();
    let words = data::words(&sentences);
    let distributions = teacher.word_distributions(&words).unwrap();
    let predicted = teacher.tag_distributions(&words, &distributions, &data::chunks(&sentences));
    let taught = data::taught(
        &sentences,
        &predicted,
        &distributions,
        teacher.label_set().tags(),
    );
    let corpus = out.parent().unwrap().join("taught");
    std::fs::create_dir_all(&corpus).unwrap();
    data::write_iob2(&corpus.join("train.tsv"), &taught).unwrap();

    let read = data::read_iob2(&corpus.join("train.tsv")).unwrap();
    assert_eq!(read, taught, "the third column reads back exactly");
    for (sentence, (tags, rows)) in read.iter().zip(predicted.iter().zip(&distributions)) {
        assert_eq!(&sentence.tags, tags);
        for (soft, row) in sentence.soft.iter().zip(rows) {
            let labels: Vec<&str> = soft.iter().map(|(l, _)| l.as_str()).collect();
            assert_eq!(labels, teacher.label_set().tags());
            assert_eq!(
                soft.iter().map(|(_, p)| *p).collect::<Vec<_>>(),
                *row.as_ref().unwrap()
            );
        }
    }

    // A student learns the gold corpus and the teacher's distributions together; its loss falls.
    let student = out.parent().unwrap().join("student");
    let with_soft = Settings {
        extra_data: vec![corpus.clone()],
        ..settings(&base, &data_dir, 8)
    };
    let outcome = train::run(with_soft, &student, &Device::Cpu, Control::default()).unwrap();
    let history = &outcome.state.history;
    let (first, last) = (history[0].train_loss, history.last().unwrap().train_loss);
    assert!(last.is_finite() && last < first, "loss {first} → {last}");

    // Soft targets beside a partially annotated corpus are refused before training.
    let partial = out.parent().unwrap().join("diseases");
    std::fs::create_dir_all(&partial).unwrap();
    std::fs::write(
        partial.join("train.tsv"),
        "acute\tB-Disease\nhepatitis\tI-Disease\n.\tO\n",
    )
    .unwrap();
    let both = Settings {
        extra_data: vec![corpus, partial],
        ..settings(&base, &data_dir, 1)
    };
    let err = train::run(
        both,
        &out.parent().unwrap().join("both"),
        &Device::Cpu,
        Control::default(),
    )
    .err()
    .unwrap();
    assert!(format!("{err:#}").contains("soft targets"), "{err:#}");
}

#[test]
fn the_student_stage_trains_a_context_reader_writes_the_mean_of_both_readings_and_chains_its_rounds(
) {
    use trainer::data;
    use trainer::distill::{self, Recipe};
    use trainer::ensemble::{self, Reading};
    let (base, data_dir, teacher, _) = trained_and_exported("distill");
    let root = teacher.parent().unwrap().to_path_buf();
    let (work, out) = (root.join("work"), root.join("student"));
    let recipe = Recipe {
        window_tokens: 16,
        context_epochs: 2,
        context_lr: 3e-3,
        student_epochs: 2,
        student_lr: 3e-3,
        rounds: 2,
        ..Recipe::default()
    };
    let text = data_dir.join("train.tsv");
    let template = settings(&base, &data_dir, 10);
    let student = distill::run(
        &teacher,
        std::slice::from_ref(&text),
        &template,
        &recipe,
        distill::Dirs {
            work: &work,
            out: &out,
        },
        &Device::Cpu,
        Control::default(),
    )
    .unwrap();
    assert_eq!(student.state.history.len(), recipe.student_epochs);
    assert_eq!(
        student.state.settings.base, teacher,
        "each round's student starts from the teacher"
    );
    assert!(out.join("model.safetensors").is_file());
    let round_1 = work.join("round-1").join("student");
    assert!(
        round_1.join("config.json").is_file() && round_1.join("tokenizer.json").is_file(),
        "round 1's student loads as a model"
    );

    // Round 2's targets: the mean of round 1's student by sentence and the context reader by window.
    let sentences = data::read_iob2(&text).unwrap();
    let words = data::words(&sentences);
    let reader = load_tagger(&round_1, Format::F32, &Device::Cpu).unwrap();
    let by_window = Reading {
        model: work.join("context"),
        data: Some(work.join("text-windows.tsv")),
    };
    let expected = ensemble::mean(vec![
        reader.word_distributions(&words).unwrap(),
        ensemble::distributions(
            &by_window,
            reader.label_set(),
            &sentences,
            Format::F32,
            &Device::Cpu,
        )
        .unwrap(),
    ]);
    let taught = data::read_iob2(&work.join("round-2").join("taught").join("train.tsv")).unwrap();
    assert_eq!(
        taught.iter().map(|s| &s.words).collect::<Vec<_>>(),
        sentences.iter().map(|s| &s.words).collect::<Vec<_>>()
    );
    for (sentence, rows) in taught.iter().zip(&expected) {
        for (soft, row) in sentence.soft.iter().zip(rows) {
            let written: Vec<f32> = soft.iter().map(|(_, p)| *p).collect();
            let row = row.as_ref().unwrap();
            assert!(
                written.iter().zip(row).all(|(a, b)| (a - b).abs() < 1e-5),
                "{written:?} against {row:?}"
            );
        }
    }
    let round_1_taught =
        data::read_iob2(&work.join("round-1").join("taught").join("train.tsv")).unwrap();
    assert_ne!(
        round_1_taught, taught,
        "round 2 is taught by round 1's student, not by the first teacher"
    );

    // No text is a named error, before any training.
    let err = distill::run(
        &teacher,
        &[],
        &template,
        &recipe,
        distill::Dirs {
            work: &work,
            out: &out,
        },
        &Device::Cpu,
        Control::default(),
    )
    .err()
    .unwrap();
    assert!(format!("{err:#}").contains("--distill-text"), "{err:#}");
}

#[test]
fn pretraining_lowers_the_held_out_masked_lm_loss_resumes_exactly_and_gives_a_base_to_fine_tune() {
    use trainer::pretrain;
    let (base, data) = fixtures("pretrain");
    let (varmap, _) = medlight_ner::testing::tiny_classifier(11).unwrap();
    varmap.save(base.join("model.safetensors")).unwrap();
    let root = base.parent().unwrap().to_path_buf();
    let settings = pretrain::Settings {
        base: base.clone(),
        text: vec![data.join("train.tsv")],
        held_out: Some(data.join("devel.tsv")),
        head_epochs: 2,
        head_lr: 1e-2,
        epochs: 6,
        batch_size: 2,
        lr: 1e-2,
        warmup: 0.1,
        weight_decay: 0.01,
        clip: 1.0,
        mask_prob: 0.3,
        max_tokens: 12,
        seed: 5,
    };
    let whole = pretrain::run(
        settings.clone(),
        &root.join("tapt"),
        &Device::Cpu,
        Control::default(),
    )
    .unwrap();
    let (before, after) = (
        whole.held_out_before.unwrap(),
        whole.history.last().unwrap().held_out_loss.unwrap(),
    );
    // Slow on the tiny model (the tied, frozen word table is random and small), but every epoch lowers it.
    let held_out: Vec<f64> = std::iter::once(before)
        .chain(whole.history.iter().map(|e| e.held_out_loss.unwrap()))
        .collect();
    assert!(
        held_out.windows(2).all(|w| w[1] < w[0]) && after < before,
        "held-out masked-LM loss by epoch {held_out:?}"
    );
    for file in [
        "model.safetensors",
        "config.json",
        "tokenizer.json",
        "pretrain.json",
    ] {
        assert!(root.join("tapt").join(file).is_file(), "{file} missing");
    }
    the_word_table_stayed_frozen_and_the_layers_trained(&base, &root.join("tapt"));

    assert_eq!(
        whole
            .history
            .iter()
            .map(|e| e.head_only)
            .collect::<Vec<_>>(),
        [true, true, false, false, false, false, false, false]
    );
    // Interrupted after epoch 3 and resumed: the same losses as the run without a break.
    let out = root.join("tapt-resumed");
    let stop = Control {
        resume: false,
        stop_after_epoch: Some(3),
    };
    pretrain::run(settings.clone(), &out, &Device::Cpu, stop).unwrap();
    let again = pretrain::run(settings.clone(), &out, &Device::Cpu, Control::default());
    assert!(
        again.err().unwrap().to_string().contains("--resume"),
        "a checkpoint is not overwritten"
    );
    let resumed = pretrain::run(
        settings,
        &out,
        &Device::Cpu,
        Control {
            resume: true,
            stop_after_epoch: None,
        },
    )
    .unwrap();
    // (The epochs before the break come back from state.json: equal to JSON's float precision.)
    let losses = |s: &pretrain::State| {
        s.history
            .iter()
            .flat_map(|e| [e.train_loss, e.held_out_loss.unwrap()])
            .collect::<Vec<_>>()
    };
    let (a, b) = (losses(&resumed), losses(&whole));
    assert_eq!(a.len(), b.len());
    assert!(
        a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-12),
        "{a:?} vs {b:?}"
    );

    // The output is a base the tagger's training loads (the encoder's tensors; the head is left out).
    let mut fine_tune = settings_for(&root.join("tapt"), &data);
    fine_tune.epochs = 1;
    let outcome = train::run(
        fine_tune,
        &root.join("tagger"),
        &Device::Cpu,
        Control::default(),
    )
    .unwrap();
    assert!(outcome.state.history[0].train_loss.is_finite());
}

/// The word table was loaded and stayed frozen; the layers were loaded and trained.
fn the_word_table_stayed_frozen_and_the_layers_trained(base: &Path, pretrained: &Path) {
    let load = |dir: &Path| {
        candle_core::safetensors::load(dir.join("model.safetensors"), &Device::Cpu).unwrap()
    };
    let (before, after) = (load(base), load(pretrained));
    let values = |t: &candle_core::Tensor| t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
    let table = trainer::train::WORD_EMBEDDINGS;
    assert_eq!(values(&after[table]), values(&before[table]));
    for name in [
        "bert.encoder.layer.0.attention.self.query.weight",
        "cls.predictions.transform.dense.weight",
    ] {
        let trained = values(&after[name]);
        let start = before.get(name).map(values);
        assert!(start.is_none_or(|v| v != trained), "{name} did not change");
    }
}

fn settings_for(base: &Path, data: &Path) -> Settings {
    Settings {
        from_scratch: false,
        ..settings(base, data, 1)
    }
}
