//! The outbound watch against both real backends (a SQLite file, a PostgreSQL schema): accounts held once at
//! the threshold, by two nodes at once too; new recipients from the exchange history; replies referencing our
//! mail from another organisation; bounces of mail we never sent, crafted (RFC 3464) and from the corpus.

use std::sync::Arc;

use fumidai_core::Verdict;
use fumidai_outbound::backscatter::check_bounce;
use fumidai_outbound::sent::{check_references, sent_message};
use fumidai_outbound::watch::{watch, Outgoing};
use fumidai_outbound::OutboundConfig;
use fumidai_store::testing::each_backend;
use fumidai_store::{Direction, Exchange, Store};

const T0: i64 = 1_764_000_000;

fn outgoing<'a>(
    login: &'a str,
    recipients: &'a [String],
    verdict: Verdict,
    at: i64,
) -> Outgoing<'a> {
    Outgoing {
        login: Some(login),
        mail_from: Some("<someone@example.jp>"),
        sender: Some("taro@example.jp"),
        recipients,
        verdict,
        at,
    }
}

fn rcpts(n: usize, offset: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("r{}@customer{}.example", i + offset, i + offset))
        .collect()
}

#[tokio::test]
async fn an_account_is_held_once_at_the_risky_threshold_and_stays_held() {
    each_backend(|store, _| async move {
        let config = OutboundConfig::default();
        let one = rcpts(1, 0);
        for i in 0..2 {
            let w = watch(
                store.as_ref(),
                &config,
                &outgoing("alice", &one, Verdict::Suspicious, T0 + i),
            )
            .await
            .unwrap();
            assert!(
                w.findings.is_empty() && w.newly_held.is_none(),
                "message {i}: {w:?}"
            );
        }
        let third = watch(
            store.as_ref(),
            &config,
            &outgoing("Alice", &one, Verdict::Malicious, T0 + 2),
        )
        .await
        .unwrap();
        let hold = third
            .newly_held
            .expect("the third risky message holds the account");
        assert_eq!(hold.account, "alice");
        assert!(
            hold.reason
                .starts_with("3 suspicious or malicious messages in 60 minutes"),
            "{}",
            hold.reason
        );
        assert_eq!(third.findings[0].id, "OUTBOUND_ACCOUNT_HELD");
        // A clean message of the held account is held too, and the alert is not raised again.
        let later = watch(
            store.as_ref(),
            &config,
            &outgoing("alice", &one, Verdict::Clean, T0 + 3),
        )
        .await
        .unwrap();
        assert!(later.newly_held.is_none());
        assert_eq!(later.findings[0].id, "OUTBOUND_ACCOUNT_HELD");
        // Another account is untouched.
        let bob = watch(
            store.as_ref(),
            &config,
            &outgoing("bob", &one, Verdict::Suspicious, T0 + 3),
        )
        .await
        .unwrap();
        assert!(bob.findings.is_empty());
        // Released, it sends again and counts from the release.
        assert!(store
            .outbound_release("alice", T0 + 10, "admin")
            .await
            .unwrap());
        let released = watch(
            store.as_ref(),
            &config,
            &outgoing("alice", &one, Verdict::Suspicious, T0 + 70),
        )
        .await
        .unwrap();
        assert!(released.findings.is_empty(), "{released:?}");
    })
    .await;
}

#[tokio::test]
async fn new_recipients_come_from_the_exchange_history() {
    each_backend(|store, _| async move {
        let known = rcpts(40, 0);
        let history: Vec<Exchange> = known
            .iter()
            .map(|r| Exchange {
                local: "taro@example.jp".into(),
                external: r.clone(),
                direction: Direction::Outbound,
                at: T0 - 86_400,
            })
            .collect();
        store.record(&history).await.unwrap();
        let config = OutboundConfig {
            max_messages: 0,
            max_recipients: 0,
            max_risky: 0,
            ..OutboundConfig::default()
        };
        // 40 known recipients, one message each: never held.
        for (i, r) in known.iter().enumerate() {
            let to = [r.clone()];
            let w = watch(
                store.as_ref(),
                &config,
                &outgoing("taro", &to, Verdict::Clean, T0 + i as i64),
            )
            .await
            .unwrap();
            assert!(w.findings.is_empty(), "known recipient {r}");
        }
        // New recipients: 50 new of 90 in the window is more than half, the 50th holds.
        let fresh = rcpts(50, 1_000);
        let mut held_at = None;
        for (i, r) in fresh.iter().enumerate() {
            let to = [r.clone()];
            let w = watch(
                store.as_ref(),
                &config,
                &outgoing("taro", &to, Verdict::Clean, T0 + 100 + i as i64),
            )
            .await
            .unwrap();
            if w.newly_held.is_some() {
                held_at = Some(i + 1);
            }
        }
        assert_eq!(held_at, Some(50));
        let status = store
            .outbound_accounts(T0 + 200, config.window_seconds())
            .await
            .unwrap();
        let taro = status.iter().find(|a| a.account == "taro").unwrap();
        assert!(taro.held);
        assert_eq!((taro.totals.messages, taro.totals.new_recipients), (90, 50));
    })
    .await;
}

