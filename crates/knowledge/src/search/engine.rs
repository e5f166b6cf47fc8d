//! The tantivy index itself: schema, German analyzer, document building, query building,
//! ranking and snippets. Pure: no database. [`super::sync`] feeds it from the database.

use std::collections::{BTreeSet, HashSet};

use tantivy::indexer::{LogMergePolicy, NoMergePolicy};
use tantivy::query::{
    BooleanQuery, BoostQuery, ConstScoreQuery, FuzzyTermQuery, Occur, Query, TermQuery,
    TermSetQuery,
};
use tantivy::schema::{
    FAST, Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer,
    StopWordFilter, TextAnalyzer,
};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term};
use uuid::Uuid;

use super::collector::{Allow, FilteredTopDocs};
use super::compound::{Decompounder, MIN_PART, Vocabulary};
use super::synonyms::SYNONYMS;
use tantivy::collector::TopDocs;

/// The analyzer of all text fields: words, lower case, German stop words, German stemming,
/// then umlauts and other accents folded to ASCII.
const GERMAN: &str = "de_stem";
/// Lower case and folded, not stemmed: for prefix matching as you type.
const PLAIN: &str = "de_plain";

/// Longest body stored for snippets, in bytes: the Kurztext and the start of the Volltext,
/// where the words of a search usually are. (The whole body is indexed.)
const MAX_STORED_BODY: usize = 2_000;
/// Memory of the one index writer (tantivy's minimum is 15 MB).
const WRITER_HEAP: usize = 20_000_000;
/// Length of a snippet, in characters.
const SNIPPET_CHARS: usize = 220;
/// Words whose stem the highlighter remembers, per thread.
const STEM_CACHE_WORDS: usize = 50_000;

thread_local! {
    /// Word → stem (`None`: a stop word), for highlighting: stemming every word of every
    /// snippet again would cost more than the search itself.
    static STEMS: std::cell::RefCell<rustc_hash::FxHashMap<String, Option<String>>> =
        std::cell::RefCell::new(rustc_hash::FxHashMap::default());
    /// Word → stems of its compound parts (empty: no compound), for indexing, queries and
    /// highlighting: a body repeats its words, and an index repeats its bodies' words.
    static PARTS: std::cell::RefCell<rustc_hash::FxHashMap<String, std::rc::Rc<Parts>>> =
        std::cell::RefCell::new(rustc_hash::FxHashMap::default());
}

/// Common German words that carry no meaning for the search.
const STOP_WORDS: &[&str] = &[
    "aber", "alle", "als", "also", "am", "an", "auch", "auf", "aus", "bei", "beim", "bin", "bis",
    "bitte", "da", "damit", "dann", "das", "dass", "dem", "den", "der", "des", "die", "dies",
    "diese", "doch", "du", "ein", "eine", "einem", "einen", "einer", "eines", "er", "es", "für",
    "hab", "habe", "haben", "hat", "ich", "ihr", "im", "in", "ist", "ja", "kann", "man", "mein",
    "meine", "meinen", "meiner", "mich", "mir", "mit", "muss", "nach", "nicht", "noch", "nur",
    "oder", "ob", "sich", "sie", "sind", "so", "um", "und", "uns", "vom", "von", "vor", "was",
    "wann", "warum", "was", "welche", "wer", "wie", "wir", "wo", "wird", "zu", "zum", "zur",
];

fn german_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(60))
        .filter(LowerCaser)
        .filter(StopWordFilter::remove(
            STOP_WORDS.iter().map(|w| (*w).to_owned()),
        ))
        .filter(Stemmer::new(Language::German))
        .filter(AsciiFoldingFilter)
        .build()
}

fn plain_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(60))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .build()
}

/// The fields of the index.
#[derive(Clone, Copy, Debug)]
struct Fields {
    id: Field,
    tenant_id: Field,
    tenant: Field,
    leika: Field,
    status: Field,
    title: Field,
    synonyms: Field,
    body: Field,
    excerpt: Field,
    words: Field,
    /// [`access_key`] of the document, for the access filter of [`FilteredTopDocs`].
    access: Field,
    /// Adjacent stems of the title and of each synonym, "stem stem", one term each.
    pairs: Field,
    /// Stems of the parts of the compound words of the title and the synonyms
    /// ("Bewohnerparkausweis": bewohn, parkausweis, park, ausweis), for matches by part that
    /// weigh less than a match of the whole word.
    title_parts: Field,
    /// The same for the body.
    body_parts: Field,
}

/// Up to this many tenants, a search filtered to them intersects the query with their
/// documents; beyond, the filter is checked per candidate ([`FilteredTopDocs`]).
const FEW_TENANTS: usize = 32;

/// The fast field name of [`Fields::access`].
const ACCESS: &str = "access";

/// A document's access key: its tenant's number in this index ([`TenantNumbers`]) and
/// whether it is a draft.
fn access_key(tenant_number: u64, draft: bool) -> u64 {
    (tenant_number << 1) | u64::from(draft)
}

/// A number per tenant of this index, for the access keys: handed out as the tenant's first
/// document comes in and never reused, so two tenants never share a key.
///
/// The key once held 63 bits of the tenant id instead. Tenant ids are UUIDv7: time first, and
/// the ids of tenants created in the same millisecond share their whole first half. Two such
/// tenants had one key, and a search of "every tenant but mine" (`tenant=all`) dropped the
/// descriptions of every tenant that shared the searcher's key (and a filter to some tenants let
/// the other's documents take places in the top list that the later check then emptied).
/// Whether it happened depended on the timing of tenant creation, so tests failed at random.
#[derive(Default)]
struct TenantNumbers(std::sync::RwLock<rustc_hash::FxHashMap<Uuid, u64>>);

