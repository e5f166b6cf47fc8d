#![allow(
    clippy::disallowed_methods,
    reason = "the repository: the one place that queries tables; every function takes the proof of access"
)]
//! The repository of the knowledge crate: the only module that queries its tables.
//!
//! Every function that reads or changes a tenant's descriptions or offices takes the proof of
//! access and adds the condition itself:
//! - a [`KnowledgeReader`] (from `access::reader`) for reads: descriptions come filtered by
//!   the read rule (published, or drafts of the reader's own tenants), offices are public to
//!   every reader;
//! - a [`Writer`] for changes: a user's [`TenantScope`] (`EditKnowledge`, `ManageOrgUnits`)
//!   or the import command's [`SystemScope`]; a row of another tenant is not found;
//! - a description as loaded through one of those for its versions and its offices.
//!
//! The catalogue of base texts belongs to no tenant (operators write it, every reader reads
//! it); its functions take an [`OperatorScope`] for changes and a reader for reads. The search
//! index follower (background work, no user) reads every tenant's descriptions through the
//! `system_*` functions; the index itself filters each reader's results by the same rule.

use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};
use std::collections::{BTreeSet, HashMap};
use uuid::Uuid;
use verbund_schema::ids::ServiceId;
use verbund_schema::ids::TenantId;
use verbund_schema::{
    base_text, change, org_unit, service, service_leika_key, service_version, tenant, user,
};
use verbund_tenant::access::knowledge::KnowledgeReader;
use verbund_tenant::access::{OperatorScope, SystemScope};
use verbund_tenant::{Error, Result, TenantScope};

/// Proof that a tenant's knowledge may be written, and by whom.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Writer {
    tenant_id: TenantId,
    author: Option<Uuid>,
}

impl Writer {
    /// A user with `EditKnowledge` or `ManageOrgUnits` on the scope's tenant.
    pub(crate) fn user(scope: &TenantScope) -> Self {
        Self {
            tenant_id: scope.tenant_id(),
            author: Some(scope.actor_id()),
        }
    }

    /// The import command on the server's own machine (`verbund import`), for one tenant.
    pub(crate) fn system(_job: &SystemScope, tenant_id: TenantId) -> Self {
        Self {
            tenant_id,
            author: None,
        }
    }

    pub(crate) fn author(&self) -> Option<Uuid> {
        self.author
    }
}

// --- Descriptions -----------------------------------------------------------------------------

/// A page of a tenant's descriptions that the reader may read, ANDed with `cond` (filters).
pub(crate) async fn service_page(
    db: &impl ConnectionTrait,
    reader: &KnowledgeReader,
    tenant_id: TenantId,
    cond: Condition,
    offset: u64,
    limit: u64,
) -> Result<Vec<service::Model>> {
    Ok(service::Entity::find()
        .filter(service::Column::TenantId.eq(tenant_id))
        .filter(reader.services())
        .filter(cond)
        .order_by_asc(service::Column::Title)
        .order_by_asc(service::Column::Id)
        .offset(offset)
        .limit(limit)
        .all(db)
        .await?)
}

/// One description of a tenant that the reader may read.
pub(crate) async fn readable_service(
    db: &impl ConnectionTrait,
    reader: &KnowledgeReader,
    tenant_id: TenantId,
    id: ServiceId,
) -> Result<Option<service::Model>> {
    Ok(service::Entity::find_by_id(id)
        .filter(service::Column::TenantId.eq(tenant_id))
        .filter(reader.services())
        .one(db)
        .await?)
}

/// The writer's tenant's descriptions with `statuses`, by title (the export).
pub(crate) async fn services_with_status(
    db: &impl ConnectionTrait,
    scope: &TenantScope,
    statuses: &[&str],
) -> Result<Vec<service::Model>> {
    Ok(service::Entity::find()
        .filter(scope.filter(service::Column::TenantId))
        .filter(service::Column::Status.is_in(statuses.iter().copied()))
        .order_by_asc(service::Column::Title)
        .order_by_asc(service::Column::Id)
        .all(db)
        .await?)
}

