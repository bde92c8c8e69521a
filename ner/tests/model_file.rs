//! The safetensors model file the web app fetches: it follows the safetensors spec (checked here
//! against the spec, not with the crate that wrote it), it gives exactly the logits of the GGUF file
//! it replaces, and a damaged one is a named error.

use candle_core::quantized::GgmlDType;
use candle_core::{Device, Tensor};
use medlight_ner::model::quantize::{edit_config, gguf_to_safetensors};
use medlight_ner::model::TokenClassifier;
use medlight_ner::testing::{gguf_bytes, safetensors_bytes, tiny_classifier};
use serde_json::Value;

const SHIPPED: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../public/models/medlight-q8_0.safetensors"
);

fn logits(model: &TokenClassifier) -> Vec<f32> {
    let ids = Tensor::new(&[[2u32, 5, 6, 7, 8, 3]], &Device::Cpu).unwrap();
    let mask = Tensor::ones((1, 6), candle_core::DType::U32, &Device::Cpu).unwrap();
    model
        .forward(&ids, &mask, None)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap()
}

fn load(bytes: &[u8]) -> TokenClassifier {
    TokenClassifier::from_model_file(bytes, &Device::Cpu).unwrap()
}

#[test]
fn the_safetensors_file_gives_the_logits_of_the_gguf_file_of_the_same_weights() {
    let (varmap, model) = tiny_classifier(21).unwrap();
    for dtype in [GgmlDType::Q8_0, GgmlDType::Q4_0] {
        let gguf = gguf_bytes(&varmap, &model.config, dtype).unwrap();
        let safetensors = safetensors_bytes(&varmap, &model.config, dtype).unwrap();
        assert!(!safetensors.starts_with(b"GGUF"));
        let expected = logits(&load(&gguf));
        assert_eq!(logits(&load(&safetensors)), expected, "{dtype:?}");
        assert_eq!(
            logits(&load(&gguf_to_safetensors(&gguf).unwrap())),
            expected,
            "{dtype:?} converted"
        );
        assert!(load(&safetensors).computes_in_integers());
    }
}

#[test]
fn a_new_config_keeps_every_tensor_byte_for_byte() {
    let (varmap, model) = tiny_classifier(22).unwrap();
    let original = safetensors_bytes(&varmap, &model.config, GgmlDType::Q8_0).unwrap();
    let mut biased = std::io::Cursor::new(Vec::new());
    edit_config(&original, &mut biased, |c| c.outside_bias = 2.5).unwrap();
    let biased = biased.into_inner();
    let reread = load(&biased);
    assert_eq!(reread.config.outside_bias, 2.5);
    assert_eq!(logits(&reread), logits(&load(&original)));
    let (a, b) = (header(&original), header(&biased));
    for (name, info) in a
        .as_object()
        .unwrap()
        .iter()
        .filter(|(n, _)| *n != "__metadata__")
    {
        assert_eq!(
            tensor_bytes(&original, &a, name),
            tensor_bytes(&biased, &b, name),
            "{name}"
        );
        assert_eq!(info["shape"], b[name]["shape"]);
    }
}

#[test]
fn damaged_files_are_named_errors() {
    let (varmap, model) = tiny_classifier(23).unwrap();
    let bytes = safetensors_bytes(&varmap, &model.config, GgmlDType::Q8_0).unwrap();
    let error = |bytes: &[u8]| {
        TokenClassifier::from_model_file(bytes, &Device::Cpu)
            .err()
            .unwrap()
            .to_string()
    };
    assert!(
        error(&bytes[..bytes.len() - 10]).contains("safetensors"),
        "{}",
        error(&bytes[..bytes.len() - 10])
    );
    // The same file with its config entry renamed is no Medlight model.
    let key = b"medlight.config";
    let at = bytes
        .windows(key.len())
        .position(|w| w == key)
        .expect("the key is in the header");
    let mut renamed = bytes.clone();
    renamed[at + 9] = b'X';
    assert!(
        error(&renamed).contains("medlight.config"),
        "{}",
        error(&renamed)
    );
}

/// The header as the spec defines it: 8 bytes of little-endian length, then that much JSON.
fn header(file: &[u8]) -> Value {
    let n = u64::from_le_bytes(file[..8].try_into().unwrap()) as usize;
    serde_json::from_slice(&file[8..8 + n]).expect("the header is JSON")
}