impl TenantNumbers {
    /// The number of `tenant`, handed out on first use.
    fn number(&self, tenant: Uuid) -> u64 {
        if let Some(n) = self.read().get(&tenant) {
            return *n;
        }
        let mut map = self
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let next = map.len() as u64;
        *map.entry(tenant).or_insert(next)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, rustc_hash::FxHashMap<Uuid, u64>> {
        self.0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// One description as it goes into the index (merged with its base text).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexedService {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub tenant: String,
    /// Every LeiKa key of the description (each is found by the `leika` filter).
    pub leika_keys: Vec<String>,
    /// `draft` or `published` (archived descriptions are not indexed).
    pub status: String,
    pub title: String,
    pub synonyms: Vec<String>,
    /// The text of all modules, Kurztext first.
    pub body: String,
}

/// Which tenants a search covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TenantFilter {
    /// Only these tenants.
    Only(BTreeSet<Uuid>),
    /// Every tenant except these.
    AllExcept(BTreeSet<Uuid>),
}

impl TenantFilter {
    pub fn contains(&self, tenant_id: Uuid) -> bool {
        match self {
            Self::Only(set) => set.contains(&tenant_id),
            Self::AllExcept(set) => !set.contains(&tenant_id),
        }
    }
}

/// A search, after access checks: which tenants, whose drafts.
#[derive(Clone, Debug)]
pub struct SearchRequest {
    pub text: String,
    /// Searched first; their hits come first.
    pub primary: TenantFilter,
    /// Searched after the primary tenants, if any.
    pub secondary: Option<TenantFilter>,
    /// Tenants whose drafts the actor may see.
    pub drafts_of: BTreeSet<Uuid>,
    pub leika: Option<String>,
    pub limit: usize,
}

/// One hit.
#[derive(Clone, Debug, PartialEq)]
pub struct RawHit {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub tenant: String,
    pub leika_keys: Vec<String>,
    pub status: String,
    pub title: String,
    pub score: f32,
    /// From the primary tenants.
    pub primary: bool,
    /// The title, HTML-escaped, with `<mark>` around matching words.
    pub title_html: String,
    /// A part of the body, HTML-escaped, with `<mark>` around matching words.
    pub snippet_html: String,
}

/// The compound parts of a word, as stems.
#[derive(Debug, Default)]
struct Parts {
    /// Every part, each once (the stem of the whole word is never among them).
    stems: Vec<String>,
    /// Adjacent parts of each split, "stem stem", as the `pairs` field has them:
    /// "Taxi Genehmigung" is a pair of the title "Taxigenehmigung".
    pairs: Vec<String>,
}

/// A word of the query.
#[derive(Clone, Debug)]
struct QueryWord {
    /// Lower case, folded, not stemmed.
    plain: String,
    /// Stemmed; `None` for a stop word.
    stem: Option<String>,
    /// Its compound parts (see [`SearchEngine::with_parts`]).
    parts: std::rc::Rc<Parts>,
}

/// What a query matches, for highlighting.
#[derive(Default, Debug)]
struct Matcher {
    /// Stems: of the query, of its synonyms, and the index words one typo away.
    exact: HashSet<String>,
    /// Stems of the query words and their parts that mark a compound word of a text with
    /// such a part ("Taxi" in "Taxigenehmigung").
    parts: HashSet<String>,
    prefix: Option<String>,
    /// The first two letters of every stem and of the prefix, or `None` when one of them has
    /// no two ASCII letters (then every word is looked at). See [`Matcher::may_match`].
    heads: Option<Vec<[u8; 2]>>,
}

impl Matcher {
    /// Call once `exact` and `prefix` are complete.
    fn with_heads(mut self) -> Self {
        self.heads = self
            .exact
            .iter()
            .chain(&self.prefix)
            .map(|s| match s.as_bytes() {
                [a, b, ..] if a.is_ascii() && b.is_ascii() => Some([*a, *b]),
                _ => None,
            })
            .collect();
        self
    }

    /// Whether a word of a text can match: its first two letters, lower case, are those of a
    /// stem or of the prefix. A stem starts with the first two letters of its word, lower case
    /// and folded (the German stemmer only cuts endings and folds umlauts), so only the few
    /// words that pass are stemmed.
    fn may_match(&self, word: &str) -> bool {
        let Some(heads) = &self.heads else {
            return true;
        };
        match word.as_bytes() {
            [a, b, ..] if a.is_ascii() && b.is_ascii() => {
                let head = [a.to_ascii_lowercase(), b.to_ascii_lowercase()];
                heads.contains(&head)
            }
            _ => true,
        }
    }
}

/// The search index of one instance.
pub struct SearchEngine {
    index: Index,
    reader: IndexReader,
    f: Fields,
    german: TextAnalyzer,
    plain: TextAnalyzer,
    /// The synonym keys as stem sequences with their expansion stems.
    synonyms: Vec<(Vec<String>, Vec<String>)>,
    tenants: TenantNumbers,
    compounds: Decompounder,
}

impl SearchEngine {
    /// A new, empty index in memory.
    pub fn in_ram() -> tantivy::Result<Self> {
        let mut builder = Schema::builder();
        let stemmed = |stored: bool, record: IndexRecordOption| {
            let opts = TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer(GERMAN)
                    .set_index_option(record),
            );
            if stored { opts.set_stored() } else { opts }
        };
        // No positions: word pairs are terms of their own field (`pairs`).
        let freqs = IndexRecordOption::WithFreqs;
        let f = Fields {
            id: builder.add_text_field("id", STRING | STORED),
            tenant_id: builder.add_text_field("tenant_id", STRING | STORED),
            tenant: builder.add_text_field("tenant", STORED),
            leika: builder.add_text_field("leika", STRING | STORED),
            status: builder.add_text_field("status", STRING | STORED),
            title: builder.add_text_field("title", stemmed(true, freqs)),
            synonyms: builder.add_text_field("synonyms", stemmed(false, freqs)),
            body: builder.add_text_field("body", stemmed(false, IndexRecordOption::WithFreqs)),
            excerpt: builder.add_text_field("excerpt", STORED),
            words: builder.add_text_field(
                "words",
                TextOptions::default().set_indexing_options(
                    TextFieldIndexing::default()
                        .set_tokenizer(PLAIN)
                        // With frequencies: block-max WAND needs them on every term of a union.
                        .set_index_option(IndexRecordOption::WithFreqs),
                ),
            ),
            access: builder.add_u64_field(ACCESS, FAST),
            pairs: builder.add_text_field(
                "pairs",
                TextOptions::default().set_indexing_options(
                    TextFieldIndexing::default()
                        .set_tokenizer("raw")
                        .set_index_option(IndexRecordOption::WithFreqs),
                ),
            ),
            title_parts: builder.add_text_field("title_parts", stems_field()),
            body_parts: builder.add_text_field("body_parts", stems_field()),
        };
        let index = Index::create_in_ram(builder.build());
        index.tokenizers().register(GERMAN, german_analyzer());
        index.tokenizers().register(PLAIN, plain_analyzer());
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let plain = plain_analyzer();
        let compounds = Decompounder::new(|word| fold_with(&plain, word));
        let mut engine = Self {
            index,
            reader,
            f,
            german: german_analyzer(),
            plain,
            synonyms: Vec::new(),
            tenants: TenantNumbers::default(),
            compounds,
        };
        engine.synonyms = SYNONYMS
            .iter()
            .flat_map(|(keys, target)| {
                let target: Vec<String> = engine.stems(target);
                keys.iter()
                    .map(|k| (engine.stems(k), target.clone()))
                    .collect::<Vec<_>>()
            })
            .filter(|(key, target)| !key.is_empty() && !target.is_empty())
            .collect();
        Ok(engine)
    }

