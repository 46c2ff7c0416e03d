//! `fumidai feeds` through the binary on a SQLite store: the export formats imported (gzipped too), a scan that
//! matches them, and a malformed file refused whole.

mod common;

use common::{json_lines, Site};
use std::io::Write;
use std::path::{Path, PathBuf};

fn testdata(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(rel)
        .to_string_lossy()
        .into_owned()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The findings of one message scanned with the site's store, as (id, detail).
fn findings(site: &Site, message: &str) -> Vec<(String, String)> {
    let out = site.run(&["scan", "--json", "-q", message]);
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{}",
        text(&out.stderr)
    );
    let lines = json_lines(&text(&out.stdout));
    assert_eq!(lines.len(), 1);
    lines[0]["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["id"].as_str().unwrap_or_default().to_owned(),
                f["detail"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn status(site: &Site) -> Vec<(String, u64)> {
    let out = site.ok(&["feeds", "status", "--json"]);
    let sources: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("json");
    sources
        .iter()
        .map(|s| {
            (
                s["source"].as_str().unwrap_or_default().to_owned(),
                s["indicators"].as_u64().unwrap_or_default(),
            )
        })
        .collect()
}

/// `file` gzipped into the site's directory.
fn gzipped(site: &Site, file: &str) -> String {
    let to = PathBuf::from(site.path(&format!("{file}.gz")));
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(&to).expect("create"),
        flate2::Compression::default(),
    );
    gz.write_all(&std::fs::read(testdata(&format!("feeds/{file}"))).expect("read"))
        .expect("gzip");
    gz.finish().expect("gzip");
    to.to_string_lossy().into_owned()
}

#[test]
fn imported_feeds_mark_listed_links_and_c2_relays() {
    let site = Site::new(None);
    let message = testdata("messages/feed_listed_url_and_c2_relay.eml");
    let before = findings(&site, &message);
    assert!(
        before.iter().all(|(id, _)| !id.starts_with("THREAT_FEED")),
        "{before:?}"
    );

    let urlhaus = gzipped(&site, "urlhaus_recent.csv");
    let out = site.ok(&[
        "feeds",
        "import",
        "--json",
        &urlhaus,
        &testdata("feeds/feodo_ipblocklist.csv"),
        &testdata("feeds/feodo_ipblocklist_old.csv"),
        &testdata("feeds/feodo_recommended.txt"),
    ]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let formats: Vec<(&str, u64)> = report["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| {
            (
                f["format"].as_str().unwrap(),
                f["indicators"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        formats,
        [
            ("urlhaus-csv", 4),
            ("feodo-csv", 2),
            ("feodo-csv", 1),
            ("feodo-text", 2)
        ]
    );
    // 203.0.113.45 is in two Feodo files: stored once.
    assert_eq!(
        status(&site),
        [("feodo".to_owned(), 4), ("urlhaus".to_owned(), 4)]
    );

    let found = findings(&site, &message);
    let detail = |id: &str| {
        found
            .iter()
            .find(|(i, _)| i == id)
            .map(|(_, d)| d.clone())
            .unwrap_or_else(|| panic!("no {id} in {found:?}"))
    };
    assert_eq!(
        detail("THREAT_FEED_URL"),
        "hxxps://invoice-docs[.]example/wp-content/uploads/2024/09/Rechnung.zip (urlhaus: malware_download (emotet,epoch5,zip))"
    );
    assert_eq!(
        detail("THREAT_FEED_IP"),
        "Received from 203[.]0[.]113[.]45 (feodo: botnet C2)"
    );

    // A clean message (no link, relays not listed) raises neither.
    let clean = site.path("clean.eml");
    std::fs::write(
        &clean,
        "Received: from mx.partner.example ([192.0.2.10])\r\nFrom: a@partner.example\r\nTo: taro@corp.example.jp\r\nSubject: hello\r\n\r\nSee http://bad-host.example.org/ and http://198.51.100.23/bins/x86 later.\r\n",
    )
    .unwrap();
    let clean_found = findings(&site, &clean);
    assert!(
        clean_found.iter().all(|(id, _)| id != "THREAT_FEED_IP"),
        "{clean_found:?}"
    );
    // ... except the URL that is listed exactly.
    assert_eq!(
        clean_found
            .iter()
            .filter(|(id, _)| id == "THREAT_FEED_URL")
            .count(),
        1,
        "{clean_found:?}"
    );

    // A full snapshot replaces its source only.
    site.ok(&[
        "feeds",
        "import",
        "--replace",
        &testdata("feeds/feodo_ipblocklist_old.csv"),
    ]);
    assert_eq!(
        status(&site),
        [("feodo".to_owned(), 1), ("urlhaus".to_owned(), 4)]
    );
    let found = findings(&site, &message);
    assert!(
        found.iter().all(|(id, _)| id != "THREAT_FEED_IP"),
        "{found:?}"
    );
}

#[test]
fn a_malformed_file_is_refused_whole() {
    let site = Site::new(None);
    let out = site.run(&[
        "feeds",
        "import",
        &testdata("feeds/feodo_ipblocklist.csv"),
        &testdata("feeds/malformed.csv"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("malformed.csv") && err.contains("line 8") && err.contains("URLhaus"),
        "{err}"
    );
    assert!(status(&site).is_empty(), "nothing imported");

    let neither = site.path("neither.csv");
    std::fs::write(&neither, "# a,b,c\n\"1\",\"2\",\"3\"\n").unwrap();
    let out = site.run(&["feeds", "import", &neither]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("neither.csv") && err.contains("neither a URLhaus"),
        "{err}"
    );

    let bad_ip = site.path("bad_ip.txt");
    std::fs::write(
        &bad_ip,
        "# Feodo Tracker Botnet C2 IP Blocklist\n192.0.2.1\nexample.com\n",
    )
    .unwrap();
    let out = site.run(&["feeds", "import", &bad_ip]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("line 3"),
        "{}",
        text(&out.stderr)
    );
    assert!(status(&site).is_empty(), "nothing imported");
}
