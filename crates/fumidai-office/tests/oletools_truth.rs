//! Ground truth from oletools (testdata/corpus/oletools_results.json): VBA_MACRO exactly when olevba or the
//! structural scan saw a VBA project, VBA_AUTOEXEC exactly when it saw auto-exec keywords (ActiveX
//! Click/Change handlers excluded), and no VBA finding at all on the macro-free documents.

mod common;

use common::{corpus, scan_file};
use fumidai_core::Limits;
use std::path::PathBuf;

/// Files expected to disagree with the truth, with the reason. Empty: the two VelvetSweatshop-encrypted
/// autostart files (.xlsm/.xlsb) now pass through fumidai-officecrypt; were that crate to answer
/// `Unsupported` again, they would be listed here.
const EXPECTED_TO_FAIL: &[&str] = &[];

const PREFIXES: &[&str] = &[
    "office_macros/",
    "office_nomacros/",
    "carriers/encrypted_office",
    "carriers/ole_embedded",
    "carriers/msg",
];

fn truth() -> serde_json::Value {
    let text = std::fs::read_to_string(corpus().join("oletools_results.json")).expect("truth file");
    serde_json::from_str(&text).expect("truth json")
}

#[test]
fn vba_findings_match_oletools() {
    let truth = truth();
    let files = truth["files"].as_object().expect("files map");
    let limits = Limits::default();
    let mut checked = 0;
    let mut mismatches: Vec<String> = Vec::new();
    let mut expected_failures: Vec<String> = Vec::new();
    let mut unexpected_passes: Vec<String> = Vec::new();
    for (path, entry) in files {
        if !PREFIXES.iter().any(|p| path.starts_with(p)) {
            continue;
        }
        let Ok(data) = std::fs::read(corpus().join(path)) else {
            continue;
        };
        checked += 1;
        let (_, findings) = scan_file(&data, path, &limits);
        let has = |id: &str| findings.iter().any(|f| f.id == id);
        let want_vba = entry["has_vba"].as_bool().unwrap_or(false);
        let want_auto = entry["has_autoexec"].as_bool().unwrap_or(false);
        let got_vba = has("VBA_MACRO");
        let got_auto = has("VBA_AUTOEXEC");
        let mut problems = Vec::new();
        if got_vba != want_vba {
            problems.push(format!("VBA_MACRO got {got_vba} want {want_vba}"));
        }
        if got_auto != want_auto {
            problems.push(format!("VBA_AUTOEXEC got {got_auto} want {want_auto}"));
        }
        if let Some(f) = findings.iter().find(|f| f.id == "VBA_STOMPING") {
            problems.push(format!(
                "VBA_STOMPING on an ordinary project ({})",
                f.detail
            ));
        }
        if path.starts_with("office_nomacros/") {
            for f in findings.iter().filter(|f| f.id.starts_with("VBA_")) {
                problems.push(format!("{} on a macro-free file ({})", f.id, f.detail));
            }
        }
        let row = format!("{path:<80} {}", problems.join("; "));
        match (
            problems.is_empty(),
            EXPECTED_TO_FAIL.contains(&path.as_str()),
        ) {
            (true, false) => {}
            (true, true) => unexpected_passes.push(path.clone()),
            (false, true) => expected_failures.push(row),
            (false, false) => mismatches.push(row),
        }
    }
    assert!(checked >= 80, "only {checked} corpus files found");
    if !expected_failures.is_empty() {
        eprintln!("expected failures (see EXPECTED_TO_FAIL):");
        for r in &expected_failures {
            eprintln!("  {r}");
        }
    }
    if !unexpected_passes.is_empty() {
        eprintln!("now passing, remove from EXPECTED_TO_FAIL: {unexpected_passes:?}");
    }
    assert!(
        mismatches.is_empty(),
        "{} of {checked} files disagree with oletools:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

fn all_corpus_files() -> Vec<PathBuf> {
    fn walk(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&corpus(), &mut out);
    out.sort();
    out
}

/// Every corpus file, truncated at several lengths and with bytes flipped, must scan without a panic
/// and within the limits.
#[test]
fn hostile_variants_do_not_panic() {
    let limits = Limits {
        max_inflated_bytes: 64 << 20,
        max_time_ms: 60_000,
        ..Limits::default()
    };
    let mut variants = 0;
    for path in all_corpus_files() {
        let Ok(data) = std::fs::read(&path) else {
            continue;
        };
        let office_like = data.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) || data.starts_with(b"PK");
        if !office_like || data.len() > 4 << 20 {
            continue;
        }
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("x")
            .to_owned();
        let mut cuts: Vec<usize> = vec![
            8,
            512,
            1024,
            data.len() / 3,
            data.len() / 2,
            data.len().saturating_sub(1),
        ];
        cuts.retain(|&c| c < data.len());
        for cut in cuts {
            let _ = scan_file(&data[..cut], &name, &limits);
            variants += 1;
        }
        // Deterministic pseudo-random byte flips (xorshift), several seeds.
        for seed in 1u64..=4 {
            let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ data.len() as u64;
            let mut bad = data.clone();
            for _ in 0..(bad.len() / 256).clamp(8, 400) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let at = (x % bad.len() as u64) as usize;
                bad[at] ^= (x >> 32) as u8 | 1;
            }
            let _ = scan_file(&bad, &name, &limits);
            variants += 1;
        }
    }
    assert!(variants > 200, "only {variants} variants scanned");
}

/// Prints every file's findings (run with `-- --ignored --nocapture` to review the details by eye).
#[test]
#[ignore]
fn print_findings() {
    let limits = Limits::default();
    let (mut files, mut bytes) = (0u32, 0usize);
    let started = std::time::Instant::now();
    for path in all_corpus_files() {
        let Ok(data) = std::fs::read(&path) else {
            continue;
        };
        if !(data.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) || data.starts_with(b"PK")) {
            continue;
        }
        files += 1;
        bytes += data.len();
        let name = path
            .strip_prefix(corpus())
            .unwrap_or(&path)
            .display()
            .to_string();
        let (report, findings) = scan_file(&data, &name, &limits);
        println!(
            "== {name} [{}] children={}",
            report.detected_type,
            report.walk().len() - 1
        );
        for f in findings {
            println!("   {} {:.1} {} | {}", f.id, f.score, f.part, f.detail);
        }
    }
    let took = started.elapsed();
    println!(
        "{files} files, {bytes} bytes in {took:?} ({:?} per file, including printing)",
        took / files.max(1)
    );
}
