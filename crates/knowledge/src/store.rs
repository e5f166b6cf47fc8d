//! Storing imports and writing exports.
//!
//! An import is idempotent per tenant and LeiKa key: a description that exists is updated
//! (with a new version) only when its content changed. Items are written in batches, one
//! transaction per batch and a savepoint per item: a bad item is rolled back to its savepoint,
//! so it leaves nothing behind and never costs the good ones, and a batch whose commit fails
//! reports each of its items as failed. Org units (XZuFi) are matched by their external id,
//! else by name.

use std::collections::HashMap;
use verbund_tenant::db::Db;

use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
use serde::Serialize;
use serde_json::{Value, json};
use tracing::instrument;
use utoipa::ToSchema;
use uuid::Uuid;
use verbund_schema::tenant;
use verbund_tenant::access::{Job, SystemScope};
use verbund_tenant::db::{begin_write, now};
use verbund_tenant::directory::find_tenant;
use verbund_tenant::{Actor, Error, Permission, Result};

use crate::changes;
use crate::import::{self, ImportFormat, ImportItem, OrgUnitImport, ParsedImport};
use crate::model::{Modules, ServiceContent};
use crate::org_units::{NewOrgUnit, insert_org_unit};
use crate::repo::Writer;
use crate::services::{Insert, SaveInfo, content_of, insert_service, save, to_json};
use crate::status::ServiceStatus;
use verbund_schema::{org_unit, service};

/// Largest import accepted over HTTP.
pub const MAX_IMPORT_BYTES: usize = 20 * 1024 * 1024;

#[derive(Clone, Debug, Default, Serialize, ToSchema)]
pub struct ImportCounts {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub failed: usize,
}

/// One rejected item.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ImportProblem {
    /// `line 7`, `leistung 3`, `organisationseinheit 2`.
    pub location: String,
    pub reason: String,
}

#[derive(Clone, Debug, Default, Serialize, ToSchema)]
pub struct ImportReport {
    pub services: ImportCounts,
    pub org_units: ImportCounts,
    /// One entry per rejected item, in input order.
    pub errors: Vec<ImportProblem>,
}

fn reason_of(err: &Error) -> String {
    match err {
        Error::Invalid { field, reason } => format!("{field} {reason}"),
        Error::Conflict(_, what) => what.clone(),
        Error::Db(e) => {
            tracing::warn!(error = %e, "import item could not be stored");
            "could not be stored".to_owned()
        }
        other => other.to_string(),
    }
}

/// Imports a file for a tenant (scope: `EditKnowledge`).
#[instrument(skip_all, fields(tenant = slug, bytes = body.len()))]
pub async fn import_for(
    db: &Db,
    actor: &Actor,
    slug: &str,
    format: ImportFormat,
    body: &[u8],
) -> Result<ImportReport> {
    let t = find_tenant(db, slug).await?;
    let scope = actor.authorize(Permission::EditKnowledge, t.id)?;
    let text = std::str::from_utf8(body)
        .map_err(|e| Error::invalid("body", format!("is not UTF-8 ({e})")))?;
    let parsed = import::parse(format, text);
    store(db, &t, Writer::user(&scope), parsed, &mut |_, _| {}).await
}

/// Imports without an actor, for `verbund import` on the server's own machine. `progress`
/// is called with (items done, items total).
pub async fn import_unchecked(
    db: &Db,
    slug: &str,
    parsed: ParsedImport,
    progress: &mut (dyn FnMut(usize, usize) + Send),
) -> Result<ImportReport> {
    let t = find_tenant(db, slug).await?;
    #[expect(
        clippy::disallowed_methods,
        reason = "`verbund import` on the server's own machine: the import job's entry point"
    )]
    let import = SystemScope::job(Job::Import);
    store(db, &t, Writer::system(&import, t.id), parsed, progress).await
}

