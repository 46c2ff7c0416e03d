//! The endpoints: one table of routes (method, path, scope, handler) and the handlers, thin over the store,
//! the engine and `fumidai_act::release`, as the CLI commands they mirror.

use axum::body::{Body, Bytes};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::handler::Handler;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{on, MethodFilter, MethodRouter};
use axum::Extension;
use fumidai_core::unix_now;
use fumidai_engine::Envelope;
use fumidai_store::{AuditFilter, CaseFilter, CaseState, EventKind, QuarantineFilter};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::auth::{self, Caller};
use crate::error::json;
use crate::params::Params;
use crate::views::{self, AccountReleaseView, CaseView, QuarantineItemView, ReleaseView};
use crate::{ops, ApiError, ApiState, OPENAPI};

/// The methods the API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verb {
    Get,
    Post,
    Delete,
}

impl Verb {
    fn filter(self) -> MethodFilter {
        match self {
            Verb::Get => MethodFilter::GET,
            Verb::Post => MethodFilter::POST,
            Verb::Delete => MethodFilter::DELETE,
        }
    }

    /// As OpenAPI names it.
    #[cfg(test)]
    pub fn name(self) -> &'static str {
        match self {
            Verb::Get => "get",
            Verb::Post => "post",
            Verb::Delete => "delete",
        }
    }
}

pub(crate) struct Route {
    /// Built into the handler; kept for the test that holds the table against the OpenAPI document.
    #[cfg_attr(not(test), allow(dead_code))]
    pub verb: Verb,
    pub path: &'static str,
    /// None: served without a token (the OpenAPI document).
    pub scope: Option<&'static str>,
    pub handler: MethodRouter<ApiState>,
}

fn route<H, T>(verb: Verb, path: &'static str, scope: Option<&'static str>, handler: H) -> Route
where
    H: Handler<T, ApiState>,
    T: 'static,
{
    Route {
        verb,
        path,
        scope,
        handler: on(verb.filter(), handler),
    }
}

/// Every endpoint. The router is built from this table, and a test holds it against `openapi.json`.
pub(crate) fn routes() -> Vec<Route> {
    use Verb::{Delete, Get, Post};
    vec![
        route(Get, "/api/openapi.json", None, openapi),
        route(Post, "/api/v1/scan", Some(auth::SCAN), scan),
        route(
            Get,
            "/api/v1/quarantine",
            Some(auth::QUARANTINE_READ),
            quarantine_list,
        ),
        route(
            Get,
            "/api/v1/quarantine/{id}",
            Some(auth::QUARANTINE_READ),
            quarantine_show,
        ),
        route(
            Delete,
            "/api/v1/quarantine/{id}",
            Some(auth::QUARANTINE_WRITE),
            quarantine_delete,
        ),
        route(
            Get,
            "/api/v1/quarantine/{id}/original",
            Some(auth::QUARANTINE_WRITE),
            quarantine_original,
        ),
        route(
            Post,
            "/api/v1/quarantine/{id}/release",
            Some(auth::QUARANTINE_WRITE),
            quarantine_release,
        ),
        route(
            Get,
            "/api/v1/history/lookup",
            Some(auth::HISTORY_READ),
            history_lookup,
        ),
        route(
            Get,
            "/api/v1/whitelist",
            Some(auth::HISTORY_READ),
            whitelist_list,
        ),
        route(
            Post,
            "/api/v1/whitelist",
            Some(auth::WHITELIST_WRITE),
            whitelist_add,
        ),
        route(
            Delete,
            "/api/v1/whitelist/{pattern}",
            Some(auth::WHITELIST_WRITE),
            whitelist_remove,
        ),
        route(Get, "/api/v1/cases", Some(auth::ALERTS_READ), cases_list),
        route(
            Get,
            "/api/v1/cases/{id}",
            Some(auth::ALERTS_READ),
            case_show,
        ),
        route(
            Post,
            "/api/v1/cases/{id}/state",
            Some(auth::ALERTS_WRITE),
            case_set_state,
        ),
        route(
            Get,
            "/api/v1/statistics",
            Some(auth::STATS_READ),
            statistics,
        ),
        route(
            Get,
            "/api/v1/outbound",
            Some(auth::OUTBOUND_READ),
            outbound_status,
        ),
        route(
            Post,
            "/api/v1/outbound/{account}/release",
            Some(auth::OUTBOUND_WRITE),
            outbound_release,
        ),
        route(Get, "/api/v1/audit", Some(auth::AUDIT_READ), audit_log),
    ]
}

type Answer = Result<Response, ApiError>;

/// Largest JSON request body (a whitelist entry, a state change).
const MAX_JSON_BODY: usize = 64 << 10;
/// Lists return at most this many rows a request.
const MAX_LIMIT: u32 = 1_000;
const DEFAULT_LIMIT: u32 = 100;
/// Local recipients one history lookup may name.
const MAX_LOCALS: usize = 100;

