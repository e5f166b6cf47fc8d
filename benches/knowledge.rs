//! Knowledge benchmark (issue 3): generated descriptions over many tenants, import time,
//! in-process and HTTP search latency, server memory, and PostgreSQL full-text search as the
//! baseline for the same queries.
//!
//! ```sh
//! cargo bench --bench knowledge -- --descriptions 100000 --tenants 500 \
//!     [--pg postgres://user@127.0.0.1:5432/postgres]
//! ```
//! Prints a Markdown table. Only loopback traffic; every loop is bounded.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used)]

mod support;
use std::collections::BTreeSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::rng::Rng;
use support::wrk;

use sea_orm::{ActiveModelTrait, ConnectionTrait, Database, Set, Statement};
use uuid::Uuid;
use verbund_knowledge::search::{SearchIndex, SearchRequest, TenantFilter};

const WORDS: &[&str] = &[
    "Antrag",
    "Bescheid",
    "Unterlagen",
    "Frist",
    "Gebühr",
    "Verwaltung",
    "Bürgerinnen",
    "Bürger",
    "persönlich",
    "schriftlich",
    "online",
    "Nachweis",
    "Bescheinigung",
    "Termin",
    "Behörde",
    "zuständig",
    "Wohnort",
    "Einkommen",
    "Familie",
    "Kinder",
    "Fahrzeug",
    "Genehmigung",
    "Grundstück",
    "Steuer",
    "Zuschuss",
    "Beratung",
    "Vorsprache",
    "Formular",
    "Vollmacht",
    "Ausweis",
    "Urkunde",
    "Eintragung",
    "Änderung",
    "Abholung",
    "Zustellung",
    "Bearbeitung",
    "Wochen",
    "Monate",
    "Prüfung",
    "Entscheidung",
    "Widerspruch",
    "Auskunft",
];

const QUERIES: &[&str] = &[
    "Perso",
    "Personalausweiss",
    "Ummeldung",
    "Auto zulassen",
    "Führerschein umtauschen",
    "Elterngeld",
    "Hundesteuer",
    "Sperrmüll",
    "Gewerbe anmelden",
    "Geburtsurkunde",
    "heiraten",
    "Bauantrag",
    "Wohngeld",
    "Führungszeugnis",
    "Fundbüro",
    "Briefwahl",
    "Kita Platz",
    "Einbürgerung",
    "Meldebescheinigung",
    "Reisepass",
];

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

/// One NDJSON file per tenant: demo-like descriptions with German filler text.
fn generate(tenant: usize, per_tenant: usize, rng: &mut Rng) -> String {
    let templates = verbund_knowledge::demo::SERVICES;
    let mut out = String::new();
    for i in 0..per_tenant {
        let t = &templates[i % templates.len()];
        let mut text = String::from(t.kurztext);
        for _ in 0..40 {
            text.push(' ');
            text.push_str(rng.pick::<&str>(WORDS));
        }
        let line = serde_json::json!({
            "leika": format!("99{:012}", tenant * 100_000 + i),
            "title": if i < templates.len() { t.title.to_owned() } else { format!("{} ({})", t.title, rng.pick(WORDS)) },
            "synonyms": t.synonyms,
            "modules": {"kurztext": text, "unterlagen": t.unterlagen, "fristen": t.fristen},
            "status": "published",
        });
        out.push_str(&line.to_string());
        out.push('\n');
    }
    out
}

/// One database: migrate, seed the demo tenants, import the municipal export into Koblenz,
/// then import it again unchanged. Returns the table rows.
async fn import_run(
    backend: &str,
    url: &str,
    dir: &std::path::Path,
    file: &str,
) -> anyhow::Result<Vec<(String, String)>> {
    let settings = verbund_server::Settings {
        data_dir: dir.to_path_buf(),
        database_url: Some(url.to_owned()),
        ..verbund_server::Settings::default()
    };
    let db = verbund_server::db::connect(&settings).await?;
    verbund_server::db::migrate(&db).await?;
    verbund_tenant::demo::seed(&db).await?;
    let mut rows = Vec::new();
    for (round, what) in [(0, "first import"), (1, "unchanged rerun")] {
        let started = Instant::now();
        let parsed = verbund_knowledge::import::ndjson::parse(file);
        let report = verbund_knowledge::store::import_unchecked(
            &db,
            "stadt-koblenz",
            parsed,
            &mut |_, _| {},
        )
        .await?;
        let took = started.elapsed();
        let expected = if round == 0 {
            report.services.created
        } else {
            report.services.unchanged
        };
        assert_eq!(expected, 2_000, "{backend} {what}: {report:?}");
        assert!(report.errors.is_empty(), "{:?}", report.errors);
        rows.push((
            format!("{what} of 2,000 descriptions ({backend})"),
            format!("{:.2} s", took.as_secs_f64()),
        ));
    }
    db.conn().clone().close().await?;
    Ok(rows)
}

