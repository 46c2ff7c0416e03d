//! `fumidai outbound`: the outbound watch for the administrator. `status` shows each account's counts over
//! the window and which are held; `release-account` lifts a hold (counting starts again); `reset` forgets
//! counters and holds. Thin over the store; the thresholds are `[outbound]`.

use clap::Subcommand;
use fumidai_engine::Config;
use fumidai_history::import::time::format_utc;
use fumidai_server::views::AccountReleaseView;
use serde_json::json;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum OutboundCommand {
    /// Accounts held, and every account's counts over the window ([outbound] window_minutes).
    Status {
        /// Only held accounts.
        #[arg(long)]
        held: bool,
        #[arg(long)]
        json: bool,
    },
    /// Lift the hold on an account (its counts start again from now). Its held mail stays in the
    /// quarantine: release that with `fumidai quarantine release`.
    ReleaseAccount {
        /// The account: the SASL login, or the envelope sender.
        account: String,
        /// Who releases it, for the record (default: $SUDO_USER, else $USER).
        #[arg(long)]
        by: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Forget the counts and the hold of one account, or of every account with --all.
    Reset {
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        account: Option<String>,
        #[arg(long)]
        all: bool,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(config: &Config, cmd: &OutboundCommand) -> anyhow::Result<ExitCode> {
    crate::runtime()?.block_on(run_async(config, cmd))
}

async fn run_async(config: &Config, cmd: &OutboundCommand) -> anyhow::Result<ExitCode> {
    let store = fumidai_store::open(&config.store.location()).await?;
    let now = fumidai_core::unix_now();
    let window = config.outbound.window_seconds();
    match cmd {
        OutboundCommand::Status { held, json } => {
            let accounts: Vec<_> = store
                .outbound_accounts(now, window)
                .await?
                .into_iter()
                .filter(|a| a.held || !held)
                .collect();
            if *json {
                println!("{}", serde_json::to_string_pretty(&accounts)?);
                return Ok(ExitCode::SUCCESS);
            }
            if accounts.is_empty() {
                println!(
                    "no outbound account counted in the last {} minutes, none held",
                    config.outbound.window_minutes
                );
                return Ok(ExitCode::SUCCESS);
            }
            println!(
                "{:<32} {:<6} {:>8} {:>10} {:>6} {:>6}  held since / why",
                "account", "state", "messages", "recipients", "new", "risky"
            );
            for a in &accounts {
                let held = match a.held_at.filter(|_| a.held) {
                    Some(at) => format!("{}  {}", format_utc(at), a.reason),
                    None => String::new(),
                };
                println!(
                    "{:<32} {:<6} {:>8} {:>10} {:>6} {:>6}  {held}",
                    a.account.escape_debug().to_string(),
                    if a.held { "HELD" } else { "ok" },
                    a.totals.messages,
                    a.totals.recipients,
                    a.totals.new_recipients,
                    a.totals.risky,
                );
            }
        }
        OutboundCommand::ReleaseAccount { account, by, json } => {
            let by = by.clone().unwrap_or_else(crate::quarantine::operator);
            let released = store.outbound_release(account, now, &by).await?;
            if *json {
                let view = AccountReleaseView {
                    account,
                    released,
                    by: &by,
                    at: now,
                };
                println!("{}", serde_json::to_string(&view)?);
            } else if released {
                println!("{account}: released by {by}; its mail is sent again, counted from now");
            } else {
                println!("{account}: not held");
            }
            if !released {
                return Ok(ExitCode::from(1));
            }
        }
        OutboundCommand::Reset { account, all, json } => {
            let account = account.as_deref().filter(|_| !all);
            let accounts = store.outbound_reset(account).await?;
            if *json {
                println!(
                    "{}",
                    json!({"account": account, "accounts_reset": accounts})
                );
            } else {
                println!("{accounts} account(s) reset");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
