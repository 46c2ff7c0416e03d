//! Notices, contacts, ARF and CSV copies of a case, asserted on content.

use fumidai_alerts::config::NotifyConfig;
use fumidai_alerts::machine::{arf, csv, CSV_COLUMNS};
use fumidai_alerts::notice::{contacts, render, NoticeError, NoticeInput};
use fumidai_alerts::{
    AuthCheck, Case, CaseState, EventKind, Organisation, Sample, SampleAttachment,
};
use mail_parser::MimeHeaders;

/// 2022-03-01 00:00 UTC (09:00 JST).
const MARCH_1: i64 = 1_646_092_800;
const HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

fn sample() -> Sample {
    Sample {
        // A second after the sender's Date: the ARF's Arrival-Date is when it arrived.
        received_at: Some(MARCH_1 + 1),
        date: Some("Tue, 1 Mar 2022 09:00:00 +0900".into()),
        message_id: Some("<20220301090000.1234@mail.example.co.jp>".into()),
        return_path: Some("<tanaka@example.co.jp>".into()),
        from: Some("\"田中 太郎\" <tanaka@example.co.jp>".into()),
        reply_to: Some("<tanaka@example.co.jp>".into()),
        subject: Some("Re: 請求書の件".into()),
        received: vec![
            "from mail.example.co.jp (mail.example.co.jp [192.0.2.10])\r\n\tby mx.receiver.example with ESMTPS; Tue, 1 Mar 2022 09:00:01 +0900".into(),
            "from pc01 ([198.51.100.7]) by mail.example.co.jp with ESMTPSA".into(),
        ],
        authentication_results: vec!["mx.receiver.example; spf=pass smtp.mailfrom=example.co.jp; dkim=pass header.d=example.co.jp".into()],
        source_ip: Some("192.0.2.10".into()),
        authentication: vec![
            AuthCheck { method: "spf".into(), result: "pass".into(), domain: "example.co.jp".into() },
            AuthCheck { method: "dkim".into(), result: "pass".into(), domain: "example.co.jp".into() },
        ],
        attachments: vec![SampleAttachment {
            name: "請求書.zip > 請求書.xlsm".into(),
            kind: "application/vnd.ms-excel.sheet.macroEnabled.12".into(),
            size: 48_213,
            sha256: HASH.into(),
            encrypted: true,
        }],
        zip_password_in_body: true,
        urls: vec!["hxxps://dl[.]evil[.]example/a.zip".into()],
        recipient_count: 3,
        recipient_domains: vec!["receiver.example".into(), "partner.example".into()],
        likely_account: Some("tanaka@example.co.jp".into()),
        findings: vec!["VBA_AUTOEXEC".into()],
        reason: "SPF and DKIM pass for example.co.jp".into(),
    }
}

fn case(kind: EventKind, samples: Vec<Sample>) -> Case {
    Case {
        id: 12,
        organisation: "example.co.jp".into(),
        kind,
        state: CaseState::New,
        first_seen: MARCH_1,
        last_seen: MARCH_1 + 3 * 86_400 + 3600,
        event_count: 17,
        source_ips: vec!["192.0.2.10".into(), "192.0.2.11".into()],
        samples,
        sites: vec!["site-a".into()],
        opened_at: MARCH_1,
        reopened: 0,
        state_changed_at: MARCH_1,
        last_notified_at: None,
    }
}

fn notifier(languages: &[&str]) -> NotifyConfig {
    NotifyConfig {
        organisation: "Example CSIRT".into(),
        from: "csirt@notifier.example".into(),
        languages: languages.iter().map(|l| (*l).to_owned()).collect(),
        ..NotifyConfig::default()
    }
}

fn organisation() -> Organisation {
    Organisation {
        domain: "example.co.jp".into(),
        name: "株式会社例".into(),
        industry: Some("E".into()),
        contact: None,
    }
}

fn assert_no_live_links(text: &str) {
    for scheme in ["http://", "https://", "ftp://", "www."] {
        assert!(
            !text.to_ascii_lowercase().contains(scheme),
            "live {scheme} in:\n{text}"
        );
    }
}

fn assert_plain(text: &str) {
    assert!(
        !text.chars().any(|c| c.is_control() && c != '\n'),
        "control character in:\n{text:?}"
    );
}

