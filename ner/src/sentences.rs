//! Splits raw text into sentences, the unit the model was trained on, and groups them into chunks so
//! long text can be annotated piece by piece (the browser streams results chunk by chunk).
//!
//! The rule is deliberately simple: a sentence ends at a line break, or after `.`, `!` or `?`
//! followed by white space. A missed or extra split costs little: each piece is still read whole,
//! and a piece longer than the model's window goes through overlapping windows.

use std::ops::Range;

/// Byte ranges of the sentences of `text`. They are contiguous and cover `text` exactly: the white
/// space after a sentence belongs to it.
pub fn sentences(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        let ends = match c {
            '\n' | '\r' => true,
            '.' | '!' | '?' => chars.peek().is_some_and(|&(_, next)| next.is_whitespace()),
            _ => false,
        };
        if !ends {
            continue;
        }
        // The sentence takes the white space that follows it.
        let mut end = i + c.len_utf8();
        while let Some(&(j, next)) = chars.peek() {
            if !next.is_whitespace() {
                break;
            }
            end = j + next.len_utf8();
            chars.next();
        }
        out.push(start..end);
        start = end;
    }
    if start < text.len() {
        out.push(start..text.len());
    }
    out
}

/// Bytes of sentences the model reads at a time in the browser: small enough that results stream
/// in, that a newer request is noticed quickly and that long text spreads over workers; large
/// enough that messaging costs little, and that a chunk holds about an abstract (BC5CDR devel: 1.3
/// kB an abstract), within which [`crate::consistency`] makes a string's tags agree.
pub const CHUNK_BYTES: usize = 1500;

/// Consecutive sentences grouped into chunks of at most `max_bytes` (a longer sentence is a chunk of
/// its own). Each chunk is a list of sentence ranges; together the chunks cover `text` in order.
pub fn chunks(text: &str, max_bytes: usize) -> Vec<Vec<Range<usize>>> {
    let sentences = sentences(text);
    group(sentences.iter().map(|s| s.len()), max_bytes)
        .into_iter()
        .map(|g| sentences[g].to_vec())
        .collect()
}

/// Tokenised sentences grouped into chunks of at most [`CHUNK_BYTES`] as if their words were joined
/// by spaces (each word's bytes and one space): what `trainer eval` reads as the browser's chunks.
pub fn group_tokenised<S: AsRef<str>>(
    sentences: impl IntoIterator<Item = impl AsRef<[S]>>,
) -> Vec<Range<usize>> {
    group(
        sentences
            .into_iter()
            .map(|words| words.as_ref().iter().map(|w| w.as_ref().len() + 1).sum()),
        CHUNK_BYTES,
    )
}

/// Consecutive items of the given sizes grouped as [`chunks`] groups sentences: index ranges.
pub fn group(sizes: impl IntoIterator<Item = usize>, max_bytes: usize) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = Vec::new();
    let mut size = 0;
    for (i, len) in sizes.into_iter().enumerate() {
        match out.last_mut() {
            Some(group) if size + len <= max_bytes => group.end = i + 1,
            _ => {
                out.push(i..i + 1);
                size = 0;
            }
        }
        size += len;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces<'a>(text: &'a str, ranges: &[Range<usize>]) -> Vec<&'a str> {
        ranges.iter().map(|r| &text[r.clone()]).collect()
    }

    #[test]
    fn splits_at_sentence_ends_and_line_breaks() {
        let text = "Aspirin helps. Does it?  Yes!\r\nNew line\n\nv1.2 stays whole";
        assert_eq!(
            pieces(text, &sentences(text)),
            [
                "Aspirin helps. ",
                "Does it?  ",
                "Yes!\r\n",
                "New line\n\n",
                "v1.2 stays whole"
            ]
        );
    }

    #[test]
    fn sentences_cover_any_text_exactly() {
        for text in [
            "",
            " ",
            "no end",
            "β-blockers. 💊 肝炎。\r\n\r\nÉtat!",
            "...",
            "a.\u{2003}b",
        ] {
            let ranges = sentences(text);
            assert_eq!(
                ranges.iter().map(|r| &text[r.clone()]).collect::<String>(),
                text
            );
            assert!(ranges.windows(2).all(|w| w[0].end == w[1].start));
            assert!(ranges.iter().all(|r| !r.is_empty()));
        }
    }

    #[test]
    fn chunks_group_sentences_up_to_a_size() {
        let text = "One. Two. Three is longer than the limit. Four.";
        let grouped = chunks(text, 12);
        let texts: Vec<String> = grouped.iter().map(|c| pieces(text, c).concat()).collect();
        assert_eq!(
            texts,
            ["One. Two. ", "Three is longer than the limit. ", "Four."]
        );
        assert_eq!(texts.concat(), text);
        assert!(chunks("", 10).is_empty());
        assert_eq!(
            group([5, 5, 20, 3, 4], 12),
            [0..2, 2..3, 3..5],
            "the sizes of IOB2 sentences group the same way"
        );
    }
}
