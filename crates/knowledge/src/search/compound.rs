//! German compound words: "Bewohnerparkausweis" is made of "Bewohner", "Park" and "Ausweis".
//! [`Decompounder::split`] finds those parts with a vocabulary of known words
//! (`compound_words.txt`), so that the index and the query can match a compound by its parts.
//!
//! Words are compared lower case and folded to ASCII, as the analyzers of the index have them.

use rustc_hash::FxHashSet;

/// The vocabulary, one word a line; `#` starts a comment line.
const VOCABULARY: &str = include_str!("compound_words.txt");

/// Shortest part, in bytes. Three-letter parts ("Ehe", "Amt", "Kfz") only split where they
/// are in the vocabulary.
pub(super) const MIN_PART: usize = 3;

/// Longest piece looked up in the extra vocabulary, in bytes.
const EXTRA_LONGEST: usize = 24;

/// Linking elements between two parts (Fugenelemente): "Geburt-s-urkunde",
/// "Urkunde-n-abholung", "Hund-e-steuer", "Kind-er-garten".
const LINKS: &[&str] = &["", "s", "es", "n", "en", "e", "er", "ns"];

/// Endings the last part may carry beyond its vocabulary form ("-ausweis-es", "-urkunde-n").
const ENDINGS: &[&str] = &["s", "es", "n", "en", "e", "er", "ern", "nen"];

/// More known words beside the built-in ones: whether a piece (lower case, folded) is one.
pub(super) type Vocabulary<'a> = &'a dyn Fn(&str) -> bool;

/// Splits compound words into words of a vocabulary.
pub(super) struct Decompounder {
    words: FxHashSet<String>,
    /// Length of the longest word, in bytes: no longer piece needs a look-up.
    longest: usize,
}

impl Decompounder {
    /// The decompounder of the built-in vocabulary; `fold` brings a word into the form the
    /// words to split have (lower case, folded).
    pub(super) fn new(fold: impl Fn(&str) -> String) -> Self {
        let words: FxHashSet<String> = VOCABULARY
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(fold)
            .filter(|w| w.len() >= MIN_PART)
            .collect();
        let longest = words.iter().map(String::len).max().unwrap_or(0);
        Self { words, longest }
    }

    fn known(&self, piece: &str, extra: Vocabulary<'_>) -> bool {
        self.words.contains(piece) || (piece.len() > MIN_PART && extra(piece))
    }

    /// Whether `piece` can end a compound: a word, or a word with an inflection ending.
    fn known_last(&self, piece: &str, extra: Vocabulary<'_>) -> bool {
        self.known(piece, extra)
            || ENDINGS.iter().any(|e| {
                piece
                    .strip_suffix(e)
                    .is_some_and(|stem| stem.len() >= MIN_PART && self.known(stem, extra))
            })
    }

    /// The parts of a word like [`Self::split`], with the words of `extra` known as well (the
    /// index's own vocabulary: the words of its titles and synonyms). Parts from `extra` are
    /// longer than [`MIN_PART`], so that short index words ("amt", "kfz") split nothing that
    /// the built-in vocabulary does not.
    pub(super) fn split_with(&self, word: &str, extra: Vocabulary<'_>) -> Vec<String> {
        let mut out = Vec::new();
        self.split_into(word, extra, &mut out);
        out
    }

    /// The split of `word` (see [`Self::pieces_with`]) and, recursively, the splits of its
    /// pieces: "bewohnerparkausweis": [bewohner, parkausweis], [park, ausweis].
    pub(super) fn splits_with(&self, word: &str, extra: Vocabulary<'_>) -> Vec<Vec<String>> {
        let pieces = self.pieces_with(word, extra);
        if pieces.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::new();
        for piece in &pieces {
            out.extend(self.splits_with(piece, extra));
        }
        out.insert(0, pieces);
        out
    }

    /// The parts of a word (lower case, folded): the split into the fewest vocabulary words
    /// (at least two; ties: the longer first part), then the parts of those parts, each once,
    /// in order. Empty when the word is no compound of known words.
    ///
    /// Runs in O(n²) look-ups for a word of n bytes (n is at most 60, see the analyzers).
    #[cfg(test)]
    pub(super) fn split(&self, word: &str) -> Vec<String> {
        self.split_with(word, &|_| false)
    }

    fn split_into(&self, word: &str, extra: Vocabulary<'_>, out: &mut Vec<String>) {
        let pieces = self.pieces_with(word, extra);
        for piece in &pieces {
            if !out.iter().any(|p| p == piece) {
                out.push(piece.clone());
            }
        }
        for piece in &pieces {
            self.split_into(piece, extra, out);
        }
    }