#[test]
fn springboard_notice_in_japanese_then_english() {
    let case = case(EventKind::Springboard, vec![sample()]);
    let org = organisation();
    let notice = render(NoticeInput {
        case: &case,
        organisation: Some(&org),
        notifier: &notifier(&["ja", "en"]),
        now: MARCH_1 + 4 * 86_400,
    })
    .unwrap();
    assert_eq!(
        notice.subject,
        "[踏み台通知 / Springboard notice] FUMIDAI-12: example.co.jp"
    );
    assert_eq!(
        notice.to,
        ["abuse@example.co.jp", "postmaster@example.co.jp"]
    );
    let body = &notice.body;
    let ja = body
        .find("株式会社例（example.co.jp） ご担当者様")
        .expect("Japanese part");
    let en = body
        .find("To the person responsible at 株式会社例 (example.co.jp)")
        .expect("English part");
    assert!(ja < en);
    assert!(
        body[ja..en].contains("\n======"),
        "languages separated by a line"
    );
    for expected in [
        "FUMIDAI-12",
        "踏み台（貴組織から実際に送信されたメール）",
        "SPF または DKIM が成功しました",
        "SPF or DKIM passed for your domain",
        "2022-03-01 09:00 JST",
        "2022-03-01 00:00 UTC",
        "2022-03-04 10:00 JST",
        "観測したメールの数: 17 通",
        "Messages seen: 17",
        "192.0.2.10, 192.0.2.11",
        "Date:           Tue, 1 Mar 2022 09:00:00 +0900",
        "Message-ID:     <20220301090000.1234@mail.example.co.jp>",
        "Return-Path:    <tanaka@example.co.jp>",
        "From:           \"田中 太郎\" <tanaka@example.co.jp>",
        "Subject:        Re: 請求書の件",
        // A folded Received field comes out as one line.
        "from mail.example.co.jp (mail.example.co.jp [192.0.2.10]) by mx.receiver.example with ESMTPS;",
        "mx.receiver.example; spf=pass smtp.mailfrom=example.co.jp",
        "spf=pass (example.co.jp); dkim=pass (example.co.jp)",
        "請求書.zip > 請求書.xlsm（application/vnd.ms-excel.sheet.macroEnabled.12、48213 バイト、暗号化）",
        HASH,
        "本文中の ZIP パスワード: あり",
        "ZIP password in the body: yes",
        "hxxps://dl[.]evil[.]example/a.zip",
        "宛先: 3 件（ドメイン: receiver.example, partner.example）",
        "Recipients: 3 (domains: receiver.example, partner.example)",
        "Account that probably sent it: tanaka@example.co.jp",
        "EmoCheck",
        "SMTP-AUTH",
        "MFA",
        "forwarding rules",
        "Throttle outbound",
        "JPCERT/CC",
        "csirt@notifier.example",
    ] {
        assert!(body.contains(expected), "missing {expected:?} in:\n{body}");
    }
    assert!(
        !body.contains("p=reject"),
        "impersonation advice in a springboard notice"
    );
    assert_no_live_links(body);
    assert_plain(body);
}

#[test]
fn impersonation_notice_in_english_only() {
    let mut s = sample();
    s.authentication = vec![AuthCheck {
        method: "spf".into(),
        result: "fail".into(),
        domain: "example.co.jp".into(),
    }];
    s.likely_account = None;
    let case = case(EventKind::Impersonation, vec![s]);
    let notice = render(NoticeInput {
        case: &case,
        organisation: None,
        notifier: &notifier(&["en"]),
        now: MARCH_1,
    })
    .unwrap();
    assert_eq!(
        notice.subject,
        "[Impersonation notice] FUMIDAI-12: example.co.jp"
    );
    let body = &notice.body;
    for expected in [
        "To the person responsible at example.co.jp,",
        "impersonation (your organisation's name or domain used by someone else)",
        "Your systems are probably\n  not compromised",
        "Warn your partners and customers",
        "Publish a notice",
        "DMARC with p=reject",
        "JPCERT/CC",
        "Account that probably sent it: (unknown)",
    ] {
        assert!(body.contains(expected), "missing {expected:?} in:\n{body}");
    }
    assert!(
        !body.contains("ご担当者様"),
        "Japanese in an English-only notice"
    );
    assert!(
        !body.contains("SMTP-AUTH"),
        "springboard advice in an impersonation notice"
    );
    assert!(!body.contains("======"));
}

#[test]
fn impersonation_notice_in_japanese() {
    let case = case(EventKind::Impersonation, vec![sample()]);
    let notice = render(NoticeInput {
        case: &case,
        organisation: None,
        notifier: &notifier(&["ja"]),
        now: MARCH_1,
    })
    .unwrap();
    assert_eq!(notice.subject, "[なりすまし通知] FUMIDAI-12: example.co.jp");
    assert!(notice.body.contains("侵害されている可能性は低い"));
    assert!(notice.body.contains("DMARC（p=reject）"));
    assert!(!notice.body.contains("To the person responsible"));
}

