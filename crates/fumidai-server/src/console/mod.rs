//! The web console: pages rendered on the server, in Japanese and English, under `/console` on the API's
//! listener, for people signed in with a user name and password (`fumidai user add`).
//!
//! - **Sign-in** ([`login`]): argon2id password hashes ([`password`]), failures rate-limited per name and per
//!   address ([`limiter`]), a double-submit token against login CSRF.
//! - **Sessions** ([`session`]): a random cookie whose hash the store keeps; every form carries the session's CSRF
//!   token, and a POST whose `Origin` is another site is refused before any handler runs.
//! - **Roles**: a viewer reads; an operator also releases, deletes and downloads quarantined mail and edits the
//!   whitelist, cases and held accounts; an admin also manages users and reads the audit log. Changes go
//!   through the same code as the API's ([`crate::ops`]) and are written to the audit log as `user:<name>`.
//! - **Hostile content**: templates escape every value (minijinja's HTML auto-escaping), mail is shown only as
//!   text, and every response carries a Content-Security-Policy that allows no inline script, no remote image
//!   and no framing. Attachments download as `application/octet-stream` with a cleaned file name.
//! - **Pages** ([`pages`]): dashboard, quarantine, cases, exchange history and whitelist, statistics, users, audit.
//!   Charts are SVG drawn on the server ([`charts`]); the only script confirms deletions.

mod charts;
mod i18n;
mod limiter;
mod login;
mod pages;
pub mod password;
mod session;
mod users;

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use fumidai_store::StoreError;
use minijinja::{context, Environment, UndefinedBehavior, Value};

pub use i18n::Lang;
pub(crate) use limiter::Limiter;
use session::Signed;
pub use users::{new_user, user_name, UserError};

use crate::{ApiError, ApiState};

/// The console's routes, with its security headers and the same-origin check on forms.
pub(crate) fn router() -> Router<ApiState> {
    Router::new()
        .route(
            "/console",
            get(|| async { Redirect::permanent("/console/") }),
        )
        .route("/console/", get(pages::dashboard))
        .route("/console/login", get(login::form).post(login::submit))
        .route("/console/logout", post(login::logout))
        .route("/console/lang", get(login::language))
        .route("/console/static/{file}", get(asset))
        .route("/console/quarantine", get(pages::quarantine))
        .route("/console/quarantine/{id}", get(pages::item))
        .route("/console/quarantine/{id}/release", post(pages::release))
        .route("/console/quarantine/{id}/delete", post(pages::delete))
        .route("/console/quarantine/{id}/original", get(pages::original))
        .route(
            "/console/quarantine/{id}/attachments/{n}",
            get(pages::attachment),
        )
        .route("/console/outbound/release", post(pages::release_account))
        .route("/console/cases", get(pages::cases))
        .route("/console/cases/{id}", get(pages::case))
        .route("/console/cases/{id}/state", post(pages::case_state))
        .route("/console/history", get(pages::history))
        .route("/console/whitelist/add", post(pages::whitelist_add))
        .route("/console/whitelist/remove", post(pages::whitelist_remove))
        .route("/console/statistics", get(pages::statistics))
        .route("/console/users", get(pages::users))
        .route("/console/users/add", post(pages::user_add))
        .route("/console/users/role", post(pages::user_role))
        .route("/console/users/password", post(pages::user_password))
        .route("/console/users/delete", post(pages::user_delete))
        .route("/console/audit", get(pages::audit))
        .route("/console/{*rest}", get(not_found).post(not_found))
        .layer(middleware::from_fn(session::same_origin))
        .layer(middleware::from_fn(security_headers))
}

/// How often sessions that ended (idle or past their end) but were never presented again are deleted.
const PURGE_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

