//! Console users and sessions, and the dashboard's hourly counters, against both backends (a real SQLite file, a
//! real PostgreSQL schema through `each_backend`): users created, found, listed and changed; duplicates and
//! malformed users and sessions refused without a trace; a user's sessions ended by a password change and by
//! the user's deletion; sessions touched, deleted and purged; counters added across hour boundaries, read,
//! ranked and pruned; concurrent adds from two store handles adding up exactly.

use std::sync::Arc;

use fumidai_store::testing::each_backend;
use fumidai_store::traffic::{HOUR, MAX_FINDINGS_COUNTED};
use fumidai_store::{
    open, ConsoleSession, ConsoleUser, FindingCount, Role, Store, StoreError, Traffic, TrafficCount,
};
use sha2::{Digest, Sha256};
use sqlx::Connection;

const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";

fn user(name: &str, role: Role, created_at: i64) -> ConsoleUser {
    ConsoleUser {
        name: name.to_string(),
        password_hash: HASH.to_string(),
        role,
        created_at,
        password_changed_at: created_at,
        last_login_at: None,
    }
}

/// The hex SHA-256 of `secret`, as the console stores a cookie's.
fn hash_of(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn session(secret: &str, user_name: &str, last_seen_at: i64, expires_at: i64) -> ConsoleSession {
    ConsoleSession {
        id_hash: hash_of(secret),
        user_name: user_name.to_string(),
        csrf: format!("csrf-{secret}"),
        created_at: last_seen_at,
        last_seen_at,
        expires_at,
        peer: "192.0.2.7".to_string(),
    }
}

fn message(at: i64, verdict: &str, action: &str, findings: &[&str]) -> Traffic {
    Traffic {
        at,
        direction: "inbound".to_string(),
        verdict: verdict.to_string(),
        action: action.to_string(),
        findings: findings.iter().map(|f| f.to_string()).collect(),
    }
}

fn count(hour: i64, verdict: &str, action: &str, messages: i64) -> TrafficCount {
    TrafficCount {
        hour,
        direction: "inbound".to_string(),
        verdict: verdict.to_string(),
        action: action.to_string(),
        messages,
    }
}

fn finding(name: &str, messages: i64) -> FindingCount {
    FindingCount {
        finding: name.to_string(),
        messages,
    }
}

fn is_invalid<T: std::fmt::Debug>(outcome: &Result<T, StoreError>) -> bool {
    matches!(outcome, Err(StoreError::Database(m)) if m.contains("invalid"))
}

async fn user_names(store: &dyn Store) -> Vec<String> {
    store
        .users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.name)
        .collect()
}

