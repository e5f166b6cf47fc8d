//! The synonym table of the search: words citizens say on the phone, and what the
//! descriptions call it. A query that contains a key (compared after stemming, so
//! "Ummeldung" and "ummelden" both hit) is expanded by the words of its target.

/// (keys, expansion). Keys may have several words ("auto zulassen"); they match consecutive
/// query words.
pub const SYNONYMS: &[(&[&str], &str)] = &[
    (
        &["perso", "personalausweis", "ausweis", "id karte"],
        "Personalausweis",
    ),
    (&["pass", "reisepaß"], "Reisepass"),
    (&["kinderpass"], "Kinderreisepass"),
    (
        &[
            "ummeldung",
            "ummelden",
            "umzug",
            "umziehen",
            "neue wohnung",
            "zuzug",
        ],
        "Wohnsitz anmelden",
    ),
    (
        &["abmeldung", "wegzug", "ins ausland ziehen"],
        "Wohnsitz abmelden",
    ),
    (
        &["meldebescheinigung", "meldebestätigung"],
        "Meldebescheinigung",
    ),
    (
        &[
            "auto zulassen",
            "auto anmelden",
            "auto ummelden",
            "zulassung",
            "kennzeichen",
            "nummernschild",
        ],
        "Kfz-Zulassung Fahrzeug zulassen",
    ),
    (
        &["auto abmelden", "stilllegen"],
        "Fahrzeug außer Betrieb setzen",
    ),
    (
        &["lappen", "fahrerlaubnis", "führerschein umtauschen"],
        "Führerschein",
    ),
    (
        &["knöllchen", "strafzettel", "bußgeld"],
        "Verwarnungsgeld Bußgeldverfahren",
    ),
    (
        &["kita", "kindergarten", "krippe"],
        "Kindertagesstätte Kita-Platz",
    ),
    (&["elternzeit geld", "basiselterngeld"], "Elterngeld"),
    (&["kindergeld"], "Kindergeld Familienkasse"),
    (&["hund anmelden", "hundemarke"], "Hundesteuer"),
    (&["sperrgut", "möbel entsorgen", "alte möbel"], "Sperrmüll"),
    (
        &["anwohnerparken", "parkausweis", "parkplakette"],
        "Bewohnerparkausweis",
    ),
    (
        &[
            "gewerbe anmelden",
            "gewerbeschein",
            "selbstständig machen",
            "firma gründen",
        ],
        "Gewerbeanmeldung",
    ),
    (
        &["geburt", "neugeborenes"],
        "Geburtsurkunde Geburt beurkunden",
    ),
    (
        &["heiraten", "hochzeit", "trauung", "standesamt"],
        "Eheschließung",
    ),
    (&["bauantrag", "bauen", "anbau"], "Baugenehmigung"),
    (&["mietzuschuss", "miete zuschuss"], "Wohngeld"),
    (
        &["polizeiliches führungszeugnis", "leumundszeugnis"],
        "Führungszeugnis",
    ),
    (
        &["fundbüro", "fundsache", "etwas gefunden"],
        "Fundsachen Fundbüro",
    ),
    (&["briefwahl", "wahlschein"], "Briefwahl Wahlschein"),
    (
        &["müllabfuhr", "mülltonne", "restmüll"],
        "Abfallbehälter Müllabfuhr",
    ),
    (&["rundfunkbeitrag", "gez"], "Rundfunkbeitrag"),
    (&["grundsteuer"], "Grundsteuer"),
    (&["beglaubigung", "kopie beglaubigen"], "Beglaubigung"),
    (
        &["sterbefall", "tod", "gestorben"],
        "Sterbeurkunde Sterbefall beurkunden",
    ),
    (
        &["einbürgerung", "deutsche staatsangehörigkeit"],
        "Einbürgerung",
    ),
    (
        &["aufenthaltstitel", "visum", "aufenthaltserlaubnis"],
        "Aufenthaltstitel",
    ),
    (
        &["schwerbehindertenausweis", "behindertenausweis"],
        "Schwerbehindertenausweis",
    ),
    (&["rente"], "Rentenantrag"),
];
