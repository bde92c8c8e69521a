//! Names as lookup keys: two spellings of one name give one key ("Beta-Blockers", "beta blocker",
//! "β-blockers"), and MeSH's inverted entry terms read in text order ("Anemia, Hemolytic").

/// Greek letters as the words that spell them out in most of the literature.
const GREEK: [(char, &str); 24] = [
    ('α', "alpha"),
    ('β', "beta"),
    ('γ', "gamma"),
    ('δ', "delta"),
    ('ε', "epsilon"),
    ('ζ', "zeta"),
    ('η', "eta"),
    ('θ', "theta"),
    ('ι', "iota"),
    ('κ', "kappa"),
    ('λ', "lambda"),
    ('μ', "mu"),
    ('ν', "nu"),
    ('ξ', "xi"),
    ('ο', "omicron"),
    ('π', "pi"),
    ('ρ', "rho"),
    ('σ', "sigma"),
    ('τ', "tau"),
    ('υ', "upsilon"),
    ('φ', "phi"),
    ('χ', "chi"),
    ('ψ', "psi"),
    ('ω', "omega"),
];

/// A word's singular, by the regular English plurals only: "kidneys", "arrhythmias", "therapies".
/// Words of four letters or fewer, words with digits and Latin-looking endings ("-us", "-is",
/// "-ss") are kept.
fn singular(word: &str) -> String {
    let keep = word.len() <= 4
        || !word.is_ascii()
        || word.bytes().any(|b| b.is_ascii_digit())
        || ["ss", "us", "is"].iter().any(|end| word.ends_with(end));
    if keep {
        return word.to_string();
    }
    if let Some(stem) = word.strip_suffix("ies") {
        return format!("{stem}y");
    }
    word.strip_suffix('s').unwrap_or(word).to_string()
}

/// The lookup key of a name: lower case, Greek letters spelled out, every run of characters other
/// than letters and digits one space, each word singular.
pub fn key(name: &str) -> String {
    let mut spelled = String::with_capacity(name.len());
    for c in name.chars() {
        let lower = c.to_lowercase().next().unwrap_or(c);
        let greek = (!lower.is_ascii())
            .then(|| GREEK.iter().find(|(g, _)| *g == lower))
            .flatten();
        match greek {
            Some((_, word)) => {
                spelled.push(' ');
                spelled.push_str(word);
                spelled.push(' ');
            }
            None if c.is_alphanumeric() => spelled.extend(c.to_lowercase()),
            None => spelled.push(' '),
        }
    }
    // British spellings as American ones: "anaemia", "oedema", "haematuria".
    // Most names have neither digraph: skip the copies.
    let spelled = if spelled.contains("ae") || spelled.contains("oe") {
        spelled.replace("ae", "e").replace("oe", "e")
    } else {
        spelled
    };
    spelled
        .split_whitespace()
        .map(singular)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The key with its words in sorted order: a name and its reordering ("cancer of the breast" is
/// not one, "carcinoma, breast" is) meet here.
pub fn sorted_key(key: &str) -> String {
    let mut words: Vec<&str> = key.split(' ').filter(|w| !STOP_WORDS.contains(w)).collect();
    words.sort_unstable();
    words.join(" ")
}

/// Words that carry no meaning in a name's sorted key.
const STOP_WORDS: [&str; 5] = ["of", "the", "and", "in", "with"];

/// A MeSH entry term in text order: "Anemia, Hemolytic" → "Hemolytic Anemia". Terms with more than
/// one comma or a long part after it are chemical names ("Acid, 5-(methylamino)-…"): kept.
pub fn uninverted(term: &str) -> Option<String> {
    let (head, modifier) = term.split_once(", ")?;
    if modifier.contains(',') || modifier.split(' ').count() > 3 || head.is_empty() {
        return None;
    }
    Some(format!("{modifier} {head}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_name_share_a_key() {
        let k = key("beta blocker");
        for name in [
            "Beta-Blockers",
            "β-blockers",
            "BETA  BLOCKER",
            "beta-blocker",
        ] {
            assert_eq!(key(name), k, "{name}");
        }
        assert_eq!(key("Therapies"), "therapy");
        assert_eq!(key("arrhythmias"), "arrhythmia");
        assert_eq!(key("Anaemia"), key("anemia"));
        assert_eq!(key("oedema"), key("edema"));
    }

    #[test]
    fn latin_endings_short_words_and_numbers_are_kept() {
        assert_eq!(
            key("herpes virus"),
            "herpe virus",
            "-es is not special, -us is kept"
        );
        assert_eq!(key("diabetes mellitus"), "diabete mellitus");
        assert_eq!(key("psoriasis"), "psoriasis");
        assert_eq!(key("HIV"), "hiv");
        assert_eq!(key("IL-2s"), "il 2s");
        assert_eq!(key("Coumadin®"), "coumadin");
    }

    #[test]
    fn inverted_terms_read_in_text_order() {
        assert_eq!(
            uninverted("Anemia, Hemolytic").as_deref(),
            Some("Hemolytic Anemia")
        );
        assert_eq!(
            uninverted("Carcinoma, Non-Small-Cell Lung").as_deref(),
            Some("Non-Small-Cell Lung Carcinoma")
        );
        assert_eq!(uninverted("Warfarin"), None);
        assert_eq!(uninverted("Acid, 5-(methyl)-2-x, (6S)"), None);
        assert_eq!(
            sorted_key(&key("carcinoma, breast")),
            sorted_key(&key("breast carcinoma"))
        );
    }
}
