//! Mail identity: which addresses a tenant may receive at and send from.
//!
//! The operator assigns mail domains to tenants (`tenant_mail_domains`). The rules, checked in
//! the write transaction of every change of a tenant's addresses or settings:
//! - a tenant claims inbound addresses only in its own domains (422 otherwise);
//! - an address belongs to one tenant in the whole Verbund (409 otherwise). Routing treats
//!   `local+tag@domain` as `local@domain` when no tenant has the exact address, so two addresses
//!   with the same base count as the same address when they belong to different tenants;
//! - the sender address (`settings.mail_from`) is one of the tenant's own addresses (422).
//!
//! A domain may be assigned to several tenants on purpose (a shared domain); the tenants then
//! share it address by address. Claims in a domain are serialised by locking the domain's rows
//! (PostgreSQL; SQLite has one writer), so two tenants cannot claim the same base address at once.

use std::collections::{BTreeMap, BTreeSet};

use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};
use serde::{Deserialize, Serialize};
use tracing::instrument;
use utoipa::ToSchema;
use verbund_schema::ids::TenantId;

use crate::access::{Actor, OperatorScope, Permission};
use crate::audit;
use crate::db::Db;
use crate::db::{begin_write, now};
use crate::directory::find_tenant;
use crate::domain::EmailAddress;
use crate::error::{Error, Result};
use crate::problem::ProblemKind;
use crate::settings::TenantSettings;
use verbund_schema::tenant_mail_domain;

/// A mail domain: lower-cased, at most 253 characters, dot-separated labels of letters, digits
/// and inner hyphens, at least two labels.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct MailDomain(String);

impl MailDomain {
    pub fn parse(field: &str, raw: &str) -> Result<Self> {
        let value = raw.trim().trim_end_matches('.').to_lowercase();
        let labels: Vec<&str> = value.split('.').collect();
        let valid = !value.is_empty()
            && value.len() <= 253
            && labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.chars().count() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if valid {
            Ok(Self(value))
        } else {
            Err(Error::invalid(
                field,
                "is not a valid mail domain (such as stadt-mainz.de)",
            ))
        }
    }

