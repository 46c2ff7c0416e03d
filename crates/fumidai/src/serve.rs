//! `fumidai serve`: the HTTP API on `[server] listen` and, with `[server] milter`, the milter of `[milter]` in the
//! same process, on one configuration. `fumidai token`: the API's tokens (the secret is shown once, at creation;
//! the store keeps only its hash).

use anyhow::Context;
use clap::Subcommand;
use fumidai_engine::config::Source;
use fumidai_engine::{Config, Engine, ThreatFeed};
use fumidai_history::import::time::format_utc;
use fumidai_server::ApiState;
use serde_json::json;
use std::process::ExitCode;
use std::sync::Arc;
use tokio::signal::unix::{signal, SignalKind};

/// Runs the API (and the milter) until SIGTERM or SIGINT. The milter handles SIGHUP (reload) as `fumidai
/// milter` does; the API keeps the configuration it started with.
pub fn serve(source: Source) -> anyhow::Result<ExitCode> {
    let config = source.load().context("configuration is not valid")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let store: Arc<dyn fumidai_store::Store> =
            fumidai_store::open(&config.store.location()).await?.into();
        let engine = Engine::new(config.clone())?;
        engine.set_threat_feed(Arc::new(ThreatFeed::load(store.as_ref()).await?));
        let listener = tokio::net::TcpListener::bind(&config.server.listen)
            .await
            .with_context(|| format!("[server] listen {}", config.server.listen))?;
        tracing::info!(addr = %config.server.listen, "serving the HTTP API (/api/openapi.json)");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let api = tokio::spawn(fumidai_server::serve(
            listener,
            ApiState::new(Arc::new(engine), store),
            async {
                let _ = stopped.await;
            },
        ));
        let outcome = if config.server.milter && !config.milter.listen.is_empty() {
            // The milter returns once SIGTERM has been handled (messages in flight finished).
            fumidai_milter::run(source)
                .await
                .map_err(anyhow::Error::from)
        } else {
            until_terminated().await
        };
        let _ = stop.send(());
        api.await??;
        tracing::info!("stopped");
        outcome.map(|()| ExitCode::SUCCESS)
    })
}

async fn until_terminated() -> anyhow::Result<()> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    Ok(())
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create a token for the HTTP API; its secret is printed once.
    Create {
        /// What it is for (a script, a SOAR playbook, a person).
        name: String,
        /// Scopes, comma-separated or repeated: scan, quarantine:read, quarantine:write, history:read,
        /// whitelist:write, alerts:read, alerts:write, stats:read, outbound:read, outbound:write, audit:read.
        #[arg(
            long = "scope",
            value_delimiter = ',',
            required_unless_present = "all_scopes"
        )]
        scopes: Vec<String>,
        /// Every scope.
        #[arg(long, conflicts_with = "scopes")]
        all_scopes: bool,
        #[arg(long)]
        json: bool,
    },
    /// Every token (never their secrets).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by its id.
    Revoke {
        id: String,
        #[arg(long)]
        json: bool,
    },
}

pub fn token(config: &Config, cmd: &TokenCommand) -> anyhow::Result<ExitCode> {
    crate::runtime()?.block_on(async {
        let store = fumidai_store::open(&config.store.location()).await?;
        let now = fumidai_core::unix_now();
        match cmd {
            TokenCommand::Create {
                name,
                scopes,
                all_scopes,
                json,
            } => {
                let scopes: Vec<&str> = if *all_scopes {
                    fumidai_server::auth::SCOPES.to_vec()
                } else {
                    scopes.iter().map(String::as_str).collect()
                };
                let (secret, token) = fumidai_server::new_token(name, &scopes, now)?;
                store.token_create(&token).await?;
                if *json {
                    println!(
                        "{}",
                        json!({"id": token.id, "name": token.name, "scopes": token.scopes, "secret": secret})
                    );
                } else {
                    println!("token {} ({}): {}", token.id, token.scopes.join(" "), secret);
                    println!("the secret is shown only now: keep it (Authorization: Bearer <secret>)");
                }
            }
            TokenCommand::List { json } => {
                let tokens = store.tokens().await?;
                if *json {
                    for t in &tokens {
                        println!("{}", serde_json::to_string(t)?);
                    }
                } else {
                    println!("ID\tCREATED\tLAST USED\tSTATE\tNAME\tSCOPES");
                    for t in &tokens {
                        println!(
                            "{}\t{}\t{}\t{}\t{}\t{}",
                            t.id,
                            format_utc(t.created_at),
                            t.last_used_at.map(format_utc).unwrap_or_else(|| "-".into()),
                            if t.revoked_at.is_some() { "revoked" } else { "active" },
                            t.name.escape_debug(),
                            t.scopes.join(" ")
                        );
                    }
                }
            }
            TokenCommand::Revoke { id, json } => {
                let revoked = store.token_revoke(id, now).await?;
                if *json {
                    println!("{}", json!({"id": id, "revoked": revoked}));
                } else if revoked {
                    println!("{id}: revoked");
                } else {
                    println!("{id}: no such active token");
                }
                if !revoked {
                    return Ok(ExitCode::from(1));
                }
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}
