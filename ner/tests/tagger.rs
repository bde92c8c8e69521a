//! The pipeline on raw text: offsets land on the entity's characters for any Unicode text, and
//! inputs longer than a window are read whole.

use candle_core::quantized::GgmlDType;
use medlight_ner::testing::{gguf_bytes, tiny_classifier, tiny_tokenizer_json};
use medlight_ner::Tagger;

fn tagger(seed: u64) -> Tagger {
    let (varmap, model) = tiny_classifier(seed).unwrap();
    let bytes = gguf_bytes(&varmap, &model.config, GgmlDType::Q8_0).unwrap();
    Tagger::from_bytes(&bytes, tiny_tokenizer_json().as_bytes()).unwrap()
}

/// Finds a seed whose random model predicts at least one entity on `text`.
fn tagger_with_entities(text: &str) -> (Tagger, Vec<medlight_ner::Entity>) {
    for seed in 0..200 {
        let t = tagger(seed);
        let found = t.annotate(text).unwrap();
        if !found.is_empty() {
            return (t, found);
        }
    }
    panic!("no random model found an entity");
}

#[test]
fn offsets_fall_on_character_boundaries_in_unicode_text() {
    let text = "Café β-asp\u{e9}irin 💊 induced\r\n nausea, 肝炎 the patient.";
    let (_, entities) = tagger_with_entities(text);
    for e in &entities {
        assert!(
            text.is_char_boundary(e.start) && text.is_char_boundary(e.end),
            "{e:?}"
        );
        let covered = &text[e.start..e.end];
        assert_eq!(
            covered.trim(),
            covered,
            "entity {covered:?} has outer whitespace"
        );
        assert!(!covered.is_empty());
        assert!((0.0..=1.0).contains(&e.score));
    }
}

#[test]
fn empty_and_blank_text_have_no_entities() {
    let t = tagger(1);
    assert!(t.annotate("").unwrap().is_empty());
    assert!(t.annotate(" \n\t ").unwrap().is_empty());
    assert_eq!(t.labels(), ["Chemical", "Disease"]);
}

#[test]
fn long_text_is_read_through_windows_without_truncation() {
    // 120 words: far past an 8-sub-token window, and past the tiny model's 62 positions.
    let sentence = "the patient was treated with cisplatin and renal failure . ";
    let text = sentence.repeat(12);
    let words: Vec<&str> = text.split_whitespace().collect();
    for window in [8, 16, 62] {
        let t = tagger(5).with_window(window);
        let tags = t.tag_sentences(std::slice::from_ref(&words)).unwrap();
        assert_eq!(tags[0].len(), words.len(), "window {window}");
        let entities = t.annotate(&text).unwrap();
        for e in &entities {
            assert!(e.end <= text.len());
        }
    }
    // A window that holds the whole sequence gives the same tags as the model's full window.
    let short = "cisplatin induced nausea .";
    let words: Vec<&str> = short.split_whitespace().collect();
    assert_eq!(
        tagger(6)
            .with_window(16)
            .tag_sentences(std::slice::from_ref(&words))
            .unwrap(),
        tagger(6).tag_sentences(&[words]).unwrap()
    );
}

#[test]
fn text_is_read_sentence_by_sentence_with_offsets_into_the_whole() {
    let text =
        "cisplatin induced nausea . the patient had renal failure! β aspirin 💊\nand cisplatin";
    let spans =
        |entities: Vec<medlight_ner::Entity>, shift: usize| -> Vec<(usize, usize, String)> {
            entities
                .into_iter()
                .map(|e| (e.start + shift, e.end + shift, e.label))
                .collect()
        };
    let (t, _) = tagger_with_entities(text);
    // Sentence by sentence means no consistency rule across them, which the next test checks.
    let t = t.with_consistency(false);
    let whole = t.annotate(text).unwrap();
    // Padded into one batch (as on a GPU) or read one by one (as on a CPU), each sentence gets the
    // same entities.
    let mut one_by_one = Vec::new();
    for range in medlight_ner::sentences::sentences(text) {
        one_by_one.extend(spans(
            t.annotate(&text[range.clone()]).unwrap(),
            range.start,
        ));
    }
    assert_eq!(spans(whole.clone(), 0), one_by_one);
    let batched = t.with_batch_tokens(8192);
    assert_eq!(spans(batched.annotate(text).unwrap(), 0), one_by_one);
    let t = batched;
    // The sub-tokens read are those of the whole text.
    let parts = medlight_ner::sentences::sentences(text);
    assert_eq!(
        t.annotate_parts(text, &parts).unwrap().sub_tokens,
        t.tokenizer().encode(text, false).unwrap().len()
    );
    assert_eq!(medlight_ner::sentences::sentences(text).len(), 4);
}

