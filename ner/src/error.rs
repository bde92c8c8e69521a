/// Everything that can go wrong in the core, each variant naming what was wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("model config: field `{field}`: {message}")]
    Config { field: String, message: String },
    #[error("label `{label}` is not IOB2 (allowed: {allowed})")]
    UnknownLabel { label: String, allowed: String },
    #[error("model file: {0}")]
    ModelFile(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn config(field: &str, message: impl Into<String>) -> Self {
        Error::Config {
            field: field.to_string(),
            message: message.into(),
        }
    }
}
