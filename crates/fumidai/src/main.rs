//! `fumidai`: the command-line front end. Thin over [`fumidai_engine::Engine`].

mod alerts;
mod apply;
mod db;
mod feeds;
mod history;
mod inputs;
mod outbound;
mod output;
mod quarantine;
mod report;
mod scan;
mod serve;
mod user;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use fumidai_engine::config::Source;
use fumidai_engine::{Config, Engine};
use fumidai_policy::{Lang, Policy};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Exit code for errors, as clamscan: 0 clean, 1 something found, 2 an error.
const EXIT_ERROR: u8 = 2;

#[derive(Parser)]
#[command(
    name = "fumidai",
    version,
    about = "Mail-security gateway against Emotet-style attack mail (踏み台対策)"
)]
struct Cli {
    /// Configuration file (TOML). Default: $FUMIDAI_CONFIG, else /etc/fumidai/fumidai.toml if present,
    /// else built-in defaults.
    #[arg(long, short = 'c', global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// The store: a SQLite file or a postgres:// URL (overrides `[store] location`).
    #[arg(long, global = true, value_name = "PATH_OR_URL")]
    store: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Scan .eml files, directories (recursively), mbox files and Maildirs.
    Scan(scan::ScanArgs),
    /// Configuration commands.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// List every finding id with its default score and meaning.
    Findings(FindingsArgs),
    /// The database: schema migrations and their state.
    #[command(subcommand)]
    Db(db::DbCommand),
    /// The exchange history: import what the organisation already has, look a sender up.
    #[command(subcommand)]
    History(history::HistoryCommand),
    /// Senders exempt from the exchange-history rule.
    #[command(subcommand)]
    Whitelist(history::WhitelistCommand),
    /// The quarantine: originals of sanitised, quarantined and rejected mail.
    #[command(subcommand)]
    Quarantine(quarantine::QuarantineCommand),
    /// Statistics of the organisations notified by springboard alerts: per JST month, by kind and industry.
    Report(report::ReportArgs),
    /// Threat feeds (URLhaus, Feodo Tracker) imported from downloaded files, matched by every scan.
    #[command(subcommand)]
    Feeds(feeds::FeedsCommand),
    /// The outbound watch: accounts counted and held ([outbound]), release and reset.
    #[command(subcommand)]
    Outbound(outbound::OutboundCommand),
    /// Run the milter daemon that Postfix or Sendmail calls for every message ([milter] in the
    /// configuration; SIGHUP reloads it, SIGTERM stops after the messages in flight).
    Milter,
    /// Springboard alerts: cases per organisation, notices, the organisation directory.
    #[command(subcommand)]
    Alerts(alerts::AlertsCommand),
    /// Run the collector that receives springboard events from other fumidai nodes
    /// (`[alerts] collector_listen`, `collector_tokens`).
    Collector,
    /// Run the HTTP API ([server] listen; the OpenAPI document is at /api/openapi.json) and, with [server]
    /// milter, the milter in the same process.
    Serve,
    /// Tokens for the HTTP API (scopes; the secret is shown once).
    #[command(subcommand)]
    Token(serve::TokenCommand),
    /// Users of the web console (/console on [server] listen) and their roles.
    #[command(subcommand)]
    User(user::UserCommand),
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Validate a configuration file and show the effective settings.
    Check {
        /// The file to check (default: as for --config).
        file: Option<PathBuf>,
        /// Print the effective configuration as JSON.
        #[arg(long)]
        json: bool,
        /// The language of the policy's explanation.
        #[arg(long, value_enum, default_value = "en")]
        lang: LangArg,
    },
    /// Print the documented default configuration (every option, commented).
    Default,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LangArg {
    En,
    Ja,
}

#[derive(Args)]
struct FindingsArgs {
    /// JSON array instead of a table.
    #[arg(long, conflicts_with = "markdown")]
    json: bool,
    /// The Markdown table kept in docs/findings.md.
    #[arg(long)]
    markdown: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The daemon logs a line per message; the other commands only what goes wrong.
    init_logging(
        if matches!(
            cli.command,
            Command::Milter | Command::Collector | Command::Serve
        ) {
            "info"
        } else {
            "warn"
        },
    );
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("fumidai: error: {e:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("FUMIDAI_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only for people: journald and log files get plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let source = Source {
        path: config_path(cli.config.as_deref()),
        store: cli.store.clone(),
    };
    let configured = || source.load().context("configuration is not valid");
    match cli.command {
        Command::Scan(args) => {
            let engine = Engine::new(configured()?)?;
            scan::run(std::sync::Arc::new(engine), &args)
        }
        Command::Db(cmd) => db::run(&configured()?, &cmd),
        Command::History(cmd) => history::run(&configured()?, &cmd),
        Command::Whitelist(cmd) => history::run_whitelist(&configured()?, &cmd),
        Command::Quarantine(cmd) => quarantine::run(&configured()?, &cmd),
        Command::Report(args) => report::run(&configured()?, &args),
        Command::Alerts(cmd) => alerts::run(&configured()?, &cmd),
        Command::Collector => alerts::collect(&configured()?),
        Command::Feeds(cmd) => feeds::run(&configured()?, &cmd),
        Command::Outbound(cmd) => outbound::run(&configured()?, &cmd),
        Command::Serve => serve::serve(source),
        Command::Token(cmd) => serve::token(&configured()?, &cmd),
        Command::User(cmd) => user::run(&configured()?, &cmd),
        Command::Milter => {
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?
                .block_on(fumidai_milter::run(source))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Config(ConfigCommand::Check { file, json, lang }) => {
            let (source, config) = load_config(file.as_deref().or(cli.config.as_deref()))?;
            // What only the milter reads (listen specs, networks) is checked here, not by the engine.
            let milter = fumidai_milter::settings::Settings::new(&config.milter)
                .map_err(|e| anyhow::anyhow!("configuration is not valid: {e}"))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&config)?);
            } else {
                println!("{source}: OK");
                let t = &config.verdict;
                println!(
                    "  verdict: suspicious at score >= {}, malicious at >= {}",
                    t.suspicious, t.malicious
                );
                println!("  score overrides: {}", config.scores.len());
                println!(
                    "  own domains: {}",
                    list_or_none(&config.sender.own_domains)
                );
                if config.sender.own_domains.is_empty() {
                    println!("  warning: [sender] own_domains is empty, so every sender counts as a first contact (FIRST_CONTACT) and, under the default policy, inbound mail with an attachment or a link is sanitised");
                }
                println!("  partners: {}", config.sender.partners.len());
                println!("  store: {}", fumidai_store_label(&config));
                let h = &config.history;
                println!(
                    "  history: {}, window {} days at {} level, inbound {}",
                    if h.enabled { "on" } else { "off" },
                    h.window_days,
                    h.level.describe(),
                    if h.count_inbound {
                        "counts"
                    } else {
                        "does not count"
                    }
                );
                println!("  milter: {}", milter.describe());
                let server = &config.server;
                println!(
                    "  server: HTTP API on {}, {}; {}",
                    server.listen,
                    if server.milter {
                        "with the milter (fumidai serve)"
                    } else {
                        "without the milter"
                    },
                    if server.console {
                        format!(
                            "console at /console/ (sessions {} min idle, {} h at most; sign-in limit {} failures in {} min{})",
                            server.session_idle_minutes,
                            server.session_max_hours,
                            server.login_failures,
                            server.login_window_minutes,
                            if server.secure_cookies { "; Secure cookies" } else { "" }
                        )
                    } else {
                        "no console".to_owned()
                    }
                );
                let alerts = &config.alerts;
                println!(
                    "  alerts: {}{}, collector {}",
                    if alerts.enabled { "on" } else { "off" },
                    if alerts.authenticate {
                        " (SPF/DKIM over DNS)"
                    } else {
                        " (no DNS: impersonation only)"
                    },
                    if alerts.collector_url.is_empty() {
                        "none"
                    } else {
                        &alerts.collector_url
                    }
                );
                let o = &config.outbound;
                let limit = |n: u32| {
                    if n == 0 {
                        "-".to_owned()
                    } else {
                        n.to_string()
                    }
                };
                println!(
                    "  outbound: {}, per account in {} minutes: messages > {}, recipients > {}, new recipients >= {} ({:.0}%+ new), risky >= {}; {} exempt; sent ids kept {} days, backscatter {}",
                    if o.enabled { "on" } else { "off" },
                    o.window_minutes,
                    limit(o.max_messages),
                    limit(o.max_recipients),
                    limit(o.max_new_recipients),
                    o.min_new_share * 100.0,
                    limit(o.max_risky),
                    o.exempt.len(),
                    o.remember_sent_days,
                    if o.backscatter { "on" } else { "off" }
                );
                println!(
                    "  quarantine: kept {} days, released to {}",
                    config.quarantine.retention_days,
                    if config.quarantine.release_relay.is_empty() {
                        "files only (no release_relay)"
                    } else {
                        &config.quarantine.release_relay
                    }
                );
                let lang = match lang {
                    LangArg::En => Lang::En,
                    LangArg::Ja => Lang::Ja,
                };
                println!("  policy:");
                for line in Policy::new(config.policy.clone())?.explain(lang) {
                    println!("    - {line}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Config(ConfigCommand::Default) => {
            print!("{}", fumidai_engine::config::EXAMPLE);
            Ok(ExitCode::SUCCESS)
        }
        Command::Findings(args) => {
            output::print_findings(args.json, args.markdown)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The store location as shown to people: a PostgreSQL URL without its password.
fn fumidai_store_label(config: &Config) -> String {
    db::redact(&config.store.location())
}

/// A runtime for the store's async I/O (the inspection itself runs on rayon threads).
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "(none)".to_owned()
    } else {
        items.join(", ")
    }
}

/// The configuration file to use: --config, else $FUMIDAI_CONFIG, else the system file if present.
fn config_path(explicit: Option<&Path>) -> Option<PathBuf> {
    let env = std::env::var_os("FUMIDAI_CONFIG").map(PathBuf::from);
    let system = Path::new("/etc/fumidai/fumidai.toml");
    match (explicit, env) {
        (Some(p), _) => Some(p.to_path_buf()),
        (None, Some(p)) => Some(p),
        (None, None) if system.exists() => Some(system.to_path_buf()),
        (None, None) => None,
    }
}

/// The configuration to use and where it came from.
fn load_config(explicit: Option<&Path>) -> anyhow::Result<(String, Config)> {
    match config_path(explicit) {
        Some(p) => {
            let config =
                Config::load(&p).with_context(|| "configuration is not valid".to_string())?;
            Ok((p.display().to_string(), config))
        }
        None => Ok(("built-in defaults".to_owned(), Config::default())),
    }
}
