//! Springboard cases from the command line, end to end: the directory imported, cases listed and shown,
//! notices written (dry run) and then sent through a real Postfix to the organisations' contacts, each case
//! notified once, reopened by new mail after it was resolved but held back by the cooldown, and counted by
//! `fumidai report`.
//!
//! Needs root, Postfix and swaks (`.ci/run` installs them); `FUMIDAI_SKIP_POSTFIX=1` skips.

mod common;
mod rig;

use common::{json_lines, Site};
use fumidai_store::{AuthCheck, EventKind, Sample, SampleAttachment, SpringboardEvent};
use rig::{Rig, RigOptions};
use std::time::Duration;

/// Events a node would have recorded: two springboard mails from partner.co.jp's server, one
/// impersonation of other-corp.co.jp (not in the directory).
fn events(now: i64) -> Vec<SpringboardEvent> {
    let sample = |n: u32, org: &str, kind: EventKind| Sample {
        date: Some("Mon, 30 Nov 2026 09:12:00 +0900".into()),
        message_id: Some(format!("<attack-{n}@mail.{org}>")),
        return_path: Some(format!("<sales@{org}>")),
        from: Some(format!("\"営業部 山田\" <sales@{org}>")),
        subject: Some("Re: 見積書の件 https://evil.example/payload".into()),
        received: vec![format!(
            "from mail.{org} (mail.{org} [198.51.100.{n}]) by mx.corp.example.jp"
        )],
        source_ip: Some(format!("198.51.100.{n}")),
        authentication: vec![AuthCheck {
            method: "spf".into(),
            result: if kind == EventKind::Springboard {
                "pass"
            } else {
                "fail"
            }
            .into(),
            domain: org.into(),
        }],
        attachments: vec![SampleAttachment {
            name: "見積書.zip > 見積書.docm".into(),
            kind: "application/vnd.ms-word.document.macroEnabled.12".into(),
            size: 48_213,
            sha256: "9f2c".repeat(16),
            encrypted: true,
        }],
        zip_password_in_body: true,
        urls: vec!["hxxps://evil[.]example/payload".into()],
        recipient_count: 3,
        recipient_domains: vec!["corp.example.jp".into()],
        likely_account: (kind == EventKind::Springboard).then(|| format!("sales@{org}")),
        findings: vec!["VBA_AUTOEXEC".into(), "ZIP_PASSWORD_FROM_BODY".into()],
        reason: "test".into(),
        ..Sample::default()
    };
    let event = |n: u32, org: &str, kind: EventKind| SpringboardEvent {
        id: format!("{:064x}", n),
        site: "mx1".into(),
        kind,
        organisation: org.into(),
        observed_at: now - 3600 + i64::from(n),
        verdict: "malicious".into(),
        score: 15.0,
        sample: sample(n, org, kind),
    };
    vec![
        event(1, "partner.co.jp", EventKind::Springboard),
        event(2, "partner.co.jp", EventKind::Springboard),
        event(3, "other-corp.co.jp", EventKind::Impersonation),
    ]
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn record(site: &Site, events: &[SpringboardEvent]) {
    record_with(site, events, false);
}

/// Records `events` in the site's store, as its milter would (`outbox`: kept for a collector).
fn record_with(site: &Site, events: &[SpringboardEvent], outbox: bool) {
    let location = site.path("fumidai.db");
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            let store = fumidai_store::open(&location).await.unwrap();
            let rules = fumidai_alerts::AlertsConfig::default().case_rules();
            for e in events {
                store.event_record(e, &rules, outbox).await.unwrap();
            }
        });
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn cases_are_notified_once_through_postfix_and_counted() {
    if !rig::require_postfix() {
        return;
    }
    let rig = Rig::start(RigOptions::default()).expect("start the Postfix rig");
    let site = Site::with_config(
        None,
        &format!(
            "[alerts.notify]\norganisation = \"Corp CSIRT\"\nfrom = \"csirt@corp.example.jp\"\nrelay = {:?}\nrate_per_minute = 600\n",
            rig.release_relay()
        ),
    );
    let directory = site.path("directory.csv");
    std::fs::write(
        &directory,
        "domain,name,industry,contact\npartner.co.jp,パートナー株式会社,E,security@partner.co.jp\n",
    )
    .unwrap();
    site.ok(&["alerts", "directory", "import", &directory]);
    let now = now();
    record(&site, &events(now));

    let cases = json_lines(&stdout(&site.ok(&["alerts", "list", "--json"])));
    assert_eq!(cases.len(), 2, "{cases:?}");
    let partner = cases
        .iter()
        .find(|c| c["organisation"] == "partner.co.jp")
        .expect("partner case");
    assert_eq!(partner["kind"], "springboard");
    assert_eq!(partner["state"], "new");
    assert_eq!(partner["event_count"], 2);
    let partner_id = partner["id"].as_i64().unwrap().to_string();
    let shown = stdout(&site.ok(&["alerts", "show", &partner_id]));
    assert!(
        shown.contains("198.51.100.1") && shown.contains("JST"),
        "{shown}"
    );

    // A dry run writes the notices and changes nothing.
    let dry = site.path("notices");
    let written = json_lines(&stdout(&site.ok(&[
        "alerts",
        "notify",
        "--dry-run",
        &dry,
        "--json",
    ])));
    assert!(
        written.iter().all(|r| r["result"] == "written"),
        "{written:?}"
    );
    let notice = std::fs::read_to_string(format!("{dry}/FUMIDAI-{partner_id}.eml")).unwrap();
    assert!(notice.contains("To: security@partner.co.jp"), "{notice}");
    let again = json_lines(&stdout(
        &site.ok(&["alerts", "list", "--json", "--state", "new"]),
    ));
    assert_eq!(again.len(), 2);

    // Sent for real: the directory's contact for the partner, abuse@ for the organisation without an entry.
    let sent = json_lines(&stdout(&site.ok(&["alerts", "notify", "--json"])));
    assert_eq!(sent.len(), 2, "{sent:?}");
    for r in &sent {
        assert_eq!(r["result"], "sent", "{r:?}");
        let to: Vec<String> = serde_json::from_value(r["to"].clone()).unwrap();
        let delivered = rig
            .wait_for_header(
                "Message-ID",
                r["message_id"].as_str().unwrap(),
                Duration::from_secs(30),
            )
            .unwrap_or_else(|e| panic!("{to:?}: {e}"));
        assert_eq!(delivered.rcpts(), to);
        let parsed = mail_parser::MessageParser::default()
            .parse(&delivered.message)
            .unwrap();
        let body = parsed.body_text(0).unwrap();
        assert!(body.contains("FUMIDAI-"), "{body}");
        assert!(
            !body.contains("https://") && !body.contains("http://"),
            "no live links: {body}"
        );
    }
    let to: Vec<&serde_json::Value> = sent.iter().map(|r| &r["to"]).collect();
    assert!(
        to.contains(&&serde_json::json!(["security@partner.co.jp"])),
        "{to:?}"
    );
    assert!(
        to.contains(&&serde_json::json!([
            "abuse@other-corp.co.jp",
            "postmaster@other-corp.co.jp"
        ])),
        "{to:?}"
    );

    // Notified cases are not notified again.
    let second = json_lines(&stdout(&site.ok(&[
        "alerts",
        "notify",
        "--json",
        &partner_id,
    ])));
    assert_eq!(second[0]["result"], "not_new", "{second:?}");

    // Resolved, then the partner's server sends attack mail again: the case reopens, but the cooldown holds
    // the next notice back.
    site.ok(&["alerts", "resolve", &partner_id]);
    let mut more = events(now + 60);
    more.truncate(1);
    more[0].id = format!("{:064x}", 99);
    record(&site, &more);
    let reopened = json_lines(&stdout(&site.ok(&[
        "alerts",
        "list",
        "--json",
        "--organisation",
        "partner.co.jp",
    ])));
    assert_eq!(reopened[0]["state"], "new", "{reopened:?}");
    assert_eq!(reopened[0]["reopened"], 1);
    let held = json_lines(&stdout(&site.ok(&["alerts", "notify", "--json"])));
    assert_eq!(held[0]["result"], "cooldown", "{held:?}");
    assert_eq!(rig.delivered().len(), 2, "nothing more was sent");

    // Both organisations count once, this month, one per kind.
    let report: serde_json::Value =
        serde_json::from_str(&stdout(&site.ok(&["report", "--format", "json"]))).unwrap();
    assert_eq!(
        report["total"],
        serde_json::json!({"springboard": 1, "impersonation": 1, "total": 2}),
        "{report}"
    );
    assert_eq!(
        report["industries"][0]["industry"], "E",
        "from the directory: {report}"
    );
}

