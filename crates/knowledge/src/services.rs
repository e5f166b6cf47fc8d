//! Service descriptions (Leistungen) per tenant: create, read, edit with optimistic locking,
//! publish, archive, versions and the comparison of two versions.
//!
//! Every save writes a full snapshot into `knowledge_service_versions` and a row into the
//! change feed, in the transaction of the change.

use std::collections::HashMap;
use verbund_tenant::db::Db;

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, Set};
use serde::{Deserialize, Serialize};
use tracing::instrument;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use verbund_schema::ids::ServiceId;
use verbund_schema::tenant;
use verbund_tenant::ProblemKind;
use verbund_tenant::db::{begin_write, now};
use verbund_tenant::directory::find_tenant;
use verbund_tenant::{Actor, Error, Permission, Result};

use crate::access::{self, KnowledgeReader};
use crate::catalog::{self, BaseRef, MergedModule};
use crate::changes;
use crate::leika::{LeikaKey, LeikaPrefix};
use crate::model::{ModuleField, Modules, ServiceContent, ValidationError};
use crate::repo::Writer;
use crate::status::ServiceStatus;
use verbund_schema::{service, service_leika_key, service_version};

/// A new description. With `base_id` it adopts a base text of the catalogue: `leika_keys`
/// and `title` then default to the base text's, and `modules` hold only the local additions.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewService {
    /// The LeiKa keys (each 14 digits starting with 99): none for a local service, one, or
    /// several. Several descriptions of a tenant may share a key (variants).
    pub leika_keys: Option<Vec<String>>,
    /// One LeiKa key: the older form of `leika_keys` (give one of the two).
    pub leika: Option<String>,
    /// The id the source system gives the description (e.g. `1063423`), unique per tenant.
    pub external_id: Option<String>,
    pub title: Option<String>,
    #[serde(default)]
    pub synonyms: Vec<String>,
    #[serde(default)]
    pub modules: Modules,
    /// The responsible office (zuständige Stelle).
    pub org_unit_id: Option<Uuid>,
    /// The contact point (Ansprechpunkt).
    pub contact_org_unit_id: Option<Uuid>,
    /// A base text of the catalogue to adopt.
    pub base_id: Option<Uuid>,
}

/// Changes to a description. Absent fields stay; `modules` replaces all local modules.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServicePatch {
    /// The version the change is based on; a stale one gives 409.
    pub version: i32,
    pub title: Option<String>,
    /// Replaces the LeiKa keys (`[]` removes them all).
    pub leika_keys: Option<Vec<String>>,
    /// One LeiKa key: the older form of `leika_keys` (give one of the two).
    pub leika: Option<String>,
    /// The source system's id; `null` removes it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub external_id: Option<Option<String>>,
    pub synonyms: Option<Vec<String>>,
    pub modules: Option<Modules>,
    /// An org unit id; `null` removes the link.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Uuid>)]
    pub org_unit_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Uuid>)]
    pub contact_org_unit_id: Option<Option<Uuid>>,
}

fn double_option<'de, D, T>(d: D) -> std::result::Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// A short reference to an org unit.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct OrgUnitRef {
    pub id: Uuid,
    pub name: String,
}

/// A description as the API shows it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ServiceView {
    pub id: Uuid,
    pub tenant: String,
    /// The LeiKa keys, sorted (may be empty).
    pub leika_keys: Vec<String>,
    /// The first of `leika_keys` (the older single-key form), `null` without a key.
    pub leika: Option<String>,
    /// The source system's id, if any.
    pub external_id: Option<String>,
    pub title: String,
    pub synonyms: Vec<String>,
    /// The tenant's own modules (for an adopted base text: the local additions and overrides).
    pub modules: Modules,
    pub status: ServiceStatus,
    /// Send it back with every change (optimistic locking).
    pub version: i32,
    pub org_unit: Option<OrgUnitRef>,
    pub contact_org_unit: Option<OrgUnitRef>,
    /// The adopted base text, if any.
    pub base: Option<BaseRef>,
    /// True when the base text changed since an editor last confirmed it.
    pub base_changed: bool,
    /// What agents see: every non-empty module, local ones over the base text's, each with
    /// its source.
    pub merged: Vec<MergedModule>,
    /// Demo content of `verbund serve --demo`.
    pub demo: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub published_at: Option<DateTime<Utc>>,
}

/// One line of a list.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ServiceSummary {
    pub id: Uuid,
    pub tenant: String,
    /// The LeiKa keys, sorted (may be empty).
    pub leika_keys: Vec<String>,
    /// The first of `leika_keys`, `null` without a key.
    pub leika: Option<String>,
    pub external_id: Option<String>,
    pub title: String,
    pub status: ServiceStatus,
    pub version: i32,
    pub base_changed: bool,
    pub demo: bool,
    pub updated_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ServicePage {
    pub items: Vec<ServiceSummary>,
    /// Pass as `offset` for the next page; absent on the last page.
    pub next_offset: Option<u64>,
}

