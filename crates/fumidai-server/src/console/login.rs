//! Signing in and out, and the language switch.
//!
//! The sign-in form is protected against login CSRF by a double-submit token: the page sets a random cookie and
//! carries the same value in a hidden field, and a post whose two differ is refused. Failures count against the
//! name and the client address ([`super::Limiter`]); an unknown name is verified against a decoy hash, so it
//! takes as long to refuse as a wrong password.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::body::Body;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use fumidai_core::unix_now;
use minijinja::context;

use super::i18n::{Lang, LANG_COOKIE};
use super::password::{decoy_hash, verify_password};
use super::session::{self, random_token, same_secret, set_cookie, Signed};
use super::{is_console_path, query_value, Failure, Form, Frame};
use crate::ApiState;

const LOGIN_COOKIE: &str = "fumidai_login";
/// How long a sign-in form stays valid.
const LOGIN_FORM_SECONDS: i64 = 3600;

/// Where to go after signing in: the page asked for, when it is a console page.
fn next_page(next: Option<&str>) -> String {
    next.filter(|n| is_console_path(n))
        .unwrap_or("/console/")
        .to_owned()
}

/// The sign-in page with a fresh form token (and `error`, with `status`).
fn login_page(
    state: &ApiState,
    lang: Lang,
    status: StatusCode,
    error: Option<&str>,
    username: &str,
    next: &str,
) -> Result<Response, Failure> {
    let token = random_token()?;
    let frame = Frame {
        lang,
        signed: None,
        back: format!(
            "/console/login?next={}",
            form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
        ),
        section: "",
        flash: None,
    };
    let page = frame.render(
        "login.html",
        lang.word("login"),
        context! { login_csrf => token, error => error, username => username, next => next },
    );
    Ok((
        status,
        [(
            header::SET_COOKIE,
            set_cookie(state, LOGIN_COOKIE, &token, Some(LOGIN_FORM_SECONDS)),
        )],
        page,
    )
        .into_response())
}

pub(crate) async fn form(
    State(state): State<ApiState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, Failure> {
    let next = next_page(query_value(query.as_deref(), "next").as_deref());
    login_page(&state, Lang::of(&headers), StatusCode::OK, None, "", &next)
}

/// The client's address (behind a reverse proxy every address is the proxy's; the per-name limit still holds).
fn peer_of(connect: Option<&ConnectInfo<SocketAddr>>) -> IpAddr {
    connect.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip())
}

pub(crate) async fn submit(
    State(state): State<ApiState>,
    connect: Option<axum::Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Failure> {
    let lang = Lang::of(&headers);
    let form = Form::read(body, lang).await?;
    let next = next_page(form.get("next"));
    let name = form.get("username").unwrap_or("").trim().to_lowercase();
    let password = form.get("password").unwrap_or("").to_owned();
    let again =
        |status, key: &str| login_page(&state, lang, status, Some(lang.word(key)), &name, &next);
    let token_ok = match (form.get("csrf"), session::cookie(&headers, LOGIN_COOKIE)) {
        (Some(given), Some(expected)) => same_secret(given, expected),
        _ => false,
    };
    if !token_ok {
        return again(StatusCode::FORBIDDEN, "login_form_stale");
    }
    let peer = peer_of(connect.as_ref().map(|c| &c.0));
    let now = unix_now();
    let limiter = state.limiter();
    if let Some(wait) = limiter.blocked(&name, peer, now) {
        tracing::warn!(user = %name, %peer, "console: sign-in refused, too many failures");
        let mut response = again(StatusCode::TOO_MANY_REQUESTS, "login_limited")?;
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, wait.into());
        return Ok(response);
    }
    let user = state
        .store()
        .user_get(&name)
        .await
        .map_err(|e| Failure::from_store(e, lang))?;
    let stored = user
        .as_ref()
        .map_or_else(|| decoy_hash().to_owned(), |u| u.password_hash.clone());
    let verified = tokio::task::spawn_blocking(move || verify_password(&password, &stored))
        .await
        .unwrap_or(false);
    let Some(user) = user.filter(|_| verified) else {
        limiter.failed(&name, peer, now);
        tracing::warn!(user = %name, %peer, "console: sign-in failed");
        return again(StatusCode::UNAUTHORIZED, "login_failed");
    };
    limiter.succeeded(&name);
    let cookie = session::start(&state, &user, &peer.to_string(), lang).await?;
    if let Err(e) = state.store().user_logged_in(&user.name, now).await {
        tracing::warn!(error = %e, "console: cannot note a sign-in");
    }
    tracing::info!(user = %user.name, role = %user.role, %peer, "console: signed in");
    // Both cookies: an array of headers would keep only the last of one name.
    Ok((
        AppendHeaders([
            (header::SET_COOKIE, cookie),
            (
                header::SET_COOKIE,
                set_cookie(&state, LOGIN_COOKIE, "", Some(0)),
            ),
        ]),
        Redirect::to(&next),
    )
        .into_response())
}

pub(crate) async fn logout(
    State(state): State<ApiState>,
    signed: Signed,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, Failure> {
    let form = Form::read(body, signed.lang).await?;
    signed.check_csrf(form.get("csrf"))?;
    session::end(&state, &headers).await;
    tracing::info!(user = %signed.user.name, "console: signed out");
    Ok((
        [(
            header::SET_COOKIE,
            set_cookie(&state, session::SESSION_COOKIE, "", Some(0)),
        )],
        Redirect::to("/console/login"),
    )
        .into_response())
}

/// `?to=ja|en&back=<console page>`: remembers the language for a year and goes back.
pub(crate) async fn language(RawQuery(query): RawQuery) -> Response {
    let query = query.as_deref();
    let lang = query_value(query, "to")
        .as_deref()
        .and_then(Lang::parse)
        .unwrap_or(Lang::Ja);
    let back = query_value(query, "back")
        .filter(|b| is_console_path(b))
        .unwrap_or_else(|| "/console/".to_owned());
    let cookie = format!(
        "{LANG_COOKIE}={}; Path=/console; SameSite=Lax; Max-Age=31536000",
        lang.code()
    );
    ([(header::SET_COOKIE, cookie)], Redirect::to(&back)).into_response()
}
