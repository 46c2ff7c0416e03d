//! Springboard alerts against both backends (a real SQLite file, a real PostgreSQL schema through
//! `each_backend`): events idempotent by id, grouped into cases per (organisation, kind), bounded evidence,
//! reopening, notifications, the outbox and the organisation directory.

use std::sync::Arc;

use fumidai_store::testing::each_backend;
use fumidai_store::{
    CaseFilter, CaseRules, CaseState, EventKind, IndustryEnterprises, Notification, Organisation,
    Sample, SpringboardEvent, Store,
};

const RULES: CaseRules = CaseRules {
    quiet_period: 1_000,
    max_samples: 3,
    max_source_ips: 2,
};

fn event(id: &str, organisation: &str, kind: EventKind, observed_at: i64) -> SpringboardEvent {
    SpringboardEvent {
        id: id.to_string(),
        site: "node-a".to_string(),
        kind,
        organisation: organisation.to_string(),
        observed_at,
        verdict: "malicious".to_string(),
        score: 12.5,
        sample: Sample {
            subject: Some(format!("請求書 {observed_at}")),
            source_ip: Some("192.0.2.1".to_string()),
            received: vec!["from a by b".to_string()],
            findings: vec!["VBA_AUTOEXEC".to_string()],
            reason: "SPF pass for the From domain".to_string(),
            ..Sample::default()
        },
    }
}

fn springboard(id: &str, observed_at: i64) -> SpringboardEvent {
    event(id, "example.co.jp", EventKind::Springboard, observed_at)
}

