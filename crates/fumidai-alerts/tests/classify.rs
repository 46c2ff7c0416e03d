//! Springboard events from real messages: the Emotet-style samples re-addressed as from a partner, DKIM-signed
//! with a key made for the test, and verified offline against preloaded DNS answers (no network).

use base64::Engine as _;
use fumidai_alerts::auth::SpfInput;
use fumidai_alerts::{
    springboard_event, Authenticator, Classifier, EventContext, EventKind, FreeMail, MessageFacts,
    SmtpFacts, SpringboardEvent,
};
use fumidai_core::Verdict;
use fumidai_engine::{Config, Engine, Envelope, MessageReport};
use fumidai_mime::Partner;
use mail_auth::common::crypto::Ed25519Key;
use mail_auth::common::headers::HeaderWriter;
use mail_auth::dkim::DkimSigner;
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

const PARTNER_IP: &str = "192.0.2.10";
const OTHER_IP: &str = "198.51.100.7";
const GMAIL_IP: &str = "203.0.113.5";

fn testdata(rel: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn xlm_sample() -> Vec<u8> {
    testdata("corpus/email/generated/emotet_style_pwzip_xlm_macro.eml")
}

/// `raw` with its From field replaced and two Received fields on top (the newest first).
fn readdress(raw: &[u8], from: &str) -> Vec<u8> {
    let text = String::from_utf8_lossy(raw);
    let mut out = String::from(
        "Received: from mx.partner.co.jp (mx.partner.co.jp [192.0.2.10])\r\n\tby mx.corp.example.jp with ESMTPS id 4Q1; Tue, 15 Nov 2022 10:40:05 +0000\r\n\
         Received: from pc-0042.partner.co.jp (unknown [10.1.2.3])\r\n\tby mx.partner.co.jp with ESMTPSA id 9Z; Tue, 15 Nov 2022 10:40:03 +0000\r\n\
         Authentication-Results: mx.partner.co.jp; auth=pass smtp.auth=keiri\r\n",
    );
    let mut replaced = false;
    for line in text.split_inclusive('\n') {
        if !replaced && line.starts_with("From:") {
            out.push_str(&format!("From: {from}\r\n"));
            replaced = true;
        } else {
            out.push_str(line);
        }
    }
    out.into_bytes()
}

/// A DKIM key for `partner.co.jp` (selector `s1`): the signer, and the TXT record to preload.
fn partner_key() -> (DkimSigner<Ed25519Key, mail_auth::dkim::Done>, String) {
    let key = Ed25519Key::from_pkcs8_der(&Ed25519Key::generate_pkcs8().unwrap()).unwrap();
    let record = format!(
        "v=DKIM1; k=ed25519; p={}",
        base64::engine::general_purpose::STANDARD.encode(key.public_key())
    );
    let signer = DkimSigner::from_key(key)
        .domain("partner.co.jp")
        .selector("s1")
        .headers(["From", "To", "Subject", "Date", "Message-ID"]);
    (signer, record)
}

fn signed(signer: &DkimSigner<Ed25519Key, mail_auth::dkim::Done>, raw: &[u8]) -> Vec<u8> {
    let signature = signer.sign(raw).unwrap();
    [signature.to_header().as_bytes(), raw].concat()
}

/// SPF records for partner.co.jp and gmail.com, and the partner's DKIM key when given.
fn authenticator(dkim_record: Option<&str>) -> Authenticator {
    let a = Authenticator::offline("mx.corp.example.jp").unwrap();
    a.add_txt("partner.co.jp", "v=spf1 ip4:192.0.2.10 -all");
    a.add_txt("gmail.com", "v=spf1 ip4:203.0.113.5 -all");
    if let Some(record) = dkim_record {
        a.add_txt("s1._domainkey.partner.co.jp", record);
    }
    a
}

fn context() -> EventContext {
    EventContext {
        site: "corp-tokyo".into(),
        classifier: Classifier::new(
            FreeMail::default(),
            &[Partner {
                name: "Partner Co".into(),
                domains: vec!["partner.co.jp".into()],
            }],
            &["corp.example.jp".into()],
        ),
    }
}

fn scan(raw: &[u8]) -> MessageReport {
    Engine::new(Config::default())
        .unwrap()
        .scan(raw, &Envelope::default())
        .unwrap()
}

struct Smtp {
    ip: IpAddr,
    helo: &'static str,
    mail_from: &'static str,
    rcpt_to: Vec<String>,
}

impl Smtp {
    fn new(ip: &str, helo: &'static str, mail_from: &'static str) -> Self {
        Smtp {
            ip: ip.parse().unwrap(),
            helo,
            mail_from,
            rcpt_to: vec![
                "tanaka@corp.example.jp".into(),
                "suzuki@mail.corp.example.jp".into(),
                "sato@other.example".into(),
            ],
        }
    }

    fn facts(&self) -> SmtpFacts<'_> {
        SmtpFacts {
            client_ip: Some(self.ip),
            helo: self.helo,
            mail_from: self.mail_from,
            rcpt_to: &self.rcpt_to,
            sasl_login: None,
        }
    }
}

