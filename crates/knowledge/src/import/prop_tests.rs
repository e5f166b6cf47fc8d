//! Resource limits of the import parsers (XZuFi, NDJSON, the HTML-to-text converter):
//! property tests that they never panic, that their output stays bounded by the input, and
//! that their time grows linearly with it; plus the regressions that once broke one of these.
//!
//! Time is never compared with a fixed number: an input is run at size `n` and at `4n` in the
//! same test, best of several runs each, and the ratio must stay well below the 16 of a
//! quadratic algorithm (linear work gives about 4). The time is the CPU time of the test's
//! thread, not the wall clock: on a loaded machine a long run is always interrupted by other
//! processes and a short one often not, which alone made linear code look quadratic.

use std::time::Duration;

use proptest::prelude::*;

use super::html::{HtmlText, MAX_LIST_DEPTH, clean_line, clean_text, html_to_text};
use super::{ParsedImport, ndjson, xzufi};

/// Largest `time(4n) / time(n)` accepted: linear is about 4, quadratic about 16.
const MAX_RATIO: f64 = 10.0;
/// The smaller input runs at least this long, so that timer resolution, fixed costs and the
/// step from one cache level to the next (inputs of some 10 to 100 KiB) do not dominate the
/// ratio.
const MIN_SMALL_RUN: Duration = Duration::from_millis(8);
/// Largest input tried while looking for that size.
const MAX_SMALL_BYTES: usize = 1 << 20;

/// CPU time of the calling thread.
fn thread_time() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    Duration::new(
        u64::try_from(t.tv_sec).unwrap_or(0),
        u32::try_from(t.tv_nsec).unwrap_or(0),
    )
}

/// The best of `runs` timings (thread CPU time) of `run(input)`.
fn best_of(runs: usize, input: &str, run: &dyn Fn(&str)) -> Duration {
    (0..runs)
        .map(|_| {
            let start = thread_time();
            run(input);
            thread_time().saturating_sub(start)
        })
        .min()
        .unwrap_or_default()
}

/// Asserts that `run` takes linear time on `build(k)`: `build` makes an input from `k`
/// repetitions of something, and `k` is raised until the input takes [`MIN_SMALL_RUN`].
fn assert_linear(what: &str, build: &dyn Fn(usize) -> String, run: &dyn Fn(&str)) {
    let mut k = 16;
    let mut small = build(k);
    while small.len() < MAX_SMALL_BYTES && best_of(2, &small, run) < MIN_SMALL_RUN {
        k *= 2;
        small = build(k);
    }
    let large = build(4 * k);
    // Interleaved, so that a burst of load on the machine hits both sizes alike.
    let (mut t_small, mut t_large) = (Duration::MAX, Duration::MAX);
    for _ in 0..3 {
        t_small = t_small.min(best_of(1, &small, run));
        t_large = t_large.min(best_of(1, &large, run));
    }
    let ratio = t_large.as_secs_f64() / t_small.as_secs_f64().max(1e-9);
    assert!(
        ratio < MAX_RATIO,
        "{what}: {} bytes took {t_small:?}, {} bytes took {t_large:?} (ratio {ratio:.1}, \
         linear is about 4)",
        small.len(),
        large.len(),
    );
}

/// Bytes of converted text, list items and links.
fn html_size(out: &HtmlText) -> usize {
    out.text.len()
        + out.list_items.iter().map(String::len).sum::<usize>()
        + out
            .links
            .iter()
            .map(|l| l.url.len() + l.title.as_ref().map_or(0, String::len))
            .sum::<usize>()
}

/// Bytes of everything a parse returns.
fn parsed_size(parsed: &ParsedImport) -> usize {
    let items: usize = parsed
        .items
        .iter()
        .map(|(location, item)| {
            let c = &item.content;
            let m = &c.modules;
            let texts: usize = crate::model::ModuleField::ALL
                .iter()
                .filter_map(|f| m.text(*f).flatten())
                .map(str::len)
                .sum();
            let costs = m.kosten.as_ref().map_or(0, |k| {
                k.text.as_ref().map_or(0, String::len)
                    + k.amounts
                        .iter()
                        .map(|a| 8 + a.label.as_ref().map_or(0, String::len))
                        .sum::<usize>()
            });
            location.len()
                + c.title.len()
                + c.synonyms.iter().map(String::len).sum::<usize>()
                + texts
                + m.unterlagen.iter().map(String::len).sum::<usize>()
                + m.formulare
                    .iter()
                    .map(|l| l.url.len() + l.title.as_ref().map_or(0, String::len))
                    .sum::<usize>()
                + costs
                + item.org_unit_ref.as_ref().map_or(0, String::len)
        })
        .sum();
    let units: usize = parsed
        .org_units
        .iter()
        .map(|u| {
            u.name.len()
                + [
                    &u.id,
                    &u.street,
                    &u.house_number,
                    &u.postal_code,
                    &u.city,
                    &u.phone,
                    &u.email,
                ]
                .iter()
                .map(|f| f.as_ref().map_or(0, String::len))
                .sum::<usize>()
        })
        .sum();
    let errors: usize = parsed
        .errors
        .iter()
        .map(|e| e.location.len() + e.reason.len())
        .sum();
    items + units + errors
}