async fn store(
    db: &Db,
    t: &tenant::Model,
    writer: Writer,
    parsed: ParsedImport,
    progress: &mut (dyn FnMut(usize, usize) + Send),
) -> Result<ImportReport> {
    let mut report = ImportReport::default();
    let total = parsed.items.len() + parsed.org_units.len();
    let mut done = 0;
    for (i, unit) in parsed.org_units.into_iter().enumerate() {
        match store_org_unit(db, t, &writer, unit).await {
            Ok(Outcome::Created) => report.org_units.created += 1,
            Ok(Outcome::Updated) => report.org_units.updated += 1,
            Ok(Outcome::Unchanged) => report.org_units.unchanged += 1,
            Err(e) => {
                report.org_units.failed += 1;
                report.errors.push(ImportProblem {
                    location: format!("organisationseinheit {}", i + 1),
                    reason: reason_of(&e),
                });
            }
        }
        done += 1;
        progress(done, total);
    }
    let refs: HashMap<String, Uuid> = crate::repo::org_units_for_edit(db, &writer)
        .await?
        .into_iter()
        .filter_map(|o| o.external_id.map(|ext| (ext, o.id)))
        .collect();
    let mut items = parsed.items.into_iter().peekable();
    while items.peek().is_some() {
        let batch: Vec<(String, ImportItem)> = items.by_ref().take(BATCH_ITEMS).collect();
        let count = batch.len();
        let stored = store_batch(db, t, &writer, &refs, batch).await;
        for (location, outcome) in stored {
            match outcome {
                Ok(Outcome::Created) => report.services.created += 1,
                Ok(Outcome::Updated) => report.services.updated += 1,
                Ok(Outcome::Unchanged) => report.services.unchanged += 1,
                Err(reason) => {
                    report.services.failed += 1;
                    report.errors.push(ImportProblem { location, reason });
                }
            }
        }
        // Each committed batch becomes searchable while the rest is still being written.
        changes::notify(db);
        done += count;
        progress(done, total);
    }
    // Items the parser rejected, in input order with the stored ones' errors.
    report.services.failed += parsed.errors.len();
    report
        .errors
        .extend(parsed.errors.into_iter().map(|e| ImportProblem {
            location: e.location,
            reason: e.reason,
        }));
    report.errors.sort_by_key(|e| location_order(&e.location));
    changes::notify(db);
    Ok(report)
}

/// Sorts `organisationseinheit N` before `leistung N` / `line N`, each by number.
fn location_order(location: &str) -> (u8, u64) {
    let (kind, number) = location.rsplit_once(' ').unwrap_or((location, ""));
    let rank = u8::from(kind != "organisationseinheit");
    (rank, number.parse().unwrap_or(u64::MAX))
}

enum Outcome {
    Created,
    Updated,
    Unchanged,
}

async fn store_org_unit(
    db: &Db,
    t: &tenant::Model,
    writer: &Writer,
    unit: OrgUnitImport,
) -> Result<Outcome> {
    let valid = NewOrgUnit {
        name: unit.name,
        external_id: unit.id,
        street: unit.street,
        house_number: unit.house_number,
        postal_code: unit.postal_code,
        city: unit.city,
        phone: unit.phone,
        email: unit.email,
        ..NewOrgUnit::default()
    }
    .validate()?;
    let txn = begin_write(db).await?;
    let found =
        crate::repo::org_unit_by_key(&txn, writer, valid.external_id.as_deref(), &valid.name)
            .await?;
    let outcome = match found {
        None => {
            insert_org_unit(&txn, t.id, valid, false).await?;
            Outcome::Created
        }
        Some(current) => {
            let same = current.name == valid.name
                && current.street == valid.street
                && current.house_number == valid.house_number
                && current.postal_code == valid.postal_code
                && current.city == valid.city
                && current.phone == valid.phone
                && current.email == valid.email;
            if same {
                Outcome::Unchanged
            } else {
                org_unit::ActiveModel {
                    id: Set(current.id),
                    name: Set(valid.name),
                    street: Set(valid.street),
                    house_number: Set(valid.house_number),
                    postal_code: Set(valid.postal_code),
                    city: Set(valid.city),
                    phone: Set(valid.phone),
                    email: Set(valid.email),
                    version: Set(current.version + 1),
                    updated_at: Set(now()),
                    ..Default::default()
                }
                .update(&txn)
                .await?;
                Outcome::Updated
            }
        }
    };
    txn.commit().await?;
    Ok(outcome)
}

/// Items written per transaction. Each holds the SQLite writer for a few tens of
/// milliseconds, so other writers of the process wait at most that long.
const BATCH_ITEMS: usize = 100;

