//! Tenants and service centers: the directory of the Verbund.

use std::collections::{BTreeMap, BTreeSet};

use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
use serde::{Deserialize, Serialize};
use tracing::instrument;
use utoipa::ToSchema;
use uuid::Uuid;
use verbund_schema::ids::TenantId;

use crate::access::{Actor, OperatorScope, Permission, Role};
use crate::audit;
use crate::db::Db;
use crate::db::{begin_write, now};
use crate::domain::{
    DisplayName, EmailAddress, RegionalKey, Slug, StateCode, TicketPrefix, TimeZoneName,
};
use crate::error::{Error, Result};
use crate::mail_domains::{self, MailDomain, check_claims, check_sender, domains_of};
use crate::settings::TenantSettings;
use verbund_schema::{center_tenant, service_center, tenant, tenant_mail_address};

/// A tenant as the API shows it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TenantView {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    /// Official regional key (AGS or ARS).
    pub ags: String,
    pub state: String,
    pub time_zone: String,
    pub ticket_prefix: String,
    pub mail_addresses: Vec<String>,
    /// The mail domains the operator assigned; `mail_addresses` lie in them.
    pub mail_domains: Vec<String>,
    pub settings: TenantSettings,
    pub active: bool,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

/// A short reference to a tenant.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TenantRef {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTenant {
    pub slug: String,
    pub name: String,
    pub ags: String,
    #[serde(default = "default_state")]
    pub state: String,
    #[serde(default = "default_time_zone")]
    pub time_zone: String,
    pub ticket_prefix: String,
    /// Inbound addresses; their domains are assigned to the new tenant.
    #[serde(default)]
    pub mail_addresses: Vec<String>,
    /// Further mail domains to assign (see `/tenants/{slug}/mail-domains`).
    #[serde(default)]
    pub mail_domains: Vec<String>,
    #[serde(default)]
    pub settings: Option<serde_json::Value>,
}

fn default_state() -> String {
    "RP".into()
}
fn default_time_zone() -> String {
    "Europe/Berlin".into()
}

/// Changes to a tenant. Absent fields stay as they are. `ags` and `active` are for operators.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantPatch {
    pub name: Option<String>,
    pub ags: Option<String>,
    pub time_zone: Option<String>,
    pub ticket_prefix: Option<String>,
    /// Replaces the inbound addresses. Each must lie in one of the tenant's mail domains and
    /// belong to no other tenant.
    pub mail_addresses: Option<Vec<String>>,
    /// Merged into the stored settings key by key. `mail_from` must be one of the tenant's
    /// own addresses.
    pub settings: Option<serde_json::Value>,
    pub active: Option<bool>,
}

