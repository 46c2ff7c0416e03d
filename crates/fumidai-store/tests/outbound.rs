//! The outbound watch against both backends (a real SQLite file, a real PostgreSQL schema through
//! `each_backend`): rolling per-account counts over minute buckets, holds decided once across nodes (a second
//! store opened on the same database), release and reset, pruning, and the remembered Message-IDs.

use std::sync::Arc;

use fumidai_store::testing::each_backend;
use fumidai_store::{open, OutboundTally, OutboundTotals, SentMessage, Store};

/// A minute boundary (1_000_020 = 16,667 minutes).
const BASE: i64 = 1_000_020;
const WINDOW: i64 = 600;

fn tally(account: &str, at: i64, messages: u32, recipients: u32) -> OutboundTally {
    OutboundTally {
        account: account.to_string(),
        at,
        messages,
        recipients,
        new_recipients: recipients / 2,
        risky: 0,
    }
}

fn totals(messages: u64, recipients: u64, new_recipients: u64, risky: u64) -> OutboundTotals {
    OutboundTotals {
        messages,
        recipients,
        new_recipients,
        risky,
    }
}

/// The accounts listed at `at` over [`WINDOW`], as (account, held, messages).
async fn listed(store: &dyn Store, at: i64) -> Vec<(String, bool, u64)> {
    store
        .outbound_accounts(at, WINDOW)
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.account, a.held, a.totals.messages))
        .collect()
}

