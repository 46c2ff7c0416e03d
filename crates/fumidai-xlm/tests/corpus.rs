//! Real files from testdata/corpus: XLM where the ground truth has it, none where it has not,
//! and no panic on truncated or damaged copies.

use fumidai_core::{hash_only, FileInput, FileKind, FileReport, Finding, Limits, Scan};
use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};

const XLM_IDS: &[&str] = &[
    "XLM_MACRO",
    "XLM_AUTO_OPEN",
    "XLM_SUSPICIOUS_CALL",
    "XLM_HIDDEN_SHEET",
];

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/corpus")
}

fn files_under(dir: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = walkdir::WalkDir::new(corpus().join(dir))
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect();
    out.sort();
    out
}

fn rel(p: &Path) -> String {
    p.strip_prefix(corpus())
        .unwrap()
        .to_string_lossy()
        .replace('\\', "/")
}

/// The Workbook/Book streams of an OLE file (what the office crate hands to `scan_biff`).
fn workbook_streams(data: &[u8]) -> Vec<Vec<u8>> {
    let Ok(mut ole) = cfb::CompoundFile::open(Cursor::new(data)) else {
        return Vec::new();
    };
    let paths: Vec<PathBuf> = ole
        .walk()
        .filter(|e| e.is_stream())
        .filter(|e| {
            e.name().eq_ignore_ascii_case("Workbook") || e.name().eq_ignore_ascii_case("Book")
        })
        .map(|e| e.path().to_path_buf())
        .collect();
    let mut out = Vec::new();
    for p in paths {
        let mut buf = Vec::new();
        if let Ok(mut s) = ole.open_stream(&p) {
            if s.read_to_end(&mut buf).is_ok() {
                out.push(buf);
            }
        }
    }
    out
}

/// Runs the entry point that fits the file's magic; returns the findings.
fn scan_bytes(name: &str, data: &[u8]) -> Vec<Finding> {
    let limits = Limits::default();
    let mut scan = Scan::new(&limits, hash_only);
    if data.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        for s in workbook_streams(data) {
            fumidai_xlm::scan_biff(&mut scan, name, &s);
        }
    } else if data.starts_with(b"PK") {
        fumidai_xlm::scan_ooxml(&mut scan, name, data);
    } else if data.starts_with(b"ID;") {
        let input = FileInput {
            name,
            declared_type: None,
            data,
            part: name.to_owned(),
            whole: None,
        };
        let mut report = FileReport::new(name, None, FileKind::Slk, data);
        fumidai_xlm::inspect_slk(&mut scan, &input, &mut report);
    }
    scan.into_findings()
}

fn ids(f: &[Finding]) -> Vec<&'static str> {
    f.iter().map(|f| f.id).collect()
}