/// Filters of the description list.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ServiceQuery {
    /// `draft`, `published` or `archived`.
    pub status: Option<String>,
    /// A LeiKa key or its beginning (digits only): descriptions with a key that starts so.
    pub leika: Option<String>,
    /// 1-500, default 100.
    pub limit: Option<u64>,
    /// 0-1000000, default 0.
    pub offset: Option<u64>,
}

/// One saved version.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct VersionView {
    pub version: i32,
    /// `created`, `updated`, `published`, `archived`, `imported`, `base_reviewed`.
    pub kind: String,
    pub status: ServiceStatus,
    pub title: String,
    pub synonyms: Vec<String>,
    pub modules: Modules,
    pub org_unit_id: Option<Uuid>,
    pub contact_org_unit_id: Option<Uuid>,
    pub author_id: Option<Uuid>,
    pub author_name: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CompareQuery {
    pub from: i32,
    pub to: i32,
}

/// One field that differs between two versions.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct FieldChange {
    /// `title`, `synonyms`, `status`, `org_unit_id`, `contact_org_unit_id` or
    /// `modules.<name>`.
    pub field: String,
    /// German label.
    pub label: String,
    pub before: serde_json::Value,
    pub after: serde_json::Value,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct VersionComparison {
    pub from: i32,
    pub to: i32,
    pub changes: Vec<FieldChange>,
}

/// Turns a content validation error into the shared error, with the JSON path as field.
pub(crate) fn invalid_content(err: ValidationError) -> Error {
    let field = err.field();
    let message = err.to_string();
    let reason = message
        .strip_prefix(&format!("{field} "))
        .map(str::to_owned)
        .unwrap_or(message);
    Error::invalid(field, reason)
}

pub(crate) fn parse_synonyms(raw: &serde_json::Value) -> Vec<String> {
    serde_json::from_value(raw.clone()).unwrap_or_default()
}

pub(crate) fn parse_modules(raw: &serde_json::Value) -> Modules {
    serde_json::from_value(raw.clone()).unwrap_or_default()
}

pub(crate) fn to_json<T: Serialize>(value: &T) -> Result<serde_json::Value> {
    serde_json::to_value(value).map_err(|e| Error::internal("to JSON", e))
}

/// The content of a stored row with its stored keys (as [`crate::repo::leika_keys_of`]
/// gives them); `None` if a stored key is not valid.
pub(crate) fn content_of(s: &service::Model, keys: &[String]) -> Option<ServiceContent> {
    let mut leika_keys = keys
        .iter()
        .map(|k| crate::leika::LeikaKey::parse(k).ok())
        .collect::<Option<Vec<_>>>()?;
    leika_keys.sort();
    leika_keys.dedup();
    Some(ServiceContent {
        leika_keys,
        title: s.title.clone(),
        synonyms: parse_synonyms(&s.synonyms),
        modules: parse_modules(&s.modules),
    })
}

/// Checks that an org unit belongs to the writer's tenant.
pub(crate) async fn check_org_unit(
    db: &impl ConnectionTrait,
    field: &str,
    writer: &Writer,
    id: Option<Uuid>,
) -> Result<()> {
    let Some(id) = id else { return Ok(()) };
    let found = crate::repo::org_unit_for_edit(db, writer, id).await?;
    if found.is_none() {
        return Err(Error::invalid(field, "is not an org unit of this tenant"));
    }
    Ok(())
}

/// Who and why, for the version row.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SaveInfo<'a> {
    pub author: Option<Uuid>,
    pub kind: &'a str,
}

/// Appends the snapshot of `s` as a version and records the change. Call it in the
/// transaction that wrote `s`.
pub(crate) async fn snapshot(
    db: &impl ConnectionTrait,
    s: &service::Model,
    info: SaveInfo<'_>,
) -> Result<()> {
    service_version::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(s.tenant_id),
        service_id: Set(s.id),
        version: Set(s.version),
        kind: Set(info.kind.to_owned()),
        status: Set(s.status),
        title: Set(s.title.clone()),
        synonyms: Set(s.synonyms.clone()),
        modules: Set(s.modules.clone()),
        org_unit_id: Set(s.org_unit_id),
        contact_org_unit_id: Set(s.contact_org_unit_id),
        author_user_id: Set(info.author),
        created_at: Set(s.updated_at),
    }
    .insert(db)
    .await?;
    changes::record(db, s.tenant_id, s.id).await
}

/// Everything needed to insert a description.
pub(crate) struct Insert {
    pub tenant_id: verbund_schema::ids::TenantId,
    pub content: ServiceContent,
    pub external_id: Option<String>,
    pub status: ServiceStatus,
    pub org_unit_id: Option<Uuid>,
    pub contact_org_unit_id: Option<Uuid>,
    pub base: Option<(Uuid, i32)>,
    pub demo: bool,
}

