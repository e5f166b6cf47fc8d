//! Login throttling per account and per client address, stored in the database so that every
//! instance behind the load balancer sees the same counters.
//!
//! Failures inside a window first slow the answer down, then lock the key for a while. The
//! account key is the submitted e-mail address, whether or not such an account exists, so the
//! throttle reveals nothing about which accounts exist.
//!
//! Every attempt is **reserved before the password is checked**: one write transaction counts it
//! on every key (locking the rows on PostgreSQL; SQLite has one writer) and refuses it when a
//! key is locked. So however many attempts arrive at once, on however many instances, at most
//! `account_lock_after` of them are ever checked in a window; the one that reaches the limit sets
//! the lock. A reservation is given back when the password was not checked (the hashing gate
//! was full) and, on the address key, when it was right; a right password clears the account
//! key.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set};

use crate::db::Db;
use crate::db::{begin_write, now};
use crate::error::Result;
use verbund_schema::login_throttle;

#[derive(Clone, Debug)]
pub struct LoginPolicy {
    /// Failures of one account before answers slow down.
    pub account_delay_after: u32,
    /// Failures of one account before it is locked.
    pub account_lock_after: u32,
    /// Failures from one client address before answers slow down.
    pub address_delay_after: u32,
    /// Failures from one client address before it is locked.
    pub address_lock_after: u32,
    /// How long a lock lasts.
    pub lock_for: Duration,
    /// Failures older than this are forgotten.
    pub window: Duration,
    /// The longest added delay.
    pub max_delay: Duration,
}

impl Default for LoginPolicy {
    fn default() -> Self {
        Self {
            account_delay_after: 3,
            account_lock_after: 10,
            address_delay_after: 20,
            address_lock_after: 100,
            lock_for: Duration::from_secs(15 * 60),
            window: Duration::from_secs(15 * 60),
            max_delay: Duration::from_secs(2),
        }
    }
}

/// Which counter a key belongs to.
#[derive(Clone, Copy, Debug)]
pub enum KeyKind {
    Account,
    Address,
}

pub fn account_key(email: &str) -> String {
    format!("account:{}", email.trim().to_lowercase())
}

pub fn address_key(ip: &str) -> String {
    format!("address:{ip}")
}

pub enum Verdict {
    /// Go on, after waiting this long.
    Proceed(Duration),
    /// Locked: refuse, and tell the client when to try again.
    Locked(Duration),
}

impl LoginPolicy {
    fn limits(&self, kind: KeyKind) -> (u32, u32) {
        match kind {
            KeyKind::Account => (self.account_delay_after, self.account_lock_after),
            KeyKind::Address => (self.address_delay_after, self.address_lock_after),
        }
    }

    /// The delay for `failures` previous failures: doubling from 250 ms, capped.
    pub fn delay_for(&self, kind: KeyKind, failures: u32) -> Duration {
        let (delay_after, _) = self.limits(kind);
        if failures < delay_after {
            return Duration::ZERO;
        }
        let steps = (failures - delay_after).min(8);
        Duration::from_millis(250u64 << steps).min(self.max_delay)
    }

    /// Reserves one attempt on every key, in one transaction: `Locked` (and nothing counted) when
    /// a key is locked, else `Proceed` with the delay the earlier failures call for. The attempt
    /// that reaches a key's limit locks it for the attempts after it.
    pub async fn reserve(&self, db: &Db, keys: &[(KeyKind, String)]) -> Result<Verdict> {
        let txn = begin_write(db).await?;
        let at = now();
        let mut delay = Duration::ZERO;
        // Keys are taken in the order given (account before address), the same in every
        // request, so two reservations never wait for each other's rows crosswise.
        for (kind, key) in keys {
            login_throttle::Entity::insert(login_throttle::ActiveModel {
                key: Set(key.clone()),
                failures: Set(0),
                window_started_at: Set(at),
                locked_until: Set(None),
                updated_at: Set(at),
            })
            .on_conflict_do_nothing_on([login_throttle::Column::Key])
            .exec_without_returning(&txn)
            .await?;
            let Some(row) = crate::repo::throttle_row_locked(&txn, key).await? else {
                continue;
            };
            if let Some(until) = row.locked_until
                && until > at
            {
                txn.rollback().await?;
                let secs = (until - at).num_seconds().max(1) as u64;
                return Ok(Verdict::Locked(Duration::from_secs(secs)));
            }
            let expired_lock = row.locked_until.is_some_and(|u| u <= at);
            let (earlier, started) = if self.in_window(row.window_started_at, at) && !expired_lock {
                (row.failures.max(0), row.window_started_at)
            } else {
                (0, at)
            };
            delay = delay.max(self.delay_for(*kind, earlier as u32));
            let counted = earlier.saturating_add(1);
            let (_, lock_after) = self.limits(*kind);
            let locked_until = (counted as u32 >= lock_after).then(|| {
                at + chrono::Duration::from_std(self.lock_for)
                    .unwrap_or(chrono::Duration::minutes(15))
            });
            let mut active: login_throttle::ActiveModel = row.into();
            active.failures = Set(counted);
            active.window_started_at = Set(started);
            active.locked_until = Set(locked_until);
            active.updated_at = Set(at);
            active.update(&txn).await?;
        }
        txn.commit().await?;
        Ok(Verdict::Proceed(delay))
    }

    fn in_window(&self, started: DateTime<Utc>, at: DateTime<Utc>) -> bool {
        at.signed_duration_since(started)
            .to_std()
            .unwrap_or_default()
            < self.window
    }

    /// Gives one reserved attempt back on each key: it was not a failure. A lock that only this
    /// attempt's reservation had set is lifted again.
    pub async fn give_back(
        &self,
        db: &impl ConnectionTrait,
        keys: &[(KeyKind, String)],
    ) -> Result<()> {
        for (kind, key) in keys {
            let (_, lock_after) = self.limits(*kind);
            crate::repo::throttle_give_back(db, key, lock_after.min(i32::MAX as u32) as i32)
                .await?;
        }
        Ok(())
    }

    /// Forgets the failures of a key after a successful login.
    pub async fn clear(&self, db: &impl ConnectionTrait, key: &str) -> Result<()> {
        crate::repo::throttle_clear(db, key).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_are_capped() {
        let p = LoginPolicy::default();
        assert_eq!(p.delay_for(KeyKind::Account, 0), Duration::ZERO);
        assert_eq!(p.delay_for(KeyKind::Account, 2), Duration::ZERO);
        assert_eq!(p.delay_for(KeyKind::Account, 3), Duration::from_millis(250));
        assert_eq!(p.delay_for(KeyKind::Account, 4), Duration::from_millis(500));
        assert_eq!(p.delay_for(KeyKind::Account, 9), Duration::from_secs(2));
        assert_eq!(p.delay_for(KeyKind::Address, 10), Duration::ZERO);
    }

    #[test]
    fn keys_are_normalised() {
        assert_eq!(account_key(" Admin@X.de"), "account:admin@x.de");
        assert_eq!(address_key("127.0.0.1"), "address:127.0.0.1");
    }
}
