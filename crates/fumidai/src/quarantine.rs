//! `fumidai quarantine list|show|release|delete|purge`: the kept originals, thin over the store and
//! `fumidai_act::release`.

use crate::history::parse_time;
use anyhow::bail;
use clap::{Args, Subcommand};
use fumidai_act::{read_original, release, ReleaseTarget};
use fumidai_core::unix_now;
use fumidai_engine::Config;
use fumidai_history::import::time::format_utc;
use fumidai_server::views::{QuarantineItemView, ReleaseView};
use fumidai_store::{QuarantineFilter, Store};
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum QuarantineCommand {
    /// Quarantined messages, newest first.
    List(ListArgs),
    /// One item: envelope, verdict, findings, release history (or the original with --raw).
    Show {
        id: String,
        #[arg(long, conflicts_with = "raw")]
        json: bool,
        /// Write the original bytes to stdout (for a viewer or a file, never a terminal).
        #[arg(long)]
        raw: bool,
    },
    /// Send the original, byte for byte, to the configured relay (`[quarantine] release_relay`) with
    /// its original envelope, or write it to a new file.
    Release {
        id: String,
        /// Write the original to this new file instead of sending it.
        #[arg(long, value_name = "PATH")]
        to_file: Option<PathBuf>,
        /// Send to these recipients instead of the original RCPT TO.
        #[arg(long = "to", value_name = "ADDRESS")]
        recipients: Vec<String>,
        /// Who releases it, for the record (default: $SUDO_USER, else $USER).
        #[arg(long)]
        by: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Delete one item for good.
    Delete { id: String },
    /// Delete items older than the retention (`[quarantine] retention_days`); never younger ones.
    Purge {
        /// Delete items older than this many days; must not be less than the retention.
        #[arg(long, value_name = "DAYS")]
        older_than_days: Option<u32>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
pub struct ListArgs {
    /// Received at or after (Unix seconds or RFC 3339).
    #[arg(long, value_parser = parse_time)]
    since: Option<i64>,
    /// Received before (Unix seconds or RFC 3339).
    #[arg(long, value_parser = parse_time)]
    until: Option<i64>,
    /// Sender (MAIL FROM or From) containing this text.
    #[arg(long)]
    sender: Option<String>,
    /// A recipient containing this text.
    #[arg(long)]
    recipient: Option<String>,
    /// Any of id, subject, sender, recipients or finding ids containing this text (as the console's search).
    #[arg(long)]
    text: Option<String>,
    /// Items with this finding id.
    #[arg(long)]
    finding: Option<String>,
    /// Items by action (sanitize, quarantine, reject).
    #[arg(long)]
    action: Option<String>,
    #[arg(long, default_value_t = 100)]
    limit: u32,
    #[arg(long)]
    json: bool,
}

const DAY: i64 = 86_400;

pub fn run(config: &Config, cmd: &QuarantineCommand) -> anyhow::Result<ExitCode> {
    let rt = crate::runtime()?;
    rt.block_on(async {
        let store = fumidai_store::open(&config.store.location()).await?;
        match cmd {
            QuarantineCommand::List(args) => list(store.as_ref(), args).await,
            QuarantineCommand::Show { id, json, raw } => show(store.as_ref(), id, *json, *raw).await,
            QuarantineCommand::Release {
                id,
                to_file,
                recipients,
                by,
                json,
            } => {
                let target = match to_file {
                    Some(path) => ReleaseTarget::File(path.clone()),
                    None if config.quarantine.release_relay.is_empty() => bail!(
                        "no relay to release to: set [quarantine] release_relay (e.g. \"127.0.0.1:25\") or use --to-file"
                    ),
                    None => ReleaseTarget::Smtp {
                        relay: config.quarantine.release_relay.clone(),
                        recipients: (!recipients.is_empty()).then(|| recipients.clone()),
                    },
                };
                let by = by.clone().unwrap_or_else(operator);
                let done = release(store.as_ref(), id, &target, &by, unix_now()).await?;
                if *json {
                    println!("{}", serde_json::to_string(&ReleaseView::new(id, &done))?);
                } else {
                    println!("{id}: released to {} by {}", done.to, done.by);
                }
                Ok(ExitCode::SUCCESS)
            }
            QuarantineCommand::Delete { id } => {
                if store.quarantine_delete(id).await? {
                    println!("{id}: deleted");
                    Ok(ExitCode::SUCCESS)
                } else {
                    eprintln!("{id}: no such item");
                    Ok(ExitCode::from(1))
                }
            }
            QuarantineCommand::Purge {
                older_than_days,
                json,
            } => {
                let retention = config.quarantine.retention_days;
                let days = older_than_days.unwrap_or(retention);
                if days < retention {
                    bail!("--older-than-days {days} is less than the retention of {retention} days ([quarantine] retention_days): items younger than the retention are never purged");
                }
                let removed = store
                    .quarantine_purge(unix_now() - i64::from(days) * DAY)
                    .await?;
                if *json {
                    println!("{}", json!({"purged": removed, "older_than_days": days}));
                } else {
                    println!("purged {removed} item(s) older than {days} days");
                }
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}

/// Who runs the command, for the release record.
pub(crate) fn operator() -> String {
    ["SUDO_USER", "USER", "LOGNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "unknown".to_owned())
}

async fn list(store: &dyn Store, args: &ListArgs) -> anyhow::Result<ExitCode> {
    let items = store
        .quarantine_list(&QuarantineFilter {
            since: args.since,
            until: args.until,
            sender: args.sender.clone(),
            recipient: args.recipient.clone(),
            text: args.text.clone(),
            finding: args.finding.clone(),
            action: args.action.clone(),
            limit: Some(args.limit),
        })
        .await?;
    let mut out = std::io::stdout().lock();
    for item in &items {
        if args.json {
            serde_json::to_writer(&mut out, &QuarantineItemView::listed(item))?;
            writeln!(out)?;
        } else {
            let m = &item.meta;
            writeln!(
                out,
                "{}  {}  {:<10} {:<10} {} -> {}  {}",
                m.id,
                format_utc(m.received_at),
                m.action,
                m.verdict,
                m.mail_from.as_deref().or(m.from.as_deref()).unwrap_or("<>"),
                m.rcpt_to.join(","),
                m.subject.as_deref().unwrap_or("").escape_debug(),
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn show(store: &dyn Store, id: &str, json: bool, raw: bool) -> anyhow::Result<ExitCode> {
    let Some(item) = store.quarantine_get(id).await? else {
        eprintln!("{id}: no such item");
        return Ok(ExitCode::from(1));
    };
    if raw {
        let original = read_original(store, id, item.size).await?;
        let mut out = std::io::stdout().lock();
        out.write_all(&original)?;
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&QuarantineItemView::shown(&item))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    let m = &item.meta;
    // Mail content is hostile: control characters are shown escaped, never sent to the terminal.
    println!("id:          {}", m.id);
    println!("received:    {}", format_utc(m.received_at));
    println!("direction:   {:?}", m.direction);
    println!("action:      {} ({})", m.action, m.reason.escape_debug());
    println!("verdict:     {} (score {:.1})", m.verdict, m.score);
    println!(
        "mail from:   {}",
        m.mail_from.as_deref().unwrap_or("<>").escape_debug()
    );
    println!("rcpt to:     {}", m.rcpt_to.join(", ").escape_debug());
    println!(
        "from:        {}",
        m.from.as_deref().unwrap_or("").escape_debug()
    );
    println!(
        "subject:     {}",
        m.subject.as_deref().unwrap_or("").escape_debug()
    );
    println!(
        "message-id:  {}",
        m.message_id.as_deref().unwrap_or("").escape_debug()
    );
    println!("size:        {} bytes, sha256 {}", item.size, item.sha256);
    println!("findings:    {}", m.findings.join(" "));
    for r in &item.released {
        println!(
            "released:    {} by {} to {}",
            format_utc(r.at),
            r.by.escape_debug(),
            r.to.escape_debug()
        );
    }
    Ok(ExitCode::SUCCESS)
}
