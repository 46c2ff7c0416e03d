//! Bounce recognition on real bounces (sisimai's Japanese set, CPython's and sisimai's other DSNs), crafted
//! RFC 3464 reports (hostile ones included), real non-bounce mail, and msg-id lists.
mod common;
use common::corpus;
use fumidai_mime::dsn::{bounce, msg_ids, BouncedRecipient};
use fumidai_mime::header;
use fumidai_mime::transfer::base64_encode;
use std::borrow::Cow;
use std::path::Path;
use std::time::{Duration, Instant};

/// Real bounces: file, standard report or not, and the returned message's Message-ID and From as read in
/// the file (the DSN's own Message-ID is a different field; in domino-02 and sendmail-18 the MTA gave the
/// DSN the same id as the message it returns).
const REAL_BOUNCES: &[(&str, bool, Option<&str>, Option<&str>)] = &[
    (
        "email/sisimai_japanese/lhost-domino-02.eml",
        true,
        Some("0000000000.00000000-0000000000.00000000-00000000.00000000@example.co.jp"),
        Some("kijitora@example.org"),
    ),
    (
        "email/sisimai_japanese/lhost-exchange2007-04.eml",
        true,
        Some("78f44d2b2ea5763064d21edacd9d8d18@example.net"),
        Some("kijitora@example.com"),
    ),
    // Plain text (ISO-2022-JP) from Postmaster@ezweb.ne.jp; the headers follow a line of dashes.
    (
        "email/sisimai_japanese/lhost-ezweb-01.eml",
        false,
        Some("20080907124011.12ABCD8@lsean.ezweb.ne.jp"),
        Some("user@example.or.jp"),
    ),
    // fml's loop alert from the list admin address (X-MLServer), the mail quoted indented after
    // "Original mail as follows:" with an mbox From line first.
    (
        "email/sisimai_japanese/lhost-fml-03.eml",
        false,
        Some("201704290233445.00000000EEEE@neko.example.org"),
        Some("sironeko@neko.example.org"),
    ),
    // multipart/mixed with message/rfc822 from Return-Path <>; the DSN has two Message-ID fields of its own.
    (
        "email/sisimai_japanese/lhost-kddi-02.eml",
        false,
        Some("00000000.000000000000000@exampe.cat"),
        Some("kijitora@cat.example.jp"),
    ),
    // Plain text from postmaster after "-------original message" (two other separators come first).
    (
        "email/sisimai_japanese/lhost-mfilter-01.eml",
        false,
        Some("000000000000000@exmaple.com"),
        Some("shironeko@example.jp"),
    ),
    (
        "email/sisimai_japanese/lhost-notes-01.eml",
        false,
        Some("000000000.0000000000000.notes@example.co.jp"),
        Some("shironeko@example.jp"),
    ),
    (
        "email/sisimai_japanese/lhost-office365-04.eml",
        true,
        Some("SLXP216MB0381A8F03A83505296890D11A9950@SLXP216MB0381.KORP216.PROD.OUTLOOK.COM"),
        Some("azumakuniyuki@outlook.example.com"),
    ),
    // text/rfc822-headers whose Message-ID has no angle brackets.
    (
        "email/sisimai_japanese/lhost-postfix-09.eml",
        true,
        Some("20140913142357"),
        Some("kijitora@example.ne.jp"),
    ),
    (
        "email/sisimai_japanese/lhost-postfix-48.eml",
        true,
        Some("20160429233445.8FDCD7D68ECB@mail.example.com"),
        Some("kijitora-nyaan@example.jp"),
    ),
    (
        "email/sisimai_japanese/lhost-postfix-53.eml",
        true,
        Some("20160429233445.D64BFFEA8AE7@mail.example.com"),
        Some("kijitora@example.net"),
    ),
    (
        "email/sisimai_japanese/lhost-sendmail-18.eml",
        true,
        Some("200904292334.00000000000000@mx356.example.jp"),
        Some("shironeko@example.org"),
    ),
    // multipart/report without report-type, with a message/DELIVERY-STATUS part.
    (
        "email/cpython_test_email/msg_16.txt",
        true,
        Some("002001c144a6$8752e060$56104586@oxy.edu"),
        Some("henryi@oxy.edu"),
    ),
    // Backscatter itself: a worm's mail forging webmaster@python.org, bounced with text/rfc822-headers.
    (
        "email/cpython_test_email/msg_43.txt",
        true,
        Some("edab.7804f5cb8070@python.org"),
        Some("webmaster@python.org"),
    ),
    // Plain text from "MAILER-DAEMON <>" (no Return-Path), CRLF, headers after "Message headers follow.".
    (
        "email/bounces/lhost-dragonfly-01.eml",
        false,
        Some("66681288.e06d1.3824794@df.example.jp"),
        Some("kijitora@df.example.jp"),
    ),
    // The returned message has no Message-ID field, so there is none to report; the DSN's own
    // (<000...000@example.com>) must not stand in for it.
    (
        "email/bounces/email-exchange2007-05.eml",
        true,
        None,
        Some("kijitora@example.jp"),
    ),
];

