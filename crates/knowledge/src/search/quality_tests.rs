//! Search quality on the demo content: each German query with its expected first hit.

use std::collections::BTreeSet;

use uuid::Uuid;

use super::body_text;
use super::engine::{IndexedService, SearchEngine, SearchRequest, TenantFilter};

/// (query, expected title of the first hit)
pub const QUERIES: &[(&str, &str)] = &[
    ("Perso", "Personalausweis beantragen"),
    ("Personalausweiss", "Personalausweis beantragen"),
    ("personalaus", "Personalausweis beantragen"),
    ("Perso verloren was tun", "Personalausweis beantragen"),
    ("Reisepass", "Reisepass beantragen"),
    ("Kinderpass", "Kinderreisepass beantragen"),
    ("Ummeldung", "Wohnsitz anmelden"),
    ("ich will umziehen", "Wohnsitz anmelden"),
    ("Anmeldung Wohnung", "Wohnsitz anmelden"),
    ("Auto zulassen", "Fahrzeug zulassen"),
    ("Auto abmelden", "Fahrzeug außer Betrieb setzen"),
    ("Führerschein umtauschen", "Führerschein umtauschen"),
    ("Fuehrerschein beantragen", "Führerschein beantragen"),
    ("Elterngeld", "Elterngeld beantragen"),
    ("Kindergeld", "Kindergeld (Hinweis: Familienkasse)"),
    ("Hundesteuer", "Hund anmelden (Hundesteuer)"),
    ("Sperrmüll", "Sperrmüll anmelden"),
    ("alte Möbel entsorgen", "Sperrmüll anmelden"),
    ("Anwohnerparken", "Bewohnerparkausweis beantragen"),
    ("Gewerbe anmelden", "Gewerbe anmelden"),
    ("Gewerbeabmeldung", "Gewerbe abmelden"),
    ("Geburtsurkunde", "Geburtsurkunde beantragen"),
    ("heiraten", "Eheschließung anmelden"),
    ("Bauantrag", "Baugenehmigung beantragen"),
    ("Wohngeld", "Wohngeld beantragen"),
    ("Mietzuschuss", "Wohngeld beantragen"),
    ("Führungszeugnis", "Führungszeugnis beantragen"),
    ("Fundbüro", "Fundsachen abgeben oder abholen"),
    ("Briefwahl", "Briefwahl beantragen"),
    ("Knöllchen", "Verwarnungsgeld bezahlen"),
    ("Meldebescheinigung", "Meldebescheinigung ausstellen"),
    ("Kita Platz", "Kita-Platz beantragen"),
    ("Einbürgerung", "Einbürgerung beantragen"),
    ("Zeugnis beglaubigen", "Dokumente amtlich beglaubigen"),
    ("Sterbeurkunde", "Sterbefall anzeigen"),
    ("Hund anmel", "Hund anmelden (Hundesteuer)"),
];

