//! Exchange-history benchmark: fills each backend with FUMIDAI_BENCH_PAIRS address pairs (default 10 million)
//! through `record` in batches of 20,000 (the importer's path: one transaction of 4,000-row statements on SQLite,
//! one UNNEST statement per batch on PostgreSQL), then measures lookup latency (100k random lookups, half hits,
//! half misses, one caller) and recording throughput as a milter would: one message = 3 new exchanges, recorded by
//! a single caller in batches of 1 and of 100, and by 16 concurrent callers in batches of 1 (on SQLite these are
//! grouped into shared commits). Every `record` call returns once its rows are committed. Baseline in the same
//! run: the same lookups on an in-memory HashMap (with the same address normalisation), to show the price of
//! persistence.
//!
//! `cargo bench -p fumidai-store --bench history` (add `FUMIDAI_BENCH_PAIRS=100000` for a quick run; PostgreSQL
//! from FUMIDAI_TEST_POSTGRES, in a throw-away schema; skipped when unreachable).

use fumidai_store::testing::{PgSchema, TempDir};

use std::collections::HashMap;
use std::time::{Duration, Instant};

use fumidai_store::{normalize_address, open, Direction, Exchange, Store};

const BASE_TIME: i64 = 1_700_000_000;
const LOOKUPS: usize = 100_000;
const FILL_BATCH: usize = 20_000;

fn local_of(i: usize) -> String {
    format!("user{}@example.co.jp", i.wrapping_mul(7919) % 5000)
}

fn external_of(i: usize) -> String {
    format!("p{i}@corp{}.co.jp", i / 20)
}

/// Deterministic xorshift, so both backends see the same lookups.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn lookup_keys(pairs: usize) -> Vec<(String, String, bool)> {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    (0..LOOKUPS)
        .map(|n| {
            let i = usize::try_from(rng.next() % pairs.max(1) as u64).unwrap_or(0);
            if n % 2 == 0 {
                (local_of(i), external_of(i), true)
            } else {
                (
                    local_of(i),
                    format!("nobody{i}@unknown{}.example", i % 1000),
                    false,
                )
            }
        })
        .collect()
}

struct Latency {
    p50: Duration,
    p99: Duration,
    mean: Duration,
}

