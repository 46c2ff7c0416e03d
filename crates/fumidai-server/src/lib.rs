//! The HTTP API and the web console ([`console`]) over one engine and store.
//!
//! Every endpoint is in one table (`api::routes`): its method, path, the scope it needs and its handler. The
//! router is built from that table, and a unit test holds it against the OpenAPI document
//! (`openapi.json`, served at `GET /api/openapi.json`), so the two cannot drift apart.
//!
//! - **Auth** ([`auth`]): `Authorization: Bearer fdt_...`. A token is looked up by the SHA-256 of its secret, so
//!   nothing is compared with the secret itself; an unknown or revoked token is 401 (with
//!   `WWW-Authenticate: Bearer`), a token without the endpoint's scope 403. Release, delete and every edit write an
//!   audit entry with the actor `token:<id>`.
//! - **Errors** are `{"error": "<code>", "message": "..."}` with the status that fits; bad input is always a 4xx
//!   (parameters are checked before they reach the store), a store that is down is 503.
//! - **Shapes**: what the CLI prints with `--json` (the shaping both use is in [`views`]), lists wrapped as
//!   `{"items": [...]}`.

mod api;
pub mod auth;
pub mod console;
mod error;
mod ops;
mod params;
pub mod views;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::middleware;
use axum::Router;
use fumidai_engine::{Config, Engine};
use fumidai_store::Store;

pub use auth::{new_token, Caller, TokenError};
pub use error::ApiError;

/// The OpenAPI 3.0.3 document of this API.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// What every request is served with: the engine (and so the configuration) and the store. Cheap to clone.
#[derive(Clone)]
pub struct ApiState {
    engine: Arc<Engine>,
    store: Arc<dyn Store>,
    usage: Arc<auth::UsageClock>,
    limiter: Arc<console::Limiter>,
}

impl ApiState {
    pub fn new(engine: Arc<Engine>, store: Arc<dyn Store>) -> ApiState {
        let server = &engine.config().server;
        let limiter = console::Limiter::new(
            server.login_failures,
            i64::from(server.login_window_minutes) * 60,
        );
        ApiState {
            engine,
            store,
            usage: Arc::default(),
            limiter: Arc::new(limiter),
        }
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn config(&self) -> &Config {
        self.engine.config()
    }

    pub fn store(&self) -> &dyn Store {
        &*self.store
    }

    pub(crate) fn limiter(&self) -> &console::Limiter {
        &self.limiter
    }
}

/// The API's router: every route of the table, behind its scope; unknown paths and methods get JSON errors too.
/// With `[server] console`, the console's pages under `/console`.
pub fn router(state: ApiState) -> Router {
    let mut router = Router::new();
    if state.config().server.console {
        router = router.merge(console::router());
    }
    for route in api::routes() {
        let handler = match route.scope {
            Some(scope) => route.handler.route_layer(middleware::from_fn_with_state(
                auth::Guard {
                    state: state.clone(),
                    scope,
                },
                auth::require,
            )),
            None => route.handler,
        };
        router = router.route(route.path, handler);
    }
    router
        .fallback(api::no_such_path)
        .method_not_allowed_fallback(api::no_such_method)
        .with_state(state)
}

/// Serves the API on `listener` until `shutdown` completes; requests in flight are finished first.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: ApiState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let purge = state
        .config()
        .server
        .console
        .then(|| tokio::spawn(console::purge_sessions(state.clone())));
    // The peer address is what the console's sign-in limit counts per address.
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    if let Some(purge) = purge {
        purge.abort();
    }
    served
}