/// A list answer: `{"items": [...]}`.
#[derive(Serialize)]
struct Items<T> {
    items: Vec<T>,
}

fn items<T: Serialize>(items: Vec<T>) -> Response {
    json(StatusCode::OK, &Items { items })
}

pub(crate) async fn no_such_path() -> ApiError {
    ApiError::not_found("no such endpoint; see /api/openapi.json")
}

pub(crate) async fn no_such_method() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not take that method; see /api/openapi.json",
    )
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

async fn scan(State(state): State<ApiState>, headers: HeaderMap, body: Body) -> Answer {
    content_type_is(&headers, &["message/rfc822", "application/octet-stream"])?;
    let limit = state.config().milter.max_message_bytes;
    let raw = read_body(&headers, body, limit).await?;
    // No body and no type is a request that forgot its message; an empty body declared as one is an empty message.
    if raw.is_empty() && !headers.contains_key(header::CONTENT_TYPE) {
        return Err(ApiError::bad_request(
            "the body must be the message to scan (message/rfc822 or application/octet-stream)",
        ));
    }
    let engine = state.engine.clone();
    let report = tokio::task::spawn_blocking(move || engine.scan(&raw, &Envelope::default()))
        .await
        .map_err(|e| ApiError::internal(format!("the scan did not finish: {e}")))?
        .map_err(|e| {
            // A message that breaks a checker is the message's doing: not a server fault to retry.
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "scan_failed",
                e.to_string(),
            )
        })?;
    Ok(json(StatusCode::OK, &report))
}

async fn quarantine_list(State(state): State<ApiState>, RawQuery(query): RawQuery) -> Answer {
    let p = Params::parse(
        query.as_deref(),
        &[
            "since",
            "until",
            "sender",
            "recipient",
            "text",
            "finding",
            "action",
            "limit",
        ],
        &[],
    )?;
    let filter = QuarantineFilter {
        since: p.parsed("since", "Unix seconds")?,
        until: p.parsed("until", "Unix seconds")?,
        sender: p.text("sender"),
        recipient: p.text("recipient"),
        text: p.text("text"),
        finding: p.text("finding"),
        action: p.text("action"),
        limit: Some(p.limit(DEFAULT_LIMIT, MAX_LIMIT)?),
    };
    let found = state.store().quarantine_list(&filter).await?;
    Ok(items(
        found.iter().map(QuarantineItemView::listed).collect(),
    ))
}

async fn quarantine_show(
    State(state): State<ApiState>,
    id: Result<Path<String>, PathRejection>,
) -> Answer {
    let item = ops::quarantined(&state, &path_text(id)?).await?;
    Ok(json(StatusCode::OK, &QuarantineItemView::shown(&item)))
}

async fn quarantine_original(
    State(state): State<ApiState>,
    id: Result<Path<String>, PathRejection>,
) -> Answer {
    ops::original_download(&state, &path_text(id)?).await
}

async fn quarantine_release(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    id: Result<Path<String>, PathRejection>,
) -> Answer {
    let id = path_text(id)?;
    let done = ops::release_item(&state, &id, &caller.actor()).await?;
    Ok(json(StatusCode::OK, &ReleaseView::new(&id, &done)))
}

#[derive(Serialize)]
struct Deleted<'a> {
    id: &'a str,
    deleted: bool,
}

async fn quarantine_delete(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    id: Result<Path<String>, PathRejection>,
) -> Answer {
    let id = path_text(id)?;
    ops::delete_item(&state, &id, &caller.actor()).await?;
    Ok(json(
        StatusCode::OK,
        &Deleted {
            id: &id,
            deleted: true,
        },
    ))
}

async fn history_lookup(State(state): State<ApiState>, RawQuery(query): RawQuery) -> Answer {
    let p = Params::parse(query.as_deref(), &["sender", "local", "at"], &["local"])?;
    let sender = p
        .text("sender")
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| ApiError::bad_request("parameter \"sender\" is required"))?;
    let locals = p.all("local");
    if locals.is_empty() || locals.len() > MAX_LOCALS {
        return Err(ApiError::bad_request(format!(
            "parameter \"local\" is required, 1 to {MAX_LOCALS} times"
        )));
    }
    let at = p.parsed("at", "Unix seconds")?.unwrap_or_else(unix_now);
    let view = views::history_lookup(
        state.store(),
        &state.config().history(),
        &sender,
        &locals,
        at,
    )
    .await?;
    Ok(json(StatusCode::OK, &view))
}