/// One description of the writer's tenant.
pub(crate) async fn service_for_edit(
    db: &impl ConnectionTrait,
    writer: &Writer,
    id: ServiceId,
) -> Result<Option<service::Model>> {
    Ok(service::Entity::find_by_id(id)
        .filter(service::Column::TenantId.eq(writer.tenant_id))
        .one(db)
        .await?)
}

/// Rows per `IN (…)` list: well below the bind-parameter limits of SQLite and PostgreSQL.
const IN_CHUNK: usize = 500;

/// The LeiKa keys of descriptions (as loaded through a function above), sorted, by
/// description. A description without keys has no entry.
pub(crate) async fn leika_keys_of(
    db: &impl ConnectionTrait,
    rows: &[service::Model],
) -> Result<HashMap<ServiceId, Vec<String>>> {
    let mut out: HashMap<ServiceId, Vec<String>> = HashMap::new();
    for chunk in rows.chunks(IN_CHUNK) {
        let tenants: BTreeSet<TenantId> = chunk.iter().map(|s| s.tenant_id).collect();
        let found = service_leika_key::Entity::find()
            .filter(service_leika_key::Column::TenantId.is_in(tenants))
            .filter(service_leika_key::Column::ServiceId.is_in(chunk.iter().map(|s| s.id)))
            .all(db)
            .await?;
        for key in found {
            out.entry(key.service_id).or_default().push(key.leika_key);
        }
    }
    for keys in out.values_mut() {
        keys.sort();
    }
    Ok(out)
}

/// Removes the LeiKa keys of a description of the writer's tenant.
pub(crate) async fn delete_leika_keys(
    db: &impl ConnectionTrait,
    writer: &Writer,
    s: &service::Model,
) -> Result<()> {
    service_leika_key::Entity::delete_many()
        .filter(service_leika_key::Column::TenantId.eq(writer.tenant_id))
        .filter(service_leika_key::Column::ServiceId.eq(s.id))
        .exec(db)
        .await?;
    Ok(())
}

/// (description id, key) of the writer's tenant's descriptions with any of these keys.
pub(crate) async fn service_ids_by_leika(
    db: &impl ConnectionTrait,
    writer: &Writer,
    keys: &[String],
) -> Result<Vec<(ServiceId, String)>> {
    let mut out = Vec::new();
    for chunk in keys.chunks(IN_CHUNK) {
        let found = service_leika_key::Entity::find()
            .filter(service_leika_key::Column::TenantId.eq(writer.tenant_id))
            .filter(service_leika_key::Column::LeikaKey.is_in(chunk.iter().map(String::as_str)))
            .all(db)
            .await?;
        out.extend(found.into_iter().map(|k| (k.service_id, k.leika_key)));
    }
    Ok(out)
}

/// The writer's tenant's descriptions with these external ids.
pub(crate) async fn services_by_external_id<'a>(
    db: &impl ConnectionTrait,
    writer: &Writer,
    ids: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<service::Model>> {
    let ids: Vec<&str> = ids.into_iter().collect();
    let mut out = Vec::new();
    for chunk in ids.chunks(IN_CHUNK) {
        out.extend(
            service::Entity::find()
                .filter(service::Column::TenantId.eq(writer.tenant_id))
                .filter(service::Column::ExternalId.is_in(chunk.iter().copied()))
                .all(db)
                .await?,
        );
    }
    Ok(out)
}

/// The writer's tenant's descriptions with these ids.
pub(crate) async fn services_by_id(
    db: &impl ConnectionTrait,
    writer: &Writer,
    ids: &[ServiceId],
) -> Result<Vec<service::Model>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(IN_CHUNK) {
        out.extend(
            service::Entity::find()
                .filter(service::Column::TenantId.eq(writer.tenant_id))
                .filter(service::Column::Id.is_in(chunk.iter().copied()))
                .all(db)
                .await?,
        );
    }
    Ok(out)
}

/// The writer's tenant's descriptions with these titles.
pub(crate) async fn services_by_title(
    db: &impl ConnectionTrait,
    writer: &Writer,
    titles: &[String],
) -> Result<Vec<service::Model>> {
    let mut out = Vec::new();
    for chunk in titles.chunks(IN_CHUNK) {
        out.extend(
            service::Entity::find()
                .filter(service::Column::TenantId.eq(writer.tenant_id))
                .filter(service::Column::Title.is_in(chunk.iter().map(String::as_str)))
                .all(db)
                .await?,
        );
    }
    Ok(out)
}

