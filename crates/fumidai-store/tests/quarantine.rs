//! The quarantine against both backends (a real SQLite file, a real PostgreSQL schema through `each_backend`), and
//! a kill test per backend: a child process (this test binary, re-executed) writes large items until it is
//! SIGKILLed mid-write; every item the store then holds must read back whole, and every item the child saw
//! committed must be there.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use fumidai_store::testing::{each_backend, PgSchema, TempDir};
use fumidai_store::{
    open, Direction, QuarantineFilter, QuarantineId, QuarantineMeta, Release, Store, StoreError,
};
use sha2::{Digest, Sha256};

/// Deterministic bytes that look like nothing in particular, with CRLFs and NULs sprinkled in.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    for i in (0..len).step_by(997) {
        out[i] = 0;
    }
    for i in (500..len.saturating_sub(1)).step_by(1_009) {
        out[i] = b'\r';
        out[i + 1] = b'\n';
    }
    out
}

fn meta(id: &str, received_at: i64) -> QuarantineMeta {
    QuarantineMeta {
        id: id.to_string(),
        received_at,
        direction: Direction::Inbound,
        mail_from: Some("bounce@sender.example".into()),
        rcpt_to: vec!["taro@example.co.jp".into(), "hanako@example.co.jp".into()],
        from: Some("\"山田\" <Yamada@Partner.example>".into()),
        subject: Some("請求書".into()),
        message_id: Some("<1@partner.example>".into()),
        verdict: "malicious".into(),
        score: 12.5,
        action: "quarantine".into(),
        reason: "macro in attachment".into(),
        findings: vec!["VBA_AUTOEXEC".into(), "ZIP_ENCRYPTED".into()],
        report_json: r#"{"verdict":"malicious"}"#.into(),
    }
}

/// The original of `id`, read through the store (with its check), or the error.
async fn read_back(store: &dyn Store, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
    let mut out = Vec::new();
    let mut sink = |chunk: &[u8]| {
        out.extend_from_slice(chunk);
        Ok(())
    };
    let found = store.quarantine_read(id, &mut sink).await?;
    Ok(found.then_some(out))
}

