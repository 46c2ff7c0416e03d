//! ZIP inspection on corpus files and ZIPs built here: passwords, padding, bombs, broken archives.

mod common;
use common::*;
use fumidai_core::{FileKind, Limits};
use std::io::{Cursor, Write};
use std::time::Instant;
use zip::write::SimpleFileOptions;
use zip::{AesMode, CompressionMethod, ZipWriter};

fn build_zip(entries: &[(&str, &[u8])], opts: SimpleFileOptions) -> Vec<u8> {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    for (n, d) in entries {
        w.start_file(*n, opts).unwrap();
        w.write_all(d).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn deflated() -> SimpleFileOptions {
    SimpleFileOptions::default().compression_method(CompressionMethod::Deflated)
}

#[test]
fn macro_zip_opens_with_body_password_only() {
    let data = corpus("carriers/archives/macro.zip");
    let (r, f) = scan_with(&Limits::default(), "macro.zip", &data, &["wrong", "sa"]);
    assert!(r.encrypted);
    assert!(ids(&f).contains(&"ZIP_PASSWORD_FROM_BODY"), "{f:?}");
    assert!(!ids(&f).contains(&"ZIP_ENCRYPTED_UNOPENED"));
    let child = r
        .children
        .iter()
        .find(|c| c.name.ends_with(".xlsm"))
        .expect("xlsm entry");
    assert_eq!(child.detected_type, FileKind::Xlsm);
    assert!(child.encrypted);

    let (r, f) = scan_with(&Limits::default(), "macro.zip", &data, &["nope"]);
    assert!(ids(&f).contains(&"ZIP_ENCRYPTED_UNOPENED"), "{f:?}");
    assert!(ids(&f).contains(&"ZIP_ENCRYPTED"));
    assert!(r
        .children
        .iter()
        .all(|c| c.encrypted && c.detected_type == FileKind::Unknown));
    assert!(!r.children.is_empty());
}

#[test]
fn eicar_password_zip() {
    let data = corpus("carriers/eicar/eicar_pw_infected.zip");
    let (r, f) = scan_with(&Limits::default(), "e.zip", &data, &["infected"]);
    assert_eq!(r.children.len(), 1);
    assert_eq!(r.children[0].detected_type, FileKind::Eicar);
    assert!(ids(&f).contains(&"DANGEROUS_TYPE"), "{f:?}");
    let (r, _) = scan_with(&Limits::default(), "e.zip", &data, &[]);
    assert_eq!(r.children[0].detected_type, FileKind::Unknown);
    assert!(r.children[0].encrypted);
}

#[test]
fn nested_plain_eicar_zip() {
    let data = corpus("carriers/eicar/eicarcom2.zip");
    let (r, f) = scan_with(&Limits::default(), "e.zip", &data, &[]);
    let kinds: Vec<FileKind> = r.walk().iter().map(|c| c.detected_type).collect();
    assert_eq!(kinds, vec![FileKind::Zip, FileKind::Zip, FileKind::Eicar]);
    assert!(!ids(&f).contains(&"ZIP_ENCRYPTED"));
}

#[test]
fn mixed_encryption_zip() {
    let data = corpus("carriers/archives/testZipEncrypted.zip");
    let (r, f) = scan_with(&Limits::default(), "t.zip", &data, &["guess"]);
    let plain = r
        .children
        .iter()
        .find(|c| c.name == "unencrypted.txt")
        .expect("plain entry");
    assert!(!plain.encrypted);
    assert_eq!(plain.detected_type, FileKind::Text);
    let enc = r
        .children
        .iter()
        .find(|c| c.name == "encrypted.txt")
        .expect("encrypted entry");
    assert!(enc.encrypted);
    assert!(ids(&f).contains(&"ZIP_ENCRYPTED_UNOPENED"));
}

#[test]
fn dde_doc_zips_open_with_infected_test() {
    for f in [
        "carriers/archives/dde-test-from-office2003.doc.zip",
        "carriers/archives/dde-test-from-office2016.doc.zip",
    ] {
        let data = corpus(f);
        let (r, fs) = scan_with(
            &Limits::default(),
            "d.zip",
            &data,
            &["infected", "infected-test"],
        );
        assert!(ids(&fs).contains(&"ZIP_PASSWORD_FROM_BODY"), "{f}: {fs:?}");
        assert!(
            r.children.iter().any(|c| c.detected_type == FileKind::Ole2),
            "{f}: {r:?}"
        );
    }
}

#[test]
fn aes_zip_built_here() {
    let secret = b"Invoice 4471 payment details".repeat(50);
    let opts = deflated().with_aes_encryption(AesMode::Aes256, "4471");
    let data = build_zip(&[("請求書_4471.lnk", &secret[..])], opts);
    let (r, f) = scan_with(&Limits::default(), "a.zip", &data, &["0000", "4471"]);
    assert!(ids(&f).contains(&"ZIP_PASSWORD_FROM_BODY"), "{f:?}");
    assert_eq!(r.children.len(), 1);
    assert_eq!(r.children[0].sha256, sha256(&secret));
    assert_eq!(r.children[0].name, "請求書_4471.lnk");

    let (r, f) = scan_with(&Limits::default(), "a.zip", &data, &["0000"]);
    assert!(ids(&f).contains(&"ZIP_ENCRYPTED_UNOPENED"), "{f:?}");
    // The name of an entry that cannot be opened is still checked.
    assert!(ids(&f).contains(&"DANGEROUS_EXTENSION"), "{f:?}");
    assert!(r.children[0].encrypted);
}

#[test]
fn shift_jis_names_are_decoded() {
    // Windows' built-in ZIP writes names in the ANSI code page without the UTF-8 flag.
    let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode("請求書.xlsm");
    let mut data = build_zip(
        &[("XXXXXXXXXXX", b"hello")],
        SimpleFileOptions::default().compression_method(CompressionMethod::Stored),
    );
    assert_eq!(sjis.len(), 11);
    for _ in 0..2 {
        let p = memchr::memmem::find(&data, b"XXXXXXXXXXX").unwrap();
        data[p..p + 11].copy_from_slice(&sjis);
    }
    let (r, _) = scan_with(&Limits::default(), "j.zip", &data, &[]);
    assert_eq!(r.children[0].name, "請求書.xlsm");
}

/// Builds a ZIP holding `doc` followed by `pad` zero bytes, streaming the zeros in chunks.
fn padded_zip(doc: &[u8], pad: u64) -> Vec<u8> {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    w.start_file("請求書.doc", deflated().large_file(true))
        .unwrap();
    w.write_all(doc).unwrap();
    let chunk = vec![0u8; 4 << 20];
    let mut left = pad;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        w.write_all(&chunk[..n]).unwrap();
        left -= n as u64;
    }
    w.finish().unwrap().into_inner()
}

#[test]
fn padded_emotet_doc_is_trimmed_to_the_real_document() {
    let doc = corpus("office_macros/poi/document/SimpleMacro.doc");
    let pad: u64 = 600 << 20;
    let t = Instant::now();
    let zip = padded_zip(&doc, pad);
    let built = t.elapsed();
    assert!(zip.len() < 1 << 20, "compressed to {} bytes", zip.len());
    let before = peak_rss_kib();
    let t = Instant::now();
    let (r, f) = scan_with(&Limits::default(), "padded.zip", &zip, &[]);
    let took = t.elapsed();
    let after = peak_rss_kib();
    eprintln!("padded zip: built in {built:?}, {} bytes; inspected in {took:?}; VmHWM before {before:?} KiB, after {after:?} KiB", zip.len());
    if !cfg!(debug_assertions) {
        assert!(took.as_secs_f64() < 5.0, "took {took:?}");
    }
    assert!(ids(&f).contains(&"PADDED_FILE"), "{f:?}");
    let child = &r.children[0];
    assert_eq!(child.size, doc.len() as u64 + pad);
    assert_eq!(child.detected_type, FileKind::Ole2);
    let seen = SEEN.lock().unwrap();
    let (_, kept_sha, whole) = seen
        .iter()
        .find(|(p, _, _)| p == "padded.zip > 請求書.doc")
        .expect("child handed on");
    assert_eq!(
        kept_sha,
        &sha256(&doc),
        "the kept bytes are exactly SimpleMacro.doc"
    );
    assert_eq!(*whole, Some(doc.len() as u64 + pad));
}

/// A 42.zip-style nest: each level holds `fan` copies of the level below; the leaf is `leaf_mb` MiB of zeros.
fn nested_bomb(levels: usize, fan: usize, leaf_mb: usize) -> Vec<u8> {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    w.start_file("0.dat", deflated()).unwrap();
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..leaf_mb {
        w.write_all(&chunk).unwrap();
    }
    let mut cur = w.finish().unwrap().into_inner();
    for level in 1..=levels {
        let names: Vec<String> = (0..fan).map(|i| format!("{level}-{i}.zip")).collect();
        let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &cur[..])).collect();
        cur = build_zip(&entries, deflated());
    }
    cur
}

