//! The whole pipeline on text: tokenise, run the classifier over windows, decode spans.
//! The browser's worker and `trainer predict`/`eval` use exactly this code.

use std::collections::BTreeMap;
use std::ops::Range;

use candle_core::{Device, Tensor};
use tokenizers::Tokenizer;

use crate::align::{self, SpecialTokens, WordPieces};
use crate::decode::{self, Decoding, Entity};
use crate::lexicon::Lexicon;
use crate::model::TokenClassifier;
use crate::{LabelSet, Result};

/// Positions shared by consecutive windows of a long input.
const WINDOW_OVERLAP: usize = 128;
/// Sub-tokens per forward pass when classifying many sequences at once on a GPU.
const GPU_BATCH_TOKENS: usize = 8192;
/// The same for a float model on the CPU (devel evaluation while training, `trainer eval --format
/// f32`): candle's matrix products use both cores better on bigger matrices. 800 devel sentences
/// took 8.3–9.6 s in batches of 1,024 sub-tokens (512: 11.4–12.6 s, 2,048 and 4,096: 9.3–10.6 s)
/// against 19.6–22.2 s one by one. The integer layers of a quantised model run one sentence at a
/// time instead: there padding to a batch's longest cost more than batching saved (BC5CDR devel
/// sentences in the browser, one worker: 275 sub-tokens/s batched vs 461 one by one).
const CPU_FLOAT_BATCH_TOKENS: usize = 1024;

/// A word's predicted tag id and the probability the model gave it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WordPrediction {
    pub tag: usize,
    pub prob: f32,
}

/// Per sentence, per word: the word's label distribution, or `None` for a word without sub-tokens.
pub type WordDistributions = Vec<Vec<Option<Vec<f32>>>>;

/// What [`Tagger::annotate_parts`] found, and how many sub-tokens it read to find it.
#[derive(Debug, Clone, PartialEq)]
pub struct Annotated {
    pub entities: Vec<Entity>,
    pub sub_tokens: usize,
}

pub struct Tagger {
    model: TokenClassifier,
    tokenizer: Tokenizer,
    special: SpecialTokens,
    /// Sub-tokens per window, `[CLS]` and `[SEP]` excluded.
    window: usize,
    decoding: Decoding,
    /// Whether [`crate::consistency::harmonise`] runs over each text's tags.
    consistent: bool,
    /// The model config's lexicon; empty when turned off.
    lexicon: Lexicon,
    batch_tokens: usize,
    /// Whether [`crate::spans::tidy`] runs over entities found in raw text.
    span_rules: bool,
}

impl Tagger {
    pub fn new(model: TokenClassifier, tokenizer: Tokenizer) -> Result<Self> {
        let special = SpecialTokens::from_tokenizer(&tokenizer)?;
        let window = model.config.max_position_embeddings - 2;
        let batch_tokens = match (model.device().is_cpu(), model.computes_in_integers()) {
            (false, _) => GPU_BATCH_TOKENS,
            (true, false) => CPU_FLOAT_BATCH_TOKENS,
            (true, true) => 0,
        };
        let lexicon = Lexicon::new(&model.config.lexicon);
        Ok(Self {
            model,
            tokenizer,
            special,
            window,
            decoding: Decoding::default(),
            consistent: true,
            lexicon,
            batch_tokens,
            span_rules: true,
        })
    }

    /// The quantised model file (safetensors, or GGUF) and `tokenizer.json`, as the web app fetches them.
    pub fn from_bytes(model: &[u8], tokenizer_json: &[u8]) -> Result<Self> {
        let model = TokenClassifier::from_model_file(model, &Device::Cpu)?;
        Self::new(model, align::load_tokenizer(tokenizer_json)?)
    }

    /// Shrinks the window (tests use it to exercise long-input handling on short text).
    pub fn with_window(mut self, window: usize) -> Self {
        self.window = window.clamp(2, self.model.config.max_position_embeddings - 2);
        self
    }

    /// Sub-tokens (padding included) per forward pass; a sequence longer than this still goes alone.
    pub fn with_batch_tokens(mut self, batch_tokens: usize) -> Self {
        self.batch_tokens = batch_tokens;
        self
    }

    /// Chooses how label distributions become tags ([`Decoding::Viterbi`] unless set).
    pub fn with_decoding(mut self, decoding: Decoding) -> Self {
        self.decoding = decoding;
        self
    }

