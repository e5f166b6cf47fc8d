//! XZuFi 2.2 export (`GET /api/v1/tenants/{slug}/export?format=xzufi`): the published
//! descriptions and the offices of a tenant; a round trip (import, export, import) changes
//! nothing; editors and admins of the tenant only.

use reqwest::StatusCode;
use sea_orm::EntityTrait;
use serde_json::{Value, json};
use verbund_schema::{org_unit, service, service_leika_key};

use crate::helpers::{TestApp, assert_problem};

const KO: &str = "/api/v1/tenants/stadt-koblenz";

/// Every module, several keys, HTML in the texts, two offices.
const DOCUMENT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<xzufi:transfer.operation.060102 xmlns:xzufi="http://xoev.de/schemata/xzufi/2_2_0" xmlns:xhtml="http://www.w3.org/1999/xhtml">
  <xzufi:leistung>
    <xzufi:id>1063423</xzufi:id>
    <xzufi:struktur>
      <xzufi:referenzLeiKa><code>99102013001000</code></xzufi:referenzLeiKa>
      <xzufi:referenzLeiKa><code>99102013002000</code></xzufi:referenzLeiKa>
    </xzufi:struktur>
    <xzufi:referenzLeiKa>99102013003000</xzufi:referenzLeiKa>
    <xzufi:modulText><xzufi:leikaTextmodul><code>02</code></xzufi:leikaTextmodul><xzufi:inhalt>Personalausweis &amp; Reisepass beantragen</xzufi:inhalt></xzufi:modulText>
    <xzufi:modulText><xzufi:leikaTextmodul><code>05</code></xzufi:leikaTextmodul><xzufi:inhalt>&lt;p&gt;Den Ausweis beantragen Sie &lt;strong&gt;persönlich&lt;/strong&gt;.&lt;/p&gt;</xzufi:inhalt></xzufi:modulText>
    <xzufi:modulText><xzufi:leikaTextmodul><code>06</code></xzufi:leikaTextmodul><xzufi:inhalt>
      <xhtml:p>Der Ausweis ist ab 16 Jahren Pflicht.</xhtml:p>
      <xhtml:p>Er gilt zehn Jahre,<xhtml:br/>bei Jüngeren sechs Jahre &amp; nicht länger.</xhtml:p>
    </xzufi:inhalt></xzufi:modulText>
    <xzufi:modulText><xzufi:leikaTextmodul><code>07</code></xzufi:leikaTextmodul><xzufi:inhalt>§ 9 PAuswG</xzufi:inhalt></xzufi:modulText>
    <xzufi:modulText><xzufi:leikaTextmodul><code>08</code></xzufi:leikaTextmodul><xzufi:inhalt>&lt;ul&gt;&lt;li&gt;alter Ausweis&lt;/li&gt;&lt;li&gt;biometrisches Passfoto&lt;/li&gt;&lt;/ul&gt;</xzufi:inhalt></xzufi:modulText>
    <xzufi:modulText><xzufi:leikaTextmodul><code>09</code></xzufi:leikaTextmodul><xzufi:inhalt>Hauptwohnsitz in Koblenz</xzufi:inhalt></xzufi:modulText>
    <xzufi:modulText><xzufi:leikaTextmodul><code>11</code></xzufi:leikaTextmodul><xzufi:inhalt>&lt;ol&gt;&lt;li&gt;Termin vereinbaren&lt;/li&gt;&lt;li&gt;Antrag stellen&lt;/li&gt;&lt;/ol&gt;</xzufi:inhalt></xzufi:modulText>
    <xzufi:modulText><xzufi:leikaTextmodul><code>12</code></xzufi:leikaTextmodul><xzufi:inhalt>etwa 3 Wochen</xzufi:inhalt></xzufi:modulText>
    <xzufi:modulText><xzufi:leikaTextmodul><code>13</code></xzufi:leikaTextmodul><xzufi:inhalt>vor Ablauf des alten Ausweises</xzufi:inhalt></xzufi:modulText>
    <xzufi:modulText><xzufi:leikaTextmodul><code>14</code></xzufi:leikaTextmodul>
      <xzufi:weiterfuehrenderLink><xzufi:uri>https://www.koblenz.de/antrag.pdf</xzufi:uri><xzufi:titel>Antrag</xzufi:titel></xzufi:weiterfuehrenderLink>
      <xzufi:weiterfuehrenderLink><xzufi:uri>https://termine.koblenz.de/?a=1&amp;b=2</xzufi:uri></xzufi:weiterfuehrenderLink>
    </xzufi:modulText>
    <xzufi:modulText><xzufi:leikaTextmodul><code>15</code></xzufi:leikaTextmodul><xzufi:inhalt>Siehe auch Reisepass.</xzufi:inhalt></xzufi:modulText>
    <xzufi:modulText><xzufi:leikaTextmodul><code>16</code></xzufi:leikaTextmodul><xzufi:inhalt>&lt;p&gt;Bitte &lt;em&gt;rechtzeitig&lt;/em&gt; kommen.&lt;/p&gt;</xzufi:inhalt></xzufi:modulText>
    <xzufi:modulText><xzufi:leikaTextmodul><code>22</code></xzufi:leikaTextmodul><xzufi:inhalt>Bürgeramt</xzufi:inhalt></xzufi:modulText>
    <xzufi:modulText><xzufi:leikaTextmodul><code>23</code></xzufi:leikaTextmodul><xzufi:inhalt>Infotheke im Rathaus</xzufi:inhalt></xzufi:modulText>
    <xzufi:modulKosten>
      <xzufi:kosten><xzufi:betragFix>37.00</xzufi:betragFix><xzufi:beschreibung>ab 24 Jahren</xzufi:beschreibung></xzufi:kosten>
      <xzufi:kosten><xzufi:betragFix>22.80</xzufi:betragFix></xzufi:kosten>
      <xzufi:beschreibung>&lt;p&gt;Die Gebühr richtet sich nach dem Alter.&lt;/p&gt;</xzufi:beschreibung>
    </xzufi:modulKosten>
    <xzufi:modulOnlinedienst><xzufi:uri>https://id.koblenz.de/online</xzufi:uri></xzufi:modulOnlinedienst>
    <xzufi:modulBegriffImKontext>
      <xzufi:begriffImKontext><xzufi:begriff>Perso</xzufi:begriff></xzufi:begriffImKontext>
      <xzufi:begriffImKontext><xzufi:begriff>Ausweis &amp; Pass</xzufi:begriff></xzufi:begriffImKontext>
    </xzufi:modulBegriffImKontext>
    <xzufi:zustaendigkeit><xzufi:organisationseinheitID>ko-buergeramt</xzufi:organisationseinheitID></xzufi:zustaendigkeit>
  </xzufi:leistung>
  <xzufi:leistung>
    <xzufi:id>1063424</xzufi:id>
    <xzufi:modulText><xzufi:leikaTextmodul><code>02</code></xzufi:leikaTextmodul><xzufi:inhalt>Führung durch die Feuerwache</xzufi:inhalt></xzufi:modulText>
    <xzufi:modulText><xzufi:leikaTextmodul><code>05</code></xzufi:leikaTextmodul><xzufi:inhalt>Für Gruppen &lt; 20 Personen.</xzufi:inhalt></xzufi:modulText>
  </xzufi:leistung>
  <xzufi:leistung>
    <xzufi:id>1063425</xzufi:id>
    <xzufi:referenzLeiKa>99010004001000</xzufi:referenzLeiKa>
    <xzufi:modulText><xzufi:leikaTextmodul><code>02</code></xzufi:leikaTextmodul><xzufi:inhalt>Aufenthaltserlaubnis – Studium</xzufi:inhalt></xzufi:modulText>
  </xzufi:leistung>
  <xzufi:leistung>
    <xzufi:id>1063426</xzufi:id>
    <xzufi:referenzLeiKa>99010004001000</xzufi:referenzLeiKa>
    <xzufi:modulText><xzufi:leikaTextmodul><code>02</code></xzufi:leikaTextmodul><xzufi:inhalt>Aufenthaltserlaubnis – Au-pair</xzufi:inhalt></xzufi:modulText>
  </xzufi:leistung>
  <xzufi:organisationseinheit>
    <xzufi:id>ko-buergeramt</xzufi:id>
    <xzufi:name><xzufi:name>Bürgeramt Koblenz</xzufi:name></xzufi:name>
    <xzufi:anschrift><xzufi:strasse>Willi-Hörter-Platz</xzufi:strasse><xzufi:hausnummer>1</xzufi:hausnummer><xzufi:postleitzahl>56068</xzufi:postleitzahl><xzufi:ort>Koblenz</xzufi:ort></xzufi:anschrift>
    <xzufi:kommunikation><xzufi:kanal><code>01</code></xzufi:kanal><xzufi:kennung>buergeramt@stadt-koblenz.demo</xzufi:kennung></xzufi:kommunikation>
    <xzufi:geokodierung><xzufi:breitengrad>50.3569</xzufi:breitengrad><xzufi:laengengrad>7.5941</xzufi:laengengrad></xzufi:geokodierung>
    <xzufi:kommunikation><xzufi:kanal><code>02</code></xzufi:kanal><xzufi:kennung>0261 129-0</xzufi:kennung></xzufi:kommunikation>
    <xzufi:zustaendigkeit><xzufi:leistungID>1063423</xzufi:leistungID></xzufi:zustaendigkeit>
  </xzufi:organisationseinheit>
  <xzufi:organisationseinheit>
    <xzufi:name>Feuerwache 1</xzufi:name>
  </xzufi:organisationseinheit>