fn tensor_bytes<'a>(file: &'a [u8], header: &Value, name: &str) -> &'a [u8] {
    let start = 8 + u64::from_le_bytes(file[..8].try_into().unwrap()) as usize;
    let offsets = &header[name]["data_offsets"];
    &file[start + offsets[0].as_u64().unwrap() as usize
        ..start + offsets[1].as_u64().unwrap() as usize]
}

#[test]
fn the_shipped_file_follows_the_safetensors_spec_and_stores_integers() {
    let file = std::fs::read(SHIPPED).expect(SHIPPED);
    // No larger than the GGUF file it replaced, though its lexicon has since gained the MeSH
    // vocabulary: compressed, the names fit (docs/model-file.md).
    assert!(file.len() <= 18_284_064, "{} bytes", file.len());
    let n = u64::from_le_bytes(file[..8].try_into().unwrap()) as usize;
    let header = header(&file);
    let metadata = &header["__metadata__"];
    assert_eq!(metadata["medlight.format"], "3");
    let config: Value = serde_json::from_str(metadata["medlight.config"].as_str().unwrap())
        .expect("config is JSON");
    assert!(
        config.get("lexicon").is_none(),
        "the lexicon has its own entry"
    );
    // The lexicon entry is zlib in base64, as the format says; read with the plain codecs.
    let lexicon = lexicon_entry(metadata);
    for kind in ["Chemical", "Disease"] {
        assert!(lexicon[kind].as_array().unwrap().len() > 10_000, "{kind}");
    }
    let blocks: Value =
        serde_json::from_str(metadata["medlight.blocks"].as_str().unwrap()).unwrap();
    assert_eq!(blocks["bert.embeddings.word_embeddings.weight"], "q4_0");

    // Offsets tile the data section exactly, and each tensor's bytes match its dtype and shape.
    let mut spans = Vec::new();
    let mut int_matrices = 0;
    for (name, info) in header
        .as_object()
        .unwrap()
        .iter()
        .filter(|(n, _)| *n != "__metadata__")
    {
        let shape: Vec<usize> = info["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap() as usize)
            .collect();
        let (start, end) = (
            info["data_offsets"][0].as_u64().unwrap(),
            info["data_offsets"][1].as_u64().unwrap(),
        );
        let size = match info["dtype"].as_str().unwrap() {
            "F32" => 4,
            "I8" | "U8" => 1,
            other => panic!("{name}: unexpected dtype {other}"),
        };
        assert_eq!(
            (end - start) as usize,
            size * shape.iter().product::<usize>(),
            "{name}"
        );
        spans.push((start, end));
        if info["dtype"] == "I8" {
            int_matrices += 1;
            let values = tensor_bytes(&file, &header, name);
            assert!(
                values.iter().all(|&v| (v as i8).unsigned_abs() <= 63),
                "{name}: 7-bit values"
            );
            assert_eq!(
                header[format!("{name}_scale")]["shape"][0]
                    .as_u64()
                    .unwrap() as usize,
                shape[0]
            );
        }
    }
    spans.sort();
    assert_eq!(spans[0].0, 0);
    assert!(
        spans.windows(2).all(|w| w[0].1 == w[1].0),
        "no gaps or overlaps"
    );
    assert_eq!(8 + n + spans.last().unwrap().1 as usize, file.len());
    // Six matrices in each of the six layers: query, key, value, attention output, intermediate, output.
    assert_eq!(int_matrices, 36);
}

/// The `medlight.lexicon` entry decoded with base64 and zlib directly, not through the reader.
fn lexicon_entry(metadata: &Value) -> Value {
    use base64::Engine as _;
    let zlib = base64::engine::general_purpose::STANDARD
        .decode(
            metadata["medlight.lexicon"]
                .as_str()
                .expect("a lexicon entry"),
        )
        .expect("base64");
    let json = miniz_oxide::inflate::decompress_to_vec_zlib(&zlib).expect("zlib");
    serde_json::from_slice(&json).expect("JSON")
}

/// `file` with its metadata changed by `edit`: the header written again (padded as the spec
/// asks), the data section as it was.
fn with_metadata(file: &[u8], edit: impl FnOnce(&mut serde_json::Map<String, Value>)) -> Vec<u8> {
    let n = u64::from_le_bytes(file[..8].try_into().unwrap()) as usize;
    let mut header = header(file);
    edit(header["__metadata__"].as_object_mut().unwrap());
    let mut json = serde_json::to_vec(&header).unwrap();
    json.resize(json.len().next_multiple_of(8), b' ');
    let mut out = (json.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&json);
    out.extend_from_slice(&file[8 + n..]);
    out
}

fn with_lexicon(seed: u64) -> (Vec<u8>, medlight_ner::BertConfig) {
    let (varmap, model) = tiny_classifier(seed).unwrap();
    let mut config = model.config.clone();
    config.lexicon = std::collections::BTreeMap::from([
        ("Chemical".to_string(), vec!["coumadin".to_string()]),
        (
            "Disease".to_string(),
            vec!["reye syndrome".to_string(), "lead poisoning".to_string()],
        ),
    ]);
    let bytes = safetensors_bytes(&varmap, &config, GgmlDType::Q8_0).unwrap();
    (bytes, config)
}

#[test]
fn the_lexicon_travels_compressed_beside_the_config_and_reads_back() {
    let (bytes, config) = with_lexicon(24);
    let written = header(&bytes);
    let metadata = &written["__metadata__"];
    let stored: Value =
        serde_json::from_str(metadata["medlight.config"].as_str().unwrap()).unwrap();
    assert!(stored.get("lexicon").is_none());
    assert_eq!(
        lexicon_entry(metadata),
        serde_json::to_value(&config.lexicon).unwrap()
    );
    assert_eq!(load(&bytes).config.lexicon, config.lexicon);

    // Without a lexicon there is no entry.
    let (varmap, model) = tiny_classifier(24).unwrap();
    let plain = safetensors_bytes(&varmap, &model.config, GgmlDType::Q8_0).unwrap();
    assert!(header(&plain)["__metadata__"]
        .get("medlight.lexicon")
        .is_none());
    assert!(load(&plain).config.lexicon.is_empty());
}

#[test]
fn a_version_2_file_with_the_lexicon_in_its_config_still_reads() {
    let (bytes, config) = with_lexicon(25);
    let version_2 = with_metadata(&bytes, |metadata| {
        metadata.remove("medlight.lexicon");
        metadata.insert("medlight.format".into(), "2".into());
        metadata.insert("medlight.config".into(), Value::String(config.to_json()));
    });
    let model = load(&version_2);
    assert_eq!(model.config.lexicon, config.lexicon);
    assert_eq!(logits(&model), logits(&load(&bytes)));
}

#[test]
fn a_damaged_lexicon_entry_is_an_error_naming_it() {
    let (bytes, config) = with_lexicon(26);
    let error = |edit: &dyn Fn(&mut serde_json::Map<String, Value>)| {
        TokenClassifier::from_model_file(&with_metadata(&bytes, edit), &Device::Cpu)
            .err()
            .expect("refused")
            .to_string()
    };
    let not_base64 = error(&|m| {
        m.insert("medlight.lexicon".into(), "not base64!".into());
    });
    assert!(
        not_base64.contains("medlight.lexicon") && not_base64.contains("base64"),
        "{not_base64}"
    );
    let not_zlib = error(&|m| {
        m.insert("medlight.lexicon".into(), "aGVsbG8=".into());
    });
    assert!(
        not_zlib.contains("medlight.lexicon") && not_zlib.contains("zlib"),
        "{not_zlib}"
    );
    let twice = error(&|m| {
        m.insert("medlight.config".into(), Value::String(config.to_json()));
    });
    assert!(
        twice.contains("medlight.config") && twice.contains("medlight.lexicon"),
        "{twice}"
    );
    let unknown_type = error(&|m| {
        use base64::Engine as _;
        let zlib = miniz_oxide::deflate::compress_to_vec_zlib(br#"{"Gene":["brca1"]}"#, 6);
        let packed = base64::engine::general_purpose::STANDARD.encode(zlib);
        m.insert("medlight.lexicon".into(), packed.into());
    });
    assert!(
        unknown_type.contains("lexicon") && unknown_type.contains("`Gene`"),
        "{unknown_type}"
    );
}