#[test]
fn hostile_sample_is_inert() {
    let mut s = sample();
    let long = "あ".repeat(10_000);
    s.subject = Some(format!(
        "<script>alert(1)</script> see https://evil.example/login?next=http://x.example \x1b[31m\u{202E}gpj.exe {long}"
    ));
    s.from = Some("x@evil.example\r\nBcc: victim@example.org\r\n\r\n".into());
    s.reply_to = Some("www.evil.example\x00".into());
    s.attachments[0].name = "http://evil.example/\u{7}invoice.zip".into();
    s.urls = vec!["https://evil.example/raw".into()];
    s.received =
        vec!["from evil (evil.example [203.0.113.9])\n\n--=_fumidai-arf-12-0\n".into(); 40];
    let case = case(EventKind::Springboard, vec![s.clone()]);
    let notice = render(NoticeInput {
        case: &case,
        organisation: None,
        notifier: &notifier(&["ja", "en"]),
        now: MARCH_1,
    })
    .unwrap();
    let body = &notice.body;
    assert_no_live_links(body);
    assert_plain(body);
    assert!(!body.contains('\u{202E}'));
    assert!(
        body.contains("hxxps://evil[.]example/login?next=hxxp://x[.]example"),
        "{body}"
    );
    assert!(body.contains("hxxp://evil[.]example/invoice.zip"));
    assert!(body.contains("hxxps://evil[.]example/raw"));
    // Header injection folded into one line; the script tag is inert text on the Subject line only.
    assert!(body.contains("From:           x@evil.example Bcc: victim@example.org\n"));
    let subject_lines: Vec<&str> = body
        .lines()
        .filter(|l| l.trim_start().starts_with("Subject:"))
        .collect();
    assert_eq!(subject_lines.len(), 2);
    for line in subject_lines {
        assert!(line.contains("<script>alert(1)</script>"));
        assert!(
            line.chars().count() < 340,
            "subject not capped: {} characters",
            line.chars().count()
        );
        assert!(line.ends_with('…'));
    }
    assert!(body.lines().filter(|l| l.contains("<script>")).count() == 2);
    // 40 Received fields: 20 shown, the rest counted.
    assert!(body.contains("ほか 20 件"));
    assert!(body.contains("and 20 more"));

    let report = String::from_utf8(arf(&case, &s, &notifier(&["en"]), MARCH_1)).unwrap();
    assert_no_live_links(&report);
    let parsed = mail_parser::MessageParser::default()
        .parse(report.as_bytes())
        .unwrap();
    assert_eq!(
        parsed.parts.len(),
        4,
        "root and three parts despite a forged boundary:\n{report}"
    );
    assert!(report.lines().all(|l| !l.starts_with("Bcc:")));
}

#[test]
fn render_refuses_unknown_languages_and_unusable_domains() {
    let case1 = case(EventKind::Springboard, vec![sample()]);
    let err = render(NoticeInput {
        case: &case1,
        organisation: None,
        notifier: &notifier(&["fr"]),
        now: 0,
    })
    .unwrap_err();
    assert!(matches!(err, NoticeError::Language(l) if l == "fr"));
    let mut bad = case(EventKind::Springboard, vec![]);
    bad.organisation = "not a domain\r\n".into();
    let err = render(NoticeInput {
        case: &bad,
        organisation: None,
        notifier: &notifier(&["en"]),
        now: 0,
    })
    .unwrap_err();
    assert!(matches!(err, NoticeError::NoRecipient(_)));
}

#[test]
fn contacts_prefer_the_directory_then_rfc2142() {
    let mut org = organisation();
    assert_eq!(
        contacts("Example.CO.JP", None),
        ["abuse@example.co.jp", "postmaster@example.co.jp"]
    );
    assert_eq!(
        contacts("example.co.jp", Some(&org)),
        ["abuse@example.co.jp", "postmaster@example.co.jp"]
    );
    org.contact = Some("csirt@example.co.jp".into());
    assert_eq!(
        contacts("example.co.jp", Some(&org)),
        ["csirt@example.co.jp"]
    );
    // A contact that could inject a header is not used.
    org.contact = Some("a@example.co.jp\r\nBcc: b@example.org".into());
    assert_eq!(
        contacts("example.co.jp", Some(&org)),
        ["abuse@example.co.jp", "postmaster@example.co.jp"]
    );
    assert!(contacts("", None).is_empty());
    assert!(contacts("bad domain", None).is_empty());
}

fn part_text(message: &mail_parser::Message<'_>, part: &mail_parser::MessagePart<'_>) -> String {
    let (start, end) = (part.offset_body as usize, part.offset_end as usize);
    String::from_utf8_lossy(&message.raw_message()[start..end]).into_owned()
}