/// The list filter "has a LeiKa key that starts with `prefix`", for descriptions of
/// `tenant_id` (ANDed into a query that already filters by that tenant and reader).
pub(crate) fn leika_prefix_filter(tenant_id: TenantId, prefix: &str) -> Condition {
    let keys = sea_orm::sea_query::Query::select()
        .column(service_leika_key::Column::ServiceId)
        .from(service_leika_key::Entity)
        .and_where(service_leika_key::Column::TenantId.eq(tenant_id))
        .and_where(service_leika_key::Column::LeikaKey.starts_with(prefix))
        .to_owned();
    Condition::all().add(service::Column::Id.in_subquery(keys))
}

/// Saves `changes` to a description of the writer's tenant if its version is still
/// `expected_version` (the caller sets the new version); Conflict otherwise.
pub(crate) async fn save_service(
    db: &impl ConnectionTrait,
    writer: &Writer,
    current: &service::Model,
    expected_version: i32,
    changes: service::ActiveModel,
) -> Result<service::Model> {
    let result = service::Entity::update_many()
        .set(changes)
        .filter(service::Column::Id.eq(current.id))
        .filter(service::Column::TenantId.eq(writer.tenant_id))
        .filter(service::Column::Version.eq(expected_version))
        .exec(db)
        .await?;
    if result.rows_affected == 0 {
        return Err(Error::Conflict(
            verbund_tenant::ProblemKind::StaleVersion,
            "the description was changed meanwhile; reload it".into(),
        ));
    }
    service::Entity::find_by_id(current.id)
        .one(db)
        .await?
        .ok_or(Error::NotFound("service"))
}

/// Every saved version of `s`, newest first.
pub(crate) async fn versions_of(
    db: &impl ConnectionTrait,
    s: &service::Model,
) -> Result<Vec<service_version::Model>> {
    Ok(service_version::Entity::find()
        .filter(service_version::Column::TenantId.eq(s.tenant_id))
        .filter(service_version::Column::ServiceId.eq(s.id))
        .order_by_desc(service_version::Column::Version)
        .all(db)
        .await?)
}

/// One saved version of `s`.
pub(crate) async fn version_of(
    db: &impl ConnectionTrait,
    s: &service::Model,
    version: i32,
) -> Result<Option<service_version::Model>> {
    Ok(service_version::Entity::find()
        .filter(service_version::Column::TenantId.eq(s.tenant_id))
        .filter(service_version::Column::ServiceId.eq(s.id))
        .filter(service_version::Column::Version.eq(version))
        .one(db)
        .await?)
}

/// The display names of the authors of versions (as loaded through [`versions_of`]).
pub(crate) async fn author_names(
    db: &impl ConnectionTrait,
    ids: Vec<Uuid>,
) -> Result<Vec<(Uuid, String)>> {
    Ok(user::Entity::find()
        .filter(user::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|u| (u.id, u.display_name))
        .collect())
}

// --- Offices (org units) ----------------------------------------------------------------------

/// A tenant's offices by name: public to every reader of knowledge.
pub(crate) async fn org_units(
    db: &impl ConnectionTrait,
    _reader: &KnowledgeReader,
    tenant_id: TenantId,
) -> Result<Vec<org_unit::Model>> {
    Ok(org_unit::Entity::find()
        .filter(org_unit::Column::TenantId.eq(tenant_id))
        .order_by_asc(org_unit::Column::Name)
        .order_by_asc(org_unit::Column::Id)
        .all(db)
        .await?)
}

/// One office of a tenant: public to every reader of knowledge.
pub(crate) async fn org_unit(
    db: &impl ConnectionTrait,
    _reader: &KnowledgeReader,
    tenant_id: TenantId,
    id: Uuid,
) -> Result<Option<org_unit::Model>> {
    Ok(org_unit::Entity::find_by_id(id)
        .filter(org_unit::Column::TenantId.eq(tenant_id))
        .one(db)
        .await?)
}

/// One office of the writer's tenant.
pub(crate) async fn org_unit_for_edit(
    db: &impl ConnectionTrait,
    writer: &Writer,
    id: Uuid,
) -> Result<Option<org_unit::Model>> {
    Ok(org_unit::Entity::find_by_id(id)
        .filter(org_unit::Column::TenantId.eq(writer.tenant_id))
        .one(db)
        .await?)
}