    /// The one writer of this index. Only the sync task holds it.
    /// While the index is built, segments are not merged (see [`Self::merge_all`]).
    pub fn writer(&self) -> tantivy::Result<IndexWriter> {
        let writer = self.index.writer_with_num_threads(1, WRITER_HEAP)?;
        writer.set_merge_policy(Box::new(NoMergePolicy));
        Ok(writer)
    }

    /// After building the index: merges all segments into one and waits, so that a search
    /// looks up each term once, not once per segment. Then the writer merges as usual.
    pub fn merge_all(&self, writer: &mut IndexWriter) -> tantivy::Result<()> {
        let ids = self.index.searchable_segment_ids()?;
        if ids.len() > 1 {
            writer.merge(&ids).wait()?;
        }
        writer.set_merge_policy(Box::new(LogMergePolicy::default()));
        writer.garbage_collect_files().wait()?;
        self.reader.reload()
    }

    /// Number of segments visible to searches.
    pub fn num_segments(&self) -> usize {
        self.reader.searcher().segment_readers().len()
    }

    /// Makes committed changes visible to searches.
    pub fn reload(&self) -> tantivy::Result<()> {
        self.reader.reload()
    }

    /// Number of documents visible to searches.
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Replaces (or removes, with `None`) the document of a description. Commit afterwards.
    pub fn upsert(
        &self,
        writer: &IndexWriter,
        id: Uuid,
        doc: Option<&IndexedService>,
    ) -> tantivy::Result<()> {
        writer.delete_term(Term::from_field_text(self.f.id, &id.to_string()));
        if let Some(s) = doc {
            writer.add_document(self.document(s))?;
        }
        Ok(())
    }

    /// Adds the document of a description that is not in the index yet (building the index).
    pub fn add(&self, writer: &IndexWriter, doc: &IndexedService) -> tantivy::Result<()> {
        writer.add_document(self.document(doc))?;
        Ok(())
    }

    fn document(&self, s: &IndexedService) -> TantivyDocument {
        let f = self.f;
        let mut doc = TantivyDocument::default();
        doc.add_text(f.id, s.id.to_string());
        doc.add_text(f.tenant_id, s.tenant_id.to_string());
        doc.add_text(f.tenant, &s.tenant);
        for key in &s.leika_keys {
            doc.add_text(f.leika, key);
        }
        doc.add_text(f.status, &s.status);
        doc.add_u64(
            f.access,
            access_key(self.tenants.number(s.tenant_id), s.status == "draft"),
        );
        doc.add_text(f.title, &s.title);
        doc.add_text(f.synonyms, s.synonyms.join(" · "));
        // The whole body is indexed; only a shortened copy is stored for snippets.
        doc.add_text(f.body, &s.body);
        let mut cut = s.body.len().min(MAX_STORED_BODY);
        while !s.body.is_char_boundary(cut) {
            cut -= 1;
        }
        doc.add_text(f.excerpt, &s.body[..cut]);
        for text in std::iter::once(&s.title).chain(&s.synonyms) {
            for pair in self.stems(text).windows(2) {
                doc.add_text(f.pairs, pair.join(" "));
            }
            // And the adjacent parts of its compound words.
            for (from, to) in word_spans(text) {
                for pair in &self.parts_of(&text[from..to]).pairs {
                    doc.add_text(f.pairs, pair);
                }
            }
        }
        doc.add_text(f.words, &s.title);
        for synonym in &s.synonyms {
            doc.add_text(f.words, synonym);
        }
        let mut title_parts = String::new();
        for text in std::iter::once(&s.title).chain(&s.synonyms) {
            self.push_parts(text, &mut title_parts);
        }
        doc.add_text(f.title_parts, &title_parts);
        let mut body_parts = String::new();
        self.push_parts(&s.body, &mut body_parts);
        doc.add_text(f.body_parts, &body_parts);
        doc
    }

    /// Appends the part stems of the compound words of `text`, separated by spaces.
    fn push_parts(&self, text: &str, out: &mut String) {
        for (from, to) in word_spans(text) {
            self.with_parts(&text[from..to], |parts| {
                for part in &parts.stems {
                    out.push_str(part);
                    out.push(' ');
                }
            });
        }
    }

    fn parts_of(&self, word: &str) -> std::rc::Rc<Parts> {
        self.with_parts(word, |p| p.clone())
    }

    /// Calls `f` with the compound parts of one word (none: no compound), remembered per
    /// thread.
    fn with_parts<T>(&self, word: &str, f: impl FnOnce(&std::rc::Rc<Parts>) -> T) -> T {
        if word.len() < 2 * MIN_PART {
            return f(&std::rc::Rc::default());
        }
        PARTS.with(|cache| {
            if let Some(parts) = cache.borrow().get(word) {
                return f(parts);
            }
            let parts = std::rc::Rc::new(self.split_word(word, &|_| false));
            let out = f(&parts);
            let mut cache = cache.borrow_mut();
            if cache.len() >= STEM_CACHE_WORDS {
                cache.clear();
            }
            cache.insert(word.to_owned(), parts);
            out
        })
    }