async fn event_for(
    authenticator: &Authenticator,
    raw: &[u8],
    report: &MessageReport,
    verdict: Verdict,
    smtp: &Smtp,
) -> Option<SpringboardEvent> {
    let facts = MessageFacts {
        verdict,
        score: report.score,
        findings: &report.findings,
        attachments: &report.attachments,
        observed_at: 1_668_508_805,
    };
    springboard_event(&context(), authenticator, raw, &facts, &smtp.facts()).await
}

fn check<'e>(event: &'e SpringboardEvent, method: &str) -> Vec<(&'e str, &'e str)> {
    event
        .sample
        .authentication
        .iter()
        .filter(|c| c.method == method)
        .map(|c| (c.result.as_str(), c.domain.as_str()))
        .collect()
}

#[tokio::test]
async fn authenticated_partner_mail_is_a_springboard() {
    let (signer, record) = partner_key();
    let raw = signed(
        &signer,
        &readdress(&xlm_sample(), "\"Partner Co 経理部\" <keiri@partner.co.jp>"),
    );
    let report = scan(&raw);
    assert_eq!(report.verdict, Verdict::Malicious, "{:?}", report.findings);
    let smtp = Smtp::new(PARTNER_IP, "mx.partner.co.jp", "keiri@partner.co.jp");
    let event = event_for(
        &authenticator(Some(&record)),
        &raw,
        &report,
        report.verdict,
        &smtp,
    )
    .await
    .expect("an event");

    assert_eq!(
        event.kind,
        EventKind::Springboard,
        "{}",
        event.sample.reason
    );
    assert_eq!(event.organisation, "partner.co.jp");
    assert_eq!(event.verdict, "malicious");
    assert_eq!(event.site, "corp-tokyo");
    assert_eq!(check(&event, "spf"), [("pass", "partner.co.jp")]);
    assert_eq!(check(&event, "dkim"), [("pass", "partner.co.jp")]);
    assert_eq!(
        check(&event, "dmarc-alignment"),
        [("pass", "partner.co.jp")]
    );
    assert_eq!(
        event.sample.likely_account.as_deref(),
        Some("keiri@partner.co.jp")
    );
    assert_eq!(event.id.len(), 64);

    let sample = &event.sample;
    assert_eq!(sample.received.len(), 2);
    assert!(
        sample.received[0].starts_with("from mx.partner.co.jp"),
        "{:?}",
        sample.received
    );
    assert!(sample.received[1].starts_with("from pc-0042.partner.co.jp"));
    assert_eq!(
        sample.authentication_results,
        ["mx.partner.co.jp; auth=pass smtp.auth=keiri"]
    );
    assert_eq!(sample.source_ip.as_deref(), Some(PARTNER_IP));
    assert_eq!(
        sample.message_id.as_deref(),
        Some("<emotet_style_pwzip_xlm_macro@example.com>")
    );
    assert_eq!(sample.subject.as_deref(), Some("RE: Re: Order details"));
    assert_eq!(
        sample.date.as_deref(),
        Some("Tue, 15 Nov 2022 11:40:02 +0100")
    );
    assert_eq!(sample.return_path.as_deref(), Some("<keiri@partner.co.jp>"));
    assert!(sample
        .from
        .as_deref()
        .unwrap()
        .contains("keiri@partner.co.jp"));
    assert!(sample.zip_password_in_body);
    assert!(
        sample.findings.iter().any(|f| f == "XLM_MACRO"),
        "{:?}",
        sample.findings
    );

    // Attachments: the archive and what it holds, hashes as inspection computed them.
    let zip = &report.attachments[0];
    assert_eq!(sample.attachments[0].sha256, zip.sha256);
    assert_eq!(sample.attachments[0].name, "Order_details.zip");
    assert_eq!(sample.attachments[0].kind, "application/zip");
    assert!(!zip.children.is_empty());
    let inner = &sample.attachments[1];
    assert_eq!(inner.sha256, zip.children[0].sha256);
    assert!(
        inner.name.starts_with("Order_details.zip > "),
        "{}",
        inner.name
    );
    assert!(inner.encrypted);

    // Recipients only as a count and registrable domains.
    assert_eq!(sample.recipient_count, 3);
    assert_eq!(sample.recipient_domains, ["example.jp", "other.example"]);
    let json = serde_json::to_string(&event).unwrap();
    assert!(
        !json.contains("tanaka@") && !json.contains("sato@"),
        "{json}"
    );
}

