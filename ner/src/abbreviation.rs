//! Abbreviations a text defines, as in "neuroleptic malignant syndrome ( NMS )": a short form in
//! parentheses right after the words it abbreviates.
//!
//! Matching follows Schwartz & Hearst ("A simple algorithm for identifying abbreviation definitions
//! in biomedical text", PSB 2003): every letter and digit of the short form is found in the long
//! form, in order, reading right to left, and the short form's first character starts a word.

/// Short forms are one word of 2 to 10 characters that starts with a letter ("NMS", "T4", "COCs").
const SHORT_FORM_CHARS: std::ops::RangeInclusive<usize> = 2..=10;

/// Whether `short` can abbreviate the words `long`. Case is ignored.
pub fn abbreviates<S: AsRef<str>>(short: &str, long: &[S]) -> bool {
    let short: Vec<char> = short.to_lowercase().chars().collect();
    if !SHORT_FORM_CHARS.contains(&short.len()) || !short[0].is_alphabetic() {
        return false;
    }
    let long: Vec<char> = long
        .iter()
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
        .chars()
        .collect();
    let starts_word = |at: usize| at == 0 || !long[at - 1].is_alphanumeric();
    let mut at = long.len();
    for (i, &c) in short.iter().enumerate().rev() {
        if !c.is_alphanumeric() {
            continue;
        }
        // The rightmost match left of the previous one; the first character's must open a word.
        match (0..at)
            .rev()
            .find(|&p| long[p] == c && (i > 0 || starts_word(p)))
        {
            Some(p) => at = p,
            None => return false,
        }
    }
    true
}

/// The short forms `words` defines: the index of each word that opens a parenthesis and either
/// stands alone in it ("( NMS )") or ends at a `;`, `,` or `:` ("( DEN : 10 mg / kg )"), the first
/// segment of the parenthesised text, which Schwartz & Hearst read as the short form.
pub fn parenthesised(words: &[impl AsRef<str>]) -> impl Iterator<Item = usize> + '_ {
    (1..words.len().saturating_sub(1)).filter(|&i| {
        words[i - 1].as_ref() == "(" && matches!(words[i + 1].as_ref(), ")" | ";" | "," | ":")
    })
}

/// Where the long form of the short form at `short` (just after a `(`) starts: the fewest words
/// before the parenthesis that it abbreviates, at most `min(len + 5, 2 × len)` of them (Schwartz &
/// Hearst's window) and not across punctuation that ends a phrase.
pub fn long_form_start(words: &[impl AsRef<str>], short: usize) -> Option<usize> {
    let form = words[short].as_ref();
    let open = short.checked_sub(1)?;
    let chars = form.chars().count();
    let window = (chars + 5).min(2 * chars);
    for start in (open.saturating_sub(window)..open).rev() {
        if matches!(words[start].as_ref(), "(" | ")" | "." | ";" | ",") {
            return None;
        }
        if abbreviates(form, &words[start..open]) {
            return Some(start);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<&str> {
        s.split(' ').collect()
    }

    #[test]
    fn short_forms_match_their_long_forms_in_order() {
        assert!(abbreviates("NMS", &words("neuroleptic malignant syndrome")));
        assert!(
            abbreviates("COCs", &words("oral contraceptives")),
            "letters may come from inside words"
        );
        assert!(abbreviates("PAH", &words("para - aminohippurate")));
        assert!(
            !abbreviates("MBC", &words("breast cancer")),
            "every letter is needed"
        );
        assert!(
            !abbreviates("SN", &words("nitrosulfan")),
            "in order, the first opening a word"
        );
        assert!(!abbreviates("n = 5", &words("verapamil")));
        assert!(
            !abbreviates("A", &words("doxorubicin")),
            "one letter is too short"
        );
        assert!(
            !abbreviates("2", &words("Ca")),
            "a short form starts with a letter"
        );
    }

    #[test]
    fn the_long_form_is_the_fewest_words_that_match() {
        let text = words("patients with neuroleptic malignant syndrome ( NMS ) and ( n = 5 )");
        let found: Vec<usize> = parenthesised(&text).collect();
        assert_eq!(found, [6], "only one-word parentheses");
        let segments = words(
            "diethylnitrosamine ( DEN : 10 mg ) or ( PB ; daily ) or ( PB , daily ) or ( a b )",
        );
        assert_eq!(
            parenthesised(&segments).collect::<Vec<_>>(),
            [2, 9, 15],
            "or the first word before a `:`, `;` or `,`"
        );
        assert_eq!(long_form_start(&text, 6), Some(2));
        let broken = words("syndrome , malignant ( MS )");
        assert_eq!(long_form_start(&broken, 4), None, "never across a comma");
    }
}
