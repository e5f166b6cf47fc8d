//! Demo content for `verbund serve --demo`: descriptions and offices for the four demo
//! tenants, a few federal base texts, all marked as demo data (`demo = true`).
//!
//! The texts are written for this project. The county (Landkreis Trier-Saarburg) differs
//! from the cities where it really does: ID cards, registration, trade and civil status
//! matters are handled by the Verbandsgemeinden there, while the vehicle registration and the
//! driving licence are the county's own.

use chrono::NaiveDate;
use verbund_tenant::calendar::{Interval, SpecialDay, WeeklyHours};
use verbund_tenant::db::Db;
use verbund_tenant::db::begin_write;
use verbund_tenant::directory::find_tenant;
use verbund_tenant::{Error, Result};

use crate::catalog::{BaseLevel, insert_base_text};
use crate::changes;
use crate::leika::LeikaKey;
use crate::model::{CostAmount, Costs, Modules, ServiceContent};
use crate::org_units::{NewOrgUnit, insert_org_unit};
use crate::services::{Insert, SaveInfo, insert_service};
use crate::status::ServiceStatus;

/// Which office of a tenant is responsible.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Office {
    Buergeramt,
    Standesamt,
    Zulassung,
    Fahrerlaubnis,
    Ordnungsamt,
    Bauaufsicht,
    Soziales,
    Jugendamt,
    Steuern,
    Abfall,
}

/// Who does a service in the county: the county itself, or the Verbandsgemeinden.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InCounty {
    County,
    Verbandsgemeinde,
    /// Only cities offer it (e.g. residents' parking).
    CityOnly,
}

/// One demo description.
pub struct DemoService {
    pub leika: &'static str,
    pub title: &'static str,
    pub synonyms: &'static [&'static str],
    pub kurztext: &'static str,
    pub unterlagen: &'static [&'static str],
    pub kosten: &'static str,
    pub amounts: &'static [(&'static str, i64)],
    pub fristen: &'static str,
    pub dauer: &'static str,
    pub ablauf: &'static str,
    pub hinweise: &'static str,
    pub online: &'static str,
    pub office: Office,
    pub county: InCounty,
}

const fn s(
    leika: &'static str,
    title: &'static str,
    synonyms: &'static [&'static str],
    kurztext: &'static str,
    office: Office,
    county: InCounty,
) -> DemoService {
    DemoService {
        leika,
        title,
        synonyms,
        kurztext,
        unterlagen: &[],
        kosten: "",
        amounts: &[],
        fristen: "",
        dauer: "",
        ablauf: "",
        hinweise: "",
        online: "",
        office,
        county,
    }
}

use InCounty::{CityOnly as City, County, Verbandsgemeinde as Vg};
use Office::*;

