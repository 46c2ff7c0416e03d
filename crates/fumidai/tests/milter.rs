//! End to end: a real Postfix (the rig) with `fumidai milter` in front, configured with the Postfix
//! lines and the systemd unit from the docs as written, mail sent with swaks and captured by
//! smtp-sink. Needs Postfix and swaks (`.ci/run` installs them; FUMIDAI_SKIP_POSTFIX=1 skips).

mod common;
mod rig;

use base64::Engine as _;
use common::daemon::{http_get, read, text, Daemon, WAIT};
use common::{json_lines, Site};
use rig::{Mail, Rig, RigOptions, Xclient};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

fn base64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

fn iso2022jp_word(text: &str) -> String {
    let (bytes, _, _) = encoding_rs::ISO_2022_JP.encode(text);
    format!("=?ISO-2022-JP?B?{}?=", base64(&bytes))
}

/// A plain message with an optional attachment (name, bytes).
fn message(
    from: &str,
    to: &str,
    id: &str,
    subject: &str,
    body: &str,
    file: Option<(&str, &[u8])>,
) -> Vec<u8> {
    let head = format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {}\r\nMessage-ID: <{id}>\r\nDate: Sat, 05 Dec 2026 10:00:00 +0900\r\nMIME-Version: 1.0\r\n",
        iso2022jp_word(subject)
    );
    let text_part = format!(
        "Content-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n"
    );
    match file {
        None => format!("{head}{text_part}").into_bytes(),
        Some((name, data)) => {
            let mut out = format!(
                "{head}Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\n{text_part}--b1\r\nContent-Type: application/octet-stream; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
            )
            .into_bytes();
            for line in base64(data).as_bytes().chunks(76) {
                out.extend_from_slice(line);
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"--b1--\r\n");
            out
        }
    }
}

/// A generated attack mail with its own Message-ID (so it can be found after release).
fn attack(rel: &str, id: &str) -> Vec<u8> {
    let mut raw = format!("Message-ID: <{id}>\r\n").into_bytes();
    let original = read(rel);
    // Drop the file's own Message-ID so there is one.
    let text = String::from_utf8_lossy(&original);
    for line in text.split_inclusive('\n') {
        if !line.to_ascii_lowercase().starts_with("message-id:") {
            raw.extend_from_slice(line.as_bytes());
        }
    }
    raw
}

fn internet() -> Xclient {
    Xclient::addr("203.0.113.7")
}

fn quarantine_items(site: &Site) -> Vec<serde_json::Value> {
    let out = site.ok(&["quarantine", "list", "--json"]);
    json_lines(&String::from_utf8_lossy(&out.stdout))
}

fn the_log_line<'a>(log: &'a str, queue_id: &str) -> &'a str {
    let lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(&format!("queue_id=\"{queue_id}\"")))
        .collect();
    assert_eq!(lines.len(), 1, "one line for {queue_id}:\n{log}");
    lines[0]
}

