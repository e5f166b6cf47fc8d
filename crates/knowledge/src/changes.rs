//! The change feed: a `knowledge_changes` row for every change of a description, written in
//! the transaction of the change. Search indexes (one per instance) follow it; a write on this
//! instance also wakes the local indexes at once through [`notify`].

use sea_orm::{ActiveModelTrait, ConnectionTrait, NotSet, Set};
use tokio::sync::watch;
use verbund_tenant::Result;
use verbund_tenant::db::{WithLocal, now};

use verbund_schema::change;

/// A counter bumped on every change made by this application; each index holds a receiver, so
/// no wake-up is lost while an index is busy. One per application, kept in its
/// [`verbund_tenant::db::Local`]: another instance (in this process or another) learns of the
/// change only from the feed.
struct LocalChanges(watch::Sender<u64>);

impl Default for LocalChanges {
    fn default() -> Self {
        Self(watch::Sender::new(0))
    }
}

/// Records that a description changed. Call it inside the transaction of the change.
pub async fn record(
    db: &impl ConnectionTrait,
    tenant_id: verbund_schema::ids::TenantId,
    service_id: verbund_schema::ids::ServiceId,
) -> Result<()> {
    change::ActiveModel {
        id: NotSet,
        tenant_id: Set(tenant_id),
        service_id: Set(service_id),
        created_at: Set(now()),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Wakes the search index of this application after a committed change.
pub fn notify(db: &impl WithLocal) {
    db.local()
        .get::<LocalChanges>()
        .0
        .send_modify(|n| *n = n.wrapping_add(1));
}

/// A receiver that sees every later [`notify`] of this application.
pub(crate) fn subscribe(db: &impl WithLocal) -> watch::Receiver<u64> {
    db.local().get::<LocalChanges>().0.subscribe()
}
