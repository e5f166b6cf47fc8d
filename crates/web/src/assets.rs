//! The UI's static files, embedded in the binary and served under a content-hash name
//! (`/assets/app.<hash>.css`) with a one-year, immutable cache lifetime: a new build with a
//! changed file gets a new name, so a browser never keeps a stale copy. Nothing loads from
//! another host.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use sha2::{Digest, Sha256};

use crate::WebState;

const FILES: [(&str, &str, &str); 2] = [
    ("app", "css", include_str!("../assets/app.css")),
    ("app", "js", include_str!("../assets/app.js")),
];

pub struct Asset {
    /// The name it is served under: `app.<hash>.css`.
    pub name: String,
    pub content_type: &'static str,
    pub body: &'static str,
}

pub struct Assets {
    files: Vec<Asset>,
}

impl Default for Assets {
    fn default() -> Self {
        Self::new()
    }
}

impl Assets {
    pub fn new() -> Self {
        let files = FILES
            .iter()
            .map(|(stem, ext, body)| {
                let digest = Sha256::digest(body.as_bytes());
                let hash: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
                Asset {
                    name: format!("{stem}.{hash}.{ext}"),
                    content_type: if *ext == "css" {
                        "text/css; charset=utf-8"
                    } else {
                        "text/javascript; charset=utf-8"
                    },
                    body,
                }
            })
            .collect();
        Self { files }
    }

    /// The path of the stylesheet.
    pub fn css(&self) -> String {
        self.path("css")
    }

    /// The path of the script.
    pub fn js(&self) -> String {
        self.path("js")
    }

    fn path(&self, ext: &str) -> String {
        self.files
            .iter()
            .find(|a| a.name.ends_with(ext))
            .map(|a| format!("/assets/{}", a.name))
            .unwrap_or_default()
    }
}

pub async fn serve(state: web::Data<WebState>, name: web::Path<String>) -> HttpResponse {
    match state.assets.files.iter().find(|a| a.name == *name) {
        Some(a) => HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, a.content_type))
            .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
            .body(a.body),
        None => HttpResponse::NotFound()
            .insert_header((header::CONTENT_TYPE, "text/plain; charset=utf-8"))
            .body("Nicht gefunden"),
    }
}
