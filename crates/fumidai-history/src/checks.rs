//! Test suites over any [`Store`] backend. They panic on failure, like `assert!`, and each uses its own
//! addresses (local domain `fumidai-check-corp.jp`, one external domain per suite), so they can run on a
//! store that already holds other data. `t0` is any base time (Unix seconds); suites add days to it.

use crate::import::{no_progress, record_all, PostfixLog, PostfixOptions};
use crate::{assess, findings, HistoryConfig, Level};
use fumidai_store::{Direction, Exchange, Store, WhitelistEntry};

const DAY: i64 = 86_400;

/// The organisation's domain in every suite.
pub const CHECK_LOCAL_DOMAIN: &str = "fumidai-check-corp.jp";

fn cfg() -> HistoryConfig {
    HistoryConfig {
        local_domains: vec![CHECK_LOCAL_DOMAIN.to_owned()],
        ..HistoryConfig::default()
    }
}

fn ids(a: &crate::Assessment) -> Vec<&'static str> {
    a.findings.iter().map(|f| f.id).collect()
}

fn ex(local: &str, external: &str, direction: Direction, at: i64) -> Exchange {
    Exchange {
        local: local.to_owned(),
        external: external.to_owned(),
        direction,
        at,
    }
}

/// The window: no finding at day 89 or day 90, NO_RECENT_EXCHANGE at day 91; FIRST_CONTACT for a stranger.
pub async fn check_window(store: &dyn Store, t0: i64) {
    let cfg = cfg();
    let alice = "alice@fumidai-check-corp.jp";
    let bob = "bob@fumidai-check-window.jp";
    store
        .record(&[ex(alice, bob, Direction::Outbound, t0)])
        .await
        .expect("record");
    let rc = [alice.to_owned()];
    let a = assess(store, &cfg, &[], bob, &rc, t0 + 89 * DAY)
        .await
        .expect("assess");
    assert!(a.findings.is_empty(), "day 89: {:?}", a.findings);
    assert_eq!(a.days_since_last, Some(89));
    assert!(a.matched_level.is_some());
    let a = assess(store, &cfg, &[], bob, &rc, t0 + 90 * DAY)
        .await
        .expect("assess");
    assert!(a.findings.is_empty(), "day 90: {:?}", a.findings);
    let a = assess(store, &cfg, &[], bob, &rc, t0 + 91 * DAY)
        .await
        .expect("assess");
    assert_eq!(ids(&a), vec![findings::NO_RECENT_EXCHANGE.id], "day 91");
    assert_eq!(a.days_since_last, Some(91));
    let detail = &a.findings.first().expect("finding").detail;
    assert!(detail.contains("91 days"), "{detail}");
    // A shorter window changes the answer for the same history.
    let short = HistoryConfig {
        window_days: 30,
        ..cfg.clone()
    };
    let a = assess(store, &short, &[], bob, &rc, t0 + 31 * DAY)
        .await
        .expect("assess");
    assert_eq!(
        ids(&a),
        vec![findings::NO_RECENT_EXCHANGE.id],
        "window 30, day 31"
    );
    // Mail the other way round (the local user was never written to by this stranger).
    let a = assess(
        store,
        &cfg,
        &[],
        "eve@fumidai-check-stranger.jp",
        &rc,
        t0 + DAY,
    )
    .await
    .expect("assess");
    assert_eq!(ids(&a), vec![findings::FIRST_CONTACT.id], "stranger");
    assert_eq!(a.days_since_last, None);
}

/// Inbound-only exchange does not count by default, and does with `count_inbound`.
pub async fn check_inbound(store: &dyn Store, t0: i64) {
    let cfg = cfg();
    let alice = "alice@fumidai-check-corp.jp";
    let warm = "warm@fumidai-check-inbound.jp";
    store
        .record(&[ex(alice, warm, Direction::Inbound, t0)])
        .await
        .expect("record");
    let rc = [alice.to_owned()];
    let a = assess(store, &cfg, &[], warm, &rc, t0 + DAY)
        .await
        .expect("assess");
    assert_eq!(
        ids(&a),
        vec![findings::FIRST_CONTACT.id],
        "inbound-only, default"
    );
    let counting = HistoryConfig {
        count_inbound: true,
        ..cfg
    };
    let a = assess(store, &counting, &[], warm, &rc, t0 + DAY)
        .await
        .expect("assess");
    assert!(a.findings.is_empty(), "count_inbound: {:?}", a.findings);
    assert_eq!(a.days_since_last, Some(1));
}

