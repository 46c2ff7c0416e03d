//! One suite, run against both backends: every test below expands to a `sqlite` and a `postgres` test.
//! The PostgreSQL half uses `FUMIDAI_TEST_POSTGRES` (default `postgres://postgres@127.0.0.1:5432/test`), each
//! test in its own schema dropped at the end; without a server it prints "skipped: ..." and passes.

use std::time::{Duration, Instant};

use fumidai_store::testing::{postgres_url, PgSchema, TempDir};
use fumidai_store::{open, Direction, Exchange, Store, StoreError, WhitelistEntry};

/// `store_test!(name, |store, location| { ... })`: the body gets `store: &dyn Store` and the `location` string
/// it was opened from (to reopen it).
macro_rules! store_test {
    ($name:ident, |$store:ident, $location:ident| $body:block) => {
        mod $name {
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let dir = TempDir::new();
                let $location = dir.db();
                let opened = open(&$location).await.expect("open sqlite");
                let $store: &dyn Store = &*opened;
                assert_eq!($store.backend(), "sqlite");
                $body
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(pg) = PgSchema::create("test").await else {
                    return;
                };
                let $location = pg.url.clone();
                // Run the body in a task so that a failed assertion still drops the schema.
                let outcome = tokio::spawn(async move {
                    let opened = open(&$location).await.expect("open postgres");
                    let $store: &dyn Store = &*opened;
                    assert_eq!($store.backend(), "postgres");
                    $body
                })
                .await;
                pg.drop_schema().await;
                if let Err(e) = outcome {
                    std::panic::resume_unwind(e.into_panic());
                }
            }
        }
    };
}

fn ex(local: &str, external: &str, direction: Direction, at: i64) -> Exchange {
    Exchange {
        local: local.to_string(),
        external: external.to_string(),
        direction,
        at,
    }
}

/// A realistic mix: taro writes to a partner twice and gets one answer; hanako (same organisation, another
/// host) only receives from a second person at the partner; someone only ever receives from a stranger.
fn sample() -> Vec<Exchange> {
    vec![
        ex(
            "Taro@Example.co.jp",
            "yamada@partner.co.jp",
            Direction::Outbound,
            1_000,
        ),
        ex(
            "taro@example.co.jp",
            "yamada@partner.co.jp",
            Direction::Inbound,
            1_500,
        ),
        ex(
            "taro@example.co.jp",
            "YAMADA@mail.partner.co.jp",
            Direction::Outbound,
            2_000,
        ),
        ex(
            "taro@example.co.jp",
            "yamada@partner.co.jp",
            Direction::Outbound,
            3_000,
        ),
        ex(
            "hanako@tokyo.example.co.jp",
            "suzuki@partner.co.jp",
            Direction::Inbound,
            2_500,
        ),
        ex(
            "hanako@tokyo.example.co.jp",
            "spam@stranger.example",
            Direction::Inbound,
            4_000,
        ),
        ex("bad address", "x@y.jp", Direction::Outbound, 5_000),
    ]
}