/// Every office of the writer's tenant (import and export map their external ids).
pub(crate) async fn org_units_for_edit(
    db: &impl ConnectionTrait,
    writer: &Writer,
) -> Result<Vec<org_unit::Model>> {
    Ok(org_unit::Entity::find()
        .filter(org_unit::Column::TenantId.eq(writer.tenant_id))
        .all(db)
        .await?)
}

/// The office of the writer's tenant with this external id, or (none given) this name.
pub(crate) async fn org_unit_by_key(
    db: &impl ConnectionTrait,
    writer: &Writer,
    external_id: Option<&str>,
    name: &str,
) -> Result<Option<org_unit::Model>> {
    let query = org_unit::Entity::find().filter(org_unit::Column::TenantId.eq(writer.tenant_id));
    let query = match external_id {
        Some(ext) => query.filter(org_unit::Column::ExternalId.eq(ext)),
        None => query.filter(org_unit::Column::Name.eq(name)),
    };
    Ok(query.one(db).await?)
}

/// Saves `changes` to an office of the writer's tenant if its version is still
/// `expected_version`; false if it changed meanwhile.
pub(crate) async fn save_org_unit(
    db: &impl ConnectionTrait,
    writer: &Writer,
    current: &org_unit::Model,
    changes: org_unit::ActiveModel,
) -> Result<bool> {
    let result = org_unit::Entity::update_many()
        .set(changes)
        .filter(org_unit::Column::Id.eq(current.id))
        .filter(org_unit::Column::TenantId.eq(writer.tenant_id))
        .filter(org_unit::Column::Version.eq(current.version))
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}

/// An office a description (as loaded through a function above) names.
pub(crate) async fn org_unit_of(
    db: &impl ConnectionTrait,
    s: &service::Model,
    id: Uuid,
) -> Result<Option<org_unit::Model>> {
    Ok(org_unit::Entity::find_by_id(id)
        .filter(org_unit::Column::TenantId.eq(s.tenant_id))
        .one(db)
        .await?)
}

// --- The catalogue of base texts (no tenant) --------------------------------------------------

/// The catalogue by title.
pub(crate) async fn base_texts(
    db: &impl ConnectionTrait,
    _reader: &KnowledgeReader,
) -> Result<Vec<base_text::Model>> {
    Ok(base_text::Entity::find()
        .order_by_asc(base_text::Column::Title)
        .all(db)
        .await?)
}

/// One base text. The catalogue is readable by every reader; a description's own base text
/// is read with it.
pub(crate) async fn base_text(
    db: &impl ConnectionTrait,
    id: Uuid,
) -> Result<Option<base_text::Model>> {
    Ok(base_text::Entity::find_by_id(id).one(db).await?)
}

/// The base texts with these ids.
pub(crate) async fn base_texts_by_id(
    db: &impl ConnectionTrait,
    ids: Vec<Uuid>,
) -> Result<Vec<base_text::Model>> {
    Ok(base_text::Entity::find()
        .filter(base_text::Column::Id.is_in(ids))
        .all(db)
        .await?)
}

/// The base text with this LeiKa key.
pub(crate) async fn base_text_by_leika(
    db: &impl ConnectionTrait,
    leika: &str,
) -> Result<Option<base_text::Model>> {
    Ok(base_text::Entity::find()
        .filter(base_text::Column::Leika.eq(leika))
        .one(db)
        .await?)
}

/// Saves `changes` to a base text if its revision is still `current.revision`; false
/// otherwise. Operators only.
pub(crate) async fn save_base_text(
    db: &impl ConnectionTrait,
    _operator: &OperatorScope,
    current: &base_text::Model,
    changes: base_text::ActiveModel,
) -> Result<bool> {
    let result = base_text::Entity::update_many()
        .set(changes)
        .filter(base_text::Column::Id.eq(current.id))
        .filter(base_text::Column::Revision.eq(current.revision))
        .exec(db)
        .await?;
    Ok(result.rows_affected > 0)
}