    /// Turns the one-string-one-type rule of [`crate::consistency`] on (the default) or off.
    pub fn with_consistency(mut self, consistent: bool) -> Self {
        self.consistent = consistent;
        self
    }

    /// Turns the model config's lexicon ([`crate::lexicon`]) on (the default) or off.
    pub fn with_lexicon(mut self, on: bool) -> Self {
        self.lexicon = if on {
            Lexicon::new(&self.model.config.lexicon)
        } else {
            Lexicon::default()
        };
        self
    }

    /// Replaces the model config's lexicon by `entries` (type → names), e.g. one learned anew from a
    /// train split with another rule (`trainer eval --lexicon`).
    pub fn with_lexicon_entries(mut self, entries: &BTreeMap<String, Vec<String>>) -> Self {
        self.lexicon = Lexicon::new(entries);
        self
    }

    /// Turns the raw-text span rules ([`crate::spans`]) on (the default) or off.
    pub fn with_span_rules(mut self, on: bool) -> Self {
        self.span_rules = on;
        self
    }

    /// Replaces the model config's `outside_bias`.
    pub fn with_outside_bias(mut self, bias: f32) -> Self {
        self.model.config.outside_bias = bias;
        self
    }

    pub fn model(&self) -> &TokenClassifier {
        &self.model
    }

    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    pub fn label_set(&self) -> &LabelSet {
        &self.model.labels
    }

    /// The entity types this model finds, e.g. `["Chemical", "Disease"]`.
    pub fn labels(&self) -> Vec<String> {
        self.model.labels.entity_types()
    }

    /// Entities in `text`, with UTF-8 byte offsets into it. The text is read sentence by sentence,
    /// as the model was trained.
    pub fn annotate(&self, text: &str) -> Result<Vec<Entity>> {
        Ok(self
            .annotate_parts(text, &crate::sentences::sentences(text))?
            .entities)
    }

    /// Entities in the given byte ranges of `text` (sentences, say), each read as its own sequence
    /// and all classified in one batch; offsets are into `text`. The parts are one text to the
    /// consistency rule.
    pub fn annotate_parts(&self, text: &str, parts: &[Range<usize>]) -> Result<Annotated> {
        let encoded: Vec<align::TextPieces> = parts
            .iter()
            .map(|r| align::encode_text(&self.tokenizer, &text[r.clone()]))
            .collect::<Result<_>>()?;
        let encoded: Vec<(&Range<usize>, align::TextPieces)> = parts
            .iter()
            .zip(encoded)
            .filter(|(_, p)| !p.words.is_empty())
            .collect();
        let firsts: Vec<Vec<usize>> = encoded
            .iter()
            .map(|(_, p)| p.words.iter().map(|w| w.pieces.start).collect())
            .collect();
        let inputs: Vec<(&[u32], &[usize])> = encoded
            .iter()
            .zip(&firsts)
            .map(|((_, p), f)| (p.ids.as_slice(), f.as_slice()))
            .collect();
        let rows = self.classify(&inputs)?;
        let words: Vec<Vec<&str>> = encoded
            .iter()
            .map(|(range, p)| {
                p.words
                    .iter()
                    .map(|w| &text[range.start + w.bytes.start..range.start + w.bytes.end])
                    .collect()
            })
            .collect();
        let tags = self.decode_text(&words, &rows);
        let labels = &self.model.labels;
        let mut entities = Vec::new();
        for (((range, pieces), tags), rows) in encoded.iter().zip(&tags).zip(&rows) {
            let names: Vec<&str> = tags.iter().map(|&t| labels.tag(t)).collect();
            let probs: Vec<f32> = tags.iter().zip(rows).map(|(&t, row)| row[t]).collect();
            let spans: Vec<_> = pieces
                .words
                .iter()
                .map(|w| w.bytes.start + range.start..w.bytes.end + range.start)
                .collect();
            entities.extend(decode::entities(&spans, &names, &probs));
        }
        if self.span_rules {
            crate::spans::tidy(text, &mut entities);
        }
        // Over the whole text, not the parts: a section header sets the context of what follows it.
        crate::context::ContextRules::builtin().apply(text, &mut entities);
        Ok(Annotated {
            entities,
            sub_tokens: encoded.iter().map(|(_, p)| p.ids.len()).sum(),
        })
    }