/// Inserts a description with its first version and change row.
pub(crate) async fn insert_service(
    db: &impl ConnectionTrait,
    input: Insert,
    info: SaveInfo<'_>,
) -> Result<service::Model> {
    let at = now();
    let external = input.external_id.clone();
    let model = service::ActiveModel {
        id: Set(verbund_schema::ids::ServiceId::now_v7()),
        tenant_id: Set(input.tenant_id),
        external_id: Set(input.external_id),
        title: Set(input.content.title),
        synonyms: Set(to_json(&input.content.synonyms)?),
        modules: Set(to_json(&input.content.modules)?),
        status: Set(input.status),
        version: Set(1),
        org_unit_id: Set(input.org_unit_id),
        contact_org_unit_id: Set(input.contact_org_unit_id),
        base_id: Set(input.base.map(|(id, _)| id)),
        base_reviewed_revision: Set(input.base.map(|(_, rev)| rev)),
        demo: Set(input.demo),
        created_by: Set(info.author),
        created_at: Set(at),
        updated_by: Set(info.author),
        updated_at: Set(at),
        published_at: Set((input.status == ServiceStatus::Published).then_some(at)),
    }
    .insert(db)
    .await
    .map_err(|e| {
        Error::from_db_unique(
            e,
            &format!(
                "a description with external id {} for this tenant",
                external.as_deref().unwrap_or("")
            ),
        )
    })?;
    insert_leika_keys(db, &model, &input.content.leika_keys).await?;
    snapshot(db, &model, info).await?;
    Ok(model)
}

/// Saves `changes` when nobody else changed the row since `expected_version`; bumps the
/// version, writes the snapshot and the change row.
pub(crate) async fn save(
    db: &impl ConnectionTrait,
    writer: &Writer,
    current: &service::Model,
    expected_version: i32,
    mut changes: service::ActiveModel,
    info: SaveInfo<'_>,
) -> Result<service::Model> {
    if current.version != expected_version {
        return Err(Error::Conflict(
            ProblemKind::StaleVersion,
            format!(
                "the description was changed meanwhile (version {} instead of {expected_version}); \
             reload it",
                current.version
            ),
        ));
    }
    changes.version = Set(expected_version + 1);
    changes.updated_at = Set(now());
    changes.updated_by = Set(info.author);
    let saved = crate::repo::save_service(db, writer, current, expected_version, changes).await?;
    snapshot(db, &saved, info).await?;
    Ok(saved)
}

/// Inserts the key rows of a description (new, or whose keys were just removed).
pub(crate) async fn insert_leika_keys(
    db: &impl ConnectionTrait,
    s: &service::Model,
    keys: &[LeikaKey],
) -> Result<()> {
    if keys.is_empty() {
        return Ok(());
    }
    service_leika_key::Entity::insert_many(keys.iter().map(|key| service_leika_key::ActiveModel {
        service_id: Set(s.id),
        tenant_id: Set(s.tenant_id),
        leika_key: Set(key.as_str().to_owned()),
    }))
    .exec(db)
    .await?;
    Ok(())
}

/// The requested keys of a create or a change: `leika_keys`, or the older single `leika`;
/// `None` if neither is given. Each key is checked on its own; an error names it.
pub(crate) fn requested_keys(
    leika: Option<&str>,
    leika_keys: Option<&[String]>,
) -> Result<Option<Vec<LeikaKey>>> {
    match (leika, leika_keys) {
        (Some(_), Some(_)) => Err(Error::invalid(
            "leika",
            "give either leika or leika_keys, not both",
        )),
        (Some(one), None) => LeikaKey::parse(one)
            .map(|key| Some(vec![key]))
            .map_err(|e| Error::invalid("leika", e.to_string())),
        (None, Some(list)) => crate::leika::parse_keys("leika_keys", list)
            .map(Some)
            .map_err(|e| Error::invalid(e.field, e.reason)),
        (None, None) => Ok(None),
    }
}

/// Longest external id, in characters.
pub const MAX_EXTERNAL_ID_CHARS: usize = 200;

/// Checks an external id: trimmed, one line, 1–200 characters; blank means none.
pub(crate) fn parse_external_id(raw: Option<&str>) -> Result<Option<String>> {
    let Some(raw) = raw.map(str::trim).filter(|r| !r.is_empty()) else {
        return Ok(None);
    };
    verbund_tenant::text::check(verbund_tenant::text::TextKind::SingleLine, raw)
        .map_err(|reason| Error::invalid("external_id", reason))?;
    let chars = raw.chars().count();
    if chars > MAX_EXTERNAL_ID_CHARS {
        return Err(Error::invalid(
            "external_id",
            format!("is too long ({chars} characters, at most {MAX_EXTERNAL_ID_CHARS})"),
        ));
    }
    Ok(Some(raw.to_owned()))
}

