use fumidai_history::import::time::unix_time;
use fumidai_history::import::{
    maildir_files, no_progress, record_all, CsvPairs, Maildir, Mbox, PostfixLog, PostfixOptions,
};
use fumidai_history::HistoryConfig;
use fumidai_store::testing::each_backend;
use fumidai_store::{Direction, Exchange};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

fn cfg() -> HistoryConfig {
    HistoryConfig {
        local_domains: vec!["corp.example.jp".into(), "corp-group.jp".into()],
        ..HistoryConfig::default()
    }
}

fn ex(local: &str, external: &str, d: Direction, at: i64) -> Exchange {
    Exchange {
        local: local.into(),
        external: external.into(),
        direction: d,
        at,
    }
}

const JST: i32 = 9 * 3600;

fn jst(y: i64, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> i64 {
    unix_time(y, mo, d, h, mi, s).unwrap() - i64::from(JST)
}

const POSTFIX_LOG: &str = "\
Dec 31 23:59:01 mx1 postfix/smtpd[2001]: 4BXA000001: client=pc12.corp.example.jp[10.1.2.12], sasl_method=PLAIN, sasl_username=sato
Dec 31 23:59:01 mx1 postfix/cleanup[2002]: 4BXA000001: message-id=<20261231235901.1@corp.example.jp>
Dec 31 23:59:02 mx1 postfix/qmgr[1001]: 4BXA000001: from=<Sato@Corp.Example.JP>, size=4521, nrcpt=3 (queue active)
Dec 31 23:59:03 mx1 postfix/smtp[2003]: 4BXA000001: to=<tanaka@partner.co.jp>, relay=mx.partner.co.jp[192.0.2.10]:25, delay=1.5, delays=0.1/0.01/0.6/0.8, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 8C1F2)
Dec 31 23:59:03 mx1 postfix/smtp[2003]: 4BXA000001: to=<nobody@partner.co.jp>, relay=mx.partner.co.jp[192.0.2.10]:25, delay=1.5, delays=0.1/0.01/0.6/0.8, dsn=5.1.1, status=bounced (host mx.partner.co.jp[192.0.2.10] said: 550 5.1.1 User unknown)
Dec 31 23:59:04 mx1 postfix/lmtp[2004]: 4BXA000001: to=<suzuki@corp.example.jp>, relay=imap.corp.example.jp[private/dovecot-lmtp], delay=0.2, delays=0.1/0/0/0.1, dsn=2.0.0, status=sent (250 2.0.0 <suzuki@corp.example.jp> Saved)
Dec 31 23:59:05 mx1 postfix/bounce[2005]: 4BXA000001: sender non-delivery notification: 4BXA000009
Dec 31 23:59:05 mx1 postfix/qmgr[1001]: 4BXA000009: from=<>, size=3000, nrcpt=1 (queue active)
Dec 31 23:59:06 mx1 postfix/lmtp[2004]: 4BXA000009: to=<sato@corp.example.jp>, relay=imap.corp.example.jp[private/dovecot-lmtp], delay=0.1, dsn=2.0.0, status=sent (250 2.0.0 Saved)
Dec 31 23:59:06 mx1 postfix/qmgr[1001]: 4BXA000009: removed
Dec 31 23:59:07 mx1 postfix/qmgr[1001]: 4BXA000001: removed
Jan  1 00:00:10 mx1 postfix/qmgr[1001]: 4BXA000002: from=<yamada@vendor.example.com>, size=12000, nrcpt=2 (queue active)
Jan  1 00:00:11 mx1 postfix/virtual[2006]: 4BXA000002: to=<sato@corp.example.jp>, relay=virtual, delay=0.3, delays=0.2/0/0/0.1, dsn=2.0.0, status=sent (delivered to maildir)
Jan  1 00:00:11 mx1 postfix/local[2007]: 4BXA000002: to=<info@corp-group.jp>, orig_to=<info@corp-group.jp>, relay=local, delay=0.3, dsn=2.0.0, status=sent (delivered to mailbox)
Jan  1 00:00:12 mx1 postfix/qmgr[1001]: 4BXA000002: removed
Jan  1 00:05:00 mx1 postfix/qmgr[1001]: 4BXA000003: from=<sato@corp.example.jp>, size=800, nrcpt=1 (queue active)
Jan  1 00:05:30 mx1 postfix/smtp[2008]: 4BXA000003: to=<slow@faraway.example.net>, relay=none, delay=30, delays=0/0/30/0, dsn=4.4.1, status=deferred (connect to mx.faraway.example.net[198.51.100.7]:25: Connection timed out)
Jan  1 00:35:30 mx1 postfix/smtp[2008]: 4BXA000003: to=<slow@faraway.example.net>, relay=mx.faraway.example.net[198.51.100.7]:25, delay=1830, delays=1800/0/20/10, dsn=2.0.0, status=sent (250 ok)
Jan  1 00:35:31 mx1 postfix/qmgr[1001]: 4BXA000003: removed
Jan  1 01:00:00 mx1 postfix/qmgr[1001]: 4BXA000001: from=<kato@corp.example.jp>, size=700, nrcpt=1 (queue active)
Jan  1 01:00:01 mx1 postfix/smtp[2009]: 4BXA000001: to=<buyer@client.example.org>, relay=mx.client.example.org[203.0.113.5]:25, delay=0.9, dsn=2.0.0, status=sent (250 ok)
Jan  1 01:00:02 mx1 postfix/qmgr[1001]: 4BXA000001: removed
Jan  1 01:10:00 mx1 postfix/smtp[2010]: 4BXA000077: to=<orphan@client.example.org>, relay=mx.client.example.org[203.0.113.5]:25, delay=0.9, dsn=2.0.0, status=sent (250 ok)
Jan  1 01:20:00 mx1 sshd[3000]: Accepted publickey for admin from 192.0.2.99 port 50000
2027-01-01T02:00:00.123456+09:00 mx1 postfix/qmgr[1001]: 4BXA000004: from=<sato@corp.example.jp>, size=700, nrcpt=1 (queue active)
2027-01-01T02:00:01.5+09:00 mx1 postfix/smtp[2011]: 4BXA000004: to=<Tanaka@Partner.co.jp>, relay=mx.partner.co.jp[192.0.2.10]:25, delay=0.9, dsn=2.0.0, status=sent (250 ok)
2027-01-01T02:00:02+09:00 mx1 postfix/qmgr[1001]: 4BXA000004: removed
";