/// Deletes ended sessions now and every [`PURGE_EVERY`] (a session presented after its end is deleted at once;
/// this takes the ones nobody comes back with). Runs until aborted.
pub(crate) async fn purge_sessions(state: ApiState) {
    loop {
        let now = fumidai_core::unix_now();
        let idle = i64::from(state.config().server.session_idle_minutes) * 60;
        match state.store().sessions_purge(now - idle, now).await {
            Ok(0) => {}
            Ok(ended) => tracing::info!(ended, "console: ended sessions deleted"),
            Err(e) => tracing::warn!(error = %e, "console: ended sessions not deleted"),
        }
        tokio::time::sleep(PURGE_EVERY).await;
    }
}

/// What every console response carries: no script but our own file, no image but our own, no frames, no
/// sniffing, no referrer to other sites, no caching of pages that show mail.
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "same-origin"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

async fn asset(axum::extract::Path(file): axum::extract::Path<String>) -> Response {
    let (body, content_type) = match file.as_str() {
        "console.css" => (
            include_str!("static/console.css"),
            "text/css; charset=utf-8",
        ),
        "console.js" => (
            include_str!("static/console.js"),
            "text/javascript; charset=utf-8",
        ),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        body,
    )
        .into_response()
}

async fn not_found(headers: HeaderMap) -> Failure {
    let lang = Lang::of(&headers);
    Failure::new(StatusCode::NOT_FOUND, lang.word("not_found"), lang)
}

/// The templates, compiled once. Values are HTML-escaped (auto-escaping by the `.html` names), and a name a
/// template uses but the page does not give is an error rather than an empty string.
fn templates() -> &'static Environment<'static> {
    static TEMPLATES: OnceLock<Environment<'static>> = OnceLock::new();
    TEMPLATES.get_or_init(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        for (name, source) in [
            ("base.html", include_str!("templates/base.html")),
            ("login.html", include_str!("templates/login.html")),
            ("error.html", include_str!("templates/error.html")),
            ("dashboard.html", include_str!("templates/dashboard.html")),
            ("quarantine.html", include_str!("templates/quarantine.html")),
            ("item.html", include_str!("templates/item.html")),
            ("cases.html", include_str!("templates/cases.html")),
            ("case.html", include_str!("templates/case.html")),
            ("history.html", include_str!("templates/history.html")),
            ("statistics.html", include_str!("templates/statistics.html")),
            ("users.html", include_str!("templates/users.html")),
            ("audit.html", include_str!("templates/audit.html")),
        ] {
            // The templates are part of the binary; one that does not parse fails every test of its page.
            if let Err(e) = env.add_template(name, source) {
                tracing::error!(template = name, error = %e, "console template does not parse");
            }
        }
        env
    })
}

/// A page that could not be served: its status and one line for the person, rendered in the page's frame.
#[derive(Debug)]
pub(crate) struct Failure {
    status: StatusCode,
    message: String,
    lang: Lang,
    /// Seconds, for 429.
    retry_after: Option<i64>,
}

impl Failure {
    pub fn new(status: StatusCode, message: impl Into<String>, lang: Lang) -> Failure {
        Failure {
            status,
            message: message.into(),
            lang,
            retry_after: None,
        }
    }

    pub fn from_api(e: ApiError, lang: Lang) -> Failure {
        Failure::new(e.status, e.message, lang)
    }

    pub fn from_store(e: StoreError, lang: Lang) -> Failure {
        Failure::from_api(e.into(), lang)
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let frame = Frame {
            lang: self.lang,
            signed: None,
            back: "/console/".into(),
            section: "",
            flash: None,
        };
        let page = frame.render(
            "error.html",
            &self.status.to_string(),
            context! { status => self.status.as_u16(), message => self.message },
        );
        let mut response = (self.status, page).into_response();
        if let Some(wait) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(wait));
        }
        response
    }
}

/// What every page is drawn in: the language, who is signed in, where the language links come back to, the
/// section the navigation marks, and the one-line message of a change just made.
pub(crate) struct Frame<'a> {
    pub lang: Lang,
    pub signed: Option<&'a Signed>,
    pub back: String,
    pub section: &'static str,
    pub flash: Option<&'static str>,
}