    /// The compound parts of one word as stems, with the words of `extra` known beside the
    /// built-in vocabulary.
    fn split_word(&self, word: &str, extra: Vocabulary<'_>) -> Parts {
        let whole = self.stem_of(word);
        let plain = self.plain_form(word);
        let mut stems: Vec<String> = Vec::new();
        for part in self.compounds.split_with(&plain, extra) {
            if let Some(stem) = self.stem_of(&part)
                && Some(&stem) != whole.as_ref()
                && !stems.contains(&stem)
            {
                stems.push(stem);
            }
        }
        let mut pairs: Vec<String> = Vec::new();
        for split in self.compounds.splits_with(&plain, extra) {
            let split: Vec<String> = split.iter().filter_map(|p| self.stem_of(p)).collect();
            pairs.extend(split.windows(2).map(|pair| pair.join(" ")));
        }
        Parts { stems, pairs }
    }

    /// The stems of a text (stop words dropped).
    fn stems(&self, text: &str) -> Vec<String> {
        let mut analyzer = self.german.clone();
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while stream.advance() {
            out.push(stream.token().text.clone());
        }
        out
    }

    fn stem_of(&self, word: &str) -> Option<String> {
        self.stems(word).into_iter().next()
    }

    /// The words of a text with their byte offsets, lower case and folded.
    fn plain_words(&self, text: &str) -> Vec<(String, usize, usize)> {
        let mut analyzer = self.plain.clone();
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while stream.advance() {
            let t = stream.token();
            out.push((t.text.clone(), t.offset_from, t.offset_to));
        }
        out
    }

    fn query_words(&self, text: &str) -> Vec<QueryWord> {
        self.plain_words(text)
            .into_iter()
            .take(32)
            .map(|(plain, from, to)| {
                let word = text.get(from..to).unwrap_or_default();
                QueryWord {
                    stem: self.cached_stem(word),
                    parts: self.parts_of(word),
                    plain,
                }
            })
            .collect()
    }

    /// The clauses of one stem: in the title, the synonyms and (with `body`) the body.
    fn term_clauses(&self, stem: &str, boost: f32, body: bool) -> Vec<(Occur, Box<dyn Query>)> {
        let f = self.f;
        [(f.title, 3.0), (f.synonyms, 2.5), (f.body, 1.0)]
            .into_iter()
            .filter(|(field, _)| body || *field != f.body)
            .map(|(field, weight)| weighted_term(field, stem, weight * boost))
            .collect()
    }

    /// Builds the text part of the query and what it highlights.
    ///
    /// Every clause is a term of the index where it can be: a union of plain terms lets
    /// tantivy skip the blocks of documents that cannot reach the top list (block-max WAND).
    /// So a word is only matched with one typo (an automaton over the dictionary) when its stem
    /// is in no title or synonym, and the prefix of the word being typed is expanded into the
    /// dictionary's words it starts (the most frequent ones).
    fn text_query(&self, searcher: &Searcher, text: &str) -> (Option<Box<dyn Query>>, Matcher) {
        let f = self.f;
        let mut words = self.query_words(text);
        let typing = !text.ends_with(char::is_whitespace);
        // A long query word that the built-in vocabulary does not split and that is no word
        // of the index is split with the index's own vocabulary too (the words of its titles
        // and synonyms): "Anwohnerparkausweis" by "parkausweis" when a service has that title.
        for word in &mut words {
            if word.parts.stems.is_empty()
                && word.plain.len() >= SPLIT_BY_INDEX
                && !in_dictionary(searcher, f.words, &word.plain)
            {
                let extra = |piece: &str| in_dictionary(searcher, f.words, piece);
                let parts = self.split_word(&word.plain, &extra);
                if !parts.stems.is_empty() {
                    word.parts = std::rc::Rc::new(parts);
                }
            }
        }
        let mut matcher = Matcher::default();
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let last = words.len().saturating_sub(1);
        for (i, word) in words.iter().enumerate() {
            let mut alternatives: Vec<(Occur, Box<dyn Query>)> = Vec::new();
            if let Some(stem) = &word.stem {
                alternatives.extend(self.term_clauses(stem, 1.0, true));
                matcher.exact.insert(stem.clone());
                // One typo on longer words that are no title or synonym word as written.
                let known = [f.title, f.synonyms]
                    .into_iter()
                    .any(|field| in_dictionary(searcher, field, stem));
                // The word as a part of the compound words of a document ("Taxi" in
                // "Taxigenehmigung").
                for (field, weight) in [(f.title_parts, PART_TITLE), (f.body_parts, PART_BODY)] {
                    alternatives.push(weighted_term(field, stem, weight));
                }
                matcher.parts.insert(stem.clone());
                if word.plain.chars().count() >= 5 && !known {
                    // Title and synonyms only: the body's many words would mostly add noise.
                    // The words one edit away are looked up here and searched as plain terms.
                    for (field, weight) in [(f.title, FUZZY_TITLE), (f.synonyms, FUZZY_SYNONYM)] {
                        for near in one_edit_away(searcher, field, stem) {
                            alternatives.push(weighted_term(field, &near, weight));
                            matcher.exact.insert(near);
                        }
                    }
                }
            }
            // A compound: its parts, as words of a document and as parts of its compounds
            // ("Anwohnerparkausweis" finds "Bewohnerparkausweis" by "parkausweis", "park"
            // and "ausweis").
            for part in &word.parts.stems {
                alternatives.extend(self.term_clauses(part, QUERY_PART, true));
                for (field, weight) in [(f.title_parts, PART_TITLE), (f.body_parts, PART_BODY)] {
                    alternatives.push(weighted_term(field, part, weight * QUERY_PART));
                }
                matcher.exact.insert(part.clone());
                matcher.parts.insert(part.clone());
            }
            // The last word may be incomplete: match it as a prefix of title and synonym words.
            if i == last && typing && word.plain.chars().count() >= 2 {
                for completion in completions(searcher, f.words, &word.plain) {
                    alternatives.push(weighted_term(f.words, &completion, PREFIX_BOOST));
                }
                matcher.prefix = Some(word.plain.clone());
            }
            // A flat union scores the same as one group per word (scores add up either
            // way) and is cheaper to run.
            clauses.extend(alternatives);
        }
        let stems: Vec<&str> = words.iter().filter_map(|w| w.stem.as_deref()).collect();
        // Two query words next to each other in a title or synonym weigh more (a term of the
        // pairs field, not a phrase query, so that the union stays one of plain terms).
        for pair in stems.windows(2) {
            clauses.push(weighted_term(f.pairs, &pair.join(" "), 3.0));
        }
        // The same for the adjacent parts of a compound query word ("Fahrzeugabmeldung" and
        // the synonym "Fahrzeug abmelden").
        for pair in words.iter().flat_map(|w| &w.parts.pairs) {
            clauses.push(weighted_term(f.pairs, pair, 3.0 * QUERY_PART));
        }
        // Synonyms: consecutive query stems that form a key add the target's words.
        for (key, target) in &self.synonyms {
            let hit = stems
                .windows(key.len())
                .any(|w| w.iter().zip(key.iter()).all(|(a, b)| *a == b.as_str()));
            // The words a synonym adds name the service: they are looked for in titles and
            // synonyms, not in every body that happens to use them ("Fahrzeug").
            if hit {
                for stem in target {
                    clauses.extend(self.term_clauses(stem, 1.5 / target.len() as f32, false));
                    matcher.exact.insert(stem.clone());
                }
            }
        }
        let matcher = matcher.with_heads();
        if clauses.is_empty() {
            (None, matcher)
        } else {
            (Some(Box::new(BooleanQuery::new(clauses))), matcher)
        }
    }