/// 409 if another description of the writer's tenant has this external id.
async fn check_external_id_free(
    db: &impl ConnectionTrait,
    writer: &Writer,
    external_id: Option<&str>,
    except: Option<ServiceId>,
) -> Result<()> {
    let Some(ext) = external_id else {
        return Ok(());
    };
    let taken = crate::repo::services_by_external_id(db, writer, [ext])
        .await?
        .into_iter()
        .any(|s| Some(s.id) != except);
    if taken {
        return Err(Error::Conflict(
            ProblemKind::Duplicate,
            format!(
                "a description with external id {} already exists for this tenant",
                crate::shorten(ext, 60)
            ),
        ));
    }
    Ok(())
}

async fn org_ref(
    db: &impl ConnectionTrait,
    s: &service::Model,
    id: Option<Uuid>,
) -> Result<Option<OrgUnitRef>> {
    let Some(id) = id else { return Ok(None) };
    Ok(crate::repo::org_unit_of(db, s, id)
        .await?
        .map(|o| OrgUnitRef {
            id: o.id,
            name: o.name,
        }))
}

/// Builds the full view of a row: org units, base text and the merged modules.
pub(crate) async fn full_view(
    db: &impl ConnectionTrait,
    s: service::Model,
    tenant_slug: &str,
) -> Result<ServiceView> {
    let base = match s.base_id {
        Some(id) => crate::repo::base_text(db, id).await?,
        None => None,
    };
    let modules = parse_modules(&s.modules);
    let leika_keys = crate::repo::leika_keys_of(db, std::slice::from_ref(&s))
        .await?
        .remove(&s.id)
        .unwrap_or_default();
    let merged = catalog::merged_view(base.as_ref(), &modules);
    let base_changed = catalog::base_changed(&s, base.as_ref());
    let org_unit = org_ref(db, &s, s.org_unit_id).await?;
    let contact_org_unit = org_ref(db, &s, s.contact_org_unit_id).await?;
    Ok(ServiceView {
        id: s.id.uuid(),
        tenant: tenant_slug.to_owned(),
        leika: leika_keys.first().cloned(),
        leika_keys,
        external_id: s.external_id,
        title: s.title,
        synonyms: parse_synonyms(&s.synonyms),
        modules,
        status: s.status,
        version: s.version,
        org_unit,
        contact_org_unit,
        base: base.as_ref().map(catalog::base_ref),
        base_changed,
        merged,
        demo: s.demo,
        created_at: s.created_at,
        updated_at: s.updated_at,
        published_at: s.published_at,
    })
}

fn summary(
    s: service::Model,
    tenant_slug: &str,
    base_revisions: &HashMap<Uuid, i32>,
    leika_keys: Vec<String>,
) -> ServiceSummary {
    let base_changed = match (s.base_id, s.base_reviewed_revision) {
        (Some(id), reviewed) => base_revisions
            .get(&id)
            .is_some_and(|rev| reviewed.is_none_or(|r| *rev > r)),
        _ => false,
    };
    ServiceSummary {
        id: s.id.uuid(),
        tenant: tenant_slug.to_owned(),
        leika: leika_keys.first().cloned(),
        leika_keys,
        external_id: s.external_id,
        title: s.title,
        status: s.status,
        version: s.version,
        base_changed,
        demo: s.demo,
        updated_at: s.updated_at,
    }
}

/// Parses and validates new content.
fn parse_content(
    leika_keys: Vec<LeikaKey>,
    title: String,
    synonyms: Vec<String>,
    modules: Modules,
) -> Result<ServiceContent> {
    ServiceContent {
        leika_keys,
        title,
        synonyms,
        modules,
    }
    .normalized()
    .map_err(invalid_content)
}