/// Writes a batch of items in one transaction, each behind its own savepoint. Returns each
/// item's outcome, or the reason it failed; if the batch cannot be committed, every item of
/// it is reported as failed (and nothing of it is written).
async fn store_batch(
    db: &Db,
    t: &tenant::Model,
    writer: &Writer,
    refs: &HashMap<String, Uuid>,
    batch: Vec<(String, ImportItem)>,
) -> Vec<(String, std::result::Result<Outcome, String>)> {
    let locations: Vec<String> = batch.iter().map(|(l, _)| l.clone()).collect();
    let fail_all = |e: Error| {
        let reason = reason_of(&e);
        locations
            .iter()
            .map(|l| (l.clone(), Err(reason.clone())))
            .collect::<Vec<_>>()
    };
    let txn = match begin_write(db).await {
        Ok(txn) => txn,
        Err(e) => return fail_all(e.into()),
    };
    // The descriptions the batch may update, in one query.
    let leika = batch.iter().map(|(_, i)| i.content.leika.as_str());
    let existing = crate::repo::services_by_leika(&txn, writer, leika).await;
    let mut existing: HashMap<String, service::Model> = match existing {
        Ok(rows) => rows.into_iter().map(|s| (s.leika.clone(), s)).collect(),
        Err(e) => return fail_all(e),
    };
    let mut out = Vec::with_capacity(batch.len());
    for (location, item) in batch {
        let current = existing.remove(item.content.leika.as_str());
        if let Err(e) = txn.execute_unprepared("SAVEPOINT import_item").await {
            let _ = txn.rollback().await;
            return fail_all(e.into());
        }
        let outcome = store_item(&txn, t, writer, refs, current, item).await;
        let mut end = Vec::with_capacity(2);
        if outcome.is_err() {
            end.push("ROLLBACK TO SAVEPOINT import_item");
        }
        end.push("RELEASE SAVEPOINT import_item");
        for statement in end {
            if let Err(e) = txn.execute_unprepared(statement).await {
                // The transaction is in an unknown state: give the whole batch up.
                let _ = txn.rollback().await;
                return fail_all(e.into());
            }
        }
        out.push((location, outcome.map_err(|e| reason_of(&e))));
    }
    match txn.commit().await {
        Ok(()) => out,
        Err(e) => fail_all(e.into()),
    }
}

async fn store_item(
    txn: &impl ConnectionTrait,
    t: &tenant::Model,
    writer: &Writer,
    refs: &HashMap<String, Uuid>,
    existing: Option<service::Model>,
    item: ImportItem,
) -> Result<Outcome> {
    let org_unit_id = match &item.org_unit_ref {
        Some(r) => Some(*refs.get(r).ok_or_else(|| {
            Error::invalid(
                "org_unit",
                format!("names an unknown org unit \"{}\"", crate::shorten(r, 60)),
            )
        })?),
        None => None,
    };
    let status = ServiceStatus::from(item.status);
    let info = SaveInfo {
        author: writer.author(),
        kind: "imported",
    };
    let outcome = match existing {
        None => {
            insert_service(
                txn,
                Insert {
                    tenant_id: t.id,
                    content: item.content,
                    status,
                    org_unit_id,
                    contact_org_unit_id: None,
                    base: None,
                    demo: false,
                },
                info,
            )
            .await?;
            Outcome::Created
        }
        Some(current) => {
            let same_content = content_of(&current).as_ref() == Some(&item.content);
            let new_org = org_unit_id.or(current.org_unit_id);
            // "draft" (the default) never unpublishes; "published" publishes.
            let new_status = if status == ServiceStatus::Published {
                ServiceStatus::Published
            } else {
                current.status
            };
            if same_content && new_org == current.org_unit_id && new_status == current.status {
                Outcome::Unchanged
            } else {
                let mut changes = <service::ActiveModel as ActiveModelTrait>::default();
                changes.title = Set(item.content.title.clone());
                changes.synonyms = Set(to_json(&item.content.synonyms)?);
                changes.modules = Set(to_json(&item.content.modules)?);
                changes.org_unit_id = Set(new_org);
                if new_status != current.status {
                    changes.status = Set(new_status);
                    if new_status == ServiceStatus::Published {
                        changes.published_at = Set(Some(now()));
                    }
                }
                save(txn, writer, &current, current.version, changes, info).await?;
                Outcome::Updated
            }
        }
    };
    Ok(outcome)
}