#[test]
fn nested_bomb_stops_at_a_small_budget() {
    let bomb = nested_bomb(3, 8, 100); // 8^3 * 100 MiB = 50 GiB inflated
    let limits = Limits {
        max_inflated_bytes: 300 << 20,
        ..Limits::default()
    };
    let t = Instant::now();
    let (_, f) = scan_with(&limits, "42.zip", &bomb, &[]);
    eprintln!("bomb of {} bytes stopped in {:?}", bomb.len(), t.elapsed());
    let ids = ids(&f);
    assert!(
        ids.contains(&"ARCHIVE_BOMB") || ids.contains(&"SCAN_LIMIT_REACHED"),
        "{f:?}"
    );
    assert!(ids.contains(&"ARCHIVE_HIGH_RATIO"));
}

#[test]
fn nested_bomb_finishes_with_default_limits() {
    let bomb = nested_bomb(3, 8, 100);
    let t = Instant::now();
    let (_, f) = scan_with(&Limits::default(), "42.zip", &bomb, &[]);
    let took = t.elapsed();
    eprintln!("bomb with default limits stopped in {took:?}");
    assert!(ids(&f).contains(&"SCAN_LIMIT_REACHED"), "{f:?}");
    assert!(took.as_secs() < 60);
}

#[test]
fn split_and_truncated_zips_do_not_panic() {
    let data = build_zip(
        &[("a.txt", b"hello world"), ("invoice.exe", b"MZ")],
        deflated(),
    );
    // The last volume of a split set: the end record names disk 1.
    let mut split = data.clone();
    let eocd = memchr::memmem::rfind(&split, b"PK\x05\x06").unwrap();
    split[eocd + 4] = 1;
    split[eocd + 6] = 1;
    let (_, f) = scan_with(&Limits::default(), "logos.zip", &split, &[]);
    assert!(ids(&f).contains(&"ARCHIVE_SPLIT"), "{f:?}");
    // The names are still salvaged from the local headers.
    assert!(ids(&f).contains(&"DANGEROUS_EXTENSION"), "{f:?}");

    for cut in [10, 40, data.len() / 2, data.len() - 5] {
        let (_, f) = scan_with(&Limits::default(), "cut.zip", &data[..cut], &[]);
        assert!(!f.is_empty(), "cut at {cut}");
    }
    // Byte flips across a real archive: never a panic.
    let real = corpus("carriers/archives/macro.zip");
    for i in (0..real.len()).step_by(97) {
        let mut m = real.clone();
        m[i] ^= 0x5A;
        let _ = scan_with(&Limits::default(), "m.zip", &m, &["sa"]);
    }
}
