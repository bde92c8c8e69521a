//! The fallback for names no key matches: character trigram TF-IDF vectors of every name, and the
//! cosine of a mention's vector with each, through an inverted list of trigrams.

use rustc_hash::FxHashMap as HashMap;

/// Names of one entity type, as trigram vectors.
#[derive(Debug, Default)]
pub struct Fuzzy {
    /// Each name's concept.
    concepts: Vec<u32>,
    /// Trigram → (name, count) before `finish`, then (name, normalised weight).
    postings: HashMap<[char; 3], Vec<(u32, f32)>>,
}

/// A key's trigrams with their counts, the key padded with a space at each end.
fn trigrams(key: &str) -> HashMap<[char; 3], f32> {
    let chars: Vec<char> = std::iter::once(' ')
        .chain(key.chars())
        .chain(std::iter::once(' '))
        .collect();
    let mut out = HashMap::default();
    for w in chars.windows(3) {
        *out.entry([w[0], w[1], w[2]]).or_insert(0.0) += 1.0;
    }
    out
}

/// A trigram's inverse document frequency among `names` names, `df` of which have it.
fn idf(names: f32, df: usize) -> f32 {
    (names / df as f32).ln() + 1.0
}

impl Fuzzy {
    /// Adds one name of `concept`; the caller adds each (key, concept) once.
    pub fn add(&mut self, key: &str, concept: u32) {
        let name = self.concepts.len() as u32;
        self.concepts.push(concept);
        for (gram, count) in trigrams(key) {
            self.postings.entry(gram).or_default().push((name, count));
        }
    }

    /// Turns counts into TF-IDF weights, each name's vector of unit length.
    pub fn finish(&mut self) {
        let names = self.concepts.len() as f32;
        let mut norms = vec![0f32; self.concepts.len()];
        for list in self.postings.values_mut() {
            let idf = idf(names, list.len());
            for (name, weight) in list.iter_mut() {
                *weight *= idf;
                norms[*name as usize] += *weight * *weight;
            }
        }
        for list in self.postings.values_mut() {
            for (name, weight) in list.iter_mut() {
                *weight /= norms[*name as usize].sqrt().max(f32::MIN_POSITIVE);
            }
        }
    }

    /// The most similar name's concept and the cosine, if any name shares a trigram with `key`.
    pub fn best(&self, key: &str) -> Option<(u32, f32)> {
        let names = self.concepts.len() as f32;
        let mut query: Vec<(&Vec<(u32, f32)>, f32)> = Vec::new();
        // Trigrams the names never have still count in the mention's length.
        let mut length = 0.0;
        for (gram, count) in trigrams(key) {
            let list = self.postings.get(&gram);
            let weight = count * idf(names, list.map_or(1, Vec::len));
            length += weight * weight;
            if let Some(list) = list {
                query.push((list, weight));
            }
        }
        let norm: f32 = f32::sqrt(length);
        let mut scores: HashMap<u32, f32> = HashMap::default();
        for (list, weight) in &query {
            for &(name, w) in list.iter() {
                *scores.entry(name).or_insert(0.0) += w * weight;
            }
        }
        scores
            .into_iter()
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
            .map(|(name, score)| {
                (
                    self.concepts[name as usize],
                    score / norm.max(f32::MIN_POSITIVE),
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_closest_spelling_wins_and_an_identical_one_scores_one() {
        let mut fuzzy = Fuzzy::default();
        fuzzy.add("warfarin", 1);
        fuzzy.add("heparin", 2);
        fuzzy.add("aspirin", 3);
        fuzzy.finish();
        let (concept, score) = fuzzy.best("warfarine").unwrap();
        assert_eq!(concept, 1);
        assert!(score > 0.6 && score < 1.0, "{score}");
        let (concept, score) = fuzzy.best("aspirin").unwrap();
        assert_eq!(concept, 3);
        assert!((score - 1.0).abs() < 1e-5, "{score}");
        assert!(fuzzy.best("zzz").is_none());
    }
}
