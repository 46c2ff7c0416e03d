//! Sanitisation throughput on the corpus: every message of testdata/corpus/email sanitised by the
//! actor (rebuild, macro stripping, HTML to text, defanging, banner, and the re-scan of the copy),
//! against the inspection of the same messages in the same run as the baseline.
//!
//! Run: `cargo bench -p fumidai-act --bench sanitize` (or the built binary with `--rounds N`).

use bytes::Bytes;
use fumidai_act::{Actor, Arrival, Client};
use fumidai_engine::{Config, Direction, Engine, Envelope};
use fumidai_policy::ActionKind;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn messages() -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/corpus/email");
    let mut out: Vec<Vec<u8>> = walkdir::WalkDir::new(root)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| std::fs::read(e.path()).ok())
        .collect();
    out.retain(|m| !m.is_empty());
    out
}

fn main() {
    let rounds: u32 = std::env::args()
        .skip_while(|a| a != "--rounds")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(5);
    // Every verdict sanitised, so every message takes the whole path.
    let config = Config::parse(
        "[policy.inbound]\nclean = \"sanitize\"\nsuspicious = \"sanitize\"\nmalicious = \"sanitize\"\n",
    )
    .expect("bench policy");
    let actor = Actor::new(Arc::new(Engine::new(config).expect("engine"))).expect("actor");
    let corpus = messages();
    let bytes: usize = corpus.iter().map(Vec::len).sum();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let envelope = Envelope::default();
    let arrival = Arrival {
        envelope: &envelope,
        client: &Client::default(),
        direction: Direction::Inbound,
        at: 0,
    };

    let mut scan_time = Duration::ZERO;
    let mut act_time = Duration::ZERO;
    let mut sanitised = 0usize;
    let mut escalated = 0usize;
    for _ in 0..rounds {
        for raw in &corpus {
            let started = Instant::now();
            let Ok(report) = actor.engine().scan(raw, &envelope) else {
                continue;
            };
            scan_time += started.elapsed();
            let started = Instant::now();
            let decision = actor.decide(&report, arrival);
            let outcome = rt.block_on(actor.carry_out(
                None,
                Bytes::copy_from_slice(raw),
                &report,
                arrival,
                decision,
            ));
            let copy = outcome.delivered_message(raw);
            act_time += started.elapsed();
            match outcome.action {
                ActionKind::Sanitize => sanitised += usize::from(copy.is_some()),
                _ => escalated += 1,
            }
        }
    }
    let n = corpus.len() as f64 * f64::from(rounds);
    let mb = bytes as f64 * f64::from(rounds) / 1e6;
    let per = |d: Duration| d.as_secs_f64();
    println!(
        "corpus: {} messages, {:.1} MB, {rounds} rounds; sanitised {} times, quarantined instead {} times",
        corpus.len(),
        bytes as f64 / 1e6,
        sanitised,
        escalated
    );
    println!(
        "inspection (baseline): {:>9.0} messages/s {:>7.1} MB/s",
        n / per(scan_time),
        mb / per(scan_time)
    );
    println!(
        "sanitisation (act):    {:>9.0} messages/s {:>7.1} MB/s  ({:.2}x the inspection's time; includes the re-scan of each copy)",
        n / per(act_time),
        mb / per(act_time),
        per(act_time) / per(scan_time)
    );
}
