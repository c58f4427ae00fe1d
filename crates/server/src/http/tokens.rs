//! Access tokens: JWT (HS256) signed with the installation's secret, naming the user, the
//! company they act in and the session that can revoke them.

use crate::http::error::AppError;
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation};
use rivet_domain::ids::{CompanyId, SessionId, UserId};
use serde::{Deserialize, Serialize};

pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl TokenKeys {
    pub fn new(secret: &[u8]) -> Self {
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Claims {
    /// The user.
    pub(crate) sub: UserId,
    /// The company the token acts in.
    pub(crate) cid: CompanyId,
    /// The session (refresh-token family); revoking it ends the token too.
    pub(crate) sid: SessionId,
    pub(crate) iat: i64,
    pub(crate) exp: i64,
    pub(crate) iss: String,
}

const ISSUER: &str = "rivet";

pub(crate) fn issue_access_token(
    keys: &TokenKeys,
    company_id: CompanyId,
    user_id: UserId,
    session_id: SessionId,
    ttl_secs: i64,
) -> Result<String, AppError> {
    let now = chrono::Utc::now().timestamp();
    let claims = Claims {
        sub: user_id,
        cid: company_id,
        sid: session_id,
        iat: now,
        exp: now + ttl_secs,
        iss: ISSUER.into(),
    };
    jsonwebtoken::encode(&Header::default(), &claims, &keys.encoding)
        .map_err(|e| AppError::Internal(e.into()))
}

pub(crate) fn decode_access_token(keys: &TokenKeys, token: &str) -> Option<Claims> {
    // Built once: a `Validation` holds sets of claim names, a handful of allocations that every
    // authenticated request would otherwise make again.
    static VALIDATION: std::sync::LazyLock<Validation> = std::sync::LazyLock::new(|| {
        let mut validation = Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.leeway = 0;
        validation
    });
    jsonwebtoken::decode::<Claims>(token, &keys.decoding, &VALIDATION)
        .ok()
        .map(|data| data.claims)
}