fn truth() -> serde_json::Value {
    let text = std::fs::read_to_string(corpus().join("oletools_results.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn every_xlm_sample_has_a_macro_sheet() {
    let files = files_under("xlm_macros");
    assert!(files.len() >= 9, "corpus incomplete: {files:?}");
    for p in files {
        let f = scan_bytes(&rel(&p), &std::fs::read(&p).unwrap());
        assert!(ids(&f).contains(&"XLM_MACRO"), "{}: {f:#?}", rel(&p));
        assert_eq!(
            ids(&f).iter().filter(|i| **i == "XLM_MACRO").count(),
            1,
            "{}",
            rel(&p)
        );
    }
}

/// Whether workbook.bin of an XLSB holds a BrtName (0x27) with the built-in flag for "Auto_Open":
/// independent evidence for the one place we disagree with the ground truth.
fn xlsb_has_builtin_auto_open(package: &[u8]) -> bool {
    let mut zip = zip::ZipArchive::new(Cursor::new(package)).unwrap();
    let mut bin = Vec::new();
    zip.by_name("xl/workbook.bin")
        .unwrap()
        .read_to_end(&mut bin)
        .unwrap();
    let name: Vec<u8> = "Auto_Open"
        .encode_utf16()
        .flat_map(|c| c.to_le_bytes())
        .collect();
    bin.windows(name.len()).enumerate().any(|(i, w)| {
        // flags (4) chKey (1) itab (4) cch (4) precede the characters.
        w == name.as_slice() && i >= 13 && bin[i - 13] & 0x20 != 0 && bin[i - 4..i] == [9, 0, 0, 0]
    })
}

#[test]
fn auto_open_matches_ground_truth_or_evidence() {
    let truth = truth();
    for p in files_under("xlm_macros") {
        let key = rel(&p);
        let data = std::fs::read(&p).unwrap();
        let f = scan_bytes(&key, &data);
        let found = ids(&f).contains(&"XLM_AUTO_OPEN");
        let expected = truth["files"][&key]["has_autoexec"]
            .as_bool()
            .unwrap_or_else(|| panic!("{key} not in truth"));
        if key.ends_with(".xlsb") {
            // oletools+XLMMacroDeobfuscator say no autoexec, but workbook.bin defines the
            // built-in name Auto_Open (pointing at Macro1!A1), exactly like the .xlsm twin.
            assert!(!expected, "ground truth changed for {key}");
            assert!(
                xlsb_has_builtin_auto_open(&data),
                "{key}: no Auto_Open BrtName"
            );
            assert!(found, "{key}: {f:#?}");
            let d = &f.iter().find(|x| x.id == "XLM_AUTO_OPEN").unwrap().detail;
            assert!(d.contains("workbook.bin"), "{d}");
        } else {
            assert_eq!(found, expected, "{key}: {f:#?}");
        }
    }
}

#[test]
fn sample_macro_details_name_sheet_and_functions() {
    for name in [
        "excel4_sample_macro.xls",
        "excel4_sample_macro.xlsm",
        "excel4_sample_macro.xlsb",
    ] {
        let p = corpus().join("xlm_macros/oletools").join(name);
        let f = scan_bytes(name, &std::fs::read(&p).unwrap());
        let d = &f.iter().find(|x| x.id == "XLM_MACRO").unwrap().detail;
        assert!(d.contains("'Macro1' (visible)"), "{name}: {d}");
        assert!(d.contains("ALERT") && d.contains("HALT"), "{name}: {d}");
        // ALERT and HALT are harmless; nothing hidden.
        assert!(!ids(&f).contains(&"XLM_SUSPICIOUS_CALL"), "{name}: {f:#?}");
        assert!(!ids(&f).contains(&"XLM_HIDDEN_SHEET"), "{name}: {f:#?}");
    }
    let p = corpus().join("xlm_macros/oletools/excel4_sample_macro_excel5_format.xls");
    let f = scan_bytes("excel5", &std::fs::read(&p).unwrap());
    let d = &f.iter().find(|x| x.id == "XLM_MACRO").unwrap().detail;
    assert!(d.contains("'Macro1'") && d.contains("HALT"), "{d}");
}

#[test]
fn no_xlm_in_other_office_files() {
    let truth = truth();
    let mut checked = 0;
    for dir in ["office_macros", "office_nomacros"] {
        for p in files_under(dir) {
            let key = rel(&p);
            let f = scan_bytes(&key, &std::fs::read(&p).unwrap());
            for x in &f {
                assert!(!XLM_IDS.contains(&x.id), "{key}: {x:?}");
                if x.id == "XLM_ENCRYPTED_WORKBOOK" {
                    assert_eq!(
                        truth["files"][&key]["encrypted"].as_bool(),
                        Some(true),
                        "{key}: {x:?}"
                    );
                }
            }
            checked += 1;
        }
    }
    assert!(checked > 50, "only {checked} files");
}

/// BOUNDSHEET names of a clear BIFF8 stream.
fn sheet_names(stream: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos + 4 <= stream.len() {
        let rt = u16::from_le_bytes([stream[pos], stream[pos + 1]]);
        let len = u16::from_le_bytes([stream[pos + 2], stream[pos + 3]]) as usize;
        let Some(d) = stream.get(pos + 4..pos + 4 + len) else {
            break;
        };
        if rt == 0x0085 && d.len() > 8 && d[7] == 0 {
            out.push(
                String::from_utf8_lossy(d.get(8..8 + d[6] as usize).unwrap_or(&[])).into_owned(),
            );
        }
        pos += 4 + len;
    }
    out
}

#[test]
fn encrypted_xls_is_decrypted_or_reported_never_guessed() {
    // VelvetSweatshop (RC4, MD5 key): decrypted, scanned, VBA only, so no XLM finding at all.
    let key = "office_macros/oletools/encrypted/autostart-encrypt-standardpassword.xls";
    let data = std::fs::read(corpus().join(key)).unwrap();
    let streams = workbook_streams(&data);
    assert_eq!(streams.len(), 1, "{key}");
    assert!(
        !sheet_names(&streams[0]).contains(&"Tabelle1".to_owned()),
        "{key}: readable before decryption"
    );
    let plain = fumidai_officecrypt::decrypt_biff(&streams[0], "VelvetSweatshop").unwrap();
    assert_eq!(
        sheet_names(&plain),
        vec!["Tabelle1"],
        "{key}: decryption did not expose the sheet list"
    );
    let f = scan_bytes(key, &data);
    assert!(f.is_empty(), "{key}: {f:#?}");

    // A real password: stays opaque, reported as such, nothing invented from ciphertext.
    let key = "office_nomacros/oletools/encrypted/encrypted.xls";
    let f = scan_bytes(key, &std::fs::read(corpus().join(key)).unwrap());
    assert_eq!(ids(&f), vec!["XLM_ENCRYPTED_WORKBOOK"], "{key}: {f:#?}");
    assert!(f[0].detail.contains("RC4"), "{key}: {}", f[0].detail);
}

/// Deterministic damage: prefixes, and copies with bytes overwritten.
fn damaged(data: &[u8], seed: u64) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for cut in [1usize, 3, 5, 8, 17, 100, 513] {
        if cut < data.len() {
            out.push(data[..data.len() * cut / 1024].to_vec());
            out.push(data[..data.len() - data.len() * cut / 1024].to_vec());
        }
    }
    let mut state = seed | 1;
    for _ in 0..12 {
        let mut copy = data.to_vec();
        for _ in 0..8 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            if !copy.is_empty() {
                let i = (state >> 33) as usize % copy.len();
                copy[i] = (state >> 13) as u8;
            }
        }
        out.push(copy);
    }
    out
}