    /// Tags for pre-split sentences (as in an IOB2 file), read as one text. A word without
    /// sub-tokens gets `O`.
    pub fn tag_sentences(&self, sentences: &[Vec<&str>]) -> Result<Vec<Vec<String>>> {
        self.tag_texts(sentences, std::slice::from_ref(&(0..sentences.len())))
    }

    /// The same for several texts at once, all classified in one batch: `texts` are ranges of
    /// consecutive sentences, each one text to the consistency rule; sentences outside them get no tags.
    pub fn tag_texts(
        &self,
        sentences: &[Vec<&str>],
        texts: &[Range<usize>],
    ) -> Result<Vec<Vec<String>>> {
        Ok(self.tag_distributions(sentences, &self.word_distributions(sentences)?, texts))
    }

    /// Each word's label distribution, sentence by sentence; `None` for a word without sub-tokens.
    /// Apart from [`Tagger::tag_distributions`] so that several decodings (or several models' mean,
    /// `trainer eval --ensemble`) can share one run of the model.
    pub fn word_distributions(&self, sentences: &[Vec<&str>]) -> Result<WordDistributions> {
        let encoded: Vec<WordPieces> = sentences
            .iter()
            .map(|words| align::encode_words(&self.tokenizer, words))
            .collect::<Result<_>>()?;
        let queries: Vec<Vec<usize>> = encoded
            .iter()
            .map(|e| e.first_piece.iter().flatten().copied().collect())
            .collect();
        let inputs: Vec<(&[u32], &[usize])> = encoded
            .iter()
            .zip(&queries)
            .map(|(e, q)| (e.ids.as_slice(), q.as_slice()))
            .collect();
        let rows = self.classify(&inputs)?;
        Ok(encoded
            .iter()
            .zip(rows)
            .map(|(e, rows)| {
                let mut rows = rows.into_iter();
                e.first_piece
                    .iter()
                    .map(|first| first.map(|_| rows.next().expect("one row per query")))
                    .collect()
            })
            .collect())
    }

    /// Tags from per-word label distributions ([`Tagger::word_distributions`]), read as
    /// [`Tagger::tag_texts`] reads them. A word without a distribution gets `O` and takes no part in decoding.
    pub fn tag_distributions(
        &self,
        sentences: &[Vec<&str>],
        distributions: &WordDistributions,
        texts: &[Range<usize>],
    ) -> Vec<Vec<String>> {
        let words: Vec<Vec<&str>> = sentences
            .iter()
            .zip(distributions)
            .map(|(s, d)| {
                s.iter()
                    .zip(d)
                    .filter(|(_, d)| d.is_some())
                    .map(|(w, _)| *w)
                    .collect()
            })
            .collect();
        let rows: Vec<Vec<Vec<f32>>> = distributions
            .iter()
            .map(|d| d.iter().flatten().cloned().collect())
            .collect();
        let labels = &self.model.labels;
        let mut out = vec![Vec::new(); sentences.len()];
        for text in texts {
            let tags = self.decode_text(&words[text.clone()], &rows[text.clone()]);
            for (i, tags) in text.clone().zip(tags) {
                let mut tags = tags.into_iter();
                out[i] = distributions[i]
                    .iter()
                    .map(|d| match d {
                        Some(_) => labels
                            .tag(tags.next().expect("one tag per distribution"))
                            .to_string(),
                        None => "O".to_string(),
                    })
                    .collect();
            }
        }
        out
    }

    /// Tag ids for the sentences of one text, from their words' label distributions: each sentence
    /// decoded, then the consistency rule across them, then the lexicon's names where the model missed them.
    fn decode_text(&self, words: &[Vec<&str>], rows: &[Vec<Vec<f32>>]) -> Vec<Vec<usize>> {
        let mut tags: Vec<Vec<usize>> = rows.iter().map(|r| self.tag_ids(r)).collect();
        if self.consistent {
            crate::consistency::harmonise(words, &mut tags, &self.model.labels);
        }
        self.lexicon.fill(words, &mut tags, &self.model.labels);
        tags
    }

    /// Tags (and their probabilities) for one sequence of per-word label distributions.
    pub fn decode(&self, rows: &[Vec<f32>]) -> Vec<WordPrediction> {
        self.tag_ids(rows)
            .into_iter()
            .zip(rows)
            .map(|(tag, row)| WordPrediction {
                tag,
                prob: row[tag],
            })
            .collect()
    }

