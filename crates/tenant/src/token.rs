//! Access tokens: HS256 JWTs with a pinned algorithm, `exp` of at most one hour, and checked
//! `iss` and `aud`. The token names a session row, so logout and deactivation take effect at
//! once.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};

/// The longest lifetime an access token may have.
pub const MAX_TOKEN_TTL: Duration = Duration::from_secs(3600);
/// The shortest signing secret accepted.
pub const MIN_SECRET_BYTES: usize = 32;

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// The user id.
    pub sub: Uuid,
    /// The session id.
    pub sid: Uuid,
    pub iat: i64,
    pub exp: i64,
}

pub struct TokenConfig {
    pub secret: SecretString,
    pub issuer: String,
    pub audience: String,
    pub ttl: Duration,
}

pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    ttl: Duration,
}

impl TokenKeys {
    /// Fails closed: an empty or short secret, or a lifetime above one hour, is refused.
    pub fn new(config: TokenConfig) -> Result<Self> {
        let secret = config.secret.expose_secret().as_bytes();
        if secret.is_empty() {
            return Err(Error::invalid("jwt_secret", "is empty"));
        }
        if secret.len() < MIN_SECRET_BYTES {
            return Err(Error::invalid(
                "jwt_secret",
                format!("must have at least {MIN_SECRET_BYTES} bytes"),
            ));
        }
        if config.ttl > MAX_TOKEN_TTL || config.ttl.is_zero() {
            return Err(Error::invalid("token_ttl_seconds", "must be 1..=3600"));
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[config.issuer.as_str()]);
        validation.set_audience(&[config.audience.as_str()]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        validation.validate_exp = true;
        Ok(Self {
            encoding: EncodingKey::from_secret(secret)
                .map_err(|e| Error::invalid("jwt_secret", e.to_string()))?,
            decoding: DecodingKey::from_secret(secret)
                .map_err(|e| Error::invalid("jwt_secret", e.to_string()))?,
            validation,
            issuer: config.issuer,
            audience: config.audience,
            ttl: config.ttl,
        })
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    pub fn issue(&self, user_id: Uuid, session_id: Uuid) -> Result<String> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: user_id,
            sid: session_id,
            iat: now,
            exp: now + self.ttl.as_secs() as i64,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| Error::internal("jwt encode", e))
    }

    /// Verifies signature, algorithm, `exp`, `iss` and `aud`. Any failure is `Unauthenticated`.
    pub fn verify(&self, token: &str) -> Result<Claims> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|_| Error::Unauthenticated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(secret: &str) -> Result<TokenKeys> {
        TokenKeys::new(TokenConfig {
            secret: secret.to_owned().into(),
            issuer: "verbund".into(),
            audience: "verbund-api".into(),
            ttl: Duration::from_secs(900),
        })
    }

    #[test]
    fn refuses_weak_configuration() {
        assert!(keys("").is_err());
        assert!(keys("short").is_err());
        assert!(
            TokenKeys::new(TokenConfig {
                secret: "x".repeat(40).into(),
                issuer: "i".into(),
                audience: "a".into(),
                ttl: Duration::from_secs(7200),
            })
            .is_err()
        );
    }

    #[test]
    fn round_trip_and_wrong_key() -> Result<()> {
        let k = keys(&"a".repeat(40))?;
        let other = keys(&"b".repeat(40))?;
        let (user, sid) = (Uuid::now_v7(), Uuid::now_v7());
        let token = k.issue(user, sid)?;
        let claims = k.verify(&token)?;
        assert_eq!((claims.sub, claims.sid), (user, sid));
        assert!(matches!(other.verify(&token), Err(Error::Unauthenticated)));
        assert!(matches!(k.verify("garbage"), Err(Error::Unauthenticated)));
        Ok(())
    }
}
