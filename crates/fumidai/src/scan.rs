//! `fumidai scan`: many messages, in parallel, one output line each.

use crate::apply::ApplyRun;
use crate::inputs::{self, Unit};
use crate::output::{Line, Printer};
use anyhow::Context;
use clap::Args;
use fumidai_act::Actor;
use fumidai_engine::{
    Direction, Engine, Envelope, ExchangeHistory, MessageReport, Parties, StoreError, ThreatFeed,
    Verdict,
};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

#[derive(Args)]
pub struct ScanArgs {
    /// .eml files, directories (walked recursively; Maildirs included) and mbox files.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// One JSON object per message (JSON Lines) on stdout.
    #[arg(long)]
    json: bool,
    /// Worker threads (default: the number of CPUs).
    #[arg(short = 'j', long = "jobs", value_name = "N")]
    jobs: Option<usize>,
    /// Print only suspicious and malicious messages (and errors).
    #[arg(long, short = 'i')]
    infected: bool,
    /// No progress bar, no summary on stderr.
    #[arg(long, short = 'q')]
    quiet: bool,
    /// Scan without the store: no exchange-history findings, nothing recorded.
    #[arg(long, conflicts_with = "record")]
    no_store: bool,
    /// Which way the mail went. Inbound mail is judged by the exchange history; outbound mail is what the
    /// organisation's users sent (it builds the history with --record).
    #[arg(long, value_enum, default_value = "inbound")]
    direction: DirectionArg,
    /// Record each message's exchanges in the history (outbound always counts; inbound only with
    /// `[history] count_inbound`). Needs `[sender] own_domains`.
    #[arg(long)]
    record: bool,
    /// Judge and record as of this time (Unix seconds or RFC 3339) instead of now; recorded exchanges
    /// otherwise take the message's Date when it is not in the future.
    #[arg(long, value_parser = crate::history::parse_time)]
    at: Option<i64>,
    /// Carry out the policy and write what each message would become into DIR (one .eml per
    /// delivered message). Originals of sanitised, quarantined and rejected mail go into the
    /// store's quarantine, as in production, unless --no-store.
    #[arg(long, value_name = "DIR")]
    apply: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum DirectionArg {
    Inbound,
    Outbound,
}

impl ScanArgs {
    fn direction(&self) -> Direction {
        match self.direction {
            DirectionArg::Inbound => Direction::Inbound,
            DirectionArg::Outbound => Direction::Outbound,
        }
    }
}

/// Results are printed in input order; workers run this far ahead of the printer.
const BATCH: usize = 256;
/// A progress bar is worth drawing from this many messages on.
const PROGRESS_FROM: usize = 8;

pub fn run(engine: Arc<Engine>, args: &ScanArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let actor = match &args.apply {
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            Some(Actor::new(engine.clone())?)
        }
        None => None,
    };
    let engine = &*engine;
    let rt = crate::runtime()?;
    let history = if args.no_store {
        None
    } else {
        let history = rt.block_on(ExchangeHistory::open(engine.config()))?;
        engine.set_threat_feed(Arc::new(rt.block_on(ThreatFeed::load(history.store()))?));
        if args.record && history.config().local_domains.is_empty() {
            anyhow::bail!("--record needs [sender] own_domains in the configuration: without the organisation's domains no mail has a direction");
        }
        Some(history)
    };
    let units = inputs::collect(&args.paths);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.jobs.unwrap_or(0))
        // Deeply nested inputs recurse through several parsers; give them room.
        .stack_size(16 << 20)
        .build()?;
    let progress = if args.quiet || units.len() < PROGRESS_FROM {
        ProgressBar::hidden()
    } else {
        let bar = ProgressBar::new(units.len() as u64);
        bar.set_style(ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} messages ({per_sec}, eta {eta})",
        )?);
        bar
    };
    let mut printer = Printer::new(args.json, args.infected);
    let mut tally = Tally::default();
    let now = args.at.unwrap_or_else(fumidai_core::unix_now);
    for (b, batch) in units.chunks(BATCH).enumerate() {
        let mut lines: Vec<Line> = pool.install(|| {
            batch
                .par_iter()
                .map(|unit| {
                    let line = scan_unit(engine, unit);
                    progress.inc(1);
                    line
                })
                .collect()
        });
        if let Some(history) = &history {
            rt.block_on(apply_history(engine, history, args, &mut lines));
        }
        if let (Some(actor), Some(dir)) = (&actor, &args.apply) {
            let run = ApplyRun {
                actor,
                store: history.as_ref().map(ExchangeHistory::store),
                dir,
                direction: args.direction(),
                now,
            };
            rt.block_on(run.batch(b * BATCH, batch, &mut lines));
        }
        for line in &lines {
            tally.count(line);
            progress.suspend(|| printer.print(line))?;
        }
    }
    progress.finish_and_clear();
    printer.flush()?;
    if !args.quiet {
        tally.summarise(started);
    }
    Ok(ExitCode::from(tally.exit_code()))
}

