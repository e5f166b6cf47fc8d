//! Offices from imports: which descriptions an office offers.
//!
//! An office record names the descriptions it offers by LeiKa key (every description of the
//! tenant with that key) or by external id (the source system's id, which descriptions keep;
//! an XZuFi `leistungID` is the `leistung/id` that became the description's external id). The import makes
//! the resolved set the office's set; a record that names none leaves the stored set alone.
//! A reference that names no description of the tenant is reported and skipped.

use sea_orm::ConnectionTrait;
use uuid::Uuid;
use verbund_schema::ids::ServiceId;
use verbund_tenant::Result;

use crate::import::office::ServiceRef;
use crate::repo::Writer;

/// What linking an office to its descriptions did.
pub(crate) struct Linked {
    /// The stored set changed.
    pub changed: bool,
    /// References that name no description of the tenant.
    pub unresolved: Vec<ServiceRef>,
}

/// Makes the descriptions `refs` names the ones the office offers (see the module docs).
pub(crate) async fn link_offered(
    db: &impl ConnectionTrait,
    writer: &Writer,
    office: Uuid,
    refs: &[ServiceRef],
) -> Result<Linked> {
    let keys: Vec<String> = refs
        .iter()
        .filter_map(|r| match r {
            ServiceRef::Leika(key) => Some(key.clone()),
            ServiceRef::ExternalId(_) => None,
        })
        .collect();
    let external: Vec<&str> = refs
        .iter()
        .filter_map(|r| match r {
            ServiceRef::ExternalId(id) => Some(id.as_str()),
            ServiceRef::Leika(_) => None,
        })
        .collect();
    let by_key = if keys.is_empty() {
        Vec::new()
    } else {
        crate::repo::service_ids_by_leika(db, writer, &keys).await?
    };
    let mut by_external = if external.is_empty() {
        Vec::new()
    } else {
        crate::repo::services_by_external_id(db, writer, external.iter().copied()).await?
    };
    // The XZuFi export names a description without an external id by its own id.
    let own: Vec<ServiceId> = external
        .iter()
        .filter_map(|e| e.parse::<ServiceId>().ok())
        .collect();
    if !own.is_empty() {
        by_external.extend(crate::repo::services_by_id(db, writer, &own).await?);
    }
    let mut unresolved = Vec::new();
    let mut ids: Vec<ServiceId> = Vec::new();
    for r in refs {
        let before = ids.len();
        match r {
            ServiceRef::Leika(key) => {
                ids.extend(by_key.iter().filter(|(_, k)| k == key).map(|(id, _)| *id));
            }
            ServiceRef::ExternalId(ext) => ids.extend(
                by_external
                    .iter()
                    .filter(|s| {
                        s.external_id.as_deref() == Some(ext.as_str()) || s.id.to_string() == *ext
                    })
                    .map(|s| s.id),
            ),
        }
        if ids.len() == before {
            unresolved.push(r.clone());
        }
    }
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(Linked {
            changed: false,
            unresolved,
        });
    }
    let mut current = crate::repo::offered_service_ids(db, writer, office).await?;
    current.sort_unstable();
    let changed = current != ids;
    if changed {
        crate::repo::replace_offered_services(db, writer, office, &ids).await?;
    }
    Ok(Linked {
        changed,
        unresolved,
    })
}
