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
