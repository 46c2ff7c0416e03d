//! The gateway's outbound watch with the other policy for a held account: `OUTBOUND_ACCOUNT_HELD = "tempfail"`
//! answers 451 (the mail stays on the client's side) and keeps nothing in the quarantine, the alert is raised
//! by the one message that crossed the threshold, and other accounts go on; each message is counted for the
//! dashboard. Real stores (SQLite, PostgreSQL).

use bytes::Bytes;
use fumidai_act::{Actor, Arrival, Client, Gateway, Raised};
use fumidai_engine::{Config, Direction, Engine, Envelope, ExchangeHistory};
use fumidai_policy::ActionKind;
use fumidai_store::testing::each_backend;
use fumidai_store::QuarantineFilter;
use std::sync::Arc;

const NOW: i64 = 1_795_834_800;

fn mail(n: usize) -> Vec<u8> {
    format!(
        "From: sato@corp.example.jp\r\nTo: t{n}@victim.example\r\nSubject: invoice\r\nMessage-ID: <m{n}@corp.example.jp>\r\n\r\nhello\r\n"
    )
    .into_bytes()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_held_account_is_tempfailed_when_the_policy_says_so() {
    each_backend(|store, _| async move {
        let config = Config::parse(
            "[sender]\nown_domains = [\"corp.example.jp\"]\n\n[outbound]\nmax_messages = 2\n\n\
             [alerts]\nauthenticate = false\n\n[policy.outbound.findings]\nOUTBOUND_ACCOUNT_HELD = \"tempfail\"\n",
        )
        .expect("config");
        let engine = Arc::new(Engine::new(config).expect("engine"));
        let history = ExchangeHistory::with_store(store, engine.config())
            .await
            .expect("history");
        let gateway = Gateway::new(Actor::new(engine).expect("actor"), history);
        let client = Client {
            login: Some("sato".into()),
            ..Client::default()
        };
        let mut outcomes = Vec::new();
        for n in 0..4 {
            let raw = mail(n);
            let envelope = Envelope {
                mail_from: Some("sato@corp.example.jp".into()),
                rcpt_to: vec![format!("t{n}@victim.example")],
            };
            let report = gateway.actor().engine().scan(&raw, &envelope).expect("scan");
            let arrival = Arrival {
                envelope: &envelope,
                client: &client,
                direction: Direction::Outbound,
                at: NOW + n as i64,
            };
            let handled = gateway
                .handle(Bytes::from(raw), report, arrival)
                .await
                .expect("handled");
            outcomes.push((handled.outcome, handled.raised));
        }
        let actions: Vec<ActionKind> = outcomes.iter().map(|(o, _)| o.action).collect();
        assert_eq!(
            actions,
            [ActionKind::Deliver, ActionKind::Deliver, ActionKind::Tempfail, ActionKind::Tempfail]
        );
        let reply = outcomes[2].0.reply.as_ref().expect("a reply").to_string();
        assert!(reply.starts_with("451 4.7.1") && reply.contains("OUTBOUND_ACCOUNT_HELD"), "{reply}");
        assert!(matches!(
            &outcomes[2].1[..],
            [Raised::AccountHeld { account, reason }] if account == "sato" && reason.starts_with("3 messages")
        ), "{:?}", outcomes[2].1);
        assert!(outcomes[3].1.is_empty(), "raised once");
        let store = gateway.history().store();
        let kept = store
            .quarantine_list(&QuarantineFilter::default())
            .await
            .expect("list");
        assert!(kept.is_empty(), "a tempfail keeps nothing: {kept:?}");
        // The delivered ones are remembered as sent, the refused ones are not.
        let sent = store
            .sent_lookup(&["m1@corp.example.jp".into(), "m2@corp.example.jp".into()])
            .await
            .expect("lookup");
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].recipient_domains, ["victim.example"]);
        // Every message is counted for the dashboard, by what was done to it, once the counts are written.
        assert!(store.traffic(NOW - 3600, NOW + 3600).await.expect("traffic").is_empty());
        gateway.flush_traffic().await;
        let counted: Vec<(String, String, i64)> = store
            .traffic(NOW - 3600, NOW + 3600)
            .await
            .expect("traffic")
            .into_iter()
            .map(|c| (c.direction, c.action, c.messages))
            .collect();
        assert_eq!(
            counted,
            [("outbound".into(), "deliver".into(), 2), ("outbound".into(), "tempfail".into(), 2)]
        );
        let findings = store.top_findings(NOW - 3600, NOW + 3600, 10).await.expect("findings");
        assert!(
            findings.iter().any(|f| f.finding == "OUTBOUND_ACCOUNT_HELD" && f.messages == 2),
            "{findings:?}"
        );
    })
    .await;
}
