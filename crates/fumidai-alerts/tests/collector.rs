//! Nodes forward their springboard events to a collector over real HTTP, into real stores: each event counts
//! once however often it arrives, a wrong token gets nothing in, and a collector that is down loses nothing.

use std::sync::Arc;

use fumidai_alerts::collector::{router, Collector};
use fumidai_alerts::forward::Forwarder;
use fumidai_alerts::{AlertsConfig, CaseFilter, EventKind, Sample, SpringboardEvent};
use fumidai_store::testing::{PgSchema, TempDir};
use fumidai_store::Store;

const TOKEN: &str = "node-one-token-0123456789";

fn event(n: u32, site: &str, organisation: &str) -> SpringboardEvent {
    SpringboardEvent {
        id: format!("{:064x}", u64::from(n) * 7919),
        site: site.into(),
        kind: EventKind::Springboard,
        organisation: organisation.into(),
        observed_at: 1_646_000_000 + i64::from(n),
        verdict: "malicious".into(),
        score: 12.0,
        sample: Sample {
            message_id: Some(format!("<{n}@mail.{organisation}>")),
            source_ip: Some(format!("192.0.2.{}", n % 200)),
            subject: Some("請求書の件".into()),
            ..Sample::default()
        },
    }
}

/// The collector on a free port; returns its events URL.
async fn start_collector(store: Arc<dyn Store>) -> String {
    let collector = Arc::new(Collector {
        store,
        tokens: vec![TOKEN.into()],
        rules: AlertsConfig::default().case_rules(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router(collector)).await });
    format!("http://{addr}/api/v1/events")
}

/// A node's own store: PostgreSQL when one answers (several nodes share one there), else SQLite.
async fn node_store(dir: &TempDir) -> (Box<dyn Store>, Option<PgSchema>) {
    match PgSchema::create("collector").await {
        Some(pg) => (fumidai_store::open(&pg.url).await.unwrap(), Some(pg)),
        None => (
            fumidai_store::open(&dir.0.join("node.db").to_string_lossy())
                .await
                .unwrap(),
            None,
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_reach_the_collector_once() {
    let dir = TempDir::new();
    let collector_store: Arc<dyn Store> = fumidai_store::open(&dir.db()).await.unwrap().into();
    let url = start_collector(collector_store.clone()).await;
    let (node, pg) = node_store(&dir).await;
    let rules = AlertsConfig::default().case_rules();

    // 600 events (more than one batch) from this node, to two organisations.
    for n in 0..600 {
        let org = if n % 3 == 0 {
            "partner.co.jp"
        } else {
            "supplier.co.jp"
        };
        node.event_record(&event(n, "site-a", org), &rules, true)
            .await
            .unwrap();
    }
    let forwarder = Forwarder::new(&url, TOKEN).unwrap();
    assert_eq!(forwarder.drain(node.as_ref()).await.unwrap(), 600);
    assert_eq!(
        forwarder.drain(node.as_ref()).await.unwrap(),
        0,
        "the outbox is empty"
    );

    // A retry after a lost answer, and the same events from another path, count once.
    let again: Vec<SpringboardEvent> = (0..600)
        .map(|n| {
            event(
                n,
                "site-a",
                if n % 3 == 0 {
                    "partner.co.jp"
                } else {
                    "supplier.co.jp"
                },
            )
        })
        .collect();
    let other = fumidai_store::open(&dir.0.join("other.db").to_string_lossy())
        .await
        .unwrap();
    for e in &again[..100] {
        other.event_record(e, &rules, true).await.unwrap();
    }
    assert_eq!(forwarder.drain(other.as_ref()).await.unwrap(), 100);

    let cases = collector_store.cases(&CaseFilter::default()).await.unwrap();
    let count = |org: &str| {
        cases
            .iter()
            .find(|c| c.organisation == org)
            .map(|c| c.event_count)
    };
    assert_eq!(cases.len(), 2, "{cases:?}");
    assert_eq!(count("partner.co.jp"), Some(200));
    assert_eq!(count("supplier.co.jp"), Some(400));
    // The collector does not keep what it received for forwarding again.
    assert!(collector_store.events_outbox(10).await.unwrap().is_empty());

    if let Some(pg) = pg {
        pg.drop_schema().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_token_or_a_dead_collector_keeps_events_in_the_outbox() {
    let dir = TempDir::new();
    let collector_store: Arc<dyn Store> = fumidai_store::open(&dir.db()).await.unwrap().into();
    let url = start_collector(collector_store.clone()).await;
    let node = fumidai_store::open(&dir.0.join("node.db").to_string_lossy())
        .await
        .unwrap();
    let rules = AlertsConfig::default().case_rules();
    node.event_record(&event(1, "site-b", "partner.co.jp"), &rules, true)
        .await
        .unwrap();

    let wrong = Forwarder::new(&url, "node-one-token-0123456788").unwrap();
    let err = wrong.drain(node.as_ref()).await.unwrap_err().to_string();
    assert!(err.contains("401"), "{err}");
    assert!(collector_store
        .cases(&CaseFilter::default())
        .await
        .unwrap()
        .is_empty());

    // Nothing listens on this port any more.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/api/v1/events", l.local_addr().unwrap())
    };
    let err = Forwarder::new(&dead, TOKEN)
        .unwrap()
        .drain(node.as_ref())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("cannot connect"), "{err}");
    assert_eq!(
        node.events_outbox(10).await.unwrap().len(),
        1,
        "kept for the next try"
    );

    assert_eq!(
        Forwarder::new(&url, TOKEN)
            .unwrap()
            .drain(node.as_ref())
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        collector_store
            .cases(&CaseFilter::default())
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_collector_refuses_what_is_not_an_event() {
    let dir = TempDir::new();
    let collector_store: Arc<dyn Store> = fumidai_store::open(&dir.db()).await.unwrap().into();
    let url = start_collector(collector_store.clone()).await;
    let node = fumidai_store::open(&dir.0.join("node.db").to_string_lossy())
        .await
        .unwrap();
    let rules = AlertsConfig::default().case_rules();
    // A free-mail-looking but valid domain is the classifier's business; a public suffix is never an organisation.
    node.event_record(&event(2, "site-c", "co.jp"), &rules, true)
        .await
        .unwrap();
    let err = Forwarder::new(&url, TOKEN)
        .unwrap()
        .drain(node.as_ref())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("not a registrable domain"),
        "{err}"
    );
    assert!(collector_store
        .cases(&CaseFilter::default())
        .await
        .unwrap()
        .is_empty());
}