async fn whitelist_list(State(state): State<ApiState>, RawQuery(query): RawQuery) -> Answer {
    Params::parse(query.as_deref(), &[], &[])?;
    Ok(items(state.store().whitelist().await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WhitelistAdd {
    pattern: String,
    #[serde(default)]
    comment: String,
}

async fn whitelist_add(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    body: Body,
) -> Answer {
    let add: WhitelistAdd = read_json(&headers, body).await?;
    let entry = ops::whitelist_add(&state, &caller.actor(), &add.pattern, &add.comment).await?;
    Ok(json(StatusCode::CREATED, &entry))
}

#[derive(Serialize)]
struct Removed<'a> {
    pattern: &'a str,
    removed: bool,
}

async fn whitelist_remove(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    pattern: Result<Path<String>, PathRejection>,
) -> Answer {
    let pattern = ops::whitelist_remove(&state, &caller.actor(), &path_text(pattern)?).await?;
    Ok(json(
        StatusCode::OK,
        &Removed {
            pattern: &pattern,
            removed: true,
        },
    ))
}

async fn cases_list(State(state): State<ApiState>, RawQuery(query): RawQuery) -> Answer {
    let p = Params::parse(
        query.as_deref(),
        &["state", "kind", "organisation", "limit"],
        &[],
    )?;
    let filter = CaseFilter {
        state: p
            .text("state")
            .map(|s| {
                CaseState::parse(&s).ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "state {s:?}: expected new, notified, acknowledged or resolved"
                    ))
                })
            })
            .transpose()?,
        kind: p
            .text("kind")
            .map(|k| {
                EventKind::parse(&k).ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "kind {k:?}: expected springboard or impersonation"
                    ))
                })
            })
            .transpose()?,
        organisation: p.text("organisation"),
        limit: p.limit(DEFAULT_LIMIT, MAX_LIMIT)?,
    };
    let cases = state.store().cases(&filter).await?;
    Ok(items(cases.iter().map(CaseView::listed).collect()))
}

async fn case_show(
    State(state): State<ApiState>,
    id: Result<Path<String>, PathRejection>,
) -> Answer {
    let case = ops::case(&state, case_id(id)?).await?;
    Ok(json(StatusCode::OK, &CaseView::shown(&case)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StateChange {
    state: String,
}

async fn case_set_state(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Answer {
    let id = case_id(id)?;
    let change: StateChange = read_json(&headers, body).await?;
    let case = ops::case_set_state(&state, &caller.actor(), id, &change.state).await?;
    Ok(json(StatusCode::OK, &CaseView::shown(&case)))
}

async fn statistics(State(state): State<ApiState>, RawQuery(query): RawQuery) -> Answer {
    let p = Params::parse(query.as_deref(), &["since", "until"], &[])?;
    let report = ops::statistics(&state, p.text("since"), p.text("until")).await?;
    Ok(json(StatusCode::OK, &report))
}

async fn outbound_status(State(state): State<ApiState>, RawQuery(query): RawQuery) -> Answer {
    let p = Params::parse(query.as_deref(), &["held"], &[])?;
    let only_held = p.parsed::<bool>("held", "true or false")?.unwrap_or(false);
    let window = state.config().outbound.window_seconds();
    let accounts = state
        .store()
        .outbound_accounts(unix_now(), window)
        .await?
        .into_iter()
        .filter(|a| a.held || !only_held)
        .collect();
    Ok(items(accounts))
}

async fn outbound_release(
    State(state): State<ApiState>,
    Extension(caller): Extension<Caller>,
    account: Result<Path<String>, PathRejection>,
) -> Answer {
    let account = path_text(account)?;
    let by = caller.actor();
    let now = ops::outbound_release(&state, &by, &account).await?;
    Ok(json(
        StatusCode::OK,
        &AccountReleaseView {
            account: &account,
            released: true,
            by: &by,
            at: now,
        },
    ))
}

async fn audit_log(State(state): State<ApiState>, RawQuery(query): RawQuery) -> Answer {
    let p = Params::parse(
        query.as_deref(),
        &["since", "until", "actor", "action", "limit"],
        &[],
    )?;
    let filter = AuditFilter {
        since: p.parsed("since", "Unix seconds")?,
        until: p.parsed("until", "Unix seconds")?,
        actor: p.text("actor"),
        action: p.text("action"),
        limit: p.limit(DEFAULT_LIMIT, MAX_LIMIT)?,
    };
    Ok(items(state.store().audit_log(&filter).await?))
}

fn path_error(e: PathRejection) -> ApiError {
    ApiError::bad_request(e.body_text())
}

fn path_text(value: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    let Path(value) = value.map_err(path_error)?;
    Ok(value)
}

fn case_id(id: Result<Path<String>, PathRejection>) -> Result<i64, ApiError> {
    let Path(id) = id.map_err(path_error)?;
    id.parse()
        .map_err(|_| ApiError::bad_request(format!("{id:?} is not a case id (an integer)")))
}

/// Refuses a declared Content-Type outside `allowed` (none declared is taken as meant).
fn content_type_is(headers: &HeaderMap, allowed: &[&str]) -> Result<(), ApiError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let essence = value
        .to_str()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if allowed.contains(&essence.as_str()) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("expected Content-Type {}", allowed.join(" or ")),
        ))
    }
}