/// Pieces of HTML as XZuFi texts carry it: lists, links, entities, broken markup.
const HTML_TOKENS: &[&str] = &[
    "<ul>",
    "</ul>",
    "<ol>",
    "</ol>",
    "<li>",
    "</li>",
    "<p>",
    "</p>",
    "<div>",
    "</div>",
    "<br/>",
    "<td>",
    "<tr>",
    "<a href=\"https://www.trier.de/a?x=1&amp;y=2\">",
    "<a href='",
    "</a>",
    "<script>",
    "</script>",
    "<!--",
    "-->",
    "<![CDATA[",
    "]]>",
    "<x:p class=\"a>b\">",
    "&amp;",
    "&auml;",
    "&#228;",
    "&#xFFFFFF;",
    "&",
    "<",
    ">",
    "/>",
    "\"",
    "'",
    "=",
    " ",
    "\n",
    "Personalausweis",
    "ä€",
    // Hidden elements and escaped markup (converted again by `clean_text`).
    "<svg>",
    "</svg>",
    "<style>",
    "<head><title>",
    "&lt;li&gt;",
    "&lt;/li&gt;",
    "&amp;lt;p&amp;gt;",
];

/// Pieces of XZuFi: items, text modules, escaped and real HTML, costs, org units.
const XZUFI_TOKENS: &[&str] = &[
    "<schlagwort>",
    "</schlagwort>",
    "<organisationseinheit><name>A</name>",
    "</organisationseinheit>",
    "<anschrift><ort>T</ort><geokodierung><lat>49,7</lat><lon>6,6</lon></geokodierung></anschrift>",
    "<zustaendigkeit><leistungID>L1</leistungID></zustaendigkeit>",
    "<leistung>",
    "</leistung>",
    "<leistung/>",
    "<referenzLeiKa>99102013001000</referenzLeiKa>",
    "<referenzLeiKa><code>9910201300",
    "</code></referenzLeiKa>",
    "<id>L1</id>",
    "<bezeichnung>",
    "</bezeichnung>",
    "<bezeichnung languageCode=\"en\">",
    "<modulText>",
    "</modulText>",
    "<leikaTextmodul>05</leikaTextmodul>",
    "<leikaTextmodul>08</leikaTextmodul>",
    "<leikaTextmodul>14</leikaTextmodul>",
    "<leikaTextmodul>02</leikaTextmodul>",
    "<inhalt>",
    "</inhalt>",
    "&lt;ul&gt;&lt;li&gt;",
    "&lt;/li&gt;&lt;/ul&gt;",
    "&lt;p&gt;",
    "<ul>",
    "<li>",
    "</li>",
    "</ul>",
    "<weiterfuehrenderLink><uri>https://x.de</uri><titel>T</titel></weiterfuehrenderLink>",
    "<modulKosten><kosten><betragFix>12,50</betragFix></kosten></modulKosten>",
    "<modulKosten><kosten><betrag>-1</betrag></kosten></modulKosten>",
    "<modulFrist><beschreibung>2 Wochen</beschreibung></modulFrist>",
    "<modulBegriffImKontext><begriffImKontext><begriff>Perso</begriff></begriffImKontext></modulBegriffImKontext>",
    "<organisationseinheit>",
    "</organisationseinheit>",
    "<name>Bürgeramt</name>",
    "<zustaendigkeit><leistungID>L1</leistungID></zustaendigkeit>",
    "<zustaendigkeit><organisationseinheitID>O1</organisationseinheitID></zustaendigkeit>",
    "<kommunikation><kennung>a@b.de</kennung></kommunikation>",
    "<![CDATA[<p>x</p>]]>",
    "<!-- c -->",
    "&amp;",
    "&nbsp;",
    "&#228;",
    "&bad",
    "<",
    ">",
    "\"",
    "Text ",
    "\n",
];

