//! API tokens: their secrets, their scopes, and the check in front of every endpoint.
//!
//! A secret is `fdt_` and 43 characters of URL-safe base64 (32 random bytes); the store keeps only its lower-case
//! hex SHA-256, and a request's token is found by that hash, so no secret is ever compared byte by byte (a fast
//! hash is enough for 256 random bits). A token's public id is 12 Crockford base-32 characters; the audit log
//! names it, never the secret.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use fumidai_store::ApiToken;
use sha2::{Digest, Sha256};

use crate::{ApiError, ApiState};

pub const SCAN: &str = "scan";
pub const QUARANTINE_READ: &str = "quarantine:read";
/// Release, delete, and download the original.
pub const QUARANTINE_WRITE: &str = "quarantine:write";
pub const HISTORY_READ: &str = "history:read";
pub const WHITELIST_WRITE: &str = "whitelist:write";
pub const ALERTS_READ: &str = "alerts:read";
pub const ALERTS_WRITE: &str = "alerts:write";
pub const STATS_READ: &str = "stats:read";
pub const OUTBOUND_READ: &str = "outbound:read";
pub const OUTBOUND_WRITE: &str = "outbound:write";
pub const AUDIT_READ: &str = "audit:read";

/// Every scope a token can have.
pub const SCOPES: [&str; 11] = [
    SCAN,
    QUARANTINE_READ,
    QUARANTINE_WRITE,
    HISTORY_READ,
    WHITELIST_WRITE,
    ALERTS_READ,
    ALERTS_WRITE,
    STATS_READ,
    OUTBOUND_READ,
    OUTBOUND_WRITE,
    AUDIT_READ,
];

/// What every secret starts with (so a leaked one is recognisable, e.g. by secret scanners).
pub const SECRET_PREFIX: &str = "fdt_";
const SECRET_BYTES: usize = 32;
/// `fdt_` plus 43 characters: 32 bytes in unpadded base64.
const SECRET_LEN: usize = SECRET_PREFIX.len() + 43;
const ID_LEN: usize = 12;
/// Crockford's base 32 (no I, L, O, U), as quarantine ids use.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// `last_used_at` is written at most this often per token.
const USAGE_INTERVAL: i64 = 60;

/// Why a token cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("unknown scope {0:?}; the scopes are: {scopes}", scopes = SCOPES.join(", "))]
    UnknownScope(String),
    #[error("a token needs at least one scope")]
    NoScope,
    #[error("a token needs a name (what it is for)")]
    NoName,
    #[error("no randomness from the operating system: {0}")]
    Random(getrandom::Error),
}

/// The scopes given, checked, each once, in the order of [`SCOPES`].
pub fn validate_scopes<S: AsRef<str>>(scopes: &[S]) -> Result<Vec<String>, TokenError> {
    if let Some(unknown) = scopes
        .iter()
        .map(|s| s.as_ref().trim())
        .find(|s| !SCOPES.contains(s))
    {
        return Err(TokenError::UnknownScope(unknown.to_owned()));
    }
    let chosen: Vec<String> = SCOPES
        .iter()
        .filter(|scope| scopes.iter().any(|s| s.as_ref().trim() == **scope))
        .map(|scope| (*scope).to_owned())
        .collect();
    if chosen.is_empty() {
        return Err(TokenError::NoScope);
    }
    Ok(chosen)
}

/// A new token created at `now`: its secret (shown once, never stored) and the token to store.
pub fn new_token<S: AsRef<str>>(
    name: &str,
    scopes: &[S],
    now: i64,
) -> Result<(String, ApiToken), TokenError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(TokenError::NoName);
    }
    let scopes = validate_scopes(scopes)?;
    let secret = format!(
        "{SECRET_PREFIX}{}",
        random_secret().map_err(TokenError::Random)?
    );
    let mut id_bytes = [0u8; 8];
    getrandom::fill(&mut id_bytes).map_err(TokenError::Random)?;
    let random = u64::from_le_bytes(id_bytes);
    let id = (0..ID_LEN)
        .map(|i| char::from(CROCKFORD[((random >> (i * 5)) & 31) as usize]))
        .collect();
    let token = ApiToken {
        id,
        name: name.to_owned(),
        token_hash: hash_secret(&secret),
        scopes,
        created_at: now,
        last_used_at: None,
        revoked_at: None,
    };
    Ok((secret, token))
}

/// 256 random bits in URL-safe base64 (43 characters): API token secrets, console session secrets and CSRF
/// tokens.
pub(crate) fn random_secret() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; SECRET_BYTES];
    getrandom::fill(&mut bytes)?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// Lower-case hex SHA-256 of a secret, as the store keeps it.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Whether `secret` has the shape of a secret (anything else is refused without asking the store).
