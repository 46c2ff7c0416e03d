//! 7z, RAR, TAR, GZIP, CAB and ISO inspection on corpus files and files built here.

mod common;
use common::*;
use fumidai_core::{FileKind, Limits};
use std::io::Write;

#[test]
fn iso_with_joliet_lists_and_inspects_the_lnk() {
    let data = local("invoice_lnk.iso");
    let (r, f) = scan_with(&Limits::default(), "invoice.iso", &data, &[]);
    assert_eq!(r.detected_type, FileKind::Iso);
    let names: Vec<&str> = r.children.iter().map(|c| c.name.as_str()).collect();
    assert!(names.contains(&"請求書.pdf.lnk"), "{names:?}");
    assert!(names.contains(&"readme.txt"), "{names:?}");
    let lnk = r
        .children
        .iter()
        .find(|c| c.name.ends_with(".lnk"))
        .unwrap();
    assert_eq!(lnk.detected_type, FileKind::Lnk);
    let b64 = corpus("carriers/lnk/LnkParse3/samples/microsoft_example");
    assert_eq!(lnk.sha256, sha256(&base64_decode(&b64)));
    let ids = ids(&f);
    assert!(ids.contains(&"DISK_IMAGE"));
    assert!(ids.contains(&"DANGEROUS_TYPE"));
    assert!(ids.contains(&"DOUBLE_EXTENSION"), "{f:?}");
}

#[test]
fn plain_iso9660_names() {
    let data = local("plain_iso9660.iso");
    let (r, _) = scan_with(&Limits::default(), "plain.iso", &data, &[]);
    assert_eq!(r.children.len(), 2, "{r:?}");
    assert!(r.children.iter().any(|c| c.detected_type == FileKind::Lnk));
    assert!(r.children.iter().any(|c| c.detected_type == FileKind::Text));
    // Truncated images: partial report, no panic.
    for cut in [0x8000, 0x8800, data.len() / 2] {
        let _ = scan_with(&Limits::default(), "cut.iso", &data[..cut], &[]);
    }
}

#[test]
fn seven_zip_lists_and_decodes() {
    let data = corpus("carriers/archives/test-documents.7z");
    let (r, f) = scan_with(&Limits::default(), "t.7z", &data, &[]);
    assert!(
        r.children.len() >= 5,
        "{f:?} {:?}",
        r.children.iter().map(|c| &c.name).collect::<Vec<_>>()
    );
    assert!(r
        .children
        .iter()
        .any(|c| c.detected_type != FileKind::Unknown));
    assert!(!r.encrypted);
}

#[test]
fn seven_zip_encrypted() {
    let data = corpus("carriers/archives/full_encrypted.7z");
    let (r, f) = scan_with(&Limits::default(), "f.7z", &data, &[]);
    assert!(ids(&f).contains(&"ARCHIVE_ENCRYPTED_UNLISTABLE"), "{f:?}");
    assert!(r.encrypted);
    let data = corpus("carriers/archives/test7Z_protected_passTika.7z");
    let (r, f) = scan_with(&Limits::default(), "p.7z", &data, &[]);
    assert!(r.encrypted, "{f:?}");
    assert!(
        !r.children.is_empty() && r.children.iter().all(|c| c.encrypted),
        "{r:?}"
    );
    assert!(ids(&f).contains(&"ARCHIVE_ENCRYPTED"));
}

#[test]
fn rar_names_and_encryption() {
    let data = corpus("carriers/archives/test-documents.rar");
    let (r, f) = scan_with(&Limits::default(), "t.rar", &data, &[]);
    assert!(r.children.len() >= 5, "{r:?}");
    assert!(
        r.children
            .iter()
            .any(|c| c.name.ends_with(".doc") || c.name.ends_with(".xls")),
        "{:?}",
        r.children
    );
    assert!(!r.encrypted);
    assert!(ids(&f).contains(&"ARCHIVE_UNSUPPORTED_CONTENT"));
    let data = corpus("carriers/archives/test-documents-enc.rar");
    let (r, f) = scan_with(&Limits::default(), "e.rar", &data, &[]);
    assert!(r.encrypted, "{f:?}");
    assert!(ids(&f)
        .iter()
        .any(|i| *i == "ARCHIVE_ENCRYPTED" || *i == "ARCHIVE_ENCRYPTED_UNLISTABLE"));
    for cut in [8, 20, 100, data.len() / 2] {
        let _ = scan_with(&Limits::default(), "cut.rar", &data[..cut], &[]);
    }
}