/// The demo descriptions (the same list for every tenant, with local details).
pub const SERVICES: &[DemoService] = &[
    DemoService {
        unterlagen: &[
            "bisheriger Personalausweis oder Reisepass",
            "ein aktuelles biometrisches Passfoto",
            "bei Minderjährigen: Zustimmung aller Sorgeberechtigten",
        ],
        kosten: "Die Gebühr richtet sich nach dem Alter.",
        amounts: &[("ab 24 Jahren", 3700), ("unter 24 Jahren", 2280)],
        dauer: "etwa drei bis vier Wochen",
        ablauf: "Termin vereinbaren, persönlich vorsprechen, Fingerabdrücke abgeben. Sie erhalten einen Brief mit der PIN; den Ausweis holen Sie persönlich ab.",
        hinweise: "Der Personalausweis muss persönlich beantragt werden. Bei Verlust bitte zuerst die Verlustanzeige erstatten.",
        ..s(
            "99102013001000",
            "Personalausweis beantragen",
            &[
                "Perso",
                "Ausweis",
                "Identitätskarte",
                "neuer Ausweis",
                "Ausweis verloren",
            ],
            "Deutsche ab 16 Jahren müssen einen gültigen Personalausweis oder Reisepass besitzen. Den Personalausweis beantragen Sie persönlich bei der Personalausweisbehörde Ihres Wohnorts.",
            Buergeramt,
            Vg,
        )
    },
    DemoService {
        unterlagen: &[
            "bisheriger Reisepass oder Personalausweis",
            "ein aktuelles biometrisches Passfoto",
            "bei Namensänderung: Heirats- oder Geburtsurkunde",
        ],
        amounts: &[
            ("ab 24 Jahren", 7000),
            ("unter 24 Jahren", 3700),
            ("Expressgebühr zusätzlich", 3200),
        ],
        dauer: "etwa vier bis sechs Wochen, im Expressverfahren wenige Tage",
        hinweise: "Für manche Reiseländer muss der Reisepass noch mindestens sechs Monate gültig sein.",
        ..s(
            "99102014001000",
            "Reisepass beantragen",
            &["Pass", "Reisedokument", "Expresspass"],
            "Für Reisen in viele Länder außerhalb der EU brauchen Sie einen Reisepass. Er wird persönlich bei der Passbehörde Ihres Wohnorts beantragt.",
            Buergeramt,
            Vg,
        )
    },
    DemoService {
        unterlagen: &[
            "Geburtsurkunde des Kindes",
            "biometrisches Passfoto des Kindes",
            "Zustimmung beider Sorgeberechtigten",
        ],
        amounts: &[("Kinderreisepass", 1300)],
        dauer: "sofort zum Mitnehmen",
        hinweise: "Der Kinderreisepass ist ein Jahr gültig und wird nicht in allen Ländern anerkannt.",
        ..s(
            "99102014002000",
            "Kinderreisepass beantragen",
            &["Kinderpass", "Pass für Kinder"],
            "Kinder unter 12 Jahren können einen Kinderreisepass erhalten. Das Kind muss bei der Antragstellung anwesend sein.",
            Buergeramt,
            Vg,
        )
    },
    DemoService {
        unterlagen: &[
            "Personalausweis oder Reisepass",
            "Wohnungsgeberbestätigung des Vermieters",
        ],
        kosten: "gebührenfrei",
        fristen: "innerhalb von zwei Wochen nach dem Einzug",
        ablauf: "Termin vereinbaren oder online anmelden, Unterlagen vorlegen, Meldebestätigung mitnehmen.",
        hinweise: "Wer die Frist versäumt, muss mit einem Bußgeld rechnen. Die Anschrift im Personalausweis wird gleich mit geändert.",
        ..s(
            "99115005001000",
            "Wohnsitz anmelden",
            &["Ummeldung", "Anmeldung Wohnung", "Umzug melden", "Zuzug"],
            "Wer eine Wohnung bezieht, muss sich innerhalb von zwei Wochen bei der Meldebehörde anmelden. Das gilt auch beim Umzug innerhalb der Stadt (Ummeldung).",
            Buergeramt,
            Vg,
        )
    },
    DemoService {
        unterlagen: &[
            "Personalausweis oder Reisepass",
            "neue Anschrift im Ausland, falls bekannt",
        ],
        kosten: "gebührenfrei",
        fristen: "frühestens eine Woche vor und spätestens zwei Wochen nach dem Auszug",
        ..s(
            "99115005002000",
            "Wohnsitz abmelden",
            &["Abmeldung", "Wegzug ins Ausland"],
            "Abmelden müssen Sie sich nur, wenn Sie ins Ausland ziehen oder eine Nebenwohnung aufgeben. Bei einem Umzug im Inland genügt die Anmeldung am neuen Wohnort.",
            Buergeramt,
            Vg,
        )
    },
    DemoService {
        unterlagen: &["Personalausweis oder Reisepass"],
        amounts: &[("einfache Meldebescheinigung", 500)],
        dauer: "sofort",
        ..s(
            "99115003001000",
            "Meldebescheinigung ausstellen",
            &["Meldebestätigung", "Wohnsitzbescheinigung"],
            "Die Meldebescheinigung bestätigt, wo Sie gemeldet sind. Sie wird etwa für Behörden, Arbeitgeber oder Banken benötigt.",
            Buergeramt,
            Vg,
        )
    },
    DemoService {
        unterlagen: &[
            "Personalausweis oder Reisepass",
            "Zulassungsbescheinigung Teil I und Teil II",
            "Nachweis der Hauptuntersuchung",
            "eVB-Nummer der Versicherung",
            "SEPA-Lastschriftmandat für die Kfz-Steuer",
        ],
        kosten: "ab 26,30 Euro, je nach Fahrzeug und Kennzeichen",
        amounts: &[
            ("Zulassung eines Pkw", 2630),
            ("Wunschkennzeichen zusätzlich", 1280),
        ],
        dauer: "in der Regel sofort bei Vorsprache",
        online: "https://www.ikfz.example.org/zulassung",
        hinweise: "Die Zulassung ist auch online (i-Kfz) möglich, wenn Ausweis und Fahrzeugpapiere die Online-Funktion haben.",
        ..s(
            "99036003001000",
            "Fahrzeug zulassen",
            &[
                "Kfz-Zulassung",
                "Auto anmelden",
                "Auto zulassen",
                "Kennzeichen",
            ],
            "Ein Kraftfahrzeug darf im Straßenverkehr nur mit Zulassung fahren. Zugelassen wird bei der Zulassungsbehörde Ihres Wohnorts.",
            Zulassung,
            County,
        )
    },
    DemoService {
        unterlagen: &[
            "Zulassungsbescheinigung Teil I",
            "beide Kennzeichenschilder",
        ],
        amounts: &[("Außerbetriebsetzung", 1290)],
        ..s(
            "99036003002000",
            "Fahrzeug außer Betrieb setzen",
            &["Auto abmelden", "Abmeldung Kfz", "stilllegen"],
            "Wenn Sie ein Fahrzeug nicht mehr nutzen, setzen Sie es außer Betrieb. Die Kfz-Steuer und die Versicherung enden danach.",
            Zulassung,
            County,
        )
    },
    DemoService {
        unterlagen: &[
            "Personalausweis oder Reisepass",
            "biometrisches Passfoto",
            "Sehtestbescheinigung",
            "Nachweis über die Erste-Hilfe-Schulung",
        ],
        amounts: &[("Ersterteilung Klasse B", 4330)],
        dauer: "etwa vier bis sechs Wochen",
        ..s(
            "99088001001000",
            "Führerschein beantragen",
            &["Fahrerlaubnis", "Lappen", "Führerschein Klasse B"],
            "Die Fahrerlaubnis beantragen Sie bei der Fahrerlaubnisbehörde, bevor Sie mit der Fahrausbildung beginnen. Die Fahrschule hilft beim Antrag.",
            Fahrerlaubnis,
            County,
        )
    },
    DemoService {
        unterlagen: &[
            "bisheriger Führerschein",
            "Personalausweis oder Reisepass",
            "biometrisches Passfoto",
        ],
        amounts: &[("Umtausch", 2560)],
        fristen: "je nach Geburtsjahr bis spätestens 19. Januar 2033",
        ..s(
            "99088002001000",
            "Führerschein umtauschen",
            &[
                "Führerscheinumtausch",
                "alter Führerschein",
                "rosa Führerschein",
                "grauer Lappen",
            ],
            "Alte Papierführerscheine und Kartenführerscheine bis 2013 müssen gestaffelt nach Geburtsjahr in den EU-Kartenführerschein umgetauscht werden.",
            Fahrerlaubnis,
            County,
        )
    },
    DemoService {
        unterlagen: &[
            "Geburtsurkunde des Kindes",
            "Einkommensnachweise der letzten zwölf Monate",
            "Bescheinigung der Krankenkasse über das Mutterschaftsgeld",
        ],
        kosten: "gebührenfrei",
        fristen: "rückwirkend nur für die letzten drei Lebensmonate vor dem Antragsmonat",
        online: "https://www.elterngeld-digital.example.org",
        ..s(
            "99041008000000",
            "Elterngeld beantragen",
            &[
                "Basiselterngeld",
                "ElterngeldPlus",
                "Geld in der Elternzeit",
            ],
            "Elterngeld gleicht fehlendes Einkommen aus, wenn Eltern nach der Geburt ihr Kind betreuen. Zuständig ist die Elterngeldstelle des Jugendamts.",
            Jugendamt,
            County,
        )
    },
    DemoService {
        kosten: "gebührenfrei",
        hinweise: "Die Verwaltung beantwortet Fragen zum Kindergeld nicht selbst: zuständig ist die Familienkasse der Bundesagentur für Arbeit, Telefon 0800 4 5555 30.",
        ..s(
            "99041001000000",
            "Kindergeld (Hinweis: Familienkasse)",
            &["Kindergeld beantragen", "Familienkasse"],
            "Kindergeld beantragen Sie bei der Familienkasse der Bundesagentur für Arbeit, nicht bei der Stadt- oder Kreisverwaltung.",
            Jugendamt,
            County,
        )
    },
    DemoService {
        unterlagen: &[
            "Personalausweis",
            "bei Listenhunden: Sachkundenachweis und Haftpflichtversicherung",
        ],
        amounts: &[
            ("erster Hund pro Jahr", 12000),
            ("jeder weitere Hund pro Jahr", 15000),
        ],
        fristen: "innerhalb von zwei Wochen nach Anschaffung oder Zuzug",
        hinweise: "Sie erhalten eine Hundesteuermarke, die der Hund außerhalb der Wohnung tragen muss.",
        ..s(
            "99108008001000",
            "Hund anmelden (Hundesteuer)",
            &["Hundesteuer", "Hundemarke", "Hund anmelden"],
            "Wer einen Hund hält, muss ihn zur Hundesteuer anmelden. Die Steuer wird jährlich erhoben.",
            Steuern,
            Vg,
        )
    },
    DemoService {
        kosten: "Zwei Abholungen im Jahr sind in der Müllgebühr enthalten.",
        fristen: "Anmeldung spätestens zwei Wochen vor dem Wunschtermin",
        online: "https://www.abfall.example.org/sperrmuell",
        ..s(
            "99107002001000",
            "Sperrmüll anmelden",
            &["Sperrgut", "Möbel entsorgen", "Sperrmüllabholung"],
            "Sperrige Haushaltsgegenstände wie Möbel und Matratzen werden nach Anmeldung abgeholt. Elektrogeräte werden getrennt abgeholt.",
            Abfall,
            County,
        )
    },
    DemoService {
        unterlagen: &[
            "Personalausweis mit Anschrift im Bewohnerparkgebiet",
            "Zulassungsbescheinigung Teil I des Fahrzeugs",
        ],
        amounts: &[("Bewohnerparkausweis pro Jahr", 3060)],
        ..s(
            "99036010001000",
            "Bewohnerparkausweis beantragen",
            &["Anwohnerparken", "Parkausweis für Anwohner", "Parkplakette"],
            "Wer in einem Bewohnerparkgebiet wohnt, kann einen Bewohnerparkausweis beantragen und dort ohne Parkschein parken.",
            Ordnungsamt,
            City,
        )
    },
    DemoService {
        unterlagen: &[
            "Personalausweis oder Reisepass",
            "bei erlaubnispflichtigen Gewerben: die Erlaubnis",
            "bei juristischen Personen: Handelsregisterauszug",
        ],
        amounts: &[("Gewerbeanmeldung", 3000)],
        fristen: "gleichzeitig mit dem Beginn der Tätigkeit",
        online: "https://www.gewerbe.example.org",
        ..s(
            "99050012104000",
            "Gewerbe anmelden",
            &["Gewerbeanmeldung", "Gewerbeschein", "Selbstständigkeit"],
            "Wer ein Gewerbe beginnt, muss es beim Gewerbeamt anmelden. Freie Berufe brauchen keine Gewerbeanmeldung.",
            Ordnungsamt,
            Vg,
        )
    },
    DemoService {
        unterlagen: &["Personalausweis oder Reisepass"],
        amounts: &[("Gewerbeabmeldung", 2000)],
        ..s(
            "99050012105000",
            "Gewerbe abmelden",
            &["Gewerbeabmeldung", "Betrieb aufgeben"],
            "Wer ein Gewerbe aufgibt, muss es beim Gewerbeamt abmelden.",
            Ordnungsamt,
            Vg,
        )
    },
    DemoService {
        unterlagen: &[
            "Geburtsanzeige der Klinik",
            "Personalausweise der Eltern",
            "Heiratsurkunde oder Geburtsurkunden der Eltern",
        ],
        amounts: &[("Geburtsurkunde", 1200), ("jede weitere Urkunde", 600)],
        fristen: "Anzeige der Geburt innerhalb einer Woche",
        ..s(
            "99012001001000",
            "Geburtsurkunde beantragen",
            &["Geburt beurkunden", "Geburt anmelden", "Neugeborenes"],
            "Jede Geburt wird beim Standesamt des Geburtsorts beurkundet. Danach können Sie Geburtsurkunden bestellen.",
            Standesamt,
            Vg,
        )
    },
    DemoService {
        unterlagen: &[
            "Personalausweise oder Reisepässe",
            "beglaubigte Abschriften aus dem Geburtenregister",
            "bei Geschiedenen: Nachweis über die Auflösung der Vorehe",
        ],
        amounts: &[
            ("Anmeldung der Eheschließung", 6000),
            ("Trauung außerhalb der Öffnungszeiten", 10000),
        ],
        fristen: "Anmeldung höchstens sechs Monate vor der Trauung",
        ..s(
            "99012005001000",
            "Eheschließung anmelden",
            &["Heiraten", "Hochzeit", "Trauung", "Standesamtliche Trauung"],
            "Wer heiraten möchte, meldet die Eheschließung beim Standesamt an. Das Paar kommt dazu gemeinsam.",
            Standesamt,
            Vg,
        )
    },
    DemoService {
        unterlagen: &[
            "Bauantragsformular",
            "Lageplan",
            "Bauzeichnungen",
            "Baubeschreibung",
            "Standsicherheitsnachweis",
        ],
        kosten: "Die Gebühr richtet sich nach den Baukosten.",
        dauer: "in der Regel drei Monate nach Eingang der vollständigen Unterlagen",
        ..s(
            "99066010001000",
            "Baugenehmigung beantragen",
            &["Bauantrag", "Bauen", "Anbau", "Garage bauen"],
            "Wer ein Gebäude errichten, ändern oder abreißen will, braucht in der Regel eine Baugenehmigung der unteren Bauaufsichtsbehörde.",
            Bauaufsicht,
            County,
        )
    },
    DemoService {
        unterlagen: &[
            "Mietvertrag oder Nachweis der Belastung",
            "Einkommensnachweise aller Haushaltsmitglieder",
            "Personalausweis",
        ],
        kosten: "gebührenfrei",
        dauer: "etwa sechs bis acht Wochen",
        ..s(
            "99063001001000",
            "Wohngeld beantragen",
            &["Mietzuschuss", "Lastenzuschuss", "Zuschuss zur Miete"],
            "Wohngeld ist ein Zuschuss zur Miete oder zu den Kosten von selbstgenutztem Wohneigentum für Haushalte mit geringem Einkommen.",
            Soziales,
            County,
        )
    },
    DemoService {
        unterlagen: &["Personalausweis oder Reisepass"],
        amounts: &[("Führungszeugnis", 1300)],
        dauer: "etwa zwei Wochen, es wird per Post zugeschickt",
        online: "https://www.fuehrungszeugnis.example.org",
        ..s(
            "99019001001000",
            "Führungszeugnis beantragen",
            &[
                "polizeiliches Führungszeugnis",
                "erweitertes Führungszeugnis",
            ],
            "Das Führungszeugnis beantragen Sie bei der Meldebehörde; ausgestellt wird es vom Bundesamt für Justiz.",
            Buergeramt,
            Vg,
        )
    },
    DemoService {
        kosten: "Für die Herausgabe wird eine Gebühr erhoben; der Finder kann Finderlohn verlangen.",
        fristen: "Fundsachen werden sechs Monate aufbewahrt.",
        ..s(
            "99114001001000",
            "Fundsachen abgeben oder abholen",
            &["Fundbüro", "etwas verloren", "Fundsache"],
            "Gefundene Gegenstände geben Sie im Fundbüro ab. Wer etwas verloren hat, kann dort nachfragen.",
            Ordnungsamt,
            Vg,
        )
    },
    DemoService {
        unterlagen: &["Wahlbenachrichtigung oder Personalausweis"],
        kosten: "gebührenfrei",
        fristen: "bis Freitag vor der Wahl, 18 Uhr",
        online: "https://www.wahlschein.example.org",
        ..s(
            "99025001001000",
            "Briefwahl beantragen",
            &["Wahlschein", "Briefwahlunterlagen"],
            "Wer nicht im Wahllokal wählen kann oder will, beantragt einen Wahlschein und wählt per Brief.",
            Buergeramt,
            Vg,
        )
    },
    DemoService {
        unterlagen: &[
            "Totenschein",
            "Personalausweis der verstorbenen Person",
            "Geburts- oder Heiratsurkunde",
        ],
        amounts: &[("Sterbeurkunde", 1200)],
        fristen: "Anzeige spätestens am dritten Werktag nach dem Tod",
        hinweise: "Meist übernimmt das Bestattungsunternehmen die Anzeige.",
        ..s(
            "99012010001000",
            "Sterbefall anzeigen",
            &["Sterbeurkunde", "Todesfall", "Tod melden"],
            "Ein Sterbefall muss beim Standesamt des Sterbeorts angezeigt werden. Danach werden Sterbeurkunden ausgestellt.",
            Standesamt,
            Vg,
        )
    },
    DemoService {
        unterlagen: &[
            "Original des Dokuments",
            "Kopie des Dokuments",
            "Personalausweis",
        ],
        amounts: &[("je Beglaubigung", 500)],
        ..s(
            "99100001001000",
            "Dokumente amtlich beglaubigen",
            &["Beglaubigung", "Kopie beglaubigen", "amtliche Beglaubigung"],
            "Kopien von Zeugnissen und anderen Dokumenten können amtlich beglaubigt werden. Urkunden des Standesamts beglaubigt nur das Standesamt.",
            Buergeramt,
            Vg,
        )
    },
    DemoService {
        unterlagen: &["Feststellungsbescheid des Versorgungsamts", "Passfoto"],
        kosten: "gebührenfrei",
        hinweise: "Zuständig für den Antrag ist das Landesamt für Soziales, Jugend und Versorgung; die Verwaltung hilft beim Ausfüllen.",
        ..s(
            "99051004001000",
            "Schwerbehindertenausweis beantragen",
            &["Behindertenausweis", "Grad der Behinderung", "GdB"],
            "Menschen mit einem Grad der Behinderung von mindestens 50 erhalten einen Schwerbehindertenausweis.",
            Soziales,
            County,
        )
    },
    DemoService {
        unterlagen: &["Antrag auf Bewilligung", "Nachweis des Bedarfs"],
        kosten: "gebührenfrei",
        ..s(
            "99079001001000",
            "Kita-Platz beantragen",
            &["Kindergarten", "Kindertagesstätte", "Krippe", "Kita"],
            "Kinder ab dem ersten Geburtstag haben einen Anspruch auf einen Platz in einer Kindertagesstätte. Die Anmeldung erfolgt über das Jugendamt.",
            Jugendamt,
            County,
        )
    },
    DemoService {
        amounts: &[("Mülltonne 120 Liter pro Jahr", 18000)],
        online: "https://www.abfall.example.org/tonnen",
        ..s(
            "99107001001000",
            "Mülltonne bestellen oder ändern",
            &["Abfallbehälter", "Restmülltonne", "Biotonne", "Müllabfuhr"],
            "Größe und Anzahl der Abfallbehälter können Sie beim Abfallwirtschaftsbetrieb ändern. Die Gebühr richtet sich nach dem Volumen.",
            Abfall,
            County,
        )
    },
    DemoService {
        unterlagen: &[
            "Reisepass oder Personalausweis des Herkunftslands",
            "biometrisches Passfoto",
            "Nachweis über Einkommen und Krankenversicherung",
            "Mietvertrag",
        ],
        amounts: &[("Aufenthaltserlaubnis", 10000)],
        dauer: "mehrere Wochen",
        ..s(
            "99010010001000",
            "Aufenthaltstitel beantragen",
            &[
                "Aufenthaltserlaubnis",
                "Visum verlängern",
                "Ausländerbehörde",
            ],
            "Ausländerinnen und Ausländer aus Staaten außerhalb der EU brauchen für einen längeren Aufenthalt einen Aufenthaltstitel der Ausländerbehörde.",
            Ordnungsamt,
            County,
        )
    },
    DemoService {
        unterlagen: &[
            "Nachweis der Sprachkenntnisse (B1)",
            "Einbürgerungstest",
            "Nachweis des Lebensunterhalts",
        ],
        amounts: &[
            ("Einbürgerung Erwachsene", 25500),
            ("miteingebürgerte Kinder", 5100),
        ],
        dauer: "mehrere Monate",
        ..s(
            "99010015001000",
            "Einbürgerung beantragen",
            &[
                "deutsche Staatsangehörigkeit",
                "Staatsbürgerschaft",
                "Einbürgerungstest",
            ],
            "Wer seit mehreren Jahren rechtmäßig in Deutschland lebt, kann sich einbürgern lassen und die deutsche Staatsangehörigkeit erhalten.",
            Ordnungsamt,
            County,
        )
    },
    DemoService {
        amounts: &[("Verwarnungsgeld Parkverstoß ab", 2000)],
        fristen: "innerhalb einer Woche zahlen",
        ..s(
            "99036020001000",
            "Verwarnungsgeld bezahlen",
            &["Knöllchen", "Strafzettel", "Parkknöllchen", "Bußgeld"],
            "Für Parkverstöße erhalten Sie ein Verwarnungsgeld. Zahlen Sie innerhalb der Frist, ist die Sache erledigt; sonst folgt ein Bußgeldverfahren.",
            Ordnungsamt,
            City,
        )
    },
    DemoService {
        kosten: "Der Hebesatz wird vom Rat beschlossen.",
        fristen: "fällig vierteljährlich am 15. Februar, 15. Mai, 15. August und 15. November",
        ..s(
            "99108001001000",
            "Grundsteuer zahlen",
            &["Grundsteuerbescheid", "Grundbesitzabgaben"],
            "Eigentümerinnen und Eigentümer von Grundstücken zahlen Grundsteuer an die Gemeinde. Den Bescheid verschickt die Steuerabteilung.",
            Steuern,
            Vg,
        )
    },
];