/// One description as an NDJSON line that [`crate::import::ndjson`] reads back.
pub fn ndjson_line(
    content: &ServiceContent,
    status: ServiceStatus,
    org_unit: Option<&str>,
) -> Value {
    let mut line = json!({
        "leika": content.leika.as_str(),
        "title": content.title,
        "synonyms": content.synonyms,
        "modules": modules_json(&content.modules),
        "status": if status == ServiceStatus::Published { "published" } else { "draft" },
    });
    if let Some(r) = org_unit {
        line["org_unit"] = r.into();
    }
    line
}

fn modules_json(m: &Modules) -> Value {
    let mut out = serde_json::Map::new();
    let mut text = |key: &str, v: &Option<String>| {
        if let Some(v) = v {
            out.insert(key.to_owned(), v.clone().into());
        }
    };
    text("kurztext", &m.kurztext);
    text("volltext", &m.volltext);
    text("voraussetzungen", &m.voraussetzungen);
    text("fristen", &m.fristen);
    text("bearbeitungsdauer", &m.bearbeitungsdauer);
    text("verfahrensablauf", &m.verfahrensablauf);
    text("rechtsgrundlage", &m.rechtsgrundlage);
    text("hinweise", &m.hinweise);
    text("online_dienst", &m.online_dienst);
    text(
        "weiterfuehrende_informationen",
        &m.weiterfuehrende_informationen,
    );
    text("zustaendige_stelle", &m.zustaendige_stelle);
    text("ansprechpunkt", &m.ansprechpunkt);
    if !m.unterlagen.is_empty() {
        out.insert("unterlagen".into(), json!(m.unterlagen));
    }
    if !m.formulare.is_empty() {
        out.insert(
            "formulare".into(),
            Value::Array(
                m.formulare
                    .iter()
                    .map(|l| match &l.title {
                        Some(t) => json!({"title": t, "url": l.url}),
                        None => json!({"url": l.url}),
                    })
                    .collect(),
            ),
        );
    }
    if let Some(k) = &m.kosten {
        let mut costs = serde_json::Map::new();
        if let Some(t) = &k.text {
            costs.insert("text".into(), t.clone().into());
        }
        if !k.amounts.is_empty() {
            costs.insert(
                "amounts".into(),
                Value::Array(
                    k.amounts
                        .iter()
                        .map(|a| {
                            let eur = format!("{}.{:02}", a.eur_cents / 100, a.eur_cents % 100);
                            match &a.label {
                                Some(l) => json!({"label": l, "eur": eur}),
                                None => json!({"eur": eur}),
                            }
                        })
                        .collect(),
                ),
            );
        }
        out.insert("kosten".into(), Value::Object(costs));
    }
    Value::Object(out)
}

/// The tenant's drafts and published descriptions as NDJSON, in the import format (scope:
/// `ReadKnowledge` on the tenant; drafts only for those who see them, see
/// [`crate::access`]).
#[instrument(skip_all, fields(tenant = slug))]
pub async fn export_ndjson(db: &Db, actor: &Actor, slug: &str) -> Result<String> {
    let t = find_tenant(db, slug).await?;
    let scope = actor.authorize(Permission::ReadKnowledge, t.id)?;
    // Offices are public to every reader; the scope above proves this actor is one.
    let reader = crate::access::reader(actor)?;
    let refs: HashMap<Uuid, String> = crate::repo::org_units(db, &reader, t.id)
        .await?
        .into_iter()
        .filter_map(|o| o.external_id.map(|ext| (o.id, ext)))
        .collect();
    let statuses: &[&str] = if crate::access::sees_drafts_of(actor, t.id) {
        &[
            ServiceStatus::Draft.as_str(),
            ServiceStatus::Published.as_str(),
        ]
    } else {
        &[ServiceStatus::Published.as_str()]
    };
    let rows = crate::repo::services_with_status(db, &scope, statuses).await?;
    let mut out = String::new();
    for s in rows {
        let Some(content) = content_of(&s) else {
            continue;
        };
        let org = s
            .org_unit_id
            .and_then(|id| refs.get(&id))
            .map(String::as_str);
        let line = ndjson_line(&content, s.status, org);
        out.push_str(&line.to_string());
        out.push('\n');
    }
    Ok(out)
}