#[tokio::test]
async fn two_nodes_crossing_together_raise_the_alert_once() {
    each_backend(|store, location| async move {
        let second: Arc<dyn Store> = fumidai_store::open(&location).await.unwrap().into();
        let first: Arc<dyn Store> = store.into();
        let config = Arc::new(OutboundConfig {
            max_risky: 5,
            ..OutboundConfig::default()
        });
        let mut tasks = Vec::new();
        for i in 0..20 {
            let node = if i % 2 == 0 {
                first.clone()
            } else {
                second.clone()
            };
            let config = config.clone();
            tasks.push(tokio::spawn(async move {
                let one = rcpts(1, i);
                watch(
                    node.as_ref(),
                    &config,
                    &outgoing("mallory", &one, Verdict::Malicious, T0 + i as i64),
                )
                .await
                .unwrap()
            }));
        }
        let mut newly_held = 0;
        let mut held_findings = 0;
        for t in tasks {
            let w = t.await.unwrap();
            newly_held += usize::from(w.newly_held.is_some());
            held_findings += usize::from(!w.findings.is_empty());
        }
        assert_eq!(newly_held, 1, "exactly one message raises the alert");
        // Messages five and later (in whatever order they were counted) are held.
        assert_eq!(held_findings, 16);
    })
    .await;
}

#[tokio::test]
async fn a_reply_to_our_mail_from_another_organisation_is_a_stolen_thread() {
    each_backend(|store, _| async move {
        let to = [
            "yamada@partner.co.jp".to_owned(),
            "sato@mail.partner.co.jp".to_owned(),
        ];
        let sent = sent_message(Some("<quote-1@example.jp>"), "taro", &to, T0).unwrap();
        store.sent_record(&sent).await.unwrap();
        let own = ["example.jp".to_owned()];
        let refs = [
            "older@else.example".to_owned(),
            "quote-1@example.jp".to_owned(),
        ];
        let check = |from: &'static str| {
            let store = &store;
            let refs = &refs;
            let own = &own;
            async move {
                check_references(store.as_ref(), refs, Some(from), own)
                    .await
                    .unwrap()
            }
        };
        assert_eq!(check("yamada@partner.co.jp").await, None);
        assert_eq!(check("suzuki@sub.partner.co.jp").await, None);
        assert_eq!(check("hanako@example.jp").await, None);
        let stolen = check("yamada@attacker.example")
            .await
            .expect("another organisation");
        assert_eq!(stolen.id, "HIJACKED_REPLY_REFERENCE");
        assert!(
            stolen.detail.contains("quote-1@example.jp")
                && stolen.detail.contains("attacker.example"),
            "{}",
            stolen.detail
        );
        // A thread we never wrote in proves nothing.
        let unknown = ["never@else.example".to_owned()];
        assert_eq!(
            check_references(store.as_ref(), &unknown, Some("x@attacker.example"), &own)
                .await
                .unwrap(),
            None
        );
    })
    .await;
}

/// An RFC 3464 bounce as Postfix writes it, of a message From `from` with `message_id`, dated `date`.
fn postfix_dsn(from: &str, message_id: &str, date: &str) -> Vec<u8> {
    format!(
        "Return-Path: <>\r\n\
From: MAILER-DAEMON@mx.remote.example (Mail Delivery System)\r\n\
To: {from}\r\n\
Subject: Undelivered Mail Returned to Sender\r\n\
Message-Id: <20261206000000.AAAA1@mx.remote.example>\r\n\
Date: Sun,  6 Dec 2026 09:00:00 +0900 (JST)\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"B1\"\r\n\
\r\n\
--B1\r\n\
Content-Type: text/plain; charset=us-ascii\r\n\
\r\n\
I'm sorry to have to inform you that your message could not be delivered.\r\n\
\r\n\
--B1\r\n\
Content-Type: message/delivery-status\r\n\
\r\n\
Reporting-MTA: dns; mx.remote.example\r\n\
\r\n\
Final-Recipient: rfc822; nobody@remote.example\r\n\
Action: failed\r\n\
Status: 5.1.1\r\n\
Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n\
\r\n\
--B1\r\n\
Content-Type: message/rfc822\r\n\
\r\n\
Received: from botnet-pc (unknown [198.51.100.66])\r\n\tby mx.remote.example (Postfix) with ESMTP id AAAA1\r\n\
From: \"Example 経理\" <{from}>\r\n\
To: nobody@remote.example\r\n\
Subject: =?UTF-8?B?6KuL5rGC5pu4?=\r\n\
Date: {date}\r\n\
Message-ID: <{message_id}>\r\n\
\r\n\
body\r\n\
--B1--\r\n"
    )
    .into_bytes()
}