/// Adds the history findings to each inbound report and records the batch's exchanges. A message whose
/// history could not be read becomes an error line: it was not fully inspected.
async fn apply_history(
    engine: &Engine,
    history: &ExchangeHistory,
    args: &ScanArgs,
    lines: &mut [Line],
) {
    let now = args.at.unwrap_or_else(fumidai_core::unix_now);
    let direction = args.direction();
    let mut exchanges = Vec::new();
    let mut recorded_by: Vec<usize> = Vec::new();
    for (i, line) in lines.iter_mut().enumerate() {
        let Line::Report(report, _) = line else {
            continue;
        };
        let parties = Parties::of(report, &Envelope::default());
        if direction == Direction::Inbound {
            match history.assess(&parties, now).await {
                Ok(a) => engine.add_findings(report, a.findings),
                Err(e) => {
                    *line = history_error(report, &e);
                    continue;
                }
            }
        }
        if args.record {
            let at = match (args.at, report.date) {
                (Some(at), _) => at,
                (None, Some(date)) if date <= now => date,
                _ => now,
            };
            let found = history.exchanges(&parties, direction, at);
            recorded_by.extend(std::iter::repeat_n(i, found.len()));
            exchanges.extend(found);
        }
    }
    if let Err(e) = history.record(&exchanges).await {
        recorded_by.dedup();
        for i in recorded_by {
            if let Some(line) = lines.get_mut(i) {
                if let Line::Report(report, _) = line {
                    *line = history_error(report, &e);
                }
            }
        }
    }
}

fn history_error(report: &MessageReport, e: &StoreError) -> Line {
    Line::Error {
        path: report.path.clone().unwrap_or_default(),
        error: format!("exchange history: {e}"),
    }
}

fn scan_unit(engine: &Engine, unit: &Unit) -> Line {
    let label = unit.label();
    let scanned = inputs::with_bytes(unit, |raw| {
        if inputs::is_message(unit, raw) {
            engine.scan(raw, &Envelope::default())
        } else {
            engine.scan_file(&unit.file_name(), raw)
        }
    });
    match scanned {
        Ok(Ok(mut report)) => {
            report.path = Some(label);
            Line::Report(Box::new(report), None)
        }
        Ok(Err(e)) => Line::Error {
            path: label,
            error: e.to_string(),
        },
        Err(e) => Line::Error {
            path: label,
            error: e,
        },
    }
}

#[derive(Default)]
struct Tally {
    clean: usize,
    suspicious: usize,
    malicious: usize,
    errors: usize,
    bytes_scanned_us: u64,
}

impl Tally {
    fn count(&mut self, line: &Line) {
        match line {
            Line::Report(r, _) => {
                self.bytes_scanned_us += r.elapsed_us;
                match r.verdict {
                    Verdict::Clean => self.clean += 1,
                    Verdict::Suspicious => self.suspicious += 1,
                    Verdict::Malicious => self.malicious += 1,
                }
            }
            Line::Error { .. } => self.errors += 1,
        }
    }

    /// clamscan's convention: 2 on any error, else 1 when anything was found, else 0.
    fn exit_code(&self) -> u8 {
        if self.errors > 0 {
            crate::EXIT_ERROR
        } else if self.suspicious + self.malicious > 0 {
            1
        } else {
            0
        }
    }

    fn summarise(&self, started: Instant) {
        let total = self.clean + self.suspicious + self.malicious + self.errors;
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "----------- SCAN SUMMARY -----------\nmessages: {total}  clean: {}  suspicious: {}  malicious: {}  errors: {}\ntime: {secs:.3} s ({:.0} messages/s), engine time {:.3} ms/message",
            self.clean,
            self.suspicious,
            self.malicious,
            self.errors,
            total as f64 / secs.max(1e-9),
            self.bytes_scanned_us as f64 / 1000.0 / (total.max(1) as f64),
        );
    }
}
