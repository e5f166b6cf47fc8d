//! `verbund`: CLI, configuration and wiring. Everything else lives in the crates.

use std::io::BufRead;
use std::net::ToSocketAddrs;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use verbund_server::{Application, Settings, db, telemetry};
use verbund_tenant::Role;
use verbund_tenant::users::RoleSpec;

#[derive(Parser)]
#[command(
    name = "verbund",
    version,
    about = "Multi-tenant platform for 115 citizen service centers"
)]
struct Cli {
    /// A TOML configuration file; `VERBUND_*` variables override it.
    #[arg(long, env = "VERBUND_CONFIG", global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (migrations run first).
    Serve {
        /// Seed demo tenants, centers and users into an empty database (loopback only).
        #[arg(long)]
        demo: bool,
    },
    /// Run the database migrations and exit.
    Migrate,
    /// Import service descriptions (NDJSON or XZuFi 2.2 XML) into a tenant. Idempotent per
    /// LeiKa key; prints one line per rejected item.
    Import {
        /// The tenant's slug.
        #[arg(long)]
        tenant: String,
        /// `ndjson` or `xzufi`; default: from the file name (.ndjson/.jsonl/.json or .xml).
        #[arg(long)]
        format: Option<String>,
        file: PathBuf,
    },
    /// Manage user accounts from the server's own machine.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user, e.g. the first operator of a new installation. The password is read from
    /// `VERBUND_NEW_PASSWORD` or from the first line of standard input.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// operator, tenant_admin, editor, agent or responder.
        #[arg(long, default_value = "operator")]
        role: String,
        /// The tenant the role applies to (and that owns the account).
        #[arg(long)]
        tenant: Option<String>,
        /// The service center an agent role applies to.
        #[arg(long)]
        center: Option<String>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load(cli.config.as_deref())?;
    telemetry::init(settings.log_format);
    match cli.command {
        Command::Serve { demo } => serve(settings, demo).await,
        Command::Import {
            tenant,
            format,
            file,
        } => import(settings, tenant, format, file).await,
        Command::Migrate => {
            let conn = db::connect(&settings).await?;
            db::migrate(&conn).await?;
            tracing::info!("migrations applied");
            Ok(())
        }
        Command::User {
            command:
                UserCommand::Add {
                    email,
                    name,
                    role,
                    tenant,
                    center,
                },
        } => add_user(settings, email, name, role, tenant, center).await,
    }
}

fn is_loopback(bind: &str) -> anyhow::Result<bool> {
    let addrs: Vec<_> = bind
        .to_socket_addrs()
        .with_context(|| format!("resolving {bind}"))?
        .collect();
    Ok(!addrs.is_empty() && addrs.iter().all(|a| a.ip().is_loopback()))
}

async fn serve(settings: Settings, demo: bool) -> anyhow::Result<()> {
    if demo && !is_loopback(&settings.bind)? {
        bail!(
            "--demo seeds well-known passwords and only runs on a loopback address, not {}",
            settings.bind
        );
    }
    let app = Application::build(settings.clone()).await?;
    if demo {
        if verbund_tenant::demo::seed(app.db()).await? {
            tracing::info!(
                "demo data seeded; every demo user has the password {}",
                verbund_tenant::demo::DEMO_PASSWORD
            );
        } else {
            tracing::info!("database is not empty; demo data left as it is");
        }
        if verbund_knowledge::demo::seed(app.db()).await? {
            tracing::info!("demo knowledge seeded: descriptions, offices and base texts");
        }
    }
    tracing::info!(bind = %settings.bind, port = app.port(), "verbund is listening");
    app.run_until_stopped().await?;
    tracing::info!("verbund stopped");
    Ok(())
}

async fn add_user(
    settings: Settings,
    email: String,
    name: String,
    role: String,
    tenant: Option<String>,
    center: Option<String>,
) -> anyhow::Result<()> {
    let role = Role::parse(&role).with_context(|| format!("unknown role {role}"))?;
    let password = match std::env::var("VERBUND_NEW_PASSWORD") {
        Ok(p) => p,
        Err(_) => {
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    let password = verbund_tenant::domain::NewPassword::parse(&password)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let conn = db::connect(&settings).await?;
    db::migrate(&conn).await?;
    let hash = verbund_tenant::password::hash(&conn, password.secret().clone())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let spec = RoleSpec {
        role,
        tenant: tenant.clone(),
        center,
    };
    let user = verbund_tenant::users::create_user_unchecked(
        &conn,
        &email,
        &name,
        hash,
        tenant.as_deref(),
        &[spec],
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    tracing::info!(user = %user.id, email = %user.email, "user created");
    Ok(())
}

async fn import(
    settings: Settings,
    tenant: String,
    format: Option<String>,
    file: PathBuf,
) -> anyhow::Result<()> {
    use verbund_knowledge::ImportFormat;
    let format = match format.as_deref() {
        Some("ndjson") => ImportFormat::Ndjson,
        Some("xzufi") | Some("xml") => ImportFormat::Xzufi,
        Some(other) => bail!("unknown format {other} (ndjson or xzufi)"),
        None => ImportFormat::from_file_name(&file.to_string_lossy()).with_context(|| {
            format!(
                "cannot tell the format of {}; pass --format ndjson or --format xzufi",
                file.display()
            )
        })?,
    };
    let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
    let text = String::from_utf8(bytes).context("the file is not UTF-8")?;
    let parsed = verbund_knowledge::import::parse(format, &text);
    let conn = db::connect(&settings).await?;
    db::migrate(&conn).await?;
    let total = (parsed.items.len() + parsed.org_units.len()) as u64;
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} Einträge ({per_sec}, noch {eta})",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let progress_bar = bar.clone();
    let report =
        verbund_knowledge::store::import_unchecked(&conn, &tenant, parsed, &mut move |done, _| {
            progress_bar.set_position(done as u64)
        })
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    bar.finish_and_clear();
    for e in &report.errors {
        eprintln!("{}: {}", e.location, e.reason);
    }
    for w in &report.warnings {
        eprintln!("{}: Hinweis: {}", w.location, w.reason);
    }
    let s = &report.services;
    eprintln!(
        "Leistungen: {} neu, {} geändert, {} unverändert, {} abgelehnt; \
         Organisationseinheiten: {} neu, {} geändert, {} unverändert, {} abgelehnt",
        s.created,
        s.updated,
        s.unchanged,
        s.failed,
        report.org_units.created,
        report.org_units.updated,
        report.org_units.unchanged,
        report.org_units.failed
    );
    if s.failed + report.org_units.failed > 0 {
        std::process::exit(2);
    }
    Ok(())
}
