//! A harm to an organ linked as the organ's disease: "pulmonary toxicity" as Lung Diseases,
//! "kidney dysfunction" as Kidney Diseases. Annotators of BC5CDR link such mentions to the organ's
//! disease descriptor, and MeSH has no name for them, so no exact name finds it, and the most
//! similar name can be another organ's ("renal impairment" came out as Vision Disorders).

/// Last words (as keys: lower case, singular) that name a harm to what the words before them name.
const HARMS: [&str; 10] = [
    "toxicity",
    "damage",
    "injury",
    "dysfunction",
    "impairment",
    "lesion",
    "abnormality",
    "complication",
    "involvement",
    "insult",
];

/// Adjectives whose organ MeSH names by a noun: it has "Pulmonary Diseases" and "Cardiac
/// Diseases" among its terms, but not "Renal Diseases" or "Hepatic Diseases".
const ORGAN_NOUNS: [(&str, &str); 5] = [
    ("renal", "kidney"),
    ("hepatic", "liver"),
    ("cerebral", "brain"),
    ("gastric", "stomach"),
    ("cutaneous", "skin"),
];

/// What a disease of the organ is called in MeSH's names.
const DISEASE_WORDS: [&str; 2] = ["disease", "disorder"];

/// The keys of the organ's disease to look up for a mention's key (see
/// [`super::normalise::key`]), the mention's own words first: "renal damage" gives "renal disease",
/// "renal disorder", "kidney disease" and "kidney disorder". Empty unless the key is a harm word
/// after at least one other word.
pub fn organ_disease_keys(key: &str) -> Vec<String> {
    let words: Vec<&str> = key.split(' ').collect();
    let Some((last, organ)) = words.split_last() else {
        return Vec::new();
    };
    if organ.is_empty() || !HARMS.contains(last) {
        return Vec::new();
    }
    let as_noun: Vec<&str> = organ
        .iter()
        .map(|w| {
            ORGAN_NOUNS
                .iter()
                .find(|(adjective, _)| adjective == w)
                .map_or(*w, |(_, noun)| *noun)
        })
        .collect();
    let mut spellings = vec![organ.join(" ")];
    if as_noun != organ {
        spellings.push(as_noun.join(" "));
    }
    spellings
        .iter()
        .flat_map(|organ| DISEASE_WORDS.iter().map(move |d| format!("{organ} {d}")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_harm_to_an_organ_gives_the_organ_s_disease_keys() {
        assert_eq!(
            organ_disease_keys("renal damage"),
            [
                "renal disease",
                "renal disorder",
                "kidney disease",
                "kidney disorder"
            ]
        );
        assert_eq!(
            organ_disease_keys("pulmonary toxicity"),
            ["pulmonary disease", "pulmonary disorder"]
        );
    }

    #[test]
    fn other_mentions_give_none() {
        assert!(organ_disease_keys("toxicity").is_empty(), "no organ");
        assert!(organ_disease_keys("renal failure").is_empty(), "a disease");
        assert!(organ_disease_keys("").is_empty());
    }
}
