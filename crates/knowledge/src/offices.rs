//! Offices from imports: which descriptions an office offers.
//!
//! An office record names the descriptions it offers by LeiKa key (every description of the
//! tenant with that key) or by external id (the source system's id; an XZuFi `leistungID`
//! of a `leistung` in the same file arrives as that leistung's LeiKa key). The import makes
//! the resolved set the office's set; a record that names none leaves the stored set alone.
//! A reference that names no description of the tenant is reported and skipped.

use sea_orm::ConnectionTrait;
use uuid::Uuid;
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
    let keys: Vec<&str> = refs
        .iter()
        .filter_map(|r| match r {
            ServiceRef::Leika(key) => Some(key.as_str()),
            ServiceRef::ExternalId(_) => None,
        })
        .collect();
    let found = if keys.is_empty() {
        Vec::new()
    } else {
        crate::repo::services_by_leika(db, writer, keys.iter().copied()).await?
    };
    let mut unresolved = Vec::new();
    let mut ids: Vec<Uuid> = Vec::new();
    for r in refs {
        match r {
            ServiceRef::Leika(key) => {
                let before = ids.len();
                ids.extend(found.iter().filter(|s| &s.leika == key).map(|s| s.id));
                if ids.len() == before {
                    unresolved.push(r.clone());
                }
            }
            // Descriptions carry no external id yet: only ids of the same file resolve
            // (the parser turns those into LeiKa keys).
            ServiceRef::ExternalId(_) => unresolved.push(r.clone()),
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