fn expected_postfix() -> Vec<Exchange> {
    use Direction::*;
    vec![
        ex(
            "sato@corp.example.jp",
            "tanaka@partner.co.jp",
            Outbound,
            jst(2026, 12, 31, 23, 59, 3),
        ),
        ex(
            "sato@corp.example.jp",
            "yamada@vendor.example.com",
            Inbound,
            jst(2027, 1, 1, 0, 0, 11),
        ),
        ex(
            "info@corp-group.jp",
            "yamada@vendor.example.com",
            Inbound,
            jst(2027, 1, 1, 0, 0, 11),
        ),
        ex(
            "sato@corp.example.jp",
            "slow@faraway.example.net",
            Outbound,
            jst(2027, 1, 1, 0, 35, 30),
        ),
        // Queue id 4BXA000001 reused for another message after `removed`: the new sender counts.
        ex(
            "kato@corp.example.jp",
            "buyer@client.example.org",
            Outbound,
            jst(2027, 1, 1, 1, 0, 1),
        ),
        ex(
            "sato@corp.example.jp",
            "tanaka@partner.co.jp",
            Outbound,
            jst(2027, 1, 1, 2, 0, 1),
        ),
    ]
}

fn postfix_opts() -> PostfixOptions {
    PostfixOptions {
        utc_offset_seconds: JST,
        ..PostfixOptions::new(2026)
    }
}

