//! The outbound watch end to end through a real Postfix (the rig) and `fumidai milter`: an authenticated
//! account that suddenly sends 200 macro mails to new recipients is held after the threshold, the alert is
//! raised once (log, metric, mail to the administrators, a case), every one of its messages is in the
//! quarantine, and a normal account sending at its usual rate at the same time is untouched. Then the
//! inbound side: a reply to our mail from another organisation, and a bounce of mail we never sent.
//! Needs Postfix and swaks (`.ci/run` installs them; FUMIDAI_SKIP_POSTFIX=1 skips).

mod common;
mod rig;

use common::daemon::{http_get, read, Daemon};
use common::{json_lines, Site};
use rig::{Mail, Rig, RigOptions, Xclient};
use std::time::{Duration, Instant};

/// `raw` with its From, To and Message-ID replaced (the header block only).
fn readdressed(raw: &[u8], from: &str, to: &str, id: &str) -> Vec<u8> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text
        .split_once("\n\n")
        .or_else(|| text.split_once("\r\n\r\n"))
        .expect("a header block");
    let mut out = format!("From: {from}\r\nTo: {to}\r\nMessage-ID: <{id}>\r\n");
    let mut skipping = false;
    for line in head.lines() {
        let continuation = line.starts_with([' ', '\t']);
        if !continuation {
            let name = line
                .split(':')
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase();
            skipping = ["from", "to", "message-id"].contains(&name.as_str());
        }
        if !skipping {
            out.push_str(line.trim_end_matches('\r'));
            out.push_str("\r\n");
        }
    }
    out.push_str("\r\n");
    out.push_str(body);
    out.into_bytes()
}

fn plain(from: &str, to: &str, id: &str, subject: &str, extra: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\nDate: Sun, 06 Dec 2026 10:00:00 +0900\r\n{extra}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nお世話になっております。\r\n"
    )
    .into_bytes()
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn login(name: &str) -> Xclient {
    Xclient {
        addr: Some("192.0.2.10".into()),
        login: Some(name.into()),
        ..Xclient::default()
    }
}

fn internet() -> Xclient {
    Xclient::addr("203.0.113.7")
}

fn json(site: &Site, args: &[&str]) -> serde_json::Value {
    serde_json::from_slice(&site.ok(args).stdout).expect("JSON output")
}

fn lines(site: &Site, args: &[&str]) -> Vec<serde_json::Value> {
    json_lines(&String::from_utf8_lossy(&site.ok(args).stdout))
}