    /// The domain of an address (everything after its one `@`).
    pub fn of(address: &EmailAddress) -> String {
        address
            .as_str()
            .rsplit_once('@')
            .map(|(_, d)| d.to_owned())
            .unwrap_or_default()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for MailDomain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// `local+tag@domain` → `local@domain`, as inbound routing reads an address.
fn base_address(address: &str) -> String {
    match address.split_once('@') {
        Some((local, domain)) => match local.split_once('+') {
            Some((base, _)) if !base.is_empty() => format!("{base}@{domain}"),
            _ => address.to_owned(),
        },
        None => address.to_owned(),
    }
}

/// A domain of a tenant as the API shows it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct MailDomainView {
    pub domain: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMailDomain {
    /// A domain such as `stadt-mainz.de`.
    pub domain: String,
}

/// The domains of the given tenants, sorted.
pub(crate) async fn domains_of(
    db: &impl ConnectionTrait,
    tenant_ids: impl IntoIterator<Item = TenantId>,
) -> Result<BTreeMap<TenantId, Vec<String>>> {
    let mut out: BTreeMap<TenantId, Vec<String>> = BTreeMap::new();
    for row in crate::repo::domains_of(db, tenant_ids).await? {
        out.entry(row.tenant_id).or_default().push(row.domain);
    }
    Ok(out)
}

/// Assigns domains to a tenant (operator set-up); already assigned ones are left alone.
pub(crate) async fn assign(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
    domains: &BTreeSet<String>,
) -> Result<()> {
    let at = now();
    for d in domains {
        tenant_mail_domain::Entity::insert(tenant_mail_domain::ActiveModel {
            tenant_id: Set(tenant_id),
            domain: Set(d.clone()),
            created_at: Set(at),
        })
        .on_conflict_do_nothing_on([
            tenant_mail_domain::Column::TenantId,
            tenant_mail_domain::Column::Domain,
        ])
        .exec_without_returning(db)
        .await?;
    }
    Ok(())
}

/// The claim rules for a tenant's new list of inbound addresses (see the module doc). Runs in
/// the write transaction that stores the list.
pub(crate) async fn check_claims(
    db: &impl ConnectionTrait,
    tenant_id: TenantId,
    addresses: &[EmailAddress],
) -> Result<()> {
    let wanted: BTreeSet<String> = addresses.iter().map(MailDomain::of).collect();
    if wanted.is_empty() {
        return Ok(());
    }
    // Lock every tenant's row of these domains: claims in one domain run one after the other.
    let rows = crate::repo::domain_claims(db, &wanted).await?;
    let own: BTreeSet<&str> = rows
        .iter()
        .filter(|r| r.tenant_id == tenant_id)
        .map(|r| r.domain.as_str())
        .collect();
    for a in addresses {
        let domain = MailDomain::of(a);
        if !own.contains(domain.as_str()) {
            return Err(Error::invalid(
                "mail_addresses",
                format!(
                    "{a} is not in a mail domain of this tenant; the operator assigns mail domains"
                ),
            ));
        }
    }
    // Addresses of other tenants in the same domains, compared as routing reads them.
    let others = crate::repo::addresses_of_others(db, tenant_id, &wanted).await?;
    let taken: BTreeSet<String> = others.iter().map(|o| base_address(&o.address)).collect();
    for a in addresses {
        if taken.contains(&base_address(a.as_str())) {
            return Err(Error::Conflict(
                ProblemKind::Duplicate,
                format!("mail address {a} already belongs to another tenant"),
            ));
        }
    }
    Ok(())
}

/// The sender rule: `settings.mail_from`, when set, is one of the tenant's own addresses.
pub(crate) fn check_sender(settings: &TenantSettings, addresses: &[String]) -> Result<()> {
    let Some(from) = &settings.mail_from else {
        return Ok(());
    };
    let from = EmailAddress::parse("settings.mail_from", from)?;
    if addresses.iter().any(|a| a == from.as_str()) {
        Ok(())
    } else {
        Err(Error::invalid(
            "settings.mail_from",
            "must be one of the tenant's own mail addresses",
        ))
    }
}

/// A tenant's mail domains (its admins and operators).
#[instrument(skip_all, fields(tenant = slug))]
pub async fn list_domains(db: &Db, actor: &Actor, slug: &str) -> Result<Vec<MailDomainView>> {
    let t = find_tenant(db, slug).await?;
    let scope = actor.authorize(Permission::ManageTenant, t.id)?;
    Ok(crate::repo::domains(db, &scope)
        .await?
        .into_iter()
        .map(|r| MailDomainView {
            domain: r.domain,
            created_at: r.created_at,
        })
        .collect())
}

/// Assigns a mail domain to a tenant (operators). 409 when the tenant already has it.
#[instrument(skip_all, fields(tenant = slug))]
pub async fn add_domain(
    db: &Db,
    scope: &OperatorScope,
    slug: &str,
    input: NewMailDomain,
) -> Result<MailDomainView> {
    let domain = MailDomain::parse("domain", &input.domain)?;
    let txn = begin_write(db).await?;
    let t = find_tenant(&txn, slug).await?;
    let row = tenant_mail_domain::ActiveModel {
        tenant_id: Set(t.id),
        domain: Set(domain.as_str().to_owned()),
        created_at: Set(now()),
    }
    .insert(&txn)
    .await
    .map_err(|e| Error::from_db_unique(e, &format!("mail domain {domain} of this tenant")))?;
    audit::record(
        &txn,
        Some(t.id),
        Some(scope.actor_id()),
        "tenant.mail_domain.add",
        "tenant",
        &t.slug,
        serde_json::json!({ "domain": domain.as_str() }),
    )
    .await?;
    txn.commit().await?;
    Ok(MailDomainView {
        domain: row.domain,
        created_at: row.created_at,
    })
}

/// Takes a mail domain from a tenant (operators). 404 when the tenant does not have it; 409
/// while the tenant still has addresses in it (change `mail_addresses` first).
#[instrument(skip_all, fields(tenant = slug))]
pub async fn remove_domain(db: &Db, scope: &OperatorScope, slug: &str, domain: &str) -> Result<()> {
    // Looked up as stored, not parsed: a domain taken over from older data must stay removable.
    let domain = domain.trim().to_lowercase();
    if domain.is_empty() || domain.len() > 253 {
        return Err(Error::NotFound("mail domain"));
    }
    let txn = begin_write(db).await?;
    let t = find_tenant(&txn, slug).await?;
    crate::repo::domain_locked(&txn, scope, t.id, &domain)
        .await?
        .ok_or(Error::NotFound("mail domain"))?;
    let in_use = crate::repo::addresses_in_domain(&txn, scope, t.id, &domain).await?;
    if !in_use.is_empty() {
        return Err(Error::Conflict(
            ProblemKind::InUse,
            format!(
                "the tenant still receives mail at {} in this domain; change its mail_addresses first",
                in_use.join(", ")
            ),
        ));
    }
    crate::repo::delete_domain(&txn, scope, t.id, &domain).await?;
    audit::record(
        &txn,
        Some(t.id),
        Some(scope.actor_id()),
        "tenant.mail_domain.remove",
        "tenant",
        &t.slug,
        serde_json::json!({ "domain": domain.as_str() }),
    )
    .await?;
    txn.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_parsed_and_lower_cased() {
        let d = MailDomain::parse("domain", " Stadt-Mainz.DEMO. ").map(|d| d.0);
        assert_eq!(d.ok().as_deref(), Some("stadt-mainz.demo"));
        assert!(MailDomain::parse("domain", "köln.de").is_ok());
        for bad in [
            "",
            "de",
            ".de",
            "a..de",
            "-a.de",
            "a-.de",
            "a_b.de",
            "a b.de",
            "%.de",
            "a@b.de",
            &format!("{}.de", "x".repeat(64)),
        ] {
            assert!(MailDomain::parse("domain", bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn plus_addresses_share_their_base() {
        assert_eq!(base_address("info+mz@x.de"), "info@x.de");
        assert_eq!(base_address("info@x.de"), "info@x.de");
        assert_eq!(base_address("+x@x.de"), "+x@x.de");
    }

    #[test]
    fn sender_must_be_own() {
        let own = vec!["info@x.de".to_owned()];
        let mut s = TenantSettings::default();
        assert!(check_sender(&s, &own).is_ok());
        s.mail_from = Some("Info@X.de".into());
        assert!(check_sender(&s, &own).is_ok());
        s.mail_from = Some("poststelle@y.de".into());
        assert!(matches!(
            check_sender(&s, &own),
            Err(Error::Invalid { field, .. }) if field == "settings.mail_from"
        ));
    }
}