/// Pieces of NDJSON lines.
const NDJSON_TOKENS: &[&str] = &[
    "{\"leika\":\"99102013001000\",\"title\":\"Personalausweis\"}",
    "{\"leika\":\"99102013002000\",\"title\":\"T\",\"modules\":{\"kurztext\":\"K\",\"unterlagen\":[\"A\",\"B\"],\"kosten\":{\"text\":\"x\",\"amounts\":[{\"label\":\"L\",\"eur\":\"37,00\"}]},\"formulare\":[\"https://x.de\",{\"title\":\"F\",\"url\":\"https://y.de\"}]},\"status\":\"published\",\"org_unit\":\"O1\"}",
    "{\"leika\":",
    "\"title\":",
    "\"synonyms\":[",
    "\"modules\":{",
    "\"S\",",
    "\"99\"",
    "[",
    "]",
    "{",
    "}",
    ",",
    ":",
    "\"",
    "\\",
    "\\u00e4",
    "null",
    "1e999",
    "-0.5",
    "\n",
    "\r\n",
    " ",
    "\u{feff}",
];

fn soup(tokens: &'static [&'static str], max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(tokens), 0..max).prop_map(|v| v.concat())
}

/// Arbitrary text, not only markup.
fn any_text() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 0..300).prop_map(|v| v.into_iter().collect())
}

/// A fragment of at most `max` tokens, half of them from `favoured` (the nesting ones).
fn fragment(
    tokens: &'static [&'static str],
    favoured: &'static [&'static str],
    max: usize,
) -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![prop::sample::select(favoured), prop::sample::select(tokens)],
        0..max,
    )
    .prop_map(|v| v.concat())
}

/// An opening and a closing fragment: `open^k close^k` nests, `open^k` repeats.
fn shape(
    tokens: &'static [&'static str],
    favoured: &'static [&'static str],
) -> impl Strategy<Value = (String, String)> {
    (fragment(tokens, favoured, 6), fragment(tokens, favoured, 6))
        .prop_filter("something to repeat", |(o, c)| {
            !o.is_empty() || !c.is_empty()
        })
}

/// What nests in HTML.
const HTML_NESTING: &[&str] = &[
    "<ul>",
    "<ol>",
    "<li>",
    "</li>",
    "</ul>",
    "<a href='x'>",
    "Text ",
];
/// What nests or repeats in XZuFi.
const XZUFI_NESTING: &[&str] = &[
    "&lt;ul&gt;&lt;li&gt;",
    "&lt;/li&gt;&lt;/ul&gt;",
    "<modulText><leikaTextmodul>05</leikaTextmodul><inhalt>",
    "</inhalt></modulText>",
    "<ul>",
    "<li>",
    "<begriff>",
    "Text ",
];
/// What nests or repeats in NDJSON.
const NDJSON_NESTING: &[&str] = &["[", "{\"a\":", "\"synonyms\":[", "\"S\",", "\n"];

/// Output bytes per input byte at most (plus a constant): the indentation of a list item
/// (at most [`MAX_LIST_DEPTH`] levels) is the largest expansion.
const MAX_EXPANSION: usize = 2 * MAX_LIST_DEPTH + 16;

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn html_to_text_never_panics_and_is_bounded(
        html in prop_oneof![soup(HTML_TOKENS, 200), any_text()],
    ) {
        let out = html_to_text(&html);
        prop_assert!(html_size(&out) <= MAX_EXPANSION * html.len() + 64);
    }

    #[test]
    fn xzufi_never_panics_and_is_bounded(
        body in prop_oneof![soup(XZUFI_TOKENS, 200), any_text()],
    ) {
        let input = format!("<r>{body}</r>");
        let parsed = xzufi::parse(&input);
        prop_assert!(parsed_size(&parsed) <= MAX_EXPANSION * input.len() + 1024);
    }

    #[test]
    fn ndjson_never_panics_and_is_bounded(
        input in prop_oneof![soup(NDJSON_TOKENS, 200), any_text()],
    ) {
        let parsed = ndjson::parse(&input);
        prop_assert!(parsed_size(&parsed) <= MAX_EXPANSION * input.len() + 1024);
    }
}

proptest! {
    // Each case times two inputs several times: fewer cases.
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn html_to_text_takes_linear_time((open, close) in shape(HTML_TOKENS, HTML_NESTING)) {
        assert_linear(
            &format!("html {open:?}^k {close:?}^k"),
            &|k| open.repeat(k) + &close.repeat(k),
            &|input| {
                let _ = html_to_text(input);
            },
        );
    }

    #[test]
    fn xzufi_takes_linear_time((open, close) in shape(XZUFI_TOKENS, XZUFI_NESTING)) {
        assert_linear(
            &format!("xzufi {open:?}^k {close:?}^k"),
            &|k| format!("<r><leistung>{}{}</leistung></r>", open.repeat(k), close.repeat(k)),
            &|input| {
                let _ = xzufi::parse(input);
            },
        );
    }

    #[test]
    fn ndjson_takes_linear_time((open, close) in shape(NDJSON_TOKENS, NDJSON_NESTING)) {
        assert_linear(
            &format!("ndjson {open:?}^k {close:?}^k"),
            &|k| open.repeat(k) + &close.repeat(k),
            &|input| {
                let _ = ndjson::parse(input);
            },
        );
    }
}