#[tokio::test]
async fn the_same_mail_from_elsewhere_with_a_broken_signature_is_impersonation() {
    let (signer, record) = partner_key();
    let signed = signed(
        &signer,
        &readdress(&xlm_sample(), "\"Partner Co 経理部\" <keiri@partner.co.jp>"),
    );
    let tampered = String::from_utf8(signed)
        .unwrap()
        .replace("Password: ord2022", "Password: ord2023")
        .into_bytes();
    let report = scan(&tampered);
    let smtp = Smtp::new(OTHER_IP, "host.attacker.example", "keiri@partner.co.jp");
    let event = event_for(
        &authenticator(Some(&record)),
        &tampered,
        &report,
        report.verdict,
        &smtp,
    )
    .await
    .expect("an event");

    assert_eq!(
        event.kind,
        EventKind::Impersonation,
        "{}",
        event.sample.reason
    );
    assert_eq!(event.organisation, "partner.co.jp");
    assert_eq!(check(&event, "spf"), [("fail", "partner.co.jp")]);
    let dkim = check(&event, "dkim");
    assert_eq!(dkim.len(), 1);
    assert_ne!(dkim[0].0, "pass");
    assert_eq!(
        check(&event, "dmarc-alignment"),
        [("fail", "partner.co.jp")]
    );
    assert_eq!(event.sample.likely_account, None);
}

#[tokio::test]
async fn a_partner_name_on_a_free_mail_address_is_impersonation_of_the_partner() {
    let raw = readdress(
        &xlm_sample(),
        "\"Partner Co 山田 <yamada@partner.co.jp>\" <attacker123@gmail.com>",
    );
    let report = scan(&raw);
    let smtp = Smtp::new(GMAIL_IP, "mail-pf1.google.com", "attacker123@gmail.com");
    let event = event_for(&authenticator(None), &raw, &report, report.verdict, &smtp)
        .await
        .expect("an event");

    assert_eq!(check(&event, "spf"), [("pass", "gmail.com")]);
    assert_eq!(event.kind, EventKind::Impersonation);
    assert_eq!(
        event.organisation, "partner.co.jp",
        "{}",
        event.sample.reason
    );

    // Only the partner's name, no address: still the partner.
    let raw = readdress(&xlm_sample(), "\"Partner Co 山田\" <attacker123@gmail.com>");
    let event = event_for(&authenticator(None), &raw, &report, report.verdict, &smtp)
        .await
        .expect("an event");
    assert_eq!(
        (event.kind, event.organisation.as_str()),
        (EventKind::Impersonation, "partner.co.jp")
    );
}