fn hex_sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn originals_come_back_byte_identical() {
    each_backend(|store, _location| async move {
        let big = noise(20 * 1024 * 1024 + 123, 1);
        let cases = [
            ("20261128T000001-BIG", big),
            ("20261128T000002-EMPTY", Vec::new()),
            (
                "20261128T000003-SMALL",
                b"From: a\r\n\r\n\0body\r\n".to_vec(),
            ),
        ];
        for (i, (id, body)) in cases.iter().enumerate() {
            let mut m = meta(id, 1_000 + i as i64);
            m.mail_from = None;
            store
                .quarantine_put(&m, Bytes::from(body.clone()))
                .await
                .unwrap();
            let item = store.quarantine_get(id).await.unwrap().expect("stored");
            assert_eq!(item.meta, m);
            assert_eq!(item.size, body.len() as u64);
            assert_eq!(item.sha256, hex_sha256(body));
            assert!(item.released.is_empty());
            let back = read_back(&*store, id).await.unwrap().expect("readable");
            assert!(back == *body, "{id}: bytes differ");
        }
        let listed = store
            .quarantine_list(&QuarantineFilter::default())
            .await
            .unwrap();
        let ids: Vec<&str> = listed.iter().map(|i| i.meta.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "20261128T000003-SMALL",
                "20261128T000002-EMPTY",
                "20261128T000001-BIG"
            ]
        );
        assert!(store.quarantine_get("nope").await.unwrap().is_none());
        assert!(read_back(&*store, "nope").await.unwrap().is_none());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_select_and_exclude() {
    each_backend(|store, _location| async move {
        let mut a = meta("A", 100);
        a.mail_from = Some("Alice@Evil.example".into());
        a.from = None;
        a.rcpt_to = vec!["Sales@Example.co.jp".into()];
        a.findings = vec!["PDF_JS".into()];
        a.action = "sanitize".into();
        let mut b = meta("B", 200);
        b.subject = Some("RE: Updated price list <script>".into());
        b.mail_from = None;
        b.from = Some("Bob <bob@partner.example>".into());
        b.rcpt_to = vec!["taro@example.co.jp".into(), "ops@example.co.jp".into()];
        b.findings = vec!["VBA_AUTOEXEC".into(), "PDF_JS".into()];
        let c = meta("C", 300);
        for m in [&a, &b, &c] {
            store
                .quarantine_put(m, Bytes::from_static(b"x"))
                .await
                .unwrap();
        }
        let ids = |filter: QuarantineFilter| {
            let store = &store;
            async move {
                let items = store.quarantine_list(&filter).await.unwrap();
                items.into_iter().map(|i| i.meta.id).collect::<Vec<_>>()
            }
        };
        assert_eq!(ids(QuarantineFilter::default()).await, ["C", "B", "A"]);
        let since = QuarantineFilter {
            since: Some(200),
            ..Default::default()
        };
        assert_eq!(ids(since).await, ["C", "B"]);
        let until = QuarantineFilter {
            until: Some(200),
            ..Default::default()
        };
        assert_eq!(ids(until).await, ["A"]);
        let sender = |s: &str| QuarantineFilter {
            sender: Some(s.into()),
            ..Default::default()
        };
        assert_eq!(ids(sender("alice@EVIL")).await, ["A"], "mail_from");
        assert_eq!(ids(sender("BOB@partner")).await, ["B"], "header from");
        assert_eq!(ids(sender("sender.example")).await, ["C"]);
        assert!(ids(sender("nobody")).await.is_empty());
        let recipient = |s: &str| QuarantineFilter {
            recipient: Some(s.into()),
            ..Default::default()
        };
        assert_eq!(ids(recipient("sales@example")).await, ["A"]);
        assert_eq!(ids(recipient("OPS@")).await, ["B"], "second recipient");
        assert_eq!(ids(recipient("taro@")).await, ["C", "B"]);
        assert!(ids(recipient("jiro@")).await.is_empty());
        let finding = |s: &str| QuarantineFilter {
            finding: Some(s.into()),
            ..Default::default()
        };
        assert_eq!(ids(finding("PDF_JS")).await, ["B", "A"]);
        assert_eq!(ids(finding("VBA_AUTOEXEC")).await, ["C", "B"]);
        assert!(ids(finding("PDF")).await.is_empty(), "exact, not a prefix");
        let action = |s: &str| QuarantineFilter {
            action: Some(s.into()),
            ..Default::default()
        };
        assert_eq!(ids(action("sanitize")).await, ["A"]);
        assert_eq!(ids(action("quarantine")).await, ["C", "B"]);
        let limit = QuarantineFilter {
            limit: Some(2),
            ..Default::default()
        };
        assert_eq!(ids(limit).await, ["C", "B"]);
        let combined = QuarantineFilter {
            finding: Some("PDF_JS".into()),
            since: Some(150),
            recipient: Some("example.co.jp".into()),
            ..Default::default()
        };
        assert_eq!(ids(combined).await, ["B"]);
        // The search box: any of id, subject, senders, recipients and findings.
        let text = |s: &str| QuarantineFilter {
            text: Some(s.into()),
            ..Default::default()
        };
        assert_eq!(ids(text("updated PRICE")).await, ["B"], "subject");
        assert_eq!(ids(text("請求書")).await, ["C", "A"], "a Japanese subject");
        assert_eq!(ids(text("alice@evil")).await, ["A"], "mail_from");
        assert_eq!(ids(text("bob@PARTNER")).await, ["B"], "header from");
        assert_eq!(ids(text("ops@")).await, ["B"], "a recipient");
        assert_eq!(ids(text("autoexec")).await, ["C", "B"], "part of a finding");
        assert_eq!(
            ids(text("c")).await,
            ["C", "B", "A"],
            "the id C, and c in everything else"
        );
        assert!(ids(text("<script>x")).await.is_empty());
        assert!(ids(text("nothing like it")).await.is_empty());
        let text_and_finding = QuarantineFilter {
            text: Some("example.co.jp".into()),
            finding: Some("VBA_AUTOEXEC".into()),
            ..Default::default()
        };
        assert_eq!(ids(text_and_finding).await, ["C", "B"]);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicates_releases_deletes_and_purges() {
    each_backend(|store, _location| async move {
        let first = meta("DUP-1", 1_000);
        store
            .quarantine_put(&first, Bytes::from_static(b"original"))
            .await
            .unwrap();
        let mut again = first.clone();
        again.subject = Some("other".into());
        let refused = store
            .quarantine_put(&again, Bytes::from_static(b"replacement"))
            .await;
        assert!(
            matches!(&refused, Err(StoreError::Duplicate(id)) if id == "DUP-1"),
            "{refused:?}"
        );
        let kept = store.quarantine_get("DUP-1").await.unwrap().unwrap();
        assert_eq!(kept.meta, first);
        assert_eq!(
            read_back(&*store, "DUP-1").await.unwrap().unwrap(),
            b"original"
        );
        for bad in ["", "../x", "a b"] {
            assert!(store
                .quarantine_put(&meta(bad, 1), Bytes::new())
                .await
                .is_err());
        }

        let releases = [
            Release {
                at: 2_000,
                by: "admin".into(),
                to: "smtp:127.0.0.1:25".into(),
            },
            Release {
                at: 3_000,
                by: "root".into(),
                to: "file:/tmp/x.eml".into(),
            },
        ];
        for r in &releases {
            assert!(store.quarantine_mark_released("DUP-1", r).await.unwrap());
        }
        assert!(!store
            .quarantine_mark_released("absent", &releases[0])
            .await
            .unwrap());
        let item = store.quarantine_get("DUP-1").await.unwrap().unwrap();
        assert_eq!(item.released, releases);

        assert!(store.quarantine_delete("DUP-1").await.unwrap());
        assert!(!store.quarantine_delete("DUP-1").await.unwrap());
        assert!(store.quarantine_get("DUP-1").await.unwrap().is_none());
        assert!(read_back(&*store, "DUP-1").await.unwrap().is_none());

        let cutoff = 10_000;
        for (id, at) in [
            ("OLD-1", cutoff - 100),
            ("OLD-2", cutoff - 1),
            ("KEEP-1", cutoff),
            ("KEEP-2", cutoff + 1),
        ] {
            store
                .quarantine_put(&meta(id, at), Bytes::from(noise(3 * 1024 * 1024, 7)))
                .await
                .unwrap();
        }
        assert_eq!(store.quarantine_purge(cutoff).await.unwrap(), 2);
        let left: Vec<String> = store
            .quarantine_list(&QuarantineFilter::default())
            .await
            .unwrap()
            .into_iter()
            .map(|i| i.meta.id)
            .collect();
        assert_eq!(left, ["KEEP-2", "KEEP-1"]);
        assert_eq!(store.quarantine_purge(cutoff).await.unwrap(), 0);
        assert_eq!(
            read_back(&*store, "KEEP-1").await.unwrap().unwrap(),
            noise(3 * 1024 * 1024, 7)
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_chunk_is_an_error_not_a_release() {
    each_backend(|store, location| async move {
        let body = noise(2 * 1024 * 1024 + 10, 3);
        store
            .quarantine_put(&meta("T", 1), Bytes::from(body.clone()))
            .await
            .unwrap();
        assert_eq!(read_back(&*store, "T").await.unwrap().unwrap(), body);
        // One byte of the second chunk flipped behind the store's back.
        if store.backend() == "sqlite" {
            let mut raw = <sqlx::SqliteConnection as sqlx::Connection>::connect(&location)
                .await
                .unwrap();
            let mut chunk: Vec<u8> =
                sqlx::query_scalar("SELECT data FROM quarantine_chunk WHERE id = 'T' AND seq = 1")
                    .fetch_one(&mut raw)
                    .await
                    .unwrap();
            chunk[99] ^= 0xFF;
            sqlx::query("UPDATE quarantine_chunk SET data = ?1 WHERE id = 'T' AND seq = 1")
                .bind(chunk)
                .execute(&mut raw)
                .await
                .unwrap();
        } else {
            let mut raw = <sqlx::PgConnection as sqlx::Connection>::connect(&location)
                .await
                .unwrap();
            sqlx::query(
                "UPDATE quarantine_chunk SET data = set_byte(data, 99, 255 - get_byte(data, 99))
                 WHERE id = 'T' AND seq = 1",
            )
            .execute(&mut raw)
            .await
            .unwrap();
        }
        let damaged = read_back(&*store, "T").await;
        assert!(
            matches!(damaged, Err(StoreError::Corrupt(_))),
            "{damaged:?}"
        );
    })
    .await;
}

// ---- The kill test ----

/// Set in the child: the store location to write to.
const CHILD_LOCATION: &str = "FUMIDAI_QUARANTINE_KILL_CHILD";
const ITEM_BYTES: usize = 24 * 1024 * 1024;

/// The child's body: writes items until killed, saying `begin <id>` before and `committed <id>` after each.
async fn child_writes(location: &str) {
    let store = open(location).await.expect("child: open");
    for n in 0u64.. {
        let id = format!("KILL-{n:06}");
        let body = Bytes::from(noise(ITEM_BYTES - (n as usize % 7) * 1000, n));
        println!("begin {id}");
        store
            .quarantine_put(&meta(&id, n as i64), body)
            .await
            .expect("child: put");
        println!("committed {id}");
    }
}

/// Runs this test again as a child writing to `location`, kills it (SIGKILL) while an item is being written
/// (after at least two items committed), then checks the store. Returns how long it took.
async fn kill_mid_write(test_name: &str, location: &str) -> Duration {
    let started = Instant::now();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test_name, "--nocapture", "--test-threads=1"])
        .env(CHILD_LOCATION, location)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn the child");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut committed = Vec::new();
    let mut in_flight = None;
    while let Some(line) = lines.next().transpose().expect("child output") {
        if let Some(id) = line.strip_prefix("committed ") {
            committed.push(id.to_string());
        } else if let Some(id) = line.strip_prefix("begin ") {
            in_flight = Some(id.to_string());
            if committed.len() >= 2 {
                // The put is under way (it takes well over this to write 24 MB): kill it there.
                std::thread::sleep(Duration::from_millis(40));
                break;
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the child is too slow"
        );
    }
    child.kill().expect("SIGKILL the child");
    let status = child.wait().unwrap();
    assert!(!status.success(), "the child was killed, not finished");
    let in_flight = in_flight.expect("the child began an item");
    assert!(committed.len() >= 2, "the child committed: {committed:?}");

    let store = open(location).await.expect("reopen after the kill");
    let items = store
        .quarantine_list(&QuarantineFilter::default())
        .await
        .unwrap();
    for item in &items {
        let back = read_back(&*store, &item.meta.id)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", item.meta.id))
            .expect("listed, so readable");
        assert_eq!(back.len() as u64, item.size, "{}", item.meta.id);
        assert_eq!(hex_sha256(&back), item.sha256, "{}", item.meta.id);
        let n: u64 = item.meta.id["KILL-".len()..].parse().unwrap();
        assert!(
            back == noise(ITEM_BYTES - (n as usize % 7) * 1000, n),
            "{}",
            item.meta.id
        );
    }
    let present: Vec<&str> = items.iter().map(|i| i.meta.id.as_str()).collect();
    for id in &committed {
        assert!(present.contains(&id.as_str()), "committed {id} is missing");
    }
    // The item in flight is whole or absent (checked above); nothing beyond it exists.
    assert!(present.len() <= committed.len() + 1, "{present:?}");
    if !present.contains(&in_flight.as_str()) {
        eprintln!(
            "{test_name}: the kill left {in_flight} out, as it should when it lands mid-write"
        );
    }
    started.elapsed()
}

/// In the child: write until killed. In the parent: the kill test on a SQLite file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_write_sqlite() {
    if let Ok(location) = std::env::var(CHILD_LOCATION) {
        return child_writes(&location).await;
    }
    let dir = TempDir::new();
    let location = dir.db();
    drop(open(&location).await.expect("create the store"));
    let took = kill_mid_write("killed_mid_write_sqlite", &location).await;
    eprintln!("sqlite kill test: {took:?}");
}

/// The same on PostgreSQL (skipped without a server).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_write_postgres() {
    if let Ok(location) = std::env::var(CHILD_LOCATION) {
        return child_writes(&location).await;
    }
    let Some(pg) = PgSchema::create("test").await else {
        return;
    };
    let url = pg.url.clone();
    let outcome = tokio::spawn(async move {
        drop(open(&url).await.expect("create the store"));
        kill_mid_write("killed_mid_write_postgres", &url).await
    })
    .await;
    pg.drop_schema().await;
    match outcome {
        Ok(took) => eprintln!("postgres kill test: {took:?}"),
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

#[test]
fn generated_ids_are_accepted_by_the_store() {
    let id = QuarantineId::generate(1_795_834_051);
    assert!(QuarantineId::is_valid(&id), "{id}");
}