#[test]
fn postfix_log_gives_the_delivered_pairs() {
    let cfg = cfg();
    let last = AtomicU64::new(0);
    let progress = |b: u64| last.store(b, Ordering::Relaxed);
    let mut it = PostfixLog::new(POSTFIX_LOG.as_bytes(), &cfg, postfix_opts(), &progress);
    let got: Vec<Exchange> = it.by_ref().map(Result::unwrap).collect();
    assert_eq!(got, expected_postfix());
    let st = it.stats();
    assert_eq!(st.items, POSTFIX_LOG.lines().count() as u64);
    assert_eq!(st.exchanges, 6);
    assert_eq!(st.skipped, 1, "the orphan delivery");
    assert_eq!(st.bytes, POSTFIX_LOG.len() as u64);
    assert_eq!(
        last.load(Ordering::Relaxed),
        POSTFIX_LOG.len() as u64,
        "progress saw every byte"
    );
    assert_eq!(it.queued(), 0, "every queue id was removed");
}

#[test]
fn postfix_queue_memory_is_bounded() {
    let cfg = cfg();
    let mut log = String::new();
    for i in 0..5000 {
        log += &format!("Mar  1 10:00:00 mx postfix/qmgr[1]: ID{i:08}: from=<a@corp.example.jp>, size=1, nrcpt=1 (queue active)\n");
    }
    log += "Mar  1 10:00:01 mx postfix/smtp[2]: ID00004999: to=<b@ext.example.com>, relay=x, dsn=2.0.0, status=sent (250 ok)\n";
    log += "Mar  1 10:00:01 mx postfix/smtp[2]: ID00000000: to=<b@ext.example.com>, relay=x, dsn=2.0.0, status=sent (250 ok)\n";
    let opts = PostfixOptions {
        max_queue_ids: 100,
        ..PostfixOptions::new(2026)
    };
    let mut it = PostfixLog::new(log.as_bytes(), &cfg, opts, &no_progress);
    let got: Vec<_> = it.by_ref().map(Result::unwrap).collect();
    assert_eq!(
        got.len(),
        1,
        "the newest id is remembered, the oldest forgotten"
    );
    assert!(it.queued() <= 100);
    assert_eq!(it.stats().skipped, 1);
}

#[test]
fn no_local_domains_derive_nothing() {
    let cfg = HistoryConfig::default();
    let n = PostfixLog::new(POSTFIX_LOG.as_bytes(), &cfg, postfix_opts(), &no_progress).count();
    assert_eq!(n, 0);
}

const MBOX: &str = "\
From sato@corp.example.jp Mon Nov 23 10:00:00 2026
From: =?UTF-8?B?5L2Q6Jek?= <sato@corp.example.jp>
To: \"Tanaka, Ichiro\" <tanaka@partner.co.jp>,
 suzuki@corp.example.jp
Cc: team@client.example.org
Bcc: audit@corp-group.jp, secret@partner.co.jp
Subject: =?ISO-2022-JP?B?GyRCOF8bKEI=?=
Date: Mon, 23 Nov 2026 10:00:00 +0900

Body line
>From the quoted line, not a new message
From here on this line is body text too (no blank line before it)

From tanaka@partner.co.jp Tue Nov 24 11:00:00 2026
From: Tanaka <tanaka@partner.co.jp>
To: sato@corp.example.jp, someone@elsewhere.example.net
Date: Tue, 24 Nov 2026 11:00:00 +0900

Reply body

From nodate@corp.example.jp Wed Nov 25 12:00:00 2026
From: nodate@corp.example.jp
To: x@partner.co.jp

No Date header: skipped.
";

fn expected_mbox() -> Vec<Exchange> {
    use Direction::*;
    let t1 = jst(2026, 11, 23, 10, 0, 0);
    let t2 = jst(2026, 11, 24, 11, 0, 0);
    vec![
        ex("sato@corp.example.jp", "tanaka@partner.co.jp", Outbound, t1),
        ex(
            "sato@corp.example.jp",
            "team@client.example.org",
            Outbound,
            t1,
        ),
        ex("sato@corp.example.jp", "secret@partner.co.jp", Outbound, t1),
        ex("sato@corp.example.jp", "tanaka@partner.co.jp", Inbound, t2),
    ]
}

