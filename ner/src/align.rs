//! Words → sub-tokens, and windows for inputs longer than the model's positions.
//!
//! A word's label sits on its first sub-token; the other sub-tokens carry no label during training
//! and are ignored at prediction. Inputs longer than the model's window are cut into overlapping
//! windows, and each word is read from the window where it sits furthest from an edge, so nothing is
//! truncated and no word is judged without context.

use std::ops::Range;

use tokenizers::Tokenizer;

use crate::{Error, Result};

/// Loads a `tokenizer.json`, switching off any fixed padding or truncation it was saved with
/// (sentence-transformers ships `Fixed(128)` for both, which would cut long inputs silently).
pub fn load_tokenizer(json: &[u8]) -> Result<Tokenizer> {
    let mut tokenizer = Tokenizer::from_bytes(json).map_err(|e| Error::Tokenizer(e.to_string()))?;
    tokenizer.with_padding(None);
    tokenizer
        .with_truncation(None)
        .map_err(|e| Error::Tokenizer(e.to_string()))?;
    Ok(tokenizer)
}

/// The ids of the `[CLS]` and `[SEP]` tokens that frame every window.
#[derive(Debug, Clone, Copy)]
pub struct SpecialTokens {
    pub cls: u32,
    pub sep: u32,
    pub pad: u32,
}

impl SpecialTokens {
    pub fn from_tokenizer(tokenizer: &Tokenizer) -> Result<Self> {
        let id = |token: &str| {
            tokenizer
                .token_to_id(token)
                .ok_or_else(|| Error::Tokenizer(format!("the vocabulary has no `{token}` token")))
        };
        Ok(Self {
            cls: id("[CLS]")?,
            sep: id("[SEP]")?,
            pad: id("[PAD]").unwrap_or(0),
        })
    }
}

/// Sub-tokens of a sequence of words, without special tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct WordPieces {
    pub ids: Vec<u32>,
    /// For each word, the index in `ids` of its first sub-token; `None` if the word produced no
    /// sub-token at all (e.g. a lone control character).
    pub first_piece: Vec<Option<usize>>,
}

/// Tokenises already-split words (as in an IOB2 file), keeping the word → first sub-token map.
pub fn encode_words(tokenizer: &Tokenizer, words: &[&str]) -> Result<WordPieces> {
    let encoding = tokenizer
        .encode(words.to_vec(), false)
        .map_err(|e| Error::Tokenizer(e.to_string()))?;
    let mut first_piece = vec![None; words.len()];
    for (index, word) in encoding.get_word_ids().iter().enumerate() {
        if let Some(word) = word {
            let slot = &mut first_piece[*word as usize];
            if slot.is_none() {
                *slot = Some(index);
            }
        }
    }
    Ok(WordPieces {
        ids: encoding.get_ids().to_vec(),
        first_piece,
    })
}

/// A word found in raw text: its byte range and its sub-tokens' range.
#[derive(Debug, Clone, PartialEq)]
pub struct TextWord {
    pub bytes: Range<usize>,
    pub pieces: Range<usize>,
}

/// Sub-tokens of raw text with the words the tokenizer's pre-tokenizer found (whitespace and
/// punctuation splits, the same segmentation as the IOB2 training data).
#[derive(Debug, Clone)]
pub struct TextPieces {
    pub ids: Vec<u32>,
    pub words: Vec<TextWord>,
}

pub fn encode_text(tokenizer: &Tokenizer, text: &str) -> Result<TextPieces> {
    let encoding = tokenizer
        .encode(text, false)
        .map_err(|e| Error::Tokenizer(e.to_string()))?;
    let offsets = encoding.get_offsets();
    let mut words: Vec<TextWord> = Vec::new();
    let mut current: Option<u32> = None;
    for (index, word) in encoding.get_word_ids().iter().enumerate() {
        let Some(word) = *word else { continue };
        let (start, end) = offsets[index];
        match words.last_mut() {
            Some(last) if current == Some(word) => {
                last.bytes.end = last.bytes.end.max(end);
                last.pieces.end = index + 1;
            }
            _ => words.push(TextWord {
                bytes: start..end,
                pieces: index..index + 1,
            }),
        }
        current = Some(word);
    }
    Ok(TextPieces {
        ids: encoding.get_ids().to_vec(),
        words,
    })
}

/// Windows of at most `size` positions over `len` positions, consecutive windows sharing
/// `overlap` positions. A sequence that fits gives one window.
pub fn windows(len: usize, size: usize, overlap: usize) -> Vec<Range<usize>> {
    assert!(
        size > overlap,
        "window size {size} must exceed the overlap {overlap}"
    );
    if len <= size {
        return std::iter::once(0..len).collect();
    }
    let step = size - overlap;
    let mut out = Vec::new();
    let mut start = 0;
    loop {
        let end = (start + size).min(len);
        out.push(start..end);
        if end == len {
            return out;
        }
        start += step;
    }
}

/// The window in which `position` has the most context on its poorer side.
pub fn best_window(windows: &[Range<usize>], position: usize) -> usize {
    windows
        .iter()
        .enumerate()
        .filter(|(_, w)| w.contains(&position))
        .max_by_key(|(_, w)| (position - w.start).min(w.end - 1 - position))
        .map(|(i, _)| i)
        .expect("every position lies in some window")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::tiny_tokenizer;

    #[test]
    fn first_sub_token_carries_the_word() {
        let tokenizer = tiny_tokenizer();
        let pieces = encode_words(&tokenizer, &["aspirin", "induced", "nausea"]).unwrap();
        // "aspirin" → "asp" "##irin" in the tiny vocabulary.
        assert_eq!(pieces.ids.len(), 4);
        assert_eq!(pieces.first_piece, vec![Some(0), Some(2), Some(3)]);
    }

    #[test]
    fn raw_text_words_have_byte_ranges() {
        let tokenizer = tiny_tokenizer();
        let text = "Aspirin-induced  nausea.";
        let pieces = encode_text(&tokenizer, text).unwrap();
        let words: Vec<&str> = pieces
            .words
            .iter()
            .map(|w| &text[w.bytes.clone()])
            .collect();
        assert_eq!(words, ["Aspirin", "-", "induced", "nausea", "."]);
        assert_eq!(pieces.words[0].pieces, 0..2);
    }

    #[test]
    fn windows_cover_everything_with_overlap() {
        assert_eq!(windows(5, 10, 2), vec![0..5]);
        let w = windows(25, 10, 4);
        assert_eq!(w, vec![0..10, 6..16, 12..22, 18..25]);
        for position in 0..25 {
            assert!(w[best_window(&w, position)].contains(&position));
        }
        // position 8 is 2 from the end of 0..10 but 2 from the start of 6..16: both tie → first;
        // position 9 is better in 6..16.
        assert_eq!(best_window(&w, 9), 1);
        assert_eq!(best_window(&w, 1), 0);
    }
}