/// Creates a draft description (scope: `EditKnowledge` on the tenant).
#[instrument(skip_all, fields(tenant = slug))]
pub async fn create_service(
    db: &Db,
    actor: &Actor,
    slug: &str,
    input: NewService,
) -> Result<ServiceView> {
    let t = find_tenant(db, slug).await?;
    let scope = actor.authorize(Permission::EditKnowledge, t.id)?;
    let base = match input.base_id {
        Some(id) => Some(
            crate::repo::base_text(db, id)
                .await?
                .ok_or_else(|| Error::invalid("base_id", "is not a base text of the catalogue"))?,
        ),
        None => None,
    };
    let requested = requested_keys(input.leika.as_deref(), input.leika_keys.as_deref())?;
    let external_id = parse_external_id(input.external_id.as_deref())?;
    let leika_keys = match (requested, &base) {
        (Some(keys), Some(b)) if !keys.iter().any(|k| k.as_str() == b.leika) => {
            let field = if input.leika.is_some() {
                "leika"
            } else {
                "leika_keys"
            };
            return Err(Error::invalid(
                field,
                format!(
                    "must contain the LeiKa key of the adopted base text ({})",
                    b.leika
                ),
            ));
        }
        (Some(keys), _) => keys,
        (None, Some(b)) => {
            vec![LeikaKey::parse(&b.leika).map_err(|_| Error::bug("stored base text LeiKa key"))?]
        }
        (None, None) => Vec::new(),
    };
    let title = match (input.title, &base) {
        (Some(t), _) => t,
        (None, Some(b)) => b.title.clone(),
        (None, None) => return Err(Error::invalid("title", "is required")),
    };
    let content = parse_content(leika_keys, title, input.synonyms, input.modules)?;
    let txn = begin_write(db).await?;
    let writer = Writer::user(&scope);
    check_org_unit(&txn, "org_unit_id", &writer, input.org_unit_id).await?;
    check_org_unit(
        &txn,
        "contact_org_unit_id",
        &writer,
        input.contact_org_unit_id,
    )
    .await?;
    check_external_id_free(&txn, &writer, external_id.as_deref(), None).await?;
    let model = insert_service(
        &txn,
        Insert {
            tenant_id: t.id,
            content,
            external_id,
            status: ServiceStatus::Draft,
            org_unit_id: input.org_unit_id,
            contact_org_unit_id: input.contact_org_unit_id,
            base: base.as_ref().map(|b| (b.id, b.revision)),
            demo: false,
        },
        SaveInfo {
            author: Some(scope.actor_id()),
            kind: "created",
        },
    )
    .await?;
    txn.commit().await?;
    changes::notify(db);
    full_view(db, model, &t.slug).await
}

/// The descriptions of a tenant the actor may read: all of them inside the tenant, the
/// published ones for readers of other tenants.
#[instrument(skip_all, fields(tenant = slug))]
pub async fn list_services(
    db: &Db,
    actor: &Actor,
    slug: &str,
    q: ServiceQuery,
) -> Result<ServicePage> {
    let t = find_tenant(db, slug).await?;
    let reader = access::reader(actor)?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(Error::invalid("limit", "must be 1..=500"));
    }
    let offset = verbund_tenant::domain::page_offset(q.offset)?;
    let mut cond = Condition::all();
    if let Some(raw) = q.status.as_deref().filter(|s| !s.is_empty()) {
        let status = ServiceStatus::parse(raw)
            .ok_or_else(|| Error::invalid("status", "must be draft, published or archived"))?;
        cond = cond.add(service::Column::Status.eq(status.as_str()));
    }
    if let Some(raw) = q.leika.as_deref().filter(|s| !s.is_empty()) {
        let prefix = LeikaPrefix::parse(raw)
            .ok_or_else(|| Error::invalid("leika", "must be up to 14 digits"))?;
        cond = cond.add(crate::repo::leika_prefix_filter(t.id, prefix.as_str()));
    }
    let mut rows = crate::repo::service_page(db, &reader, t.id, cond, offset, limit + 1).await?;
    let next_offset = if rows.len() as u64 > limit {
        rows.truncate(limit as usize);
        Some(offset + limit)
    } else {
        None
    };
    let mut keys = crate::repo::leika_keys_of(db, &rows).await?;
    let base_ids: Vec<Uuid> = rows.iter().filter_map(|s| s.base_id).collect();
    let base_revisions: HashMap<Uuid, i32> = if base_ids.is_empty() {
        HashMap::new()
    } else {
        crate::repo::base_texts_by_id(db, base_ids)
            .await?
            .into_iter()
            .map(|b| (b.id, b.revision))
            .collect()
    };
    Ok(ServicePage {
        items: rows
            .into_iter()
            .map(|s| {
                let leika_keys = keys.remove(&s.id).unwrap_or_default();
                summary(s, &t.slug, &base_revisions, leika_keys)
            })
            .collect(),
        next_offset,
    })
}

/// Loads a description of the tenant that the reader may read; 404 otherwise.
async fn load_readable(
    db: &impl ConnectionTrait,
    reader: &KnowledgeReader,
    t: &tenant::Model,
    id: ServiceId,
) -> Result<service::Model> {
    crate::repo::readable_service(db, reader, t.id, id)
        .await?
        .ok_or(Error::NotFound("service"))
}

/// Loads a description for a change: `EditKnowledge` on the tenant, then the row of that
/// tenant.
async fn load_for_edit(
    db: &impl ConnectionTrait,
    actor: &Actor,
    t: &tenant::Model,
    id: ServiceId,
) -> Result<(service::Model, Writer)> {
    let scope = actor.authorize(Permission::EditKnowledge, t.id)?;
    let writer = Writer::user(&scope);
    let s = crate::repo::service_for_edit(db, &writer, id)
        .await?
        .ok_or(Error::NotFound("service"))?;
    Ok((s, writer))
}

