//! Demo data for `verbund serve --demo`: the Trier, Koblenz and Mainz setup of the README.

use crate::access::{OperatorScope, Role};
use crate::db::Db;
use crate::directory::{NewCenter, NewTenant};
use crate::error::Result;
use crate::password;
use crate::users::{RoleSpec, create_user_unchecked};

pub const DEMO_PASSWORD: &str = "verbund-demo-2026";

/// (slug, name, AGS, ticket prefix)
pub const DEMO_TENANTS: [(&str, &str, &str, &str); 4] = [
    ("stadt-trier", "Stadt Trier", "07211000", "TR"),
    (
        "kreis-trier-saarburg",
        "Landkreis Trier-Saarburg",
        "07235000",
        "TS",
    ),
    ("stadt-koblenz", "Stadt Koblenz", "07111000", "KO"),
    ("stadt-mainz", "Stadt Mainz", "07315000", "MZ"),
];

/// (slug, name, served tenants)
pub const DEMO_CENTERS: [(&str, &str, &[&str]); 3] = [
    (
        "sc-trier",
        "Servicecenter 115 Trier",
        &["stadt-trier", "kreis-trier-saarburg"],
    ),
    (
        "sc-koblenz",
        "Servicecenter 115 Koblenz",
        &["stadt-koblenz"],
    ),
    ("sc-mainz", "Servicecenter 115 Mainz", &["stadt-mainz"]),
];

/// Seeds the demo tenants, centers and users into an empty database. Returns false (and
/// changes nothing) when the database already holds tenants, centers or users.
pub async fn seed(db: &Db) -> Result<bool> {
    let existing = crate::repo::setup_counts(db).await?;
    if existing > 0 {
        return Ok(false);
    }
    let hash = password::hash(db, DEMO_PASSWORD.to_owned().into()).await?;
    let op = OperatorScope::system();
    for (slug, name, ags, prefix) in DEMO_TENANTS {
        crate::directory::create_tenant(
            db,
            &op,
            NewTenant {
                slug: slug.into(),
                name: name.into(),
                ags: ags.into(),
                state: "RP".into(),
                time_zone: "Europe/Berlin".into(),
                ticket_prefix: prefix.into(),
                mail_addresses: vec![format!("buergerservice@{slug}.demo")],
                // Each demo tenant owns its own mail domain, and no other.
                mail_domains: vec![format!("{slug}.demo")],
                settings: None,
            },
        )
        .await?;
    }
    for (slug, name, tenants) in DEMO_CENTERS {
        crate::directory::create_center(
            db,
            &op,
            NewCenter {
                slug: slug.into(),
                name: name.into(),
                tenants: tenants.iter().map(|t| (*t).to_owned()).collect(),
            },
        )
        .await?;
    }

    let spec = |role, tenant: Option<&str>, center: Option<&str>| RoleSpec {
        role,
        tenant: tenant.map(str::to_owned),
        center: center.map(str::to_owned),
    };
    create_user_unchecked(
        db,
        "operator@verbund.demo",
        "Betrieb Verbund",
        hash.clone(),
        None,
        &[spec(Role::Operator, None, None)],
    )
    .await?;
    for (slug, name, _, _) in DEMO_TENANTS {
        for (local, label, role) in [
            ("admin", "Administration", Role::TenantAdmin),
            ("editor", "Redaktion", Role::Editor),
            ("responder", "E-Mail-Bearbeitung", Role::Responder),
        ] {
            create_user_unchecked(
                db,
                &format!("{local}@{slug}.demo"),
                &format!("{label} {name}"),
                hash.clone(),
                Some(slug),
                &[spec(role, Some(slug), None)],
            )
            .await?;
        }
    }
    for (slug, name, _) in DEMO_CENTERS {
        create_user_unchecked(
            db,
            &format!("agent@{slug}.demo"),
            &format!("Agent {name}"),
            hash.clone(),
            None,
            &[spec(Role::Agent, None, Some(slug))],
        )
        .await?;
    }
    Ok(true)
}