/// German compound words (see [`super::compound`]): (query, expected title of the first hit).
/// A compound query finds the descriptions named by its parts, and parts written apart find
/// the compound.
pub const COMPOUND_QUERIES: &[(&str, &str)] = &[
    ("Anwohnerparkausweis", "Bewohnerparkausweis beantragen"),
    ("Anwohnerparkplakette", "Bewohnerparkausweis beantragen"),
    ("Bewohnerparken", "Bewohnerparkausweis beantragen"),
    ("Parkausweisantrag", "Bewohnerparkausweis beantragen"),
    (
        "Bewohnerparkausweisverlängerung",
        "Bewohnerparkausweis beantragen",
    ),
    ("Personalausweisantrag", "Personalausweis beantragen"),
    ("Personalausweisverlust", "Personalausweis beantragen"),
    ("Personalausweisbeantragung", "Personalausweis beantragen"),
    ("Ausweisverlust", "Personalausweis beantragen"),
    ("Ausweis Verlust", "Personalausweis beantragen"),
    ("Wohnsitzanmeldung", "Wohnsitz anmelden"),
    ("Hauptwohnsitzanmeldung", "Wohnsitz anmelden"),
    ("Wohnsitzabmeldung", "Wohnsitz abmelden"),
    ("Wohnsitzbescheinigung", "Meldebescheinigung ausstellen"),
    ("Meldebescheinigungsantrag", "Meldebescheinigung ausstellen"),
    ("Melde Bescheinigung", "Meldebescheinigung ausstellen"),
    ("Fahrzeugzulassung", "Fahrzeug zulassen"),
    ("Autozulassung", "Fahrzeug zulassen"),
    ("Kennzeichenreservierung", "Fahrzeug zulassen"),
    ("Zulassungsstelle", "Fahrzeug zulassen"),
    ("Autoabmeldung", "Fahrzeug außer Betrieb setzen"),
    ("Führerscheinumtausch", "Führerschein umtauschen"),
    ("Reisepassantrag", "Reisepass beantragen"),
    ("Reisepassverlängerung", "Reisepass beantragen"),
    ("Kinderreisepassantrag", "Kinderreisepass beantragen"),
    ("Elterngeldantrag", "Elterngeld beantragen"),
    ("Elterngeldstelle", "Elterngeld beantragen"),
    ("Eltern Geld", "Elterngeld beantragen"),
    ("Kindergeldantrag", "Kindergeld (Hinweis: Familienkasse)"),
    ("Kinder Geld", "Kindergeld (Hinweis: Familienkasse)"),
    ("Hundeanmeldung", "Hund anmelden (Hundesteuer)"),
    ("Hundesteueranmeldung", "Hund anmelden (Hundesteuer)"),
    ("Hundesteuerbescheid", "Hund anmelden (Hundesteuer)"),
    ("Hunde Steuer", "Hund anmelden (Hundesteuer)"),
    ("Sperrmüllanmeldung", "Sperrmüll anmelden"),
    ("Sperrmüllabholung", "Sperrmüll anmelden"),
    ("Sperrmülltermin", "Sperrmüll anmelden"),
    ("Sperr Müll", "Sperrmüll anmelden"),
    ("Gewerbeanmeldung", "Gewerbe anmelden"),
    ("Gewerbescheinantrag", "Gewerbe anmelden"),
    ("Geburtsurkundenantrag", "Geburtsurkunde beantragen"),
    ("Geburtsanzeige", "Geburtsurkunde beantragen"),
    ("Geburts Urkunde", "Geburtsurkunde beantragen"),
    ("Urkunde Geburt", "Geburtsurkunde beantragen"),
    ("Eheschließungsanmeldung", "Eheschließung anmelden"),
    ("Trauungstermin", "Eheschließung anmelden"),
    ("Standesamtstermin", "Eheschließung anmelden"),
    ("Baugenehmigungsantrag", "Baugenehmigung beantragen"),
    ("Bau Genehmigung", "Baugenehmigung beantragen"),
    ("Genehmigung", "Baugenehmigung beantragen"),
    ("Wohngeldantrag", "Wohngeld beantragen"),
    ("Wohngeldbescheid", "Wohngeld beantragen"),
    ("Wohn Geld", "Wohngeld beantragen"),
    ("Führungszeugnisantrag", "Führungszeugnis beantragen"),
    ("Führungs Zeugnis", "Führungszeugnis beantragen"),
    ("Fundsachenabholung", "Fundsachen abgeben oder abholen"),
    ("Briefwahlantrag", "Briefwahl beantragen"),
    ("Brief Wahl", "Briefwahl beantragen"),
    ("Sterbefallanzeige", "Sterbefall anzeigen"),
    ("Sterbeurkundenantrag", "Sterbefall anzeigen"),
    ("Sterbe Urkunde", "Sterbefall anzeigen"),
    ("Dokumentenbeglaubigung", "Dokumente amtlich beglaubigen"),
    ("Zeugnisbeglaubigung", "Dokumente amtlich beglaubigen"),
    (
        "Schwerbehindertenausweisantrag",
        "Schwerbehindertenausweis beantragen",
    ),
    ("Kitaplatz", "Kita-Platz beantragen"),
    ("Kitaplatzantrag", "Kita-Platz beantragen"),
    ("Mülltonnenbestellung", "Mülltonne bestellen oder ändern"),
    ("Mülltonnenänderung", "Mülltonne bestellen oder ändern"),
    ("Aufenthaltstitelantrag", "Aufenthaltstitel beantragen"),
    ("Einbürgerungsantrag", "Einbürgerung beantragen"),
    ("Verwarnungsgeldzahlung", "Verwarnungsgeld bezahlen"),
    ("Verwarnungs Geld", "Verwarnungsgeld bezahlen"),
    ("Grundsteuerzahlung", "Grundsteuer zahlen"),
    ("Grund Steuer", "Grundsteuer zahlen"),
];