fn well_formed(secret: &str) -> bool {
    secret.len() == SECRET_LEN
        && secret.starts_with(SECRET_PREFIX)
        && secret[SECRET_PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Who made a request: the token that authenticated it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub token_id: String,
}

impl Caller {
    /// As the audit log and release records name it: `token:<id>`.
    pub fn actor(&self) -> String {
        format!("token:{}", self.token_id)
    }
}

/// When each token's `last_used_at` was last written (in memory), so that it is written at most once a minute
/// per token rather than on every request.
#[derive(Default)]
pub(crate) struct UsageClock(Mutex<HashMap<String, i64>>);

impl UsageClock {
    /// Whether `id`'s use at `now` should be written; if so, it counts as written.
    fn due(&self, id: &str, now: i64) -> bool {
        let mut written = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match written.get(id) {
            Some(&at) if now - at < USAGE_INTERVAL => false,
            _ => {
                written.insert(id.to_owned(), now);
                true
            }
        }
    }
}

/// What a route's check needs: the state and the scope of the route.
#[derive(Clone)]
pub(crate) struct Guard {
    pub state: ApiState,
    pub scope: &'static str,
}

/// The middleware in front of every route with a scope: the request goes on with its [`Caller`] in its
/// extensions, or is answered 401/403 (503 when the store cannot say).
pub(crate) async fn require(
    State(guard): State<Guard>,
    mut request: Request,
    next: Next,
) -> Response {
    match authenticate(&guard.state, request.headers(), guard.scope).await {
        Ok(caller) => {
            request.extensions_mut().insert(caller);
            next.run(request).await
        }
        Err(e) => e.into_response(),
    }
}

async fn authenticate(
    state: &ApiState,
    headers: &HeaderMap,
    scope: &str,
) -> Result<Caller, ApiError> {
    let secret = bearer(headers)
        .ok_or_else(|| ApiError::unauthorized("an Authorization: Bearer token is required"))?;
    let unknown = || ApiError::unauthorized("unknown or revoked token");
    if !well_formed(secret) {
        return Err(unknown());
    }
    let token = state
        .store()
        .token_by_hash(&hash_secret(secret))
        .await?
        .filter(|t| t.revoked_at.is_none())
        .ok_or_else(unknown)?;
    if !token.scopes.iter().any(|s| s == scope) {
        return Err(ApiError::forbidden(format!(
            "this token lacks the scope {scope:?}"
        )));
    }
    let now = fumidai_core::unix_now();
    if state.usage.due(&token.id, now) {
        if let Err(e) = state.store().token_used(&token.id, now).await {
            // The request is authorised; only the usage record is lost.
            tracing::warn!(token = %token.id, error = %e, "api: cannot record token use");
        }
    }
    Ok(Caller { token_id: token.id })
}

/// The credentials of `Authorization: Bearer <secret>` (the scheme is case-insensitive, RFC 7235).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, credentials) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| credentials.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_url_safe_base64_of_32_bytes_and_stored_hashed() {
        let (secret, token) = new_token("ci", &["scan"], 1_800_000_000).unwrap();
        assert_eq!(secret.len(), 47, "{secret}");
        assert!(well_formed(&secret), "{secret}");
        let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&secret[4..])
            .unwrap();
        assert_eq!(decoded.len(), 32);
        assert_eq!(token.token_hash, hash_secret(&secret));
        assert_eq!(token.token_hash.len(), 64);
        assert!(token
            .token_hash
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert_eq!(token.id.len(), 12);
        assert!(
            token.id.bytes().all(|b| CROCKFORD.contains(&b)),
            "{}",
            token.id
        );
        assert_eq!(
            (
                token.name.as_str(),
                token.created_at,
                token.last_used_at,
                token.revoked_at
            ),
            ("ci", 1_800_000_000, None, None)
        );
        let (other, other_token) = new_token("ci", &["scan"], 1_800_000_000).unwrap();
        assert_ne!(secret, other);
        assert_ne!(token.id, other_token.id);
    }

    #[test]
    fn the_hash_is_sha256_hex_of_the_whole_secret() {
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        assert_eq!(
            hash_secret("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn scopes_are_checked_deduplicated_and_ordered() {
        assert_eq!(
            validate_scopes(&["audit:read", "scan", " scan "]).unwrap(),
            vec!["scan", "audit:read"]
        );
        assert_eq!(validate_scopes(&SCOPES).unwrap(), SCOPES.to_vec());
        assert!(matches!(
            validate_scopes(&["scan", "quarantine:admin"]),
            Err(TokenError::UnknownScope(s)) if s == "quarantine:admin"
        ));
        assert!(matches!(
            validate_scopes::<&str>(&[]),
            Err(TokenError::NoScope)
        ));
        assert!(matches!(
            new_token(" ", &["scan"], 0),
            Err(TokenError::NoName)
        ));
        assert!(matches!(
            new_token("x", &["Scan"], 0),
            Err(TokenError::UnknownScope(_))
        ));
    }

    #[test]
    fn malformed_secrets_are_refused_before_any_lookup() {
        let (secret, _) = new_token("x", &["scan"], 0).unwrap();
        for bad in [
            &secret[..46],
            &format!("{secret}A"),
            &secret.replacen("fdt_", "fdx_", 1),
            &format!("fdt_{}", "+".repeat(43)),
            "",
        ] {
            assert!(!well_formed(bad), "{bad}");
        }
    }

    #[test]
    fn usage_is_written_at_most_once_a_minute_per_token() {
        let clock = UsageClock::default();
        assert!(clock.due("A", 1_000));
        assert!(!clock.due("A", 1_059));
        assert!(clock.due("B", 1_059));
        assert!(clock.due("A", 1_060));
        assert!(!clock.due("A", 1_100));
    }

    #[test]
    fn bearer_scheme_is_case_insensitive_and_required() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, v.parse().unwrap());
            h
        };
        assert_eq!(bearer(&with("Bearer fdt_x")), Some("fdt_x"));
        assert_eq!(bearer(&with("bearer fdt_x")), Some("fdt_x"));
        assert_eq!(bearer(&with("Basic fdt_x")), None);
        assert_eq!(bearer(&with("fdt_x")), None);
        assert_eq!(bearer(&HeaderMap::new()), None);
    }
}
