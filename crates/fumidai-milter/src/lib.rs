//! fumidai's milter: Postfix (or Sendmail) hands each message to fumidai over the milter protocol
//! (version 6), and fumidai answers with the policy's action: the delivered copy's header and body
//! changes, a discard for quarantined mail (the original is already in the store), a 5xx reject or a
//! 4xx tempfail.
//!
//! - [`frame`]: frames on the socket (miltr-common's messages; TCP_NODELAY, TCP_QUICKACK after each
//!   read, every end-of-message action in one write).
//! - [`session`]: one MTA connection, message by message; each message is judged on a blocking thread:
//!   the scan, then [`fumidai_act::Gateway`].
//! - [`respond`]: an outcome as milter modification actions.
//! - [`settings`]: `[milter]` parsed (listen specs, local networks, limits, fallbacks).
//! - [`metrics`] and [`http`]: Prometheus `/metrics` and `/healthz`.
//!
//! [`run`] serves until SIGTERM or SIGINT: SIGHUP reloads the configuration without dropping
//! connections (messages in flight finish under the configuration they started with), and shutdown
//! stops accepting, lets messages in flight finish (up to `shutdown_grace_seconds`) and closes idle
//! connections, so the MTA applies its `milter_default_action` (tempfail) until fumidai is back.

pub mod frame;
pub mod http;
pub mod metrics;
pub mod respond;
pub mod session;
pub mod settings;

use fumidai_act::{Actor, Gateway};
use fumidai_alerts::forward::Forwarder;
use fumidai_engine::config::Source;
use fumidai_engine::{Config, Engine, ExchangeHistory, ThreatFeed};
use metrics::Metrics;
use settings::{ListenSpec, Settings};
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::net::{TcpListener, UnixListener};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Why the milter could not start.
#[derive(Debug, thiserror::Error)]
pub enum MilterError {
    #[error("configuration: {0}")]
    Config(String),
    #[error("store: {0}")]
    Store(#[from] fumidai_engine::StoreError),
    #[error("listening on {spec}: {error}")]
    Listen { spec: String, error: std::io::Error },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// What one configuration gives: the gateway (engine, policy, store) and the milter's settings.
pub struct Current {
    pub gateway: Gateway,
    pub settings: Settings,
}

impl Current {
    /// Builds everything a configuration names; opens (and migrates) the store and reads the organisation
    /// directory.
    pub async fn open(config: Config) -> Result<Current, MilterError> {
        let settings = Settings::new(&config.milter).map_err(MilterError::Config)?;
        let engine = Arc::new(Engine::new(config).map_err(|e| MilterError::Config(e.to_string()))?);
        let actor = Actor::new(engine.clone()).map_err(|e| MilterError::Config(e.to_string()))?;
        let history = ExchangeHistory::open(engine.config()).await?;
        // Directory names ("パートナー株式会社") in display names attribute impersonation; read at start and reload.
        let directory = history.store().directory().await?;
        engine.set_threat_feed(Arc::new(ThreatFeed::load(history.store()).await?));
        Ok(Current {
            gateway: Gateway::new(actor, history).with_directory(&directory),
            settings,
        })
    }
}

/// State shared by every connection.
pub struct Shared {
    current: RwLock<Arc<Current>>,
    pub metrics: Metrics,
    cancel: CancellationToken,
}

impl Shared {
    /// The configuration in force now; a message keeps the one it started with.
    pub fn current(&self) -> Arc<Current> {
        Arc::clone(&self.current.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// Waits `period` for a periodic task's next round; false when the milter stops first.
    async fn wait(&self, period: Duration) -> bool {
        tokio::select! {
            () = self.cancel.cancelled() => false,
            () = tokio::time::sleep(period) => true,
        }
    }

    fn replace(&self, next: Current) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(next);
    }
}

/// The configuration as `source` gives it now (read again on SIGHUP).
fn load(source: &Source) -> Result<Config, MilterError> {
    source
        .load()
        .map_err(|e| MilterError::Config(e.to_string()))
}

enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener, PathBuf),
}

/// Serves until SIGTERM/SIGINT. Errors are for what prevents starting at all.
pub async fn run(source: Source) -> Result<(), MilterError> {
    let current = Current::open(load(&source)?).await?;
    let listeners = bind(&current.settings.listen).await?;
    let http_listen = current.settings.http_listen.clone();
    let shared = Arc::new(Shared {
        current: RwLock::new(Arc::new(current)),
        metrics: Metrics::new(),
        cancel: CancellationToken::new(),
    });
    let tracker = TaskTracker::new();
    let mut unix_paths = Vec::new();
    for listener in listeners {
        if let Listener::Unix(_, path) = &listener {
            unix_paths.push(path.clone());
        }
        tokio::spawn(accept(shared.clone(), listener, tracker.clone()));
    }
    if let Some(addr) = http_listen {
        let listener = TcpListener::bind(&addr)
            .await
            .map_err(|error| MilterError::Listen {
                spec: format!("http {addr}"),
                error,
            })?;
        tracing::info!(%addr, "serving /healthz and /metrics");
        let cancel = shared.cancel.clone();
        let app = http::router(shared.clone());
        tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move { cancel.cancelled().await })
                .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "HTTP listener failed");
            }
        });
    }
    tokio::spawn(refresh(shared.clone()));
    tokio::spawn(forward(shared.clone()));
    tokio::spawn(count(shared.clone()));
    signals(&shared, &source).await?;

    let grace = shared.current().settings.shutdown_grace;
    tracker.close();
    tracing::info!(
        in_flight = tracker.len(),
        grace_seconds = grace.as_secs(),
        "shutting down: finishing messages in flight"
    );
    if tokio::time::timeout(grace, tracker.wait()).await.is_err() {
        tracing::warn!(
            remaining = tracker.len(),
            "shutdown grace period over; the MTA will tempfail what was in flight"
        );
    }
    shared.current().gateway.flush_traffic().await;
    for path in unix_paths {
        let _ = std::fs::remove_file(path);
    }
    tracing::info!("stopped");
    Ok(())
}

