//! `MODEL_CARD.md`: what the model tags, its devel scores, its files and how it was trained.

use medlight_ner::LabelSet;

use super::{Metrics, RunSummary};

fn pct(x: f64) -> String {
    format!("{:.2}", 100.0 * x)
}

pub(super) fn model_card(m: &Metrics, labels: &LabelSet) -> String {
    let s = &m.settings;
    // The f32 column is "–" where the f32 weights were not there to score (after `retune`).
    let f32_f1 = |kind: Option<&str>| match (&m.devel_f32, kind) {
        (None, _) => "–".to_string(),
        (Some(r), None) => pct(r.overall.f1),
        (Some(r), Some(kind)) => r.per_type.get(kind).map_or("–".to_string(), |s| pct(s.f1)),
    };
    let mut rows = String::new();
    for (kind, q) in &m.devel_quantized.per_type {
        rows.push_str(&format!(
            "| {kind} | {} | {} | {} | {} | {} |\n",
            pct(q.precision),
            pct(q.recall),
            f32_f1(Some(kind)),
            pct(q.f1),
            q.support
        ));
    }
    format!(
        "# Medlight BC5CDR token classifier\n\n\
         A BERT token classifier that tags **{types}** mentions in English biomedical text (IOB2 tags \
         `{tags}`). Fine-tuned by Medlight's trainer from `{base}` on `{data}/train.tsv`{extra}; model selection \
         on `devel.tsv` only.\n\n\
         ## Devel scores (entity level, exact match, seqeval default mode)\n\n\
         | type | precision ({quant}) | recall ({quant}) | F1 (f32) | F1 ({quant}) | gold entities |\n|---|---|---|---|---|---|\n\
         {rows}| **overall** | {p} | {r} | **{f}** | **{qf}** | {support} |\n\n\
         ## Files\n\n\
         - `{file}` ({mb:.1} MB, SHA-256 `{sha}`): the quantised model the web app runs. safetensors \
         (Medlight format {format_version}): each encoder weight matrix, quantised to `{quant}` and then to 7-bit integers with \
         one scale per row, as `I8` with an `F32` `<name>_scale`; the position embeddings in `{quant}` blocks and \
         the word embedding table in `{equant}` blocks, both as `U8` rows (metadata `medlight.blocks`); norms, \
         biases and the classifier in `F32`; metadata `medlight.config` holds `config.json` but its lexicon, \
         which `medlight.lexicon` holds compressed (zlib, in base64). Inference runs the \
         linear layers in integer arithmetic on those integers (inputs quantised per row to 8 bits), the rest \
         in f32. The {quant} columns are computed that way, as the browser computes.\n\
         - `config.json` (also in the file's metadata): `outside_bias` {bias} is added to the log-probability of \
         `O` before constrained Viterbi decoding, so a word becomes part of an entity only when the model is \
         surer of it; all columns are scored with it, and with Medlight's one-string-one-type rule: devel is \
         read in chunks of consecutive sentences of at most {chunk} bytes, as the browser reads text; an \
         abbreviation the chunk defines in parentheses takes the type of the entity it abbreviates (or is no \
         entity if its long form is none), and a string the model tags in one sentence of a chunk is tagged the \
         same way throughout it.{lexicon}\n\
         - `tokenizer.json`: the base encoder's WordPiece tokenizer (lower-casing), with padding and truncation off.\n\n\
         ## Training\n\n\
         {runs}; batch {batch}; AdamW lr {lr:e}, warmup {warmup}, \
         linear decay, weight decay {wd}, clip {clip}; dropout {hd}/{ad}; label smoothing {ls}; word embeddings \
         {embeddings}. {secs:.0} s of training steps on {device} ({tps:.0} tokens/s), {epoch_secs:.0} s with the devel \
         evaluation after each epoch.\n\n\
         ## Limits\n\n\
         Trained on PubMed abstracts: clinical notes, other languages and other entity types (genes, \
         species) are out of domain. Predictions are suggestions for a reader, not a diagnosis.\n",
        types = labels.entity_types().join(" and "),
        tags = labels.tags().join("`, `"),
        base = s.base.display(),
        data = s.data.display(),
        extra = s.extra_data.iter().map(|d| format!(" and `{}/train.tsv` (the types it annotates, or a teacher's label distributions)", d.display())).collect::<String>(),
        format_version = medlight_ner::model::model_file::VERSION,
        quant = m.quantization,
        bias = m.outside_bias,
        chunk = medlight_ner::sentences::CHUNK_BYTES,
        lexicon = match m.lexicon_entries {
            0 => String::new(),
            n => format!(
                " Last, the {n} names of `lexicon` (entity strings of the train split that it tags in a large \
                 enough share of their occurrences: the trainer's `--lexicon-min-share` and `--lexicon-min-chars`) \
                 are tagged, with the type the train split gives them, wherever the model tagged none of a name's \
                 words or only parts of the name with that type."
            ),
        },
        equant = m.word_embeddings_quantization,
        embeddings = if s.freeze_embeddings { "frozen" } else { "trained" },
        p = pct(m.devel_quantized.overall.precision),
        r = pct(m.devel_quantized.overall.recall),
        f = f32_f1(None),
        qf = pct(m.devel_quantized.overall.f1),
        support = m.devel_quantized.overall.support,
        file = m.quantized_file,
        mb = m.quantized_bytes as f64 / 1e6,
        sha = m.quantized_sha256,
        runs = runs_description(m),
        batch = s.batch_size,
        lr = s.lr,
        warmup = s.warmup,
        wd = s.weight_decay,
        clip = s.clip,
        hd = s.hidden_dropout,
        ad = s.attention_dropout,
        ls = s.label_smoothing,
        secs = m.train_seconds,
        epoch_secs = m.epochs_seconds,
        device = m.device,
        tps = m.tokens_per_second,
    )
}

/// "Seed 42; 12 epochs (best: epoch 12; --average-last 1)", or for a soup the runs it averages.
fn runs_description(m: &Metrics) -> String {
    let s = &m.settings;
    let epochs = format!("{} epochs", s.epochs);
    match m.runs.as_slice() {
        [run] => format!("Seed {}; {epochs} (best: {}; --average-last {})", run.seed, best_description(run), s.average_last),
        runs => format!(
            "The element-wise mean of the best weights of {} runs that differ only in their seed: {}. Each run: \
             {epochs} (--average-last {})",
            runs.len(),
            runs.iter()
                .map(|r| format!("seed {} (best: {}, devel F1 {} f32)", r.seed, best_description(r), pct(r.best_f1)))
                .collect::<Vec<_>>()
                .join(", "),
            s.average_last
        ),
    }
}

/// "epoch 5", or "the mean of epochs 9-12" for an averaged model.
fn best_description(run: &RunSummary) -> String {
    match run.best_averaged {
        0 | 1 => format!("epoch {}", run.best_epoch),
        n => format!(
            "the mean of epochs {}-{}",
            run.best_epoch + 1 - n,
            run.best_epoch
        ),
    }
}
