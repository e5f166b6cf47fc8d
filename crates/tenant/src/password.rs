//! Password hashing with argon2id and explicit parameters, always on a blocking thread.
//!
//! Every hash and every check passes one gate: at most `max_concurrent` run at once in this
//! application (each costs about 19 MiB for its run time), and a caller that does not get a
//! turn within `max_wait` is refused with [`Error::Overloaded`] instead of queueing without
//! bound. The gate is the application's (in its [`crate::db::Local`]), set from its settings;
//! a deployment runs one application per process, so it bounds the process's memory. (Only
//! tests run two applications in one process; each then keeps its own settings.)

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use tokio::sync::Semaphore;

use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};

use crate::db::WithLocal;
use crate::error::{Error, Result};

/// OWASP's argon2id baseline: 19 MiB memory, 2 iterations, 1 lane.
const MEMORY_KIB: u32 = 19 * 1024;
const ITERATIONS: u32 = 2;
const LANES: u32 = 1;

fn argon2() -> Result<Argon2<'static>> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, LANES, None)
        .map_err(|e| Error::internal("argon2 params", e))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

fn hash_blocking(password: &SecretString) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()?
        .hash_password(password.expose_secret().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::internal("argon2 hash", e))
}

/// A hash of a random password with the same parameters, checked when the account is unknown
/// so that a failed login costs the same whether or not the account exists. A process-wide
/// static on purpose: it is a constant (any random password will do), computed once, and
/// depends on no setting or database.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let random: String = uuid::Uuid::new_v4().to_string();
        hash_blocking(&random.into()).unwrap_or_default()
    })
}

/// How many argon2 runs the process allows at once, and how long a caller waits for a turn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashLimits {
    /// At most this many hashes or checks at once (at least 1).
    pub max_concurrent: usize,
    /// How long a caller waits for a turn before it is refused (zero: not at all).
    pub max_wait: Duration,
}

impl Default for HashLimits {
    /// One per CPU, and a wait of three seconds.
    fn default() -> Self {
        Self {
            max_concurrent: std::thread::available_parallelism().map_or(2, |n| n.get()),
            max_wait: Duration::from_secs(3),
        }
    }
}

struct Gate {
    limits: HashLimits,
    turns: Arc<Semaphore>,
    /// Runs now, and at their peak since the gate was set or [`reset_peak`].
    in_flight: AtomicUsize,
    peak: AtomicUsize,
}

impl Gate {
    fn new(limits: HashLimits) -> Self {
        let limits = HashLimits {
            max_concurrent: limits.max_concurrent.max(1),
            ..limits
        };
        Self {
            turns: Arc::new(Semaphore::new(limits.max_concurrent)),
            limits,
            in_flight: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        }
    }

    /// Runs `work` on a blocking thread once the gate gives a turn. The turn is held by the
    /// blocking task itself, so it is returned only when the work is done, even if the caller
    /// went away.
    async fn run<T: Send + 'static>(
        self: Arc<Self>,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T> {
        let turn = if self.limits.max_wait.is_zero() {
            self.turns.clone().try_acquire_owned().ok()
        } else {
            tokio::time::timeout(self.limits.max_wait, self.turns.clone().acquire_owned())
                .await
                .ok()
                .and_then(|r| r.ok())
        };
        let Some(turn) = turn else {
            tracing::warn!(
                max_concurrent = self.limits.max_concurrent,
                "password hashing is saturated; request refused"
            );
            return Err(Error::Overloaded {
                retry_after_secs: 1,
            });
        };
        tokio::task::spawn_blocking(move || {
            let _turn = turn;
            let _counted = Counted::enter(&self);
            work()
        })
        .await
        .map_err(|e| Error::internal("hash task", e))
    }
}

/// One run counted in its gate while it lives.
struct Counted<'a>(&'a Gate);

impl<'a> Counted<'a> {
    fn enter(gate: &'a Gate) -> Self {
        let now = gate.in_flight.fetch_add(1, Ordering::AcqRel) + 1;
        gate.peak.fetch_max(now, Ordering::AcqRel);
        Self(gate)
    }
}

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The application's gate, with the default limits until [`set_limits`].
struct GateCell(RwLock<Arc<Gate>>);

impl Default for GateCell {
    fn default() -> Self {
        Self(RwLock::new(Arc::new(Gate::new(HashLimits::default()))))
    }
}

fn gate(db: &impl WithLocal) -> Arc<Gate> {
    let cell = db.local().get::<GateCell>();
    match cell.0.read() {
        Ok(g) => g.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    }
}