    fn term(&self, field: Field, value: &str) -> Box<dyn Query> {
        Box::new(TermQuery::new(
            Term::from_field_text(field, value),
            IndexRecordOption::Basic,
        ))
    }

    fn tenant_terms(&self, tenants: &BTreeSet<Uuid>) -> Box<dyn Query> {
        let term = |t: &Uuid| Term::from_field_text(self.f.tenant_id, &t.to_string());
        if tenants.len() <= 32 {
            // A few terms: cheaper than the automaton a term set builds for every search.
            Box::new(BooleanQuery::new(
                tenants
                    .iter()
                    .map(|t| {
                        let q: Box<dyn Query> =
                            Box::new(TermQuery::new(term(t), IndexRecordOption::Basic));
                        (Occur::Should, q)
                    })
                    .collect(),
            ))
        } else {
            Box::new(TermSetQuery::new(tenants.iter().map(term)))
        }
    }

    /// Published documents of the tenants of `filter`, or drafts of those the actor may see.
    fn access_filter(&self, filter: &TenantFilter, drafts_of: &BTreeSet<Uuid>) -> Box<dyn Query> {
        let f = self.f;
        let tenant_part = |q: &mut Vec<(Occur, Box<dyn Query>)>| match filter {
            TenantFilter::Only(set) => q.push((Occur::Must, self.tenant_terms(set))),
            TenantFilter::AllExcept(set) => {
                if !set.is_empty() {
                    q.push((Occur::MustNot, self.tenant_terms(set)));
                }
            }
        };
        let mut published = vec![(Occur::Must, self.term(f.status, "published"))];
        tenant_part(&mut published);
        if drafts_of.is_empty() && published.len() == 1 {
            // All published documents: one term.
            return self.term(f.status, "published");
        }
        let mut any: Vec<(Occur, Box<dyn Query>)> =
            vec![(Occur::Should, Box::new(BooleanQuery::new(published)))];
        if !drafts_of.is_empty() {
            let mut drafts = vec![
                (Occur::Must, self.term(f.status, "draft")),
                (Occur::Must, self.tenant_terms(drafts_of)),
            ];
            tenant_part(&mut drafts);
            any.push((Occur::Should, Box::new(BooleanQuery::new(drafts))));
        }
        Box::new(BooleanQuery::new(any))
    }

    /// Runs a search. Hits of the primary tenants come first, each group by score.
    ///
    /// The primary tenants (an agent's own) are searched first; the other tenants only when the
    /// primary ones leave places in the result, for those places. The two groups never
    /// overlap. The access filter (tenants, drafts) is checked per candidate by
    /// [`FilteredTopDocs`], and again on every hit with its stored tenant and status.
    pub fn search(&self, req: &SearchRequest) -> tantivy::Result<Vec<RawHit>> {
        let searcher = self.reader.searcher();
        let (Some(text_query), matcher) = self.text_query(&searcher, &req.text) else {
            return Ok(Vec::new());
        };
        let query: Box<dyn Query> = match &req.leika {
            Some(leika) => Box::new(BooleanQuery::new(vec![
                (Occur::Must, text_query),
                (
                    Occur::Must,
                    Box::new(ConstScoreQuery::new(self.term(self.f.leika, leika), 0.0)),
                ),
            ])),
            None => text_query,
        };
        let searchable =
            |filter: &TenantFilter| !matches!(filter, TenantFilter::Only(set) if set.is_empty());
        let primary = searchable(&req.primary).then_some(&req.primary);
        let secondary = req.secondary.as_ref().filter(|s| searchable(s));
        let mut hits = Vec::with_capacity(req.limit);
        for (filter, is_primary) in [(primary, true), (secondary, false)] {
            let Some(filter) = filter else { continue };
            let room = req.limit.saturating_sub(hits.len());
            if room == 0 {
                break;
            }
            let top = match filter {
                // A few tenants: their documents are few, so the filter drives the search
                // (an intersection with the text query).
                TenantFilter::Only(set) if set.len() <= FEW_TENANTS => {
                    let narrowed = BooleanQuery::new(vec![
                        (Occur::Must, query.box_clone()),
                        (
                            Occur::Must,
                            Box::new(ConstScoreQuery::new(
                                self.access_filter(filter, &req.drafts_of),
                                0.0,
                            )),
                        ),
                    ]);
                    searcher.search(&narrowed, &TopDocs::with_limit(room).order_by_score())?
                }
                // Most of the index: the text query drives, the filter is checked per candidate.
                _ => searcher.search(
                    query.as_ref(),
                    &FilteredTopDocs {
                        limit: room,
                        field: ACCESS,
                        allow: self.allow(filter, &req.drafts_of),
                    },
                )?,
            };
            for (score, address) in top {
                let doc: TantivyDocument = searcher.doc(address)?;
                let mut hit = self.hit(&doc, score, &matcher);
                let visible = filter.contains(hit.tenant_id)
                    && (hit.status == "published"
                        || (hit.status == "draft" && req.drafts_of.contains(&hit.tenant_id)));
                if visible {
                    hit.primary = is_primary;
                    hits.push(hit);
                }
            }
        }
        Ok(hits)
    }

