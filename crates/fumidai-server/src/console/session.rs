//! Signed-in browsers: the session cookie, the [`Signed`] extractor every page but sign-in takes, and the
//! checks on every form a session posts (its CSRF token, and where the form came from).
//!
//! The cookie carries 256 random bits; the store keeps their SHA-256 (as for API tokens), the user's name, a
//! CSRF token, and the times that end the session: `[server] session_idle_minutes` without a request, or
//! `session_max_hours` after sign-in. The cookie is `HttpOnly`, `SameSite=Strict`, limited to `/console`, and
//! `Secure` with `[server] secure_cookies`. The role is read from the user on every request, so a change of role
//! applies at once; a new password or a removed user ends every session of it.

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use fumidai_core::unix_now;
use fumidai_store::{ConsoleSession, ConsoleUser, Role};

use super::i18n::Lang;
use super::Failure;
use crate::auth::{hash_secret, random_secret};
use crate::ApiState;

pub(crate) const SESSION_COOKIE: &str = "fumidai_session";
/// `last_seen_at` is written at most this often per session.
const TOUCH_INTERVAL: i64 = 60;

/// The value of cookie `name` in the request, if sent.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (key, value) = pair.trim().split_once('=')?;
            (key == name).then_some(value)
        })
}

/// A new random secret ([`crate::auth::random_secret`]), or the failure page.
pub(crate) fn random_token() -> Result<String, Failure> {
    random_secret().map_err(|e| {
        Failure::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("no randomness from the operating system: {e}"),
            Lang::En,
        )
    })
}

/// A `Set-Cookie` value for the console's path.
pub(crate) fn set_cookie(
    state: &ApiState,
    name: &str,
    value: &str,
    max_age: Option<i64>,
) -> String {
    let mut cookie = format!("{name}={value}; Path=/console; HttpOnly; SameSite=Strict");
    if let Some(age) = max_age {
        cookie.push_str(&format!("; Max-Age={age}"));
    }
    if state.config().server.secure_cookies {
        cookie.push_str("; Secure");
    }
    cookie
}

/// Equal without telling by its timing how much of `given` was right.
pub(crate) fn same_secret(given: &str, expected: &str) -> bool {
    given.len() == expected.len()
        && given
            .bytes()
            .zip(expected.bytes())
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

/// Starts a session for `user` and returns the cookie to set.
pub(crate) async fn start(
    state: &ApiState,
    user: &ConsoleUser,
    peer: &str,
    lang: Lang,
) -> Result<String, Failure> {
    let secret = random_token()?;
    let now = unix_now();
    let server = &state.config().server;
    let session = ConsoleSession {
        id_hash: hash_secret(&secret),
        user_name: user.name.clone(),
        csrf: random_token()?,
        created_at: now,
        last_seen_at: now,
        expires_at: now + i64::from(server.session_max_hours) * 3600,
        peer: peer.to_owned(),
    };
    state
        .store()
        .session_create(&session)
        .await
        .map_err(|e| Failure::from_store(e, lang))?;
    Ok(set_cookie(state, SESSION_COOKIE, &secret, None))
}

/// Ends the request's session, if any (signing out).
pub(crate) async fn end(state: &ApiState, headers: &HeaderMap) {
    if let Some(secret) = cookie(headers, SESSION_COOKIE) {
        if let Err(e) = state.store().session_delete(&hash_secret(secret)).await {
            tracing::error!(error = %e, "console: cannot end a session");
        }
    }
}

/// A request from a signed-in user: who, in which session, in which language.
pub(crate) struct Signed {
    pub user: ConsoleUser,
    pub session: ConsoleSession,
    pub lang: Lang,
}

impl Signed {
    /// The audit log's actor.
    pub fn actor(&self) -> String {
        format!("user:{}", self.user.name)
    }

    pub fn may(&self, role: Role) -> bool {
        self.user.role >= role
    }

    /// 403 unless the user has at least `role`.
    pub fn require(&self, role: Role) -> Result<(), Failure> {
        if self.may(role) {
            Ok(())
        } else {
            Err(Failure::new(
                StatusCode::FORBIDDEN,
                self.lang.word("forbidden"),
                self.lang,
            ))
        }
    }

    /// 403 unless the form carries this session's CSRF token.
    pub fn check_csrf(&self, given: Option<&str>) -> Result<(), Failure> {
        if given.is_some_and(|given| same_secret(given, &self.session.csrf)) {
            Ok(())
        } else {
            Err(Failure::new(
                StatusCode::FORBIDDEN,
                self.lang.word("csrf_failed"),
                self.lang,
            ))
        }
    }
}

/// To the sign-in page, coming back here afterwards when this was a page (not a form).
fn to_login(parts: &Parts) -> Response {
    if parts.method != Method::GET {
        return Redirect::to("/console/login").into_response();
    }
    let here = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/console/");
    let next: String = form_urlencoded::byte_serialize(here.as_bytes()).collect();
    Redirect::to(&format!("/console/login?next={next}")).into_response()
}

impl FromRequestParts<ApiState> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Signed, Response> {
        let lang = Lang::of(&parts.headers);
        let Some(secret) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(to_login(parts));
        };
        let store = state.store();
        let id_hash = hash_secret(secret);
        let fail = |e| Failure::from_store(e, lang).into_response();
        let Some(session) = store.session_get(&id_hash).await.map_err(fail)? else {
            return Err(to_login(parts));
        };
        let now = unix_now();
        let idle = i64::from(state.config().server.session_idle_minutes) * 60;
        if session.expires_at <= now || session.last_seen_at + idle <= now {
            store.session_delete(&id_hash).await.map_err(fail)?;
            return Err(to_login(parts));
        }
        let Some(user) = store.user_get(&session.user_name).await.map_err(fail)? else {
            return Err(to_login(parts));
        };
        if now - session.last_seen_at >= TOUCH_INTERVAL {
            if let Err(e) = store.session_touch(&id_hash, now).await {
                tracing::warn!(error = %e, "console: cannot note a session's use");
            }
        }
        Ok(Signed {
            user,
            session,
            lang,
        })
    }
}

