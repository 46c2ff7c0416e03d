//! Scan throughput, reported as ratios against baselines measured in the same run.
//!
//! `cargo bench -p fumidai-engine --bench scan` prints, single-threaded and in process CPU time:
//! - every test message scanned by fumidai against the same messages only parsed by mail-parser
//!   (the floor any MIME-based scanner pays), with messages/s and MB/s;
//! - the macro-bearing Office files inspected by fumidai against olevba analysing the same files in
//!   process (oletools' VBA_Parser + analyze_macros), when Python has oletools (see bench/olevba_time.py;
//!   `bench/peers.sh` sets that up). Without oletools that row says so and the ratio is omitted.
//!
//! The brief's figure for rspamd (1.3-2.0 ms CPU per message on these messages) is printed for context.

use fumidai_engine::{Config, Engine, Envelope};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Process CPU time: what a busy mail server pays, independent of other load on the machine.
fn cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec into the valid, exclusively borrowed `ts`.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_PROCESS_CPUTIME_ID) failed");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Runs `round` until at least `min` of CPU has been spent; returns CPU per round.
fn measure(min: Duration, mut round: impl FnMut()) -> Duration {
    round(); // warm caches and lazy statics
    let start = cpu_time();
    let mut rounds = 0u32;
    while cpu_time() - start < min || rounds < 3 {
        round();
        rounds += 1;
    }
    (cpu_time() - start) / rounds
}

/// Files in the mail folders that are test expectations or feeds, not messages.
const NOT_MESSAGES: &[&str] = &["olevbmacro.t", "openphish-feed.txt", "phishtank-feed.csv"];

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect();
    out.sort();
    out
}

fn main() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/corpus");
    let engine = Engine::new(Config::default()).expect("default config");
    let min = Duration::from_secs(if std::env::var_os("FUMIDAI_BENCH_QUICK").is_some() {
        1
    } else {
        3
    });

    // Messages: every mail in the corpus.
    let (names, messages): (Vec<String>, Vec<Vec<u8>>) = ["email", "phishing"]
        .iter()
        .flat_map(|d| files_under(&corpus.join(d)))
        .filter(|p| !NOT_MESSAGES.iter().any(|name| p.ends_with(name)))
        .filter_map(|p| {
            Some((
                p.strip_prefix(&corpus).ok()?.display().to_string(),
                std::fs::read(&p).ok()?,
            ))
        })
        .unzip();
    let bytes: usize = messages.iter().map(Vec::len).sum();
    let n = messages.len() as f64;
    let parse_only = measure(min, || {
        for m in &messages {
            std::hint::black_box(mail_parser::MessageParser::default().parse(m.as_slice()));
        }
    });
    let fumidai = measure(min, || {
        for m in &messages {
            std::hint::black_box(engine.scan(m, &Envelope::default()).ok());
        }
    });
    let per_msg = fumidai.as_secs_f64() / n;
    println!(
        "messages: {} ({:.1} MB) from testdata/corpus/{{email,phishing}}",
        messages.len(),
        bytes as f64 / 1e6
    );
    println!(
        "  mail-parser parse only : {:8.1} us CPU/message",
        parse_only.as_secs_f64() / n * 1e6
    );
    println!(
        "  fumidai scan, mean     : {:8.1} us CPU/message, {:.0} messages/s, {:.1} MB/s per core  ({:.1}x the parse-only floor)",
        per_msg * 1e6,
        1.0 / per_msg,
        bytes as f64 / fumidai.as_secs_f64() / 1e6,
        fumidai.as_secs_f64() / parse_only.as_secs_f64()
    );
    // The mean hides where the time goes: a message with an agile-encrypted document pays ~20 ms per
    // password guessed (key derivation is slow by design). Show the distribution and the costliest.
    let mut each: Vec<(Duration, usize)> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| {
            (
                measure(Duration::from_millis(20), || {
                    drop(engine.scan(m, &Envelope::default()))
                }),
                i,
            )
        })
        .collect();
    each.sort();
    let median = each[each.len() / 2].0.as_secs_f64();
    let p90 = each[each.len() * 9 / 10].0.as_secs_f64();
    println!(
        "  fumidai scan, median   : {:8.1} us CPU/message (p90 {:.1} us)",
        median * 1e6,
        p90 * 1e6
    );
    for (d, i) in each.iter().rev().take(3) {
        println!(
            "    costliest: {:8.1} us  {}",
            d.as_secs_f64() * 1e6,
            names[*i]
        );
    }
    println!(
        "  rspamd (brief, same messages, not this run): 1300-2000 us CPU/message -> {:.0}x-{:.0}x less CPU (mean), {:.0}x-{:.0}x (median)",
        1300e-6 / per_msg,
        2000e-6 / per_msg,
        1300e-6 / median,
        2000e-6 / median
    );

    // Macro files: what olevba is for.
    let macro_files: Vec<PathBuf> = ["office_macros", "xlm_macros"]
        .iter()
        .flat_map(|d| files_under(&corpus.join(d)))
        .filter(|p| p.extension().is_none_or(|e| e != "vba"))
        .collect();
    let loaded: Vec<(String, Vec<u8>)> = macro_files
        .iter()
        .filter_map(|p| {
            Some((
                p.file_name()?.to_string_lossy().into_owned(),
                std::fs::read(p).ok()?,
            ))
        })
        .collect();
    let ours = measure(min, || {
        for (name, data) in &loaded {
            std::hint::black_box(engine.scan_file(name, data).ok());
        }
    });
    let ours_per_file = ours.as_secs_f64() / loaded.len() as f64;
    println!(
        "macro files: {} from testdata/corpus/{{office_macros,xlm_macros}}",
        loaded.len()
    );
    println!(
        "  fumidai                : {:8.1} us CPU/file",
        ours_per_file * 1e6
    );
    match olevba_per_file(&macro_files) {
        Ok(secs) => println!(
            "  olevba (in process)    : {:8.1} us CPU/file  -> fumidai is {:.0}x faster",
            secs * 1e6,
            secs / ours_per_file
        ),
        Err(why) => println!("  olevba                 : not measured ({why})"),
    }
}

/// olevba's CPU per file on the same files, from bench/olevba_time.py (prints seconds per file).
fn olevba_per_file(files: &[PathBuf]) -> Result<f64, String> {
    let python = std::env::var("FUMIDAI_BENCH_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/olevba_time.py");
    let out = Command::new(&python)
        .arg(script)
        .args(files)
        .output()
        .map_err(|e| format!("{python}: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr)
            .lines()
            .last()
            .unwrap_or("failed")
            .to_owned());
    }
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse::<f64>()
        .map_err(|e| e.to_string())
}