/// `level` changes the answer: a new address at a known domain passes at the domain level only.
pub async fn check_levels(store: &dyn Store, t0: i64) {
    let alice = "alice@fumidai-check-corp.jp";
    let carol = "carol@fumidai-check-corp.jp";
    store
        .record(&[ex(
            alice,
            "bob@fumidai-check-level.jp",
            Direction::Outbound,
            t0,
        )])
        .await
        .expect("record");
    let newcomer = "dave@fumidai-check-level.jp";
    let rc = [carol.to_owned()];
    let now = t0 + 10 * DAY;
    let by = |level| HistoryConfig { level, ..cfg() };
    let a = assess(store, &by(Level::Address), &[], newcomer, &rc, now)
        .await
        .expect("assess");
    assert_eq!(ids(&a), vec![findings::FIRST_CONTACT.id], "address level");
    let a = assess(store, &by(Level::Domain), &[], newcomer, &rc, now)
        .await
        .expect("assess");
    assert!(a.findings.is_empty(), "domain level: {:?}", a.findings);
    assert_eq!(a.matched_level, Some(Level::Domain));
    let a = assess(store, &by(Level::Either), &[], newcomer, &rc, now)
        .await
        .expect("assess");
    assert!(a.findings.is_empty(), "either level: {:?}", a.findings);
    assert_eq!(a.matched_level, Some(Level::Domain));
    let a = assess(
        store,
        &by(Level::Address),
        &[],
        "bob@fumidai-check-level.jp",
        &[alice.to_owned()],
        now,
    )
    .await
    .expect("assess");
    assert!(a.findings.is_empty(), "known address: {:?}", a.findings);
    assert_eq!(a.matched_level, Some(Level::Address));
}

/// Whitelisted senders (address, domain, subdomain of a domain entry) get no finding; others do.
pub async fn check_whitelist(store: &dyn Store, t0: i64) {
    let cfg = cfg();
    let rc = ["alice@fumidai-check-corp.jp".to_owned()];
    let wl = [
        WhitelistEntry {
            pattern: "fumidai-check-white.jp".into(),
            comment: "domain".into(),
            added_at: t0,
        },
        WhitelistEntry {
            pattern: "Solo@fumidai-check-solo.jp".into(),
            comment: "address".into(),
            added_at: t0,
        },
    ];
    for s in [
        "x@fumidai-check-white.jp",
        "y@mail.fumidai-check-white.jp",
        "solo@fumidai-check-solo.jp",
    ] {
        let a = assess(store, &cfg, &wl, s, &rc, t0).await.expect("assess");
        assert!(a.whitelisted && a.findings.is_empty(), "{s}: {a:?}");
    }
    for s in ["x@notfumidai-check-white.jp", "other@fumidai-check-solo.jp"] {
        let a = assess(store, &cfg, &wl, s, &rc, t0).await.expect("assess");
        assert!(!a.whitelisted, "{s}");
        assert_eq!(ids(&a), vec![findings::FIRST_CONTACT.id], "{s}");
    }
}

/// A new domain imitating a correspondent raises LOOKALIKE_OF_CORRESPONDENT naming the real one.
pub async fn check_lookalike(store: &dyn Store, t0: i64) {
    let cfg = cfg();
    let alice = "alice@fumidai-check-corp.jp";
    store
        .record(&[ex(
            alice,
            "kaori@fumidai-partner.co.jp",
            Direction::Outbound,
            t0,
        )])
        .await
        .expect("record");
    let rc = [alice.to_owned()];
    let a = assess(
        store,
        &cfg,
        &[],
        "kaori@fumidai-partner-co.jp",
        &rc,
        t0 + DAY,
    )
    .await
    .expect("assess");
    let f = a
        .findings
        .iter()
        .find(|f| f.id == findings::LOOKALIKE_OF_CORRESPONDENT.id)
        .unwrap_or_else(|| panic!("no look-alike finding: {:?}", a.findings));
    assert!(f.detail.contains("fumidai-partner.co.jp"), "{}", f.detail);
    // The real correspondent is not a look-alike of itself.
    let a = assess(
        store,
        &cfg,
        &[],
        "kaori@fumidai-partner.co.jp",
        &rc,
        t0 + DAY,
    )
    .await
    .expect("assess");
    assert!(a.findings.is_empty(), "{:?}", a.findings);
}