#[tokio::test]
async fn free_mail_naming_nobody_and_clean_mail_make_no_event() {
    let raw = readdress(&xlm_sample(), "\"Yamada\" <attacker123@gmail.com>");
    let report = scan(&raw);
    let smtp = Smtp::new(GMAIL_IP, "mail-pf1.google.com", "attacker123@gmail.com");
    let authenticator = authenticator(None);
    assert_eq!(
        event_for(&authenticator, &raw, &report, report.verdict, &smtp).await,
        None
    );

    let raw = readdress(&xlm_sample(), "\"Partner Co\" <keiri@partner.co.jp>");
    let smtp = Smtp::new(PARTNER_IP, "mx.partner.co.jp", "keiri@partner.co.jp");
    assert_eq!(
        event_for(&authenticator, &raw, &report, Verdict::Clean, &smtp).await,
        None
    );
}

#[tokio::test]
async fn the_same_message_twice_is_one_event_id() {
    let raw = readdress(&xlm_sample(), "\"Partner Co\" <keiri@partner.co.jp>");
    let report = scan(&raw);
    let authenticator = authenticator(None);
    let smtp = Smtp::new(OTHER_IP, "host.attacker.example", "keiri@partner.co.jp");
    let first = event_for(&authenticator, &raw, &report, report.verdict, &smtp)
        .await
        .unwrap();
    let again = event_for(&authenticator, &raw, &report, report.verdict, &smtp)
        .await
        .unwrap();
    assert_eq!(first.id, again.id);

    // Without a Message-ID the raw bytes decide.
    let text = String::from_utf8(raw).unwrap();
    let no_id: String = text
        .split_inclusive('\n')
        .filter(|l| !l.starts_with("Message-ID:"))
        .collect();
    let a = event_for(
        &authenticator,
        no_id.as_bytes(),
        &report,
        report.verdict,
        &smtp,
    )
    .await
    .unwrap();
    let b = event_for(
        &authenticator,
        no_id.as_bytes(),
        &report,
        report.verdict,
        &smtp,
    )
    .await
    .unwrap();
    assert_eq!(a.id, b.id);
    assert_ne!(a.id, first.id);
    let changed = no_id.replace("Order details", "Order details 2");
    let c = event_for(
        &authenticator,
        changed.as_bytes(),
        &report,
        report.verdict,
        &smtp,
    )
    .await
    .unwrap();
    assert_ne!(c.id, a.id);
}

#[tokio::test]
async fn japanese_headers_are_decoded_and_links_defanged() {
    let raw = testdata("messages/first_contact_iso2022jp_docm.eml");
    let report = scan(&raw);
    assert_ne!(report.verdict, Verdict::Clean, "{:?}", report.findings);
    let smtp = Smtp::new(
        OTHER_IP,
        "mx.unknown-partner.example",
        "sender@unknown-partner.example",
    );
    let event = event_for(&authenticator(None), &raw, &report, report.verdict, &smtp)
        .await
        .expect("an event");

    // Nothing passes for unknown-partner.example: an unauthenticated From of that organisation.
    assert_eq!(
        (event.kind, event.organisation.as_str()),
        (EventKind::Impersonation, "unknown-partner.example")
    );
    let sample = &event.sample;
    assert!(
        sample.from.as_deref().unwrap().contains("山田"),
        "{:?}",
        sample.from
    );
    assert!(
        sample.subject.as_deref().unwrap().contains("請求書"),
        "{:?}",
        sample.subject
    );
    assert_eq!(
        sample.urls,
        ["hxxps://billing[.]example[.]net/invoice/2026-11"]
    );
    assert_eq!(sample.attachments[0].name, "invoice.docm");
    assert_eq!(sample.attachments[0].sha256, report.attachments[0].sha256);
    assert!(!sample.zip_password_in_body);
}

