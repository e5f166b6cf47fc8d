//! The ticket change feed: a `ticket_changes` row for every change of a ticket, written by
//! the one function that writes history rows ([`crate::tickets::record_events`], and the
//! insert of a new ticket with its "created" row), so in the same transaction as the change
//! and for every change by construction: a change without a history row does not exist.
//!
//! One [`spawn_follower`] per application polls the feed and sends each change, with the
//! tenants that see the ticket now, to a broadcast channel kept in the application's
//! [`verbund_tenant::db::Local`]; the live queues of the web UI subscribe to it. Instances
//! share nothing but the database: a change through another instance arrives within one
//! poll interval.

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use sea_orm::{ConnectionTrait, Set};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;
use verbund_schema::{ticket_change, ticket_event};
use verbund_tenant::Result;
use verbund_tenant::access::SystemScope;
use verbund_tenant::db::{Db, WithLocal, now};

/// One changed ticket and the tenants that see it after the change (holder, origin and
/// every tenant that forwarded it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TicketChange {
    pub ticket_id: Uuid,
    pub tenants: BTreeSet<verbund_schema::ids::TenantId>,
}

/// The application's channel of ticket changes.
struct Channel(broadcast::Sender<TicketChange>);

impl Default for Channel {
    fn default() -> Self {
        Self(broadcast::channel(1024).0)
    }
}

/// A receiver of every ticket change the follower of this application reads from now on.
/// A receiver that falls behind gets `Lagged` and should treat it as "anything changed".
pub fn subscribe(db: &impl WithLocal) -> broadcast::Receiver<TicketChange> {
    db.local().get::<Channel>().0.subscribe()
}

/// The feed rows of `events` (one per ticket), to be written with them.
pub(crate) fn rows_for(events: &[ticket_event::ActiveModel]) -> Vec<ticket_change::ActiveModel> {
    let mut seen = HashSet::new();
    let at = now();
    events
        .iter()
        .filter_map(|e| {
            let ticket_id = *e.ticket_id.try_as_ref()?;
            let tenant_id = *e.tenant_id.try_as_ref()?;
            seen.insert(ticket_id)
                .then_some(ticket_change::ActiveModel {
                    id: sea_orm::NotSet,
                    ticket_id: Set(ticket_id),
                    tenant_id: Set(tenant_id),
                    created_at: Set(at),
                })
        })
        .collect()
}

/// How long feed rows are kept: far longer than any follower lags behind.
const KEEP: chrono::TimeDelta = chrono::TimeDelta::hours(1);
/// Rows up to this many ids below the highest one seen are read again on each poll: an id
/// taken by a transaction that commits later than a higher one is still seen.
const WINDOW: i32 = 200;

#[expect(
    clippy::disallowed_methods,
    reason = "the ticket feed's follower is a background job of the application"
)]
fn follower() -> SystemScope {
    SystemScope::job(verbund_tenant::access::Job::TicketFeed)
}

/// The follower: polls the feed every `poll` until `stop` is cancelled and broadcasts each
/// new row once. Starts at the end of the feed (earlier changes concern no open stream).
pub fn spawn_follower(
    db: Db,
    poll: Duration,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let sender = db.local().get::<Channel>().0.clone();
        let mut floor = loop {
            match crate::repo::system_last_ticket_change(&db, &follower()).await {
                Ok(last) => break last,
                Err(e) => {
                    tracing::warn!(error = %e, "ticket feed: reading its end failed");
                    tokio::select! {
                        () = stop.cancelled() => return,
                        () = tokio::time::sleep(poll) => {}
                    }
                }
            }
        };
        let mut seen: BTreeSet<i32> = BTreeSet::new();
        let mut passes: u32 = 0;
        loop {
            tokio::select! {
                () = stop.cancelled() => {
                    tracing::info!("ticket feed follower stops: the application stops");
                    return;
                }
                () = tokio::time::sleep(poll) => {}
            }
            match pass(&db, &sender, &mut floor, &mut seen).await {
                Ok(()) => {}
                Err(e) => tracing::warn!(error = %e, "ticket feed: a pass failed"),
            }
            passes = passes.wrapping_add(1);
            if passes.is_multiple_of(600) {
                let before = now() - KEEP;
                if let Err(e) =
                    crate::repo::system_prune_ticket_changes(&db, &follower(), before).await
                {
                    tracing::warn!(error = %e, "ticket feed: pruning failed");
                }
            }
        }
    })
}

async fn pass(
    db: &(impl ConnectionTrait + WithLocal),
    sender: &broadcast::Sender<TicketChange>,
    floor: &mut i32,
    seen: &mut BTreeSet<i32>,
) -> Result<()> {
    let rows = crate::repo::system_ticket_changes_after(db, &follower(), *floor, 1000).await?;
    let fresh: Vec<ticket_change::Model> =
        rows.into_iter().filter(|r| !seen.contains(&r.id)).collect();
    if fresh.is_empty() {
        return Ok(());
    }
    let ids: BTreeSet<Uuid> = fresh.iter().map(|r| r.ticket_id.uuid()).collect();
    let audiences = crate::repo::system_ticket_audiences(db, &follower(), &ids).await?;
    let mut sent = HashSet::new();
    for row in &fresh {
        seen.insert(row.id);
        if !sent.insert(row.ticket_id) {
            continue;
        }
        let mut tenants = audiences
            .get(&row.ticket_id.uuid())
            .cloned()
            .unwrap_or_default();
        tenants.insert(row.tenant_id);
        // No receiver (no open stream) is not an error.
        let _ = sender.send(TicketChange {
            ticket_id: row.ticket_id.uuid(),
            tenants,
        });
    }
    let top = seen.last().copied().unwrap_or(*floor);
    *floor = (*floor).max(top - WINDOW);
    let keep = *floor;
    seen.retain(|id| *id > keep);
    Ok(())
}
