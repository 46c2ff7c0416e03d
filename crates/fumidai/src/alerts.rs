//! `fumidai alerts list|show|notify|ack|resolve|forward|directory` and `fumidai collector`: springboard cases,
//! thin over the store, `fumidai_act::notify` and `fumidai_alerts`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use fumidai_act::notify::{notify, NotifyMode, NotifyResult};
use fumidai_alerts::collector::{self, Collector};
use fumidai_alerts::directory::{parse_directory, Directory};
use fumidai_alerts::forward::Forwarder;
use fumidai_alerts::notice::{case_reference, jst, utc};
use fumidai_alerts::{CaseFilter, CaseState, EventKind};
use fumidai_core::unix_now;
use fumidai_engine::Config;
use fumidai_server::views::CaseView;
use fumidai_store::Store;
use serde_json::json;

#[derive(Subcommand)]
pub enum AlertsCommand {
    /// Cases (one per organisation and kind), most recently active first.
    List(ListArgs),
    /// One case with its evidence.
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
    /// Notify new cases (all of them, or those given) through `[alerts.notify] relay`.
    Notify {
        /// Case ids (default: every new case).
        ids: Vec<i64>,
        /// Write the notices to files in DIR instead of sending them; nothing is recorded.
        #[arg(long, value_name = "DIR")]
        dry_run: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// The organisation confirmed it got the notice.
    Ack { id: i64 },
    /// The organisation dealt with it (a new event reopens the case).
    Resolve { id: i64 },
    /// Send this node's events waiting for the collector (`[alerts] collector_url`).
    Forward {
        #[arg(long)]
        json: bool,
    },
    /// The organisation directory (names, industries, contacts) and enterprise counts.
    #[command(subcommand)]
    Directory(DirectoryCommand),
}

#[derive(Subcommand)]
pub enum DirectoryCommand {
    /// Import a CSV: `domain,name,industry,contact` rows, or `industry,enterprises` rows.
    Import {
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// The directory as imported.
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
pub struct ListArgs {
    /// new, notified, acknowledged or resolved.
    #[arg(long, value_parser = parse_state)]
    state: Option<CaseState>,
    /// springboard or impersonation.
    #[arg(long, value_parser = parse_kind)]
    kind: Option<EventKind>,
    /// Exact registrable domain.
    #[arg(long)]
    organisation: Option<String>,
    #[arg(long, default_value_t = 100)]
    limit: u32,
    #[arg(long)]
    json: bool,
}

fn parse_state(s: &str) -> Result<CaseState, String> {
    CaseState::parse(s)
        .ok_or_else(|| format!("{s:?}: expected new, notified, acknowledged or resolved"))
}

fn parse_kind(s: &str) -> Result<EventKind, String> {
    EventKind::parse(s).ok_or_else(|| format!("{s:?}: expected springboard or impersonation"))
}

pub fn run(config: &Config, cmd: &AlertsCommand) -> anyhow::Result<ExitCode> {
    crate::runtime()?.block_on(async {
        let store = fumidai_store::open(&config.store.location()).await?;
        let store = store.as_ref();
        match cmd {
            AlertsCommand::List(args) => list(store, args).await,
            AlertsCommand::Show { id, json } => show(store, *id, *json).await,
            AlertsCommand::Notify { ids, dry_run, json } => {
                notify_cases(store, config, ids, dry_run.clone(), *json).await
            }
            AlertsCommand::Ack { id } => set_state(store, *id, CaseState::Acknowledged).await,
            AlertsCommand::Resolve { id } => set_state(store, *id, CaseState::Resolved).await,
            AlertsCommand::Forward { json } => {
                let alerts = &config.alerts;
                if alerts.collector_url.is_empty() {
                    bail!("no collector: set [alerts] collector_url and collector_token");
                }
                let forwarder = Forwarder::new(&alerts.collector_url, &alerts.collector_token)?;
                let sent = forwarder.drain(store).await?;
                if *json {
                    println!("{}", json!({"forwarded": sent}));
                } else {
                    println!("{sent} events forwarded to {}", alerts.collector_url);
                }
                Ok(ExitCode::SUCCESS)
            }
            AlertsCommand::Directory(DirectoryCommand::Import { file, json }) => {
                let reader = std::fs::File::open(file)
                    .with_context(|| format!("cannot open {}", file.display()))?;
                let directory = parse_directory(reader)
                    .with_context(|| format!("{} is not a directory CSV", file.display()))?;
                let (kind, rows) = match &directory {
                    Directory::Organisations(organisations) => (
                        "organisations",
                        store.directory_import(organisations).await?,
                    ),
                    Directory::Enterprises(counts) => {
                        store.industry_enterprises_set(counts).await?;
                        ("industry counts", counts.len() as u64)
                    }
                };
                if *json {
                    println!("{}", json!({"file": file, "kind": kind, "rows": rows}));
                } else {
                    println!("{}: {rows} {kind}", file.display());
                }
                Ok(ExitCode::SUCCESS)
            }
            AlertsCommand::Directory(DirectoryCommand::List { json }) => {
                let organisations = store.directory().await?;
                if *json {
                    for o in &organisations {
                        println!("{}", serde_json::to_string(o)?);
                    }
                } else {
                    for o in &organisations {
                        println!(
                            "{}\t{}\t{}\t{}",
                            o.domain,
                            o.name,
                            o.industry.as_deref().unwrap_or("-"),
                            o.contact.as_deref().unwrap_or("-")
                        );
                    }
                }
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}

async fn list(store: &dyn Store, args: &ListArgs) -> anyhow::Result<ExitCode> {
    let cases = store
        .cases(&CaseFilter {
            state: args.state,
            kind: args.kind,
            organisation: args.organisation.clone(),
            limit: args.limit,
        })
        .await?;
    if args.json {
        for case in &cases {
            println!("{}", serde_json::to_string(&CaseView::listed(case))?);
        }
    } else {
        println!("ID\tSTATE\tKIND\tORGANISATION\tEVENTS\tLAST SEEN (JST)");
        for c in &cases {
            println!(
                "{}\t{}\t{}\t{}\t{}\t{}",
                c.id,
                c.state.as_str(),
                c.kind.as_str(),
                c.organisation,
                c.event_count,
                jst(c.last_seen)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn show(store: &dyn Store, id: i64, json: bool) -> anyhow::Result<ExitCode> {
    let Some(case) = store.case_get(id).await? else {
        bail!("no case {id}");
    };
    if json {
        println!("{}", serde_json::to_string(&CaseView::shown(&case))?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "case {}: {} of {}",
        case_reference(&case),
        case.kind.as_str(),
        case.organisation
    );
    println!(
        "  state: {} (since {})",
        case.state.as_str(),
        jst(case.state_changed_at)
    );
    println!(
        "  first seen: {} / {}",
        utc(case.first_seen),
        jst(case.first_seen)
    );
    println!(
        "  last seen:  {} / {}",
        utc(case.last_seen),
        jst(case.last_seen)
    );
    println!(
        "  events: {} (reopened {} times)",
        case.event_count, case.reopened
    );
    println!("  source IPs: {}", case.source_ips.join(", "));
    println!("  sites: {}", case.sites.join(", "));
    if let Some(at) = case.last_notified_at {
        println!("  last notified: {}", jst(at));
    }
    for (i, s) in case.samples.iter().enumerate() {
        println!("  sample {}:", i + 1);
        let field = |name: &str, value: &Option<String>| {
            if let Some(v) = value {
                println!("    {name}: {v}");
            }
        };
        field("Date", &s.date);
        field("Message-ID", &s.message_id);
        field("From", &s.from);
        field("Reply-To", &s.reply_to);
        field("Subject", &s.subject);
        field("source IP", &s.source_ip);
        field("likely account", &s.likely_account);
        for a in &s.authentication {
            println!("    {}: {} ({})", a.method, a.result, a.domain);
        }
        for a in &s.attachments {
            println!(
                "    attachment: {} ({}, {} bytes) sha256 {}",
                a.name, a.kind, a.size, a.sha256
            );
        }
        for u in &s.urls {
            println!("    url: {u}");
        }
        println!(
            "    recipients: {} ({})",
            s.recipient_count,
            s.recipient_domains.join(", ")
        );
        println!("    findings: {}", s.findings.join(" "));
        println!("    why: {}", s.reason);
    }
    Ok(ExitCode::SUCCESS)
}

async fn set_state(store: &dyn Store, id: i64, state: CaseState) -> anyhow::Result<ExitCode> {
    if !store.case_set_state(id, state, unix_now()).await? {
        bail!("no case {id}");
    }
    println!("case {id}: {}", state.as_str());
    Ok(ExitCode::SUCCESS)
}

async fn notify_cases(
    store: &dyn Store,
    config: &Config,
    ids: &[i64],
    dry_run: Option<PathBuf>,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let cases = if ids.is_empty() {
        store
            .cases(&CaseFilter {
                state: Some(CaseState::New),
                ..CaseFilter::default()
            })
            .await?
    } else {
        let mut cases = Vec::with_capacity(ids.len());
        for id in ids {
            cases.push(
                store
                    .case_get(*id)
                    .await?
                    .with_context(|| format!("no case {id}"))?,
            );
        }
        cases
    };
    let mode = dry_run.map_or(NotifyMode::Send, NotifyMode::DryRun);
    let reports = notify(
        store,
        &config.alerts,
        &config.sender.own_domains,
        &cases,
        &mode,
        unix_now(),
    )
    .await?;
    let mut failed = false;
    for r in &reports {
        failed |= matches!(r.result, NotifyResult::Failed { .. });
        if json {
            println!("{}", serde_json::to_string(r)?);
            continue;
        }
        let what = match &r.result {
            NotifyResult::Sent { to, .. } => format!("sent to {}", to.join(", ")),
            NotifyResult::Written { path, to } => {
                format!("written to {} (for {})", path.display(), to.join(", "))
            }
            NotifyResult::Cooldown { last } => {
                format!("skipped: notified {} (cooldown)", jst(*last))
            }
            NotifyResult::NotNew { state } => format!("skipped: {}", state.as_str()),
            NotifyResult::OwnDomain => {
                "skipped: our own domain (its alerts go to [alerts.notify] admins)".to_owned()
            }
            NotifyResult::Failed { error } => format!("FAILED: {error}"),
        };
        println!(
            "FUMIDAI-{} {} ({}): {what}",
            r.case_id, r.organisation, r.kind
        );
    }
    Ok(if failed {
        ExitCode::from(crate::EXIT_ERROR)
    } else {
        ExitCode::SUCCESS
    })
}

/// `fumidai collector`: receives events from nodes until SIGTERM or Ctrl-C.
pub fn collect(config: &Config) -> anyhow::Result<ExitCode> {
    let alerts = &config.alerts;
    if alerts.collector_tokens.is_empty() {
        bail!("[alerts] collector_tokens is empty: give each node or site a token");
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async {
            let store: Arc<dyn Store> = fumidai_store::open(&config.store.location()).await?.into();
            let collector = Arc::new(Collector {
                store,
                tokens: alerts.collector_tokens.clone(),
                rules: alerts.case_rules(),
            });
            let listener = tokio::net::TcpListener::bind(&alerts.collector_listen)
                .await
                .with_context(|| format!("cannot listen on {}", alerts.collector_listen))?;
            tracing::info!(listen = %alerts.collector_listen, "collector: accepting events");
            axum::serve(listener, collector::router(collector))
                .with_graceful_shutdown(shutdown())
                .await?;
            Ok(ExitCode::SUCCESS)
        })
}

async fn shutdown() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