/// Demo tenants with their offices: (slug, city, postal code, phone prefix, e-mail domain).
const PLACES: [(&str, &str, &str, &str); 4] = [
    ("stadt-trier", "Trier", "54290", "0651 718"),
    ("kreis-trier-saarburg", "Trier", "54290", "0651 715"),
    ("stadt-koblenz", "Koblenz", "56068", "0261 129"),
    ("stadt-mainz", "Mainz", "55116", "06131 12"),
];

fn hm(a: u32, b: u32, c: u32, d: u32) -> Vec<Interval> {
    Interval::hm(a, b, c, d).into_iter().collect()
}

fn office_name(office: Office, county: bool, city: &str) -> String {
    let place = if county {
        "Kreisverwaltung Trier-Saarburg".to_owned()
    } else {
        format!("Stadtverwaltung {city}")
    };
    let unit = match office {
        Buergeramt => "Bürgeramt",
        Standesamt => "Standesamt",
        Zulassung => "Zulassungsstelle",
        Fahrerlaubnis => "Fahrerlaubnisbehörde",
        Ordnungsamt => "Ordnungsamt",
        Bauaufsicht => "Bauaufsicht",
        Soziales => "Amt für Soziales und Wohnen",
        Jugendamt => "Jugendamt",
        Steuern => "Steueramt",
        Abfall => "Abfallwirtschaft",
    };
    format!("{unit} – {place}")
}