#[test]
fn the_consistency_rule_spans_each_text_and_no_further() {
    let sentences: Vec<Vec<&str>> = [
        "cisplatin induced renal failure and nausea .",
        "nausea after cisplatin ; renal failure again",
        "renal failure , nausea , cisplatin",
        "aspirin or cisplatin for nausea",
    ]
    .iter()
    .map(|s| s.split(' ').collect())
    .collect();
    let texts = [0..2, 2..4];
    let mut changed = 0;
    for seed in 0..30 {
        let consistent = tagger(seed).tag_texts(&sentences, &texts).unwrap();
        let plain = tagger(seed)
            .with_consistency(false)
            .tag_texts(&sentences, &texts)
            .unwrap();
        let labels = tagger(seed).label_set().clone();
        let mut expected = Vec::new();
        for text in &texts {
            let mut ids: Vec<Vec<usize>> = plain[text.clone()]
                .iter()
                .map(|s| s.iter().map(|t| labels.id(t).unwrap()).collect())
                .collect();
            medlight_ner::consistency::harmonise(&sentences[text.clone()], &mut ids, &labels);
            expected.extend(ids.into_iter().map(|s| {
                s.into_iter()
                    .map(|t| labels.tag(t).to_string())
                    .collect::<Vec<_>>()
            }));
        }
        assert_eq!(
            consistent, expected,
            "seed {seed}: the rule runs within each text, on the decoded tags"
        );
        changed += usize::from(consistent != plain);
        // One text of all four sentences is harmonised as a whole.
        let whole = tagger(seed).tag_sentences(&sentences).unwrap();
        let mut ids: Vec<Vec<usize>> = plain
            .iter()
            .map(|s| s.iter().map(|t| labels.id(t).unwrap()).collect())
            .collect();
        medlight_ner::consistency::harmonise(&sentences, &mut ids, &labels);
        let ids: Vec<Vec<String>> = ids
            .iter()
            .map(|s| s.iter().map(|&t| labels.tag(t).to_string()).collect())
            .collect();
        assert_eq!(whole, ids, "seed {seed}");
    }
    assert!(
        changed > 0,
        "no random model gave the rule anything to change: the test would prove nothing"
    );
}

#[test]
fn the_lexicon_in_the_model_file_tags_only_what_the_model_left_untagged() {
    let (varmap, model) = tiny_classifier(0).unwrap();
    // A bias this large leaves every word `O`: whatever is tagged comes from the lexicon.
    let lexicon = [
        ("Chemical".to_string(), vec!["cisplatin".to_string()]),
        ("Disease".to_string(), vec!["renal failure".to_string()]),
    ];
    let config = medlight_ner::BertConfig {
        outside_bias: 1e3,
        lexicon: lexicon.into(),
        ..model.config.clone()
    };
    let bytes = gguf_bytes(&varmap, &config, GgmlDType::Q8_0).unwrap();
    let t = Tagger::from_bytes(&bytes, tiny_tokenizer_json().as_bytes()).unwrap();
    let text = "Cisplatin caused renal failure. No cisplatin-induced renal pain.";
    let entities = t.annotate(text).unwrap();
    let found: Vec<(&str, &str)> = entities
        .iter()
        .map(|e| (&text[e.start..e.end], e.label.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            ("Cisplatin", "Chemical"),
            ("renal failure", "Disease"),
            ("cisplatin", "Chemical")
        ]
    );
    assert!(t.with_lexicon(false).annotate(text).unwrap().is_empty());
}
