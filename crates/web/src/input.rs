//! Input hygiene for pages, as the API's checked extractors: every query string and form
//! value passes [`verbund_tenant::text`]'s rule (no control or invisible characters; single
//! lines except the long-text fields) before a handler sees it. A violation is a German 400
//! page and nothing happens.

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest};
use serde::de::DeserializeOwned;
use verbund_tenant::text::{TextKind, check, check_query_pairs};

/// Form fields that hold a long text (several lines allowed).
const LONG_FIELDS: &[&str] = &[
    "text",
    "frage",
    "anschrift",
    "grund",
    // The editor's FIM modules and lists (one entry per line).
    "kurztext",
    "volltext",
    "voraussetzungen",
    "verfahrensablauf",
    "fristen",
    "bearbeitungsdauer",
    "rechtsgrundlage",
    "hinweise",
    "weiterfuehrende_informationen",
    "unterlagen",
    "formulare",
    // The admin's closing days (one date a line).
    "schliesstage",
    // The editor's synonyms (one a line), cost text and the office modules.
    "suchbegriffe",
    "kosten_text",
    "zustaendige_stelle",
    "ansprechpunkt",
    // The admin's signature under replies.
    "signatur",
];

/// Checks decoded form pairs; the error names the field.
pub fn check_form_pairs(pairs: &[(String, String)]) -> Result<(), String> {
    for (name, value) in pairs {
        let kind = if LONG_FIELDS.contains(&name.as_str()) {
            TextKind::LongText
        } else {
            TextKind::SingleLine
        };
        check(TextKind::SingleLine, name).map_err(|_| name.clone())?;
        check(kind, value).map_err(|_| name.clone())?;
    }
    Ok(())
}

pub fn bad_input(req: &HttpRequest, field: &str) -> actix_web::Error {
    crate::session::FormError(crate::pages::error_page(
        req,
        StatusCode::BAD_REQUEST,
        None,
        "Ungültige Eingabe",
        &format!(
            "Der Wert „{field}“ enthält unzulässige Zeichen oder ist ungültig. Nichts wurde gespeichert."
        ),
    ))
    .into()
}

/// A checked query string deserialized into `T`.
pub struct Query<T>(pub T);

impl<T> Query<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Query<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let raw = req.query_string();
        let result = match serde_urlencoded::from_str::<Vec<(String, String)>>(raw) {
            Err(_) => Err(bad_input(req, "Adresse")),
            Ok(pairs) => {
                match check_query_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
                    Err(v) => Err(bad_input(req, &v.field)),
                    Ok(()) => serde_urlencoded::from_str::<T>(raw)
                        .map(Query)
                        .map_err(|_| bad_input(req, "Adresse")),
                }
            }
        };
        std::future::ready(result)
    }
}