    /// The tag ids of [`Tagger::decode`], without the probabilities.
    fn tag_ids(&self, rows: &[Vec<f32>]) -> Vec<usize> {
        decode::decode_tags(
            rows,
            &self.model.labels,
            self.decoding,
            self.model.config.outside_bias,
        )
    }

    /// For each sequence of sub-token ids, the label distribution at each queried position. Long
    /// sequences are cut into overlapping windows; windows of all sequences are batched by length.
    pub fn classify(&self, inputs: &[(&[u32], &[usize])]) -> Result<Vec<Vec<Vec<f32>>>> {
        // Every window of every input: (input index, range of sub-tokens).
        let mut jobs = Vec::new();
        let mut windows_of = Vec::with_capacity(inputs.len());
        for (i, (ids, _)) in inputs.iter().enumerate() {
            let overlap = WINDOW_OVERLAP.min(self.window / 2);
            let windows = align::windows(ids.len(), self.window, overlap);
            let first_job = jobs.len();
            jobs.extend(windows.iter().map(|w| (i, w.clone())));
            windows_of.push((first_job, windows));
        }
        let mut order: Vec<usize> = (0..jobs.len()).collect();
        order.sort_by_key(|&j| jobs[j].1.len());
        // Per job: row-major (len + 2) × labels probabilities.
        let mut probs: Vec<Vec<f32>> = vec![Vec::new(); jobs.len()];
        let mut start = 0;
        while start < order.len() {
            let longest = jobs[order[start]].1.len() + 2;
            let mut end = start + 1;
            while end < order.len()
                && (end - start + 1) * (jobs[order[end]].1.len() + 2)
                    <= self.batch_tokens.max(longest)
            {
                end += 1;
            }
            let batch: Vec<&[u32]> = order[start..end]
                .iter()
                .map(|&j| &inputs[jobs[j].0].0[jobs[j].1.clone()])
                .collect();
            for (&j, p) in order[start..end].iter().zip(self.probabilities(&batch)?) {
                probs[j] = p;
            }
            start = end;
        }
        let n_labels = self.model.labels.len();
        Ok(inputs
            .iter()
            .zip(&windows_of)
            .map(|((_, queries), (first_job, windows))| {
                queries
                    .iter()
                    .map(|&position| {
                        let w = align::best_window(windows, position);
                        let row = position - windows[w].start + 1; // +1 for [CLS]
                        probs[first_job + w][row * n_labels..(row + 1) * n_labels].to_vec()
                    })
                    .collect()
            })
            .collect())
    }

    /// Softmax probabilities for a batch of windows, each framed by `[CLS]`/`[SEP]` and padded.
    fn probabilities(&self, windows: &[&[u32]]) -> Result<Vec<Vec<f32>>> {
        let (ids, mask) = frame_batch(windows, self.special);
        let device = self.model.device();
        let len = windows.iter().map(|w| w.len() + 2).max().unwrap_or(2);
        let ids = Tensor::from_vec(ids, (windows.len(), len), device)?;
        let mask = Tensor::from_vec(mask, (windows.len(), len), device)?;
        let logits = self.model.forward(&ids, &mask, None)?;
        let probs = candle_nn::ops::softmax_last_dim(&logits)?.to_device(&Device::Cpu)?;
        let n_labels = self.model.labels.len();
        let rows: Vec<Vec<f32>> = probs.flatten_from(1)?.to_vec2()?;
        Ok(rows
            .into_iter()
            .zip(windows)
            .map(|(mut row, w)| {
                row.truncate((w.len() + 2) * n_labels);
                row
            })
            .collect())
    }
}

/// `[CLS] ids [SEP]` for each window, right-padded to the longest; returns flat ids and mask.
pub fn frame_batch(windows: &[&[u32]], special: SpecialTokens) -> (Vec<u32>, Vec<u32>) {
    let len = windows.iter().map(|w| w.len() + 2).max().unwrap_or(2);
    let mut ids = Vec::with_capacity(windows.len() * len);
    let mut mask = Vec::with_capacity(windows.len() * len);
    for window in windows {
        ids.push(special.cls);
        ids.extend_from_slice(window);
        ids.push(special.sep);
        let pad = len - window.len() - 2;
        ids.extend(std::iter::repeat_n(special.pad, pad));
        mask.extend(std::iter::repeat_n(1, window.len() + 2));
        mask.extend(std::iter::repeat_n(0, pad));
    }
    (ids, mask)
}