/// Refuses a form posted from another site, whatever its cookies. SameSite=Strict already keeps the session
/// cookie off such requests; this covers browsers that ignore it, and the sign-in form, which has no session.
pub(crate) async fn same_origin(request: Request, next: Next) -> Response {
    if request.method() == Method::POST && !from_this_site(request.headers()) {
        let lang = Lang::of(request.headers());
        return Failure::new(StatusCode::FORBIDDEN, lang.word("csrf_failed"), lang).into_response();
    }
    next.run(request).await
}

fn from_this_site(headers: &HeaderMap) -> bool {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    // Current browsers say who started the request, and no page can set this header. (`Origin` is not enough
    // alone: under a no-referrer policy Chromium sends `Origin: null` even for a page's own forms.)
    if let Some(site) = header("sec-fetch-site") {
        return site == "same-origin";
    }
    let Some(origin) = header(header::ORIGIN.as_str()) else {
        // Not a browser that names origins (a script with the cookie): the CSRF token still has to match.
        return true;
    };
    let host = header(header::HOST.as_str()).unwrap_or("");
    let origin_host = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .unwrap_or("");
    !host.is_empty() && origin_host.eq_ignore_ascii_case(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_among_others_and_in_several_headers() {
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, "a=1; fumidai_session=abc".parse().unwrap());
        headers.append(header::COOKIE, "b=2".parse().unwrap());
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, "b"), Some("2"));
        assert_eq!(cookie(&headers, "fumidai"), None);
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abd", "abc"));
        assert!(!same_secret("ab", "abc"));
        assert!(!same_secret("", "abc"));
    }

    #[test]
    fn forms_from_other_origins_are_refused() {
        let with = |pairs: &[(&'static str, &str)]| {
            let mut headers = HeaderMap::new();
            for (k, v) in pairs {
                headers.insert(*k, v.parse().unwrap());
            }
            from_this_site(&headers)
        };
        assert!(with(&[
            ("host", "127.0.0.1:10080"),
            ("origin", "http://127.0.0.1:10080")
        ]));
        assert!(with(&[("host", "127.0.0.1:10080")]));
        assert!(!with(&[
            ("host", "127.0.0.1:10080"),
            ("origin", "http://evil.example")
        ]));
        assert!(!with(&[("host", "127.0.0.1:10080"), ("origin", "null")]));
        assert!(!with(&[
            ("host", "127.0.0.1:10080"),
            ("origin", "http://127.0.0.1:10080"),
            ("sec-fetch-site", "cross-site")
        ]));
        assert!(!with(&[
            ("host", "127.0.0.1:10080"),
            ("sec-fetch-site", "same-site")
        ]));
        // Chromium's own forms under a no-referrer policy.
        assert!(with(&[
            ("host", "127.0.0.1:10080"),
            ("origin", "null"),
            ("sec-fetch-site", "same-origin")
        ]));
    }
}
