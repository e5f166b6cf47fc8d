//! Storing imports and writing exports.
//!
//! An import is idempotent per tenant: each item is matched to the description it stands
//! for by its external id (or, as written by the export, the description's own id), else by
//! its LeiKa key (only when the item has exactly one key, no other item of the import has it,
//! and exactly one description of the tenant has it), else by its title (exactly one
//! description with that title). A description that exists is updated (with a new version)
//! only when its content changed; no description is matched by two items of one import. Items are written in batches, one
//! transaction per batch and a savepoint per item: a bad item is rolled back to its savepoint,
//! so it leaves nothing behind and never costs the good ones, and a batch whose commit fails
//! reports each of its items as failed. Offices (XZuFi `organisationseinheit`, NDJSON
//! `"type": "office"`) are matched by their external id, else by name, and linked to the
//! descriptions they offer once those are stored (see [`crate::offices`]).

use std::collections::{HashMap, HashSet};
use verbund_tenant::db::Db;

use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
use serde::Serialize;
use serde_json::{Value, json};
use tracing::instrument;
use utoipa::ToSchema;
use uuid::Uuid;
use verbund_schema::ids::ServiceId;
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
use crate::services::{
    Insert, SaveInfo, content_of, insert_leika_keys, insert_service, save, to_json,
};
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
    /// Stored items with a part left out: an office's reference to a description that the
    /// tenant does not have.
    #[serde(default)]
    pub warnings: Vec<ImportProblem>,
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
    // Offices first (descriptions name them), linked to the descriptions they offer after
    // those are stored.
    let mut offices = Vec::with_capacity(parsed.org_units.len());
    for (i, unit) in parsed.org_units.into_iter().enumerate() {
        let location = if unit.location.is_empty() {
            format!("organisationseinheit {}", i + 1)
        } else {
            unit.location.clone()
        };
        let services = unit.services.clone();
        match store_org_unit(db, t, &writer, unit).await {
            Ok((outcome, id)) => offices.push((location, outcome, id, services)),
            Err(e) => {
                report.org_units.failed += 1;
                report.errors.push(ImportProblem {
                    location,
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
    // How many items of the import carry each key: a key shared by several items (variants)
    // does not identify one of them.
    let mut key_items: HashMap<String, usize> = HashMap::new();
    for (_, item) in &parsed.items {
        for key in &item.content.leika_keys {
            *key_items.entry(key.as_str().to_owned()).or_default() += 1;
        }
    }
    let mut claimed: HashSet<ServiceId> = HashSet::new();
    let mut items = parsed.items.into_iter().peekable();
    while items.peek().is_some() {
        let batch: Vec<(String, ImportItem)> = items.by_ref().take(BATCH_ITEMS).collect();
        let count = batch.len();
        let context = BatchContext {
            refs: &refs,
            key_items: &key_items,
        };
        let stored = store_batch(db, t, &writer, context, &mut claimed, batch).await;
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
    for (location, outcome, id, services) in offices {
        let outcome = if services.is_empty() {
            outcome
        } else {
            match link_offices(db, &writer, id, &services).await {
                Ok(linked) => {
                    for r in linked.unresolved {
                        report.warnings.push(ImportProblem {
                            location: location.clone(),
                            reason: format!("offers {r}, which this tenant has no description of"),
                        });
                    }
                    match outcome {
                        Outcome::Unchanged if linked.changed => Outcome::Updated,
                        other => other,
                    }
                }
                Err(e) => {
                    report.errors.push(ImportProblem {
                        location: location.clone(),
                        reason: format!("its services could not be linked: {}", reason_of(&e)),
                    });
                    outcome
                }
            }
        };
        match outcome {
            Outcome::Created => report.org_units.created += 1,
            Outcome::Updated => report.org_units.updated += 1,
            Outcome::Unchanged => report.org_units.unchanged += 1,
        }
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

/// Stores an office (matched by external id, else by name); returns what happened and its id.
/// A record without a geo position or opening hours keeps the stored ones.
async fn store_org_unit(
    db: &Db,
    t: &tenant::Model,
    writer: &Writer,
    unit: OrgUnitImport,
) -> Result<(Outcome, Uuid)> {
    let hours_given = unit.opening_hours.is_some();
    let valid = NewOrgUnit {
        name: unit.name,
        external_id: unit.id,
        street: unit.street,
        house_number: unit.house_number,
        postal_code: unit.postal_code,
        city: unit.city,
        phone: unit.phone,
        email: unit.email,
        opening_hours: unit.opening_hours,
        geo: unit.geo,
        ..NewOrgUnit::default()
    }
    .validate()?;
    let txn = begin_write(db).await?;
    let found =
        crate::repo::org_unit_by_key(&txn, writer, valid.external_id.as_deref(), &valid.name)
            .await?;
    let outcome = match found {
        None => {
            let model = insert_org_unit(&txn, t.id, valid, false).await?;
            (Outcome::Created, model.id)
        }
        Some(current) => {
            let hours = if hours_given {
                Some(to_json(&valid.opening_hours)?)
            } else {
                None
            };
            let (latitude, longitude) = match valid.geo {
                Some(g) => (Some(g.latitude), Some(g.longitude)),
                None => (current.latitude, current.longitude),
            };
            let same = current.name == valid.name
                && current.street == valid.street
                && current.house_number == valid.house_number
                && current.postal_code == valid.postal_code
                && current.city == valid.city
                && current.phone == valid.phone
                && current.email == valid.email
                && current.latitude == latitude
                && current.longitude == longitude
                && hours.as_ref().is_none_or(|h| *h == current.weekly_hours);
            if same {
                (Outcome::Unchanged, current.id)
            } else {
                let mut changes = org_unit::ActiveModel {
                    name: Set(valid.name),
                    street: Set(valid.street),
                    house_number: Set(valid.house_number),
                    postal_code: Set(valid.postal_code),
                    city: Set(valid.city),
                    phone: Set(valid.phone),
                    email: Set(valid.email),
                    latitude: Set(latitude),
                    longitude: Set(longitude),
                    version: Set(current.version + 1),
                    updated_at: Set(now()),
                    ..Default::default()
                };
                if let Some(hours) = hours {
                    changes.weekly_hours = Set(hours);
                }
                if !crate::repo::save_org_unit(&txn, writer, &current, changes).await? {
                    return Err(Error::Conflict(
                        verbund_tenant::ProblemKind::StaleVersion,
                        "the office was changed meanwhile".into(),
                    ));
                }
                (Outcome::Updated, current.id)
            }
        }
    };
    txn.commit().await?;
    Ok(outcome)
}

/// Links an office to the descriptions it offers, in its own transaction.
async fn link_offices(
    db: &Db,
    writer: &Writer,
    office: Uuid,
    services: &[crate::import::office::ServiceRef],
) -> Result<crate::offices::Linked> {
    let txn = begin_write(db).await?;
    let linked = crate::offices::link_offered(&txn, writer, office, services).await?;
    txn.commit().await?;
    Ok(linked)
}

/// Items written per transaction. Each holds the SQLite writer for a few tens of
/// milliseconds, so other writers of the process wait at most that long.
const BATCH_ITEMS: usize = 100;

/// What every batch of an import needs to know.
#[derive(Clone, Copy)]
struct BatchContext<'a> {
    /// Org unit external id → id.
    refs: &'a HashMap<String, Uuid>,
    /// LeiKa key → number of items of the import with it.
    key_items: &'a HashMap<String, usize>,
}

/// What an item is matched to.
enum Match {
    /// A description of the tenant, with its stored keys.
    Existing(Box<service::Model>, Vec<String>),
    /// Nothing: a new description.
    New,
    /// The item cannot be matched safely.
    Refused(String),
}

/// Finds the description each item of a batch stands for (see the module documentation),
/// with a few queries for the whole batch.
async fn match_batch(
    txn: &impl ConnectionTrait,
    writer: &Writer,
    context: BatchContext<'_>,
    claimed: &HashSet<ServiceId>,
    batch: &[(String, ImportItem)],
) -> Result<Vec<Match>> {
    let externals: Vec<&str> = batch
        .iter()
        .filter_map(|(_, i)| i.external_id.as_deref())
        .collect();
    let by_external: HashMap<String, service::Model> =
        crate::repo::services_by_external_id(txn, writer, externals.iter().copied())
            .await?
            .into_iter()
            .filter_map(|s| s.external_id.clone().map(|ext| (ext, s)))
            .collect();
    // The export writes a description's own id where it has no external id.
    let own_ids: Vec<ServiceId> = externals
        .iter()
        .filter(|ext| !by_external.contains_key(**ext))
        .filter_map(|ext| Uuid::parse_str(ext).ok().map(ServiceId::from))
        .collect();
    let by_id: HashMap<ServiceId, service::Model> =
        crate::repo::services_by_id(txn, writer, &own_ids)
            .await?
            .into_iter()
            .map(|s| (s.id, s))
            .collect();
    // Single keys that no other item of the import has.
    let single_key = |item: &ImportItem| match item.content.leika_keys.as_slice() {
        [key] if context.key_items.get(key.as_str()) == Some(&1) => Some(key.as_str().to_owned()),
        _ => None,
    };
    let keys: Vec<String> = batch.iter().filter_map(|(_, i)| single_key(i)).collect();
    let mut holders: HashMap<String, Vec<ServiceId>> = HashMap::new();
    for (id, key) in crate::repo::service_ids_by_leika(txn, writer, &keys).await? {
        holders.entry(key).or_default().push(id);
    }
    let key_ids: Vec<ServiceId> = holders
        .values()
        .filter(|ids| ids.len() == 1)
        .flatten()
        .copied()
        .collect();
    let by_key_id: HashMap<ServiceId, service::Model> =
        crate::repo::services_by_id(txn, writer, &key_ids)
            .await?
            .into_iter()
            .map(|s| (s.id, s))
            .collect();
    let titles: Vec<String> = batch.iter().map(|(_, i)| i.content.title.clone()).collect();
    let mut by_title: HashMap<String, Vec<service::Model>> = HashMap::new();
    for s in crate::repo::services_by_title(txn, writer, &titles).await? {
        by_title.entry(s.title.clone()).or_default().push(s);
    }

    let mut found: Vec<Option<service::Model>> = Vec::with_capacity(batch.len());
    let mut refused: Vec<Option<String>> = Vec::with_capacity(batch.len());
    for (_, item) in batch {
        let mut refusal = None;
        let ext = item.external_id.as_deref();
        let own = ext.and_then(|e| Uuid::parse_str(e).ok().map(ServiceId::from));
        // A description bound to another source record is not taken over by key or title.
        let free = |s: &service::Model| ext.is_none() || s.external_id.is_none();
        let hit = ext
            .and_then(|e| by_external.get(e))
            .or_else(|| own.and_then(|id| by_id.get(&id)))
            .or_else(|| {
                let key = single_key(item)?;
                let ids = holders.get(&key)?;
                match ids.as_slice() {
                    [id] => by_key_id.get(id).filter(|s| free(s)),
                    _ => None,
                }
            })
            .or_else(|| {
                let same: Vec<&service::Model> = by_title
                    .get(&item.content.title)?
                    .iter()
                    .filter(|s| free(s))
                    .collect();
                match same.as_slice() {
                    [one] => Some(*one),
                    [] => None,
                    many if ext.is_none() => {
                        refusal = Some(format!(
                            "{} descriptions have the title \"{}\"; give the item an \
                             external_id to tell which one it is",
                            many.len(),
                            crate::shorten(&item.content.title, 80)
                        ));
                        None
                    }
                    _ => None,
                }
            });
        if let Some(s) = hit
            && claimed.contains(&s.id)
        {
            refusal =
                Some("matches the same description as an earlier item of this import".to_owned());
        }
        found.push(hit.cloned().filter(|_| refusal.is_none()));
        refused.push(refusal);
    }
    let rows: Vec<service::Model> = found.iter().flatten().cloned().collect();
    let mut stored_keys = crate::repo::leika_keys_of(txn, &rows).await?;
    Ok(found
        .into_iter()
        .zip(refused)
        .map(|(hit, refusal)| match (hit, refusal) {
            (_, Some(reason)) => Match::Refused(reason),
            (Some(s), None) => {
                let keys = stored_keys.remove(&s.id).unwrap_or_default();
                Match::Existing(Box::new(s), keys)
            }
            (None, None) => Match::New,
        })
        .collect())
}

/// Writes a batch of items in one transaction, each behind its own savepoint. Returns each
/// item's outcome, or the reason it failed; if the batch cannot be committed, every item of
/// it is reported as failed (and nothing of it is written).
async fn store_batch(
    db: &Db,
    t: &tenant::Model,
    writer: &Writer,
    context: BatchContext<'_>,
    claimed: &mut HashSet<ServiceId>,
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
    // The descriptions the batch may update, in a few queries.
    let matches = match match_batch(&txn, writer, context, claimed, &batch).await {
        Ok(m) => m,
        Err(e) => return fail_all(e),
    };
    let mut out = Vec::with_capacity(batch.len());
    let mut newly_claimed = Vec::new();
    for ((location, item), found) in batch.into_iter().zip(matches) {
        let current = match found {
            Match::Refused(reason) => {
                out.push((location, Err(reason)));
                continue;
            }
            Match::Existing(s, keys) => Some((*s, keys)),
            Match::New => None,
        };
        if let Err(e) = txn.execute_unprepared("SAVEPOINT import_item").await {
            let _ = txn.rollback().await;
            return fail_all(e.into());
        }
        let outcome = store_item(&txn, t, writer, context.refs, current, item).await;
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
        if let Ok((_, id)) = &outcome {
            newly_claimed.push(*id);
        }
        out.push((location, outcome.map(|(o, _)| o).map_err(|e| reason_of(&e))));
    }
    match txn.commit().await {
        Ok(()) => {
            claimed.extend(newly_claimed);
            out
        }
        Err(e) => fail_all(e.into()),
    }
}

async fn store_item(
    txn: &impl ConnectionTrait,
    t: &tenant::Model,
    writer: &Writer,
    refs: &HashMap<String, Uuid>,
    existing: Option<(service::Model, Vec<String>)>,
    item: ImportItem,
) -> Result<(Outcome, ServiceId)> {
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
            let created = insert_service(
                txn,
                Insert {
                    tenant_id: t.id,
                    content: item.content,
                    external_id: item.external_id,
                    status,
                    org_unit_id,
                    contact_org_unit_id: None,
                    base: None,
                    demo: false,
                },
                info,
            )
            .await?;
            (Outcome::Created, created.id)
        }
        Some((current, stored_keys)) => {
            let old = content_of(&current, &stored_keys);
            let same_content = old.as_ref() == Some(&item.content);
            let same_keys = old
                .as_ref()
                .is_some_and(|o| o.leika_keys == item.content.leika_keys);
            // An item matched by the description's own id (as the export writes it) keeps
            // the description without an external id.
            let own_id = item.external_id.as_deref() == Some(current.id.to_string().as_str());
            let new_external = match &item.external_id {
                Some(ext) if !own_id => Some(ext.clone()),
                _ => current.external_id.clone(),
            };
            let new_org = org_unit_id.or(current.org_unit_id);
            // "draft" (the default) never unpublishes; "published" publishes.
            let new_status = if status == ServiceStatus::Published {
                ServiceStatus::Published
            } else {
                current.status
            };
            if same_content
                && new_org == current.org_unit_id
                && new_status == current.status
                && new_external == current.external_id
            {
                (Outcome::Unchanged, current.id)
            } else {
                let mut changes = <service::ActiveModel as ActiveModelTrait>::default();
                changes.title = Set(item.content.title.clone());
                changes.synonyms = Set(to_json(&item.content.synonyms)?);
                changes.modules = Set(to_json(&item.content.modules)?);
                changes.org_unit_id = Set(new_org);
                changes.external_id = Set(new_external);
                if new_status != current.status {
                    changes.status = Set(new_status);
                    if new_status == ServiceStatus::Published {
                        changes.published_at = Set(Some(now()));
                    }
                }
                if !same_keys {
                    crate::repo::delete_leika_keys(txn, writer, &current).await?;
                    insert_leika_keys(txn, &current, &item.content.leika_keys).await?;
                }
                save(txn, writer, &current, current.version, changes, info).await?;
                (Outcome::Updated, current.id)
            }
        }
    };
    Ok(outcome)
}

/// One description as an NDJSON line that [`crate::import::ndjson`] reads back.
/// `external_id` is the description's external id, or else its own id, so that importing
/// the export again matches each line to its description.
pub fn ndjson_line(
    content: &ServiceContent,
    external_id: &str,
    status: ServiceStatus,
    org_unit: Option<&str>,
) -> Value {
    let keys: Vec<&str> = content.leika_keys.iter().map(|k| k.as_str()).collect();
    let mut line = json!({
        "external_id": external_id,
        "leika_keys": keys,
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
    let keys = crate::repo::leika_keys_of(db, &rows).await?;
    let mut out = String::new();
    for s in rows {
        let stored = keys.get(&s.id).map_or(&[][..], Vec::as_slice);
        let Some(content) = content_of(&s, stored) else {
            continue;
        };
        let org = s
            .org_unit_id
            .and_then(|id| refs.get(&id))
            .map(String::as_str);
        let external = s.external_id.clone().unwrap_or_else(|| s.id.to_string());
        let line = ndjson_line(&content, &external, s.status, org);
        out.push_str(&line.to_string());
        out.push('\n');
    }
    Ok(out)
}