/// One NDJSON description whose texts are `html`, and an office record offering it.
fn ndjson_with_html(html: &str) -> String {
    let text = serde_json::Value::String(html.to_owned());
    format!(
        "{{\"leika\":\"99102013001000\",\"title\":{text},\"keywords\":{text},\
         \"modules\":{{\"volltext\":{text},\"unterlagen\":{text},\"formulare\":{text},\
         \"kosten\":{{\"text\":{text}}}}}}}\n\
         {{\"type\":\"office\",\"name\":{text},\"services\":[\"99102013001000\"]}}\n"
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn clean_text_never_panics_and_is_bounded(
        html in prop_oneof![soup(HTML_TOKENS, 200), any_text()],
    ) {
        if let Some(out) = clean_text(&html) {
            prop_assert!(html_size(&out) <= 3 * MAX_EXPANSION * html.len() + 64);
        }
        let _ = clean_line(&html);
        let _ = ndjson::parse(&ndjson_with_html(&html));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn clean_text_takes_linear_time((open, close) in shape(HTML_TOKENS, HTML_NESTING)) {
        assert_linear(
            &format!("clean_text {open:?}^k {close:?}^k"),
            &|k| open.repeat(k) + &close.repeat(k),
            &|input| {
                let _ = clean_text(input);
            },
        );
    }

    #[test]
    fn ndjson_with_html_takes_linear_time((open, close) in shape(HTML_TOKENS, HTML_NESTING)) {
        // Every text of a description and an office record, through the whole import
        // parser (HTML conversion, normalisation, validation).
        assert_linear(
            &format!("ndjson html {open:?}^k {close:?}^k"),
            &|k| ndjson_with_html(&(open.repeat(k) + &close.repeat(k))),
            &|input| {
                let _ = ndjson::parse(input);
            },
        );
    }
}

/// `n` nested lists, as an XZuFi text module carries them (escaped).
fn nested_lists_xzufi(n: usize) -> String {
    format!(
        "<r><leistung><referenzLeiKa>99102013001000</referenzLeiKa><bezeichnung>A</bezeichnung>\
         <modulText><leikaTextmodul>08</leikaTextmodul><inhalt>{}Ausweis{}</inhalt></modulText>\
         </leistung></r>",
        "&lt;ul&gt;&lt;li&gt;".repeat(n),
        "&lt;/li&gt;&lt;/ul&gt;".repeat(n),
    )
}

#[test]
fn deeply_nested_lists_give_bounded_text() {
    // Once: 32,000 nested lists took 7 s and 2 GiB (an indentation per level on every line).
    let input = nested_lists_xzufi(32_000);
    let parsed = xzufi::parse(&input);
    assert!(parsed.is_clean(), "{:?}", parsed.errors);
    assert_eq!(parsed.items[0].1.content.modules.unterlagen, ["Ausweis"]);
    assert!(parsed_size(&parsed) < 1_000, "{}", parsed_size(&parsed));
    let html = "<ul><li>".repeat(32_000) + "x";
    let out = html_to_text(&html);
    assert!(out.text.len() <= MAX_EXPANSION * html.len());
    assert_eq!(out.list_items, ["x"]);
}

#[test]
fn lists_deeper_than_the_limit_are_flattened() {
    let deep = MAX_LIST_DEPTH + 3;
    let mut html = String::new();
    for i in 0..deep {
        html.push_str(&format!("<ul><li>{i}"));
    }
    html.push_str(&"</li></ul>".repeat(deep));
    let out = html_to_text(&html);
    let lines: Vec<&str> = out.text.lines().collect();
    assert_eq!(lines.len(), deep);
    // Indented per level up to the limit, then at the deepest level.
    let indent = |line: &str| line.len() - line.trim_start().len();
    assert_eq!(indent(lines[1]), 2);
    assert_eq!(indent(lines[MAX_LIST_DEPTH - 1]), 2 * (MAX_LIST_DEPTH - 1));
    assert_eq!(indent(lines[deep - 1]), 2 * (MAX_LIST_DEPTH - 1));
    assert_eq!(lines[deep - 1].trim(), format!("- {}", deep - 1));
    // Every item is kept.
    assert_eq!(out.list_items.len(), deep);
    // And an empty item still leaves no line behind.
    assert_eq!(
        html_to_text("<ul><li>a</li><li> </li><li>b</li></ul>").text,
        "- a\n- b"
    );
}

#[test]
fn nested_empty_items_around_text_take_linear_time() {
    // Closing each empty outer item once read all the text nested in it.
    assert_linear(
        "nested empty items",
        &|k| "<ul><li>".repeat(k) + &"Text ".repeat(k) + &"</li></ul>".repeat(k),
        &|input| {
            let _ = html_to_text(input);
        },
    );
}

#[test]
fn repeated_text_modules_take_linear_time() {
    // Each repeated module was compared with every part joined before it.
    assert_linear(
        "repeated modules",
        &|k| {
            let mut xml = String::from(
                "<r><leistung><referenzLeiKa>99102013001000</referenzLeiKa><bezeichnung>A</bezeichnung>",
            );
            for i in 0..k {
                xml.push_str(&format!(
                    "<modulText><leikaTextmodul>05</leikaTextmodul><inhalt>Teil {i}</inhalt></modulText>"
                ));
            }
            xml.push_str("</leistung></r>");
            xml
        },
        &|input| {
            let _ = xzufi::parse(input);
        },
    );
}

#[test]
fn many_synonyms_take_linear_time() {
    // Each synonym was compared with every earlier one before the count was checked.
    assert_linear(
        "many synonyms",
        &|k| {
            // More than the 100 allowed: the item is refused, after the duplicates are dropped.
            let synonyms: Vec<String> = (0..k + 101).map(|i| format!("\"Wort {i}\"")).collect();
            format!(
                "{{\"leika\":\"99102013001000\",\"title\":\"T\",\"synonyms\":[{}]}}\n",
                synonyms.join(",")
            )
        },
        &|input| {
            let parsed = ndjson::parse(input);
            assert_eq!(parsed.errors.len(), 1);
        },
    );
}

#[test]
fn repeated_modules_are_joined_once_each() {
    let xml = "<r><leistung><referenzLeiKa>99102013001000</referenzLeiKa><bezeichnung>A</bezeichnung>\
               <modulText><leikaTextmodul>05</leikaTextmodul><inhalt>Eins</inhalt></modulText>\
               <modulText><leikaTextmodul>05</leikaTextmodul><inhalt>Zwei</inhalt></modulText>\
               <modulText><leikaTextmodul>05</leikaTextmodul><inhalt>Eins</inhalt></modulText>\
               <modulFrist><beschreibung>Eins</beschreibung></modulFrist>\
               </leistung></r>";
    let parsed = xzufi::parse(xml);
    let m = &parsed.items[0].1.content.modules;
    assert_eq!(m.kurztext.as_deref(), Some("Eins\n\nZwei"));
    assert_eq!(m.fristen.as_deref(), Some("Eins"));
}

/// Runs `f` on a thread with a small stack: recursion per level of nesting would overflow it.
fn on_small_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn deep_nesting_in_imports_does_not_overflow_the_stack() {
    on_small_stack(|| {
        let depth = 100_000;
        // Escaped HTML in a text module.
        let parsed = xzufi::parse(&nested_lists_xzufi(depth));
        assert_eq!(parsed.items.len(), 1);
        // HTML as XML elements: refused beyond the item depth limit.
        let xml = format!(
            "<r><leistung><referenzLeiKa>99102013001000</referenzLeiKa><bezeichnung>A</bezeichnung>\
             <modulText><leikaTextmodul>05</leikaTextmodul><inhalt>{}x{}</inhalt></modulText></leistung></r>",
            "<ul><li>".repeat(depth),
            "</li></ul>".repeat(depth),
        );
        let parsed = xzufi::parse(&xml);
        assert_eq!(parsed.errors.len(), 1, "{:?}", parsed.errors);
        // Outside any item.
        let xml = format!("{}{}", "<x>".repeat(depth), "</x>".repeat(depth));
        assert!(xzufi::parse(&xml).is_clean());
        // Raw HTML.
        let out = html_to_text(&("<ol><li><div>".repeat(depth) + "x"));
        assert_eq!(out.list_items, ["x"]);
        // JSON: nesting is refused by the JSON parser's own limit.
        let line = format!(
            "{{\"leika\":\"99102013001000\",\"title\":\"T\",\"modules\":{}{}}}",
            "[".repeat(depth),
            "]".repeat(depth)
        );
        let parsed = ndjson::parse(&line);
        assert_eq!(parsed.errors.len(), 1, "{:?}", parsed.errors);
    });
}
