//! The collector: several fumidai nodes, or several customer sites, send their springboard events to one place
//! over HTTP, where they are grouped into cases and notified once.
//!
//! `POST /api/v1/events` with `Authorization: Bearer <token>` and a JSON array of [`SpringboardEvent`]s (at most
//! [`MAX_BATCH`]). Every event is checked, then recorded with [`Store::event_record`], which is idempotent by
//! event id: a node that retries after a lost answer, or two paths delivering the same event, count once. The
//! answer is `{"received": n, "new": m}`; a batch with an invalid event is refused whole (400) so that the node
//! keeps it in its outbox and the operator sees the error, rather than losing it silently.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use fumidai_store::{normalize_domain, CaseRules, SpringboardEvent, Store};

/// Events per request at most (a node sends its outbox in batches of this size).
pub const MAX_BATCH: usize = 500;
/// Request body limit: a batch of samples, each bounded by the evidence builder.
const MAX_BODY: usize = 16 << 20;

/// What the collector serves with.
pub struct Collector {
    pub store: Arc<dyn Store>,
    pub tokens: Vec<String>,
    pub rules: CaseRules,
}

pub fn router(collector: Arc<Collector>) -> Router {
    Router::new()
        .route("/api/v1/events", post(receive))
        .route("/healthz", get(healthz))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(collector)
}

async fn receive(
    State(collector): State<Arc<Collector>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !authorised(&headers, &collector.tokens) {
        return answer(
            StatusCode::UNAUTHORIZED,
            serde_json::json!({"error": "missing or unknown bearer token"}),
        );
    }
    let events: Vec<SpringboardEvent> = match serde_json::from_slice(&body) {
        Ok(events) => events,
        Err(e) => {
            return answer(
                StatusCode::BAD_REQUEST,
                serde_json::json!({"error": format!("not a JSON array of events: {e}")}),
            )
        }
    };
    if events.len() > MAX_BATCH {
        return answer(
            StatusCode::PAYLOAD_TOO_LARGE,
            serde_json::json!({"error": format!("at most {MAX_BATCH} events per request")}),
        );
    }
    if let Some((i, problem)) = events
        .iter()
        .enumerate()
        .find_map(|(i, e)| invalid(e).map(|p| (i, p)))
    {
        return answer(
            StatusCode::BAD_REQUEST,
            serde_json::json!({"error": format!("event {i}: {problem}")}),
        );
    }
    let mut new = 0;
    for event in &events {
        match collector
            .store
            .event_record(event, &collector.rules, false)
            .await
        {
            Ok(recorded) => new += usize::from(recorded.new),
            Err(e) => {
                tracing::error!(error = %e, "collector: cannot record events");
                // 503: the node keeps the batch and retries; events already recorded count once then.
                return answer(
                    StatusCode::SERVICE_UNAVAILABLE,
                    serde_json::json!({"error": format!("store: {e}")}),
                );
            }
        }
    }
    tracing::info!(received = events.len(), new, "collector: events recorded");
    answer(
        StatusCode::OK,
        serde_json::json!({"received": events.len(), "new": new}),
    )
}

async fn healthz(State(collector): State<Arc<Collector>>) -> Response {
    match collector.store.status().await {
        Ok(_) => answer(StatusCode::OK, serde_json::json!({"status": "ok"})),
        Err(e) => answer(
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({"status": "store unavailable", "error": e.to_string()}),
        ),
    }
}

fn answer(status: StatusCode, body: serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// Whether the request carries one of the tokens. Every token is compared in full, in constant time, so the
/// answer's timing does not tell how much of a guess was right.
fn authorised(headers: &HeaderMap, tokens: &[String]) -> bool {
    let Some(given) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    tokens.iter().fold(false, |ok, t| {
        ok | constant_time_eq(t.as_bytes(), given.as_bytes())
    })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Why an event from a node cannot be stored, if it cannot.
fn invalid(e: &SpringboardEvent) -> Option<String> {
    if e.id.is_empty() || e.id.len() > 64 || !e.id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Some("id must be 1-64 hex digits".into());
    }
    if e.site.is_empty() || e.site.len() > 200 {
        return Some("site must be 1-200 characters".into());
    }
    // Normalised (lower-case, IDNA) and registrable: a public suffix alone is never an organisation.
    if normalize_domain(&e.organisation).as_deref() != Some(e.organisation.as_str())
        || psl::domain_str(&e.organisation) != Some(e.organisation.as_str())
    {
        return Some(format!(
            "organisation {:?} is not a registrable domain",
            e.organisation
        ));
    }
    if !matches!(e.verdict.as_str(), "suspicious" | "malicious") {
        return Some(format!("verdict {:?}", e.verdict));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_match_whole() {
        let tokens = vec!["0123456789abcdef".to_owned(), "fedcba9876543210".to_owned()];
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, v.parse().unwrap());
            h
        };
        assert!(authorised(&with("Bearer fedcba9876543210"), &tokens));
        assert!(!authorised(&with("Bearer fedcba987654321"), &tokens));
        assert!(!authorised(&with("Bearer fedcba98765432100"), &tokens));
        assert!(!authorised(&with("fedcba9876543210"), &tokens));
        assert!(!authorised(&HeaderMap::new(), &tokens));
    }
}
