//! `fumidai history` (import, lookup) and `fumidai whitelist`: thin over fumidai-history and the store.

use anyhow::{anyhow, bail, Context};
use clap::{Subcommand, ValueEnum};
use fumidai_engine::Config;
use fumidai_history::import::{
    maildir_files, record_all, time::parse_rfc3339, CsvPairs, ImportStats, Maildir, Mbox,
    PostfixLog, PostfixOptions,
};
use fumidai_history::HistoryConfig;
use fumidai_server::views::{history_lookup, whitelist_pattern};
use fumidai_store::{Store, WhitelistEntry};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[derive(Subcommand)]
pub enum HistoryCommand {
    /// Fill the history from what the organisation already has: sent-mail mbox files and Maildir folders,
    /// Postfix mail logs (rotated `.gz` too) and CSV pair lists. Importing the same data twice changes nothing.
    Import(ImportArgs),
    /// What the history says about mail from SENDER to local recipients, now or at --at.
    Lookup(LookupArgs),
}

#[derive(clap::Args)]
pub struct ImportArgs {
    /// Files and Maildir folders.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// The format of every path (default: told from each path's content).
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Year of the first line of a Postfix log (syslog stamps have none; default: the year the file was
    /// last written). RFC 3339 stamps carry their own.
    #[arg(long)]
    year: Option<i32>,
    /// The logging host's offset from UTC for syslog stamps, e.g. +09:00 (JST).
    #[arg(long, default_value = "+00:00", value_parser = parse_offset, allow_hyphen_values = true)]
    utc_offset: i32,
    /// Exchanges per store transaction.
    #[arg(long, default_value_t = 10_000)]
    batch: usize,
    /// Print the counts as JSON.
    #[arg(long)]
    json: bool,
    /// No progress bar.
    #[arg(long, short = 'q')]
    quiet: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Mbox,
    Maildir,
    Postfix,
    Csv,
}

#[derive(clap::Args)]
pub struct LookupArgs {
    /// The external sender's address.
    sender: String,
    /// Local recipients (repeat for several).
    #[arg(long = "to", required = true, value_name = "LOCAL")]
    to: Vec<String>,
    /// The time to judge at: Unix seconds or RFC 3339 (default: now).
    #[arg(long, value_parser = parse_time)]
    at: Option<i64>,
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
pub enum WhitelistCommand {
    /// Exempt an address (user@example.jp) or a domain with its subdomains (example.jp).
    Add {
        pattern: String,
        /// Why (kept with the entry).
        #[arg(long, default_value = "")]
        comment: String,
    },
    /// Remove an entry; exits 1 when there was none.
    Remove { pattern: String },
    /// List the entries.
    List {
        #[arg(long)]
        json: bool,
    },
}

/// `+09:00`, `-0530`, `9` (hours) to seconds east of UTC.
fn parse_offset(s: &str) -> Result<i32, String> {
    let bad = || format!("{s:?} is not a UTC offset like +09:00");
    let (sign, rest) = match s.trim().as_bytes().first() {
        Some(b'-') => (-1, &s.trim()[1..]),
        Some(b'+') => (1, &s.trim()[1..]),
        _ => (1, s.trim()),
    };
    let (h, m) = match rest.split_once(':') {
        Some((h, m)) => (h, m),
        None if rest.len() == 4 => rest.split_at(2),
        None => (rest, "0"),
    };
    let h: i32 = h.parse().map_err(|_| bad())?;
    let m: i32 = m.parse().map_err(|_| bad())?;
    if !(0..=14).contains(&h) || !(0..60).contains(&m) {
        return Err(bad());
    }
    Ok(sign * (h * 3600 + m * 60))
}

/// Unix seconds or RFC 3339.
pub fn parse_time(s: &str) -> Result<i64, String> {
    let s = s.trim();
    if let Ok(n) = s.parse::<i64>() {
        return Ok(n);
    }
    parse_rfc3339(s.as_bytes()).ok_or_else(|| {
        format!("{s:?} is neither Unix seconds nor RFC 3339 (2026-11-27T09:00:00+09:00)")
    })
}

pub fn run(config: &Config, cmd: &HistoryCommand) -> anyhow::Result<ExitCode> {
    let rt = crate::runtime()?;
    match cmd {
        HistoryCommand::Import(args) => rt.block_on(import(config, args)),
        HistoryCommand::Lookup(args) => rt.block_on(lookup(config, args)),
    }
}

#[derive(Serialize)]
struct ImportedPath {
    path: String,
    format: Format,
    items: u64,
    exchanges: u64,
    skipped: u64,
    bytes: u64,
}

async fn import(config: &Config, args: &ImportArgs) -> anyhow::Result<ExitCode> {
    let cfg = config.history();
    if cfg.local_domains.is_empty() {
        bail!("set [sender] own_domains in the configuration: without the organisation's domains no mail has a direction, so nothing can be imported");
    }
    let store = fumidai_store::open(&config.store.location()).await?;
    let started = Instant::now();
    let mut done = Vec::new();
    for path in &args.paths {
        let format = match args.format {
            Some(f) => f,
            None => detect(path)?,
        };
        let bar = progress_bar(path, format, args.quiet)?;
        let stats = import_one(&*store, &cfg, path, format, args, &bar)
            .await
            .with_context(|| format!("importing {}", path.display()))?;
        bar.finish_and_clear();
        let line = ImportedPath {
            path: path.display().to_string(),
            format,
            items: stats.items,
            exchanges: stats.exchanges,
            skipped: stats.skipped,
            bytes: stats.bytes,
        };
        if !args.json {
            let unit = match format {
                Format::Mbox | Format::Maildir => "messages",
                Format::Postfix => "lines",
                Format::Csv => "rows",
            };
            println!(
                "{}: {} {unit}, {} exchanges, {} skipped",
                line.path, line.items, line.exchanges, line.skipped
            );
        }
        done.push(line);
    }
    let secs = started.elapsed().as_secs_f64();
    let total: u64 = done.iter().map(|d| d.exchanges).sum();
    if args.json {
        #[derive(Serialize)]
        struct Out<'a> {
            paths: &'a [ImportedPath],
            exchanges: u64,
            seconds: f64,
        }
        println!(
            "{}",
            serde_json::to_string_pretty(&Out {
                paths: &done,
                exchanges: total,
                seconds: secs,
            })?
        );
    } else {
        println!(
            "imported {total} exchanges in {secs:.1} s ({:.0}/s) into {} (exchanges imported before count once)",
            total as f64 / secs.max(1e-9),
            crate::db::redact(&config.store.location())
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn progress_bar(path: &Path, format: Format, quiet: bool) -> anyhow::Result<ProgressBar> {
    if quiet {
        return Ok(ProgressBar::hidden());
    }
    let bar = if format == Format::Maildir {
        let bar = ProgressBar::new_spinner();
        bar.set_style(ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {msg} {binary_bytes} of headers read",
        )?);
        bar
    } else {
        let len = std::fs::metadata(path).map_or(0, |m| m.len());
        let bar = ProgressBar::new(len);
        bar.set_style(ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {msg} {wide_bar} {binary_bytes}/{binary_total_bytes} ({binary_bytes_per_sec}, eta {eta})",
        )?);
        bar
    };
    bar.set_message(path.display().to_string());
    Ok(bar)
}

/// A file, transparently gunzipped when it is gzip (rotated logs). Progress counts the bytes on disk.
pub(crate) fn open_input(path: &Path) -> io::Result<Box<dyn Read + Send>> {
    let mut file = BufReader::new(File::open(path)?);
    let gzip = file.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    Ok(if gzip {
        Box::new(flate2::bufread::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    })
}

/// Tells the format from the content: a directory is a Maildir, `From ` starts an mbox, a line with
/// `postfix/` is a Postfix log, a `.csv` name or a comma in the first line is a CSV of pairs.
fn detect(path: &Path) -> anyhow::Result<Format> {
    if path.is_dir() {
        return Ok(Format::Maildir);
    }
    let mut head = Vec::with_capacity(4096);
    open_input(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .take(4096)
        .read_to_end(&mut head)?;
    let first_line = head.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let is_csv_name = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    if head.starts_with(b"From ") {
        Ok(Format::Mbox)
    } else if memchr::memmem::find(&head, b" postfix/").is_some()
        || memchr::memmem::find(&head, b" postfix[").is_some()
    {
        Ok(Format::Postfix)
    } else if is_csv_name || first_line.contains(&b',') {
        Ok(Format::Csv)
    } else {
        bail!(
            "cannot tell the format of {}: pass --format mbox|maildir|postfix|csv",
            path.display()
        )
    }
}

async fn import_one(
    store: &dyn Store,
    cfg: &HistoryConfig,
    path: &Path,
    format: Format,
    args: &ImportArgs,
    bar: &ProgressBar,
) -> anyhow::Result<ImportStats> {
    // The readers count decompressed bytes; the bar shows bytes on disk for plain files, which is the same.
    let progress = |bytes: u64| bar.set_position(bytes);
    let batch = args.batch;
    Ok(match format {
        Format::Maildir => {
            let mut it = Maildir::new(maildir_files(path)?, cfg, &progress);
            record_all(store, &mut it, batch).await?;
            it.stats()
        }
        Format::Mbox => {
            let mut it = Mbox::new(open_input(path)?, cfg, &progress);
            record_all(store, &mut it, batch).await?;
            it.stats()
        }
        Format::Csv => {
            let mut it = CsvPairs::new(open_input(path)?, cfg, &progress);
            record_all(store, &mut it, batch).await?;
            for e in it.errors() {
                bar.suspend(|| eprintln!("{}: {e}", path.display()));
            }
            it.stats()
        }
        Format::Postfix => {
            let year = match args.year {
                Some(y) => y,
                None => modified_year(path)?,
            };
            let opts = PostfixOptions {
                utc_offset_seconds: args.utc_offset,
                ..PostfixOptions::new(year)
            };
            let mut it = PostfixLog::new(open_input(path)?, cfg, opts, &progress);
            record_all(store, &mut it, batch).await?;
            it.stats()
        }
    })
}

/// The UTC year a file was last written.
fn modified_year(path: &Path) -> anyhow::Result<i32> {
    let modified = std::fs::metadata(path)?.modified()?;
    let secs = modified
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0));
    let (year, _, _) = fumidai_history::import::time::civil_from_days(secs.div_euclid(86_400));
    Ok(i32::try_from(year).unwrap_or(1970))
}

async fn lookup(config: &Config, args: &LookupArgs) -> anyhow::Result<ExitCode> {
    let store = fumidai_store::open(&config.store.location()).await?;
    let at = args.at.unwrap_or_else(fumidai_core::unix_now);
    let out = history_lookup(
        store.as_ref(),
        &config.history(),
        &args.sender,
        &args.to,
        at,
    )
    .await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        println!("sender: {}", out.sender);
        if out.whitelisted {
            println!("  whitelisted: no history finding");
        }
        match (out.days_since_last, out.matched_level) {
            (Some(d), Some(level)) => {
                println!(
                    "  last counted exchange: {d} days ago ({} level)",
                    level.describe()
                )
            }
            _ => println!("  no counted exchange"),
        }
        for p in &out.pairs {
            let show = |h: &Option<fumidai_store::PairHistory>| {
                h.as_ref().map_or("none".to_owned(), |h| {
                    format!("{} out / {} in", h.outbound_count, h.inbound_count)
                })
            };
            println!(
                "  with {}: address level {}, domain level {}",
                p.local,
                show(&p.address),
                show(&p.domain)
            );
        }
        for f in &out.findings {
            println!("  {} ({}): {}", f.id, f.score, f.detail);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run_whitelist(config: &Config, cmd: &WhitelistCommand) -> anyhow::Result<ExitCode> {
    let rt = crate::runtime()?;
    rt.block_on(async {
        let store = fumidai_store::open(&config.store.location()).await?;
        match cmd {
            WhitelistCommand::Add { pattern, comment } => {
                let pattern = whitelist_pattern(pattern).map_err(|e| anyhow!(e))?;
                store
                    .whitelist_add(&WhitelistEntry {
                        pattern: pattern.clone(),
                        comment: comment.clone(),
                        added_at: fumidai_core::unix_now(),
                    })
                    .await?;
                println!("added {pattern}");
                Ok(ExitCode::SUCCESS)
            }
            WhitelistCommand::Remove { pattern } => {
                let key = whitelist_pattern(pattern).map_err(|e| anyhow!(e))?;
                if store.whitelist_remove(&key).await? {
                    println!("removed {pattern}");
                    Ok(ExitCode::SUCCESS)
                } else {
                    eprintln!("fumidai: {pattern} is not on the whitelist");
                    Ok(ExitCode::from(1))
                }
            }
            WhitelistCommand::List { json } => {
                let entries = store.whitelist().await?;
                if *json {
                    println!("{}", serde_json::to_string_pretty(&entries)?);
                } else {
                    for e in &entries {
                        println!("{}\t{}", e.pattern, e.comment);
                    }
                }
                Ok(ExitCode::SUCCESS)
            }
        }
    })
}