#[instrument(skip_all, fields(tenant = slug, service = %id))]
pub async fn get_service(db: &Db, actor: &Actor, slug: &str, id: ServiceId) -> Result<ServiceView> {
    let t = find_tenant(db, slug).await?;
    let reader = access::reader(actor).map_err(|_| Error::NotFound("service"))?;
    let s = load_readable(db, &reader, &t, id).await?;
    full_view(db, s, &t.slug).await
}

/// Changes title, synonyms, modules or org units; 409 when the version is stale.
#[instrument(skip_all, fields(tenant = slug, service = %id))]
pub async fn update_service(
    db: &Db,
    actor: &Actor,
    slug: &str,
    id: ServiceId,
    patch: ServicePatch,
) -> Result<ServiceView> {
    let t = find_tenant(db, slug).await?;
    actor.authorize(Permission::EditKnowledge, t.id)?;
    let txn = begin_write(db).await?;
    let (current, writer) = load_for_edit(&txn, actor, &t, id).await?;
    if current.status == ServiceStatus::Archived {
        return Err(Error::Conflict(
            ProblemKind::InvalidStateTransition,
            "an archived description cannot be changed; publish it again first".into(),
        ));
    }
    let stored_keys = crate::repo::leika_keys_of(&txn, std::slice::from_ref(&current))
        .await?
        .remove(&current.id)
        .unwrap_or_default();
    let old = content_of(&current, &stored_keys).ok_or_else(|| Error::bug("stored LeiKa key"))?;
    let leika_keys = requested_keys(patch.leika.as_deref(), patch.leika_keys.as_deref())?
        .unwrap_or_else(|| old.leika_keys.clone());
    let external_id = match &patch.external_id {
        Some(raw) => parse_external_id(raw.as_deref())?,
        None => current.external_id.clone(),
    };
    check_external_id_free(&txn, &writer, external_id.as_deref(), Some(current.id)).await?;
    let content = parse_content(
        leika_keys,
        patch.title.unwrap_or_else(|| old.title.clone()),
        patch.synonyms.unwrap_or_else(|| old.synonyms.clone()),
        patch.modules.unwrap_or_else(|| old.modules.clone()),
    )?;
    let org_unit_id = patch.org_unit_id.unwrap_or(current.org_unit_id);
    let contact_org_unit_id = patch
        .contact_org_unit_id
        .unwrap_or(current.contact_org_unit_id);
    check_org_unit(&txn, "org_unit_id", &writer, org_unit_id).await?;
    check_org_unit(&txn, "contact_org_unit_id", &writer, contact_org_unit_id).await?;
    if current.version != patch.version {
        return Err(Error::Conflict(
            ProblemKind::StaleVersion,
            format!(
                "the description was changed meanwhile (version {} instead of {}); reload it",
                current.version, patch.version
            ),
        ));
    }
    let unchanged = content == old
        && external_id == current.external_id
        && org_unit_id == current.org_unit_id
        && contact_org_unit_id == current.contact_org_unit_id;
    if unchanged {
        txn.commit().await?;
        return full_view(db, current, &t.slug).await;
    }
    let mut changes = <service::ActiveModel as ActiveModelTrait>::default();
    changes.title = Set(content.title.clone());
    changes.synonyms = Set(to_json(&content.synonyms)?);
    changes.modules = Set(to_json(&content.modules)?);
    changes.org_unit_id = Set(org_unit_id);
    changes.contact_org_unit_id = Set(contact_org_unit_id);
    changes.external_id = Set(external_id);
    if content.leika_keys != old.leika_keys {
        crate::repo::delete_leika_keys(&txn, &writer, &current).await?;
        insert_leika_keys(&txn, &current, &content.leika_keys).await?;
    }
    let saved = save(
        &txn,
        &writer,
        &current,
        patch.version,
        changes,
        SaveInfo {
            author: writer.author(),
            kind: "updated",
        },
    )
    .await?;
    txn.commit().await?;
    changes::notify(db);
    full_view(db, saved, &t.slug).await
}

async fn transition(
    db: &Db,
    actor: &Actor,
    slug: &str,
    id: ServiceId,
    to: ServiceStatus,
) -> Result<ServiceView> {
    let t = find_tenant(db, slug).await?;
    actor.authorize(Permission::EditKnowledge, t.id)?;
    let txn = begin_write(db).await?;
    let (current, writer) = load_for_edit(&txn, actor, &t, id).await?;
    let from = current.status;
    if from == to {
        return Err(Error::Conflict(
            ProblemKind::InvalidStateTransition,
            format!("the description is already {}", to.as_str()),
        ));
    }
    let mut changes = <service::ActiveModel as ActiveModelTrait>::default();
    changes.status = Set(to);
    if to == ServiceStatus::Published {
        changes.published_at = Set(Some(now()));
    }
    let kind = match to {
        ServiceStatus::Published => "published",
        ServiceStatus::Archived => "archived",
        ServiceStatus::Draft => "unpublished",
    };
    let saved = save(
        &txn,
        &writer,
        &current,
        current.version,
        changes,
        SaveInfo {
            author: writer.author(),
            kind,
        },
    )
    .await?;
    txn.commit().await?;
    changes::notify(db);
    full_view(db, saved, &t.slug).await
}