fn sent(message_id: &str, account: &str, sent_at: i64, domains: &[&str]) -> SentMessage {
    SentMessage {
        message_id: message_id.to_string(),
        account: account.to_string(),
        sent_at,
        recipient_domains: domains.iter().map(|d| d.to_string()).collect(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_cover_the_window_and_buckets_leave_it() {
    each_backend(|store, _| async move {
        let alice = "alice@corp.example.jp";
        let first = OutboundTally {
            risky: 1,
            ..tally(alice, BASE + 5, 1, 3)
        };
        let seen = store.outbound_add(&first, WINDOW).await.unwrap();
        assert_eq!((seen.totals, seen.held), (totals(1, 3, 1, 1), false));
        // The same minute's bucket, then a later one: both in the window.
        let seen = store
            .outbound_add(&tally(alice, BASE + 59, 2, 4), WINDOW)
            .await
            .unwrap();
        assert_eq!(seen.totals, totals(3, 7, 3, 1));
        let seen = store
            .outbound_add(&tally(alice, BASE + 300, 1, 1), WINDOW)
            .await
            .unwrap();
        assert_eq!(seen.totals, totals(4, 8, 3, 1));
        // At BASE + WINDOW the window is (BASE, BASE + WINDOW]: the first minute's bucket has left it.
        let seen = store
            .outbound_add(&tally(alice, BASE + WINDOW, 1, 2), WINDOW)
            .await
            .unwrap();
        assert_eq!(seen.totals, totals(2, 3, 1, 0));
        // A window later only the newest bucket counts; a shorter window sees less of the same buckets.
        let seen = store
            .outbound_add(&tally(alice, BASE + 2 * WINDOW + 1, 5, 5), WINDOW)
            .await
            .unwrap();
        assert_eq!(seen.totals, totals(5, 5, 2, 0));
        let seen = store
            .outbound_add(&tally(alice, BASE + 301, 1, 0), 60)
            .await
            .unwrap();
        assert_eq!(seen.totals, totals(2, 1, 0, 0));

        // The listing sums the same buckets for any time asked.
        let at_300 = store.outbound_accounts(BASE + 300, WINDOW).await.unwrap();
        assert_eq!(at_300.len(), 1);
        assert_eq!(at_300[0].totals, totals(5, 8, 3, 1));
        assert_eq!(
            listed(&*store, BASE + 2 * WINDOW + 1).await,
            vec![(alice.to_string(), false, 5)]
        );
        assert!(listed(&*store, BASE + 10 * WINDOW).await.is_empty());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_are_normalised_and_kept_apart() {
    each_backend(|store, _| async move {
        store
            .outbound_add(&tally(" Alice@Corp.Example.JP ", BASE, 2, 2), WINDOW)
            .await
            .unwrap();
        let seen = store
            .outbound_add(&tally("alice@corp.example.jp", BASE + 1, 1, 1), WINDOW)
            .await
            .unwrap();
        assert_eq!(seen.totals.messages, 3);
        let bob = store
            .outbound_add(&tally("bob@corp.example.jp", BASE + 2, 7, 7), WINDOW)
            .await
            .unwrap();
        assert_eq!(bob.totals.messages, 7);
        assert_eq!(
            listed(&*store, BASE + 2).await,
            vec![
                ("alice@corp.example.jp".to_string(), false, 3),
                ("bob@corp.example.jp".to_string(), false, 7),
            ]
        );
        // Holding one leaves the other free, whatever the spelling.
        assert!(store
            .outbound_hold("ALICE@corp.example.jp", BASE + 3, "messages")
            .await
            .unwrap());
        let bob = store
            .outbound_add(&tally("bob@corp.example.jp", BASE + 4, 1, 1), WINDOW)
            .await
            .unwrap();
        assert!(!bob.held);
        let alice = store
            .outbound_add(&tally("alice@corp.example.jp ", BASE + 4, 1, 1), WINDOW)
            .await
            .unwrap();
        assert!(alice.held);

        // No account, no row.
        assert!(store
            .outbound_add(&tally("  ", BASE, 1, 1), WINDOW)
            .await
            .is_err());
        assert!(store.outbound_hold("", BASE, "messages").await.is_err());
        assert_eq!(listed(&*store, BASE + 4).await.len(), 2);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hold_is_true_once_and_release_restarts_counting() {
    each_backend(|store, _| async move {
        let alice = "alice@corp.example.jp";
        store
            .outbound_add(&tally(alice, BASE + 10, 30, 30), WINDOW)
            .await
            .unwrap();
        // Counts after the release time (a node whose clock runs ahead) are not the release's to forget.
        store
            .outbound_add(&tally(alice, BASE + 130, 4, 4), WINDOW)
            .await
            .unwrap();
        assert!(!store
            .outbound_release(alice, BASE + 20, "admin")
            .await
            .unwrap());
        assert!(store
            .outbound_hold(alice, BASE + 20, "messages 30 > 20")
            .await
            .unwrap());
        assert!(!store
            .outbound_hold(alice, BASE + 21, "risky")
            .await
            .unwrap());
        assert!(!store
            .outbound_hold(" ALICE@corp.example.jp", BASE + 22, "x")
            .await
            .unwrap());
        let state = &store.outbound_accounts(BASE + 20, WINDOW).await.unwrap()[0];
        assert_eq!(
            (state.held, state.held_at, state.reason.as_str()),
            (true, Some(BASE + 20), "messages 30 > 20")
        );
        assert_eq!(
            (state.released_at, state.released_by.as_deref()),
            (None, None)
        );
        assert_eq!((state.counting_since, state.totals.messages), (0, 30));

        assert!(store
            .outbound_release(alice, BASE + 30, "admin")
            .await
            .unwrap());
        assert!(!store
            .outbound_release(alice, BASE + 31, "admin")
            .await
            .unwrap());
        assert!(!store
            .outbound_release("nobody@corp.example.jp", BASE + 31, "admin")
            .await
            .unwrap());
        // The release's minute: what came before it is gone, what comes after it counts.
        let seen = store
            .outbound_add(&tally(alice, BASE + 40, 1, 1), WINDOW)
            .await
            .unwrap();
        assert_eq!((seen.totals.messages, seen.held), (1, false));
        let state = &store.outbound_accounts(BASE + 200, WINDOW).await.unwrap()[0];
        assert_eq!(
            (state.held, state.held_at, state.reason.as_str()),
            (false, Some(BASE + 20), "messages 30 > 20")
        );
        assert_eq!(
            (
                state.released_at,
                state.released_by.as_deref(),
                state.counting_since
            ),
            (Some(BASE + 30), Some("admin"), BASE + 30)
        );
        assert_eq!(state.totals.messages, 5);

        // Held again later, for another reason.
        assert!(store
            .outbound_hold(alice, BASE + 300, "risky")
            .await
            .unwrap());
        let state = &store.outbound_accounts(BASE + 300, WINDOW).await.unwrap()[0];
        assert_eq!(
            (state.held, state.held_at, state.reason.as_str()),
            (true, Some(BASE + 300), "risky")
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_concurrent_holds_from_two_nodes_exactly_one_holds() {
    each_backend(|store, location| async move {
        let nodes: [Arc<dyn Store>; 2] =
            [Arc::from(store), Arc::from(open(&location).await.unwrap())];
        for round in 0..3 {
            let account = format!("user{round}@corp.example.jp");
            let tasks: Vec<_> = (0..16)
                .map(|i| {
                    let node = Arc::clone(&nodes[i % 2]);
                    let account = account.clone();
                    tokio::spawn(async move {
                        node.outbound_hold(&account, BASE + i as i64, "messages")
                            .await
                            .unwrap()
                    })
                })
                .collect();
            let mut held = 0;
            for task in tasks {
                held += usize::from(task.await.unwrap());
            }
            assert_eq!(held, 1, "{account}");
        }
        assert_eq!(listed(&*nodes[1], BASE).await.len(), 3);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_adds_from_two_nodes_count_each_once() {
    each_backend(|store, location| async move {
        let nodes: [Arc<dyn Store>; 2] =
            [Arc::from(store), Arc::from(open(&location).await.unwrap())];
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let node = Arc::clone(&nodes[i % 2]);
                tokio::spawn(async move {
                    let one = tally("burst@corp.example.jp", BASE + 7, 1, 2);
                    node.outbound_add(&one, WINDOW)
                        .await
                        .unwrap()
                        .totals
                        .messages
                })
            })
            .collect();
        let mut seen = Vec::new();
        for task in tasks {
            seen.push(task.await.unwrap());
        }
        // Each add saw the ones before it: every running total from 1 to 20 exactly once.
        seen.sort_unstable();
        assert_eq!(seen, (1..=20).collect::<Vec<u64>>());
        for node in &nodes {
            let state = &node.outbound_accounts(BASE + 7, WINDOW).await.unwrap()[0];
            assert_eq!(state.totals, totals(20, 40, 20, 0));
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_forgets_one_account_or_all() {
    each_backend(|store, _| async move {
        for account in ["alice@x.jp", "carol@x.jp"] {
            store
                .outbound_add(&tally(account, BASE, 3, 3), WINDOW)
                .await
                .unwrap();
        }
        // Held, with no counts.
        assert!(store
            .outbound_hold("bob@x.jp", BASE, "risky")
            .await
            .unwrap());
        // Both counts and a hold: one account.
        assert!(store
            .outbound_hold("carol@x.jp", BASE, "messages")
            .await
            .unwrap());
        assert_eq!(store.outbound_reset(Some(" Alice@X.jp")).await.unwrap(), 1);
        assert_eq!(store.outbound_reset(Some("nobody@x.jp")).await.unwrap(), 0);
        assert_eq!(
            listed(&*store, BASE).await,
            vec![
                ("bob@x.jp".to_string(), true, 0),
                ("carol@x.jp".to_string(), true, 3)
            ]
        );
        let seen = store
            .outbound_add(&tally("alice@x.jp", BASE + 1, 1, 1), WINDOW)
            .await
            .unwrap();
        assert_eq!(seen.totals.messages, 1);

        assert_eq!(store.outbound_reset(None).await.unwrap(), 3);
        assert!(listed(&*store, BASE + 1).await.is_empty());
        assert_eq!(store.outbound_reset(None).await.unwrap(), 0);
        // A hold after a reset is a new hold.
        assert!(store
            .outbound_hold("bob@x.jp", BASE + 2, "risky")
            .await
            .unwrap());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_list_held_first_then_bytewise() {
    each_backend(|store, _| async move {
        for account in ["zed@x.jp", "ab@x.jp", "a.c@x.jp", "bob@x.jp"] {
            store
                .outbound_add(&tally(account, BASE, 1, 1), WINDOW)
                .await
                .unwrap();
        }
        // Held, no counts in the window; and released with counts outside the window: not listed.
        assert!(store
            .outbound_hold("yan@x.jp", BASE, "risky")
            .await
            .unwrap());
        assert!(store
            .outbound_hold("zed@x.jp", BASE, "messages")
            .await
            .unwrap());
        assert!(store
            .outbound_hold("old@x.jp", BASE - 2 * WINDOW, "risky")
            .await
            .unwrap());
        assert!(store
            .outbound_release("old@x.jp", BASE - 2 * WINDOW, "admin")
            .await
            .unwrap());
        store
            .outbound_add(&tally("old@x.jp", BASE - WINDOW, 9, 9), WINDOW)
            .await
            .unwrap();
        let order: Vec<String> = listed(&*store, BASE + 30)
            .await
            .into_iter()
            .map(|(account, ..)| account)
            .collect();
        assert_eq!(
            order,
            ["yan@x.jp", "zed@x.jp", "a.c@x.jp", "ab@x.jp", "bob@x.jp"]
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_drops_old_buckets_and_old_sent_messages() {
    each_backend(|store, _| async move {
        for minute in 0..3 {
            store
                .outbound_add(&tally("alice@x.jp", BASE + 60 * minute, 1, 1), WINDOW)
                .await
                .unwrap();
        }
        store
            .sent_record(&sent("a@x.jp", "alice@x.jp", 100, &[]))
            .await
            .unwrap();
        store
            .sent_record(&sent("b@x.jp", "alice@x.jp", 200, &[]))
            .await
            .unwrap();
        assert_eq!(store.outbound_prune(BASE + 60, 150).await.unwrap(), 2);
        assert_eq!(listed(&*store, BASE + 120).await[0].2, 2);
        assert_eq!(store.sent_since().await.unwrap(), Some(200));
        assert_eq!(store.outbound_prune(BASE + 60, 150).await.unwrap(), 0);
        // Holds are not counts: pruning every bucket leaves a held account listed.
        assert!(store
            .outbound_hold("alice@x.jp", BASE, "risky")
            .await
            .unwrap());
        assert_eq!(store.outbound_prune(BASE + 1_000, 1_000).await.unwrap(), 3);
        assert_eq!(
            listed(&*store, BASE + 120).await,
            vec![("alice@x.jp".to_string(), true, 0)]
        );
        assert_eq!(store.sent_since().await.unwrap(), None);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sent_messages_are_remembered_once_and_found_with_or_without_brackets() {
    each_backend(|store, _| async move {
        assert_eq!(store.sent_since().await.unwrap(), None);
        let many: Vec<String> = (0..60).map(|i| format!("d{i}.example.jp")).collect();
        let first = SentMessage {
            recipient_domains: many.clone(),
            ..sent(
                "<Abc.123@corp.example.jp>",
                " Alice@Corp.Example.JP ",
                500,
                &[],
            )
        };
        store.sent_record(&first).await.unwrap();
        // The same id again (as another node may record it) leaves the first record.
        store
            .sent_record(&sent(
                "Abc.123@corp.example.jp",
                "mallory@x.jp",
                900,
                &["x.jp"],
            ))
            .await
            .unwrap();
        store
            .sent_record(&sent(
                "  <later@corp.example.jp> ",
                "bob@corp.example.jp",
                700,
                &["y.jp"],
            ))
            .await
            .unwrap();
        let expected = SentMessage {
            message_id: "Abc.123@corp.example.jp".into(),
            account: "alice@corp.example.jp".into(),
            sent_at: 500,
            recipient_domains: many[..50].to_vec(),
        };
        for asked in ["Abc.123@corp.example.jp", "<Abc.123@corp.example.jp>"] {
            let found = store.sent_lookup(&[asked.to_string()]).await.unwrap();
            assert_eq!(found, vec![expected.clone()], "{asked}");
        }
        // Several at once, oldest first; unknown ids, a different case and empty ids find nothing.
        let asked: Vec<String> = [
            "<later@corp.example.jp>",
            "unknown@corp.example.jp",
            "abc.123@corp.example.jp",
            "Abc.123@corp.example.jp",
            "<>",
            "",
        ]
        .map(String::from)
        .to_vec();
        let found = store.sent_lookup(&asked).await.unwrap();
        let ids: Vec<&str> = found.iter().map(|s| s.message_id.as_str()).collect();
        assert_eq!(ids, ["Abc.123@corp.example.jp", "later@corp.example.jp"]);
        assert_eq!(found[1].recipient_domains, ["y.jp"]);
        assert!(store
            .sent_lookup(&["nobody@x.jp".to_string()])
            .await
            .unwrap()
            .is_empty());
        assert!(store.sent_lookup(&[]).await.unwrap().is_empty());
        // Only the first 100 ids given are looked up.
        let mut padded: Vec<String> = (0..100).map(|i| format!("pad{i}@x.jp")).collect();
        padded.push("later@corp.example.jp".into());
        assert!(store.sent_lookup(&padded).await.unwrap().is_empty());
        padded.rotate_right(1);
        assert_eq!(store.sent_lookup(&padded).await.unwrap().len(), 1);

        // An id that is empty or far too long is refused, and found nowhere.
        for bad in ["<>".to_string(), " ".to_string(), "x".repeat(999)] {
            assert!(
                store
                    .sent_record(&sent(&bad, "a@x.jp", 1, &[]))
                    .await
                    .is_err(),
                "{}",
                bad.len()
            );
        }
        assert_eq!(store.sent_since().await.unwrap(), Some(500));
    })
    .await;
}