/// Rebuilds a ZIP with every entry stored (uncompressed), so damage reaches the parsers.
fn stored_copy(package: &[u8], mangle: impl Fn(&str, &mut Vec<u8>)) -> Option<Vec<u8>> {
    let mut zip = zip::ZipArchive::new(Cursor::new(package)).ok()?;
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for i in 0..zip.len() {
        let mut e = zip.by_index(i).ok()?;
        let name = e.name().to_owned();
        let mut buf = Vec::new();
        e.read_to_end(&mut buf).ok()?;
        mangle(&name, &mut buf);
        w.start_file(name, opts).ok()?;
        w.write_all(&buf).ok()?;
    }
    Some(w.finish().ok()?.into_inner())
}

#[test]
fn damaged_copies_never_panic() {
    let mut runs = 0u32;
    for (n, p) in files_under("").into_iter().enumerate() {
        let data = std::fs::read(&p).unwrap();
        let key = rel(&p);
        // OLE: damage the Workbook stream itself (damaging the container only stops cfb).
        if data.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
            for s in workbook_streams(&data) {
                for d in damaged(&s, n as u64) {
                    let limits = Limits::default();
                    let mut scan = Scan::new(&limits, hash_only);
                    fumidai_xlm::scan_biff(&mut scan, &key, &d);
                    runs += 1;
                }
            }
        }
        if data.starts_with(b"PK") {
            for (k, seed) in [11u64, 12, 13].into_iter().enumerate() {
                let mangled = stored_copy(&data, |name, buf| {
                    if name.ends_with(".xml") || name.ends_with(".bin") || name.ends_with(".rels") {
                        if let Some(d) = damaged(buf, seed + n as u64).into_iter().nth(k * 5 + 3) {
                            *buf = d;
                        }
                    }
                });
                if let Some(m) = mangled {
                    scan_bytes(&key, &m);
                    runs += 1;
                }
            }
        }
        for d in damaged(&data, n as u64) {
            scan_bytes(&key, &d);
            runs += 1;
        }
    }
    assert!(runs > 1000, "only {runs} runs");
}