/// Every action through a real Postfix configured as docs/postfix.md says, on the default ports.
#[test]
fn postfix_and_fumidai_end_to_end() {
    if !rig::require_postfix() {
        return;
    }
    // The defaults ([milter] listen and http_listen) with the documented main.cf and master.cf; the
    // client is on loopback, so nothing is local unless XCLIENT says so.
    let more = "[milter]\nlocal_networks = []\n\n[quarantine]\nrelease_relay = \"127.0.0.1:10028\"\n\n[policy.inbound.findings]\nEICAR_TEST_FILE = \"reject\"\n\n[alerts]\nsite = \"mx-e2e\"\nauthenticate = false\n";
    let site = Site::with_config(None, more);
    let daemon = Daemon::start(&site, "milter.log");
    let rig = Rig::start(RigOptions {
        extra_main_cf: text("docs/postfix/main.cf"),
        extra_master_cf: text("docs/postfix/master.cf"),
        ..RigOptions::default()
    })
    .expect("rig");
    assert_eq!(rig.postconf("smtpd_milters"), "inet:127.0.0.1:10029");
    assert_eq!(rig.postconf("milter_default_action"), "tempfail");

    // Outbound (SASL login): delivered, and the exchange recorded in the history.
    let out = message(
        "Alice <alice@corp.example.jp>",
        "ken@partner.example.jp",
        "out-1@corp.example.jp",
        "打ち合わせの件",
        "来週の打ち合わせの資料です。",
        None,
    );
    let sent = rig.send(
        &Mail::new("alice@corp.example.jp", &["ken@partner.example.jp"], &out).xclient(Xclient {
            addr: Some("192.0.2.10".into()),
            login: Some("alice".into()),
            ..Xclient::default()
        }),
    );
    assert_eq!(sent.code, 0, "{}", sent.transcript);
    let got = rig
        .wait_for_header("Message-ID", "<out-1@corp.example.jp>", WAIT)
        .unwrap();
    assert_eq!(got.header("X-Fumidai-Action").as_deref(), Some("deliver"));
    let log = daemon.wait_log("judged", 1);
    let line = the_log_line(&log, sent.queue_id.as_deref().unwrap());
    assert!(line.contains("direction=\"outbound\""), "{line}");
    let lookup: serde_json::Value = serde_json::from_slice(
        &site
            .ok(&[
                "history",
                "lookup",
                "ken@partner.example.jp",
                "--to",
                "alice@corp.example.jp",
                "--json",
            ])
            .stdout,
    )
    .unwrap();
    assert!(
        lookup["findings"].as_array().unwrap().is_empty(),
        "{lookup}"
    );

    // Inbound from that correspondent, with an attachment: delivered untouched (verdict headers only).
    let reply = message(
        "Ken <ken@partner.example.jp>",
        "alice@corp.example.jp",
        "in-1@partner.example.jp",
        "Re: 打ち合わせの件",
        "資料を拝見しました。議事録を添付します。",
        Some(("minutes.txt", "議事録\r\n".as_bytes())),
    );
    let sent = rig.send(
        &Mail::new("ken@partner.example.jp", &["alice@corp.example.jp"], &reply)
            .xclient(internet()),
    );
    assert_eq!(sent.code, 0, "{}", sent.transcript);
    let got = rig
        .wait_for_header("Message-ID", "<in-1@partner.example.jp>", WAIT)
        .unwrap();
    assert_eq!(
        got.header("X-Fumidai-Verdict").as_deref(),
        Some("clean (score 0.0)")
    );
    assert_eq!(got.header("X-Fumidai-Action").as_deref(), Some("deliver"));
    let sent_body = &reply[reply.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4..];
    assert!(got.body() == sent_body, "the body is not untouched");

    // A first-contact sender's Japanese mail with a macro document and a link: sanitised.
    let ja = read("testdata/messages/first_contact_iso2022jp_docm.eml");
    let sent = rig.send(
        &Mail::new(
            "sender@unknown-partner.example",
            &["tanaka@corp.example.jp"],
            &ja,
        )
        .xclient(internet()),
    );
    assert_eq!(sent.code, 0, "{}", sent.transcript);
    let got = rig
        .wait_for_header("Message-ID", "<ja-1@unknown-partner.example>", WAIT)
        .unwrap();
    let parsed = mail_parser::MessageParser::default()
        .parse(&got.message[..])
        .expect("the delivered copy parses");
    assert_eq!(parsed.subject(), Some("請求書の送付について"));
    let body = parsed.body_text(0).expect("a text body");
    assert!(
        body.contains("請求書を添付いたしますので、ご確認をお願いいたします。"),
        "{body}"
    );
    assert!(
        body.contains("初めてやり取りする送信者"),
        "banner missing: {body}"
    );
    assert!(body.contains("hxxps://billing[.]example[.]net"), "{body}");
    let sanitized = got
        .header("X-Fumidai-Sanitized")
        .expect("X-Fumidai-Sanitized");
    assert!(sanitized.contains("DEL_MACRO"), "{sanitized}");
    assert_eq!(
        got.headers("X-Fumidai-Verdict").len(),
        1,
        "the forged verdict is gone"
    );
    assert_eq!(got.header("X-Fumidai-Action").as_deref(), Some("sanitize"));
    let ja_id = got
        .header("X-Fumidai-Quarantine-Id")
        .expect("the original is kept");
    assert!(String::from_utf8_lossy(&got.message).contains("invoice.docx"));

    // Auto-exec .xlsm and a password ZIP (password in the body): accepted and quarantined.
    let xlsm = attack(
        "testdata/corpus/email/generated/emotet_style_autoexec_xlsm.eml",
        "xlsm-1@attacker.example",
    );
    let pwzip = attack(
        "testdata/corpus/email/generated/emotet_style_pwzip_xlm_macro.eml",
        "pwzip-1@attacker.example",
    );
    let mut held = Vec::new();
    for raw in [&xlsm, &pwzip] {
        let sent = rig.send(
            &Mail::new("ceo@partner.example.jp", &["alice@corp.example.jp"], raw)
                .xclient(internet()),
        );
        assert_eq!(sent.code, 0, "{}", sent.transcript);
        held.push(sent.queue_id.clone().unwrap());
    }
    // A finding rule with "reject": 5xx at end of data.
    let eicar = attack(
        "testdata/corpus/email/generated/emotet_style_pwzip_eicar.eml",
        "eicar-1@attacker.example",
    );
    let sent = rig.send(
        &Mail::new("ceo@partner.example.jp", &["alice@corp.example.jp"], &eicar)
            .xclient(internet()),
    );
    assert_eq!(sent.code, 26, "{}", sent.transcript);
    assert!(
        sent.last_reply.starts_with("550 5.7.1"),
        "{}",
        sent.last_reply
    );

    let log = daemon.wait_log("judged", 6);
    for (queue_id, finding) in held.iter().zip(["VBA_AUTOEXEC", "ZIP_PASSWORD_FROM_BODY"]) {
        let line = the_log_line(&log, queue_id);
        assert!(line.contains("action=\"quarantine\""), "{line}");
        assert!(line.contains(finding), "{line}");
    }
    assert!(log.contains("action=\"reject\""), "{log}");
    // Every suspicious or malicious inbound mail is a springboard event. Unauthenticated (no DNS here), each is an
    // impersonation of its From's organisation: the three attack mails From example.com make one case, whatever
    // was done with each (quarantined twice, rejected once), with the client as source IP; the sanitised
    // first-contact mail makes its sender's.
    let cases = json_lines(&String::from_utf8_lossy(
        &site.ok(&["alerts", "list", "--json"]).stdout,
    ));
    let case = |org: &str| {
        cases
            .iter()
            .find(|c| c["organisation"] == org)
            .unwrap_or_else(|| panic!("no case for {org}: {cases:?}"))
    };
    assert_eq!(cases.len(), 2, "{cases:?}");
    let example = case("example.com");
    assert_eq!(example["kind"], "impersonation");
    assert_eq!(example["event_count"], 3);
    assert_eq!(example["source_ips"], serde_json::json!(["203.0.113.7"]));
    assert_eq!(example["sites"], serde_json::json!(["mx-e2e"]));
    assert_eq!(case("unknown-partner.example")["event_count"], 1);
    let items = quarantine_items(&site);
    let find = |mid: &str| {
        items
            .iter()
            .find(|i| i["message_id"].as_str() == Some(mid))
            .unwrap_or_else(|| panic!("{mid} not in the quarantine: {items:?}"))
    };
    let xlsm_id = find("xlsm-1@attacker.example")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    find("pwzip-1@attacker.example");
    find("eicar-1@attacker.example");
    assert!(items.iter().any(|i| i["id"].as_str() == Some(&ja_id)));
    // Nothing held reached the sink.
    assert!(rig
        .wait_for_header(
            "Message-ID",
            "<xlsm-1@attacker.example>",
            Duration::from_secs(1)
        )
        .is_err());

    // Released through the documented no-milter listener: the original, byte for byte.
    site.ok(&["quarantine", "release", &xlsm_id, "--by", "e2e"]);
    let released = rig
        .wait_for_header("Message-ID", "<xlsm-1@attacker.example>", WAIT)
        .unwrap();
    assert!(
        released.header("X-Fumidai-Action").is_none(),
        "not re-filtered"
    );
    // The file has LF line ends; SMTP carries CRLF.
    let original = String::from_utf8_lossy(&xlsm).replace("\r\n", "\n");
    let original_body = original.split_once("\n\n").unwrap().1;
    let released_body = String::from_utf8_lossy(released.body()).replace("\r\n", "\n");
    let first_difference = released_body
        .bytes()
        .zip(original_body.bytes())
        .position(|(a, b)| a != b);
    assert!(
        released_body == original_body,
        "the released body differs at {first_difference:?} (lengths {} and {}): {:?}",
        released_body.len(),
        original_body.len(),
        first_difference
            .map(|i| &released_body[i.saturating_sub(40)..(i + 40).min(released_body.len())])
    );

    // Metrics and health.
    let (code, metrics) = http_get("127.0.0.1:10030", "/metrics");
    assert_eq!(code, 200);
    for series in [
        "fumidai_milter_messages_total{direction=\"inbound\",verdict=\"malicious\",action=\"quarantine\"} 2",
        "fumidai_milter_messages_total{direction=\"outbound\",verdict=\"clean\",action=\"deliver\"} 1",
        "fumidai_milter_messages_total{direction=\"inbound\",verdict=\"suspicious\",action=\"sanitize\"} 1",
        "fumidai_milter_message_duration_seconds_count 6",
    ] {
        assert!(metrics.contains(series), "{series} missing:\n{metrics}");
    }
    assert_eq!(http_get("127.0.0.1:10030", "/healthz").0, 200);

    // Reload (the unit's ExecReload): clean inbound mail is now tagged.
    let mut config = std::fs::read_to_string(&site.config).unwrap();
    config.push_str("\n[policy.inbound]\nclean = \"tag\"\n");
    std::fs::write(&site.config, config).unwrap();
    daemon.reload();
    daemon.wait_log("configuration reloaded", 1);
    let again = message(
        "Ken <ken@partner.example.jp>",
        "alice@corp.example.jp",
        "in-2@partner.example.jp",
        "ご連絡",
        "承知しました。",
        None,
    );
    let sent = rig.send(
        &Mail::new("ken@partner.example.jp", &["alice@corp.example.jp"], &again)
            .xclient(internet()),
    );
    assert_eq!(sent.code, 0, "{}", sent.transcript);
    let got = rig
        .wait_for_header("Message-ID", "<in-2@partner.example.jp>", WAIT)
        .unwrap();
    let parsed = mail_parser::MessageParser::default()
        .parse(&got.message[..])
        .unwrap();
    assert_eq!(parsed.subject(), Some("【要注意】ご連絡"));

    // Stopped: Postfix answers 4xx at MAIL FROM and accepts nothing; locally submitted mail waits in
    // Postfix's queue and flows once fumidai is back.
    let log = daemon.stop();
    assert!(log.contains("stopped"), "{log}");
    let sent = rig.send(
        &Mail::new("ken@partner.example.jp", &["alice@corp.example.jp"], &again)
            .xclient(internet()),
    );
    assert_eq!(sent.code, 23, "{}", sent.transcript);
    assert!(sent.last_reply.starts_with("451"), "{}", sent.last_reply);
    let local = message(
        "Alice <alice@corp.example.jp>",
        "ken@partner.example.jp",
        "local-1@corp.example.jp",
        "ローカル投函",
        "sendmail で投函しました。",
        None,
    );
    let mut sendmail = Command::new("/usr/sbin/sendmail")
        .arg("-C")
        .arg(rig.config_dir())
        .args(["-f", "alice@corp.example.jp", "ken@partner.example.jp"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    sendmail.stdin.take().unwrap().write_all(&local).unwrap();
    assert!(sendmail.wait().unwrap().success());
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        rig.wait_for_header(
            "Message-ID",
            "<local-1@corp.example.jp>",
            Duration::from_secs(1)
        )
        .is_err(),
        "delivered while the milter was down"
    );
    let daemon = Daemon::start(&site, "milter-2.log");
    // Deferred mail is retried at once; what still sits in the maildrop waits for pickup, woken here.
    let _ = rig.flush();
    let _ = Command::new("/usr/sbin/postkick")
        .arg("-c")
        .arg(rig.config_dir())
        .args(["public", "pickup", "W"])
        .status();
    let got = rig
        .wait_for_header(
            "Message-ID",
            "<local-1@corp.example.jp>",
            Duration::from_secs(90),
        )
        .unwrap();
    // Inspected by the restarted milter, under the configuration on disk (clean = "tag").
    assert_eq!(got.header("X-Fumidai-Action").as_deref(), Some("tag"));
    drop(daemon);
}

/// The store goes away under a running milter: mail is tempfailed with a clear log line, never
/// delivered uninspected, and /healthz says so.
#[test]
fn a_dead_database_tempfails_with_a_clear_log_line() {
    if !rig::require_postfix() {
        return;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let Some(pg) = rt.block_on(fumidai_store::testing::PgSchema::create("milter_dead")) else {
        return;
    };
    let port = Rig::free_port();
    let http = Rig::free_port();
    let more = format!(
        "[milter]\nlisten = [\"inet:127.0.0.1:{port}\"]\nhttp_listen = \"127.0.0.1:{http}\"\nlocal_networks = []\n"
    );
    let site = Site::with_config(Some(&pg.url), &more);
    let daemon = Daemon::start(&site, "milter.log");
    let rig = Rig::start(RigOptions {
        milter: Some(format!("inet:127.0.0.1:{port}")),
        ..RigOptions::default()
    })
    .expect("rig");
    let mail = |id: &str| {
        message(
            "Ken <ken@partner.example.jp>",
            "alice@corp.example.jp",
            id,
            "ご連絡",
            "本文です。",
            None,
        )
    };
    let first = mail("db-1@partner.example.jp");
    let sent = rig.send(
        &Mail::new("ken@partner.example.jp", &["alice@corp.example.jp"], &first)
            .xclient(internet()),
    );
    assert_eq!(sent.code, 0, "{}", sent.transcript);
    rig.wait_for_header("Message-ID", "<db-1@partner.example.jp>", WAIT)
        .unwrap();

    rt.block_on(pg.drop_schema());
    let second = mail("db-2@partner.example.jp");
    let sent = rig.send(
        &Mail::new(
            "ken@partner.example.jp",
            &["alice@corp.example.jp"],
            &second,
        )
        .xclient(internet()),
    );
    assert_ne!(sent.code, 0, "{}", sent.transcript);
    assert!(
        sent.last_reply.starts_with("451 4.3.0"),
        "{}",
        sent.last_reply
    );
    let log = daemon.wait_log("not inspected: store:", 1);
    assert!(log.contains("action=\"tempfail\""), "{log}");
    assert!(rig
        .wait_for_header(
            "Message-ID",
            "<db-2@partner.example.jp>",
            Duration::from_secs(2)
        )
        .is_err());
    let (code, body) = http_get(&format!("127.0.0.1:{http}"), "/healthz");
    assert_eq!(code, 503, "{body}");
    let (_, metrics) = http_get(&format!("127.0.0.1:{http}"), "/metrics");
    assert!(
        metrics.contains("fumidai_milter_inspection_failures_total{kind=\"store\"} 1"),
        "{metrics}"
    );
}