store_test!(record_and_lookup_both_levels, |store, _location| {
    store.record(&sample()).await.unwrap();

    let found = store
        .lookup("taro@example.co.jp", "yamada@partner.co.jp")
        .await
        .unwrap();
    let address = found.address.expect("address level");
    assert_eq!((address.first_seen, address.last_seen), (1_000, 3_000));
    assert_eq!((address.outbound_count, address.inbound_count), (2, 1));
    assert_eq!(
        (address.last_outbound, address.last_inbound),
        (Some(3_000), Some(1_500))
    );

    // The domain level gathers every local host of example.co.jp and every partner.co.jp host.
    let domain = found.domain.expect("domain level");
    assert_eq!((domain.first_seen, domain.last_seen), (1_000, 3_000));
    assert_eq!((domain.outbound_count, domain.inbound_count), (3, 2));
    assert_eq!(
        (domain.last_outbound, domain.last_inbound),
        (Some(3_000), Some(2_500))
    );

    // Lookups normalise like record does.
    let again = store
        .lookup(" <TARO@EXAMPLE.CO.JP>", "Yamada@Partner.Co.Jp")
        .await
        .unwrap();
    assert_eq!(again.address, Some(address));

    // Inbound-only pair: kept, with no outbound.
    let inbound = store
        .lookup("hanako@tokyo.example.co.jp", "suzuki@partner.co.jp")
        .await
        .unwrap();
    let pair = inbound.address.expect("inbound pair");
    assert_eq!(
        (pair.outbound_count, pair.inbound_count, pair.last_outbound),
        (0, 1, None)
    );
    assert_eq!(inbound.domain, Some(domain));

    // A new address at a known domain: no address history, domain history present.
    let new_person = store
        .lookup("taro@example.co.jp", "newcomer@partner.co.jp")
        .await
        .unwrap();
    assert!(new_person.address.is_none());
    assert!(new_person.domain.is_some());

    // Unknown everything, and garbage.
    assert_eq!(
        store
            .lookup("taro@example.co.jp", "x@unknown.jp")
            .await
            .unwrap(),
        Default::default()
    );
    assert_eq!(
        store.lookup("not an address", "").await.unwrap(),
        Default::default()
    );

    assert_eq!(
        store.correspondent_domains().await.unwrap(),
        vec!["partner.co.jp", "stranger.example"]
    );
    assert_eq!(
        store.outbound_correspondent_domains().await.unwrap(),
        vec!["partner.co.jp"]
    );
});

store_test!(idn_addresses_share_one_row, |store, _location| {
    store
        .record(&[ex("a@example.jp", "info@例え.jp", Direction::Outbound, 10)])
        .await
        .unwrap();
    store
        .record(&[ex(
            "a@example.jp",
            "INFO@xn--r8jz45g.jp",
            Direction::Outbound,
            20,
        )])
        .await
        .unwrap();
    let found = store.lookup("a@example.jp", "info@例え.jp").await.unwrap();
    assert_eq!(found.address.map(|h| h.outbound_count), Some(2));
    assert_eq!(
        store.correspondent_domains().await.unwrap(),
        vec!["xn--r8jz45g.jp"]
    );
});

store_test!(
    rerecording_the_same_data_does_not_double_count,
    |store, _location| {
        let data = sample();
        store.record(&data).await.unwrap();
        let before = store
            .lookup("taro@example.co.jp", "yamada@partner.co.jp")
            .await
            .unwrap();
        // The same import again, whole, then row by row, then with duplicates inside one batch.
        store.record(&data).await.unwrap();
        for e in &data {
            store.record(std::slice::from_ref(e)).await.unwrap();
        }
        let doubled: Vec<Exchange> = data.iter().chain(data.iter()).cloned().collect();
        store.record(&doubled).await.unwrap();
        let after = store
            .lookup("taro@example.co.jp", "yamada@partner.co.jp")
            .await
            .unwrap();
        assert_eq!(before, after);

        // A genuinely new exchange still counts, once, even when sent twice in one batch.
        let new = ex(
            "taro@example.co.jp",
            "yamada@partner.co.jp",
            Direction::Outbound,
            9_000,
        );
        store.record(&[new.clone(), new]).await.unwrap();
        let grown = store
            .lookup("taro@example.co.jp", "yamada@partner.co.jp")
            .await
            .unwrap();
        let (a, b) = (after.address.unwrap(), grown.address.unwrap());
        assert_eq!(b.outbound_count, a.outbound_count + 1);
        assert_eq!(
            (b.last_outbound, b.last_seen, b.first_seen),
            (Some(9_000), 9_000, a.first_seen)
        );
        assert_eq!(
            grown.domain.unwrap().outbound_count,
            after.domain.unwrap().outbound_count + 1
        );
    }
);

