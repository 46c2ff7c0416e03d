//! sniff and check_name on real corpus files.

mod common;
use common::*;
use fumidai_archive::{check_name, sniff};
use fumidai_core::{hash_only, FileKind, Limits, Scan};

#[test]
fn corpus_kinds() {
    let cases = [
        ("office_macros/poi/document/SimpleMacro.doc", FileKind::Ole2),
        ("office_macros/tika/testWORD_macros.docm", FileKind::Docm),
        ("office_macros/tika/testEXCEL_macro.xlsm", FileKind::Xlsm),
        ("office_macros/tika/testPPT_macros.pptm", FileKind::Pptm),
        ("office_macros/tika/testODTMacro.odt", FileKind::Odf),
        (
            "office_macros/spamassassin_extracted/renamed.jpg",
            FileKind::Xlsm,
        ),
        ("carriers/pdf/doc_actions.pdf", FileKind::Pdf),
        ("carriers/rtf/testRTF.rtf", FileKind::Rtf),
        ("carriers/onenote/testOneNote2016.one", FileKind::OneNote),
        ("carriers/eicar/eicar.com", FileKind::Eicar),
        ("carriers/eicar/eicar_com.zip", FileKind::Zip),
        ("carriers/archives/test-documents.7z", FileKind::SevenZip),
        ("carriers/archives/test-documents.rar", FileKind::Rar),
    ];
    for (path, kind) in cases {
        assert_eq!(sniff(&corpus(path)), kind, "{path}");
    }
}

fn eml_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            eml_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "eml") {
            out.push(p);
        }
    }
}

#[test]
fn corpus_mail_is_message() {
    let dir = format!("{}/../../testdata/corpus/email", env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    eml_files(std::path::Path::new(&dir), &mut files);
    let misses: Vec<_> = files
        .iter()
        .filter(|p| sniff(&std::fs::read(p).unwrap()) != FileKind::Message)
        .map(|p| p.strip_prefix(&dir).unwrap().display().to_string())
        .collect();
    eprintln!(
        "{} of {} .eml not sniffed as messages: {misses:?}",
        misses.len(),
        files.len()
    );
    assert!(files.len() > 50);
    assert!(misses.len() * 20 < files.len(), "{misses:?}");
}

fn name_ids(name: &str, declared: Option<&str>, kind: FileKind) -> Vec<&'static str> {
    let limits = Limits::default();
    let mut scan = Scan::new(&limits, hash_only);
    check_name(&mut scan, "p", name, declared, kind);
    scan.into_findings().into_iter().map(|f| f.id).collect()
}

#[test]
fn name_tricks() {
    assert_eq!(
        name_ids("請求書.pdf.exe", None, FileKind::Pe),
        ["DOUBLE_EXTENSION", "DANGEROUS_TYPE"]
    );
    assert!(name_ids("invoice.doc      .exe", None, FileKind::Pe).contains(&"DOUBLE_EXTENSION"));
    assert!(name_ids("invoice.pdf", None, FileKind::Pe).contains(&"EXTENSION_MISMATCH"));
    assert_eq!(
        name_ids("renamed.jpg", None, FileKind::Xlsm),
        ["EXTENSION_MISMATCH"]
    );
    assert_eq!(name_ids("report.doc", None, FileKind::Rtf), ["RTF_AS_DOC"]);
    assert_eq!(
        name_ids("report.rtf", None, FileKind::Rtf),
        Vec::<&str>::new()
    );
    let rlo = name_ids("invoice\u{202E}fdp.exe", None, FileKind::Pe);
    assert!(
        rlo.contains(&"BIDI_CONTROL_IN_NAME") && rlo.contains(&"DANGEROUS_TYPE"),
        "{rlo:?}"
    );
    // Full-width extension and trailing dots are what Windows would run.
    assert!(name_ids("請求書．ｊｓ", None, FileKind::Text).contains(&"DANGEROUS_EXTENSION"));
    assert!(name_ids("run.vbs. . ", None, FileKind::Text).contains(&"DANGEROUS_EXTENSION"));
    assert_eq!(name_ids("README", None, FileKind::Text), ["NO_EXTENSION"]);
    assert_eq!(
        name_ids("photo.png", Some("image/png"), FileKind::Png),
        Vec::<&str>::new()
    );
    assert_eq!(
        name_ids("photo.jpg", None, FileKind::Png),
        Vec::<&str>::new()
    );
    assert_eq!(
        name_ids("a.docx", Some("application/octet-stream"), FileKind::Docx),
        Vec::<&str>::new()
    );
    assert_eq!(
        name_ids("a.docx", Some("application/zip"), FileKind::Docx),
        Vec::<&str>::new()
    );
    assert_eq!(
        name_ids("a.pdf", Some("application/pdf"), FileKind::Pe),
        [
            "EXTENSION_MISMATCH",
            "DANGEROUS_TYPE",
            "DECLARED_TYPE_MISMATCH"
        ]
    );
    assert_eq!(
        name_ids("a.jpg", Some("image/jpeg"), FileKind::Xlsm),
        ["EXTENSION_MISMATCH", "DECLARED_TYPE_MISMATCH"]
    );
    assert_eq!(
        name_ids("data.csv", Some("application/vnd.ms-excel"), FileKind::Text),
        Vec::<&str>::new()
    );
    assert_eq!(
        name_ids("a.iso", None, FileKind::Iso),
        Vec::<&str>::new(),
        "disk images are scored by inspect_archive"
    );
    assert_eq!(name_ids("x.lnk", None, FileKind::Lnk), ["DANGEROUS_TYPE"]);
}
