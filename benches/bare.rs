//! A bare actix-web handler for the benchmark: the same JSON shape as `GET /api/v1/me`, with no
//! authentication and no database. BENCHMARKS.md compares the two in one run
//! (`scripts/bench-me`). It serves only when `BARE_BIND` names the address, so that a plain
//! `cargo bench` does not wait on it forever.

use actix_web::{App, HttpResponse, HttpServer, web};

async fn me() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({
        "id": "01930000-0000-7000-8000-000000000000",
        "email": "agent@sc-trier.demo",
        "display_name": "Agent Servicecenter 115 Trier",
        "tenant": null,
        "roles": [{"role": "agent", "center": "sc-trier"}],
        "tenants": [
            {"id": "01930000-0000-7000-8000-000000000001", "slug": "kreis-trier-saarburg", "name": "Landkreis Trier-Saarburg", "roles": ["agent"]},
            {"id": "01930000-0000-7000-8000-000000000002", "slug": "stadt-trier", "name": "Stadt Trier", "roles": ["agent"]}
        ]
    }))
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let Ok(bind) = std::env::var("BARE_BIND") else {
        return Ok(());
    };
    HttpServer::new(|| App::new().route("/api/v1/me", web::get().to(me)))
        .bind(bind)?
        .run()
        .await
}