/// The descriptions (of every tenant) that adopted a base text: an operator's change of the
/// base text re-indexes them.
pub(crate) async fn adopters_of(
    db: &impl ConnectionTrait,
    _operator: &OperatorScope,
    base: &base_text::Model,
) -> Result<Vec<service::Model>> {
    Ok(service::Entity::find()
        .filter(service::Column::BaseId.eq(base.id))
        .all(db)
        .await?)
}

// --- Background work and set-up (no user) -----------------------------------------------------

/// Slugs of every tenant (the index names each hit's tenant; search resolves tenant filters).
pub(crate) async fn tenant_slugs(db: &impl ConnectionTrait) -> Result<Vec<(TenantId, String)>> {
    Ok(tenant::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.id, t.slug))
        .collect())
}

/// The tenants with these slugs.
pub(crate) async fn tenants_by_slug<'a>(
    db: &impl ConnectionTrait,
    slugs: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<tenant::Model>> {
    Ok(tenant::Entity::find()
        .filter(tenant::Column::Slug.is_in(slugs))
        .all(db)
        .await?)
}

/// The ids of the change feed in `(from, to]`.
pub(crate) async fn system_change_ids(
    db: &impl ConnectionTrait,
    _job: &SystemScope,
    from: i64,
    to: i64,
) -> Result<Vec<i64>> {
    Ok(change::Entity::find()
        .select_only()
        .column(change::Column::Id)
        .filter(change::Column::Id.gt(from))
        .filter(change::Column::Id.lte(to))
        .into_tuple::<i32>()
        .all(db)
        .await?
        .into_iter()
        .map(i64::from)
        .collect())
}

/// Up to `limit` changes matching `wanted`, oldest first.
pub(crate) async fn system_changes(
    db: &impl ConnectionTrait,
    _job: &SystemScope,
    wanted: Condition,
    limit: u64,
) -> Result<Vec<change::Model>> {
    Ok(change::Entity::find()
        .filter(wanted)
        .order_by_asc(change::Column::Id)
        .limit(limit)
        .all(db)
        .await?)
}

/// The newest change.
pub(crate) async fn system_last_change(
    db: &impl ConnectionTrait,
    _job: &SystemScope,
) -> Result<Option<change::Model>> {
    Ok(change::Entity::find()
        .order_by_desc(change::Column::Id)
        .one(db)
        .await?)
}

/// Up to `limit` descriptions of every tenant not in status `except`, by id after `after`.
pub(crate) async fn system_services_after(
    db: &impl ConnectionTrait,
    _job: &SystemScope,
    except: &str,
    after: Option<Uuid>,
    limit: u64,
) -> Result<Vec<service::Model>> {
    let mut query = service::Entity::find()
        .filter(service::Column::Status.ne(except))
        .order_by_asc(service::Column::Id)
        .limit(limit);
    if let Some(id) = after {
        query = query.filter(service::Column::Id.gt(id));
    }
    Ok(query.all(db).await?)
}

/// The descriptions with these ids, of every tenant.
pub(crate) async fn system_services(
    db: &impl ConnectionTrait,
    _job: &SystemScope,
    ids: impl IntoIterator<Item = Uuid>,
) -> Result<Vec<service::Model>> {
    Ok(service::Entity::find()
        .filter(service::Column::Id.is_in(ids))
        .all(db)
        .await?)
}

/// Whether any description exists (the demo seed runs only without).
pub(crate) async fn any_service(db: &impl ConnectionTrait) -> Result<bool> {
    Ok(service::Entity::find().one(db).await?.is_some())
}

#[cfg(test)]
mod tests;

// --- Descriptions an office offers ------------------------------------------------------------

/// The ids of the descriptions an office of the writer's tenant offers.
pub(crate) async fn offered_service_ids(
    db: &impl ConnectionTrait,
    writer: &Writer,
    org_unit_id: Uuid,
) -> Result<Vec<ServiceId>> {
    use verbund_schema::org_unit_service;
    Ok(org_unit_service::Entity::find()
        .filter(org_unit_service::Column::TenantId.eq(writer.tenant_id))
        .filter(org_unit_service::Column::OrgUnitId.eq(org_unit_id))
        .all(db)
        .await?
        .into_iter()
        .map(|row| row.service_id)
        .collect())
}