fn too_large(limit: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too_large",
        format!("the body is larger than {limit} bytes"),
    )
}

/// The whole body, at most `limit` bytes (413 above, told by Content-Length before anything is read).
async fn read_body(headers: &HeaderMap, body: Body, limit: u64) -> Result<Bytes, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(too_large(limit));
    }
    axum::body::to_bytes(body, usize::try_from(limit).unwrap_or(usize::MAX))
        .await
        .map_err(|e| {
            let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
            while let Some(s) = source {
                if s.is::<http_body_util::LengthLimitError>() {
                    return too_large(limit);
                }
                source = s.source();
            }
            ApiError::bad_request(format!("cannot read the request body: {e}"))
        })
}

/// A JSON request body as `T`.
async fn read_json<T: DeserializeOwned>(headers: &HeaderMap, body: Body) -> Result<T, ApiError> {
    content_type_is(headers, &["application/json"])?;
    let bytes = read_body(headers, body, MAX_JSON_BODY as u64).await?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request(format!("the body is not the JSON expected: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use std::collections::BTreeSet;

    /// Without a Content-Length the limit is found while reading, and is still a 413.
    #[tokio::test]
    async fn bodies_over_the_limit_are_413_whether_announced_or_not() {
        let body = || Body::from(vec![b'a'; 100]);
        let err = read_body(&HeaderMap::new(), body(), 99).await.unwrap_err();
        assert_eq!(
            (err.status, err.code),
            (StatusCode::PAYLOAD_TOO_LARGE, "too_large")
        );
        let mut announced = HeaderMap::new();
        announced.insert(header::CONTENT_LENGTH, HeaderValue::from_static("100"));
        let err = read_body(&announced, body(), 99).await.unwrap_err();
        assert_eq!(err.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(read_body(&announced, body(), 100).await.unwrap().len(), 100);
    }

    /// Every `$ref` in the document points at something in it.
    #[test]
    fn the_openapi_references_resolve() {
        fn refs<'a>(value: &'a serde_json::Value, out: &mut Vec<&'a str>) {
            match value {
                serde_json::Value::Object(map) => {
                    if let Some(target) = map.get("$ref").and_then(|r| r.as_str()) {
                        out.push(target);
                    }
                    map.values().for_each(|v| refs(v, out));
                }
                serde_json::Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
                _ => {}
            }
        }
        let doc: serde_json::Value = serde_json::from_str(OPENAPI).unwrap();
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(found.len() > 50, "{}", found.len());
        for target in found {
            let pointer = target.strip_prefix('#').expect("local references only");
            assert!(doc.pointer(pointer).is_some(), "{target}");
        }
    }

    /// The OpenAPI document lists exactly the router's endpoints, with a security requirement exactly where the
    /// route has a scope (and the scope in its description).
    #[test]
    fn the_openapi_document_matches_the_routes() {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI).expect("openapi.json parses");
        assert_eq!(doc["openapi"], "3.0.3");
        let methods = [
            "get", "put", "post", "delete", "patch", "head", "options", "trace",
        ];
        let mut documented = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, op) in item.as_object().expect("path item") {
                if methods.contains(&method.as_str()) {
                    documented.insert((path.clone(), method.clone()));
                    assert!(
                        op["operationId"].is_string(),
                        "{method} {path}: operationId"
                    );
                    assert!(op["responses"].is_object(), "{method} {path}: responses");
                }
            }
        }
        let routes = routes();
        let served: BTreeSet<(String, String)> = routes
            .iter()
            .map(|r| (r.path.to_owned(), r.verb.name().to_owned()))
            .collect();
        assert_eq!(served.len(), routes.len(), "a route is listed twice");
        assert_eq!(documented, served);
        for r in &routes {
            let op = &doc["paths"][r.path][r.verb.name()];
            match r.scope {
                None => assert_eq!(op["security"], serde_json::json!([]), "{}", r.path),
                Some(scope) => {
                    assert!(
                        op.get("security").is_none(),
                        "{}: the global bearer scheme applies",
                        r.path
                    );
                    let description = op["description"].as_str().unwrap_or("");
                    assert!(
                        description.contains(&format!("Scope: `{scope}`")),
                        "{} {}: the description names its scope",
                        r.verb.name(),
                        r.path
                    );
                    for status in ["401", "403"] {
                        assert!(
                            op["responses"][status].is_object(),
                            "{} {}: {status}",
                            r.verb.name(),
                            r.path
                        );
                    }
                }
            }
        }
    }
}
