//! The model config in the layout of Hugging Face `BertForTokenClassification`'s `config.json`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Error, LabelSet, Result};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BertConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    #[serde(default = "default_act")]
    pub hidden_act: String,
    #[serde(default = "default_dropout")]
    pub hidden_dropout_prob: f64,
    #[serde(default = "default_dropout")]
    pub attention_probs_dropout_prob: f64,
    pub max_position_embeddings: usize,
    #[serde(default = "default_type_vocab")]
    pub type_vocab_size: usize,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    #[serde(default)]
    pub pad_token_id: usize,
    /// Present on token classifiers; absent on a base encoder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id2label: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label2id: Option<BTreeMap<String, usize>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architectures: Option<Vec<String>>,
    #[serde(default = "default_model_type")]
    pub model_type: String,
    /// Medlight's decoding, not Hugging Face's: added to the log-probability of `O` before tags are
    /// decoded (> 0: fewer, surer entities). Chosen on devel by the trainer; absent: 0.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub outside_bias: f32,
    /// Medlight's too: entity type → names the training data tags (lower-cased words joined by
    /// spaces), tagged where the model missed them (see [`crate::lexicon`]). Absent: none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub lexicon: BTreeMap<String, Vec<String>>,
}

fn is_zero(x: &f32) -> bool {
    *x == 0.0
}

fn default_act() -> String {
    "gelu".into()
}
fn default_dropout() -> f64 {
    0.1
}
fn default_type_vocab() -> usize {
    2
}
fn default_eps() -> f64 {
    1e-12
}
fn default_model_type() -> String {
    "bert".into()
}

impl BertConfig {
    /// Parses and validates `config.json` text; errors name the offending field.
    pub fn from_json(text: &str) -> Result<Self> {
        let config: BertConfig = serde_json::from_str(text).map_err(|e| {
            let message = e.to_string();
            Error::config(missing_field(&message).unwrap_or("(json)"), message.clone())
        })?;
        config.validate()?;
        Ok(config)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("config serialises")
    }

    /// Checks the fields a hand-made or edited config may get wrong; errors name the field.
    pub fn validate(&self) -> Result<()> {
        if self.hidden_size == 0 {
            return Err(Error::config("hidden_size", "must be positive"));
        }
        if self.num_attention_heads == 0
            || !self.hidden_size.is_multiple_of(self.num_attention_heads)
        {
            return Err(Error::config(
                "num_attention_heads",
                format!(
                    "{} does not divide hidden_size {}",
                    self.num_attention_heads, self.hidden_size
                ),
            ));
        }
        if !matches!(
            self.hidden_act.as_str(),
            "gelu" | "gelu_new" | "gelu_pytorch_tanh" | "relu"
        ) {
            return Err(Error::config(
                "hidden_act",
                format!("`{}` is not supported", self.hidden_act),
            ));
        }
        if !self.outside_bias.is_finite() {
            return Err(Error::config(
                "outside_bias",
                format!("{} is not a finite number", self.outside_bias),
            ));
        }
        if self.max_position_embeddings < 3 {
            return Err(Error::config(
                "max_position_embeddings",
                "must be at least 3",
            ));
        }
        if !self.lexicon.is_empty() {
            let types = self.labels()?.entity_types();
            if let Some(kind) = self.lexicon.keys().find(|k| !types.contains(k)) {
                return Err(Error::config(
                    "lexicon",
                    format!(
                        "`{kind}` is not one of the model's entity types ({})",
                        types.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The label set in logit order, from `id2label`.
    pub fn labels(&self) -> Result<LabelSet> {
        let id2label = self
            .id2label
            .as_ref()
            .ok_or_else(|| Error::config("id2label", "missing: this is not a token classifier"))?;
        let mut tags = vec![String::new(); id2label.len()];
        for (id, tag) in id2label {
            let index: usize = id.parse().ok().filter(|i| *i < tags.len()).ok_or_else(|| {
                Error::config(
                    "id2label",
                    format!("key `{id}` is not an id in 0..{}", tags.len()),
                )
            })?;
            tags[index] = tag.clone();
        }
        LabelSet::new(tags)
    }

    /// Turns this (base encoder) config into a token classifier's config for `labels`.
    pub fn with_labels(mut self, labels: &LabelSet) -> Self {
        self.id2label = Some(
            labels
                .tags()
                .iter()
                .enumerate()
                .map(|(i, t)| (i.to_string(), t.clone()))
                .collect(),
        );
        self.label2id = Some(
            labels
                .tags()
                .iter()
                .enumerate()
                .map(|(i, t)| (t.clone(), i))
                .collect(),
        );
        self.architectures = Some(vec!["BertForTokenClassification".into()]);
        self
    }
}

/// serde's "missing field `x`" message → `x`.
fn missing_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split('`').next()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"{"vocab_size": 100, "hidden_size": 32, "num_hidden_layers": 2,
        "num_attention_heads": 4, "intermediate_size": 64, "max_position_embeddings": 64}"#;

    #[test]
    fn a_missing_field_is_named() {
        let err = BertConfig::from_json(r#"{"vocab_size": 3}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("`hidden_size`"), "{err}");
    }

    #[test]
    fn the_outside_bias_defaults_to_zero_and_round_trips() {
        let config = BertConfig::from_json(BASE).unwrap();
        assert_eq!(config.outside_bias, 0.0);
        assert!(
            !config.to_json().contains("outside_bias"),
            "a plain config stays Hugging Face's"
        );
        let biased = BertConfig {
            outside_bias: 1.5,
            ..config
        };
        assert_eq!(
            BertConfig::from_json(&biased.to_json())
                .unwrap()
                .outside_bias,
            1.5
        );
        let bad = biased.to_json().replace("1.5", "1e999");
        let err = BertConfig::from_json(&bad).unwrap_err().to_string();
        assert!(
            err.contains("outside_bias") || err.contains("number"),
            "{err}"
        );
    }

    #[test]
    fn a_lexicon_round_trips_and_names_only_the_models_types() {
        let labels = LabelSet::from_types(&["Chemical", "Disease"]);
        let config = BertConfig::from_json(BASE).unwrap().with_labels(&labels);
        assert!(
            !config.to_json().contains("lexicon"),
            "a plain config stays Hugging Face's"
        );
        let lexicon = BTreeMap::from([("Disease".to_string(), vec!["reye syndrome".to_string()])]);
        let with = BertConfig {
            lexicon: lexicon.clone(),
            ..config
        };
        assert_eq!(
            BertConfig::from_json(&with.to_json()).unwrap().lexicon,
            lexicon
        );
        let err = BertConfig::from_json(&with.to_json().replace("\"Disease\": [", "\"Gene\": ["))
            .unwrap_err()
            .to_string();
        assert!(err.contains("lexicon") && err.contains("`Gene`"), "{err}");
    }

    #[test]
    fn heads_must_divide_hidden_size() {
        let bad = BASE.replace("\"num_attention_heads\": 4", "\"num_attention_heads\": 5");
        let err = BertConfig::from_json(&bad).unwrap_err().to_string();
        assert!(err.contains("num_attention_heads"), "{err}");
    }

    #[test]
    fn labels_round_trip_through_id2label() {
        let labels = LabelSet::from_types(&["Chemical", "Disease"]);
        let config = BertConfig::from_json(BASE).unwrap().with_labels(&labels);
        let again = BertConfig::from_json(&config.to_json()).unwrap();
        assert_eq!(again.labels().unwrap(), labels);
        assert!(BertConfig::from_json(BASE).unwrap().labels().is_err());
    }
}