</xzufi:transfer.operation.060102>
"#;

async fn json_of(resp: reqwest::Response, status: StatusCode) -> Value {
    let got = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    assert_eq!(got, status, "{body}");
    body
}

async fn import(app: &TestApp, token: &str, body: String) -> Value {
    let resp = app
        .client
        .post(app.url(&format!("{KO}/import")))
        .bearer_auth(token)
        .header("content-type", "application/xml")
        .body(body)
        .send()
        .await
        .unwrap();
    json_of(resp, StatusCode::OK).await
}

async fn export(app: &TestApp, token: &str, slug: &str) -> reqwest::Response {
    app.get(
        token,
        &format!("/api/v1/tenants/{slug}/export?format=xzufi"),
    )
    .await
}

/// Descriptions (id, version, updated_at, status, external id), keys and offices, sorted.
async fn state(app: &TestApp) -> Vec<String> {
    let mut out: Vec<String> = service::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .map(|s| {
            format!(
                "{} v{} {} {} {:?} {} {}",
                s.id,
                s.version,
                s.updated_at.to_rfc3339(),
                s.status.as_str(),
                s.external_id,
                s.modules,
                s.synonyms
            )
        })
        .collect();
    out.extend(
        service_leika_key::Entity::find()
            .all(&app.db)
            .await
            .unwrap()
            .into_iter()
            .map(|k| format!("key {} {}", k.service_id, k.leika_key)),
    );
    out.extend(
        org_unit::Entity::find()
            .all(&app.db)
            .await
            .unwrap()
            .into_iter()
            .map(|o| {
                format!(
                    "office {} v{} {}",
                    o.id,
                    o.version,
                    o.updated_at.to_rfc3339()
                )
            }),
    );
    out.sort();
    out
}