    fn hit(&self, doc: &TantivyDocument, score: f32, m: &Matcher) -> RawHit {
        let text = |field: Field| {
            doc.get_first(field)
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        };
        let title = text(self.f.title);
        let body = text(self.f.excerpt);
        RawHit {
            id: Uuid::parse_str(&text(self.f.id)).unwrap_or_default(),
            tenant_id: Uuid::parse_str(&text(self.f.tenant_id)).unwrap_or_default(),
            tenant: text(self.f.tenant),
            leika_keys: doc
                .get_all(self.f.leika)
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            status: text(self.f.status),
            title_html: self.highlight(&title, m, usize::MAX),
            snippet_html: self.highlight(&body, m, SNIPPET_CHARS),
            title,
            score,
            primary: false,
        }
    }

    /// The stem of one word (`None` for a stop word), remembered per thread.
    fn cached_stem(&self, word: &str) -> Option<String> {
        self.with_stem(word, |stem| stem.map(str::to_owned))
    }

    /// Calls `f` with the stem of one word (`None` for a stop word), remembered per thread.
    fn with_stem<T>(&self, word: &str, f: impl FnOnce(Option<&str>) -> T) -> T {
        STEMS.with(|cache| {
            if let Some(stem) = cache.borrow().get(word) {
                return f(stem.as_deref());
            }
            let stem = self.stem_of(word);
            let out = f(stem.as_deref());
            let mut cache = cache.borrow_mut();
            if cache.len() >= STEM_CACHE_WORDS {
                cache.clear();
            }
            cache.insert(word.to_owned(), stem);
            out
        })
    }

    /// A word lower case and folded, as the `words` field has it.
    fn plain_form(&self, word: &str) -> String {
        if word.is_ascii() {
            return word.to_ascii_lowercase();
        }
        fold_with(&self.plain, word)
    }

    /// The words of `text` that the query matches, as byte ranges: from the first match on,
    /// as far as a snippet of `max_chars` reaches (the first match is found wherever it is).
    fn marks(&self, text: &str, m: &Matcher, max_chars: usize) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        // Bytes after the first match that can still be shown (4 bytes per char at most).
        let mut until = usize::MAX;
        for (from, to) in word_spans(text) {
            if from > until {
                break;
            }
            let word = &text[from..to];
            let hit = (m.may_match(word)
                && (m
                    .prefix
                    .as_deref()
                    .is_some_and(|p| self.plain_form(word).starts_with(p))
                    || self.with_stem(word, |stem| stem.is_some_and(|s| m.exact.contains(s)))))
                || (!m.parts.is_empty()
                    && self.with_parts(word, |parts| {
                        parts.stems.iter().any(|p| m.parts.contains(p))
                    }));
            if hit {
                if out.is_empty() {
                    until = from.saturating_add(max_chars.saturating_mul(4));
                }
                out.push((from, to));
            }
        }
        out
    }

    /// HTML-escapes `text` around the first match, at most `max_chars` long, with `<mark>`
    /// around matching words.
    fn highlight(&self, text: &str, m: &Matcher, max_chars: usize) -> String {
        let marks = self.marks(text, m, max_chars);
        // The window: from a little before the first match, or from the start.
        let start = if text.chars().count() <= max_chars {
            0
        } else {
            marks
                .first()
                .map(|(from, _)| {
                    let back = text[..*from]
                        .char_indices()
                        .rev()
                        .nth(40)
                        .map_or(0, |(i, _)| i);
                    // Start at a word boundary.
                    text[back..*from]
                        .find(char::is_whitespace)
                        .map_or(back, |ws| back + ws + 1)
                })
                .unwrap_or(0)
        };
        let end = text[start..]
            .char_indices()
            .nth(max_chars)
            .map_or(text.len(), |(i, _)| start + i);
        let mut out = String::with_capacity(end - start + 64);
        if start > 0 {
            out.push('…');
        }
        let mut pos = start;
        for (from, to) in marks.iter().filter(|(f, t)| *f >= start && *t <= end) {
            escape_into(&mut out, &text[pos..*from]);
            out.push_str("<mark>");
            escape_into(&mut out, &text[*from..*to]);
            out.push_str("</mark>");
            pos = *to;
        }
        escape_into(&mut out, &text[pos..end]);
        if end < text.len() {
            out.push('…');
        }
        out
    }
}

/// An optional clause: `text` in `field`, scored by BM25 (with frequencies, as block-max WAND
/// needs them) times `weight`.
fn weighted_term(field: Field, text: &str, weight: f32) -> (Occur, Box<dyn Query>) {
    let term = TermQuery::new(
        Term::from_field_text(field, text),
        IndexRecordOption::WithFreqs,
    );
    (
        Occur::Should,
        Box::new(BoostQuery::new(Box::new(term), weight)),
    )
}

/// Weights of a query word that is a part of a compound word of a title or synonym, and of
/// the body (a whole word in the title: 3.0, in the body: 1.0).
const PART_TITLE: f32 = 1.0;
const PART_BODY: f32 = 0.3;
/// Shortest query word (bytes of its plain form) that is split with the index's vocabulary.
const SPLIT_BY_INDEX: usize = 10;
/// Factor of the weights of a part of a compound query word.
const QUERY_PART: f32 = 0.5;

/// The options of a field of stems made elsewhere ([`SearchEngine::with_parts`]).
fn stems_field() -> TextOptions {
    TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer("whitespace")
            .set_index_option(IndexRecordOption::WithFreqs),
    )
}

/// One word lower case and folded by the plain analyzer (empty if it has no word).
fn fold_with(plain: &TextAnalyzer, word: &str) -> String {
    let mut plain = plain.clone();
    let mut stream = plain.token_stream(word);
    if stream.advance() {
        stream.token().text.clone()
    } else {
        String::new()
    }
}

/// Weight of a word the typed prefix completes (BM25 of the word in titles and synonyms).
const PREFIX_BOOST: f32 = 0.3;
/// How many completions of a typed prefix are searched (the most frequent words).
const MAX_COMPLETIONS: usize = 12;
/// How many dictionary words starting with the prefix are looked at to pick them.
const SCAN_COMPLETIONS: usize = 2_000;

