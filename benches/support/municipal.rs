//! A generated NDJSON file shaped like a real municipal export of service descriptions
//! (test-support code shared by `benches/knowledge.rs -- import2000` and the end-to-end test
//! `import_at_scale`): HTML text modules, 40 % of the descriptions without a LeiKa key
//! (local services), some with several keys, variants sharing a key, keywords, and the
//! source system's id on (almost) every description. The same seed gives the same file.

use serde_json::{Value, json};

/// What the file holds, to check an import against.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MunicipalStats {
    pub descriptions: usize,
    /// Descriptions without a LeiKa key.
    pub without_key: usize,
    /// Descriptions with more than one key.
    pub several_keys: usize,
    /// Keys that more than one description carries (variants).
    pub shared_keys: usize,
    /// Sum of the keys over all descriptions (rows of the key table after the import).
    pub key_rows: usize,
    /// Descriptions without an external id (matched by their title).
    pub without_external_id: usize,
}

/// xorshift64*, self-contained so that benches and tests can include this file alone.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % (n.max(1) as u64)) as usize
    }

    fn pick<'a>(&mut self, items: &'a [&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    /// True with `percent` % probability.
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

const TOPICS: &[&str] = &[
    "Anwohnerparkausweis",
    "Taxigenehmigung",
    "Urkundenabholung",
    "Hundesteuer",
    "Sondernutzungserlaubnis",
    "Gewerbeanmeldung",
    "Aufenthaltserlaubnis",
    "Baugenehmigung",
    "Fischereischein",
    "Feuerwehrführung",
    "Sperrmüllabholung",
    "Wohngeld",
    "Führungszeugnis",
    "Meldebescheinigung",
    "Kita-Platz",
    "Grabnutzungsrecht",
    "Straßenreinigung",
    "Marktstand",
    "Plakatierung",
    "Veranstaltungsanzeige",
];

const QUALIFIERS: &[&str] = &[
    "Studium",
    "Au-pair",
    "Beschäftigung",
    "Familiennachzug",
    "Erteilung",
    "Verlängerung",
    "Änderung",
    "Ersatz",
    "für Gewerbetreibende",
    "für Vereine",
    "für Privatpersonen",
    "im Stadtteil",
];

const WORDS: &[&str] = &[
    "Antrag",
    "Bescheid",
    "Unterlagen",
    "Frist",
    "Gebühr",
    "persönlich",
    "schriftlich",
    "online",
    "Nachweis",
    "Termin",
    "Behörde",
    "zuständig",
    "Wohnort",
    "Vollmacht",
    "Ausweis",
    "Bearbeitung",
    "Prüfung",
    "Entscheidung",
    "Widerspruch",
    "Auskunft",
];

fn sentence(rng: &mut Rng, words: usize) -> String {
    let mut out = String::from("Für den");
    for _ in 0..words {
        out.push(' ');
        out.push_str(rng.pick(WORDS));
    }
    out.push('.');
    out
}

fn key(n: usize) -> String {
    format!("99{:012}", 50_000_000_000 + n * 1_000)
}

/// The file and what it holds. `count` descriptions (2,000 for the real-size test).
pub fn municipal_export(count: usize, seed: u64) -> (String, MunicipalStats) {
    let mut rng = Rng(seed | 1);
    let mut stats = MunicipalStats {
        descriptions: count,
        ..MunicipalStats::default()
    };
    let mut next_key = 0;
    let mut out = String::with_capacity(count * 1_500);
    // A group of variants shares one key; `left` variants of the current group remain.
    let mut group: Option<(String, usize)> = None;
    for i in 0..count {
        // Exactly 40 % without a key: two of every five.
        let keys: Vec<String> = if i % 5 < 2 {
            Vec::new()
        } else if let Some((shared, left)) = group.as_mut() {
            let keys = vec![shared.clone()];
            *left -= 1;
            if *left == 0 {
                group = None;
            }
            keys
        } else if rng.chance(8) {
            // Several keys (two to four).
            let n = 2 + rng.below(3);
            (0..n)
                .map(|_| {
                    next_key += 1;
                    key(next_key)
                })
                .collect()
        } else {
            next_key += 1;
            let k = key(next_key);
            if rng.chance(15) {
                // The first of two to four variants with this key.
                let variants = 1 + rng.below(3);
                group = Some((k.clone(), variants));
                stats.shared_keys += 1;
            }
            vec![k]
        };
        match keys.len() {
            0 => stats.without_key += 1,
            1 => {}
            _ => stats.several_keys += 1,
        }
        stats.key_rows += keys.len();
        let topic = rng.pick(TOPICS);
        let title = format!("{topic} – {} ({})", rng.pick(QUALIFIERS), i + 1);
        let kurztext = format!(
            "<p>{} <strong>{topic}</strong> {}</p>",
            sentence(&mut rng, 6),
            sentence(&mut rng, 4)
        );
        let volltext = format!(
            "<p>{}</p><p>{}<br/>{}</p><ul><li>{}</li><li>{}</li></ul><p>Weitere Informationen: \
             <a href=\"https://www.example-stadt.de/leistungen/{i}\">Leistungsseite</a></p>",
            sentence(&mut rng, 12),
            sentence(&mut rng, 10),
            sentence(&mut rng, 8),
            sentence(&mut rng, 5),
            sentence(&mut rng, 5)
        );
        let mut line = json!({
            "title": title,
            "leika_keys": keys,
            "synonyms": [topic, format!("{} {}", rng.pick(WORDS), topic), rng.pick(WORDS)],
            "modules": {
                "kurztext": kurztext,
                "volltext": volltext,
                "unterlagen": [sentence(&mut rng, 3), sentence(&mut rng, 3)],
                "voraussetzungen": format!("<ul><li>{}</li><li>{}</li></ul>", sentence(&mut rng, 5), sentence(&mut rng, 5)),
                "kosten": {"text": format!("<p>{}</p>", sentence(&mut rng, 4)),
                           "amounts": [{"label": "Gebühr", "eur": format!("{},{:02}", 5 + rng.below(95), rng.below(100))}]},
                "fristen": format!("<p>{}</p>", sentence(&mut rng, 4)),
                "formulare": [{"title": "Antrag", "url": format!("https://www.example-stadt.de/formulare/{i}.pdf")}],
            },
            "status": if rng.chance(90) { "published" } else { "draft" },
        });
        // Real exports carry the source system's id; a few hand-made lines do not.
        if rng.chance(95) {
            line["external_id"] = Value::from(format!("{}", 1_060_000 + i));
        } else {
            stats.without_external_id += 1;
        }
        out.push_str(&line.to_string());
        out.push('\n');
    }
    (out, stats)
}