/// Waits until `count` delivered messages satisfy `pick`.
fn wait_delivered(
    rig: &Rig,
    count: usize,
    pick: impl Fn(&rig::Delivered) -> bool,
) -> Vec<rig::Delivered> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let got: Vec<_> = rig.delivered().into_iter().filter(|d| pick(d)).collect();
        if got.len() >= count {
            return got;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {count} delivered",
            got.len()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_compromised_account_is_held_once_and_a_normal_one_is_untouched() {
    if !rig::require_postfix() {
        return;
    }
    let (port, http) = (Rig::free_port(), Rig::free_port());
    let rig = Rig::start(RigOptions {
        milter: Some(format!("inet:127.0.0.1:{port}")),
        ..RigOptions::default()
    })
    .expect("rig");
    let more = format!(
        "[milter]\nlisten = [\"inet:127.0.0.1:{port}\"]\nhttp_listen = \"127.0.0.1:{http}\"\nlocal_networks = []\n\n\
[alerts]\nsite = \"mx-outbound\"\nauthenticate = false\n\n\
[alerts.notify]\norganisation = \"Corp CSIRT\"\nfrom = \"fumidai@corp.example.jp\"\nrelay = {:?}\nadmins = [\"security@corp.example.jp\"]\n",
        rig.release_relay()
    );
    let site = Site::with_config(None, &more);
    let daemon = Daemon::start(&site, "milter.log");

    // The normal account writes to its five usual correspondents first: they are in the history.
    let usual: Vec<String> = (0..5)
        .map(|i| format!("contact{i}@customer{i}.example"))
        .collect();
    let send_usual = |n: usize| {
        let to = &usual[n % usual.len()];
        let raw = plain(
            "Bob <bob@corp.example.jp>",
            to,
            &format!("bob-{n}@corp.example.jp"),
            "定例の件",
            "",
        );
        let sent =
            rig.send(&Mail::new("bob@corp.example.jp", &[to.as_str()], &raw).xclient(login("bob")));
        assert_eq!(sent.code, 0, "{}", sent.transcript);
    };
    for n in 0..5 {
        send_usual(n);
    }
    wait_delivered(&rig, 5, |d| {
        d.mail_from().as_deref() == Some("bob@corp.example.jp")
    });

    // The compromised account: 200 macro mails, each to a new recipient; the normal account goes on at its
    // usual rate in between.
    let attack = read("testdata/corpus/email/generated/emotet_style_autoexec_xlsm.eml");
    for n in 0..200 {
        let to = format!("target{n}@victim{n}.example");
        let raw = readdressed(
            &attack,
            "Sato <sato@corp.example.jp>",
            &to,
            &format!("sato-{n}@corp.example.jp"),
        );
        let sent = rig
            .send(&Mail::new("sato@corp.example.jp", &[to.as_str()], &raw).xclient(login("sato")));
        assert_eq!(sent.code, 0, "message {n}: {}", sent.transcript);
        if n % 20 == 0 {
            send_usual(5 + n / 20);
        }
    }
    // Held: a clean message of the account is quarantined too.
    let clean = plain(
        "Sato <sato@corp.example.jp>",
        "friend@else.example",
        "sato-clean@corp.example.jp",
        "hello",
        "",
    );
    let sent = rig.send(
        &Mail::new("sato@corp.example.jp", &["friend@else.example"], &clean).xclient(login("sato")),
    );
    assert_eq!(sent.code, 0, "{}", sent.transcript);
    let log = daemon.wait_log("judged", 5 + 200 + 10 + 1);

    // The alert was raised once: one log line, one metric, one mail to the administrators, one case.
    assert_eq!(log.matches("outbound account held").count(), 1, "{log}");
    let (_, metrics) = http_get(&format!("127.0.0.1:{http}"), "/metrics");
    assert!(
        metrics.contains("fumidai_milter_alerts_raised_total{kind=\"account_held\"} 1"),
        "{metrics}"
    );
    let alerts = wait_delivered(&rig, 1, |d| d.rcpts() == ["security@corp.example.jp"]);
    std::thread::sleep(Duration::from_secs(2));
    let alerts_now: Vec<_> = rig
        .delivered()
        .into_iter()
        .filter(|d| d.rcpts() == ["security@corp.example.jp"])
        .collect();
    assert_eq!(alerts_now.len(), 1, "one administrators' alert");
    let alert = String::from_utf8_lossy(&alerts[0].message).into_owned();
    let alert_text = mail_parser::MessageParser::default()
        .parse(alert.as_bytes())
        .and_then(|m| m.body_text(0).map(|t| t.into_owned()))
        .unwrap_or(alert);
    assert!(alert_text.contains("sato"), "{alert_text}");
    assert!(alert_text.contains("release-account"), "{alert_text}");
    let cases = lines(&site, &["alerts", "list", "--json"]);
    let own = cases
        .iter()
        .find(|c| c["organisation"] == "example.jp" && c["kind"] == "springboard")
        .unwrap_or_else(|| panic!("our own springboard case: {cases:?}"));
    assert_eq!(own["event_count"], 1, "{own}");

    // Every message of the account is in the quarantine, none reached the Internet.
    let quarantined = lines(
        &site,
        &[
            "quarantine",
            "list",
            "--sender",
            "sato@corp.example.jp",
            "--limit",
            "1000",
            "--json",
        ],
    );
    assert_eq!(quarantined.len(), 201, "200 macro mails and the clean one");
    assert!(rig
        .delivered()
        .iter()
        .all(|d| d.mail_from().as_deref() != Some("sato@corp.example.jp")));
    let held_lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("OUTBOUND_ACCOUNT_HELD"))
        .collect();
    assert_eq!(held_lines.len(), 199, "messages 3 to 200 and the clean one");
    assert!(held_lines
        .iter()
        .all(|l| l.contains("action=\"quarantine\"")));

    // The normal account: all 15 delivered as they were.
    let bobs = wait_delivered(&rig, 15, |d| {
        d.mail_from().as_deref() == Some("bob@corp.example.jp")
    });
    assert!(bobs
        .iter()
        .all(|d| d.header("X-Fumidai-Action").as_deref() == Some("deliver")));

    // The administrator's view, release and reset.
    let status = json(&site, &["outbound", "status", "--json"]);
    let accounts = status.as_array().unwrap();
    assert_eq!(accounts[0]["account"], "sato");
    assert_eq!(accounts[0]["held"], true);
    assert!(
        accounts[0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("3 suspicious or malicious"),
        "{status}"
    );
    assert_eq!(accounts[0]["totals"]["messages"], 201);
    let bob = accounts
        .iter()
        .find(|a| a["account"] == "bob")
        .expect("bob counted");
    assert_eq!(
        (bob["held"].as_bool(), bob["totals"]["messages"].as_u64()),
        (Some(false), Some(15))
    );
    site.ok(&["outbound", "release-account", "sato", "--by", "admin"]);
    assert_eq!(
        site.run(&["outbound", "release-account", "sato"])
            .status
            .code(),
        Some(1),
        "no longer held"
    );
    let again = plain(
        "Sato <sato@corp.example.jp>",
        "friend@else.example",
        "sato-after@corp.example.jp",
        "hello again",
        "",
    );
    let sent = rig.send(
        &Mail::new("sato@corp.example.jp", &["friend@else.example"], &again).xclient(login("sato")),
    );
    assert_eq!(sent.code, 0, "{}", sent.transcript);
    wait_delivered(&rig, 1, |d| {
        d.header("Message-ID").as_deref() == Some("<sato-after@corp.example.jp>")
    });

    // Inbound: a "reply" to Bob's mail to customer0.example, but from another organisation: a stolen thread.
    let hijack = plain(
        "\"contact0\" <contact0@attacker.example>",
        "bob@corp.example.jp",
        "hijack-1@attacker.example",
        "Re: 定例の件",
        "In-Reply-To: <bob-0@corp.example.jp>\r\nReferences: <bob-0@corp.example.jp>\r\n",
    );
    let sent = rig.send(
        &Mail::new(
            "contact0@attacker.example",
            &["bob@corp.example.jp"],
            &hijack,
        )
        .xclient(internet()),
    );
    assert_eq!(sent.code, 0, "{}", sent.transcript);
    // The real customer's reply is not.
    let reply = plain(
        "contact0@customer0.example",
        "bob@corp.example.jp",
        "reply-1@customer0.example",
        "Re: 定例の件",
        "In-Reply-To: <bob-0@corp.example.jp>\r\n",
    );
    let sent = rig.send(
        &Mail::new(
            "contact0@customer0.example",
            &["bob@corp.example.jp"],
            &reply,
        )
        .xclient(internet()),
    );
    assert_eq!(sent.code, 0, "{}", sent.transcript);

    // A bounce of mail in our name that we never sent (RFC 3464, as Postfix writes it): backscatter.
    let dsn = format!(
        "From: MAILER-DAEMON@mx.remote.example (Mail Delivery System)\r\nTo: keiri@corp.example.jp\r\nSubject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn-1@mx.remote.example>\r\nDate: Sun, 06 Dec 2026 10:05:00 +0900\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\nundeliverable\r\n\r\n--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.remote.example\r\n\r\nFinal-Recipient: rfc822; nobody@remote.example\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n--B\r\nContent-Type: text/rfc822-headers\r\n\r\nReceived: from botnet-pc (unknown [198.51.100.66]) by mx.remote.example\r\nFrom: keiri@corp.example.jp\r\nTo: nobody@remote.example\r\nSubject: invoice\r\nDate: {}\r\nMessage-ID: <spoofed-1@corp.example.jp>\r\n\r\n--B--\r\n",
        // Sent after the first message we remember: a bounce of older mail cannot be told.
        mail_parser::DateTime::from_timestamp(now()).to_rfc822()
    );
    let sent =
        rig.send(&Mail::new("<>", &["keiri@corp.example.jp"], dsn.as_bytes()).xclient(internet()));
    assert_eq!(sent.code, 0, "{}", sent.transcript);
    let log = daemon.wait_log("judged", 5 + 200 + 10 + 2 + 3);
    assert_eq!(log.matches("HIJACKED_REPLY_REFERENCE").count(), 1, "{log}");
    assert!(log.contains("BACKSCATTER"), "{log}");
    assert!(
        log.contains("backscatter: a bounce of mail in our name"),
        "{log}"
    );
    let (_, metrics) = http_get(&format!("127.0.0.1:{http}"), "/metrics");
    assert!(
        metrics.contains("fumidai_milter_alerts_raised_total{kind=\"domain_spoofed\"} 1"),
        "{metrics}"
    );
    let spoofed = wait_delivered(&rig, 2, |d| d.rcpts() == ["security@corp.example.jp"]);
    assert_eq!(
        spoofed.len(),
        2,
        "the held account, then our domain spoofed"
    );
    let cases = lines(&site, &["alerts", "list", "--json"]);
    let case = cases
        .iter()
        .find(|c| c["organisation"] == "example.jp" && c["kind"] == "impersonation")
        .unwrap_or_else(|| panic!("our domain spoofed: {cases:?}"));
    let shown = json(
        &site,
        &["alerts", "show", &case["id"].to_string(), "--json"],
    );
    let sample = &shown["samples"][0];
    assert_eq!(
        sample["message_id"], "<spoofed-1@corp.example.jp>",
        "{shown}"
    );
    assert!(
        sample["received"][0]
            .as_str()
            .unwrap()
            .contains("198.51.100.66"),
        "{shown}"
    );
    // `fumidai alerts notify` never mails our own abuse@: these went to the administrators.
    let notified = lines(
        &site,
        &[
            "alerts",
            "notify",
            "--dry-run",
            &site.path("notices"),
            "--json",
        ],
    );
    assert!(
        notified
            .iter()
            .filter(|r| r["organisation"] == "example.jp")
            .all(|r| r.to_string().contains("own_domain")),
        "{notified:?}"
    );

    site.ok(&["outbound", "reset", "--all"]);
    let status = json(&site, &["outbound", "status", "--json"]);
    assert!(
        status
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["held"] == false && a["account"] != "sato"),
        "{status}"
    );
    daemon.stop();
}