/// Weights of a title or synonym word one typo away from a query word (exact: 3.0 and 2.5).
const FUZZY_TITLE: f32 = 1.2;
const FUZZY_SYNONYM: f32 = 1.0;
/// How many words one typo away are searched per field (the most frequent ones).
const MAX_FUZZY: usize = 8;

/// The terms of `field` one edit (or one swap of neighbours) away from `stem`, the most
/// frequent first.
fn one_edit_away(searcher: &Searcher, field: Field, stem: &str) -> Vec<String> {
    let Ok(automaton) =
        FuzzyTermQuery::new(Term::from_field_text(field, stem), 1, true).automaton()
    else {
        return Vec::new();
    };
    let mut found: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
    for segment in searcher.segment_readers() {
        let Ok(index) = segment.inverted_index(field) else {
            continue;
        };
        let Ok(mut stream) = index.terms().search(&automaton).into_stream() else {
            continue;
        };
        while stream.advance() {
            if let Ok(word) = std::str::from_utf8(stream.key()) {
                *found.entry(word.to_owned()).or_default() += stream.value().doc_freq;
            }
        }
    }
    most_frequent(found, MAX_FUZZY)
}

/// The `n` words with the highest counts (ties: alphabetical).
fn most_frequent(found: std::collections::HashMap<String, u32>, n: usize) -> Vec<String> {
    let mut words: Vec<(String, u32)> = found.into_iter().collect();
    words.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    words.truncate(n);
    words.into_iter().map(|(w, _)| w).collect()
}

/// Whether `text` is a term of `field` in any segment.
fn in_dictionary(searcher: &Searcher, field: Field, text: &str) -> bool {
    searcher.segment_readers().iter().any(|segment| {
        segment
            .inverted_index(field)
            .ok()
            .and_then(|index| index.terms().get(text.as_bytes()).ok().flatten())
            .is_some()
    })
}

/// The most frequent terms of `field` that start with `prefix` (the prefix itself included).
fn completions(searcher: &Searcher, field: Field, prefix: &str) -> Vec<String> {
    let mut found: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
    for segment in searcher.segment_readers() {
        let Ok(index) = segment.inverted_index(field) else {
            continue;
        };
        let Ok(mut stream) = index.terms().range().ge(prefix.as_bytes()).into_stream() else {
            continue;
        };
        let mut scanned = 0;
        while stream.advance() && scanned < SCAN_COMPLETIONS {
            scanned += 1;
            let Ok(word) = std::str::from_utf8(stream.key()) else {
                continue;
            };
            if !word.starts_with(prefix) {
                break;
            }
            *found.entry(word.to_owned()).or_default() += stream.value().doc_freq;
        }
    }
    most_frequent(found, MAX_COMPLETIONS)
}

impl SearchEngine {
    /// Which access keys a search may see: published documents of the tenants of `filter`, and
    /// drafts of those that are also in `drafts_of`.
    ///
    /// Every document a searcher taken before this call holds has its tenant's number already
    /// (numbers are handed out when a document is added, before the commit that shows it).
    fn allow(&self, filter: &TenantFilter, drafts_of: &BTreeSet<Uuid>) -> Allow {
        const PUBLISHED: u8 = 1;
        const DRAFTS: u8 = 2;
        let numbers = self.tenants.read();
        let slot = |tenant: &Uuid| numbers.get(tenant).and_then(|n| usize::try_from(*n).ok());
        // Per tenant number: what of it may be seen. Only the tenants named in the request
        // are looked up, not every tenant of the index.
        let mut table = match filter {
            TenantFilter::Only(_) => vec![0u8; numbers.len()],
            TenantFilter::AllExcept(_) => vec![PUBLISHED; numbers.len()],
        };
        let (TenantFilter::Only(named) | TenantFilter::AllExcept(named)) = filter;
        let named_flags = if matches!(filter, TenantFilter::Only(_)) {
            PUBLISHED
        } else {
            0
        };
        for n in named.iter().filter_map(slot) {
            if let Some(flags) = table.get_mut(n) {
                *flags = named_flags;
            }
        }
        for n in drafts_of.iter().filter_map(slot) {
            if let Some(flags) = table.get_mut(n)
                && *flags & PUBLISHED != 0
            {
                *flags |= DRAFTS;
            }
        }
        drop(numbers);
        std::sync::Arc::new(move |key| {
            let (tenant, draft) = (key >> 1, key & 1 == 1);
            let flags = usize::try_from(tenant)
                .ok()
                .and_then(|n| table.get(n))
                .copied()
                .unwrap_or(0);
            flags & if draft { DRAFTS } else { PUBLISHED } != 0
        })
    }
}

/// The words of a text as byte ranges: runs of letters and digits, as the tokenizer of the
/// index splits them.
fn word_spans(text: &str) -> impl Iterator<Item = (usize, usize)> + '_ {
    let mut chars = text.char_indices().peekable();
    std::iter::from_fn(move || {
        let (from, _) = chars.find(|(_, c)| c.is_alphanumeric())?;
        let mut to = text.len();
        while let Some(&(i, c)) = chars.peek() {
            if !c.is_alphanumeric() {
                to = i;
                break;
            }
            chars.next();
        }
        Some((from, to))
    })
}