/// The document without its message header (id and time of creation).
fn without_header(xml: &str) -> String {
    let start = xml.find("<xzufi:nachrichtenkopf>").unwrap();
    let end = xml.find("</xzufi:nachrichtenkopf>").unwrap();
    format!("{}{}", &xml[..start], &xml[end..])
}

async fn an_xzufi_round_trip_changes_nothing(app: TestApp) {
    let editor = app.token("editor@stadt-koblenz.demo").await;
    let report = import(&app, &editor, DOCUMENT.to_owned()).await;
    assert_eq!(report["errors"], json!([]), "{report}");
    assert_eq!(report["services"]["created"], 4, "{report}");
    assert_eq!(report["org_units"]["created"], 2, "{report}");
    // Imports are drafts: publish three, leave the last variant a draft.
    let list = json_of(
        app.get(&editor, &format!("{KO}/services?limit=500")).await,
        StatusCode::OK,
    )
    .await;
    let mut published = 0;
    for item in list["items"].as_array().unwrap() {
        if item["title"] == "Aufenthaltserlaubnis – Au-pair" {
            continue;
        }
        let id = item["id"].as_str().unwrap();
        json_of(
            app.post(&editor, &format!("{KO}/services/{id}/publish"), &json!({}))
                .await,
            StatusCode::OK,
        )
        .await;
        published += 1;
    }
    assert_eq!(published, 3);

    let resp = export(&app, &editor, "stadt-koblenz").await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/xml")
    );
    let xml = resp.text().await.unwrap();
    // The published descriptions with all their keys, the offices; no draft.
    assert_eq!(xml.matches("<xzufi:leistung>").count(), 3, "{xml}");
    for key in [
        "99102013001000",
        "99102013002000",
        "99102013003000",
        "99010004001000",
    ] {
        assert!(xml.contains(&format!("<code>{key}</code>")), "{key}");
    }
    assert!(!xml.contains("Au-pair"));
    assert!(xml.contains("<xzufi:id>1063423</xzufi:id>"));
    assert!(xml.contains("Bürgeramt Koblenz") && xml.contains("Feuerwache 1"));
    // The office's geo position and what it offers (by the exported leistung id).
    assert!(
        xml.contains("<xzufi:breitengrad>50.3569</xzufi:breitengrad>")
            && xml.contains("<xzufi:laengengrad>7.5941</xzufi:laengengrad>"),
        "{xml}"
    );
    assert!(
        xml.contains("<xzufi:leistungID>1063423</xzufi:leistungID>"),
        "{xml}"
    );
    assert_eq!(app.count("knowledge_org_unit_services").await, 1);
    // HTML in the text fields, escaped in the XML.
    assert!(
        xml.contains("&lt;p&gt;Er gilt zehn Jahre,&lt;br/&gt;bei Jüngeren sechs Jahre &amp;amp; nicht länger.&lt;/p&gt;"),
        "{xml}"
    );
    assert!(xml.contains("&lt;ul&gt;&lt;li&gt;alter Ausweis&lt;/li&gt;"));

    let before = state(&app).await;
    let versions = app.count("knowledge_service_versions").await;
    let changes = app.count("knowledge_changes").await;
    let again = import(&app, &editor, xml.clone()).await;
    assert_eq!(again["errors"], json!([]), "{again}");
    assert_eq!(
        again["services"],
        json!({"created": 0, "updated": 0, "unchanged": 3, "failed": 0}),
        "{again}"
    );
    assert_eq!(
        again["org_units"],
        json!({"created": 0, "updated": 0, "unchanged": 2, "failed": 0})
    );
    assert_eq!(app.count("knowledge_service_versions").await, versions);
    assert_eq!(app.count("knowledge_changes").await, changes);
    assert!(state(&app).await == before, "the round trip changed rows");
    assert_eq!(app.count("knowledge_org_unit_services").await, 1);
    // And the export of the result is the same document.
    let second = export(&app, &editor, "stadt-koblenz")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(without_header(&second), without_header(&xml));

    // The tenant admin may export too.
    let admin = app.token("admin@stadt-koblenz.demo").await;
    assert_eq!(
        export(&app, &admin, "stadt-koblenz").await.status(),
        StatusCode::OK
    );
}