/// `fumidai collector` and `fumidai alerts forward` as separate processes with their own stores: the node's
/// events reach the collector once, however often they are forwarded.
#[test]
fn a_node_forwards_its_events_to_the_collector() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let token = "site-osaka-5e0c1d7a9b2f";
    let collector = Site::with_config(
        None,
        &format!(
            "[alerts]\ncollector_listen = \"127.0.0.1:{port}\"\ncollector_tokens = [\"{token}\"]\n"
        ),
    );
    let node = Site::with_config(
        None,
        &format!(
            "[alerts]\nsite = \"osaka\"\ncollector_url = \"http://127.0.0.1:{port}/api/v1/events\"\ncollector_token = \"{token}\"\n"
        ),
    );
    let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_fumidai"))
        .args(["-c", collector.config.to_str().unwrap(), "collector"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the collector");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "the collector does not listen"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    record_with(&node, &events(now()), true);
    let forwarded = json_lines(&stdout(&node.ok(&["alerts", "forward", "--json"])));
    assert_eq!(forwarded[0]["forwarded"], 3);
    let again = json_lines(&stdout(&node.ok(&["alerts", "forward", "--json"])));
    assert_eq!(again[0]["forwarded"], 0);

    let cases = json_lines(&stdout(&collector.ok(&["alerts", "list", "--json"])));
    server.kill().unwrap();
    let _ = server.wait();
    assert_eq!(cases.len(), 2, "{cases:?}");
    let total: u64 = cases
        .iter()
        .map(|c| c["event_count"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 3);
    assert!(
        cases
            .iter()
            .all(|c| c["sites"] == serde_json::json!(["mx1"])),
        "{cases:?}"
    );
}