/// Runs `statement` on the database at `location` behind the store's back.
async fn raw(location: &str, statement: &'static str) {
    if location.starts_with("postgres") {
        let mut conn = sqlx::PgConnection::connect(location).await.unwrap();
        sqlx::raw_sql(statement).execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
    } else {
        let mut conn = sqlx::SqliteConnection::connect(location).await.unwrap();
        sqlx::raw_sql(statement).execute(&mut conn).await.unwrap();
        conn.close().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_are_created_found_listed_and_changed() {
    each_backend(|store, _| async move {
        let taro = user("taro", Role::Operator, 1_000);
        store.user_create(&taro).await.unwrap();
        assert_eq!(store.user_get("taro").await.unwrap(), Some(taro.clone()));
        // Exact match only.
        assert_eq!(store.user_get("Taro").await.unwrap(), None);
        assert_eq!(store.user_get("tar").await.unwrap(), None);

        // By name, bytewise: '-' < '.' < '0' < '@' < '_' < 'a' (a linguistic collation would differ).
        for name in ["a_b", "a@b", "a0", "a.b", "a-b", "ab"] {
            store
                .user_create(&user(name, Role::Viewer, 2_000))
                .await
                .unwrap();
        }
        assert_eq!(
            user_names(&*store).await,
            ["a-b", "a.b", "a0", "a@b", "a_b", "ab", "taro"]
        );

        assert!(store.user_set_role("taro", Role::Admin).await.unwrap());
        assert!(!store.user_set_role("nobody", Role::Admin).await.unwrap());
        store.user_logged_in("taro", 1_500).await.unwrap();
        store.user_logged_in("taro", 1_600).await.unwrap();
        // An unknown user is no error and changes nothing.
        store.user_logged_in("nobody", 1_700).await.unwrap();
        let changed = store.user_get("taro").await.unwrap().unwrap();
        assert_eq!(
            changed,
            ConsoleUser {
                role: Role::Admin,
                last_login_at: Some(1_600),
                ..taro.clone()
            }
        );
        assert_eq!(store.users().await.unwrap().last(), Some(&changed));

        assert!(store
            .user_set_password("taro", "$argon2id$new", 3_000)
            .await
            .unwrap());
        assert!(!store
            .user_set_password("nobody", "$argon2id$new", 3_000)
            .await
            .unwrap());
        let changed = store.user_get("taro").await.unwrap().unwrap();
        assert_eq!(
            (changed.password_hash.as_str(), changed.password_changed_at),
            ("$argon2id$new", 3_000)
        );
        assert_eq!((changed.created_at, changed.role), (1_000, Role::Admin));

        assert!(store.user_delete("a0").await.unwrap());
        assert!(!store.user_delete("a0").await.unwrap());
        assert_eq!(store.user_get("a0").await.unwrap(), None);
        assert_eq!(user_names(&*store).await.len(), 6);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_and_malformed_users_are_refused_and_change_nothing() {
    each_backend(|store, _| async move {
        let first = user("taro", Role::Viewer, 1_000);
        store.user_create(&first).await.unwrap();
        let again = ConsoleUser {
            password_hash: "$argon2id$other".into(),
            ..user("taro", Role::Admin, 2_000)
        };
        let outcome = store.user_create(&again).await;
        assert!(
            matches!(&outcome, Err(StoreError::Duplicate(name)) if name == "taro"),
            "{outcome:?}"
        );
        assert_eq!(store.users().await.unwrap(), vec![first.clone()]);

        let names = [
            String::new(),
            "x".repeat(65),
            "Taro".into(),
            "ta ro".into(),
            "ta/ro".into(),
            "太郎".into(),
            "taro\n".into(),
        ];
        for name in names {
            let outcome = store.user_create(&user(&name, Role::Viewer, 1_000)).await;
            assert!(is_invalid(&outcome), "{name:?}: {outcome:?}");
        }
        let hashes = [
            "",
            "secret",
            "$2b$12$bcrypthash",
            "argon2id$v=19$x",
            " $argon2id$x",
        ];
        for hash in hashes {
            let bad = ConsoleUser {
                password_hash: hash.into(),
                ..user("hanako", Role::Viewer, 1_000)
            };
            let outcome = store.user_create(&bad).await;
            assert!(is_invalid(&outcome), "{hash:?}: {outcome:?}");
            // Not shown: it is a password hash.
            assert!(hash.is_empty() || !format!("{outcome:?}").contains(hash));
            let outcome = store.user_set_password("taro", hash, 5_000).await;
            assert!(is_invalid(&outcome), "{hash:?}: {outcome:?}");
        }
        assert_eq!(store.users().await.unwrap(), vec![first]);

        // The limits themselves are accepted.
        let widest = format!("{}._@-09", "z".repeat(58));
        store
            .user_create(&user(&widest, Role::Viewer, 1_000))
            .await
            .unwrap();
        store
            .user_create(&ConsoleUser {
                password_hash: "$argon2i$v=19$x".into(),
                ..user("a", Role::Viewer, 1_000)
            })
            .await
            .unwrap();
        assert_eq!(user_names(&*store).await, ["a", "taro", widest.as_str()]);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_stored_role_is_an_error_not_a_panic() {
    each_backend(|store, location| async move {
        store
            .user_create(&user("root", Role::Admin, 1_000))
            .await
            .unwrap();
        raw(&location, "UPDATE console_user SET role = 'superuser'").await;
        for outcome in [
            store.user_get("root").await.map(|_| ()),
            store.users().await.map(|_| ()),
        ] {
            assert!(
                matches!(&outcome, Err(StoreError::Database(m)) if m.contains("superuser")),
                "{outcome:?}"
            );
        }
        // The row can still be put right.
        assert!(store.user_set_role("root", Role::Viewer).await.unwrap());
        assert_eq!(
            store.user_get("root").await.unwrap().map(|u| u.role),
            Some(Role::Viewer)
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_created_found_touched_and_deleted() {
    each_backend(|store, _| async move {
        store
            .user_create(&user("taro", Role::Operator, 1_000))
            .await
            .unwrap();
        let one = session("one", "taro", 2_000, 10_000);
        store.session_create(&one).await.unwrap();
        assert_eq!(
            store.session_get(&hash_of("one")).await.unwrap(),
            Some(one.clone())
        );
        assert_eq!(store.session_get(&hash_of("two")).await.unwrap(), None);
        assert_eq!(
            store
                .session_get(&hash_of("one").to_uppercase())
                .await
                .unwrap(),
            None
        );

        store.session_touch(&one.id_hash, 2_100).await.unwrap();
        store.session_touch(&one.id_hash, 2_200).await.unwrap();
        // An unknown session is no error.
        store.session_touch(&hash_of("two"), 2_300).await.unwrap();
        assert_eq!(
            store.session_get(&one.id_hash).await.unwrap(),
            Some(ConsoleSession {
                last_seen_at: 2_200,
                ..one.clone()
            })
        );

        // The same hash again, even for another user, is a duplicate and changes nothing.
        store
            .user_create(&user("hanako", Role::Viewer, 1_000))
            .await
            .unwrap();
        let again = session("one", "hanako", 3_000, 20_000);
        let outcome = store.session_create(&again).await;
        assert!(
            matches!(&outcome, Err(StoreError::Duplicate(what)) if what == "session"),
            "{outcome:?}"
        );
        assert_eq!(
            store
                .session_get(&one.id_hash)
                .await
                .unwrap()
                .map(|s| s.user_name),
            Some("taro".to_string())
        );

        assert!(store.session_delete(&one.id_hash).await.unwrap());
        assert!(!store.session_delete(&one.id_hash).await.unwrap());
        assert_eq!(store.session_get(&one.id_hash).await.unwrap(), None);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_sessions_and_sessions_of_missing_users_are_refused() {
    each_backend(|store, _| async move {
        store
            .user_create(&user("taro", Role::Operator, 1_000))
            .await
            .unwrap();
        let good = session("good", "taro", 2_000, 10_000);
        let bad = [
            ConsoleSession {
                id_hash: good.id_hash.to_uppercase(),
                ..good.clone()
            },
            ConsoleSession {
                id_hash: good.id_hash[..63].to_string(),
                ..good.clone()
            },
            ConsoleSession {
                id_hash: format!("{}g", &good.id_hash[..63]),
                ..good.clone()
            },
            ConsoleSession {
                csrf: String::new(),
                ..good.clone()
            },
            ConsoleSession {
                csrf: "c".repeat(129),
                ..good.clone()
            },
            ConsoleSession {
                user_name: "Taro".into(),
                ..good.clone()
            },
        ];
        for session in &bad {
            let outcome = store.session_create(session).await;
            assert!(is_invalid(&outcome), "{session:?}: {outcome:?}");
        }

        // A well-formed session of a user that does not exist: the foreign key refuses it.
        let orphan = session("orphan", "nobody", 2_000, 10_000);
        let outcome = store.session_create(&orphan).await;
        assert!(
            matches!(&outcome, Err(StoreError::Database(m)) if m.contains("nobody")),
            "{outcome:?}"
        );
        assert_eq!(store.session_get(&orphan.id_hash).await.unwrap(), None);
        for session in &bad {
            assert_eq!(store.session_get(&session.id_hash).await.unwrap(), None);
        }

        // The limit itself is accepted.
        let widest = ConsoleSession {
            csrf: "c".repeat(128),
            ..good.clone()
        };
        store.session_create(&widest).await.unwrap();
        assert_eq!(
            store.session_get(&good.id_hash).await.unwrap(),
            Some(widest)
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_password_or_a_deleted_user_ends_that_users_sessions() {
    each_backend(|store, _| async move {
        for name in ["taro", "hanako"] {
            store
                .user_create(&user(name, Role::Operator, 1_000))
                .await
                .unwrap();
        }
        for (secret, name) in [("t1", "taro"), ("t2", "taro"), ("h1", "hanako")] {
            store
                .session_create(&session(secret, name, 2_000, 10_000))
                .await
                .unwrap();
        }
        let alive = |secrets: &'static [&'static str]| {
            let store = &store;
            async move {
                let mut found = Vec::new();
                for secret in secrets {
                    found.push(store.session_get(&hash_of(secret)).await.unwrap().is_some());
                }
                found
            }
        };

        // A refused hash changes nothing, sessions included.
        assert!(store
            .user_set_password("taro", "plain", 3_000)
            .await
            .is_err());
        assert_eq!(alive(&["t1", "t2", "h1"]).await, [true, true, true]);

        assert!(store
            .user_set_password("taro", "$argon2id$new", 3_000)
            .await
            .unwrap());
        assert_eq!(alive(&["t1", "t2", "h1"]).await, [false, false, true]);
        // Signing in again works as before.
        store
            .session_create(&session("t3", "taro", 3_100, 10_000))
            .await
            .unwrap();
        // A role change leaves sessions alone.
        assert!(store.user_set_role("taro", Role::Viewer).await.unwrap());
        assert_eq!(alive(&["t3"]).await, [true]);

        // Deleting the user ends its sessions (the cascade); the same name created again does not get them back.
        store
            .session_create(&session("h2", "hanako", 3_200, 10_000))
            .await
            .unwrap();
        assert!(store.user_delete("hanako").await.unwrap());
        assert_eq!(alive(&["h1", "h2", "t3"]).await, [false, false, true]);
        store
            .user_create(&user("hanako", Role::Admin, 4_000))
            .await
            .unwrap();
        assert_eq!(alive(&["h1", "h2"]).await, [false, false]);
        // Nothing of hanako's is left for the purge either: only taro's session is there.
        assert_eq!(store.sessions_purge(i64::MAX, i64::MAX).await.unwrap(), 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_and_expired_sessions_are_purged() {
    each_backend(|store, _| async move {
        store
            .user_create(&user("taro", Role::Operator, 1_000))
            .await
            .unwrap();
        // (secret, last_seen_at, expires_at); purged with idle_before 1_000 and now 5_000.
        let sessions = [
            ("idle", 999, 9_000),
            ("seen-at-the-limit", 1_000, 9_000),
            ("expires-now", 4_000, 5_000),
            ("expires-later", 4_000, 5_001),
            ("idle-and-expired", 10, 20),
        ];
        for (secret, last_seen_at, expires_at) in sessions {
            store
                .session_create(&session(secret, "taro", last_seen_at, expires_at))
                .await
                .unwrap();
        }
        assert_eq!(store.sessions_purge(1_000, 5_000).await.unwrap(), 3);
        assert_eq!(store.sessions_purge(1_000, 5_000).await.unwrap(), 0);
        let mut left = Vec::new();
        for (secret, _, _) in sessions {
            if store.session_get(&hash_of(secret)).await.unwrap().is_some() {
                left.push(secret);
            }
        }
        assert_eq!(left, ["seen-at-the-limit", "expires-later"]);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn traffic_is_counted_by_hour_read_ranked_and_pruned() {
    each_backend(|store, _| async move {
        // Nothing to count is no error.
        store.traffic_add(&[]).await.unwrap();
        let h = 100 * HOUR;
        store
            .traffic_add(&[
                // The last second of the hour before, and the hour's first and last seconds.
                message(h - 1, "clean", "deliver", &["spf_fail"]),
                message(h, "clean", "deliver", &[]),
                message(h + HOUR - 1, "clean", "deliver", &["spf_fail"]),
                // A finding repeated in one report counts once.
                message(
                    h + 10,
                    "malicious",
                    "quarantine",
                    &["macro", "macro", "spf_fail"],
                ),
                message(h + HOUR, "suspicious", "tag", &["new_sender"]),
            ])
            .await
            .unwrap();
        store
            .traffic_add(&[message(h + 20, "malicious", "quarantine", &["macro"])])
            .await
            .unwrap();
        // Before 1970: still the hour it falls in.
        store
            .traffic_add(&[message(-1, "clean", "deliver", &["old"])])
            .await
            .unwrap();

        assert_eq!(
            store.traffic(h - HOUR, h + 2 * HOUR).await.unwrap(),
            [
                count(h - HOUR, "clean", "deliver", 1),
                count(h, "clean", "deliver", 2),
                count(h, "malicious", "quarantine", 2),
                count(h + HOUR, "suspicious", "tag", 1),
            ]
        );
        // `since` inclusive, `until` exclusive, both compared with the hour's start.
        assert_eq!(
            store.traffic(h, h + HOUR).await.unwrap(),
            [
                count(h, "clean", "deliver", 2),
                count(h, "malicious", "quarantine", 2),
            ]
        );
        assert!(store.traffic(h + 1, h + HOUR).await.unwrap().is_empty());
        assert_eq!(
            store.traffic(-HOUR, 0).await.unwrap(),
            [count(-HOUR, "clean", "deliver", 1)]
        );

        assert_eq!(
            store.top_findings(h, h + HOUR, 0).await.unwrap(),
            [finding("macro", 2), finding("spf_fail", 2)]
        );
        assert_eq!(
            store.top_findings(h - HOUR, h + 2 * HOUR, 0).await.unwrap(),
            [
                finding("spf_fail", 3),
                finding("macro", 2),
                finding("new_sender", 1)
            ]
        );
        assert_eq!(
            store.top_findings(h - HOUR, h + 2 * HOUR, 2).await.unwrap(),
            [finding("spf_fail", 3), finding("macro", 2)]
        );

        // Pruning takes both tables' rows of the hours before, and only those.
        assert_eq!(store.traffic_prune(h).await.unwrap(), 4);
        assert_eq!(store.traffic_prune(h).await.unwrap(), 0);
        assert_eq!(store.traffic(i64::MIN, i64::MAX).await.unwrap().len(), 3);
        assert_eq!(
            store.top_findings(i64::MIN, i64::MAX, 0).await.unwrap(),
            [
                finding("macro", 2),
                finding("spf_fail", 2),
                finding("new_sender", 1)
            ]
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_first_findings_count_and_the_ranking_is_limited() {
    each_backend(|store, _| async move {
        // One message: the first MAX_FINDINGS_COUNTED names count (a repeat among them once), the rest not.
        let mut names: Vec<String> = (0..MAX_FINDINGS_COUNTED - 1)
            .map(|i| format!("f{i:02}"))
            .collect();
        names.insert(1, "f00".to_string());
        names.extend(["late".to_string(), "f01".to_string()]);
        store
            .traffic_add(&[Traffic {
                findings: names,
                ..message(0, "clean", "deliver", &[])
            }])
            .await
            .unwrap();
        let ranked = store.top_findings(0, HOUR, 1_000).await.unwrap();
        assert_eq!(ranked.len(), MAX_FINDINGS_COUNTED - 1);
        assert!(ranked
            .iter()
            .all(|f| f.messages == 1 && f.finding != "late"));
        // Ties by name, bytewise.
        assert_eq!(ranked[0], finding("f00", 1));
        assert_eq!(ranked[1], finding("f01", 1));

        // 0 asks for the default (10); more than 1,000 is cut to 1,000.
        let many: Vec<Traffic> = (0..40)
            .map(|m| Traffic {
                findings: (0..MAX_FINDINGS_COUNTED)
                    .map(|i| format!("n{:04}", m * MAX_FINDINGS_COUNTED + i))
                    .collect(),
                ..message(HOUR, "clean", "deliver", &[])
            })
            .collect();
        store.traffic_add(&many).await.unwrap();
        assert_eq!(
            store.top_findings(HOUR, 2 * HOUR, 0).await.unwrap().len(),
            10
        );
        assert_eq!(
            store
                .top_findings(HOUR, 2 * HOUR, u32::MAX)
                .await
                .unwrap()
                .len(),
            1_000
        );
        assert_eq!(
            store.traffic(HOUR, 2 * HOUR).await.unwrap(),
            [count(HOUR, "clean", "deliver", 40)]
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_traffic_refuses_the_whole_slice() {
    each_backend(|store, _| async move {
        let good = message(HOUR, "clean", "deliver", &["spf_fail"]);
        let long = "w".repeat(65);
        let bad = [
            Traffic {
                direction: String::new(),
                ..good.clone()
            },
            Traffic {
                verdict: long.clone(),
                ..good.clone()
            },
            Traffic {
                action: String::new(),
                ..good.clone()
            },
            Traffic {
                findings: vec!["ok".into(), long.clone()],
                ..good.clone()
            },
            Traffic {
                findings: vec![String::new()],
                ..good.clone()
            },
        ];
        for traffic in bad {
            let outcome = store.traffic_add(&[good.clone(), traffic.clone()]).await;
            assert!(is_invalid(&outcome), "{traffic:?}: {outcome:?}");
        }
        assert!(store.traffic(i64::MIN, i64::MAX).await.unwrap().is_empty());
        assert!(store
            .top_findings(i64::MIN, i64::MAX, 0)
            .await
            .unwrap()
            .is_empty());

        // The limit itself is accepted, in characters.
        let widest = Traffic {
            verdict: "判".repeat(64),
            findings: vec!["定".repeat(64)],
            ..good.clone()
        };
        store.traffic_add(&[widest]).await.unwrap();
        assert_eq!(store.traffic(HOUR, 2 * HOUR).await.unwrap().len(), 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_adds_from_two_handles_add_up_exactly() {
    const EACH: usize = 20;
    each_backend(|store, location| async move {
        let handles: [Arc<dyn Store>; 2] =
            [Arc::from(store), Arc::from(open(&location).await.unwrap())];
        let mut tasks = Vec::new();
        for (n, handle) in handles.iter().enumerate() {
            for i in 0..EACH {
                let handle = Arc::clone(handle);
                // Two hours and two findings per call, given in opposite orders by the two handles.
                let mut findings = vec!["alpha", "beta"];
                let mut hours = [HOUR, 2 * HOUR + 1];
                if n == 1 {
                    findings.reverse();
                    hours.reverse();
                }
                tasks.push(tokio::spawn(async move {
                    let slice: Vec<Traffic> = hours
                        .iter()
                        .map(|&at| message(at + i as i64, "clean", "deliver", &findings))
                        .collect();
                    handle.traffic_add(&slice).await.unwrap();
                }));
            }
        }
        for task in tasks {
            task.await.unwrap();
        }
        let calls = (2 * EACH) as i64;
        for handle in &handles {
            assert_eq!(
                handle.traffic(0, 3 * HOUR).await.unwrap(),
                [
                    count(HOUR, "clean", "deliver", calls),
                    count(2 * HOUR, "clean", "deliver", calls),
                ]
            );
            assert_eq!(
                handle.top_findings(0, 3 * HOUR, 0).await.unwrap(),
                [finding("alpha", 2 * calls), finding("beta", 2 * calls)]
            );
        }
    })
    .await;
}
