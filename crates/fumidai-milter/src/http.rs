//! `/healthz` and `/metrics` over HTTP for monitoring (Prometheus, load balancers, systemd checks).

use crate::Shared;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use std::sync::Arc;

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .with_state(shared)
}

/// 200 when the store answers (messages can be judged), 503 with the reason otherwise.
async fn healthz(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    let current = shared.current();
    let json = [(header::CONTENT_TYPE, "application/json")];
    let status = current.gateway.history().store().status().await;
    // A schema that lost its tables (dropped, restored from an old dump) is as bad as no database.
    let status = status.and_then(|s| {
        if s.applied.contains(&s.latest) {
            Ok(())
        } else {
            Err(fumidai_engine::StoreError::Unavailable(format!(
                "schema at migration {:?} of {}",
                s.applied.last(),
                s.latest
            )))
        }
    });
    match status {
        Ok(()) => (
            StatusCode::OK,
            json,
            serde_json::json!({"status": "ok"}).to_string(),
        ),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            json,
            serde_json::json!({"status": "store unavailable", "error": e.to_string()}).to_string(),
        ),
    }
}

async fn metrics(State(shared): State<Arc<Shared>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        shared.metrics.render(),
    )
}