pub(crate) fn demo_engine(slug: &str) -> (SearchEngine, Uuid) {
    let engine = SearchEngine::in_ram().unwrap();
    let tenant = Uuid::now_v7();
    let mut writer = engine.writer().unwrap();
    for (content, _) in crate::demo::tenant_content(slug) {
        let id = Uuid::now_v7();
        let doc = IndexedService {
            id,
            tenant_id: tenant,
            tenant: slug.to_owned(),
            leika_keys: content
                .leika_keys
                .iter()
                .map(|k| k.as_str().to_owned())
                .collect(),
            status: "published".into(),
            title: content.title.clone(),
            synonyms: content.synonyms.clone(),
            body: body_text(&content.modules),
        };
        engine.upsert(&writer, id, Some(&doc)).unwrap();
    }
    writer.commit().unwrap();
    engine.reload().unwrap();
    (engine, tenant)
}

#[test]
fn every_query_finds_its_expected_first_hit() {
    let (engine, tenant) = demo_engine("stadt-koblenz");
    let mut failures = Vec::new();
    for (query, expected) in QUERIES {
        let hits = engine
            .search(&SearchRequest {
                text: (*query).to_owned(),
                primary: TenantFilter::Only(BTreeSet::from([tenant])),
                secondary: None,
                drafts_of: BTreeSet::new(),
                leika: None,
                limit: 3,
            })
            .unwrap();
        let first = hits.first().map(|h| h.title.as_str()).unwrap_or("<none>");
        if first != *expected {
            failures.push(format!(
                "{query:?}: expected {expected:?}, got {:?}",
                hits.iter().map(|h| (&h.title, h.score)).collect::<Vec<_>>()
            ));
        }
    }
    assert!(QUERIES.len() >= 25);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_compound_query_finds_its_expected_first_hit() {
    let (engine, tenant) = demo_engine("stadt-koblenz");
    let mut failures = Vec::new();
    for (query, expected) in COMPOUND_QUERIES {
        let titles = titles(&engine, tenant, query);
        if titles.first().map(String::as_str) != Some(*expected) {
            failures.push(format!("{query:?}: expected {expected:?}, got {titles:?}"));
        }
    }
    assert!(COMPOUND_QUERIES.len() >= 50);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The titles of the hits of a finished query (no prefix completion).
fn titles(engine: &SearchEngine, tenant: Uuid, query: &str) -> Vec<String> {
    engine
        .search(&SearchRequest {
            text: format!("{query} "),
            primary: TenantFilter::Only(BTreeSet::from([tenant])),
            secondary: None,
            drafts_of: BTreeSet::new(),
            leika: None,
            limit: 10,
        })
        .unwrap()
        .into_iter()
        .map(|h| h.title)
        .collect()
}

/// An index of these titles (no body), for compounds the demo content lacks.
fn engine_with_titles(titles: &[&str]) -> (SearchEngine, Uuid) {
    let engine = SearchEngine::in_ram().unwrap();
    let tenant = Uuid::now_v7();
    let mut writer = engine.writer().unwrap();
    for title in titles {
        let doc = IndexedService {
            id: Uuid::now_v7(),
            tenant_id: tenant,
            tenant: "t".into(),
            leika_keys: vec!["99000000000000".into()],
            status: "published".into(),
            title: (*title).to_owned(),
            synonyms: vec![],
            body: String::new(),
        };
        engine.add(&writer, &doc).unwrap();
    }
    writer.commit().unwrap();
    engine.reload().unwrap();
    (engine, tenant)
}

#[test]
fn compounds_match_by_their_parts_below_whole_words() {
    let (engine, tenant) = engine_with_titles(&[
        "Bewohnerparkausweis",
        "Parkausweis für Handwerker",
        "Taxigenehmigung",
        "Taxi bestellen",
        "Genehmigung einer Veranstaltung",
        "Urkundenabholung",
        "Urkunde beglaubigen",
        "Hundesteuer",
        "Steuer",
    ]);
    let titles = |q: &str| titles(&engine, tenant, q);
    // A compound finds the compounds that share its parts.
    let hits = titles("Anwohnerparkausweis");
    assert!(hits.contains(&"Bewohnerparkausweis".to_owned()), "{hits:?}");
    assert!(
        hits.contains(&"Parkausweis für Handwerker".to_owned()),
        "{hits:?}"
    );
    // Words written apart find the compound they make (with stemming: abholen, Abholung).
    assert_eq!(titles("Taxi Genehmigung")[0], "Taxigenehmigung");
    assert_eq!(titles("Urkunde abholen")[0], "Urkundenabholung");
    assert_eq!(titles("Hunde Steuer")[0], "Hundesteuer");
    // A compound finds the words it is made of.
    assert!(titles("Taxigenehmigungen").contains(&"Taxigenehmigung".to_owned()));
    assert!(
        titles("Veranstaltungsgenehmigung").contains(&"Genehmigung einer Veranstaltung".to_owned())
    );
    // The whole word ranks above a compound that only contains it.
    for (query, whole, part) in [
        ("Taxi", "Taxi bestellen", "Taxigenehmigung"),
        (
            "Genehmigung",
            "Genehmigung einer Veranstaltung",
            "Taxigenehmigung",
        ),
        ("Urkunde", "Urkunde beglaubigen", "Urkundenabholung"),
        ("Steuer", "Steuer", "Hundesteuer"),
        ("Hundesteuer", "Hundesteuer", "Steuer"),
    ] {
        let hits = titles(query);
        let rank = |t: &str| hits.iter().position(|h| h == t);
        assert_eq!(rank(whole), Some(0), "{query}: {hits:?}");
        assert!(rank(part).is_some(), "{query}: {hits:?}");
    }
}

#[test]
fn compound_parts_are_highlighted() {
    let (engine, tenant) = engine_with_titles(&["Taxigenehmigung beantragen"]);
    let hits = engine
        .search(&SearchRequest {
            text: "Taxi ".into(),
            primary: TenantFilter::Only(BTreeSet::from([tenant])),
            secondary: None,
            drafts_of: BTreeSet::new(),
            leika: None,
            limit: 1,
        })
        .unwrap();
    assert_eq!(
        hits[0].title_html,
        "<mark>Taxigenehmigung</mark> beantragen"
    );
}

#[test]
fn snippets_highlight_the_matching_words() {
    let (engine, tenant) = demo_engine("stadt-mainz");
    let hits = engine
        .search(&SearchRequest {
            text: "Ummeldung".into(),
            primary: TenantFilter::Only(BTreeSet::from([tenant])),
            secondary: None,
            drafts_of: BTreeSet::new(),
            leika: None,
            limit: 1,
        })
        .unwrap();
    assert_eq!(
        hits[0].title_html,
        "<mark>Wohnsitz</mark> <mark>anmelden</mark>"
    );
    assert!(
        hits[0].snippet_html.contains("<mark>"),
        "{}",
        hits[0].snippet_html
    );
}

#[test]
fn other_tenants_and_drafts_are_filtered() {
    let (engine, tenant) = demo_engine("stadt-trier");
    let other = Uuid::now_v7();
    let req = |primary| SearchRequest {
        text: "Personalausweis".into(),
        primary,
        secondary: None,
        drafts_of: BTreeSet::new(),
        leika: None,
        limit: 5,
    };
    assert!(
        engine
            .search(&req(TenantFilter::Only(BTreeSet::from([other]))))
            .unwrap()
            .is_empty()
    );
    assert!(
        !engine
            .search(&req(TenantFilter::AllExcept(BTreeSet::from([other]))))
            .unwrap()
            .is_empty()
    );
    assert!(
        engine
            .search(&req(TenantFilter::AllExcept(BTreeSet::from([tenant]))))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn compounds_split_by_the_index_vocabulary() {
    // Neither "Kleingarten", "Liegeplatz" nor "Vergabe" is in the built-in vocabulary: the
    // index's own titles make them known parts of a query word.
    let (engine, tenant) = engine_with_titles(&[
        "Kleingarten pachten",
        "Liegeplatz für Boote",
        "Vergabe von Marktständen",
        "Gartenabfall entsorgen",
    ]);
    let titles = |q: &str| titles(&engine, tenant, q);
    assert_eq!(titles("Kleingartenantrag")[0], "Kleingarten pachten");
    let hits = titles("Liegeplatzvergabe");
    assert!(
        hits.contains(&"Liegeplatz für Boote".to_owned()),
        "{hits:?}"
    );
    assert!(
        hits.contains(&"Vergabe von Marktständen".to_owned()),
        "{hits:?}"
    );
    // A word of the index itself is not split: the whole word ranks first.
    assert_eq!(titles("Gartenabfall")[0], "Gartenabfall entsorgen");
    // Without such titles the same query words stay whole and find nothing.
    let (other, other_tenant) = engine_with_titles(&["Marktstand anmelden"]);
    assert!(self::titles(&other, other_tenant, "Liegeplatzvergabe").is_empty());
}
