//! The `fumidai` binary as a user runs it: exit codes, JSON Lines, inputs, config check.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the binary on built-in defaults, its embedded store in a directory of this test process.
fn fumidai(args: &[&str]) -> Output {
    static DATA: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    let data = DATA.get_or_init(|| tempfile::tempdir().expect("temporary directory"));
    Command::new(env!("CARGO_BIN_EXE_fumidai"))
        .args(args)
        .env_remove("FUMIDAI_CONFIG")
        .env("FUMIDAI_DATA_DIR", data.path())
        .output()
        .expect("run fumidai")
}

fn corpus(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/corpus")
        .join(rel)
}

fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

#[test]
fn clean_message_exits_0_with_documented_json_fields() {
    let path = corpus("email/rspamd/ham.eml");
    let out = fumidai(&["scan", "--json", "-q", path.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1);
    let l = &lines[0];
    for key in [
        "path",
        "message_id",
        "subject",
        "verdict",
        "score",
        "findings",
        "attachments",
        "elapsed_us",
    ] {
        assert!(l.get(key).is_some(), "missing {key} in {l}");
    }
    assert_eq!(l["verdict"], "clean");
}

#[test]
fn missing_file_exits_2_and_says_so() {
    let out = fumidai(&["scan", "-q", "/nonexistent/fumidai/x.eml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("ERROR"));
}

#[test]
fn mbox_messages_are_labelled_by_index() {
    let dir = tempfile::tempdir().unwrap();
    let mbox = dir.path().join("sent.mbox");
    let ham = std::fs::read(corpus("email/rspamd/ham.eml")).unwrap();
    let mut data = Vec::new();
    for _ in 0..3 {
        data.extend_from_slice(b"From someone@example.jp Mon Jan  1 00:00:00 2024\n");
        data.extend_from_slice(&ham);
        data.extend_from_slice(b"\n");
    }
    std::fs::write(&mbox, data).unwrap();
    let out = fumidai(&["scan", "--json", "-q", "-j", "2", mbox.to_str().unwrap()]);
    let paths: Vec<String> = json_lines(&out)
        .iter()
        .map(|l| l["path"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(paths.len(), 3, "{paths:?}");
    assert!(paths[2].ends_with("sent.mbox#3"), "{paths:?}");
}

#[test]
fn config_check_rejects_unknown_finding_and_accepts_example() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[scores]\nNOT_A_FINDING = 2.0\n").unwrap();
    let out = fumidai(&["config", "check", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("NOT_A_FINDING"));

    // What only the milter reads is checked too, and nothing says OK first.
    std::fs::write(&bad, "[milter]\nlocal_networks = [\"10.0.0.0/33\"]\n").unwrap();
    let out = fumidai(&["config", "check", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("milter.local_networks: 10.0.0.0/33"));
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/fumidai.example.toml");
    let out = fumidai(&["config", "check", "--json", example.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["verdict"]["malicious"], 10.0);
}

#[test]
fn findings_markdown_matches_docs() {
    let out = fumidai(&["findings", "--markdown"]);
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/findings.md"),
    )
    .unwrap();
    assert!(doc.contains(String::from_utf8_lossy(&out.stdout).as_ref()));
}

#[test]
fn config_check_explains_the_policy_in_english_and_japanese() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("policy.toml");
    std::fs::write(
        &config,
        "[policy.whitelist]\ndomains = [\"partner.co.jp\"]\n\n[policy.inbound.findings]\nVBA_AUTOEXEC = \"reject\"\n\n[[policy.override]]\nrecipient_domains = [\"lab.example.co.jp\"]\ninbound.suspicious = \"tag\"\n",
    )
    .unwrap();
    let en = fumidai(&["config", "check", config.to_str().unwrap()]);
    assert_eq!(
        en.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&en.stderr)
    );
    let en = String::from_utf8(en.stdout).unwrap();
    assert!(en.contains("partner.co.jp"), "{en}");
    assert!(en.contains("VBA_AUTOEXEC"), "{en}");
    assert!(en.contains("lab.example.co.jp"), "{en}");
    assert!(en.contains("sanitised"), "{en}");
    assert!(
        en.contains("warning: [sender] own_domains is empty"),
        "{en}"
    );
    let ja = fumidai(&["config", "check", "--lang", "ja", config.to_str().unwrap()]);
    let ja = String::from_utf8(ja.stdout).unwrap();
    assert!(ja.contains("無害化"), "{ja}");
    assert!(ja.contains("許可リスト"), "{ja}");

    // A typo in a finding rule is named.
    std::fs::write(
        &config,
        "[policy.inbound.findings]\nVBA_AUTOEXCE = \"reject\"\n",
    )
    .unwrap();
    let bad = fumidai(&["config", "check", config.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("VBA_AUTOEXCE"));
}
