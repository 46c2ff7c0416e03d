//! API tokens and the audit log against both backends (a real SQLite file, a real PostgreSQL schema through
//! `each_backend`): tokens created, found by hash, used, listed and revoked; duplicates and malformed tokens
//! refused without a trace; audit entries recorded at once from two store handles; the log's filters, order and
//! limits.

use std::sync::Arc;

use fumidai_store::access::{DEFAULT_AUDIT_LIMIT, MAX_AUDIT_LIMIT};
use fumidai_store::testing::each_backend;
use fumidai_store::{open, ApiToken, AuditEntry, AuditFilter, Store, StoreError};
use sha2::{Digest, Sha256};

/// The hex SHA-256 of `secret`, as the API stores it.
fn hash_of(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn token(id: &str, secret: &str, created_at: i64, scopes: &[&str]) -> ApiToken {
    ApiToken {
        id: id.to_string(),
        name: format!("token {id}"),
        token_hash: hash_of(secret),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        created_at,
        last_used_at: None,
        revoked_at: None,
    }
}

fn entry(at: i64, actor: &str, action: &str, target: &str) -> AuditEntry {
    AuditEntry {
        id: 0,
        at,
        actor: actor.to_string(),
        action: action.to_string(),
        target: target.to_string(),
        detail: format!("{action} {target}"),
    }
}

/// The ids of the tokens listed, in order.
async fn token_ids(store: &dyn Store) -> Vec<String> {
    store
        .tokens()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect()
}

/// The (at, target) of the entries `filter` selects, in order.
async fn logged(store: &dyn Store, filter: &AuditFilter) -> Vec<(i64, String)> {
    store
        .audit_log(filter)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.at, e.target))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_created_found_used_listed_and_revoked() {
    each_backend(|store, _| async move {
        let ops = token("ops-1", "secret one", 1_000, &["scan", "quarantine:read"]);
        store.token_create(&ops).await.unwrap();
        assert_eq!(
            store.token_by_hash(&hash_of("secret one")).await.unwrap(),
            Some(ops.clone())
        );
        // Exact match only: another secret's hash, or this one's in upper case, finds nothing.
        assert_eq!(
            store.token_by_hash(&hash_of("secret two")).await.unwrap(),
            None
        );
        assert_eq!(
            store
                .token_by_hash(&hash_of("secret one").to_uppercase())
                .await
                .unwrap(),
            None
        );

        store.token_used("ops-1", 1_500).await.unwrap();
        store.token_used("ops-1", 1_600).await.unwrap();
        // An unknown id is no error and changes nothing.
        store.token_used("nobody", 1_700).await.unwrap();
        let used = store.token_by_hash(&ops.token_hash).await.unwrap().unwrap();
        assert_eq!(used.last_used_at, Some(1_600));
        assert_eq!(used.revoked_at, None);

        // Newest first; the same second by id.
        store
            .token_create(&token("b_same", "secret b", 2_000, &[]))
            .await
            .unwrap();
        store
            .token_create(&token("A_same", "secret a", 2_000, &["audit:read"]))
            .await
            .unwrap();
        store
            .token_create(&token("old", "secret old", 500, &["scan"]))
            .await
            .unwrap();
        assert_eq!(
            token_ids(&*store).await,
            ["A_same", "b_same", "ops-1", "old"]
        );
        let listed = store.tokens().await.unwrap();
        assert_eq!(listed[1].scopes, Vec::<String>::new());
        assert_eq!(listed[2], used);

        assert!(store.token_revoke("ops-1", 3_000).await.unwrap());
        // A second revocation and an unknown id change nothing.
        assert!(!store.token_revoke("ops-1", 4_000).await.unwrap());
        assert!(!store.token_revoke("nobody", 4_000).await.unwrap());
        let revoked = store.token_by_hash(&ops.token_hash).await.unwrap().unwrap();
        assert_eq!(revoked.revoked_at, Some(3_000));
        assert_eq!(revoked.last_used_at, Some(1_600));
        // Revoked tokens stay listed and found: the caller refuses them.
        assert_eq!(token_ids(&*store).await.len(), 4);
        assert_eq!(
            store
                .token_by_hash(&hash_of("secret a"))
                .await
                .unwrap()
                .map(|t| t.revoked_at),
            Some(None)
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_ids_and_hashes_are_refused_and_change_nothing() {
    each_backend(|store, _| async move {
        let first = token("first", "secret one", 1_000, &["scan"]);
        store.token_create(&first).await.unwrap();
        let same_id = ApiToken {
            name: "another".into(),
            scopes: vec!["quarantine:release".into()],
            ..token("first", "secret two", 2_000, &[])
        };
        let same_hash = token("second", "secret one", 3_000, &["quarantine:release"]);
        for refused in [&same_id, &same_hash] {
            let outcome = store.token_create(refused).await;
            assert!(
                matches!(&outcome, Err(StoreError::Duplicate(id)) if *id == refused.id),
                "{outcome:?}"
            );
        }
        assert_eq!(store.tokens().await.unwrap(), vec![first.clone()]);
        assert_eq!(
            store.token_by_hash(&hash_of("secret two")).await.unwrap(),
            None
        );
        assert_eq!(
            store.token_by_hash(&first.token_hash).await.unwrap(),
            Some(first)
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_tokens_are_refused() {
    each_backend(|store, _| async move {
        let good = token("good", "secret", 1_000, &["scan", "quarantine:read", "a_b"]);
        let long_id = "x".repeat(33);
        let long_name = "名".repeat(201);
        let long_scope = "s".repeat(41);
        let bad = [
            ApiToken {
                id: String::new(),
                ..good.clone()
            },
            ApiToken {
                id: long_id,
                ..good.clone()
            },
            ApiToken {
                id: "with space".into(),
                ..good.clone()
            },
            ApiToken {
                id: "dot.ted".into(),
                ..good.clone()
            },
            ApiToken {
                id: "ｔｏｋｅｎ".into(),
                ..good.clone()
            },
            ApiToken {
                name: String::new(),
                ..good.clone()
            },
            ApiToken {
                name: "   ".into(),
                ..good.clone()
            },
            ApiToken {
                name: long_name,
                ..good.clone()
            },
            ApiToken {
                token_hash: good.token_hash.to_uppercase(),
                ..good.clone()
            },
            ApiToken {
                token_hash: "abc".into(),
                ..good.clone()
            },
            ApiToken {
                scopes: vec![String::new()],
                ..good.clone()
            },
            ApiToken {
                scopes: vec!["Scan".into()],
                ..good.clone()
            },
            ApiToken {
                scopes: vec!["quarantine read".into()],
                ..good.clone()
            },
            ApiToken {
                scopes: vec!["scan2".into()],
                ..good.clone()
            },
            ApiToken {
                scopes: vec!["scan".into(), long_scope],
                ..good.clone()
            },
        ];
        for token in &bad {
            let outcome = store.token_create(token).await;
            assert!(
                matches!(&outcome, Err(StoreError::Database(m)) if m.contains("invalid")),
                "{token:?}: {outcome:?}"
            );
        }
        assert!(store.tokens().await.unwrap().is_empty());

        // The limits themselves are accepted.
        let widest = ApiToken {
            id: format!("{}-_9", "A".repeat(29)),
            name: "名".repeat(200),
            scopes: vec!["s".repeat(40)],
            ..good.clone()
        };
        store.token_create(&good).await.unwrap();
        store
            .token_create(&ApiToken {
                token_hash: hash_of("other"),
                ..widest.clone()
            })
            .await
            .unwrap();
        assert_eq!(token_ids(&*store).await.len(), 2);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_entries_from_two_handles_get_distinct_ids() {
    const EACH: i64 = 50;
    each_backend(|store, location| async move {
        let handles: [Arc<dyn Store>; 2] =
            [Arc::from(store), Arc::from(open(&location).await.unwrap())];
        let mut tasks = Vec::new();
        for (n, handle) in handles.iter().enumerate() {
            let handle = Arc::clone(handle);
            tasks.push(tokio::spawn(async move {
                let mut ids = Vec::new();
                for i in 0..EACH {
                    let recorded = entry(1_000 + i, &format!("token:h{n}"), "scan", &i.to_string());
                    ids.push(handle.audit_record(&recorded).await.unwrap());
                }
                ids
            }));
        }
        let mut ids = Vec::new();
        for task in tasks {
            ids.extend(task.await.unwrap());
        }
        let mut distinct = ids.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), ids.len());

        // Every entry comes back, through either handle, with the id it was given.
        for handle in &handles {
            let all = handle
                .audit_log(&AuditFilter {
                    limit: 1_000,
                    ..AuditFilter::default()
                })
                .await
                .unwrap();
            let mut listed: Vec<i64> = all.iter().map(|e| e.id).collect();
            listed.sort_unstable();
            assert_eq!(listed, distinct);
            for n in 0..2 {
                let actor = format!("token:h{n}");
                assert_eq!(all.iter().filter(|e| e.actor == actor).count() as i64, EACH);
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_log_filters_and_orders_newest_first() {
    each_backend(|store, _| async move {
        let recorded = [
            entry(100, "token:ops", "quarantine.release", "Q-1"),
            entry(200, "user:taro", "whitelist.add", "partner.jp"),
            entry(200, "token:ops", "quarantine.delete", "Q-2"),
            entry(300, "token:ops", "quarantine.release", "Q-3"),
            entry(400, "user:taro", "quarantine.release", "Q-4"),
        ];
        let mut ids = Vec::new();
        for e in &recorded {
            ids.push(store.audit_record(e).await.unwrap());
        }
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");

        let all = store.audit_log(&AuditFilter::default()).await.unwrap();
        let expected: Vec<AuditEntry> = [4, 3, 2, 1, 0]
            .into_iter()
            .map(|i| AuditEntry {
                id: ids[i],
                ..recorded[i].clone()
            })
            .collect();
        assert_eq!(all, expected);

        let pairs = |list: &[(i64, &str)]| -> Vec<(i64, String)> {
            list.iter().map(|(at, t)| (*at, t.to_string())).collect()
        };
        // since inclusive, until exclusive; the same second: the later entry first.
        let window = AuditFilter {
            since: Some(200),
            until: Some(400),
            ..AuditFilter::default()
        };
        assert_eq!(
            logged(&*store, &window).await,
            pairs(&[(300, "Q-3"), (200, "Q-2"), (200, "partner.jp")])
        );
        let by_actor = AuditFilter {
            actor: Some("token:ops".into()),
            ..AuditFilter::default()
        };
        assert_eq!(
            logged(&*store, &by_actor).await,
            pairs(&[(300, "Q-3"), (200, "Q-2"), (100, "Q-1")])
        );
        // Exact: neither a prefix nor another case matches.
        for actor in ["token:", "TOKEN:OPS"] {
            let filter = AuditFilter {
                actor: Some(actor.into()),
                ..AuditFilter::default()
            };
            assert!(logged(&*store, &filter).await.is_empty(), "{actor}");
        }
        let releases_by_ops = AuditFilter {
            action: Some("quarantine.release".into()),
            since: Some(101),
            ..by_actor.clone()
        };
        assert_eq!(
            logged(&*store, &releases_by_ops).await,
            pairs(&[(300, "Q-3")])
        );
        let two = AuditFilter {
            limit: 2,
            ..AuditFilter::default()
        };
        assert_eq!(
            logged(&*store, &two).await,
            pairs(&[(400, "Q-4"), (300, "Q-3")])
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_log_limits_to_the_default_and_the_maximum() {
    let entries = i64::from(MAX_AUDIT_LIMIT) + 1;
    each_backend(move |store, _| async move {
        for at in 0..entries {
            store
                .audit_record(&entry(at, "token:bulk", "scan", &at.to_string()))
                .await
                .unwrap();
        }
        let unlimited = store.audit_log(&AuditFilter::default()).await.unwrap();
        assert_eq!(unlimited.len(), DEFAULT_AUDIT_LIMIT as usize);
        assert_eq!(unlimited[0].at, entries - 1);
        let too_many = store
            .audit_log(&AuditFilter {
                limit: u32::MAX,
                ..AuditFilter::default()
            })
            .await
            .unwrap();
        assert_eq!(too_many.len(), MAX_AUDIT_LIMIT as usize);
        // The newest ones: the oldest entry is the one left out.
        assert_eq!(too_many.last().map(|e| e.at), Some(1));
    })
    .await;
}