#[tokio::test]
async fn dns_that_does_not_answer_gives_temperror() {
    let (signer, record) = partner_key();
    let raw = signed(
        &signer,
        &readdress(&xlm_sample(), "\"Partner Co\" <keiri@partner.co.jp>"),
    );
    let ip: IpAddr = PARTNER_IP.parse().unwrap();
    let spf = Some(SpfInput {
        client_ip: ip,
        helo: "mx.partner.co.jp",
        mail_from: "keiri@partner.co.jp",
    });

    // A name server that never answers: the message's deadline ends the wait, nothing fails.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let waiting =
        Authenticator::with_name_servers(&[silent.local_addr().unwrap()], "mx.corp.example.jp")
            .unwrap()
            .with_timeout(Duration::from_millis(300));
    let started = std::time::Instant::now();
    let checks = waiting.check(&raw, spf, Some("partner.co.jp")).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let results: Vec<(&str, &str)> = checks
        .iter()
        .map(|c| (c.method.as_str(), c.result.as_str()))
        .collect();
    assert_eq!(
        results,
        [
            ("spf", "temperror"),
            ("dkim", "temperror"),
            ("dmarc-alignment", "fail")
        ]
    );

    // The same with the answers at hand: they are used, the silent server is never needed.
    waiting.add_txt("partner.co.jp", "v=spf1 ip4:192.0.2.10 -all");
    waiting.add_txt("s1._domainkey.partner.co.jp", &record);
    let checks = waiting.check(&raw, spf, Some("partner.co.jp")).await;
    assert!(checks.iter().all(|c| c.result == "pass"), "{checks:?}");

    // No answer preloaded and no name server: not a pass, and no error either.
    let empty = Authenticator::offline("mx.corp.example.jp").unwrap();
    let checks = empty.check(&raw, spf, Some("partner.co.jp")).await;
    assert!(checks.iter().all(|c| c.result != "pass"), "{checks:?}");
    assert!(checks
        .iter()
        .any(|c| c.method == "spf" && ["temperror", "none"].contains(&c.result.as_str())));
}

/// Mostly header-ish bytes, so that the parsers get past the first line.
const GARBAGE_BYTES: &[u8] = b"From:<@>\r\n =?\"\x1b$B\xff\xfeDKIM-Signature: d=; b=; v=1 Received";

#[tokio::test]
async fn truncated_and_garbage_input_never_panics() {
    let raw = readdress(
        &xlm_sample(),
        "\"Partner Co <yamada@partner.co.jp>\" <attacker123@gmail.com>",
    );
    let report = scan(&raw);
    let authenticator = authenticator(None);
    let smtp = Smtp::new(GMAIL_IP, "", "");
    let mut inputs: Vec<Vec<u8>> = (0..raw.len())
        .step_by(97)
        .map(|n| raw[..n].to_vec())
        .collect();
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    for len in [0usize, 1, 7, 64, 500, 4096] {
        let garbage: Vec<u8> = (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                GARBAGE_BYTES[(state % GARBAGE_BYTES.len() as u64) as usize]
            })
            .collect();
        inputs.push(garbage);
    }
    for input in &inputs {
        // Either outcome is fine; it must not panic or hang.
        let _ = event_for(&authenticator, input, &report, Verdict::Malicious, &smtp).await;
    }
}

#[tokio::test]
async fn a_message_with_many_signatures_is_not_verified() {
    let (signer, record) = partner_key();
    let mut raw = readdress(&xlm_sample(), "\"Partner Co\" <keiri@partner.co.jp>");
    for _ in 0..9 {
        raw = signed(&signer, &raw);
    }
    let checks = authenticator(Some(&record))
        .check(&raw, None, Some("partner.co.jp"))
        .await;
    let results: Vec<(&str, &str)> = checks
        .iter()
        .map(|c| (c.method.as_str(), c.result.as_str()))
        .collect();
    assert_eq!(
        results,
        [("dkim", "permerror"), ("dmarc-alignment", "fail")]
    );
}