impl<'a> Frame<'a> {
    /// The frame of a signed-in page at `uri`; `?done=<what>` shows what was just done.
    pub fn of(signed: &'a Signed, uri: &Uri, section: &'static str) -> Frame<'a> {
        let flash = query_value(uri.query(), "done").and_then(|done| {
            signed
                .lang
                .words()
                .get(format!("flash_{done}").as_str())
                .copied()
        });
        Frame {
            lang: signed.lang,
            signed: Some(signed),
            back: uri
                .path_and_query()
                .map_or("/console/", |p| p.as_str())
                .to_owned(),
            section,
            flash,
        }
    }

    /// The page `template` with title `title` and the page's own values `page`.
    pub fn render(&self, template: &str, title: &str, page: Value) -> Html<String> {
        let user = self
            .signed
            .map(|s| context! { name => s.user.name, role => s.user.role.as_str() });
        let frame = context! {
            lang => self.lang.code(),
            t => Value::from_serialize(self.lang.words()),
            title => title,
            user => user,
            csrf => self.signed.map(|s| s.session.csrf.as_str()).unwrap_or(""),
            can_operate => self.signed.is_some_and(|s| s.may(fumidai_store::Role::Operator)),
            back => self.back,
            section => self.section,
            flash => self.flash,
        };
        let rendered = templates()
            .get_template(template)
            .and_then(|t| t.render(context! { ..frame, ..page }));
        match rendered {
            Ok(html) => Html(html),
            Err(e) => {
                tracing::error!(template, error = %e, "console page did not render");
                Html(format!(
                    "<!doctype html><title>fumidai</title><p>{}</p>",
                    StatusCode::INTERNAL_SERVER_ERROR
                ))
            }
        }
    }

    pub fn page(&self, template: &str, title_key: &str, page: Value) -> Response {
        self.render(template, self.lang.word(title_key), page)
            .into_response()
    }
}

/// The fields of a posted form (`application/x-www-form-urlencoded`, at most 64 KiB), the first of each name.
pub(crate) struct Form(HashMap<String, String>);

/// Largest form accepted.
const MAX_FORM_BYTES: usize = 64 << 10;

impl Form {
    pub async fn read(body: Body, lang: Lang) -> Result<Form, Failure> {
        let bytes = axum::body::to_bytes(body, MAX_FORM_BYTES)
            .await
            .map_err(|e| {
                Failure::new(
                    StatusCode::BAD_REQUEST,
                    format!("cannot read the form: {e}"),
                    lang,
                )
            })?;
        let mut fields = HashMap::new();
        for (key, value) in form_urlencoded::parse(&bytes) {
            fields
                .entry(key.into_owned())
                .or_insert_with(|| value.into_owned());
        }
        Ok(Form(fields))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A field that must be there (400 otherwise).
    pub fn required(&self, name: &str, lang: Lang) -> Result<&str, Failure> {
        self.get(name)
            .filter(|v| !v.trim().is_empty())
            .ok_or_else(|| {
                Failure::new(
                    StatusCode::BAD_REQUEST,
                    format!("the form lacks {name:?}"),
                    lang,
                )
            })
    }
}

/// The first value of query parameter `name`, decoded.
pub(crate) fn query_value(query: Option<&str>, name: &str) -> Option<String> {
    query.and_then(|q| {
        form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    })
}

/// Where to go back to after a form: `path`, with `?done=<what>` for the flash line.
pub(crate) fn done(path: &str, what: &str) -> Response {
    Redirect::to(&format!("{path}?done={what}")).into_response()
}

/// Whether `target` is a console page of this site (so never an open redirect elsewhere).
pub(crate) fn is_console_path(target: &str) -> bool {
    target.starts_with("/console/") && !target.contains("//") && !target.contains('\\')
}