/// A Postfix log sample: one outbound and one inbound delivery, a deferred and a bounced one.
pub fn sample_postfix_log() -> String {
    [
        "Nov 27 20:47:30 mx postfix/smtpd[100]: 4BX0000001: client=pc1.fumidai-check-corp.jp[10.0.0.5]",
        "Nov 27 20:47:31 mx postfix/qmgr[123]: 4BX0000001: from=<Alice@fumidai-check-corp.jp>, size=1234, nrcpt=3 (queue active)",
        "Nov 27 20:47:32 mx postfix/smtp[456]: 4BX0000001: to=<ken@fumidai-check-import.jp>, relay=mx.fumidai-check-import.jp[192.0.2.1]:25, delay=1.2, delays=0.1/0/0.5/0.6, dsn=2.0.0, status=sent (250 ok)",
        "Nov 27 20:47:33 mx postfix/smtp[456]: 4BX0000001: to=<gone@fumidai-check-import.jp>, relay=mx.fumidai-check-import.jp[192.0.2.1]:25, delay=1.2, delays=0.1/0/0.5/0.6, dsn=5.1.1, status=bounced (550 no such user)",
        "Nov 27 20:47:34 mx postfix/smtp[456]: 4BX0000001: to=<slow@fumidai-check-import.jp>, relay=none, delay=30, delays=0/0/30/0, dsn=4.4.1, status=deferred (connection timed out)",
        "Nov 27 20:48:01 mx postfix/qmgr[123]: 4BX0000002: from=<ken@fumidai-check-import.jp>, size=900, nrcpt=1 (queue active)",
        "Nov 27 20:48:02 mx postfix/lmtp[789]: 4BX0000002: to=<alice@fumidai-check-corp.jp>, relay=mail.fumidai-check-corp.jp[private/dovecot-lmtp], delay=0.1, delays=0/0/0/0.1, dsn=2.0.0, status=sent (250 2.0.0 Ok)",
        "Nov 27 20:48:03 mx postfix/qmgr[123]: 4BX0000002: removed",
    ]
    .join("\n")
        + "\n"
}

/// Importing the same log twice leaves the store's counts unchanged (identical records are deduplicated).
pub async fn check_import_idempotent(store: &dyn Store) {
    let cfg = cfg();
    let log = sample_postfix_log();
    let import = || {
        PostfixLog::new(
            log.as_bytes(),
            &cfg,
            PostfixOptions::new(2025),
            &no_progress,
        )
    };
    let first = record_all(store, import(), 1000).await.expect("import");
    assert_eq!(first, 2, "one outbound, one inbound delivery");
    let l1 = store
        .lookup("alice@fumidai-check-corp.jp", "ken@fumidai-check-import.jp")
        .await
        .expect("lookup");
    let second = record_all(store, import(), 1).await.expect("import");
    assert_eq!(second, first);
    let l2 = store
        .lookup("alice@fumidai-check-corp.jp", "ken@fumidai-check-import.jp")
        .await
        .expect("lookup");
    let h = l1.address.clone().expect("address history");
    assert_eq!((h.outbound_count, h.inbound_count), (1, 1));
    assert_eq!(l1, l2);
}

/// Every suite, with a fixed base time.
pub async fn check_all(store: &dyn Store) {
    let t0 = 1_767_225_600; // 2026-01-01T00:00:00Z
    check_window(store, t0).await;
    check_inbound(store, t0).await;
    check_levels(store, t0).await;
    check_whitelist(store, t0).await;
    check_lookalike(store, t0).await;
    check_import_idempotent(store).await;
}
