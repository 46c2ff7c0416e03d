//! What springboard alerts add to the mail path, against what the mail path already costs, in one run:
//!
//! - **attribution**: `springboard_event` (SPF evaluated against a preloaded record, the DKIM signature verified
//!   against a preloaded key: no network) for each Emotet-style sample, against `Engine::scan` of the same message;
//! - **recording**: `Store::event_record` into SQLite (and PostgreSQL when `FUMIDAI_TEST_POSTGRES` answers), per
//!   event, against recording the same message's exchange in the history (`Store::record`);
//! - **collector**: events a second from a node's outbox into a collector over HTTP (both SQLite).
//!
//! `cargo bench -p fumidai-alerts --bench events` (`FUMIDAI_BENCH_EVENTS`, default 2,000 events).

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use fumidai_alerts::collector::{router, Collector};
use fumidai_alerts::forward::Forwarder;
use fumidai_alerts::{
    springboard_event, AlertsConfig, Authenticator, Classifier, EventContext, FreeMail,
    MessageFacts, SmtpFacts, SpringboardEvent,
};
use fumidai_engine::{Config, Engine, Envelope};
use fumidai_store::testing::{PgSchema, TempDir};
use fumidai_store::{Direction, Exchange, Store};
use mail_auth::common::crypto::Ed25519Key;
use mail_auth::common::headers::HeaderWriter;
use mail_auth::dkim::DkimSigner;

const SAMPLES: [&str; 4] = [
    "emotet_style_autoexec_xlsm.eml",
    "emotet_style_onenote_attachment.eml",
    "emotet_style_pwzip_eicar.eml",
    "emotet_style_pwzip_xlm_macro.eml",
];
const ROUNDS: u32 = 50;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let events: usize = std::env::var("FUMIDAI_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let messages = signed_samples();
    let authenticator = Authenticator::offline("mx.corp.example.jp").expect("resolver");
    authenticator.add_txt("partner.co.jp", "v=spf1 ip4:192.0.2.10 -all");
    authenticator.add_txt("s1._domainkey.partner.co.jp", &messages.key_record);
    let context = EventContext {
        site: "bench".into(),
        classifier: Classifier::new(FreeMail::default(), &[], &["corp.example.jp".into()]),
    };
    let engine = Engine::new(Config::default()).expect("engine");
    let client: IpAddr = "192.0.2.10".parse().expect("ip");
    let rcpt = vec!["alice@corp.example.jp".to_owned()];

    // Scan and attribute every sample ROUNDS times, interleaved so that both see the same machine state.
    let (mut scanning, mut attributing) = (Duration::ZERO, Duration::ZERO);
    let mut springboards = 0;
    for _ in 0..ROUNDS {
        for raw in &messages.raw {
            let started = Instant::now();
            let report = engine.scan(raw, &Envelope::default()).expect("scan");
            scanning += started.elapsed();
            let facts = MessageFacts {
                verdict: report.verdict,
                score: report.score,
                findings: &report.findings,
                attachments: &report.attachments,
                observed_at: 1_700_000_000,
            };
            let smtp = SmtpFacts {
                client_ip: Some(client),
                helo: "mx.partner.co.jp",
                mail_from: "keiri@partner.co.jp",
                rcpt_to: &rcpt,
                sasl_login: None,
            };
            let started = Instant::now();
            let event = runtime.block_on(springboard_event(
                &context,
                &authenticator,
                raw,
                &facts,
                &smtp,
            ));
            attributing += started.elapsed();
            springboards += usize::from(
                event.is_some_and(|e| e.kind == fumidai_alerts::EventKind::Springboard),
            );
        }
    }
    let n = (ROUNDS as usize * messages.raw.len()) as f64;
    let per = |d: Duration| d.as_secs_f64() * 1e6 / n;
    assert_eq!(
        springboards as f64, n,
        "every signed sample is a springboard"
    );
    println!(
        "attribution, {} messages x {ROUNDS} (DKIM-signed, SPF pass, offline DNS):",
        messages.raw.len()
    );
    println!("  Engine::scan            {:>9.1} us/msg", per(scanning));
    println!("  springboard_event       {:>9.1} us/msg", per(attributing));
    println!(
        "  ratio event/scan        {:>9.2}",
        attributing.as_secs_f64() / scanning.as_secs_f64()
    );

    runtime.block_on(async {
        let dir = TempDir::new();
        let sqlite = fumidai_store::open(&dir.db()).await.expect("sqlite");
        recording("sqlite", sqlite.as_ref(), events).await;
        if let Some(pg) = PgSchema::create("bench_events").await {
            let store = fumidai_store::open(&pg.url).await.expect("postgres");
            recording("postgres", store.as_ref(), events).await;
            drop(store);
            pg.drop_schema().await;
        }
        collector(&dir, events).await;
    });
}