/// Makes `service_ids` (descriptions of the writer's tenant) the descriptions an office of
/// the writer's tenant offers.
pub(crate) async fn replace_offered_services(
    db: &impl ConnectionTrait,
    writer: &Writer,
    org_unit_id: Uuid,
    service_ids: &[ServiceId],
) -> Result<()> {
    use sea_orm::Set;
    use verbund_schema::org_unit_service;
    // Both ends must be the writer's tenant's.
    if org_unit_for_edit(db, writer, org_unit_id).await?.is_none() {
        return Err(Error::NotFound("org unit"));
    }
    org_unit_service::Entity::delete_many()
        .filter(org_unit_service::Column::TenantId.eq(writer.tenant_id))
        .filter(org_unit_service::Column::OrgUnitId.eq(org_unit_id))
        .exec(db)
        .await?;
    let at = verbund_tenant::db::now();
    let services = service::Entity::find()
        .filter(service::Column::TenantId.eq(writer.tenant_id))
        .filter(service::Column::Id.is_in(service_ids.iter().copied()))
        .all(db)
        .await?;
    let rows: Vec<org_unit_service::ActiveModel> = services
        .iter()
        .map(|s| org_unit_service::ActiveModel {
            tenant_id: Set(writer.tenant_id),
            org_unit_id: Set(org_unit_id),
            service_id: Set(s.id),
            created_at: Set(at),
        })
        .collect();
    for chunk in rows.chunks(500) {
        org_unit_service::Entity::insert_many(chunk.to_vec())
            .exec(db)
            .await?;
    }
    Ok(())
}

/// The descriptions the reader may read that offices of a tenant offer, with the office each
/// belongs to.
pub(crate) async fn offered_services(
    db: &impl ConnectionTrait,
    reader: &KnowledgeReader,
    tenant_id: TenantId,
    org_unit_ids: &[Uuid],
) -> Result<Vec<(Uuid, service::Model)>> {
    use verbund_schema::org_unit_service;
    let links = org_unit_service::Entity::find()
        .filter(org_unit_service::Column::TenantId.eq(tenant_id))
        .filter(org_unit_service::Column::OrgUnitId.is_in(org_unit_ids.iter().copied()))
        .all(db)
        .await?;
    if links.is_empty() {
        return Ok(Vec::new());
    }
    let mut ids: Vec<ServiceId> = links.iter().map(|l| l.service_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut services = std::collections::HashMap::new();
    for chunk in ids.chunks(500) {
        let rows = service::Entity::find()
            .filter(service::Column::TenantId.eq(tenant_id))
            .filter(reader.services())
            .filter(service::Column::Id.is_in(chunk.iter().copied()))
            .all(db)
            .await?;
        services.extend(rows.into_iter().map(|s| (s.id, s)));
    }
    Ok(links
        .into_iter()
        .filter_map(|l| {
            services
                .get(&l.service_id)
                .map(|s| (l.org_unit_id, s.clone()))
        })
        .collect())
}

/// The descriptions of a tenant, readable by `reader`, that name an org unit as their
/// responsible office or contact point.
pub(crate) async fn services_naming_org_unit(
    db: &impl ConnectionTrait,
    reader: &KnowledgeReader,
    tenant_id: TenantId,
    org_unit_id: Uuid,
) -> Result<Vec<service::Model>> {
    Ok(service::Entity::find()
        .filter(service::Column::TenantId.eq(tenant_id))
        .filter(reader.services())
        .filter(
            Condition::any()
                .add(service::Column::OrgUnitId.eq(org_unit_id))
                .add(service::Column::ContactOrgUnitId.eq(org_unit_id)),
        )
        .order_by_asc(service::Column::Title)
        .limit(1000)
        .all(db)
        .await?)
}

/// One stored revision of a base text. The catalogue is shared by the whole Verbund and
/// readable by every reader of knowledge.
pub(crate) async fn base_text_revision(
    db: &impl ConnectionTrait,
    _reader: &KnowledgeReader,
    base_id: Uuid,
    revision: i32,
) -> Result<Option<verbund_schema::base_text_revision::Model>> {
    Ok(
        verbund_schema::base_text_revision::Entity::find_by_id((base_id, revision))
            .one(db)
            .await?,
    )
}