#[test]
fn real_bounces_give_the_returned_message() {
    for (file, standard, id, from) in REAL_BOUNCES {
        let raw = corpus(file);
        let b = bounce(&raw, None).unwrap_or_else(|| panic!("{file}: not taken for a bounce"));
        assert_eq!(b.standard, *standard, "{file}");
        assert_eq!(b.original_message_id.as_deref(), *id, "{file}");
        assert_eq!(b.original_from.as_deref(), *from, "{file}");
        assert!(b.original_headers.is_some(), "{file}");
        assert_eq!(b.recipients.is_empty(), !standard, "{file}");
    }
}

#[test]
fn every_sisimai_japanese_file_is_covered() {
    let dir = format!(
        "{}/../../testdata/corpus/email/sisimai_japanese",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("corpus dir") {
        let name = entry.expect("entry").file_name();
        let rel = format!("email/sisimai_japanese/{}", name.to_string_lossy());
        assert!(
            REAL_BOUNCES.iter().any(|(f, ..)| *f == rel),
            "{rel} has no expectation"
        );
        n += 1;
    }
    assert_eq!(n, 12);
}

#[test]
fn real_report_fields() {
    let raw = corpus("email/sisimai_japanese/lhost-postfix-48.eml");
    let b = bounce(&raw, None).expect("bounce");
    assert_eq!(
        b.recipients,
        vec![BouncedRecipient {
            final_recipient: Some("neko-nyaan@ntt.example.net".into()),
            action: Some("failed".into()),
            status: Some("5.0.0".into()),
            diagnostic_code: Some("smtp; 552 Too many recipients".into()),
        }]
    );
    // Thu, 29 Apr 2016 23:34:45 +0900
    assert_eq!(b.original_date, Some(1_461_940_485));
    // 7bit: the header block is a slice of the raw message, up to the returned message's last field.
    let headers = b.original_headers.expect("headers");
    assert!(matches!(headers, Cow::Borrowed(_)));
    assert!(headers.starts_with(b"Received: from localhost"));
    assert!(headers.ends_with(b"Date: Thu, 29 Apr 2016 23:34:45 +0900 (JST)"));

    // Status with a comment after the code, fields in another order, MESSAGE/DELIVERY-STATUS in capitals.
    let raw = corpus("email/cpython_test_email/msg_16.txt");
    let b = bounce(&raw, None).expect("bounce");
    assert_eq!(b.recipients.len(), 1);
    assert_eq!(
        b.recipients[0].final_recipient.as_deref(),
        Some("jangel1@cougar.noc.ucla.edu")
    );
    assert_eq!(b.recipients[0].status.as_deref(), Some("5.0.0"));
    assert_eq!(b.recipients[0].diagnostic_code, None);

    // 25 per-recipient groups, each with its own Final-Recipient.
    let raw = corpus("email/cpython_test_email/msg_43.txt");
    let b = bounce(&raw, None).expect("bounce");
    assert_eq!(b.recipients.len(), 25);
    assert!(b
        .recipients
        .iter()
        .all(|r| r.action.as_deref() == Some("failed")
            && r.status.as_deref() == Some("5.7.1")
            && r.final_recipient
                .as_deref()
                .is_some_and(|a| a.ends_with("@dot.ca.gov"))));

    // ISO-2022-JP in the Diagnostic-Code, decoded.
    let raw = corpus("email/sisimai_japanese/lhost-domino-02.eml");
    let b = bounce(&raw, None).expect("bounce");
    let diag = b.recipients[0]
        .diagnostic_code
        .as_deref()
        .unwrap_or_default();
    assert!(diag.contains("ディレクトリには見つかりません"), "{diag}");

    // Mon, 21 May 2018 05:07:53 +0000; Thu, 22 Feb 2011 23:34:45 +0900; Sun, 7 Sep 2008 21:40:11 +0900 (JST).
    for (file, date) in [
        (
            "email/sisimai_japanese/lhost-office365-04.eml",
            1_526_879_273,
        ),
        ("email/bounces/email-exchange2007-05.eml", 1_298_385_285),
        ("email/sisimai_japanese/lhost-ezweb-01.eml", 1_220_791_211),
    ] {
        let raw = corpus(file);
        assert_eq!(
            bounce(&raw, None).and_then(|b| b.original_date),
            Some(date),
            "{file}"
        );
    }
}

#[test]
fn the_envelope_sender_decides_for_non_standard_bounces() {
    // kddi-02 is a bounce by its null Return-Path only (From is no-reply@): a known envelope sender that is
    // a person's address overrides the Return-Path field, and a null one is enough without the field.
    let raw = corpus("email/sisimai_japanese/lhost-kddi-02.eml");
    assert!(bounce(&raw, Some("someone@example.net")).is_none());
    assert!(bounce(&raw, Some("<>")).is_some());
    let without_return_path = String::from_utf8_lossy(&raw).replacen("Return-Path: <>\n", "", 1);
    assert!(bounce(without_return_path.as_bytes(), None).is_none());
    assert!(bounce(without_return_path.as_bytes(), Some("")).is_some());
}

const RETURNED: &str = "Received: from client.example.org (client.example.org [192.0.2.7])\r\n\
\tby mx.example.org (Postfix) with ESMTP id 4A1B2C3D\r\n\
\tfor <bob@example.net>; Mon, 3 Mar 2025 10:00:00 +0900 (JST)\r\n\
From: \"Sales\" <Sales@Example.ORG>\r\n\
To: bob@example.net\r\n\
Subject: Invoice\r\n\
Message-ID: <returned-1@example.org>\r\n\
Date: Mon, 3 Mar 2025 10:00:00 +0900\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain\r\n\
\r\n\
Please find the invoice.\r\n";

const DSN_ID: &str = "dsn-own-1@mx.example.net";

fn group(rcpt: &str, status: &str) -> String {
    format!(
        "Final-Recipient: rfc822; {rcpt}\r\nOriginal-Recipient: rfc822;{rcpt}\r\nAction: failed\r\n\
         Status: {status}\r\nRemote-MTA: dns; mx.example.net\r\n\
         Diagnostic-Code: smtp; 550 {status} User unknown\r\n"
    )
}

/// A Postfix-style three-part report: notification, delivery status, returned part (`returned_part` is
/// the part's header fields and body).
fn report(groups: &[String], returned_part: &str) -> String {
    format!(
        "Return-Path: <>\r\nFrom: MAILER-DAEMON@mx.example.net (Mail Delivery System)\r\n\
         To: sales@example.org\r\nSubject: Undelivered Mail Returned to Sender\r\n\
         Message-Id: <{DSN_ID}>\r\nDate: Mon, 3 Mar 2025 10:00:05 +0900 (JST)\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"B1/mx\"\r\n\r\n\
         This is a MIME-encapsulated message.\r\n\r\n--B1/mx\r\nContent-Description: Notification\r\n\
         Content-Type: text/plain; charset=us-ascii\r\n\r\nI'm sorry to have to inform you that your message \
         could not\r\nbe delivered to one or more recipients. It's attached below.\r\n\r\n\
         --B1/mx\r\nContent-Description: Delivery report\r\nContent-Type: message/delivery-status\r\n\r\n\
         Reporting-MTA: dns; mx.example.net\r\nArrival-Date: Mon, 3 Mar 2025 10:00:01 +0900 (JST)\r\n\r\n\
         {}\r\n--B1/mx\r\n{returned_part}\r\n--B1/mx--\r\n",
        groups.join("\r\n")
    )
}

fn rfc822_part(msg: &str) -> String {
    format!("Content-Description: Undelivered Message\r\nContent-Type: message/rfc822\r\n\r\n{msg}")
}

#[test]
fn crafted_reports() {
    let one = [group("bob@example.net", "5.1.1")];
    let raw = report(&one, &rfc822_part(RETURNED));
    let b = bounce(raw.as_bytes(), Some("")).expect("bounce");
    assert!(b.standard);
    assert_eq!(
        b.original_message_id.as_deref(),
        Some("returned-1@example.org")
    );
    assert_eq!(b.original_from.as_deref(), Some("sales@example.org"));
    // Mon, 3 Mar 2025 10:00:00 +0900
    assert_eq!(b.original_date, Some(1_740_963_600));
    assert_eq!(
        b.recipients,
        vec![BouncedRecipient {
            final_recipient: Some("bob@example.net".into()),
            action: Some("failed".into()),
            status: Some("5.1.1".into()),
            diagnostic_code: Some("smtp; 550 5.1.1 User unknown".into()),
        }]
    );
    let headers = b.original_headers.expect("headers");
    assert!(headers.starts_with(b"Received: from client.example.org"));
    assert!(headers.ends_with(b"Content-Type: text/plain"));
    assert!(
        !headers.windows(7).any(|w| w == b"invoice"),
        "body is not part of the header block"
    );

    // text/rfc822-headers: the header block alone.
    let headers_only = RETURNED.split("\r\n\r\n").next().unwrap_or_default();
    let raw = report(
        &one,
        &format!("Content-Type: text/rfc822-headers\r\n\r\n{headers_only}\r\n"),
    );
    let b = bounce(raw.as_bytes(), None).expect("bounce");
    assert_eq!(
        b.original_message_id.as_deref(),
        Some("returned-1@example.org")
    );
    assert_eq!(b.original_from.as_deref(), Some("sales@example.org"));

    // base64-encoded returned part, in message/global.
    let encoded = base64_encode(RETURNED.as_bytes());
    let lines: Vec<&str> = encoded
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect();
    let raw = report(
        &one,
        &format!(
            "Content-Type: message/global\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n",
            lines.join("\r\n")
        ),
    );
    let b = bounce(raw.as_bytes(), None).expect("bounce");
    assert_eq!(
        b.original_message_id.as_deref(),
        Some("returned-1@example.org")
    );
    assert!(matches!(b.original_headers, Some(Cow::Owned(_))));

    // Several recipients, in order.
    let many = [
        group("a@example.net", "5.1.1"),
        group("b@example.net", "4.2.2"),
        group("c@example.net", "5.7.1"),
    ];
    let raw = report(&many, &rfc822_part(RETURNED));
    let b = bounce(raw.as_bytes(), None).expect("bounce");
    let got: Vec<(Option<&str>, Option<&str>)> = b
        .recipients
        .iter()
        .map(|r| (r.final_recipient.as_deref(), r.status.as_deref()))
        .collect();
    assert_eq!(
        got,
        vec![
            (Some("a@example.net"), Some("5.1.1")),
            (Some("b@example.net"), Some("4.2.2")),
            (Some("c@example.net"), Some("5.7.1")),
        ]
    );
}

#[test]
fn hostile_reports_stay_bounded() {
    let one = [group("bob@example.net", "5.1.1")];

    // No boundary parameter: the walker's sweep for undeclared boundaries still finds the parts.
    let raw = report(&one, &rfc822_part(RETURNED)).replace(";\r\n\tboundary=\"B1/mx\"", "");
    let b = bounce(raw.as_bytes(), None).expect("bounce");
    assert!(b.standard);
    assert_eq!(b.recipients.len(), 1);
    assert_eq!(
        b.original_message_id.as_deref(),
        Some("returned-1@example.org")
    );

    // 10,000 recipient groups: 50 kept. 10,000 Final-Recipient fields in one group: one recipient.
    let groups: Vec<String> = (0..10_000)
        .map(|i| group(&format!("r{i}@example.net"), "5.1.1"))
        .collect();
    let raw = report(&groups, &rfc822_part(RETURNED));
    let b = bounce(raw.as_bytes(), None).expect("bounce");
    assert_eq!(b.recipients.len(), 50);
    assert_eq!(
        b.recipients[49].final_recipient.as_deref(),
        Some("r49@example.net")
    );
    let one_group: String = (0..10_000)
        .map(|i| format!("Final-Recipient: rfc822; r{i}@example.net\r\n"))
        .collect();
    let raw = report(&[one_group], &rfc822_part(RETURNED));
    let b = bounce(raw.as_bytes(), None).expect("bounce");
    assert_eq!(b.recipients.len(), 1);
    assert_eq!(
        b.recipients[0].final_recipient.as_deref(),
        Some("r0@example.net")
    );

    // A report returning a report: the returned message is the inner DSN (its id is the returned one),
    // whose own parts are not the outer report's.
    let inner = report(
        &[group("inner@example.com", "4.4.1")],
        &rfc822_part(RETURNED),
    )
    .replace(DSN_ID, "inner-dsn@mx.example.com")
    .replace("B1/mx", "B2/inner");
    let raw = report(&one, &rfc822_part(&inner));
    let b = bounce(raw.as_bytes(), None).expect("bounce");
    assert_eq!(
        b.original_message_id.as_deref(),
        Some("inner-dsn@mx.example.com")
    );
    assert_eq!(b.recipients.len(), 1);
    assert_eq!(
        b.recipients[0].final_recipient.as_deref(),
        Some("bob@example.net")
    );

    // Reports nested in reports 200 deep: past the walker's depth limit nothing more is opened.
    let mut nested = format!(
        "Content-Type: message/delivery-status\r\n\r\n{}",
        group("deep@example.net", "5.0.0")
    );
    for i in 0..200 {
        nested = format!(
            "Content-Type: multipart/report; report-type=delivery-status; boundary=\"n{i}\"\r\n\r\n\
             --n{i}\r\n{nested}\r\n--n{i}--\r\n"
        );
    }
    let raw = format!("From: postmaster@example.net\r\nMessage-ID: <{DSN_ID}>\r\n{nested}");
    let b = bounce(raw.as_bytes(), None).expect("bounce");
    assert!(b.standard);
    assert!(b.recipients.is_empty());
    assert_eq!(b.original_message_id, None);

    // A returned part that is garbage: no header block, and the DSN's own Message-ID is not taken instead.
    let garbage =
        "Content-Type: message/rfc822\r\n\r\n\u{0}\u{1}\u{7f} no fields here \u{ff}\r\n<<<>>>\r\n";
    let raw = report(&one, garbage);
    let b = bounce(raw.as_bytes(), None).expect("bounce");
    assert!(b.standard);
    assert_eq!(b.recipients.len(), 1);
    assert!(b.original_headers.is_none());
    assert_eq!(b.original_message_id, None);
    assert_eq!(b.original_from, None);

    // 5 MB bodies: in the returned message, as text lines after a marker, as marker lines, as blank lines.
    let started = Instant::now();
    let big_body = "x".repeat(99) + "\r\n";
    let big_returned = format!("{RETURNED}{}", big_body.repeat(50_000));
    let raw = report(&one, &rfc822_part(&big_returned));
    assert!(raw.len() > 5_000_000);
    let b = bounce(raw.as_bytes(), None).expect("bounce");
    assert_eq!(
        b.original_message_id.as_deref(),
        Some("returned-1@example.org")
    );
    let plain = |body: &str| {
        format!(
            "From: MAILER-DAEMON@mx.example.net\r\nSubject: Returned mail\r\nMessage-ID: <{DSN_ID}>\r\n\r\n{body}"
        )
    };
    for body in [
        format!(
            "----- Original message -----\r\n{}",
            big_body.repeat(50_000)
        ),
        "-----\r\n".repeat(750_000),
        format!("Returned mail follows\r\n{}", "\r\n".repeat(2_500_000)),
        format!("{}\r\n", "y".repeat(5_000_000)),
    ] {
        let raw = plain(&body);
        assert!(raw.len() >= 5_000_000);
        assert!(bounce(raw.as_bytes(), None).is_none());
    }
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "5 MB inputs took {:?}",
        started.elapsed()
    );
}