/// Appends `text` HTML-escaped (line breaks as spaces).
fn escape_into(out: &mut String, text: &str) {
    let mut done = 0;
    for (i, b) in text.bytes().enumerate() {
        let replacement = match b {
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'&' => "&amp;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            b'\n' => " ",
            _ => continue,
        };
        // ASCII bytes: `i` is a character boundary.
        out.push_str(&text[done..i]);
        out.push_str(replacement);
        done = i + 1;
    }
    out.push_str(&text[done..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_one_typo_away() {
        let e = SearchEngine::in_ram().unwrap();
        let mut writer = e.writer().unwrap();
        for (i, title) in [
            "Personalausweis beantragen",
            "Ausweis verloren",
            "Hundesteuer",
        ]
        .into_iter()
        .enumerate()
        {
            let doc = IndexedService {
                id: Uuid::from_u128(i as u128 + 1),
                tenant_id: Uuid::from_u128(99),
                tenant: "t".into(),
                leika_keys: vec!["99000000000000".into()],
                status: "published".into(),
                title: title.into(),
                synonyms: vec![],
                body: String::new(),
            };
            e.add(&writer, &doc).unwrap();
        }
        writer.commit().unwrap();
        e.reload().unwrap();
        let searcher = e.reader.searcher();
        let near = |w: &str| one_edit_away(&searcher, e.f.title, &e.stem_of(w).unwrap());
        // A letter too many, two neighbours swapped, a letter missing.
        assert_eq!(near("Personalausweiss"), e.stems("Personalausweis"));
        assert_eq!(near("Asuweis"), e.stems("Ausweis"));
        assert_eq!(near("Hundsteuer"), e.stems("Hundesteuer"));
        // Two edits away: nothing.
        assert!(near("Hundstuer").is_empty());
    }

    #[test]
    fn word_spans_are_the_tokens_of_the_index() {
        let text = "Führerschein (Klasse B): 37,80 € – Ärztliche Bescheinigung, z.B. über-\n\
                    prüft; Straße/Öffnungszeiten Mo.–Fr. 8–12 Uhr ½ Tag";
        let mut analyzer = TextAnalyzer::builder(SimpleTokenizer::default()).build();
        let mut stream = analyzer.token_stream(text);
        let mut expected = Vec::new();
        while stream.advance() {
            expected.push((stream.token().offset_from, stream.token().offset_to));
        }
        assert_eq!(word_spans(text).collect::<Vec<_>>(), expected);
    }

    #[test]
    fn the_two_letter_filter_keeps_every_match() {
        let e = SearchEngine::in_ram().unwrap();
        let text = "Anmeldung: Melden Sie sich an. Die Ummeldung und Abmeldung im Bürgeramt; \
                    Führerscheine, Fuhrerschein, FÜHRERSCHEIN, Straßenverkehr, Strasse, Übergabe \
                    des Personalausweises (Perso) – Ausweis-Nr. 123";
        for (query, prefix) in [
            ("anmelden Führerschein", None),
            ("Straße übergeben", Some("pers")),
            ("Ausweis 123", Some("uberg")),
        ] {
            let exact: HashSet<String> = e.stems(query).into_iter().collect();
            let unfiltered = Matcher {
                exact,
                prefix: prefix.map(str::to_owned),
                heads: None,
                ..Matcher::default()
            };
            let filtered = Matcher {
                exact: unfiltered.exact.clone(),
                prefix: unfiltered.prefix.clone(),
                heads: None,
                ..Matcher::default()
            }
            .with_heads();
            let marks = e.marks(text, &unfiltered, usize::MAX);
            assert!(!marks.is_empty(), "{query}");
            assert_eq!(e.marks(text, &filtered, usize::MAX), marks, "{query}");
        }
    }

    fn doc(tenant: Uuid, title: &str, status: &str) -> IndexedService {
        IndexedService {
            id: Uuid::new_v4(),
            tenant_id: tenant,
            tenant: tenant.to_string(),
            leika_keys: vec!["99000000000000".into()],
            status: status.into(),
            title: title.into(),
            synonyms: vec![],
            body: String::new(),
        }
    }

    #[test]
    fn tenants_whose_ids_share_the_first_half_stay_apart() {
        // UUIDv7 ids of tenants created in the same millisecond: the same first 64 bits.
        let first_half = 0x0193_5a2b_c3d4_7e5f;
        let mine = Uuid::from_u64_pair(first_half, 0x8000_0000_0000_0001);
        let other = Uuid::from_u64_pair(first_half, 0x8000_0000_0000_0002);
        let e = SearchEngine::in_ram().unwrap();
        let mut writer = e.writer().unwrap();
        let long = "Lastenfahrrad ausleihen für Familien, Vereine und kleine Betriebe";
        for d in [
            doc(mine, long, "published"),
            doc(other, "Lastenfahrrad", "published"),
            doc(other, "Lastenfahrrad Entwurf", "draft"),
        ] {
            e.add(&writer, &d).unwrap();
        }
        writer.commit().unwrap();
        e.reload().unwrap();
        let search = |primary, secondary, drafts_of: &[Uuid], limit| {
            e.search(&SearchRequest {
                text: "Lastenfahrrad".into(),
                primary,
                secondary,
                drafts_of: drafts_of.iter().copied().collect(),
                leika: None,
                limit,
            })
            .unwrap()
            .into_iter()
            .map(|h| (h.tenant_id, h.status, h.primary))
            .collect::<Vec<_>>()
        };
        // My tenant first, then every other one: the other tenant's published description.
        let hits = search(
            TenantFilter::Only([mine].into()),
            Some(TenantFilter::AllExcept([mine].into())),
            &[mine],
            10,
        );
        assert_eq!(
            hits,
            [
                (mine, "published".to_owned(), true),
                (other, "published".to_owned(), false)
            ]
        );
        // Filtered to many tenants (checked per candidate): the other tenant's better match
        // must not take the only place and leave it empty.
        let many: BTreeSet<Uuid> = std::iter::once(mine)
            .chain((0..FEW_TENANTS as u128).map(|i| Uuid::from_u128(i + 1)))
            .collect();
        let hits = search(TenantFilter::Only(many), None, &[], 1);
        assert_eq!(hits, [(mine, "published".to_owned(), true)]);
        // Drafts only of the tenants whose drafts the searcher sees.
        let hits = search(TenantFilter::AllExcept(BTreeSet::new()), None, &[other], 10);
        assert_eq!(hits.len(), 3);
        let hits = search(TenantFilter::AllExcept(BTreeSet::new()), None, &[mine], 10);
        assert_eq!(hits.len(), 2);
        assert!(hits.iter().all(|(_, status, _)| status == "published"));
    }

    #[test]
    fn stemming_and_folding() {
        let e = SearchEngine::in_ram().unwrap();
        assert_eq!(e.stems("Anmeldung"), e.stems("anmelden"));
        assert_eq!(e.stems("Führerschein"), e.stems("fuhrerschein"));
        assert!(e.stems("ich und der").is_empty());
    }

    #[test]
    fn highlighting_escapes_html() {
        let e = SearchEngine::in_ram().unwrap();
        let m = Matcher {
            exact: e.stems("Ausweis").into_iter().collect(),
            ..Matcher::default()
        };
        assert_eq!(
            e.highlight("Der <b>Ausweis</b> & mehr", &m, 100),
            "Der &lt;b&gt;<mark>Ausweis</mark>&lt;/b&gt; &amp; mehr"
        );
    }
}