/// `cargo bench --bench knowledge -- import2000 [--pg URL]`: the real-size import of issue
/// 13 (2,000 descriptions of a municipal export, see `support::municipal`) on SQLite and,
/// with `--pg` or `VERBUND_TEST_PG_URL` (a server URL without database), PostgreSQL.
async fn import2000() -> anyhow::Result<()> {
    let (file, stats) = support::municipal::municipal_export(2_000, 0x5eed_2026);
    println!(
        "file: {} KiB, {} descriptions, {} without key, {} with several keys, {} shared keys, {} key rows\n",
        file.len() / 1024,
        stats.descriptions,
        stats.without_key,
        stats.several_keys,
        stats.shared_keys,
        stats.key_rows
    );
    let tmp = tempfile::tempdir()?;
    let url = format!(
        "sqlite://{}?mode=rwc",
        tmp.path().join("verbund.db").display()
    );
    let mut rows = import_run("SQLite", &url, tmp.path(), &file).await?;
    if let Some(admin) = arg("--pg").or_else(|| std::env::var("VERBUND_TEST_PG_URL").ok()) {
        let with_db = |db: &str| match admin.split_once('?') {
            Some((base, q)) => format!("{}/{db}?{q}", base.trim_end_matches('/')),
            None => format!("{}/{db}", admin.trim_end_matches('/')),
        };
        let name = format!("verbund_bench_{}", Uuid::new_v4().simple());
        let server = Database::connect(with_db("postgres")).await?;
        server
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await?;
        let result = import_run("PostgreSQL", &with_db(&name), tmp.path(), &file).await;
        server
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name}"))
            .await?;
        rows.extend(result?);
    }
    println!("| measurement | result |\n|---|---|");
    for (what, value) in rows {
        println!("| {what} | {value} |");
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    if std::env::args().any(|a| a == "import2000") {
        return import2000().await;
    }
    let total: usize = arg("--descriptions").map_or(100_000, |v| v.parse().unwrap());
    let tenants: usize = arg("--tenants").map_or(500, |v| v.parse().unwrap());
    let per_tenant = total / tenants;
    // `--reuse DIR` keeps the database in DIR and skips the import when it is there already
    // (for working on the search; the recorded numbers come from full runs).
    let reuse = arg("--reuse").map(std::path::PathBuf::from);
    let tmp = tempfile::tempdir()?;
    let dir_path = reuse.clone().unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&dir_path)?;
    let reused = reuse.is_some() && dir_path.join("verbund.db").exists();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir_path.join("verbund.db").display()
    );
    let settings = verbund_server::Settings {
        data_dir: dir_path.clone(),
        database_url: Some(url.clone()),
        ..verbund_server::Settings::default()
    };
    let db = verbund_server::db::connect(&settings).await?;
    let now = chrono::Utc::now();
    let mut slugs = Vec::new();
    if !reused {
        verbund_server::db::migrate(&db).await?;
        verbund_tenant::demo::seed(&db).await?;
    }
    for i in 0..tenants {
        let slug = format!("bench-{i:03}");
        if reused {
            slugs.push(slug);
            continue;
        }
        verbund_schema::tenant::ActiveModel {
            id: Set(verbund_schema::ids::TenantId::now_v7()),
            slug: Set(slug.clone()),
            name: Set(format!("Gemeinde {i}")),
            ags: Set(format!("07{i:06}")),
            state: Set("RP".into()),
            time_zone: Set("Europe/Berlin".into()),
            ticket_prefix: Set(format!(
                "{}{}{}",
                (b'A' + (i / 676) as u8) as char,
                (b'A' + (i / 26 % 26) as u8) as char,
                (b'A' + (i % 26) as u8) as char
            )),
            settings: Set(serde_json::json!({})),
            active: Set(true),
            created_at: Set(now),
            updated_at: Set(now),
        }
        .insert(&db)
        .await?;
        slugs.push(slug);
    }
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let files: Vec<String> = (0..tenants)
        .map(|t| generate(t, per_tenant, &mut rng))
        .collect();
    let mut rows = vec![];

    // Import, one file per tenant, every item in its own transaction.
    let started = Instant::now();
    let mut imported = 0;
    for (slug, file) in slugs.iter().zip(&files).filter(|_| !reused) {
        let parsed = verbund_knowledge::import::ndjson::parse(file);
        let report =
            verbund_knowledge::store::import_unchecked(&db, slug, parsed, &mut |_, _| {}).await?;
        imported += report.services.created;
    }
    let import_time = started.elapsed();
    rows.push((
        format!("import of {imported} descriptions over {tenants} tenants (SQLite)"),
        format!(
            "{:.1} s ({:.0} /s)",
            import_time.as_secs_f64(),
            imported as f64 / import_time.as_secs_f64()
        ),
    ));

    // In-process: build the index from the database, then search.
    let base_rss = rss_kib(std::process::id());
    let started = Instant::now();
    let (index, _follower) = SearchIndex::start(
        db.clone(),
        verbund_knowledge::search::DEFAULT_POLL_INTERVAL,
        tokio_util::sync::CancellationToken::new(),
    )
    .await?;
    rows.push((
        "index build from the database".into(),
        format!(
            "{:.1} s, {} documents, {} segment(s)",
            started.elapsed().as_secs_f64(),
            index.engine().num_docs(),
            index.engine().num_segments()
        ),
    ));
    rows.push((
        "index memory (RSS growth)".into(),
        format!(
            "{} MiB",
            rss_kib(std::process::id()).saturating_sub(base_rss) / 1024
        ),
    ));
    let own: BTreeSet<Uuid> = BTreeSet::new();
    let mut lat = Vec::new();
    let rounds: usize = arg("--rounds").map_or(50, |v| v.parse().unwrap());
    for round in 0..rounds {
        for q in QUERIES {
            let req = SearchRequest {
                text: (*q).to_owned(),
                primary: TenantFilter::AllExcept(own.clone()),
                secondary: None,
                drafts_of: BTreeSet::new(),
                leika: None,
                limit: 10,
            };
            let t = Instant::now();
            let hits = index.engine().search(&req)?;
            lat.push(t.elapsed());
            assert!(round > 0 || !hits.is_empty(), "no hit for {q}");
        }
    }
    lat.sort();
    rows.push((
        "in-process search (all tenants, top 10 with snippets)".into(),
        format!("p50 {}, p99 {}", ms(pct(&lat, 0.5)), ms(pct(&lat, 0.99))),
    ));
    let tantivy_p50 = pct(&lat, 0.5);
    drop(index);

    // HTTP: the release server as its own process.
    let skip_http = std::env::args().any(|a| a == "--skip-http");
    if !skip_http {
        // Cargo builds the binary of the same profile for every benchmark.
        let server_bin = env!("CARGO_BIN_EXE_verbund");
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let mut child = Command::new(server_bin)
            .arg("serve")
            .env("VERBUND_BIND", format!("127.0.0.1:{port}"))
            .env("VERBUND_DATA_DIR", &dir_path)
            .env("VERBUND_DATABASE_URL", &url)
            .env(
                "VERBUND_JWT_SECRET",
                "bench-secret-0123456789-abcdefghijklmnopqrstuvwxyz",
            )
            .env("VERBUND_LOG_FORMAT", "json")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()?;
        let client = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let ready = Instant::now();
        while !client
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            assert!(
                ready.elapsed() < Duration::from_secs(300),
                "server did not start"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let login: serde_json::Value = client
        .post(format!("{base}/api/v1/auth/login"))
        .json(
            &serde_json::json!({"email": "agent@sc-koblenz.demo", "password": "verbund-demo-2026"}),
        )
        .send()
        .await?
        .json()
        .await?;
        let token = login["access_token"].as_str().unwrap().to_owned();
        let per_conn = 300;
        let started = Instant::now();
        let mut tasks = Vec::new();
        for c in 0..32 {
            let client = client.clone();
            let base = base.clone();
            let token = token.clone();
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::with_capacity(per_conn);
                for i in 0..per_conn {
                    let q = QUERIES[(c + i) % QUERIES.len()];
                    let t = Instant::now();
                    let resp = client
                        .get(format!("{base}/api/v1/search"))
                        .query(&[("q", q), ("tenant", "all")])
                        .bearer_auth(&token)
                        .send()
                        .await
                        .unwrap();
                    assert!(resp.status().is_success());
                    let _ = resp.bytes().await.unwrap();
                    lat.push(t.elapsed());
                }
                lat
            }));
        }
        let mut http = Vec::new();
        for t in tasks {
            http.extend(t.await?);
        }
        let elapsed = started.elapsed();
        http.sort();
        rows.push((
            "HTTP search, 32 connections, tenant=all".into(),
            format!(
                "p50 {}, p99 {}, {:.0} req/s",
                ms(pct(&http, 0.5)),
                ms(pct(&http, 0.99)),
                http.len() as f64 / elapsed.as_secs_f64()
            ),
        ));
        // The same queries with wrk, the load generator of the other benchmarks (C, outside
        // this process, so the client takes less of the two cores).
        let encode = |q: &str| -> String {
            q.bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect()
        };
        let paths: Vec<String> = QUERIES
            .iter()
            .map(|q| format!("\"/api/v1/search?tenant=all&q={}\"", encode(q)))
            .collect();
        let script = dir_path.join("search.lua");
        std::fs::write(
            &script,
            format!(
                "local paths = {{{}}}\nlocal i = 0\nrequest = function()\n  i = i + 1\n  \
                 return wrk.format(\"GET\", paths[(i % #paths) + 1])\nend\n",
                paths.join(", ")
            ),
        )?;
        let auth = format!("authorization: Bearer {token}");
        // One load-generating thread is plenty for 32 connections and leaves more of the two
        // shared cores to the server; the two-thread run is kept for comparison.
        let run = |threads: &str, secs: &str| {
            let (threads, secs) = (format!("-t{threads}"), format!("-d{secs}"));
            let script = script.display().to_string();
            wrk::wrk(&[
                &threads,
                "-c32",
                &secs,
                "--latency",
                "-H",
                &auth,
                "-s",
                &script,
                &base,
            ])
        };
        let _warm = run("1", "3s");
        for threads in ["1", "2"] {
            let report = run(threads, "10s");
            rows.push((
                format!(
                    "HTTP search with wrk ({threads} thread(s)), 32 connections, tenant=all, 10 s"
                ),
                format!(
                    "p50 {}, p99 {}, {} req/s (non-2xx: {})",
                    wrk::field(&report, "50%").unwrap_or("?"),
                    wrk::p99(&report),
                    wrk::field(&report, "Requests/sec:").unwrap_or("?"),
                    wrk::field(&report, "Non-2xx").unwrap_or("0"),
                ),
            ));
        }
        rows.push((
            "server resident memory after the run".into(),
            format!("{} MiB", rss_kib(child.id()) / 1024),
        ));
        child.kill()?;
        let _ = child.wait();
    }

    // PostgreSQL full-text search, `german` configuration with a GIN index, same texts.
    if let Some(pg) = arg("--pg") {
        let pg = Database::connect(&pg).await?;
        let b = pg.get_database_backend();
        pg.execute_unprepared("DROP TABLE IF EXISTS bench_fts")
            .await?;
        pg.execute_unprepared(
            "CREATE TABLE bench_fts (id serial PRIMARY KEY, tenant int NOT NULL, title text NOT NULL, \
             body text NOT NULL, tsv tsvector GENERATED ALWAYS AS \
             (setweight(to_tsvector('german', title), 'A') || to_tsvector('german', body)) STORED)",
        )
        .await?;
        let started = Instant::now();
        for (t, file) in files.iter().enumerate() {
            let mut values = Vec::new();
            let mut params: Vec<sea_orm::Value> = Vec::new();
            for line in file.lines() {
                let v: serde_json::Value = serde_json::from_str(line)?;
                let n = params.len();
                values.push(format!("(${}, ${}, ${})", n + 1, n + 2, n + 3));
                params.push((t as i32).into());
                params.push(v["title"].as_str().unwrap_or_default().to_owned().into());
                params.push(
                    format!(
                        "{} {}",
                        v["synonyms"],
                        v["modules"]["kurztext"].as_str().unwrap_or_default()
                    )
                    .into(),
                );
            }
            pg.execute_raw(Statement::from_sql_and_values(
                b,
                format!(
                    "INSERT INTO bench_fts (tenant, title, body) VALUES {}",
                    values.join(",")
                ),
                params,
            ))
            .await?;
        }
        pg.execute_unprepared("CREATE INDEX bench_fts_gin ON bench_fts USING gin (tsv)")
            .await?;
        pg.execute_unprepared("ANALYZE bench_fts").await?;
        rows.push((
            "PostgreSQL load + GIN index".into(),
            format!("{:.1} s", started.elapsed().as_secs_f64()),
        ));
        let mut lat = Vec::new();
        for _ in 0..5 {
            for q in QUERIES {
                let t = Instant::now();
                pg.query_all_raw(Statement::from_sql_and_values(
                    b,
                    "SELECT id, ts_headline('german', body, plainto_tsquery('german', $1)) FROM \
                     (SELECT id, body FROM bench_fts WHERE tsv @@ plainto_tsquery('german', $1) \
                      ORDER BY ts_rank(tsv, plainto_tsquery('german', $1)) DESC LIMIT 10) top",
                    [(*q).into()],
                ))
                .await?;
                lat.push(t.elapsed());
            }
        }
        lat.sort();
        rows.push((
            "PostgreSQL FTS (german, GIN), top 10 with headline".into(),
            format!("p50 {}, p99 {}", ms(pct(&lat, 0.5)), ms(pct(&lat, 0.99))),
        ));
        rows.push((
            "in-process tantivy vs PostgreSQL, p50".into(),
            format!(
                "{:.0}× faster",
                pct(&lat, 0.5).as_secs_f64() / tantivy_p50.as_secs_f64().max(1e-9)
            ),
        ));
        pg.execute_unprepared("DROP TABLE bench_fts").await?;
    }

    println!("| measure | value |\n|---|---|");
    for (k, v) in rows {
        println!("| {k} | {v} |");
    }
    Ok(())
}
