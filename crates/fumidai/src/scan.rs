//! `fumidai scan`: many messages, in parallel, one output line each.

use crate::inputs::{self, Unit};
use crate::output::{Line, Printer};
use clap::Args;
use fumidai_engine::{Engine, Envelope, Verdict};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use std::path::PathBuf;
use std::process::ExitCode;
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
}

/// Results are printed in input order; workers run this far ahead of the printer.
const BATCH: usize = 256;
/// A progress bar is worth drawing from this many messages on.
const PROGRESS_FROM: usize = 8;

pub fn run(engine: &Engine, args: &ScanArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
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
    for batch in units.chunks(BATCH) {
        let lines: Vec<Line> = pool.install(|| {
            batch
                .par_iter()
                .map(|unit| {
                    let line = scan_unit(engine, unit);
                    progress.inc(1);
                    line
                })
                .collect()
        });
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

fn scan_unit(engine: &Engine, unit: &Unit) -> Line {
    let label = unit.label();
    match inputs::with_bytes(unit, |raw| engine.scan(raw, &Envelope::default())) {
        Ok(Ok(mut report)) => {
            report.path = Some(label);
            Line::Report(Box::new(report))
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
            Line::Report(r) => {
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