const OFFICES: [Office; 10] = [
    Buergeramt,
    Standesamt,
    Zulassung,
    Fahrerlaubnis,
    Ordnungsamt,
    Bauaufsicht,
    Soziales,
    Jugendamt,
    Steuern,
    Abfall,
];

fn office_key(o: Office) -> &'static str {
    match o {
        Buergeramt => "buergeramt",
        Standesamt => "standesamt",
        Zulassung => "zulassung",
        Fahrerlaubnis => "fahrerlaubnis",
        Ordnungsamt => "ordnungsamt",
        Bauaufsicht => "bauaufsicht",
        Soziales => "soziales",
        Jugendamt => "jugendamt",
        Steuern => "steuern",
        Abfall => "abfall",
    }
}

/// Plausible hours: citizens' offices with a long Thursday and Saturday morning, others
/// mornings plus Thursday afternoon.
fn hours(o: Office) -> WeeklyHours {
    match o {
        Buergeramt => {
            let mut w = WeeklyHours::weekdays(hm(8, 0, 12, 30));
            w.tue = [hm(8, 0, 12, 30), hm(14, 0, 16, 0)].concat();
            w.thu = [hm(8, 0, 12, 30), hm(14, 0, 18, 0)].concat();
            w.sat = hm(9, 0, 12, 0);
            w
        }
        Zulassung | Fahrerlaubnis => {
            let mut w = WeeklyHours::weekdays(hm(7, 30, 12, 0));
            w.thu = [hm(7, 30, 12, 0), hm(13, 30, 17, 30)].concat();
            w
        }
        _ => {
            let mut w = WeeklyHours::weekdays(hm(8, 30, 12, 0));
            w.thu = [hm(8, 30, 12, 0), hm(14, 0, 17, 0)].concat();
            w
        }
    }
}

