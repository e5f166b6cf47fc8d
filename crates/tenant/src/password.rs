//! Password hashing with argon2id and explicit parameters, always on a blocking thread.

use std::sync::OnceLock;

use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};

use crate::error::{Error, Result};

/// OWASP's argon2id baseline: 19 MiB memory, 2 iterations, 1 lane.
const MEMORY_KIB: u32 = 19 * 1024;
const ITERATIONS: u32 = 2;
const LANES: u32 = 1;

fn argon2() -> Result<Argon2<'static>> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, LANES, None)
        .map_err(|e| Error::Internal(format!("argon2 params: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

fn hash_blocking(password: &SecretString) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()?
        .hash_password(password.expose_secret().as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(format!("argon2 hash: {e}")))
}

/// A hash of a random password with the same parameters, checked when the account is unknown
/// so that a failed login costs the same whether or not the account exists.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let random: String = uuid::Uuid::new_v4().to_string();
        hash_blocking(&random.into()).unwrap_or_default()
    })
}

/// Hashes a password (argon2id, PHC string format).
pub async fn hash(password: SecretString) -> Result<String> {
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .map_err(|e| Error::Internal(format!("hash task: {e}")))?
}

/// Verifies a password against a stored hash, or against a dummy hash when there is none.
/// Returns false for `None` after spending the same time.
pub async fn verify(password: SecretString, stored: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
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
    .unwrap_or(false)
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
        let h = hash("richtig-und-lang".to_owned().into()).await;
        let h = match h {
            Ok(h) => h,
            Err(e) => panic!("hash failed: {e}"),
        };
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify("richtig-und-lang".to_owned().into(), Some(h.clone())).await);
        assert!(!verify("falsch-und-lang!".to_owned().into(), Some(h)).await);
        assert!(!verify("richtig-und-lang".to_owned().into(), None).await);
        assert!(!verify("x".to_owned().into(), Some("not a phc string".into())).await);
    }
}
