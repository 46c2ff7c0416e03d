//! The Postfix rig itself (tests/rig): a message sent to the listener without a milter arrives at
//! the sink with exactly its bytes (ISO-2022-JP, 8-bit, lines starting with "."), only Postfix's
//! `Received:` added; the listener whose milter does not answer tempfails at MAIL FROM and queues
//! nothing; XCLIENT makes Postfix see an Internet client and a SASL login.
//!
//! Needs root, Postfix and swaks (`.ci/run` installs them); `FUMIDAI_SKIP_POSTFIX=1` skips.

mod rig;

use rig::{Listener, Mail, Rig, RigOptions, Xclient};
use std::time::Duration;

/// A rig whose milter spec points at a port where nothing listens.
fn rig_with_dead_milter() -> Rig {
    let dead = Rig::free_port();
    Rig::start(RigOptions {
        milter: Some(format!("inet:127.0.0.1:{dead}")),
        ..RigOptions::default()
    })
    .expect("start the Postfix rig")
}

/// A Japanese business mail: ISO-2022-JP subject (encoded word) and body (raw JIS escapes), plus
/// what a careless client would change: 8-bit UTF-8 and Latin-1 bytes in a header and the body, lines
/// beginning with ".", a lone "." line, swaks's tokens and a literal backslash-n, a "From " line,
/// bare LF line ends, a trailing blank line.
fn japanese_message(id: &str) -> Vec<u8> {
    let mut m = Vec::new();
    m.extend_from_slice(
        format!(
            "From: =?ISO-2022-JP?B?GyRCOzNFRBsoQg==?= <yamada@partner.example.jp>\r\n\
             To: tanaka@corp.example.jp\r\n\
             Subject: =?ISO-2022-JP?B?GyRCOGErUSQ/JE47dDZIGyhC?=\r\n\
             Date: Sat, 05 Dec 2026 10:00:00 +0900\r\n\
             Message-ID: <{id}>\r\n\
             MIME-Version: 1.0\r\n\
             Content-Type: text/plain; charset=ISO-2022-JP\r\n\
             Content-Transfer-Encoding: 7bit\r\n\
             X-Raw-8bit: \u{65e5}\u{672c}\u{8a9e} caf\u{e9}\r\n\
             \r\n"
        )
        .as_bytes(),
    );
    // "見積書をお送りします。" in ISO-2022-JP
    m.extend_from_slice(b"\x1b$B8+@Q=q$r$*AW$j$7$^$9!#\x1b(B\r\n");
    m.extend_from_slice(b".leading dot\r\n");
    m.extend_from_slice(b"..two dots\r\n");
    m.extend_from_slice(b".\r\n");
    m.extend_from_slice(b"%DATE% %FROM_ADDRESS% literal \\n stays\n"); // bare LF
    m.extend_from_slice(b"From the desk of Yamada\r\n");
    m.extend_from_slice("8-bit: \u{65e5}\u{672c} ".as_bytes());
    m.extend_from_slice(b"latin1 \xe9\xe8\r\n");
    m.extend_from_slice(b"\r\n");
    m
}

/// The message without its first header field (Postfix's own `Received:`, with its folded lines).
fn without_first_field(msg: &[u8]) -> &[u8] {
    let mut p = msg
        .windows(2)
        .position(|w| w == b"\r\n")
        .expect("a header line")
        + 2;
    while p < msg.len() && matches!(msg[p], b' ' | b'\t') {
        p += msg[p..]
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("continuation ends")
            + 2;
    }
    &msg[p..]
}