/// A person's mail quoting a message's header fields under a typical separator.
const QUOTING: &str = "Return-Path: <alice@example.org>\r\n\
From: Alice <alice@example.org>\r\n\
To: bob@example.net\r\n\
Subject: Re: Invoice\r\n\
Message-ID: <reply-1@example.org>\r\n\
In-Reply-To: <returned-1@example.org>\r\n\
References: <returned-1@example.org>\r\n\
Date: Mon, 3 Mar 2025 11:00:00 +0900\r\n\
\r\n\
Bob, see the headers of the mail you asked about:\r\n\
\r\n\
----- Original message -----\r\n\
Received: from client.example.org by mx.example.org; Mon, 3 Mar 2025 10:00:00 +0900\r\n\
Message-ID: <returned-1@example.org>\r\n\
From: Sales <sales@example.org>\r\n\
Subject: Invoice\r\n\
\r\n\
-----Original Message-----\r\n\
From: Bob <bob@example.net>\r\n\
Sent: Monday, March 3, 2025 10:30 AM\r\n\
To: Alice <alice@example.org>\r\n\
Subject: Invoice\r\n";

#[test]
fn quoting_headers_is_not_bouncing() {
    assert!(bounce(QUOTING.as_bytes(), None).is_none());
    assert!(bounce(QUOTING.as_bytes(), Some("alice@example.org")).is_none());
    // The same text from a null sender is a bounce: the sender is what tells them apart.
    let b = bounce(QUOTING.as_bytes(), Some("<>")).expect("bounce");
    assert!(!b.standard);
    assert_eq!(
        b.original_message_id.as_deref(),
        Some("returned-1@example.org")
    );
    assert_eq!(b.original_from.as_deref(), Some("sales@example.org"));

    // A reply carrying the returned message as an attachment, from a person.
    let forward = format!(
        "From: alice@example.org\r\nTo: bob@example.net\r\nSubject: Fwd: Invoice\r\nMessage-ID: <fwd-1@example.org>\r\n\
         Content-Type: multipart/mixed; boundary=\"F\"\r\n\r\n--F\r\nContent-Type: text/plain\r\n\r\nFYI\r\n\
         --F\r\n{}\r\n--F--\r\n",
        rfc822_part(RETURNED)
    );
    assert!(bounce(forward.as_bytes(), None).is_none());
    assert!(bounce(forward.as_bytes(), Some("alice@example.org")).is_none());

    // A read receipt (report-type=disposition-notification) is a report but no delivery status.
    let mdn = forward
        .replace(
            "multipart/mixed;",
            "multipart/report; report-type=disposition-notification;",
        )
        .replace(
            "Content-Type: message/rfc822",
            "Content-Type: message/disposition-notification",
        );
    assert!(bounce(mdn.as_bytes(), None).is_none());

    // MAILER-DAEMON with no returned header block (a bare notice) is no bounce we can use.
    let notice = "From: MAILER-DAEMON@mx.example.net\r\nSubject: Warning: could not send message for past 4 hours\r\n\
                  \r\n----- Transcript of session follows -----\r\n450 4.4.1 Connection timed out\r\n";
    assert!(bounce(notice.as_bytes(), None).is_none());
}