#[test]
fn mbox_gives_the_expected_pairs() {
    let cfg = cfg();
    let mut it = Mbox::new(MBOX.as_bytes(), &cfg, &no_progress);
    let got: Vec<Exchange> = it.by_ref().map(Result::unwrap).collect();
    assert_eq!(got, expected_mbox());
    let st = it.stats();
    assert_eq!((st.items, st.skipped, st.exchanges), (3, 1, 4));
    assert_eq!(st.bytes, MBOX.len() as u64);
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("fumidai-history-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn maildir_gives_the_same_pairs_as_the_mbox() {
    let cfg = cfg();
    let dir = temp_dir("maildir");
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(dir.join(sub)).unwrap();
    }
    // Split the mbox into one file per message, dropping the From_ lines.
    let mut msgs: Vec<String> = Vec::new();
    for line in MBOX.lines() {
        if line.starts_with("From ") && (msgs.is_empty() || msgs.last().unwrap().ends_with("\n\n"))
        {
            msgs.push(String::new());
            continue;
        }
        let m = msgs.last_mut().unwrap();
        m.push_str(line);
        m.push('\n');
    }
    assert_eq!(msgs.len(), 3);
    for (i, m) in msgs.iter().enumerate() {
        let sub = if i == 1 { "new" } else { "cur" };
        std::fs::write(dir.join(sub).join(format!("17000000{i}.M1P1.host:2,S")), m).unwrap();
    }
    std::fs::write(
        dir.join("tmp").join("partial"),
        "From: a@corp.example.jp\nTo: z@partner.co.jp\n",
    )
    .unwrap();
    let files = maildir_files(&dir).unwrap();
    assert_eq!(files.len(), 3, "tmp/ is not read");
    let mut it = Maildir::new(files, &cfg, &no_progress);
    let mut got: Vec<Exchange> = it.by_ref().map(Result::unwrap).collect();
    let mut want = expected_mbox();
    got.sort_by(|a, b| (a.at, &a.external).cmp(&(b.at, &b.external)));
    want.sort_by(|a, b| (a.at, &a.external).cmp(&(b.at, &b.external)));
    assert_eq!(got, want);
    assert_eq!((it.stats().items, it.stats().skipped), (3, 1));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The header-only reader agrees with a full mail-parser parse on every corpus message.
#[test]
fn corpus_messages_agree_with_a_full_parse() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/corpus/email");
    let mut files = Vec::new();
    let mut stack = vec![root];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                files.push(p);
            }
        }
    }
    files.sort();
    assert!(files.len() > 50);
    let mut mbox = Vec::new();
    let mut want = Vec::new();
    let mut domains = Vec::new();
    let parser = mail_parser::MessageParser::default();
    // Every message's first recipient domain is "local" for this test.
    let mut per_file = Vec::new();
    for f in &files {
        let raw = std::fs::read(f).unwrap();
        let Some(m) = parser.parse(&raw) else {
            continue;
        };
        let (Some(from), Some(date)) = (
            m.from().and_then(|a| a.first()).and_then(|a| a.address()),
            m.date(),
        ) else {
            continue;
        };
        if !date.is_valid() {
            continue;
        }
        let rcpts: Vec<String> = [m.to(), m.cc(), m.bcc()]
            .into_iter()
            .flatten()
            .flat_map(|a| a.iter().filter_map(|x| x.address()).map(str::to_owned))
            .collect();
        let Some(first) = rcpts.first() else { continue };
        domains.push(first.rsplit('@').next().unwrap().to_lowercase());
        per_file.push((raw.clone(), from.to_owned(), rcpts, date.to_timestamp()));
    }
    assert!(
        per_file.len() > 20,
        "{} usable corpus messages",
        per_file.len()
    );
    domains.sort();
    domains.dedup();
    let cfg = HistoryConfig {
        local_domains: domains,
        ..HistoryConfig::default()
    };
    for (raw, from, rcpts, at) in &per_file {
        mbox.extend_from_slice(b"From corpus Thu Jan  1 00:00:00 2026\n");
        for line in raw.split_inclusive(|&b| b == b'\n') {
            if line.starts_with(b"From ") {
                mbox.push(b'>');
            }
            mbox.extend_from_slice(line);
        }
        if !mbox.ends_with(b"\n") {
            mbox.push(b'\n');
        }
        mbox.push(b'\n');
        let lower = |s: &str| s.to_lowercase();
        let from_local = cfg.is_local(from);
        let mut seen = std::collections::HashSet::new();
        for r in rcpts {
            let r = lower(r);
            if !r.contains('@') || !seen.insert(r.clone()) {
                continue;
            }
            match (from_local, cfg.is_local(&r)) {
                (true, false) => want.push(ex(&lower(from), &r, Direction::Outbound, *at)),
                (false, true) => want.push(ex(&r, &lower(from), Direction::Inbound, *at)),
                _ => {}
            }
        }
    }
    let mut it = Mbox::new(mbox.as_slice(), &cfg, &no_progress);
    let got: Vec<Exchange> = it.by_ref().map(Result::unwrap).collect();
    assert_eq!(it.stats().items, per_file.len() as u64);
    assert!(!want.is_empty());
    assert_eq!(got, want);
}