fn notice(case_id: i64, sent_at: i64) -> Notification {
    Notification {
        case_id,
        organisation: "example.co.jp".to_string(),
        kind: EventKind::Springboard,
        sent_at,
        recipient: "abuse@example.co.jp".to_string(),
        language: "ja+en".to_string(),
        reference: format!("<notice-{sent_at}@fumidai.example>"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_count_once_and_group_per_organisation_and_kind() {
    each_backend(|store, _| async move {
        let first = store
            .event_record(&springboard("e1", 100), &RULES, false)
            .await
            .unwrap();
        assert!(first.new && first.created && !first.reopened);
        let again = store
            .event_record(&springboard("e1", 100), &RULES, false)
            .await
            .unwrap();
        assert_eq!(
            (again.new, again.case_id, again.created),
            (false, first.case_id, false)
        );
        // A repeated id counts once even when its content differs, and creates no case of its own.
        let other_org = event("e1", "other.example", EventKind::Springboard, 100);
        let repeated = store.event_record(&other_org, &RULES, false).await.unwrap();
        assert_eq!(
            (repeated.new, repeated.case_id, repeated.created),
            (false, first.case_id, false)
        );

        // The organisation is normalised, so a differently written name joins the same case.
        let upper = event("e2", "EXAMPLE.co.jp.", EventKind::Springboard, 200);
        let second = store.event_record(&upper, &RULES, false).await.unwrap();
        assert_eq!(
            (second.new, second.case_id, second.created),
            (true, first.case_id, false)
        );
        let impersonation = event("e3", "example.co.jp", EventKind::Impersonation, 150);
        let third = store
            .event_record(&impersonation, &RULES, false)
            .await
            .unwrap();
        let elsewhere = event("e4", "例え.jp", EventKind::Springboard, 300);
        let fourth = store.event_record(&elsewhere, &RULES, false).await.unwrap();
        assert!(third.case_id != first.case_id && fourth.case_id != first.case_id);
        assert!(third.created && fourth.created);
        assert_ne!(third.case_id, fourth.case_id);

        let case = store.case_get(first.case_id).await.unwrap().unwrap();
        assert_eq!(case.organisation, "example.co.jp");
        assert_eq!(case.kind, EventKind::Springboard);
        assert_eq!(case.state, CaseState::New);
        assert_eq!(
            (case.event_count, case.first_seen, case.last_seen),
            (2, 100, 200)
        );
        assert_eq!(
            (case.opened_at, case.reopened, case.state_changed_at),
            (100, 0, 100)
        );
        assert_eq!(case.last_notified_at, None);
        assert_eq!(case.sites, vec!["node-a"]);

        // Most recent last_seen first; each filter narrows.
        let all = store.cases(&CaseFilter::default()).await.unwrap();
        let order: Vec<i64> = all.iter().map(|c| c.id).collect();
        assert_eq!(order, vec![fourth.case_id, first.case_id, third.case_id]);
        assert_eq!(all[0].organisation, "xn--r8jz45g.jp");
        let of_org = CaseFilter {
            organisation: Some("Example.CO.JP".into()),
            ..CaseFilter::default()
        };
        assert_eq!(store.cases(&of_org).await.unwrap().len(), 2);
        let impersonations = CaseFilter {
            kind: Some(EventKind::Impersonation),
            ..CaseFilter::default()
        };
        let found = store.cases(&impersonations).await.unwrap();
        assert_eq!(
            found.iter().map(|c| c.id).collect::<Vec<_>>(),
            vec![third.case_id]
        );
        let limited = CaseFilter {
            limit: 1,
            ..CaseFilter::default()
        };
        assert_eq!(store.cases(&limited).await.unwrap()[0].id, fourth.case_id);
        let resolved = CaseFilter {
            state: Some(CaseState::Resolved),
            ..CaseFilter::default()
        };
        assert!(store.cases(&resolved).await.unwrap().is_empty());
        assert_eq!(store.case_get(first.case_id + 1_000).await.unwrap(), None);

        // Ids the store cannot key, and organisations that are not domain names, are refused.
        for bad in [
            springboard("", 1),
            springboard(&"a".repeat(65), 1),
            event("e9", "  ", EventKind::Springboard, 1),
        ] {
            assert!(
                store.event_record(&bad, &RULES, false).await.is_err(),
                "{bad:?}"
            );
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_events_each_count_once() {
    each_backend(|store, _| async move {
        let store: Arc<dyn Store> = Arc::from(store);
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    let e = springboard(&format!("distinct-{i}"), 1_000 + i);
                    store.event_record(&e, &RULES, false).await.unwrap()
                })
            })
            .collect();
        // The same event arriving from ten paths at once.
        let repeats: Vec<_> = (0..10)
            .map(|_| {
                let store = Arc::clone(&store);
                tokio::spawn(async move {
                    let e = event("same", "example.co.jp", EventKind::Impersonation, 5);
                    store.event_record(&e, &RULES, false).await.unwrap()
                })
            })
            .collect();
        let mut case_ids = Vec::new();
        let mut created = 0;
        for task in tasks {
            let recorded = task.await.unwrap();
            assert!(recorded.new);
            case_ids.push(recorded.case_id);
            created += usize::from(recorded.created);
        }
        // One of the events racing to the same new case created it.
        assert_eq!(created, 1);
        let mut repeated = Vec::new();
        for task in repeats {
            repeated.push(task.await.unwrap());
        }
        assert!(case_ids.windows(2).all(|w| w[0] == w[1]));
        let case = store.case_get(case_ids[0]).await.unwrap().unwrap();
        assert_eq!(case.event_count, 20);
        assert_eq!((case.first_seen, case.last_seen), (1_000, 1_019));
        assert_eq!(repeated.iter().filter(|r| r.new).count(), 1);
        assert_eq!(repeated.iter().filter(|r| r.created).count(), 1);
        assert!(repeated.windows(2).all(|w| w[0].case_id == w[1].case_id));
        let once = store.case_get(repeated[0].case_id).await.unwrap().unwrap();
        assert_eq!(once.event_count, 1);
        assert_eq!(store.cases(&CaseFilter::default()).await.unwrap().len(), 2);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evidence_is_bounded_newest_first_and_distinct() {
    each_backend(|store, _| async move {
        // Out of order, as events from several nodes arrive: (time, source IP, site).
        let arrivals = [
            (100, Some("192.0.2.1"), "node-a"),
            (300, Some("192.0.2.2"), "node-b"),
            (200, Some("192.0.2.1"), "node-a"),
            (400, Some("192.0.2.3"), "node-c"),
            (50, None, "node-b"),
        ];
        let mut case_id = 0;
        for (i, (at, ip, site)) in arrivals.into_iter().enumerate() {
            let mut e = springboard(&format!("e{i}"), at);
            e.sample.source_ip = ip.map(str::to_string);
            e.site = site.to_string();
            case_id = store.event_record(&e, &RULES, false).await.unwrap().case_id;
        }
        let case = store.case_get(case_id).await.unwrap().unwrap();
        assert_eq!(case.event_count, 5);
        assert_eq!((case.first_seen, case.last_seen), (50, 400));
        let subjects: Vec<_> = case
            .samples
            .iter()
            .map(|s| s.subject.clone().unwrap())
            .collect();
        assert_eq!(subjects, vec!["請求書 400", "請求書 300", "請求書 200"]);
        // Samples come back whole.
        let mut newest = springboard("e3", 400).sample;
        newest.source_ip = Some("192.0.2.3".to_string());
        assert_eq!(case.samples[0], newest);
        assert_eq!(case.source_ips, vec!["192.0.2.1", "192.0.2.2"]);
        assert_eq!(case.sites, vec!["node-a", "node-b", "node-c"]);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cases_reopen_after_a_quiet_period_or_once_resolved() {
    each_backend(|store, _| async move {
        let id = store
            .event_record(&springboard("e1", 0), &RULES, false)
            .await
            .unwrap()
            .case_id;
        assert!(store.notification_record(&notice(id, 10)).await.unwrap());

        // Within the quiet period the notified case takes the event and stays notified.
        let within = store
            .event_record(&springboard("e2", 500), &RULES, false)
            .await
            .unwrap();
        assert!(within.new && !within.reopened);
        let case = store.case_get(id).await.unwrap().unwrap();
        assert_eq!(
            (case.state, case.reopened, case.last_seen),
            (CaseState::Notified, 0, 500)
        );

        // The quiet period counts from the last event, not from the notice.
        let back = store
            .event_record(&springboard("e3", 1_500), &RULES, false)
            .await
            .unwrap();
        // Reopened, not created: the case was there.
        assert!(back.reopened && !back.created);
        assert_eq!(back.case_id, id);
        let case = store.case_get(id).await.unwrap().unwrap();
        assert_eq!(case.state, CaseState::New);
        assert_eq!(
            (case.opened_at, case.reopened, case.state_changed_at),
            (1_500, 1, 1_500)
        );
        assert_eq!((case.first_seen, case.event_count), (0, 3));
        assert_eq!(case.last_notified_at, Some(10));

        // Acknowledged: the same rule.
        assert!(store
            .case_set_state(id, CaseState::Acknowledged, 1_600)
            .await
            .unwrap());
        let soon = store
            .event_record(&springboard("e4", 1_700), &RULES, false)
            .await
            .unwrap();
        assert!(!soon.reopened);
        let case = store.case_get(id).await.unwrap().unwrap();
        assert_eq!(
            (case.state, case.state_changed_at),
            (CaseState::Acknowledged, 1_600)
        );

        // Resolved: any new event reopens, however soon; a repeated one does not.
        assert!(store
            .case_set_state(id, CaseState::Resolved, 1_800)
            .await
            .unwrap());
        let repeat = store
            .event_record(&springboard("e4", 1_700), &RULES, false)
            .await
            .unwrap();
        assert!(!repeat.new && !repeat.reopened);
        assert_eq!(
            store.case_get(id).await.unwrap().unwrap().state,
            CaseState::Resolved
        );
        let after = store
            .event_record(&springboard("e5", 1_801), &RULES, false)
            .await
            .unwrap();
        assert!(after.reopened);
        let case = store.case_get(id).await.unwrap().unwrap();
        assert_eq!(
            (case.state, case.reopened, case.opened_at),
            (CaseState::New, 2, 1_801)
        );
        assert_eq!(case.event_count, 5);

        assert!(!store
            .case_set_state(id + 1_000, CaseState::Resolved, 1)
            .await
            .unwrap());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_move_their_case_and_list_by_time() {
    each_backend(|store, _| async move {
        let id = store
            .event_record(&springboard("e1", 100), &RULES, false)
            .await
            .unwrap()
            .case_id;
        for sent_at in [200, 300, 400] {
            assert!(store
                .notification_record(&notice(id, sent_at))
                .await
                .unwrap());
        }
        let case = store.case_get(id).await.unwrap().unwrap();
        assert_eq!(case.state, CaseState::Notified);
        assert_eq!(
            (case.last_notified_at, case.state_changed_at),
            (Some(400), 400)
        );

        // No case: nothing stored.
        assert!(!store
            .notification_record(&notice(id + 1_000, 250))
            .await
            .unwrap());

        let listed = store.notifications(200, 400).await.unwrap();
        assert_eq!(listed, vec![notice(id, 200), notice(id, 300)]);
        assert_eq!(store.notifications(0, i64::MAX).await.unwrap().len(), 3);
        assert!(store.notifications(401, 500).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_hands_events_out_until_forwarded() {
    each_backend(|store, _| async move {
        let events = [
            springboard("o1", 300),
            springboard("o2", 100),
            springboard("o3", 200),
        ];
        for e in &events {
            store.event_record(e, &RULES, true).await.unwrap();
        }
        // Received by a collector: never forwarded again.
        store
            .event_record(&springboard("in", 50), &RULES, false)
            .await
            .unwrap();

        let waiting = store.events_outbox(10).await.unwrap();
        assert_eq!(
            waiting,
            vec![events[1].clone(), events[2].clone(), events[0].clone()]
        );
        assert_eq!(store.events_outbox(2).await.unwrap(), waiting[..2].to_vec());

        store
            .events_forwarded(&["o2".to_string(), "o3".to_string(), "unknown".to_string()])
            .await
            .unwrap();
        store.events_forwarded(&[]).await.unwrap();
        assert_eq!(
            store.events_outbox(10).await.unwrap(),
            vec![events[0].clone()]
        );
        store.events_forwarded(&["o1".to_string()]).await.unwrap();
        assert!(store.events_outbox(10).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_directory_upserts_by_normalised_domain() {
    each_backend(|store, _| async move {
        let entry = |domain: &str, name: &str| Organisation {
            domain: domain.to_string(),
            name: name.to_string(),
            industry: Some("E".to_string()),
            contact: None,
        };
        let written = store
            .directory_import(&[
                entry("例え.JP", "例え株式会社"),
                entry("Example.jp.", "Example"),
                entry(" ", "none"),
            ])
            .await
            .unwrap();
        assert_eq!(written, 2);
        let replaced = Organisation {
            contact: Some("security@example.jp".to_string()),
            industry: None,
            ..entry("EXAMPLE.JP", "Example Inc.")
        };
        assert_eq!(store.directory_import(&[replaced]).await.unwrap(), 1);
        let directory = store.directory().await.unwrap();
        assert_eq!(
            directory,
            vec![
                Organisation {
                    domain: "example.jp".to_string(),
                    name: "Example Inc.".to_string(),
                    industry: None,
                    contact: Some("security@example.jp".to_string()),
                },
                entry("xn--r8jz45g.jp", "例え株式会社"),
            ]
        );

        let count = |industry: &str, enterprises| IndustryEnterprises {
            industry: industry.to_string(),
            enterprises,
        };
        store
            .industry_enterprises_set(&[count("E", 100), count("D", 50)])
            .await
            .unwrap();
        store
            .industry_enterprises_set(&[count("E", 120)])
            .await
            .unwrap();
        assert_eq!(
            store.industry_enterprises().await.unwrap(),
            vec![count("D", 50), count("E", 120)]
        );
    })
    .await;
}