/// The base texts of the demo catalogue (federal level): adopted by every demo tenant.
const BASE_LEIKA: [&str; 3] = ["99019001001000", "99041008000000", "99102014001000"];

fn content_of(d: &DemoService, tenant: &str, county: bool, city: &str) -> Result<ServiceContent> {
    let leika =
        LeikaKey::parse(d.leika).map_err(|e| Error::internal("demo LeiKa key", e.to_string()))?;
    let text = |t: &str| (!t.is_empty()).then(|| t.to_owned());
    let mut kurztext = d.kurztext.to_owned();
    let zustaendig = if county && d.county == Vg {
        kurztext.push_str(
            " Im Landkreis Trier-Saarburg ist dafür die Verbandsgemeindeverwaltung Ihres \
             Wohnorts zuständig, nicht die Kreisverwaltung.",
        );
        "Verbandsgemeindeverwaltung des Wohnorts".to_owned()
    } else {
        office_name(d.office, county, city)
    };
    let kosten = if d.kosten.is_empty() && d.amounts.is_empty() {
        None
    } else {
        Some(Costs {
            text: text(d.kosten),
            amounts: d
                .amounts
                .iter()
                .map(|(label, cents)| CostAmount {
                    label: Some((*label).to_owned()),
                    eur_cents: *cents,
                })
                .collect(),
        })
    };
    ServiceContent {
        leika_keys: vec![leika],
        title: d.title.to_owned(),
        synonyms: d.synonyms.iter().map(|s| (*s).to_owned()).collect(),
        modules: Modules {
            kurztext: Some(kurztext),
            unterlagen: d.unterlagen.iter().map(|s| (*s).to_owned()).collect(),
            kosten,
            fristen: text(d.fristen),
            bearbeitungsdauer: text(d.dauer),
            verfahrensablauf: text(d.ablauf),
            hinweise: Some(match text(d.hinweise) {
                Some(h) => format!("{h} (Demodaten {tenant})"),
                None => format!("Demodaten {tenant}: keine echten Angaben."),
            }),
            online_dienst: text(d.online),
            zustaendige_stelle: Some(zustaendig),
            ..Modules::default()
        },
    }
    .normalized()
    .map_err(|e| Error::internal(format!("demo content {}", d.leika), e.to_string()))
}