fn parse_addresses(raw: &[String]) -> Result<Vec<EmailAddress>> {
    if raw.len() > 50 {
        return Err(Error::invalid("mail_addresses", "at most 50 addresses"));
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for a in raw {
        let parsed = EmailAddress::parse("mail_addresses", a)?;
        if seen.insert(parsed.clone()) {
            out.push(parsed);
        }
    }
    Ok(out)
}

fn merge_settings(
    stored: &serde_json::Value,
    patch: Option<&serde_json::Value>,
) -> Result<TenantSettings> {
    let mut merged = match stored {
        serde_json::Value::Object(map) => map.clone(),
        _ => serde_json::Map::new(),
    };
    match patch {
        None => {}
        Some(serde_json::Value::Object(p)) => {
            for (k, v) in p {
                merged.insert(k.clone(), v.clone());
            }
        }
        Some(_) => return Err(Error::invalid("settings", "must be an object")),
    }
    let settings: TenantSettings = serde_json::from_value(serde_json::Value::Object(merged))
        .map_err(|e| Error::invalid("settings", e.to_string()))?;
    settings.validate()?;
    Ok(settings)
}

fn settings_json(settings: &TenantSettings) -> Result<serde_json::Value> {
    serde_json::to_value(settings).map_err(|e| Error::internal("tenant settings to JSON", e))
}

/// Finds a tenant by slug, active or not. Used to resolve a path before authorizing.
pub async fn find_tenant(db: &impl ConnectionTrait, slug: &str) -> Result<tenant::Model> {
    crate::repo::tenant_by_slug(db, slug)
        .await?
        .ok_or(Error::NotFound("tenant"))
}

/// Finds a tenant by slug: the actor's copy of it if its grants name it ([`Actor::tenant`]),
/// else from the database.
pub async fn find_tenant_for(
    db: &impl ConnectionTrait,
    actor: &Actor,
    slug: &str,
) -> Result<tenant::Model> {
    match actor.tenant(slug) {
        Some(t) => Ok(t.clone()),
        None => find_tenant(db, slug).await,
    }
}

async fn addresses_of(
    db: &impl ConnectionTrait,
    tenant_ids: impl IntoIterator<Item = TenantId>,
) -> Result<BTreeMap<TenantId, Vec<String>>> {
    let mut out: BTreeMap<TenantId, Vec<String>> = BTreeMap::new();
    for row in crate::repo::addresses_of(db, tenant_ids).await? {
        out.entry(row.tenant_id).or_default().push(row.address);
    }
    Ok(out)
}

fn view(t: tenant::Model, addresses: Vec<String>, domains: Vec<String>) -> TenantView {
    TenantView {
        settings: TenantSettings::from_json(&t.settings),
        id: t.id.uuid(),
        slug: t.slug,
        name: t.name,
        ags: t.ags,
        state: t.state,
        time_zone: t.time_zone,
        ticket_prefix: t.ticket_prefix,
        mail_addresses: addresses,
        mail_domains: domains,
        active: t.active,
        created_at: t.created_at,
        updated_at: t.updated_at,
    }
}

/// The tenants the actor may see.
#[instrument(skip_all)]
pub async fn list_tenants(db: &Db, actor: &Actor) -> Result<Vec<TenantView>> {
    let visibility = actor.visibility(Permission::ViewTenant);
    let rows = crate::repo::visible_tenants(db, &visibility).await?;
    let mut addresses = addresses_of(db, rows.iter().map(|t| t.id)).await?;
    let mut domains = domains_of(db, rows.iter().map(|t| t.id)).await?;
    Ok(rows
        .into_iter()
        .map(|t| {
            let a = addresses.remove(&t.id).unwrap_or_default();
            let d = domains.remove(&t.id).unwrap_or_default();
            view(t, a, d)
        })
        .collect())
}

#[instrument(skip_all, fields(tenant = slug))]
pub async fn get_tenant(db: &Db, actor: &Actor, slug: &str) -> Result<TenantView> {
    let t = find_tenant(db, slug).await?;
    actor.authorize(Permission::ViewTenant, t.id)?;
    let mut a = addresses_of(db, [t.id]).await?;
    let addresses = a.remove(&t.id).unwrap_or_default();
    let domains = domains_of(db, [t.id])
        .await?
        .remove(&t.id)
        .unwrap_or_default();
    Ok(view(t, addresses, domains))
}

async fn replace_addresses(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
    addresses: &[EmailAddress],
) -> Result<()> {
    crate::repo::delete_addresses(db, tenant_id).await?;
    let at = now();
    for a in addresses {
        tenant_mail_address::ActiveModel {
            address: Set(a.as_str().to_owned()),
            tenant_id: Set(tenant_id),
            created_at: Set(at),
        }
        .insert(db)
        .await
        .map_err(|e| Error::from_db_unique(e, &format!("mail address {a}")))?;
    }
    Ok(())
}

#[instrument(skip_all, fields(tenant = input.slug))]
pub async fn create_tenant(db: &Db, scope: &OperatorScope, input: NewTenant) -> Result<TenantView> {
    let slug = Slug::parse("slug", &input.slug)?;
    let name = DisplayName::parse("name", &input.name)?;
    let ags = RegionalKey::parse(&input.ags)?;
    let state = StateCode::parse(&input.state)?;
    let tz = TimeZoneName::parse(&input.time_zone)?;
    let prefix = TicketPrefix::parse(&input.ticket_prefix)?;
    let addresses = parse_addresses(&input.mail_addresses)?;
    if input.mail_domains.len() > 50 {
        return Err(Error::invalid("mail_domains", "at most 50 domains"));
    }
    let mut domains = BTreeSet::new();
    for d in &input.mail_domains {
        domains.insert(MailDomain::parse("mail_domains", d)?.as_str().to_owned());
    }
    // The operator creates the tenant: the domains of its first addresses become its own.
    domains.extend(addresses.iter().map(MailDomain::of));
    let settings = merge_settings(&serde_json::json!({}), input.settings.as_ref())?;
    check_sender(
        &settings,
        &addresses
            .iter()
            .map(|a| a.as_str().to_owned())
            .collect::<Vec<_>>(),
    )?;

    let txn = begin_write(db).await?;
    let at = now();
    let id = TenantId::now_v7();
    let model = tenant::ActiveModel {
        id: Set(id),
        slug: Set(slug.into_inner()),
        name: Set(name.into_inner()),
        ags: Set(ags.into_inner()),
        state: Set(state.into_inner()),
        time_zone: Set(tz.into_inner()),
        ticket_prefix: Set(prefix.into_inner()),
        settings: Set(settings_json(&settings)?),
        active: Set(true),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(&txn)
    .await
    .map_err(|e| Error::from_db_unique(e, "tenant slug"))?;
    mail_domains::assign(&txn, id, &domains).await?;
    check_claims(&txn, id, &addresses).await?;
    replace_addresses(&txn, id, &addresses).await?;
    audit::record(
        &txn,
        Some(id),
        Some(scope.actor_id()),
        "tenant.create",
        "tenant",
        &model.slug,
        serde_json::json!({ "name": model.name, "ags": model.ags }),
    )
    .await?;
    crate::auth::bump_epoch(&txn).await?;
    txn.commit().await?;
    crate::auth::invalidate_local(db);
    Ok(view(
        model,
        addresses
            .into_iter()
            .map(EmailAddress::into_inner)
            .collect(),
        domains.into_iter().collect(),
    ))
}

#[instrument(skip_all, fields(tenant = slug))]
pub async fn update_tenant(
    db: &Db,
    actor: &Actor,
    slug: &str,
    patch: TenantPatch,
) -> Result<TenantView> {
    let current = find_tenant(db, slug).await?;
    let scope = actor.authorize(Permission::ManageTenant, current.id)?;
    if (patch.ags.is_some() || patch.active.is_some()) && !scope.is_operator() {
        return Err(Error::Forbidden(
            "only operators change the AGS or deactivate a tenant",
        ));
    }
    let name = patch
        .name
        .as_deref()
        .map(|n| DisplayName::parse("name", n))
        .transpose()?;
    let ags = patch.ags.as_deref().map(RegionalKey::parse).transpose()?;
    let tz = patch
        .time_zone
        .as_deref()
        .map(TimeZoneName::parse)
        .transpose()?;
    let prefix = patch
        .ticket_prefix
        .as_deref()
        .map(TicketPrefix::parse)
        .transpose()?;
    let addresses = patch
        .mail_addresses
        .as_deref()
        .map(parse_addresses)
        .transpose()?;
    let settings = patch
        .settings
        .as_ref()
        .map(|p| merge_settings(&current.settings, Some(p)))
        .transpose()?;

    let txn = begin_write(db).await?;
    if let Some(a) = &addresses {
        check_claims(&txn, current.id, a).await?;
    }
    if addresses.is_some() || settings.is_some() {
        let final_addresses: Vec<String> = match &addresses {
            Some(a) => a.iter().map(|x| x.as_str().to_owned()).collect(),
            None => addresses_of(&txn, [current.id])
                .await?
                .remove(&current.id)
                .unwrap_or_default(),
        };
        let final_settings = match &settings {
            Some(s) => s.clone(),
            None => TenantSettings::from_json(&current.settings),
        };
        check_sender(&final_settings, &final_addresses)?;
    }
    let before = serde_json::json!({
        "name": current.name, "ags": current.ags, "time_zone": current.time_zone,
        "ticket_prefix": current.ticket_prefix, "settings": current.settings, "active": current.active,
    });
    let mut active: tenant::ActiveModel = current.into();
    if let Some(v) = name {
        active.name = Set(v.into_inner());
    }
    if let Some(v) = ags {
        active.ags = Set(v.into_inner());
    }
    if let Some(v) = tz {
        active.time_zone = Set(v.into_inner());
    }
    if let Some(v) = prefix {
        active.ticket_prefix = Set(v.into_inner());
    }
    if let Some(v) = &settings {
        active.settings = Set(settings_json(v)?);
    }
    if let Some(v) = patch.active {
        active.active = Set(v);
    }
    active.updated_at = Set(now());
    let model = active.update(&txn).await?;
    if let Some(a) = &addresses {
        replace_addresses(&txn, model.id, a).await?;
    }
    audit::record(
        &txn,
        Some(model.id),
        Some(scope.actor_id()),
        "tenant.update",
        "tenant",
        &model.slug,
        serde_json::json!({
            "before": before,
            "after": {
                "name": model.name, "ags": model.ags, "time_zone": model.time_zone,
                "ticket_prefix": model.ticket_prefix, "settings": model.settings, "active": model.active,
                "mail_addresses": addresses.as_ref().map(|a| a.iter().map(|x| x.as_str()).collect::<Vec<_>>()),
            }
        }),
    )
    .await?;
    crate::auth::bump_epoch(&txn).await?;
    txn.commit().await?;
    crate::auth::invalidate_local(db);
    let mut a = addresses_of(db, [model.id]).await?;
    let list = a.remove(&model.id).unwrap_or_default();
    let domains = domains_of(db, [model.id])
        .await?
        .remove(&model.id)
        .unwrap_or_default();
    Ok(view(model, list, domains))
}

/// A service center with the tenants it serves.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CenterView {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub active: bool,
    pub tenants: Vec<TenantRef>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCenter {
    pub slug: String,
    pub name: String,
    /// Slugs of the tenants the center serves.
    #[serde(default)]
    pub tenants: Vec<String>,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CenterTenants {
    /// Slugs of the tenants the center serves; replaces the current list.
    pub tenants: Vec<String>,
}

pub async fn find_center(db: &impl ConnectionTrait, slug: &str) -> Result<service_center::Model> {
    crate::repo::center_by_slug(db, slug)
        .await?
        .ok_or(Error::NotFound("service center"))
}

async fn center_views(
    db: &impl ConnectionTrait,
    centers: Vec<service_center::Model>,
) -> Result<Vec<CenterView>> {
    let links = crate::repo::center_links(db, centers.iter().map(|c| c.id)).await?;
    let tenants: BTreeMap<TenantId, tenant::Model> =
        crate::repo::tenants_by_id(db, links.iter().map(|l| l.tenant_id))
            .await?
            .into_iter()
            .map(|t| (t.id, t))
            .collect();
    Ok(centers
        .into_iter()
        .map(|c| {
            let mut served: Vec<TenantRef> = links
                .iter()
                .filter(|l| l.center_id == c.id)
                .filter_map(|l| tenants.get(&l.tenant_id))
                .map(|t| TenantRef {
                    id: t.id.uuid(),
                    slug: t.slug.clone(),
                    name: t.name.clone(),
                })
                .collect();
            served.sort_by(|a, b| a.slug.cmp(&b.slug));
            CenterView {
                id: c.id,
                slug: c.slug,
                name: c.name,
                active: c.active,
                tenants: served,
                created_at: c.created_at,
            }
        })
        .collect())
}

/// Whether the actor may see a center: operators see all; others see the centers they work in
/// and the centers that serve a tenant they may view.
fn may_see_center(actor: &Actor, center_id: Uuid, served: &[TenantId]) -> bool {
    actor.is_operator()
        || actor
            .grants()
            .iter()
            .any(|g| g.scope == crate::access::GrantScope::Center(center_id))
        || served.iter().any(|t| actor.may(Permission::ViewTenant, *t))
}

#[instrument(skip_all)]
pub async fn list_centers(db: &Db, actor: &Actor) -> Result<Vec<CenterView>> {
    let all = crate::repo::centers(db).await?;
    let views = center_views(db, all).await?;
    Ok(views
        .into_iter()
        .filter(|c| {
            let served: Vec<TenantId> = c.tenants.iter().map(|t| t.id.into()).collect();
            may_see_center(actor, c.id, &served)
        })
        .collect())
}

#[instrument(skip_all, fields(center = slug))]
pub async fn get_center(db: &Db, actor: &Actor, slug: &str) -> Result<CenterView> {
    let c = find_center(db, slug).await?;
    let view = center_views(db, vec![c])
        .await?
        .pop()
        .ok_or(Error::NotFound("service center"))?;
    let served: Vec<TenantId> = view.tenants.iter().map(|t| t.id.into()).collect();
    if may_see_center(actor, view.id, &served) {
        Ok(view)
    } else {
        Err(Error::Forbidden("not permitted for this service center"))
    }
}

async fn resolve_tenant_slugs(
    db: &impl ConnectionTrait,
    slugs: &[String],
) -> Result<Vec<tenant::Model>> {
    if slugs.len() > 500 {
        return Err(Error::invalid("tenants", "at most 500 tenants"));
    }
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for s in slugs {
        let slug = Slug::parse("tenants", s)?;
        if !seen.insert(slug.clone()) {
            continue;
        }
        let t = crate::repo::tenant_by_slug(db, slug.as_str())
            .await?
            .ok_or_else(|| Error::invalid("tenants", format!("unknown tenant {slug}")))?;
        out.push(t);
    }
    Ok(out)
}

async fn replace_center_tenants(
    db: &impl ConnectionTrait,
    center_id: Uuid,
    tenants: &[tenant::Model],
) -> Result<()> {
    crate::repo::delete_center_links(db, center_id).await?;
    let at = now();
    for t in tenants {
        center_tenant::ActiveModel {
            center_id: Set(center_id),
            tenant_id: Set(t.id),
            created_at: Set(at),
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

#[instrument(skip_all, fields(center = input.slug))]
pub async fn create_center(db: &Db, scope: &OperatorScope, input: NewCenter) -> Result<CenterView> {
    let slug = Slug::parse("slug", &input.slug)?;
    let name = DisplayName::parse("name", &input.name)?;
    let txn = begin_write(db).await?;
    let tenants = resolve_tenant_slugs(&txn, &input.tenants).await?;
    let at = now();
    let model = service_center::ActiveModel {
        id: Set(Uuid::now_v7()),
        slug: Set(slug.into_inner()),
        name: Set(name.into_inner()),
        active: Set(true),
        created_at: Set(at),
        updated_at: Set(at),
    }
    .insert(&txn)
    .await
    .map_err(|e| Error::from_db_unique(e, "service center slug"))?;
    replace_center_tenants(&txn, model.id, &tenants).await?;
    audit::record(
        &txn,
        None,
        Some(scope.actor_id()),
        "center.create",
        "service_center",
        &model.slug,
        serde_json::json!({ "tenants": tenants.iter().map(|t| &t.slug).collect::<Vec<_>>() }),
    )
    .await?;
    let view = center_views(&txn, vec![model])
        .await?
        .pop()
        .ok_or(Error::NotFound("service center"))?;
    crate::auth::bump_epoch(&txn).await?;
    txn.commit().await?;
    crate::auth::invalidate_local(db);
    Ok(view)
}

#[instrument(skip_all, fields(center = slug))]
pub async fn set_center_tenants(
    db: &Db,
    scope: &OperatorScope,
    slug: &str,
    input: CenterTenants,
) -> Result<CenterView> {
    let txn = begin_write(db).await?;
    let center = find_center(&txn, slug).await?;
    let tenants = resolve_tenant_slugs(&txn, &input.tenants).await?;
    replace_center_tenants(&txn, center.id, &tenants).await?;
    audit::record(
        &txn,
        None,
        Some(scope.actor_id()),
        "center.set_tenants",
        "service_center",
        &center.slug,
        serde_json::json!({ "tenants": tenants.iter().map(|t| &t.slug).collect::<Vec<_>>() }),
    )
    .await?;
    let view = center_views(&txn, vec![center])
        .await?
        .pop()
        .ok_or(Error::NotFound("service center"))?;
    crate::auth::bump_epoch(&txn).await?;
    txn.commit().await?;
    crate::auth::invalidate_local(db);
    Ok(view)
}

/// What `GET /me` shows: the tenants the actor can act for, with the roles that reach each.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ActingTenant {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub roles: Vec<Role>,
}