const CSV: &str = "\
local,external,direction,last_seen
sato@corp.example.jp,tanaka@partner.co.jp,outbound,2026-11-01T09:00:00+09:00
\"Suzuki@Corp.Example.JP\",\"buyer@client.example.org\",in,1793000000
bad-row-without-fields
sato@corp.example.jp,tanaka@partner.co.jp,sideways,1793000000
tanaka@partner.co.jp,sato@corp.example.jp,outbound,1793000000
";

#[test]
fn csv_pairs() {
    let cfg = cfg();
    let mut it = CsvPairs::new(CSV.as_bytes(), &cfg, &no_progress);
    let got: Vec<Exchange> = it.by_ref().map(Result::unwrap).collect();
    assert_eq!(
        got,
        vec![
            ex(
                "sato@corp.example.jp",
                "tanaka@partner.co.jp",
                Direction::Outbound,
                jst(2026, 11, 1, 9, 0, 0)
            ),
            ex(
                "suzuki@corp.example.jp",
                "buyer@client.example.org",
                Direction::Inbound,
                1_793_000_000
            ),
        ]
    );
    assert_eq!((it.stats().items, it.stats().skipped), (5, 3));
    assert_eq!(it.errors().len(), 3);
    assert!(it.errors()[0].starts_with("line 4:"), "{:?}", it.errors());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn importing_twice_changes_nothing() {
    each_backend(|store, _| async move {
        let cfg = cfg();
        let log = || PostfixLog::new(POSTFIX_LOG.as_bytes(), &cfg, postfix_opts(), &no_progress);
        let mbox = || Mbox::new(MBOX.as_bytes(), &cfg, &no_progress);
        let csv = || CsvPairs::new(CSV.as_bytes(), &cfg, &no_progress);
        let mut pairs: Vec<(String, String)> = log()
            .chain(mbox())
            .chain(csv())
            .map(|e| e.map(|e| (e.local, e.external)))
            .collect::<Result<_, _>>()
            .unwrap();
        pairs.sort();
        pairs.dedup();
        let mut rounds = Vec::new();
        for _ in 0..2 {
            let a = record_all(&*store, log(), 2).await.unwrap();
            let b = record_all(&*store, mbox(), 1000).await.unwrap();
            let c = record_all(&*store, csv(), 1).await.unwrap();
            let mut snapshot = Vec::new();
            for (local, external) in &pairs {
                snapshot.push(store.lookup(local, external).await.unwrap());
            }
            rounds.push(((a, b, c), snapshot));
        }
        assert_eq!(rounds[0].0, (6, 4, 2));
        assert_eq!(rounds[0], rounds[1], "the second import changed the store");
        // Every exchange counted once: no two sources share a (pair, direction, time); the log's 2026-12-31
        // delivery and the mbox's differ in time, so both are kept.
        let counted: u64 = rounds[0]
            .1
            .iter()
            .filter_map(|l| l.address.as_ref())
            .map(|h| h.outbound_count + h.inbound_count)
            .sum();
        assert_eq!(counted, 6 + 4 + 2);
    })
    .await;
}
