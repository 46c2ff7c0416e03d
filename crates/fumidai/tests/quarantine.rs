//! `scan --apply` and the quarantine commands through the binary, on a SQLite store and, when the
//! server answers, a PostgreSQL schema: what each message becomes, the originals kept, listed,
//! filtered, shown, released byte for byte, deleted and purged only past the retention.

mod common;

use common::{json_lines, Site};
use fumidai_store::testing::PgSchema;
use std::path::{Path, PathBuf};

fn corpus(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/corpus")
        .join(rel)
}

/// The stdout of a command that must succeed or report findings (exit 0 or 1, as clamscan).
fn stdout(site: &Site, args: &[&str]) -> String {
    let out = site.run(args);
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "fumidai {args:?}: {:?}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// Applies the default policy to an attack mail and a plain one at a fixed time, then walks the
/// quarantine commands over what was kept.
fn apply_then_manage(site: &Site) {
    let attack = corpus("email/generated/emotet_style_autoexec_xlsm.eml");
    let plain = corpus("email/cpython_test_email/msg_02.txt");
    let out_dir = site.path("out");
    let applied = json_lines(&stdout(
        site,
        &[
            "scan",
            "--json",
            "-q",
            "--apply",
            &out_dir,
            "--at",
            "2020-01-01T00:00:00Z",
            attack.to_str().unwrap(),
            plain.to_str().unwrap(),
        ],
    ));
    assert_eq!(applied.len(), 2);
    let attack_line = &applied[0];
    assert_eq!(attack_line["verdict"], "malicious");
    assert_eq!(
        attack_line["applied"]["action"], "quarantine",
        "{attack_line}"
    );
    assert!(
        attack_line["applied"].get("output").is_none(),
        "nothing delivered"
    );
    let id = attack_line["applied"]["quarantine_id"]
        .as_str()
        .expect("quarantine id")
        .to_owned();
    // The plain message is delivered (tagged with the verdict headers) into the output directory.
    let written = applied[1]["applied"]["output"].as_str().expect("written");
    let copy = std::fs::read_to_string(written).expect("delivered copy");
    assert!(copy.contains("X-Fumidai-Verdict: "), "{copy}");
    assert_eq!(std::fs::read_dir(&out_dir).unwrap().count(), 1);

    // The same attack again today: a second, young item.
    let today = json_lines(&stdout(
        site,
        &[
            "scan",
            "--json",
            "-q",
            "--apply",
            &out_dir,
            attack.to_str().unwrap(),
        ],
    ));
    let young = today[0]["applied"]["quarantine_id"]
        .as_str()
        .expect("id")
        .to_owned();
    assert_ne!(young, id);

    // list, with filters that select and exclude
    let list = |extra: &[&str]| -> Vec<String> {
        let mut args = vec!["quarantine", "list", "--json"];
        args.extend_from_slice(extra);
        json_lines(&stdout(site, &args))
            .iter()
            .map(|v| v["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(list(&[]), vec![young.clone(), id.clone()], "newest first");
    assert_eq!(
        list(&["--since", "2021-01-01T00:00:00Z"]),
        vec![young.clone()]
    );
    assert_eq!(list(&["--until", "2021-01-01T00:00:00Z"]), vec![id.clone()]);
    assert_eq!(list(&["--limit", "1"]).len(), 1);
    let finding = json_lines(&stdout(site, &["quarantine", "list", "--json"]))[0]["findings"][0]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(list(&["--finding", &finding]).len(), 2);
    assert!(list(&["--finding", "NO_SUCH_FINDING"]).is_empty());
    assert!(list(&["--action", "sanitize"]).is_empty());
    assert_eq!(list(&["--recipient", "nobody@nowhere.invalid"]).len(), 0);
    let human = stdout(site, &["quarantine", "show", &id]);
    assert!(human.contains("verdict:     malicious"), "{human}");

    // release to a file: byte-identical, and recorded
    let released = site.path("released.eml");
    stdout(
        site,
        &[
            "quarantine",
            "release",
            &id,
            "--to-file",
            &released,
            "--by",
            "ops",
        ],
    );
    assert_eq!(
        std::fs::read(&released).unwrap(),
        std::fs::read(&attack).unwrap()
    );
    let shown: serde_json::Value =
        serde_json::from_str(&stdout(site, &["quarantine", "show", &id, "--json"])).unwrap();
    assert_eq!(shown["released"][0]["by"], "ops");
    assert_eq!(shown["report"]["verdict"], "malicious");
    // a release never overwrites a file
    assert_eq!(
        site.run(&["quarantine", "release", &id, "--to-file", &released])
            .status
            .code(),
        Some(2)
    );

    // purge: never below the retention (30 days), and only what is older than it.
    let refused = site.run(&["quarantine", "purge", "--older-than-days", "20"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("retention"));
    let purged: serde_json::Value =
        serde_json::from_str(&stdout(site, &["quarantine", "purge", "--json"])).unwrap();
    assert_eq!(purged["purged"], 1, "{purged}");
    assert_eq!(list(&[]), vec![young.clone()]);

    stdout(site, &["quarantine", "delete", &young]);
    assert!(list(&[]).is_empty());
    assert_eq!(
        site.run(&["quarantine", "delete", &young]).status.code(),
        Some(1)
    );
}

#[test]
fn apply_and_quarantine_commands_on_sqlite() {
    apply_then_manage(&Site::new(None));
}

#[test]
fn apply_and_quarantine_commands_on_postgres() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let Some(pg) = rt.block_on(PgSchema::create("cli_quarantine")) else {
        return;
    };
    let outcome = std::panic::catch_unwind(|| apply_then_manage(&Site::new(Some(&pg.url))));
    rt.block_on(pg.drop_schema());
    if let Err(e) = outcome {
        std::panic::resume_unwind(e);
    }
}