async fn bind(specs: &[ListenSpec]) -> Result<Vec<Listener>, MilterError> {
    let mut out = Vec::new();
    for spec in specs {
        let error = |error| MilterError::Listen {
            spec: spec.to_string(),
            error,
        };
        let listener = match spec {
            ListenSpec::Inet(addr) => Listener::Tcp(TcpListener::bind(addr).await.map_err(error)?),
            ListenSpec::Unix(path) => {
                remove_stale_socket(path);
                let listener = UnixListener::bind(path).map_err(error)?;
                // Postfix's smtpd runs as user postfix; the socket's directory limits who reaches it.
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o666))
                    .map_err(error)?;
                Listener::Unix(listener, path.clone())
            }
        };
        tracing::info!(%spec, "milter listening");
        out.push(listener);
    }
    Ok(out)
}

/// A socket file left by a process that is gone; one that answers is left alone (bind then fails).
fn remove_stale_socket(path: &Path) {
    use std::os::unix::fs::FileTypeExt;
    let is_socket = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket());
    if is_socket && std::os::unix::net::UnixStream::connect(path).is_err() {
        let _ = std::fs::remove_file(path);
    }
}

async fn accept(shared: Arc<Shared>, listener: Listener, tracker: TaskTracker) {
    loop {
        let conn = tokio::select! {
            () = shared.cancel.cancelled() => return,
            accepted = async {
                match &listener {
                    Listener::Tcp(l) => l.accept().await.map(|(s, _)| frame::Conn::tcp(s)),
                    Listener::Unix(l, _) => l.accept().await.map(|(s, _)| frame::Conn::Unix(s)),
                }
            } => accepted,
        };
        match conn {
            Ok(conn) => {
                tracker.spawn(session::serve(shared.clone(), conn));
            }
            Err(e) => {
                // EMFILE and friends: back off instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Reloads the whitelist, correspondents and threat feed from the store every `refresh_seconds`, and drops
/// outbound counters that left the window and sent Message-IDs past `[outbound] remember_sent_days`.
async fn refresh(shared: Arc<Shared>) {
    while shared.wait(shared.current().settings.refresh).await {
        let current = shared.current();
        if let Err(e) = current.gateway.history().refresh().await {
            tracing::warn!(error = %e, "history refresh failed; keeping the loaded whitelist and correspondents");
        }
        match ThreatFeed::load(current.gateway.history().store()).await {
            Ok(feed) => current
                .gateway
                .actor()
                .engine()
                .set_threat_feed(Arc::new(feed)),
            Err(e) => {
                tracing::warn!(error = %e, "threat feed refresh failed; keeping the loaded feed")
            }
        }
        let outbound = &current.gateway.actor().engine().config().outbound;
        let now = fumidai_core::unix_now();
        if let Err(e) = current
            .gateway
            .history()
            .store()
            .outbound_prune(
                now - outbound.window_seconds(),
                now - outbound.remember_sent_seconds(),
            )
            .await
        {
            tracing::warn!(error = %e, "outbound counters and sent Message-IDs not pruned");
        }
        let store = current.gateway.history().store();
        if let Err(e) = store.traffic_prune(now - TRAFFIC_KEPT_SECONDS).await {
            tracing::warn!(error = %e, "the dashboard's old counters not pruned");
        }
    }
}

/// How long the dashboard's hourly counters are kept (it shows two weeks; a quarter leaves room to look back).
const TRAFFIC_KEPT_SECONDS: i64 = 92 * 86_400;

/// How often the messages handled are written to the dashboard's counters.
const COUNT_EVERY: Duration = Duration::from_secs(5);

/// Writes the dashboard's counters every [`COUNT_EVERY`] (see `fumidai_act::TrafficTally`).
async fn count(shared: Arc<Shared>) {
    while shared.wait(COUNT_EVERY).await {
        shared.current().gateway.flush_traffic().await;
    }
}

/// How often springboard events waiting for the collector are sent.
const FORWARD_EVERY: Duration = Duration::from_secs(30);

/// Sends springboard events to the collector (`[alerts] collector_url`) every [`FORWARD_EVERY`]; events stay
/// in the store's outbox until the collector has them.
async fn forward(shared: Arc<Shared>) {
    while shared.wait(FORWARD_EVERY).await {
        let current = shared.current();
        let alerts = &current.gateway.actor().engine().config().alerts;
        if alerts.collector_url.is_empty() {
            continue;
        }
        let drained = match Forwarder::new(&alerts.collector_url, &alerts.collector_token) {
            Ok(forwarder) => forwarder.drain(current.gateway.history().store()).await,
            Err(e) => Err(e),
        };
        match drained {
            Ok(0) => {}
            Ok(sent) => tracing::info!(sent, "springboard events forwarded to the collector"),
            Err(e) => {
                tracing::warn!(error = %e, "springboard events not forwarded; they wait for the next try")
            }
        }
    }
}

/// SIGHUP reloads; SIGTERM or SIGINT returns (and cancels every task).
async fn signals(shared: &Shared, source: &Source) -> Result<(), MilterError> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hup = signal(SignalKind::hangup())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    loop {
        tokio::select! {
            _ = hup.recv() => reload(shared, source).await,
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
    }
    shared.cancel.cancel();
    Ok(())
}

async fn reload(shared: &Shared, source: &Source) {
    let loaded = match load(source) {
        Ok(config) => Current::open(config).await,
        Err(e) => Err(e),
    };
    match loaded {
        Ok(next) => {
            let running = shared.current();
            let next = Current {
                gateway: next.gateway.with_tally(running.gateway.tally().clone()),
                settings: next.settings,
            };
            if next.settings.listen != running.settings.listen
                || next.settings.http_listen != running.settings.http_listen
            {
                tracing::warn!("milter.listen and milter.http_listen take effect after a restart");
            }
            shared.replace(next);
            shared.metrics.reload(true);
            tracing::info!("configuration reloaded");
        }
        Err(e) => {
            shared.metrics.reload(false);
            tracing::error!(error = %e, "configuration reload failed; the running configuration stays");
        }
    }
}