fn tar_header(name: &str, size: usize) -> Vec<u8> {
    let mut h = vec![0u8; 512];
    h[..name.len()].copy_from_slice(name.as_bytes());
    h[100..107].copy_from_slice(b"0000644");
    h[124..135].copy_from_slice(format!("{size:011o}").as_bytes());
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| b as u32).sum();
    h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
    h
}

fn tar(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut t = Vec::new();
    for (n, d) in entries {
        t.extend(tar_header(n, d.len()));
        t.extend_from_slice(d);
        t.resize(t.len().div_ceil(512) * 512, 0);
    }
    t.extend(vec![0u8; 1024]);
    t
}

#[test]
fn tar_gz_nested() {
    let eicar = corpus("carriers/eicar/eicar.com");
    let doc = corpus("office_macros/poi/document/SimpleMacro.doc");
    let t = tar(&[("a/eicar.com", &eicar), ("b/report.doc", &doc)]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&t).unwrap();
    let gz = gz.finish().unwrap();
    let (r, f) = scan_with(&Limits::default(), "x.tar.gz", &gz, &[]);
    assert_eq!(r.detected_type, FileKind::Gzip);
    let tarr = &r.children[0];
    assert_eq!(tarr.name, "x.tar");
    assert_eq!(tarr.detected_type, FileKind::Tar);
    let kinds: Vec<(String, FileKind)> = tarr
        .children
        .iter()
        .map(|c| (c.name.clone(), c.detected_type))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("a/eicar.com".into(), FileKind::Eicar),
            ("b/report.doc".into(), FileKind::Ole2)
        ]
    );
    assert_eq!(tarr.children[1].sha256, sha256(&doc));
    assert!(ids(&f).contains(&"DANGEROUS_TYPE"));
    // A gzip bomb stops at the budget.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        gz.write_all(&zeros).unwrap();
    }
    let bomb = gz.finish().unwrap();
    let limits = Limits {
        max_inflated_bytes: 16 << 20,
        ..Limits::default()
    };
    let (_, f) = scan_with(&limits, "z.gz", &bomb, &[]);
    assert!(ids(&f).contains(&"ARCHIVE_BOMB"), "{f:?}");
}

#[test]
fn cab_names_are_listed() {
    // CFHEADER (36 bytes) + one CFFOLDER (8) + one CFFILE.
    let mut c = Vec::new();
    c.extend_from_slice(b"MSCF\0\0\0\0");
    c.extend_from_slice(&0u32.to_le_bytes()); // cbCabinet (unchecked)
    c.extend_from_slice(&0u32.to_le_bytes());
    c.extend_from_slice(&44u32.to_le_bytes()); // coffFiles
    c.extend_from_slice(&0u32.to_le_bytes());
    c.extend_from_slice(&[3, 1]); // version
    c.extend_from_slice(&1u16.to_le_bytes()); // cFolders
    c.extend_from_slice(&1u16.to_le_bytes()); // cFiles
    c.extend_from_slice(&[0; 6]); // flags, setID, iCabinet
    c.extend_from_slice(&[0; 8]); // CFFOLDER
    c.extend_from_slice(&1234u32.to_le_bytes());
    c.extend_from_slice(&[0; 10]);
    c.extend_from_slice(&0u16.to_le_bytes());
    c.extend_from_slice(b"setup.js\0");
    let (r, f) = scan_with(&Limits::default(), "a.cab", &c, &[]);
    assert_eq!(r.detected_type, FileKind::Cab);
    assert_eq!(r.children.len(), 1);
    assert_eq!(r.children[0].name, "setup.js");
    assert_eq!(r.children[0].size, 1234);
    assert!(ids(&f).contains(&"DANGEROUS_EXTENSION"), "{f:?}");
}

fn base64_decode(text: &[u8]) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let v: Vec<u8> = text.iter().filter_map(|&c| val(c)).collect();
    let mut out = Vec::new();
    for q in v.chunks(4) {
        let n = q
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &x)| acc | (x as u32) << (18 - 6 * i));
        out.extend_from_slice(&n.to_be_bytes()[1..q.len()]);
    }
    out
}