/// The demo descriptions of one tenant, as they are stored (without base texts).
pub fn tenant_content(slug: &str) -> Vec<(ServiceContent, Office)> {
    let county = slug == "kreis-trier-saarburg";
    let city = PLACES.iter().find(|p| p.0 == slug).map_or("Trier", |p| p.1);
    SERVICES
        .iter()
        .filter(|d| !(county && d.county == City))
        .filter_map(|d| {
            content_of(d, slug, county, city)
                .ok()
                .map(|c| (c, d.office))
        })
        .collect()
}

/// Seeds the demo knowledge into the demo tenants. Returns false (and changes nothing) when
/// any knowledge exists already or the demo tenants are missing.
pub async fn seed(db: &Db) -> Result<bool> {
    if crate::repo::any_service(db).await? {
        return Ok(false);
    }
    let mut tenants = Vec::new();
    for (slug, ..) in PLACES {
        match find_tenant(db, slug).await {
            Ok(t) => tenants.push(t),
            Err(Error::NotFound(_)) => return Ok(false),
            Err(e) => return Err(e),
        }
    }
    let info = SaveInfo {
        author: None,
        kind: "imported",
    };
    let txn = begin_write(db).await?;
    // Base texts: the federal version of three descriptions.
    let mut bases = Vec::new();
    for leika in BASE_LEIKA {
        let Some(d) = SERVICES.iter().find(|d| d.leika == leika) else {
            continue;
        };
        let mut content = content_of(d, "Bund", false, "")?;
        content.modules.zustaendige_stelle = None;
        content.modules.hinweise = Some("Stammtext des Bundes (Demodaten).".into());
        content.modules.volltext = Some(format!(
            "{} Bundeseinheitliche Beschreibung; Kommunen ergänzen örtliche Angaben.",
            d.kurztext
        ));
        bases.push(insert_base_text(&txn, content, BaseLevel::Bund, None, true).await?);
    }
    for (t, (slug, city, postal, phone)) in tenants.iter().zip(PLACES) {
        let county = slug == "kreis-trier-saarburg";
        let mut offices = Vec::new();
        for (i, office) in OFFICES.into_iter().enumerate() {
            let unit = NewOrgUnit {
                name: office_name(office, county, city),
                external_id: Some(format!("{slug}-{}", office_key(office))),
                street: Some(
                    if county {
                        "Willy-Brandt-Platz"
                    } else {
                        "Rathausplatz"
                    }
                    .into(),
                ),
                house_number: Some(format!("{}", i + 1)),
                postal_code: Some(postal.into()),
                city: Some(city.into()),
                phone: Some(format!("{phone}-{}", 100 + i * 10)),
                email: Some(format!("{}@{slug}.demo", office_key(office))),
                opening_hours: Some(hours(office)),
                closing_days: vec![
                    NaiveDate::from_ymd_opt(2026, 12, 24),
                    NaiveDate::from_ymd_opt(2026, 12, 31),
                ]
                .into_iter()
                .flatten()
                .collect(),
                special_days: NaiveDate::from_ymd_opt(2027, 2, 8)
                    .map(|date| SpecialDay {
                        date,
                        intervals: hm(8, 0, 11, 0),
                        note: Some("Rosenmontag: nur vormittags".into()),
                    })
                    .into_iter()
                    .collect(),
                geo: None,
            }
            .validate()?;
            offices.push((office, insert_org_unit(&txn, t.id, unit, true).await?));
        }
        for (content, office) in tenant_content(slug) {
            let org = offices
                .iter()
                .find(|(o, _)| *o == office)
                .map(|(_, m)| m.id);
            let base = bases
                .iter()
                .find(|b| content.leika_keys.iter().any(|k| k.as_str() == b.leika));
            let mut content = content;
            if base.is_some() {
                // Adopted: keep only the local modules; the rest comes from the base text.
                content.modules = Modules {
                    zustaendige_stelle: content.modules.zustaendige_stelle.take(),
                    hinweise: content.modules.hinweise.take(),
                    kosten: content.modules.kosten.take(),
                    ..Modules::default()
                };
            }
            insert_service(
                &txn,
                Insert {
                    tenant_id: t.id,
                    content,
                    external_id: None,
                    status: ServiceStatus::Published,
                    org_unit_id: org,
                    contact_org_unit_id: org,
                    base: base.map(|b| (b.id, b.revision)),
                    demo: true,
                },
                info,
            )
            .await?;
        }
    }
    txn.commit().await?;
    changes::notify(db);
    Ok(true)
}