/// Publishes a draft or archived description: every agent in the Verbund can read it then.
#[instrument(skip_all, fields(tenant = slug, service = %id))]
pub async fn publish_service(
    db: &Db,
    actor: &Actor,
    slug: &str,
    id: ServiceId,
) -> Result<ServiceView> {
    transition(db, actor, slug, id, ServiceStatus::Published).await
}

/// Archives a description: it leaves search and is visible only inside the tenant.
#[instrument(skip_all, fields(tenant = slug, service = %id))]
pub async fn archive_service(
    db: &Db,
    actor: &Actor,
    slug: &str,
    id: ServiceId,
) -> Result<ServiceView> {
    transition(db, actor, slug, id, ServiceStatus::Archived).await
}

/// Versions need read access inside the owning tenant: history may hold draft states.
async fn load_for_history(
    db: &impl ConnectionTrait,
    actor: &Actor,
    t: &tenant::Model,
    id: ServiceId,
) -> Result<service::Model> {
    // Without any read access the description is simply not found.
    let reader = access::reader(actor).map_err(|_| Error::NotFound("service"))?;
    let s = load_readable(db, &reader, t, id).await?;
    if !reader.sees_drafts_of(t.id) {
        return Err(Error::Forbidden(
            "versions are visible only inside the owning tenant",
        ));
    }
    Ok(s)
}

fn version_view(v: service_version::Model, names: &HashMap<Uuid, String>) -> VersionView {
    VersionView {
        version: v.version,
        kind: v.kind,
        status: v.status,
        title: v.title,
        synonyms: parse_synonyms(&v.synonyms),
        modules: parse_modules(&v.modules),
        org_unit_id: v.org_unit_id,
        contact_org_unit_id: v.contact_org_unit_id,
        author_name: v.author_user_id.and_then(|id| names.get(&id).cloned()),
        author_id: v.author_user_id,
        created_at: v.created_at,
    }
}

async fn author_names(
    db: &impl ConnectionTrait,
    ids: impl IntoIterator<Item = Uuid>,
) -> Result<HashMap<Uuid, String>> {
    let ids: Vec<Uuid> = ids.into_iter().collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(crate::repo::author_names(db, ids)
        .await?
        .into_iter()
        .collect())
}

/// Every saved version, newest first.
#[instrument(skip_all, fields(tenant = slug, service = %id))]
pub async fn list_versions(
    db: &Db,
    actor: &Actor,
    slug: &str,
    id: ServiceId,
) -> Result<Vec<VersionView>> {
    let t = find_tenant(db, slug).await?;
    let s = load_for_history(db, actor, &t, id).await?;
    let rows = crate::repo::versions_of(db, &s).await?;
    let names = author_names(db, rows.iter().filter_map(|v| v.author_user_id)).await?;
    Ok(rows.into_iter().map(|v| version_view(v, &names)).collect())
}

/// The differences between two versions, field by field.
#[instrument(skip_all, fields(tenant = slug, service = %id))]
pub async fn compare_versions(
    db: &Db,
    actor: &Actor,
    slug: &str,
    id: ServiceId,
    q: CompareQuery,
) -> Result<VersionComparison> {
    let t = find_tenant(db, slug).await?;
    let s = load_for_history(db, actor, &t, id).await?;
    let s = &s;
    let load = |version: i32, field: &'static str| async move {
        crate::repo::version_of(db, s, version)
            .await?
            .ok_or_else(|| Error::invalid(field, format!("there is no version {version}")))
    };
    let a = load(q.from, "from").await?;
    let b = load(q.to, "to").await?;
    Ok(VersionComparison {
        from: q.from,
        to: q.to,
        changes: diff(&a, &b),
    })
}

fn diff(a: &service_version::Model, b: &service_version::Model) -> Vec<FieldChange> {
    let mut out = Vec::new();
    let mut push =
        |field: String, label: &str, before: serde_json::Value, after: serde_json::Value| {
            if before != after {
                out.push(FieldChange {
                    field,
                    label: label.to_owned(),
                    before,
                    after,
                });
            }
        };
    push(
        "title".into(),
        "Leistungsbezeichnung",
        a.title.clone().into(),
        b.title.clone().into(),
    );
    push(
        "status".into(),
        "Status",
        a.status.as_str().into(),
        b.status.as_str().into(),
    );
    push(
        "synonyms".into(),
        "Begriffe im Kontext",
        a.synonyms.clone(),
        b.synonyms.clone(),
    );
    push(
        "org_unit_id".into(),
        "Zuständige Stelle (Organisationseinheit)",
        serde_json::json!(a.org_unit_id),
        serde_json::json!(b.org_unit_id),
    );
    push(
        "contact_org_unit_id".into(),
        "Ansprechpunkt (Organisationseinheit)",
        serde_json::json!(a.contact_org_unit_id),
        serde_json::json!(b.contact_org_unit_id),
    );
    let ma = parse_modules(&a.modules);
    let mb = parse_modules(&b.modules);
    for field in ModuleField::ALL {
        let before = catalog::module_json(&ma, field);
        let after = catalog::module_json(&mb, field);
        push(
            format!("modules.{}", field.field_name()),
            field.label(),
            before,
            after,
        );
    }
    out
}