#[tokio::test]
async fn bounces_of_mail_we_never_sent_are_backscatter() {
    each_backend(|store, _| async move {
        let own = ["example.jp".to_owned()];
        let date = "Sun, 6 Dec 2026 08:59:00 +0900";
        let spoofed = postfix_dsn("keiri@example.jp", "spoof-1@example.jp", date);
        // Nothing sent remembered yet: nothing can be told.
        let checked = check_bounce(store.as_ref(), &spoofed, Some(""), &own).await.unwrap().unwrap();
        assert!(checked.backscatter.is_none());
        assert_eq!(checked.bounce.original_message_id.as_deref(), Some("spoof-1@example.jp"));

        let ours = sent_message(Some("<real-1@example.jp>"), "keiri", &["a@remote.example".to_owned()], 1_764_900_000).unwrap();
        store.sent_record(&ours).await.unwrap();
        let checked = check_bounce(store.as_ref(), &spoofed, Some(""), &own).await.unwrap().unwrap();
        let finding = checked.backscatter.expect("a bounce of a message we never sent");
        assert_eq!(finding.id, "BACKSCATTER");
        assert!(finding.detail.contains("spoof-1@example.jp"), "{}", finding.detail);

        // The bounce of a message we did send is an ordinary bounce.
        let real = postfix_dsn("keiri@example.jp", "real-1@example.jp", date);
        let checked = check_bounce(store.as_ref(), &real, Some(""), &own).await.unwrap().unwrap();
        assert!(checked.backscatter.is_none());
        // Another organisation's original is not about us; an original older than what we remember cannot be told.
        let theirs = postfix_dsn("keiri@other.example", "spoof-2@other.example", date);
        assert!(check_bounce(store.as_ref(), &theirs, Some(""), &own).await.unwrap().unwrap().backscatter.is_none());
        let old = postfix_dsn("keiri@example.jp", "spoof-3@example.jp", "Mon, 1 Jan 2024 00:00:00 +0000");
        assert!(check_bounce(store.as_ref(), &old, Some(""), &own).await.unwrap().unwrap().backscatter.is_none());
        // Ordinary mail is no bounce at all.
        let mail = b"From: a@remote.example\r\nTo: keiri@example.jp\r\nSubject: hello\r\nMessage-ID: <m@remote.example>\r\n\r\nMessage-ID: <real-1@example.jp>\r\n";
        assert!(check_bounce(store.as_ref(), mail, Some("a@remote.example"), &own).await.unwrap().is_none());
    })
    .await;
}

/// A real Japanese bounce (sisimai's set-of-emails, BSD-2-Clause): a message From user@example.or.jp, sent
/// 2008-09-07, returned by EZweb. With our sent mail remembered from 2008-09-01 and that message not among it,
/// it is backscatter; once remembered as sent, it is not.
#[tokio::test]
async fn a_real_japanese_bounce_is_backscatter_until_its_message_is_ours() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/corpus/email/sisimai_japanese/lhost-ezweb-01.eml"
    );
    let raw = std::fs::read(path).unwrap();
    each_backend(|store, _| {
        let raw = raw.clone();
        async move {
            let own = ["example.or.jp".to_owned()];
            let earlier = sent_message(
                Some("<earlier@example.or.jp>"),
                "user",
                &["x@ezweb.ne.jp".to_owned()],
                1_220_227_200,
            )
            .unwrap();
            store.sent_record(&earlier).await.unwrap();
            let checked = check_bounce(store.as_ref(), &raw, Some(""), &own)
                .await
                .unwrap()
                .expect("a bounce");
            let id = checked
                .bounce
                .original_message_id
                .clone()
                .expect("the returned message's id");
            assert!(checked.backscatter.is_some(), "never sent by us: {id}");
            let sent = sent_message(
                Some(&id),
                "user",
                &["this-message-rejected-by-the-domain-filter@ezweb.ne.jp".to_owned()],
                1_220_791_211,
            )
            .unwrap();
            store.sent_record(&sent).await.unwrap();
            let checked = check_bounce(store.as_ref(), &raw, Some(""), &own)
                .await
                .unwrap()
                .unwrap();
            assert!(checked.backscatter.is_none());
        }
    })
    .await;
}
