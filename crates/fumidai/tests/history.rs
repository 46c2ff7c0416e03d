//! The exchange history through the binary, as an administrator uses it: import a Postfix log and a sent-mail
//! mbox (twice), look senders up, scan inbound mail against the history, record outbound mail, edit the
//! whitelist, migrate, and fail clearly on a dead database. SQLite throughout; the PostgreSQL test repeats the
//! import and the scan on a throw-away schema of the server at FUMIDAI_TEST_POSTGRES.

mod common;

use common::Site;
use std::path::Path;
use std::time::{Duration, Instant};

/// Alice → Ken is in the log on 2026-11-20 (JST), Carol → Ken on 2026-11-21.
const SOON_AFTER: &str = "2026-12-01T00:00:00Z";
/// More than 90 days after the last exchange with Ken.
const LONG_AFTER: &str = "2027-03-01T00:00:00Z";

fn samples(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/history")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

impl Site {
    /// Imports `paths` (logs of 2026, stamped in JST) and returns the JSON report.
    fn import(&self, paths: &[&str]) -> serde_json::Value {
        let mut args = vec![
            "history",
            "import",
            "--json",
            "-q",
            "--year",
            "2026",
            "--utc-offset",
            "+09:00",
        ];
        args.extend_from_slice(paths);
        serde_json::from_slice(&self.ok(&args).stdout).expect("import JSON")
    }

    fn import_samples(&self) -> serde_json::Value {
        self.import(&[&samples("maillog"), &samples("sent.mbox")])
    }

    fn lookup(&self, sender: &str, local: &str) -> serde_json::Value {
        let out = self.ok(&[
            "history", "lookup", "--json", "--at", SOON_AFTER, sender, "--to", local,
        ]);
        serde_json::from_slice(&out.stdout).expect("lookup JSON")
    }

    /// Writes a plain message and scans it; returns the finding ids and the exit code.
    fn scan(&self, from: &str, to: &str, extra: &[&str]) -> (Vec<String>, Option<i32>) {
        let eml = self.dir.path().join("message.eml");
        std::fs::write(
            &eml,
            format!(
                "From: {from}\r\nTo: {to}\r\nSubject: test\r\nDate: Mon, 30 Nov 2026 10:00:00 +0900\r\nMessage-ID: <t@x>\r\n\r\nHello.\r\n"
            ),
        )
        .expect("write message");
        let mut args = vec!["scan", "--json", "-q"];
        args.extend_from_slice(extra);
        let eml = eml.to_string_lossy().into_owned();
        args.push(&eml);
        let out = self.run(&args);
        let text = String::from_utf8_lossy(&out.stdout);
        let line: serde_json::Value = serde_json::from_str(text.trim()).unwrap_or_else(|e| {
            panic!(
                "not one JSON line ({e}): {text}\n{}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        let ids = line["findings"]
            .as_array()
            .unwrap_or_else(|| panic!("no findings in {line}"))
            .iter()
            .map(|f| f["id"].as_str().unwrap_or_default().to_owned())
            .collect();
        (ids, out.status.code())
    }
}

fn history_ids(ids: &[String]) -> Vec<&str> {
    ids.iter()
        .map(String::as_str)
        .filter(|id| {
            matches!(
                *id,
                "FIRST_CONTACT" | "NO_RECENT_EXCHANGE" | "LOOKALIKE_OF_CORRESPONDENT"
            )
        })
        .collect()
}

/// What an import reports per path: (items, exchanges, skipped).
fn counts(v: &serde_json::Value, i: usize) -> (u64, u64, u64) {
    let p = &v["paths"][i];
    let n = |k: &str| p[k].as_u64().unwrap_or(u64::MAX);
    (n("items"), n("exchanges"), n("skipped"))
}

#[test]
fn imports_are_idempotent_and_give_the_delivered_pairs() {
    let site = Site::new(None);
    let first = site.import_samples();
    assert_eq!(first["paths"][0]["format"], "postfix");
    assert_eq!(first["paths"][1]["format"], "mbox");
    // The log: Alice → Ken and Tokyo Trading, Warm-up → Alice, Carol → Ken; nothing for the bounce, the
    // deferral or the null sender.
    assert_eq!(counts(&first, 0).1, 4, "{first}");
    // The mbox: two messages; Alice → Suzuki, Bob → Osaka Denki and Ken (Cc and Bcc to colleagues give nothing).
    assert_eq!(
        (counts(&first, 1).0, counts(&first, 1).1),
        (2, 3),
        "{first}"
    );
    let before = site.lookup("ken@partner.co.jp", "alice@corp.example.jp");
    let second = site.import_samples();
    assert_eq!(counts(&first, 0), counts(&second, 0));
    assert_eq!(counts(&first, 1), counts(&second, 1));
    let after = site.lookup("ken@partner.co.jp", "alice@corp.example.jp");
    assert_eq!(before, after, "the second import changed the history");
    let pair = &after["pairs"][0];
    assert_eq!(pair["address"]["outbound_count"], 1, "{after}");
    // The organisation's side: Alice and Carol (a subdomain) on 11-20 and 11-21, Bob in the mbox.
    assert_eq!(pair["domain"]["outbound_count"], 3, "{after}");
    assert!(
        after["findings"].as_array().is_some_and(Vec::is_empty),
        "{after}"
    );
}

#[test]
fn a_gzipped_rotated_log_imports_like_the_plain_one() {
    let site = Site::new(None);
    let gz = site.dir.path().join("maillog.1.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).expect("create"),
        flate2::Compression::fast(),
    );
    std::io::Write::write_all(
        &mut enc,
        &std::fs::read(samples("maillog")).expect("read sample"),
    )
    .expect("compress");
    enc.finish().expect("finish gzip");
    let v = site.import(&[&gz.to_string_lossy()]);
    assert_eq!(v["paths"][0]["format"], "postfix");
    assert_eq!(
        counts(&v, 0),
        counts(&site.import(&[&samples("maillog")]), 0)
    );
    assert_eq!(counts(&v, 0).1, 4, "{v}");
}

#[test]
fn inbound_mail_is_judged_by_the_history() {
    let site = Site::new(None);
    site.import_samples();
    let alice = "alice@corp.example.jp";
    let (ids, code) = site.scan("Ken <ken@partner.co.jp>", alice, &["--at", SOON_AFTER]);
    assert!(history_ids(&ids).is_empty(), "a correspondent: {ids:?}");
    assert_eq!(code, Some(0));
    let (ids, _) = site.scan("Ken <ken@partner.co.jp>", alice, &["--at", LONG_AFTER]);
    assert_eq!(
        history_ids(&ids),
        ["NO_RECENT_EXCHANGE"],
        "after the window"
    );
    let (ids, _) = site.scan("shop@unknown-shop.example", alice, &["--at", SOON_AFTER]);
    assert_eq!(history_ids(&ids), ["FIRST_CONTACT"], "a stranger");
    // Mail received from them does not count by default.
    let (ids, _) = site.scan("hello@warm-up.example", alice, &["--at", SOON_AFTER]);
    assert_eq!(history_ids(&ids), ["FIRST_CONTACT"], "inbound only");
    // A look-alike of Ken's domain (hyphen for the dot) is named; with FIRST_CONTACT it is suspicious (exit 1).
    let (ids, code) = site.scan("Ken <ken@partner-co.jp>", alice, &["--at", SOON_AFTER]);
    assert_eq!(
        history_ids(&ids),
        ["FIRST_CONTACT", "LOOKALIKE_OF_CORRESPONDENT"]
    );
    assert_eq!(code, Some(1));
    // --no-store: content only.
    let (ids, _) = site.scan("shop@unknown-shop.example", alice, &["--no-store"]);
    assert!(history_ids(&ids).is_empty(), "{ids:?}");
}

#[test]
fn outbound_mail_recorded_by_scan_makes_the_reply_known() {
    let site = Site::new(None);
    let newcomer = "info@new-partner.example";
    let (ids, _) = site.scan(newcomer, "alice@corp.example.jp", &["--at", SOON_AFTER]);
    assert_eq!(history_ids(&ids), ["FIRST_CONTACT"]);
    site.scan(
        "alice@corp.example.jp",
        newcomer,
        &["--direction", "outbound", "--record"],
    );
    let (ids, _) = site.scan(newcomer, "alice@corp.example.jp", &[]);
    assert!(history_ids(&ids).is_empty(), "after Alice wrote: {ids:?}");
}

#[test]
fn whitelisted_senders_get_no_history_finding() {
    let site = Site::new(None);
    let stranger = "shop@unknown-shop.example";
    let alice = "alice@corp.example.jp";
    site.ok(&[
        "whitelist",
        "add",
        "Unknown-Shop.example",
        "--comment",
        "supplier portal",
    ]);
    let out = site.ok(&["whitelist", "list", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(list[0]["pattern"], "unknown-shop.example");
    assert_eq!(list[0]["comment"], "supplier portal");
    let (ids, _) = site.scan(stranger, alice, &[]);
    assert!(history_ids(&ids).is_empty(), "{ids:?}");
    site.ok(&["whitelist", "remove", "unknown-shop.example"]);
    assert_eq!(
        site.run(&["whitelist", "remove", "unknown-shop.example"])
            .status
            .code(),
        Some(1),
        "removing twice"
    );
    let (ids, _) = site.scan(stranger, alice, &[]);
    assert_eq!(history_ids(&ids), ["FIRST_CONTACT"]);
    assert_eq!(
        site.run(&["whitelist", "add", "not an address"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn db_status_shows_pending_migrations_until_migrated() {
    let site = Site::new(None);
    let status = site.run(&["db", "status", "--json"]);
    assert_eq!(
        status.status.code(),
        Some(1),
        "a new file has pending steps"
    );
    let v: serde_json::Value = serde_json::from_slice(&status.stdout).expect("JSON");
    assert_eq!(v["backend"], "sqlite");
    assert!(
        v["pending"].as_array().is_some_and(|p| !p.is_empty()),
        "{v}"
    );
    site.ok(&["db", "migrate"]);
    let v: serde_json::Value =
        serde_json::from_slice(&site.ok(&["db", "status", "--json"]).stdout).expect("JSON");
    assert!(v["pending"].as_array().is_some_and(Vec::is_empty), "{v}");
    assert_eq!(
        v["applied"].as_array().map(Vec::len),
        v["latest"].as_u64().map(|n| n as usize)
    );
}

#[test]
fn a_dead_database_is_a_clear_error_not_a_verdict() {
    let site = Site::new(None);
    let started = Instant::now();
    let out = site.run(&[
        "--store",
        "postgres://fumidai:secret@127.0.0.1:1/fumidai",
        "scan",
        "-q",
        &samples("sent.mbox"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("database unavailable"), "{err}");
    assert!(!err.contains("secret"), "the password leaked: {err}");
    assert!(out.stdout.is_empty(), "no verdicts without the history");
    assert!(started.elapsed() < Duration::from_secs(20));
    for args in [
        &["db", "status"][..],
        &[
            "history",
            "lookup",
            "a@b.example",
            "--to",
            "c@corp.example.jp",
        ],
    ] {
        let mut full = vec!["--store", "postgres://127.0.0.1:1/fumidai"];
        full.extend_from_slice(args);
        assert_eq!(site.run(&full).status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn postgres_backend_through_the_binary() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let Some(pg) = rt.block_on(fumidai_store::testing::PgSchema::create("cli")) else {
        return;
    };
    let outcome = std::panic::catch_unwind(|| {
        let site = Site::new(Some(&pg.url));
        let first = site.import_samples();
        let second = site.import_samples();
        assert_eq!(counts(&first, 0), counts(&second, 0));
        let v = site.lookup("ken@partner.co.jp", "alice@corp.example.jp");
        assert_eq!(v["pairs"][0]["address"]["outbound_count"], 1, "{v}");
        let alice = "alice@corp.example.jp";
        let (ids, _) = site.scan("Ken <ken@partner.co.jp>", alice, &["--at", SOON_AFTER]);
        assert!(history_ids(&ids).is_empty(), "{ids:?}");
        let (ids, _) = site.scan("Ken <ken@partner-co.jp>", alice, &["--at", SOON_AFTER]);
        assert_eq!(
            history_ids(&ids),
            ["FIRST_CONTACT", "LOOKALIKE_OF_CORRESPONDENT"]
        );
        let v: serde_json::Value =
            serde_json::from_slice(&site.ok(&["db", "status", "--json"]).stdout).expect("JSON");
        assert_eq!(v["backend"], "postgres");
    });
    rt.block_on(pg.drop_schema());
    if let Err(e) = outcome {
        std::panic::resume_unwind(e);
    }
}
