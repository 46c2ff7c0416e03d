//! What the outbound watch adds to an outbound message, against what the mail path already costs, in one run:
//! `watch` (the history looked up for each recipient, the account's bucket upserted and its window summed,
//! the thresholds checked) per message, against recording the same message's exchanges in the history
//! (`Store::record`), which every delivered outbound message already does. SQLite, and PostgreSQL when
//! `FUMIDAI_TEST_POSTGRES` answers.
//!
//! `cargo bench -p fumidai-outbound --bench watch` (`FUMIDAI_BENCH_MESSAGES`, default 2,000; 3 recipients each,
//! 50 accounts).

use std::time::{Duration, Instant};

use fumidai_core::Verdict;
use fumidai_outbound::watch::{watch, Outgoing};
use fumidai_outbound::OutboundConfig;
use fumidai_store::testing::{PgSchema, TempDir};
use fumidai_store::{Direction, Exchange, Store};

const RECIPIENTS: usize = 3;
const ACCOUNTS: usize = 50;

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
        let sqlite = fumidai_store::open(&dir.db()).await.expect("sqlite");
        measure("sqlite", sqlite.as_ref(), messages).await;
        if let Some(pg) = PgSchema::create("bench_outbound").await {
            let store = fumidai_store::open(&pg.url).await.expect("postgres");
            measure("postgres", store.as_ref(), messages).await;
            drop(store);
            pg.drop_schema().await;
        }
    });
}

/// Interleaves the two operations message by message, so that both see the same machine state.
async fn measure(backend: &str, store: &dyn Store, messages: usize) {
    // Thresholds off: every message takes the whole path (an account held skips nothing, but a hold would
    // add a write the baseline does not have).
    let config = OutboundConfig {
        max_messages: 0,
        max_recipients: 0,
        max_new_recipients: 0,
        max_risky: 0,
        ..OutboundConfig::default()
    };
    let (mut watching, mut recording) = (Duration::ZERO, Duration::ZERO);
    for n in 0..messages {
        let account = format!("user{}", n % ACCOUNTS);
        let sender = format!("{account}@corp.example.jp");
        let recipients: Vec<String> = (0..RECIPIENTS)
            .map(|r| format!("c{}@customer{}.example", (n + r) % 500, (n + r) % 97))
            .collect();
        let at = 1_764_000_000 + n as i64;
        let outgoing = Outgoing {
            login: Some(&account),
            mail_from: Some(&sender),
            sender: Some(&sender),
            recipients: &recipients,
            verdict: Verdict::Clean,
            at,
        };
        let started = Instant::now();
        watch(store, &config, &outgoing).await.expect("watch");
        watching += started.elapsed();
        let exchanges: Vec<Exchange> = recipients
            .iter()
            .map(|r| Exchange {
                local: sender.clone(),
                external: r.clone(),
                direction: Direction::Outbound,
                at,
            })
            .collect();
        let started = Instant::now();
        store.record(&exchanges).await.expect("record");
        recording += started.elapsed();
    }
    let per = |d: Duration| d.as_secs_f64() * 1e6 / messages as f64;
    println!("{backend}, {messages} outbound messages, {RECIPIENTS} recipients each, {ACCOUNTS} accounts:");
    println!("  Store::record (history)  {:>9.1} us/msg", per(recording));
    println!("  watch                    {:>9.1} us/msg", per(watching));
    println!(
        "  ratio watch/record       {:>9.2}",
        watching.as_secs_f64() / recording.as_secs_f64()
    );
}