fn latency(mut samples: Vec<Duration>) -> Latency {
    samples.sort_unstable();
    let at = |q: f64| {
        samples
            .get(((samples.len() as f64 * q) as usize).min(samples.len().saturating_sub(1)))
            .copied()
    };
    let total: Duration = samples.iter().sum();
    Latency {
        p50: at(0.50).unwrap_or_default(),
        p99: at(0.99).unwrap_or_default(),
        mean: total / u32::try_from(samples.len().max(1)).unwrap_or(1),
    }
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

/// One message: a local user writes to three recipients (new pairs, so every row is an insert).
fn message(n: usize) -> Vec<Exchange> {
    (0..3)
        .map(|k| Exchange {
            local: local_of(n),
            external: format!("m{n}r{k}@bench{}.jp", n % 5000),
            direction: Direction::Outbound,
            at: BASE_TIME + 20_000_000 + i64::try_from(n).unwrap_or(0),
        })
        .collect()
}

struct Report {
    backend: &'static str,
    fill_rate: f64,
    fill_secs: f64,
    hits: Latency,
    misses: Latency,
    all: Latency,
    rec1: f64,
    rec100: f64,
    rec1x16: f64,
}

async fn run(
    store: &dyn Store,
    pairs: usize,
    keys: &[(String, String, bool)],
    tag: usize,
) -> Report {
    // Fill.
    let started = Instant::now();
    let mut batch = Vec::with_capacity(FILL_BATCH);
    let mut last_report = Instant::now();
    for i in 0..pairs {
        batch.push(Exchange {
            local: local_of(i),
            external: external_of(i),
            direction: if i % 3 == 0 {
                Direction::Inbound
            } else {
                Direction::Outbound
            },
            at: BASE_TIME + i64::try_from(i).unwrap_or(0),
        });
        if batch.len() == FILL_BATCH || i + 1 == pairs {
            store.record(&batch).await.expect("fill");
            batch.clear();
            if last_report.elapsed() > Duration::from_secs(30) {
                eprintln!(
                    "  {}: {} / {pairs} pairs, {:.0} s",
                    store.backend(),
                    i + 1,
                    started.elapsed().as_secs_f64()
                );
                last_report = Instant::now();
            }
        }
    }
    let fill_secs = started.elapsed().as_secs_f64();

    // Lookups.
    let (mut hits, mut misses, mut all) = (Vec::new(), Vec::new(), Vec::with_capacity(keys.len()));
    for (local, external, hit) in keys {
        let t = Instant::now();
        let found = store.lookup(local, external).await.expect("lookup");
        let d = t.elapsed();
        assert_eq!(found.address.is_some(), *hit, "{local} {external}");
        all.push(d);
        if *hit {
            hits.push(d)
        } else {
            misses.push(d)
        }
    }

    // Recording like a milter. Message numbers are offset per run so every exchange is new.
    let base = tag * 10_000_000;
    // Long enough to span several WAL checkpoints on SQLite.
    let n1 = 10_000;
    let t = Instant::now();
    for n in 0..n1 {
        store.record(&message(base + n)).await.expect("record");
    }
    let rec1 = n1 as f64 / t.elapsed().as_secs_f64();

    let n100 = 30_000;
    let t = Instant::now();
    for chunk in 0..n100 / 100 {
        let batch: Vec<Exchange> = (0..100)
            .flat_map(|k| message(base + 1_000_000 + chunk * 100 + k))
            .collect();
        store.record(&batch).await.expect("record");
    }
    let rec100 = n100 as f64 / t.elapsed().as_secs_f64();

    let per_writer = 500;
    let t = Instant::now();
    let writers = (0..16).map(|w| async move {
        for n in 0..per_writer {
            store
                .record(&message(base + 2_000_000 + w * per_writer + n))
                .await
                .expect("record");
        }
    });
    join_all(writers).await;
    let rec1x16 = (16 * per_writer) as f64 / t.elapsed().as_secs_f64();

    Report {
        backend: store.backend(),
        fill_rate: pairs as f64 / fill_secs,
        fill_secs,
        hits: latency(hits),
        misses: latency(misses),
        all: latency(all),
        rec1,
        rec100,
        rec1x16,
    }
}

/// Polls futures concurrently on this task (no extra dependency for join_all).
async fn join_all<F: std::future::Future<Output = ()>>(futures: impl Iterator<Item = F>) {
    let mut set: Vec<std::pin::Pin<Box<F>>> = futures.map(Box::pin).collect();
    std::future::poll_fn(|cx| {
        set.retain_mut(|f| f.as_mut().poll(cx).is_pending());
        if set.is_empty() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
}

fn baseline(pairs: usize, keys: &[(String, String, bool)]) -> (Latency, f64) {
    let started = Instant::now();
    let mut map: HashMap<(String, String), (i64, u64)> = HashMap::with_capacity(pairs);
    for i in 0..pairs {
        let key = (
            normalize_address(&local_of(i)).unwrap_or_default(),
            normalize_address(&external_of(i)).unwrap_or_default(),
        );
        map.insert(key, (BASE_TIME + i64::try_from(i).unwrap_or(0), 1));
    }
    let fill_secs = started.elapsed().as_secs_f64();
    let mut samples = Vec::with_capacity(keys.len());
    for (local, external, hit) in keys {
        let t = Instant::now();
        let key = (
            normalize_address(local).unwrap_or_default(),
            normalize_address(external).unwrap_or_default(),
        );
        let found = map.get(&key).copied();
        samples.push(t.elapsed());
        assert_eq!(found.is_some(), *hit);
    }
    (latency(samples), fill_secs)
}

fn main() {
    let pairs: usize = std::env::var("FUMIDAI_BENCH_PAIRS")
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(10_000_000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let keys = lookup_keys(pairs);
    println!(
        "fumidai-store history benchmark: {pairs} address pairs, {LOOKUPS} lookups (half hits)"
    );

    let (base, base_fill) = baseline(pairs, &keys);
    let mut reports = Vec::new();
    runtime.block_on(async {
        let dir = TempDir::new();
        let store = open(&dir.db()).await.expect("open sqlite");
        eprintln!("filling sqlite at {}", dir.db());
        reports.push(run(&*store, pairs, &keys, 1).await);
        drop(store);
        if let Ok(meta) = std::fs::metadata(dir.db()) {
            println!("sqlite file: {:.0} MB", meta.len() as f64 / 1e6);
        }

        if let Some(pg) = PgSchema::create("bench").await {
            let store = open(&pg.url).await.expect("open postgres");
            eprintln!("filling postgres schema {}", pg.schema);
            reports.push(run(&*store, pairs, &keys, 2).await);
            drop(store);
            pg.drop_schema().await;
        }
    });

    println!();
    println!("lookups:");
    println!("| backend | fill pairs/s (s) | lookup p50 | lookup p99 | hit p99 | miss p99 | mean | p99 vs HashMap |");
    println!("|---|---|---|---|---|---|---|---|");
    println!(
        "| HashMap (baseline) | {:.0} ({:.1}) | {} | {} | - | - | {} | 1x |",
        pairs as f64 / base_fill,
        base_fill,
        us(base.p50),
        us(base.p99),
        us(base.mean)
    );
    for r in &reports {
        println!(
            "| {} | {:.0} ({:.0}) | {} | {} | {} | {} | {} | {:.0}x |",
            r.backend,
            r.fill_rate,
            r.fill_secs,
            us(r.all.p50),
            us(r.all.p99),
            us(r.hits.p99),
            us(r.misses.p99),
            us(r.all.mean),
            r.all.p99.as_secs_f64() / base.p99.as_secs_f64().max(1e-9),
        );
    }
    println!();
    println!("recording, msg/s (one message = 3 new exchanges; each call returns once its rows are committed):");
    println!("| backend | single caller, batch 1 | single caller, batch 100 | 16 concurrent callers, batch 1 |");
    println!("|---|---|---|---|");
    for r in &reports {
        println!(
            "| {} | {:.0} | {:.0} | {:.0} |",
            r.backend, r.rec1, r.rec100, r.rec1x16
        );
    }
    if let Some(sqlite) = reports.iter().find(|r| r.backend == "sqlite") {
        let verdict = |pass: bool| if pass { "PASS" } else { "FAIL" };
        println!();
        println!(
            "bars (sqlite): lookup p99 < 1 ms: {} ({}); recording >= 2000 msg/s: single caller batch 1: {} ({:.0}), \
             16 concurrent callers batch 1: {} ({:.0})",
            verdict(sqlite.all.p99 < Duration::from_millis(1)),
            us(sqlite.all.p99),
            verdict(sqlite.rec1 >= 2000.0),
            sqlite.rec1,
            verdict(sqlite.rec1x16 >= 2000.0),
            sqlite.rec1x16,
        );
    }
}
