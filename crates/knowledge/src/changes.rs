//! The change feed: a `knowledge_changes` row for every change of a description, written in
//! the transaction of the change. Search indexes (one per instance) follow it; a write on this
//! instance also wakes the local indexes at once through [`notify`].

use std::sync::LazyLock;

use sea_orm::{ActiveModelTrait, ConnectionTrait, NotSet, Set};
use tokio::sync::watch;
use uuid::Uuid;
use verbund_tenant::Result;
use verbund_tenant::db::now;

use verbund_schema::change;

/// A counter bumped on every local change; each index holds a receiver, so no wake-up is lost
/// while an index is busy.
static LOCAL_CHANGES: LazyLock<watch::Sender<u64>> = LazyLock::new(|| watch::Sender::new(0));

/// Records that a description changed. Call it inside the transaction of the change.
pub async fn record(db: &impl ConnectionTrait, tenant_id: Uuid, service_id: Uuid) -> Result<()> {
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

/// Wakes the search indexes of this process after a committed change.
pub fn notify() {
    LOCAL_CHANGES.send_modify(|n| *n = n.wrapping_add(1));
}

/// A receiver that sees every later [`notify`].
pub(crate) fn subscribe() -> watch::Receiver<u64> {
    LOCAL_CHANGES.subscribe()
}
