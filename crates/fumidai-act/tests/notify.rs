//! `notify` against a real store: our own organisation's cases are never notified (they go to our
//! administrators), a foreign one is; and `send_admin_alert`'s answers that need no relay.

use fumidai_act::notify::{notify, send_admin_alert, NotifyError, NotifyMode, NotifyResult};
use fumidai_alerts::admin::AdminNotice;
use fumidai_alerts::config::NotifyConfig;
use fumidai_alerts::{AlertsConfig, CaseFilter, CaseState, EventKind, Sample, SpringboardEvent};
use fumidai_store::testing::{each_backend, TempDir};
use mail_parser::MessageParser;

/// 2022-03-01 00:00 UTC.
const MARCH_1: i64 = 1_646_092_800;

fn event(id: &str, organisation: &str) -> SpringboardEvent {
    SpringboardEvent {
        id: id.into(),
        site: "mx1".into(),
        kind: EventKind::Impersonation,
        organisation: organisation.into(),
        observed_at: MARCH_1,
        verdict: "malicious".into(),
        score: 12.0,
        sample: Sample {
            received_at: Some(MARCH_1),
            message_id: Some(format!("<{id}@{organisation}>")),
            from: Some(format!("sato@{organisation}")),
            subject: Some("Re: 請求書".into()),
            reason: "From domain not authenticated".into(),
            ..Sample::default()
        },
    }
}

fn config() -> AlertsConfig {
    AlertsConfig {
        notify: NotifyConfig {
            organisation: "Example CSIRT".into(),
            from: "csirt@example.co.jp".into(),
            ..NotifyConfig::default()
        },
        ..AlertsConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn our_own_domain_is_skipped_and_a_foreign_case_is_written() {
    each_backend(|store, _| async move {
        let config = config();
        let rules = config.case_rules();
        let own = store
            .event_record(&event("e-own", "example.co.jp"), &rules, false)
            .await
            .expect("record our own case")
            .case_id;
        let foreign = store
            .event_record(&event("e-foreign", "partner.co.jp"), &rules, false)
            .await
            .expect("record a foreign case")
            .case_id;
        let cases = store
            .cases(&CaseFilter {
                state: Some(CaseState::New),
                ..CaseFilter::default()
            })
            .await
            .expect("new cases");
        assert_eq!(cases.len(), 2);

        let dir = TempDir::new();
        let notices = dir.0.join("notices");
        // A host of ours, written as an operator might: it still names our registrable domain.
        let own_domains = vec!["Mail.Example.Co.JP.".to_owned()];
        let reports = notify(
            &*store,
            &config,
            &own_domains,
            &cases,
            &NotifyMode::DryRun(notices.clone()),
            MARCH_1 + 3600,
        )
        .await
        .expect("notify");
        assert_eq!(reports.len(), 2);
        let own_report = reports.iter().find(|r| r.case_id == own).expect("own");
        assert_eq!(own_report.result, NotifyResult::OwnDomain);
        assert_eq!(
            serde_json::to_value(own_report).expect("json")["result"],
            "own_domain"
        );
        let foreign_report = reports
            .iter()
            .find(|r| r.case_id == foreign)
            .expect("foreign");
        let NotifyResult::Written { path, to } = &foreign_report.result else {
            panic!("the foreign case is written: {foreign_report:?}");
        };
        assert_eq!(to, &["abuse@partner.co.jp", "postmaster@partner.co.jp"]);
        let bytes = std::fs::read(path).expect("the written notice");
        let message = MessageParser::default().parse(&bytes).expect("a message");
        assert!(message
            .subject()
            .is_some_and(|s| s.contains("partner.co.jp")));

        let written: Vec<String> = std::fs::read_dir(&notices)
            .expect("the notices directory")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(written, [format!("FUMIDAI-{foreign}.eml")]);

        // A dry run records nothing: both cases are still new.
        for id in [own, foreign] {
            let case = store.case_get(id).await.expect("get").expect("the case");
            assert_eq!(case.state, CaseState::New);
        }
        // Without own domains, our case would have been written to our own abuse@.
        let reports = notify(
            &*store,
            &config,
            &[],
            &cases,
            &NotifyMode::DryRun(dir.0.join("without")),
            MARCH_1 + 3600,
        )
        .await
        .expect("notify");
        assert!(reports
            .iter()
            .all(|r| matches!(r.result, NotifyResult::Written { .. })));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_alerts_need_admins_a_sender_and_addresses() {
    let notice = AdminNotice {
        subject: "[fumidai Outbound account held] tanaka@example.co.jp (mx1)".into(),
        body: "held".into(),
    };
    let mut settings = config().notify;
    assert_eq!(
        send_admin_alert(&settings, &notice)
            .await
            .expect("nothing to send"),
        Vec::<String>::new()
    );

    settings.admins = vec!["security@example.co.jp".into(), "not an address".into()];
    match send_admin_alert(&settings, &notice).await {
        Err(NotifyError::Config(e)) => assert_eq!(e, "admins: not an address: not an address"),
        other => panic!("expected a configuration error, got {other:?}"),
    }

    settings.admins = vec!["security@example.co.jp".into()];
    settings.from = String::new();
    match send_admin_alert(&settings, &notice).await {
        Err(NotifyError::Config(e)) => assert!(e.contains("from"), "{e}"),
        other => panic!("expected a configuration error, got {other:?}"),
    }
}