#[test]
fn baseline_relays_the_message_byte_for_byte() {
    if !rig::require_postfix() {
        return;
    }
    let rig = rig_with_dead_milter();
    let original = japanese_message("rig-8bit-1@partner.example.jp");
    let sent = rig.send(
        &Mail::new(
            "yamada@partner.example.jp",
            &["tanaka@corp.example.jp"],
            &original,
        )
        .port(Listener::NoMilter),
    );
    assert_eq!(sent.code, 0, "swaks:\n{}", sent.transcript);
    assert!(
        sent.last_reply.starts_with("250 2.0.0 Ok: queued as "),
        "{}",
        sent.last_reply
    );
    let qid = sent.queue_id.clone().expect("queue id");

    let got = rig
        .wait_for_header(
            "Message-ID",
            "<rig-8bit-1@partner.example.jp>",
            Duration::from_secs(30),
        )
        .expect("delivered to the sink");
    assert_eq!(got.queue_id.as_deref(), Some(qid.as_str()));
    assert_eq!(got.rcpts(), ["tanaka@corp.example.jp"]);
    assert_eq!(
        got.mail_from().as_deref(),
        Some("yamada@partner.example.jp")
    );
    let received = got.header("Received").expect("Postfix's Received");
    assert!(
        received.contains("by rig.localdomain (Postfix) with ESMTP id"),
        "{received}"
    );
    let relayed = without_first_field(&got.message);
    let expected = rig::crlf(&original);
    assert!(
        relayed == expected.as_slice(),
        "the relayed message differs from the original\n--- relayed\n{}\n--- original\n{}",
        String::from_utf8_lossy(relayed),
        String::from_utf8_lossy(&expected)
    );
    // the body line with raw JIS escapes and the 8-bit bytes are there as sent
    assert!(got
        .body()
        .starts_with(b"\x1b$B8+@Q=q$r$*AW$j$7$^$9!#\x1b(B\r\n.leading dot\r\n..two dots\r\n.\r\n"));
    rig.wait_queue_empty(Duration::from_secs(30)).unwrap();
}

#[test]
fn milter_not_answering_tempfails_at_mail_from_and_queues_nothing() {
    if !rig::require_postfix() {
        return;
    }
    let rig = rig_with_dead_milter();
    let original = japanese_message("rig-down-1@partner.example.jp");
    let sent = rig.send(&Mail::new(
        "yamada@partner.example.jp",
        &["tanaka@corp.example.jp"],
        &original,
    ));
    assert_eq!(sent.code, 23, "swaks:\n{}", sent.transcript);
    assert_eq!(sent.smtp_code(), 451, "{}", sent.last_reply);
    assert!(
        sent.last_reply.starts_with("451 4.7.1"),
        "{}",
        sent.last_reply
    );
    assert!(sent.queue_id.is_none());
    assert!(rig.queue_is_empty(), "queue: {:?}", rig.queue());
    let milter = rig.milter.clone().unwrap();
    let log = rig.maillog();
    assert!(
        log.contains(&format!(
            "connect to Milter service {milter}: Connection refused"
        )),
        "maillog:\n{log}"
    );
    assert!(
        log.contains("NOQUEUE: milter-reject: MAIL from"),
        "maillog:\n{log}"
    );
    // nothing reached the sink, even a little later
    std::thread::sleep(Duration::from_millis(500));
    assert!(rig.sink_files().is_empty(), "{:?}", rig.sink_files());
}

#[test]
fn xclient_sets_the_client_address_and_login() {
    if !rig::require_postfix() {
        return;
    }
    let rig = rig_with_dead_milter();
    let original = japanese_message("rig-xclient-1@partner.example.jp");
    let sent = rig.send(
        &Mail::new(
            "yamada@partner.example.jp",
            &["tanaka@corp.example.jp", "suzuki@corp.example.jp"],
            &original,
        )
        .port(Listener::NoMilter)
        .xclient(Xclient {
            addr: Some("203.0.113.7".into()),
            login: Some("alice".into()),
            name: Some("mail.partner.example.jp".into()),
            ..Xclient::default()
        }),
    );
    assert_eq!(sent.code, 0, "swaks:\n{}", sent.transcript);
    let qid = sent.queue_id.clone().unwrap();
    let got = rig
        .wait_for_header(
            "Message-ID",
            "<rig-xclient-1@partner.example.jp>",
            Duration::from_secs(30),
        )
        .unwrap();
    let mut rcpts = got.rcpts();
    rcpts.sort(); // Postfix sorts the recipients of a delivery
    assert_eq!(rcpts, ["suzuki@corp.example.jp", "tanaka@corp.example.jp"]);
    let received = got.header("Received").unwrap();
    assert!(
        received.contains("from client.test (mail.partner.example.jp [203.0.113.7])")
            && received.contains("with ESMTPA id"),
        "{received}"
    );
    let log = rig.maillog_for(&qid).join("\n");
    assert!(
        log.contains(
            "client=mail.partner.example.jp[203.0.113.7], sasl_method=XCLIENT, sasl_username=alice"
        ),
        "{log}"
    );
}