    /// The top-level split of `word` into the fewest vocabulary words, in order (the
    /// linking elements dropped), or nothing.
    fn pieces_with(&self, word: &str, extra: Vocabulary<'_>) -> Vec<String> {
        let n = word.len();
        if n < 2 * MIN_PART {
            return Vec::new();
        }
        // best[i]: the fewest parts that cover word[i..], with where the first part ends and
        // where the next one starts (after a linking element). best[n]: the end.
        let mut best: Vec<Option<(usize, usize, usize)>> = vec![None; n + 1];
        best[n] = Some((0, n, n));
        for i in (0..n).rev() {
            if !word.is_char_boundary(i) {
                continue;
            }
            let mut found: Option<(usize, usize, usize)> = None;
            let max_end = n.min(i + self.longest.max(EXTRA_LONGEST) + 3);
            // Longest piece first, so that of two equal splits the longer first part wins.
            for j in (i + MIN_PART..=max_end).rev() {
                if !word.is_char_boundary(j) {
                    continue;
                }
                // The whole word is not a split of itself.
                if i == 0 && j == n {
                    continue;
                }
                let piece = &word[i..j];
                let candidate = if j == n {
                    self.known_last(piece, extra).then_some((1, j, n))
                } else {
                    self.next_after(word, j, &best)
                        .filter(|_| self.known(piece, extra))
                        .map(|(parts, next)| (parts + 1, j, next))
                };
                if let Some(c) = candidate
                    && found.is_none_or(|f| c.0 < f.0)
                {
                    found = Some(c);
                }
            }
            best[i] = found;
        }
        let mut pieces = Vec::new();
        let mut at = 0;
        while at < n {
            let Some((_, end, next)) = best[at] else {
                return Vec::new();
            };
            pieces.push(word[at..end].to_owned());
            at = next;
        }
        if pieces.len() < 2 {
            return Vec::new();
        }
        pieces
    }

    /// After a part that ends at `j`: the best linking element and what follows it, as
    /// (parts that follow, where the next part starts).
    fn next_after(
        &self,
        word: &str,
        j: usize,
        best: &[Option<(usize, usize, usize)>],
    ) -> Option<(usize, usize)> {
        LINKS
            .iter()
            .filter(|link| word[j..].starts_with(*link))
            .map(|link| j + link.len())
            .filter(|k| *k < word.len())
            .filter_map(|k| best[k].map(|(parts, _, _)| (parts, k)))
            .min_by_key(|(parts, _)| *parts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decompounder() -> Decompounder {
        Decompounder::new(|w| {
            w.to_lowercase()
                .replace('ä', "a")
                .replace('ö', "o")
                .replace('ü', "u")
                .replace('ß', "ss")
        })
    }

    #[test]
    fn splits_compounds_with_linking_elements() {
        let d = decompounder();
        let cases: &[(&str, &[&str])] = &[
            (
                "bewohnerparkausweis",
                &["bewohner", "parkausweis", "park", "ausweis"],
            ),
            (
                "anwohnerparkausweis",
                &["anwohner", "parkausweis", "park", "ausweis"],
            ),
            ("taxigenehmigung", &["taxi", "genehmigung"]),
            // Fugen-n, Fugen-s, Fugen-e.
            ("urkundenabholung", &["urkunden", "abholung"]),
            ("geburtsurkunde", &["geburt", "urkunde"]),
            ("hundesteuer", &["hunde", "steuer"]),
            // An inflected last part.
            ("parkausweises", &["park", "ausweises"]),
            ("eheschliessung", &["ehe", "schliessung"]),
            ("fuhrerscheinumtausch", &["fuhrerschein", "umtausch"]),
        ];
        for (word, parts) in cases {
            assert_eq!(d.split(word), *parts, "{word}");
        }
    }

    #[test]
    fn any_text_splits_without_panic_into_parts_of_the_word() {
        let d = decompounder();
        let long = "parkausweis".repeat(6);
        for word in [
            "пасparkausweis",
            "parkпаспортausweis",
            "🅿️parkausweis🪪",
            "parkausweisé",
            long.as_str(),
            "sssssssssssssssssssssss",
            "parkparkparkpark",
        ] {
            for part in d.split(word) {
                assert!(part.len() >= MIN_PART, "{word}: {part}");
                assert!(word.contains(&part), "{word}: {part}");
            }
        }
        assert_eq!(d.split("parkparkparkpark"), ["park"]);
    }

    #[test]
    fn plain_words_and_nonsense_stay_whole() {
        let d = decompounder();
        for word in [
            "ausweis",
            "anmeldung",
            "unterlagen",
            "verwaltung",
            "beantragen",
            "xyz",
            "",
            "parkx",
        ] {
            assert!(d.split(word).is_empty(), "{word}: {:?}", d.split(word));
        }
    }
}
