//! The act stage end to end on real messages and real stores (SQLite and PostgreSQL): the original is
//! quarantined before anything is delivered, released byte for byte, the sanitised copy reads well
//! (Japanese included) and scans clean, and a store that fails turns every action into a tempfail.

use bytes::Bytes;
use fumidai_act::{Actor, Arrival, Client, Outcome, ReleaseTarget};
use fumidai_engine::{Config, Direction, Engine, Envelope, ExchangeHistory, Parties, Verdict};
use fumidai_policy::ActionKind;
use fumidai_store::testing::{each_backend, PgSchema, TempDir};
use fumidai_store::Store;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// 2026-11-28 12:00 JST.
const NOW: i64 = 1_795_834_800;

fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(rel)
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(testdata(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn actor(config: Config) -> Actor {
    Actor::new(Arc::new(Engine::new(config).expect("engine"))).expect("actor")
}

fn envelope() -> Envelope {
    Envelope {
        mail_from: Some("sender@unknown-partner.example".to_owned()),
        rcpt_to: vec!["tanaka@example.co.jp".to_owned()],
    }
}

/// Judges `raw` with the exchange history of `store` (inbound, as the milter does) and carries the
/// policy out.
async fn judge_and_act(
    actor: &Actor,
    store: Box<dyn Store>,
    raw: &[u8],
) -> (Outcome, Box<dyn Store>) {
    let envelope = envelope();
    let mut report = actor.engine().scan(raw, &envelope).expect("scan");
    let history = ExchangeHistory::with_store(store, actor.engine().config())
        .await
        .expect("history");
    let assessment = history
        .assess(&Parties::of(&report, &envelope), NOW)
        .await
        .expect("assess");
    actor
        .engine()
        .add_findings(&mut report, assessment.findings);
    let arrival = Arrival {
        envelope: &envelope,
        client: &Client::default(),
        direction: Direction::Inbound,
        at: NOW,
    };
    let decision = actor.decide(&report, arrival);
    let outcome = actor
        .carry_out(
            Some(history.store()),
            Bytes::copy_from_slice(raw),
            &report,
            arrival,
            decision,
        )
        .await;
    (outcome, history.into_store())
}

async fn released_bytes(store: &dyn Store, id: &str) -> Vec<u8> {
    let dir = TempDir::new();
    let path = dir.0.join("released.eml");
    let release = fumidai_act::release(
        store,
        id,
        &ReleaseTarget::File(path.clone()),
        "test-admin",
        NOW + 60,
    )
    .await
    .expect("release");
    assert_eq!(release.by, "test-admin");
    let item = store.quarantine_get(id).await.unwrap().expect("item");
    assert_eq!(
        item.released.last().map(|r| r.by.as_str()),
        Some("test-admin")
    );
    std::fs::read(&path).expect("released file")
}

#[tokio::test(flavor = "multi_thread")]
async fn malicious_mail_is_quarantined_before_anything_and_released_byte_identical() {
    each_backend(|store, _| async move {
        let raw = read("corpus/email/generated/emotet_style_autoexec_xlsm.eml");
        let actor = actor(Config::default());
        let (outcome, store) = judge_and_act(&actor, store, &raw).await;
        assert_eq!(outcome.action, ActionKind::Quarantine, "{:?}", outcome.note);
        assert!(!outcome.delivers());
        assert!(outcome.delivered_message(&raw).is_none());
        let id = outcome.quarantine_id.expect("a quarantine id");
        let item = store.quarantine_get(&id).await.unwrap().expect("stored");
        assert_eq!(item.meta.verdict, "malicious");
        assert_eq!(item.meta.rcpt_to, vec!["tanaka@example.co.jp"]);
        assert_eq!(item.size, raw.len() as u64);
        assert!(!item.meta.findings.is_empty());
        assert_eq!(released_bytes(store.as_ref(), &id).await, raw);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn first_contact_mail_is_sanitised_readable_in_japanese_and_rescans_clean() {
    each_backend(|store, _| async move {
        let raw = read("messages/first_contact_iso2022jp_docm.eml");
        let actor = actor(Config::default());
        let (outcome, store) = judge_and_act(&actor, store, &raw).await;
        assert_eq!(outcome.action, ActionKind::Sanitize, "{:?}", outcome.note);
        let id = outcome.quarantine_id.clone().expect("original kept");
        let copy = outcome.delivered_message(&raw).expect("delivered");

        let parsed = mail_parser::MessageParser::default()
            .parse(&copy[..])
            .expect("the copy parses");
        assert_eq!(parsed.subject(), Some("請求書の送付について"));
        let text = parsed.body_text(0).expect("a text body");
        assert!(
            text.contains("請求書を添付いたしますので、ご確認をお願いいたします。"),
            "{text}"
        );
        assert!(
            text.contains("初めてやり取りする送信者"),
            "banner missing: {text}"
        );
        assert!(text.contains("hxxps://billing[.]example[.]net"), "{text}");
        assert!(!String::from_utf8_lossy(&copy).contains("https://billing.example.net"));
        let sanitized = parsed.header_raw("X-Fumidai-Sanitized").expect("header");
        assert!(sanitized.contains("REP_LINK"), "{sanitized}");
        assert!(
            sanitized.contains("DEL_MACRO") || sanitized.contains("DEL_ATTACH"),
            "{sanitized}"
        );
        let verdicts: Vec<_> = parsed
            .headers()
            .iter()
            .filter(|h| h.name().eq_ignore_ascii_case("X-Fumidai-Verdict"))
            .collect();
        assert_eq!(verdicts.len(), 1, "the forged verdict must be gone");
        assert!(
            String::from_utf8_lossy(&copy).contains(&id),
            "notices cite the quarantine id"
        );

        let rescan = actor.engine().scan(&copy, &Envelope::default()).unwrap();
        assert_eq!(rescan.verdict, Verdict::Clean, "{:?}", rescan.findings);
        assert_eq!(released_bytes(store.as_ref(), &id).await, raw);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn reject_keeps_the_original_and_answers_5xx() {
    each_backend(|store, _| async move {
        let raw = read("corpus/email/generated/emotet_style_autoexec_xlsm.eml");
        let config = Config::parse("[policy.inbound]\nmalicious = \"reject\"\n").expect("config");
        let (outcome, store) = judge_and_act(&actor(config), store, &raw).await;
        assert_eq!(outcome.action, ActionKind::Reject);
        let reply = outcome.reply.expect("a reply");
        assert_eq!(reply.code, 550);
        assert!(reply.status.starts_with("5."));
        let id = outcome.quarantine_id.expect("kept");
        assert!(store.quarantine_get(&id).await.unwrap().is_some());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dead_database_tempfails_and_delivers_nothing() {
    let Some(pg) = PgSchema::create("act_dead").await else {
        return;
    };
    let store = fumidai_store::open(&pg.url).await.expect("open");
    let raw = read("corpus/email/generated/emotet_style_autoexec_xlsm.eml");
    let actor = actor(Config::default());
    let envelope = envelope();
    let report = actor.engine().scan(&raw, &envelope).unwrap();
    let arrival = Arrival {
        envelope: &envelope,
        client: &Client::default(),
        direction: Direction::Inbound,
        at: NOW,
    };
    let decision = actor.decide(&report, arrival);
    assert_eq!(decision.action, ActionKind::Quarantine);
    // The database goes away under the running store.
    let schema = pg.schema.clone();
    pg.drop_schema().await;
    let outcome = actor
        .carry_out(
            Some(store.as_ref()),
            Bytes::from(raw.clone()),
            &report,
            arrival,
            decision,
        )
        .await;
    assert_eq!(outcome.action, ActionKind::Tempfail, "schema {schema}");
    assert_eq!(outcome.reply.as_ref().map(|r| r.code), Some(451));
    assert!(outcome.quarantine_id.is_none());
    assert!(outcome.delivered_message(&raw).is_none());
    assert!(outcome.note.unwrap_or_default().contains("quarantine"));
}

#[test]
fn clean_mail_is_delivered_with_one_verdict_header_and_the_body_untouched() {
    let raw = b"From: a@partner.example\r\nTo: b@example.co.jp\r\nSubject: lunch\r\nX-Fumidai-Verdict: clean (forged)\r\n\r\nShall we have lunch on Friday?\r\n".to_vec();
    let actor = actor(Config::default());
    let envelope = Envelope::default();
    let report = actor.engine().scan(&raw, &envelope).unwrap();
    let arrival = Arrival {
        envelope: &envelope,
        client: &Client::default(),
        direction: Direction::Inbound,
        at: NOW,
    };
    let decision = actor.decide(&report, arrival);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let outcome =
        rt.block_on(actor.carry_out(None, Bytes::from(raw.clone()), &report, arrival, decision));
    assert_eq!(outcome.action, ActionKind::Deliver);
    let copy = String::from_utf8(outcome.delivered_message(&raw).unwrap()).unwrap();
    assert_eq!(copy.matches("X-Fumidai-Verdict:").count(), 1, "{copy}");
    assert!(
        copy.contains("X-Fumidai-Verdict: clean (score 0.0)\r\n"),
        "{copy}"
    );
    assert!(copy.ends_with("\r\n\r\nShall we have lunch on Friday?\r\n"));
}