/// Sets the limits of the application's gate (at start-up). Runs that hold a turn of the
/// previous gate finish under it.
pub fn set_limits(db: &impl WithLocal, limits: HashLimits) {
    let fresh = Arc::new(Gate::new(limits));
    let cell = db.local().get::<GateCell>();
    match cell.0.write() {
        Ok(mut g) => *g = fresh,
        Err(poisoned) => *poisoned.into_inner() = fresh,
    }
}

/// The most argon2 runs of the application that were in progress at once since the limits
/// were set or [`reset_peak`] (observability and tests).
pub fn peak_in_flight(db: &impl WithLocal) -> usize {
    gate(db).peak.load(Ordering::Acquire)
}

/// Starts a new measurement for [`peak_in_flight`].
pub fn reset_peak(db: &impl WithLocal) {
    let g = gate(db);
    g.peak
        .store(g.in_flight.load(Ordering::Acquire), Ordering::Release);
}

async fn gated<T: Send + 'static>(
    db: &impl WithLocal,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T> {
    gate(db).run(work).await
}

/// Hashes a password (argon2id, PHC string format). `Overloaded` when the application's gate
/// gives no turn.
pub async fn hash(db: &impl WithLocal, password: SecretString) -> Result<String> {
    gated(db, move || hash_blocking(&password)).await?
}

/// Verifies a password against a stored hash, or against a dummy hash when there is none.
/// Returns false for `None` after spending the same time. `Overloaded` when the application's
/// gate gives no turn: nothing was checked.
pub async fn verify(
    db: &impl WithLocal,
    password: SecretString,
    stored: Option<String>,
) -> Result<bool> {
    gated(db, move || {
        let known = stored.is_some();
        let phc = stored.unwrap_or_else(|| dummy_hash().to_owned());
        let ok = match (PasswordHash::new(&phc), argon2()) {
            (Ok(parsed), Ok(a2)) => a2
                .verify_password(password.expose_secret().as_bytes(), &parsed)
                .is_ok(),
            _ => false,
        };
        ok && known
    })
    .await
}

/// Warms the dummy hash so the first unknown-user login is not slower than the others.
pub async fn warm_up() {
    let _ = tokio::task::spawn_blocking(dummy_hash).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_and_verify() {
        let app = crate::db::Local::default();
        let h = hash(&app, "richtig-und-lang".to_owned().into()).await;
        let h = match h {
            Ok(h) => h,
            Err(e) => panic!("hash failed: {e}"),
        };
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        let check = |pw: &str, stored: Option<String>| verify(&app, pw.to_owned().into(), stored);
        assert!(matches!(
            check("richtig-und-lang", Some(h.clone())).await,
            Ok(true)
        ));
        assert!(matches!(
            check("falsch-und-lang!", Some(h)).await,
            Ok(false)
        ));
        assert!(matches!(check("richtig-und-lang", None).await, Ok(false)));
        assert!(matches!(
            check("x", Some("not a phc string".into())).await,
            Ok(false)
        ));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn the_gate_bounds_concurrent_runs_and_refuses_beyond_the_wait() {
        let work = || std::thread::sleep(Duration::from_millis(30));
        let gate = Arc::new(Gate::new(HashLimits {
            max_concurrent: 2,
            max_wait: Duration::ZERO,
        }));
        let runs: Vec<_> = (0..12)
            .map(|_| tokio::spawn(gate.clone().run(work)))
            .collect();
        let (mut ran, mut refused) = (0, 0);
        for r in runs {
            match r.await {
                Ok(Ok(())) => ran += 1,
                Ok(Err(Error::Overloaded { .. })) => refused += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
        let peak = gate.peak.load(Ordering::Acquire);
        assert!(peak <= 2, "peak {peak}");
        assert!(ran >= 2 && refused >= 1, "{ran} ran, {refused} refused");
        // With a wait, every caller gets its turn in the end, still two at a time.
        let gate = Arc::new(Gate::new(HashLimits {
            max_concurrent: 2,
            max_wait: Duration::from_secs(60),
        }));
        let runs: Vec<_> = (0..8)
            .map(|_| tokio::spawn(gate.clone().run(work)))
            .collect();
        for r in runs {
            assert!(matches!(r.await, Ok(Ok(()))));
        }
        assert_eq!(gate.peak.load(Ordering::Acquire), 2);
        assert_eq!(gate.in_flight.load(Ordering::Acquire), 0);
    }
}