store_test!(
    out_of_order_exchanges_keep_first_and_last,
    |store, _location| {
        store
            .record(&[ex("a@x.jp", "b@y.jp", Direction::Inbound, 500)])
            .await
            .unwrap();
        store
            .record(&[ex("a@x.jp", "b@y.jp", Direction::Inbound, 100)])
            .await
            .unwrap();
        store
            .record(&[ex("a@x.jp", "b@y.jp", Direction::Outbound, 300)])
            .await
            .unwrap();
        let h = store
            .lookup("a@x.jp", "b@y.jp")
            .await
            .unwrap()
            .address
            .unwrap();
        assert_eq!(
            (h.first_seen, h.last_seen, h.last_inbound, h.last_outbound),
            (100, 500, Some(500), Some(300))
        );
        assert_eq!((h.inbound_count, h.outbound_count), (2, 1));
    }
);

store_test!(
    pruned_dedup_keys_only_affect_old_exchanges,
    |store, _location| {
        store
            .record(&[
                ex("a@x.jp", "b@y.jp", Direction::Outbound, 100),
                ex("a@x.jp", "b@y.jp", Direction::Outbound, 900),
            ])
            .await
            .unwrap();
        assert_eq!(store.prune_dedup_keys(500).await.unwrap(), 1);
        // The recent exchange is still known; the pruned one would count again (documented trade-off).
        store
            .record(&[ex("a@x.jp", "b@y.jp", Direction::Outbound, 900)])
            .await
            .unwrap();
        assert_eq!(
            store
                .lookup("a@x.jp", "b@y.jp")
                .await
                .unwrap()
                .address
                .unwrap()
                .outbound_count,
            2
        );
    }
);

store_test!(whitelist_add_remove_list, |store, _location| {
    assert!(store.whitelist().await.unwrap().is_empty());
    let boss = WhitelistEntry {
        pattern: "Boss@Partner.JP".into(),
        comment: "CEO".into(),
        added_at: 10,
    };
    let domain = WhitelistEntry {
        pattern: "例え.jp".into(),
        comment: "group company".into(),
        added_at: 20,
    };
    store.whitelist_add(&boss).await.unwrap();
    store.whitelist_add(&domain).await.unwrap();
    let list = store.whitelist().await.unwrap();
    let patterns: Vec<&str> = list.iter().map(|e| e.pattern.as_str()).collect();
    assert_eq!(patterns, vec!["boss@partner.jp", "xn--r8jz45g.jp"]);
    assert_eq!((list[0].comment.as_str(), list[0].added_at), ("CEO", 10));

    // Adding a pattern again replaces its comment instead of duplicating it.
    store
        .whitelist_add(&WhitelistEntry {
            comment: "CEO (2025)".into(),
            added_at: 30,
            ..boss
        })
        .await
        .unwrap();
    let list = store.whitelist().await.unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(
        (list[0].comment.as_str(), list[0].added_at),
        ("CEO (2025)", 30)
    );

    assert!(store.whitelist_remove("BOSS@partner.jp").await.unwrap());
    assert!(!store.whitelist_remove("boss@partner.jp").await.unwrap());
    assert!(!store.whitelist_remove("").await.unwrap());
    assert_eq!(store.whitelist().await.unwrap().len(), 1);

    let bad = WhitelistEntry {
        pattern: "  ".into(),
        comment: String::new(),
        added_at: 0,
    };
    assert!(store.whitelist_add(&bad).await.is_err());
});