/// An editor confirms that the tenant's description still fits the changed base text.
#[instrument(skip_all, fields(tenant = slug, service = %id))]
pub async fn review_base(db: &Db, actor: &Actor, slug: &str, id: ServiceId) -> Result<ServiceView> {
    let t = find_tenant(db, slug).await?;
    actor.authorize(Permission::EditKnowledge, t.id)?;
    let txn = begin_write(db).await?;
    let (current, writer) = load_for_edit(&txn, actor, &t, id).await?;
    let Some(base_id) = current.base_id else {
        return Err(Error::Conflict(
            ProblemKind::NotApplicable,
            "the description has no base text to review".into(),
        ));
    };
    let base = crate::repo::base_text(&txn, base_id)
        .await?
        .ok_or(Error::NotFound("base text"))?;
    if current.base_reviewed_revision == Some(base.revision) {
        txn.commit().await?;
        return full_view(db, current, &t.slug).await;
    }
    let mut changes = <service::ActiveModel as ActiveModelTrait>::default();
    changes.base_reviewed_revision = Set(Some(base.revision));
    let saved = save(
        &txn,
        &writer,
        &current,
        current.version,
        changes,
        SaveInfo {
            author: writer.author(),
            kind: "base_reviewed",
        },
    )
    .await?;
    txn.commit().await?;
    changes::notify(db);
    full_view(db, saved, &t.slug).await
}

/// What changed in the adopted base text since an editor of the tenant last confirmed it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct BaseChanges {
    pub base: BaseRef,
    /// The revision last confirmed (`null`: never; then `changes` are against nothing).
    pub reviewed_revision: Option<i32>,
    /// Title, synonyms and modules that differ between the confirmed and the current
    /// revision (`before` of the confirmed one, `after` of the current one).
    pub changes: Vec<FieldChange>,
}

/// The changes of the adopted base text since the revision last confirmed (scope:
/// `EditKnowledge` on the tenant, as for [`review_base`]). 409 `not-applicable` for a
/// description without a base text.
#[instrument(skip_all, fields(tenant = slug, service = %id))]
pub async fn base_changes(
    db: &Db,
    actor: &Actor,
    slug: &str,
    id: ServiceId,
) -> Result<BaseChanges> {
    let t = find_tenant(db, slug).await?;
    let (current, _writer) = load_for_edit(db, actor, &t, id).await?;
    let reader = access::reader(actor)?;
    let Some(base_id) = current.base_id else {
        return Err(Error::Conflict(
            ProblemKind::NotApplicable,
            "the description has no base text".into(),
        ));
    };
    let base = crate::repo::base_text(db, base_id)
        .await?
        .ok_or(Error::NotFound("base text"))?;
    let before = match current.base_reviewed_revision {
        Some(r) => crate::repo::base_text_revision(db, &reader, base_id, r).await?,
        None => None,
    };
    let mut changes = Vec::new();
    let mut push = |field: String, label: &str, a: serde_json::Value, b: serde_json::Value| {
        if a != b {
            changes.push(FieldChange {
                field,
                label: label.to_owned(),
                before: a,
                after: b,
            });
        }
    };
    let (title, synonyms, modules) = match &before {
        Some(r) => (
            serde_json::Value::from(r.title.clone()),
            r.synonyms.clone(),
            parse_modules(&r.modules),
        ),
        None => (
            serde_json::Value::Null,
            serde_json::json!([]),
            Modules::default(),
        ),
    };
    push(
        "title".into(),
        "Leistungsbezeichnung",
        title,
        base.title.clone().into(),
    );
    push(
        "synonyms".into(),
        "Begriffe im Kontext",
        synonyms,
        base.synonyms.clone(),
    );
    let now = parse_modules(&base.modules);
    for field in ModuleField::ALL {
        push(
            format!("modules.{}", field.field_name()),
            field.label(),
            catalog::module_json(&modules, field),
            catalog::module_json(&now, field),
        );
    }
    Ok(BaseChanges {
        base: catalog::base_ref(&base),
        reviewed_revision: current.base_reviewed_revision,
        changes,
    })
}