async fn only_editors_and_admins_of_the_tenant_export(app: TestApp) {
    let editor = app.token("editor@stadt-koblenz.demo").await;
    import(&app, &editor, DOCUMENT.to_owned()).await;
    let before = state(&app).await;
    // An agent who serves Koblenz: not the role for it.
    let agent = app.token("agent@sc-koblenz.demo").await;
    assert_problem(
        export(&app, &agent, "stadt-koblenz").await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    // Mainz's editor and admin: Koblenz's export is not theirs to see.
    for who in ["editor@stadt-mainz.demo", "admin@stadt-mainz.demo"] {
        let token = app.token(who).await;
        let body = assert_problem(
            export(&app, &token, "stadt-koblenz").await,
            StatusCode::NOT_FOUND,
            "not-found",
        )
        .await;
        assert!(!body.to_string().contains("Feuerwache"));
        // Their own tenant's export works (and holds none of Koblenz's).
        let own = export(&app, &token, "stadt-mainz").await;
        assert_eq!(own.status(), StatusCode::OK);
        assert!(!own.text().await.unwrap().contains("Koblenz"));
    }
    // An unknown format is named.
    let resp = app.get(&editor, &format!("{KO}/export?format=pdf")).await;
    let problem = assert_problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation-failed").await;
    assert_eq!(problem["field"], "format");
    // Without a token: 401.
    let resp = app
        .client
        .get(app.url(&format!("{KO}/export?format=xzufi")))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(state(&app).await == before);
}

crate::both_backends!(
    an_xzufi_round_trip_changes_nothing,
    only_editors_and_admins_of_the_tenant_export,
);