store_test!(migrations_are_idempotent, |store, location| {
    let status = store.status().await.unwrap();
    assert_eq!(status.backend, store.backend());
    assert_eq!(status.applied, vec![1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert_eq!(status.latest, 9);
    store.record(&sample()).await.unwrap();

    // Migrating again and opening again (twice at once, as two nodes starting together) changes nothing.
    assert_eq!(store.migrate().await.unwrap(), status);
    let (a, b) = tokio::join!(open(&location), open(&location));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.status().await.unwrap(), status);
    assert_eq!(b.status().await.unwrap(), status);
    let found = a
        .lookup("taro@example.co.jp", "yamada@partner.co.jp")
        .await
        .unwrap();
    assert_eq!(found.address.unwrap().outbound_count, 2);
});

store_test!(
    concurrent_writers_count_each_exchange_once,
    |store, location| {
        let other = open(&location).await.unwrap();
        let batch: Vec<Exchange> = (0..200)
            .map(|i| {
                ex(
                    "a@x.jp",
                    &format!("p{}@y.jp", i % 7),
                    Direction::Outbound,
                    i,
                )
            })
            .collect();
        let (r1, r2) = tokio::join!(store.record(&batch), other.record(&batch));
        r1.unwrap();
        r2.unwrap();
        let total: u64 = futures_sum(store, 7).await;
        assert_eq!(total, 200);
    }
);

store_test!(
    concurrent_callers_of_one_store_count_each_exchange_once,
    |store, location| {
        // Sixteen callers of one store at once, as a milter's connections are: each records the same twenty
        // messages (as if every one retried them) and its own, and sees its own as soon as `record` returns.
        let shared = std::sync::Arc::new(open(&location).await.unwrap());
        let mut callers = tokio::task::JoinSet::new();
        for caller in 0..16 {
            let shared = std::sync::Arc::clone(&shared);
            callers.spawn(async move {
                let own = format!("c{caller}@z.jp");
                for n in 0..20 {
                    let common = ex(
                        "a@x.jp",
                        &format!("p{}@y.jp", n % 7),
                        Direction::Outbound,
                        n,
                    );
                    shared.record(&[common]).await.unwrap();
                    shared
                        .record(&[ex("b@x.jp", &own, Direction::Inbound, n)])
                        .await
                        .unwrap();
                    let mine = shared.lookup("b@x.jp", &own).await.unwrap().address;
                    assert_eq!(
                        mine.map(|h| h.inbound_count),
                        Some(u64::try_from(n + 1).unwrap())
                    );
                }
            });
        }
        while let Some(done) = callers.join_next().await {
            done.unwrap();
        }
        assert_eq!(futures_sum(store, 7).await, 20);
    }
);

async fn futures_sum(store: &dyn Store, n: usize) -> u64 {
    let mut total = 0;
    for i in 0..n {
        let found = store.lookup("a@x.jp", &format!("p{i}@y.jp")).await.unwrap();
        total += found.address.map_or(0, |h| h.outbound_count);
    }
    total
}

#[tokio::test]
async fn dead_postgres_is_unavailable_quickly() {
    let started = Instant::now();
    let result = open("postgres://postgres@127.0.0.1:1/x").await;
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "{:?}",
        result.err()
    );
    assert!(
        started.elapsed() < Duration::from_secs(7),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn unwritable_sqlite_is_unavailable_quickly() {
    let started = Instant::now();
    for path in ["/proc/x.db", "/proc/fumidai/nope/x.db"] {
        let result = open(path).await;
        match result {
            Err(StoreError::Unavailable(message)) => assert!(message.contains(path), "{message}"),
            other => panic!("{path}: expected Unavailable, got {:?}", other.err()),
        }
    }
    assert!(
        started.elapsed() < Duration::from_secs(7),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn missing_postgres_database_is_unavailable() {
    let Some(pg) = PgSchema::create("test").await else {
        return;
    };
    let url = postgres_url();
    let base = url.rsplit_once('/').map_or(url.as_str(), |(b, _)| b);
    let result = open(&format!("{base}/fumidai_no_such_db_{}", pg.schema)).await;
    pg.drop_schema().await;
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "{:?}",
        result.err()
    );
}

#[tokio::test]
async fn in_memory_sqlite_works() {
    let store = open("sqlite::memory:").await.unwrap();
    store.record(&sample()).await.unwrap();
    assert!(store
        .lookup("taro@example.co.jp", "yamada@partner.co.jp")
        .await
        .unwrap()
        .address
        .is_some());
}
