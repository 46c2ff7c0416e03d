//! What counting a message for the console's dashboard costs, against what the milter's path already writes, in
//! one run: `Store::traffic_add` (the message's hour, way, verdict and action, and its findings) once per
//! message, and in batches of 1,000 as the gateway writes them (`fumidai_act::TrafficTally`), against recording
//! the same message's exchanges in the history (`Store::record`), which every delivered message already does.
//! Per message: one at a time (the latency a message would wait) and 16 at once (what concurrent milter
//! sessions see, group commit and row locks included). SQLite, and PostgreSQL when `FUMIDAI_TEST_POSTGRES`
//! answers.
//!
//! `cargo bench -p fumidai-store --bench traffic` (`FUMIDAI_BENCH_MESSAGES`, default 2,000; 3 recipients and 4
//! findings each).

use std::sync::Arc;
use std::time::{Duration, Instant};

use fumidai_store::testing::{PgSchema, TempDir};
use fumidai_store::{Direction, Exchange, Store, Traffic};

const RECIPIENTS: usize = 3;
const CONCURRENT: usize = 16;
/// Messages the gateway writes in one call.
const BATCH: usize = 1_000;
const FINDINGS: [&str; 6] = [
    "VBA_AUTOEXEC",
    "FIRST_CONTACT",
    "ZIP_ENCRYPTED",
    "PASSWORD_IN_BODY",
    "DISPLAY_NAME_SPOOF",
    "LINK_TO_IP",
];

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let messages: usize = std::env::var("FUMIDAI_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    runtime.block_on(async {
        let dir = TempDir::new();
        let sqlite: Arc<dyn Store> = fumidai_store::open(&dir.db()).await.expect("sqlite").into();
        measure("sqlite", &sqlite, messages).await;
        if let Some(pg) = PgSchema::create("bench_traffic").await {
            let store: Arc<dyn Store> =
                fumidai_store::open(&pg.url).await.expect("postgres").into();
            measure("postgres", &store, messages).await;
            drop(store);
            pg.drop_schema().await;
        }
    });
}

/// Message `n`: its traffic row and its exchanges, a second apart.
fn message(n: usize) -> (Traffic, Vec<Exchange>) {
    let at = 1_764_000_000 + n as i64;
    let attack = n.is_multiple_of(10);
    let traffic = Traffic {
        at,
        direction: "inbound".into(),
        verdict: if attack { "malicious" } else { "clean" }.into(),
        action: if attack { "quarantine" } else { "deliver" }.into(),
        findings: (0..4)
            .map(|f| FINDINGS[(n + f) % FINDINGS.len()].to_owned())
            .collect(),
    };
    let exchanges = (0..RECIPIENTS)
        .map(|r| Exchange {
            local: format!("u{}@corp.example.jp", (n + r) % 300),
            external: format!("c{}@customer{}.example", n % 500, n % 97),
            direction: Direction::Inbound,
            at,
        })
        .collect();
    (traffic, exchanges)
}

/// Times `op` over every message: one after another, then `CONCURRENT` at a time; per message.
async fn timed<F, Fut>(messages: usize, op: F) -> (Duration, Duration)
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let started = Instant::now();
    for n in 0..messages {
        op(n).await;
    }
    let sequential = started.elapsed() / messages as u32;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..CONCURRENT {
        let op = op.clone();
        tasks.push(tokio::spawn(async move {
            for n in (worker..messages).step_by(CONCURRENT) {
                op(messages + n).await;
            }
        }));
    }
    for task in tasks {
        task.await.expect("worker");
    }
    (sequential, started.elapsed() / messages as u32)
}

async fn measure(backend: &str, store: &Arc<dyn Store>, messages: usize) {
    let s = store.clone();
    let record = timed(messages, move |n| {
        let s = s.clone();
        async move { s.record(&message(n).1).await.expect("record") }
    })
    .await;
    let s = store.clone();
    let count = timed(messages, move |n| {
        let s = s.clone();
        async move { s.traffic_add(&[message(n).0]).await.expect("traffic_add") }
    })
    .await;
    // As the gateway writes: the messages of a batch in one call, per message.
    let started = Instant::now();
    let all: Vec<Traffic> = (2 * messages..3 * messages).map(|n| message(n).0).collect();
    for batch in all.chunks(BATCH) {
        store.traffic_add(batch).await.expect("traffic_add batch");
    }
    let batched = started.elapsed() / messages as u32;
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!("{backend}, {messages} messages, {RECIPIENTS} recipients and 4 findings each:");
    for (label, pick) in [("one at a time", 0), ("16 at once", 1)] {
        let (r, c) = if pick == 0 {
            (record.0, count.0)
        } else {
            (record.1, count.1)
        };
        println!(
            "  {label:<14} record {:>8.1} us/msg   traffic_add {:>8.1} us/msg   ratio {:>5.2}",
            us(r),
            us(c),
            c.as_secs_f64() / r.as_secs_f64()
        );
    }
    println!(
        "  batches of {BATCH}  traffic_add {:>8.1} us/msg   ratio to record one at a time {:>5.3}",
        us(batched),
        batched.as_secs_f64() / record.0.as_secs_f64()
    );
}