/// Real mail that is not a bounce: every file under these corpus directories except the known bounces.
#[test]
fn real_non_bounces() {
    let root = format!("{}/../../testdata/corpus/email", env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in [
        "spamassassin",
        "cpython_test_email",
        "mail-parser",
        "rspamd",
        "tika",
        "generated",
    ] {
        collect_files(&Path::new(&root).join(dir), &mut files);
    }
    assert!(files.len() > 100, "{}", files.len());
    let mut bounces = Vec::new();
    for f in &files {
        let raw = std::fs::read(f).expect("read");
        if bounce(&raw, None).is_some() {
            bounces.push(
                f.strip_prefix(&root)
                    .unwrap_or(f)
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
    bounces.sort();
    assert_eq!(
        bounces,
        vec![
            "cpython_test_email/msg_16.txt".to_owned(),
            "cpython_test_email/msg_43.txt".to_owned()
        ]
    );
}

fn collect_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect_files(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// The first value of `name` in the header block starting at `from` in a corpus file.
fn corpus_field(file: &str, from: &[u8], name: &str) -> String {
    let raw = corpus(file);
    let at = raw
        .windows(from.len())
        .position(|w| w == from)
        .unwrap_or_else(|| panic!("{file}: no {:?}", String::from_utf8_lossy(from)));
    let (fields, _) = header::split(&raw[at..]);
    let field = fields.iter().find(|h| h.name == name).expect("field");
    String::from_utf8_lossy(field.value).into_owned()
}

#[test]
fn msg_ids_of_real_and_odd_values() {
    // Folded over two lines (Mew, 2000).
    let v = corpus_field(
        "email/spamassassin/nice/cjk/iso-2022-jp.2",
        b"Return-Path",
        "references",
    );
    assert!(v.contains('\n'));
    assert_eq!(
        msg_ids(&v),
        vec![
            "200002180440.NAA74451@prince.net.ebina.hitachi.co.jp",
            "20149.950850047@lychee.itojun.org"
        ]
    );
    // A slash in the local part, folded (a ticket system's ids).
    let v = corpus_field(
        "email/mail-parser/thirdparty/015.eml",
        b"References:",
        "references",
    );
    assert_eq!(
        msg_ids(&v),
        vec![
            "tickets/35323930373635@pobo.intra.proxmox.com",
            "f5ce60407059d7e4a1a287650059aa36@mailserver.de"
        ]
    );
    // Comments and phrases around ids, as older mailers write In-Reply-To.
    assert_eq!(
        msg_ids("Your message of \"Fri, 18 Feb 2000 13:40:47 +0900\".\r\n\t<20149.950850047@lychee.itojun.org>"),
        vec!["20149.950850047@lychee.itojun.org"]
    );
    assert_eq!(
        msg_ids("<a@b.example> (Joe's message of \"Mon, 1 Jan 2024 (with <fake@x> inside)\") <c@d.example>"),
        vec!["a@b.example", "c@d.example"]
    );
    // Missing brackets.
    assert_eq!(
        msg_ids("a@b.example c@d.example"),
        vec!["a@b.example", "c@d.example"]
    );
    assert_eq!(msg_ids(" 20140913142357 "), vec!["20140913142357"]);
    assert_eq!(
        msg_ids("<a@b.example> c@d.example, word"),
        vec!["a@b.example", "c@d.example"]
    );
    // Repeats once; garbage gives nothing or only what is an id.
    assert_eq!(msg_ids("<a@b> <a@b> a@b"), vec!["a@b"]);
    assert!(msg_ids("").is_empty());
    assert!(msg_ids("<<<>>>").is_empty());
    assert!(msg_ids("(((unclosed comment <x@y>").is_empty());
    assert!(msg_ids("no ids at all here").is_empty());
    assert_eq!(msg_ids("<<a@b> <unterminated@c"), vec!["a@b"]);
    assert!(msg_ids(&format!("<{}@x>", "a".repeat(2_000))).is_empty());
    // At most 100.
    let long: String = (0..1_000)
        .map(|i| format!("<id{i}@example.org> "))
        .collect();
    let ids = msg_ids(&long);
    assert_eq!(ids.len(), 100);
    assert_eq!(ids[99], "id99@example.org");
}

#[test]
fn msg_ids_of_long_word_runs_stay_linear() {
    // 200,000 distinct words and 200,000 distinct bare ids: one pass, 100 kept.
    let words: String = (0..200_000).map(|i| format!("w{i} ")).collect();
    assert!(msg_ids(&words).is_empty());
    let bare: String = (0..200_000).map(|i| format!("b{i}@x ")).collect();
    let started = Instant::now();
    let ids = msg_ids(&bare);
    assert_eq!(ids.len(), 100);
    assert_eq!(ids[0], "b0@x");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}