struct Signed {
    raw: Vec<Vec<u8>>,
    key_record: String,
}

/// The samples as partner.co.jp's server would send them: From the partner, DKIM-signed with a fresh key.
fn signed_samples() -> Signed {
    let key = Ed25519Key::from_pkcs8_der(&Ed25519Key::generate_pkcs8().expect("key")).expect("key");
    let key_record = format!(
        "v=DKIM1; k=ed25519; p={}",
        base64::engine::general_purpose::STANDARD.encode(key.public_key())
    );
    let signer = DkimSigner::from_key(key)
        .domain("partner.co.jp")
        .selector("s1")
        .headers(["From", "To", "Subject", "Date", "Message-ID"]);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/corpus/email/generated");
    let raw = SAMPLES
        .iter()
        .map(|name| {
            let text = std::fs::read_to_string(dir.join(name)).expect("sample");
            let text = text.replacen(
                "From: \"Accounts Payable\" <ap@example.com>",
                "From: \"経理部\" <keiri@partner.co.jp>",
                1,
            );
            let signature = signer.sign(text.as_bytes()).expect("sign");
            [signature.to_header().as_bytes(), text.as_bytes()].concat()
        })
        .collect();
    Signed { raw, key_record }
}

fn event(n: usize) -> SpringboardEvent {
    SpringboardEvent {
        id: format!("{n:064x}"),
        site: "bench".into(),
        kind: fumidai_alerts::EventKind::Springboard,
        organisation: format!("org{}.co.jp", n % 50),
        observed_at: 1_700_000_000 + n as i64,
        verdict: "malicious".into(),
        score: 12.0,
        sample: fumidai_alerts::Sample {
            source_ip: Some(format!("192.0.2.{}", n % 250)),
            subject: Some("請求書の件".into()),
            ..Default::default()
        },
    }
}

/// Events recorded one at a time, against the history's record of one exchange at a time.
async fn recording(backend: &str, store: &dyn Store, events: usize) {
    let rules = AlertsConfig::default().case_rules();
    let started = Instant::now();
    for n in 0..events {
        store
            .event_record(&event(n), &rules, true)
            .await
            .expect("event");
    }
    let per_event = started.elapsed().as_secs_f64() * 1e6 / events as f64;
    let started = Instant::now();
    for n in 0..events {
        let exchange = Exchange {
            local: "alice@corp.example.jp".into(),
            external: format!("sender{n}@org{}.co.jp", n % 50),
            direction: Direction::Inbound,
            at: 1_700_000_000 + n as i64,
        };
        store.record(&[exchange]).await.expect("record");
    }
    let per_exchange = started.elapsed().as_secs_f64() * 1e6 / events as f64;
    println!("recording on {backend}, {events} one at a time:");
    println!("  Store::record (history) {per_exchange:>9.1} us");
    println!("  Store::event_record     {per_event:>9.1} us");
    println!(
        "  ratio event/exchange    {:>9.2}",
        per_event / per_exchange
    );
}

/// The node's outbox (filled by `recording` on SQLite) drained into a collector over loopback HTTP.
async fn collector(dir: &TempDir, events: usize) {
    let node = fumidai_store::open(&dir.db()).await.expect("node");
    let collector_store: Arc<dyn Store> =
        fumidai_store::open(&dir.0.join("collector.db").to_string_lossy())
            .await
            .expect("collector")
            .into();
    let token = "bench-token-0123456789abcdef";
    let state = Arc::new(Collector {
        store: collector_store,
        tokens: vec![token.into()],
        rules: AlertsConfig::default().case_rules(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!(
        "http://{}/api/v1/events",
        listener.local_addr().expect("addr")
    );
    tokio::spawn(async move { axum::serve(listener, router(state)).await });
    let started = Instant::now();
    let sent = Forwarder::new(&url, token)
        .expect("url")
        .drain(node.as_ref())
        .await
        .expect("drain");
    let took = started.elapsed();
    assert_eq!(sent, events);
    println!(
        "collector (SQLite to SQLite over HTTP, batches of {}): {:.0} events/s",
        fumidai_alerts::collector::MAX_BATCH,
        events as f64 / took.as_secs_f64()
    );
}