#[test]
fn arf_is_an_rfc5965_report() {
    let case = case(EventKind::Springboard, vec![sample()]);
    let bytes = arf(
        &case,
        &case.samples[0],
        &notifier(&["ja", "en"]),
        MARCH_1 + 86_400,
    );
    let message = mail_parser::MessageParser::default()
        .parse(&bytes)
        .expect("parses");
    let root = message.content_type().expect("content type");
    assert_eq!(
        (root.ctype(), root.subtype()),
        ("multipart", Some("report"))
    );
    assert_eq!(root.attribute("report-type"), Some("feedback-report"));
    assert_eq!(
        message.subject(),
        Some("Abuse report FUMIDAI-12: example.co.jp")
    );
    assert_eq!(
        message
            .from()
            .and_then(|f| f.first())
            .and_then(|a| a.address()),
        Some("csirt@notifier.example")
    );
    let children: Vec<_> = message.parts.iter().skip(1).collect();
    assert_eq!(children.len(), 3);
    let types: Vec<String> = children
        .iter()
        .map(|p| {
            p.content_type()
                .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or("")))
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(
        types,
        [
            "text/plain",
            "message/feedback-report",
            "text/rfc822-headers"
        ]
    );

    let human = part_text(&message, children[0]);
    assert!(human.contains("FUMIDAI-12"));
    let feedback = part_text(&message, children[1]);
    for field in [
        "Feedback-Type: abuse\r\n",
        &format!("User-Agent: fumidai/{}\r\n", env!("CARGO_PKG_VERSION")),
        "Version: 1\r\n",
        "Original-Mail-From: <tanaka@example.co.jp>\r\n",
        "Arrival-Date: Tue, 01 Mar 2022 00:00:01 +0000\r\n",
        "Source-IP: 192.0.2.10\r\n",
        "Reported-Domain: example.co.jp\r\n",
        "Incidents: 17\r\n",
        "Authentication-Results: notifier.example; spf=pass smtp.mailfrom=example.co.jp; dkim=pass header.d=example.co.jp\r\n",
    ] {
        assert!(feedback.contains(field), "missing {field:?} in:\n{feedback}");
    }
    let headers = part_text(&message, children[2]);
    for field in [
        "Return-Path: <tanaka@example.co.jp>",
        "Received: from mail.example.co.jp",
        "Subject: Re: 請求書の件",
        "Message-ID: <20220301090000.1234@mail.example.co.jp>",
    ] {
        assert!(headers.contains(field), "missing {field:?} in:\n{headers}");
    }
    assert!(
        !headers.contains("hxxps://dl.evil"),
        "headers part carries no body content"
    );

    let impersonation = case_with_kind(EventKind::Impersonation);
    let bytes = arf(
        &impersonation,
        &impersonation.samples[0],
        &notifier(&["en"]),
        MARCH_1,
    );
    assert!(String::from_utf8(bytes)
        .unwrap()
        .contains("Feedback-Type: fraud\r\n"));
}

fn case_with_kind(kind: EventKind) -> Case {
    case(kind, vec![sample()])
}

#[test]
fn csv_has_one_quoted_row_per_sample() {
    let mut hostile = sample();
    hostile.subject = Some("=HYPERLINK(\"https://evil.example\"), \"quoted\"\r\nnext line".into());
    hostile.date = None;
    hostile.received_at = None;
    let case = case(EventKind::Springboard, vec![sample(), hostile]);
    let text = csv(&case);
    assert_no_live_links(&text);
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(headers, CSV_COLUMNS);
    assert_eq!(
        &headers[..9],
        [
            "timestamp",
            "case_id",
            "organisation",
            "kind",
            "source_ip",
            "message_id",
            "from",
            "subject",
            "attachment_sha256"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    let column = |name: &str| headers.iter().position(|h| h == name).unwrap();
    assert_eq!(&rows[0][column("timestamp")], "2022-03-01 00:00:01");
    assert_eq!(&rows[0][column("case_id")], "FUMIDAI-12");
    assert_eq!(&rows[0][column("kind")], "springboard");
    assert_eq!(&rows[0][column("attachment_sha256")], HASH);
    assert_eq!(&rows[0][column("subject")], "Re: 請求書の件");
    assert_eq!(&rows[0][column("spf")], "pass example.co.jp");
    assert_eq!(
        &rows[0][column("recipient_domains")],
        "receiver.example partner.example"
    );
    assert_eq!(&rows[0][column("message_count")], "17");
    // No arrival time nor Date (a sample from elsewhere): the case's last event; a formula is neutralised, quotes and commas survive, the line break goes.
    assert_eq!(&rows[1][column("timestamp")], "2022-03-04 01:00:00");
    assert_eq!(
        &rows[1][column("subject")],
        "'=HYPERLINK(\"hxxps://evil[.]example\"), \"quoted\" next line"
    );
}
