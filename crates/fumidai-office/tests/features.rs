//! One test per feature, on real corpus files (and one package rewritten in the test).

mod common;

use common::{read, scan_file, scan_with_passwords};
use fumidai_core::{FileKind, Finding, Limits};
use std::io::{Read, Write};

fn ids(findings: &[Finding]) -> Vec<&'static str> {
    findings.iter().map(|f| f.id).collect()
}

fn detail<'f>(findings: &'f [Finding], id: &str) -> Vec<&'f str> {
    findings
        .iter()
        .filter(|f| f.id == id)
        .map(|f| f.detail.as_str())
        .collect()
}

#[test]
fn detects_ole_kinds() {
    let cases = [
        ("office_macros/tika/testWORD_macros.doc", FileKind::Doc),
        ("office_macros/tika/testEXCEL_macro.xls", FileKind::Xls),
        ("office_macros/tika/testPPT_macros.ppt", FileKind::Ppt),
        ("carriers/msg/testMSG_att_doc.msg", FileKind::OutlookMsg),
        (
            "carriers/encrypted_office/encrypted.docm",
            FileKind::EncryptedOffice,
        ),
        ("office_macros/tika/testWORD_macros.docm", FileKind::Docm),
        ("office_nomacros/tika/testEXCEL.xlsx", FileKind::Xlsx),
        (
            "office_macros/spamassassin_extracted/renamed.jpg",
            FileKind::Xlsm,
        ),
    ];
    for (path, kind) in cases {
        let (report, _) = scan_file(&read(path), path, &Limits::default());
        assert_eq!(report.detected_type, kind, "{path}");
    }
}

#[test]
fn vba_details_name_modules_and_autoexec() {
    let (_, f) = scan_file(
        &read("office_macros/poi/spreadsheet/31749.xls"),
        "a.xls",
        &Limits::default(),
    );
    let macro_detail = detail(&f, "VBA_MACRO").join(" ");
    assert!(
        macro_detail.contains("_VBA_PROJECT_CUR/VBA") && macro_detail.contains("UW_Workbook"),
        "{macro_detail}"
    );
    let auto = detail(&f, "VBA_AUTOEXEC").join(" ");
    assert!(
        auto.contains("Workbook_Open") && !auto.contains("_Click"),
        "{auto}"
    );
    assert!(detail(&f, "VBA_ACTIVEX_EVENT")
        .join(" ")
        .contains("cmdAll_Click"));
}

#[test]
fn remote_template_dde_and_external_links() {
    let (_, f) = scan_file(
        &read("office_nomacros/tika/testAttachedTemplate.docx"),
        "t.docx",
        &Limits::default(),
    );
    assert_eq!(detail(&f, "REMOTE_TEMPLATE").len(), 1);
    assert!(
        detail(&f, "REMOTE_TEMPLATE")[0].contains("http://example.com/templates/malicious.dotx")
    );

    let (_, f) = scan_file(
        &read("office_nomacros/oletools/msodde/dde-test.docx"),
        "d.docx",
        &Limits::default(),
    );
    let dde = detail(&f, "DDE_LINK").join(" | ");
    assert!(dde.contains("DDEAUTO") && dde.contains("calc.exe"), "{dde}");

    let (_, f) = scan_file(
        &read("office_nomacros/tika/testDdeLink.xlsx"),
        "d.xlsx",
        &Limits::default(),
    );
    assert!(detail(&f, "DDE_LINK").join(" ").contains("cmd|/c calc.exe"));

    let path =
        "office_nomacros/oletools/oleobj/external_link/sample_with_external_link_to_doc.docx";
    let (_, f) = scan_file(&read(path), "e.docx", &Limits::default());
    assert!(detail(&f, "EXTERNAL_OLE_LINK")
        .join(" ")
        .contains("harmless-clean.doc"));

    // A plain web hyperlink is not an external object.
    let (_, f) = scan_file(
        &read("office_nomacros/spamassassin_extracted/uridoc.docx"),
        "u.docx",
        &Limits::default(),
    );
    assert!(f.is_empty(), "{:?}", ids(&f));
}

#[test]
fn ole_packages_and_their_payloads() {
    let (report, f) = scan_file(
        &read("carriers/ole_embedded/sample_with_lnk_file.doc"),
        "l.doc",
        &Limits::default(),
    );
    assert!(detail(&f, "OLE_PACKAGE_EXECUTABLE")
        .join(" ")
        .contains("calc.lnk"));
    let child = report
        .children
        .iter()
        .find(|c| c.name == "calc.lnk")
        .expect("lnk handed on");
    assert_eq!(child.size, 1220);

    let (report, f) = scan_file(
        &read("carriers/ole_embedded/sample_with_lnk_file.ppt"),
        "l.ppt",
        &Limits::default(),
    );
    assert!(ids(&f).contains(&"OLE_PACKAGE_EXECUTABLE"));
    assert!(report.walk().iter().any(|r| r.name == "calc.lnk"));

    let (_, f) = scan_file(
        &read("office_nomacros/oletools/oleobj/embedded-simple-2007.xls"),
        "e.xls",
        &Limits::default(),
    );
    assert!(detail(&f, "OLE_PACKAGE")
        .join(" ")
        .contains("simple-text-file.txt"));
    assert!(!ids(&f).contains(&"OLE_PACKAGE_EXECUTABLE"));
}

#[test]
fn outlook_attachments_are_children() {
    let (report, _) = scan_file(
        &read("carriers/msg/testMSG_att_doc.msg"),
        "m.msg",
        &Limits::default(),
    );
    assert!(!report.children.is_empty());
    assert!(report
        .children
        .iter()
        .all(|c| !c.name.is_empty() && c.size > 0));
    assert!(
        report
            .children
            .iter()
            .any(|c| c.name.to_ascii_lowercase().ends_with(".doc")),
        "{:?}",
        report.children.iter().map(|c| &c.name).collect::<Vec<_>>()
    );
}

#[test]
fn encryption_default_password_and_body_password() {
    let path = "office_macros/oletools/encrypted/autostart-encrypt-standardpassword.xlsm";
    let (report, f) = scan_file(&read(path), "a.xlsm", &Limits::default());
    assert!(report.encrypted);
    assert!(detail(&f, "ENCRYPTED_OFFICE_DEFAULT_PASSWORD")
        .join(" ")
        .contains("VelvetSweatshop"));
    assert!(report.children.iter().any(|c| c.name == "a.xlsm"));

    let path = "office_nomacros/poi/document/bug53475-password-is-pass.docx";
    let (_, f) = scan_file(&read(path), "p.docx", &Limits::default());
    assert!(ids(&f).contains(&"ENCRYPTED_OFFICE"));
    let (report, f) = scan_with_passwords(&read(path), "p.docx", &["nope", "pass"]);
    assert!(
        ids(&f).contains(&"ENCRYPTED_OFFICE_PASSWORD_FROM_BODY"),
        "{:?}",
        ids(&f)
    );
    assert!(!ids(&f).contains(&"ENCRYPTED_OFFICE"));
    assert_eq!(
        report.children.first().map(|c| c.detected_type),
        Some(FileKind::Docx)
    );

    for path in [
        "office_nomacros/oletools/encrypted/encrypted.doc",
        "office_nomacros/poi/spreadsheet/password.xls",
    ] {
        let (report, f) = scan_file(&read(path), path, &Limits::default());
        assert!(
            report.encrypted && ids(&f).contains(&"ENCRYPTED_OFFICE"),
            "{path}"
        );
    }
}

#[test]
fn odf_basic_macros() {
    let (_, f) = scan_file(
        &read("office_macros/tika/testODTMacro.odt"),
        "m.odt",
        &Limits::default(),
    );
    assert!(detail(&f, "ODF_BASIC_MACRO")
        .join(" ")
        .contains("Basic/Standard/test.xml"));
    let (_, f) = scan_file(
        &read("office_nomacros/tika/testEXCEL.xlsx"),
        "x.xlsx",
        &Limits::default(),
    );
    assert!(!ids(&f).contains(&"ODF_BASIC_MACRO"));
}

/// A .docm whose content types are rewritten to the macro-free .docx ones keeps its vbaProject.bin.
#[test]
fn macro_project_in_macro_free_package() {
    let src = read("office_macros/tika/testWORD_macros.docm");
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(&src[..])).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        let name = entry.name().to_owned();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        if name == "[Content_Types].xml" {
            let text = String::from_utf8(bytes).unwrap().replace(
                "application/vnd.ms-word.document.macroEnabled.main+xml",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
            );
            bytes = text.into_bytes();
        }
        out.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        out.write_all(&bytes).unwrap();
    }
    let docx = out.finish().unwrap().into_inner();
    let (report, f) = scan_file(&docx, "x.docx", &Limits::default());
    assert_eq!(report.detected_type, FileKind::Docx);
    assert!(ids(&f).contains(&"VBA_MACRO"));
    assert!(
        detail(&f, "OOXML_MACRO_IN_MACROFREE")
            .join(" ")
            .contains("vbaProject.bin"),
        "{:?}",
        ids(&f)
    );
    let (_, f) = scan_file(&src, "x.docm", &Limits::default());
    assert!(!ids(&f).contains(&"OOXML_MACRO_IN_MACROFREE"));
}

/// An .odt built here: a Basic module and an open event that runs it.
#[test]
fn odf_open_event_runs_macro() {
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let files: [(&str, &str); 3] = [
        ("mimetype", "application/vnd.oasis.opendocument.text"),
        (
            "content.xml",
            r#"<office:document-content><office:scripts><office:event-listeners><script:event-listener script:language="ooo:script" script:event-name="dom:load" xlink:href="vnd.sun.star.script:Standard.Module1.Main?language=Basic&amp;location=document"/></office:event-listeners></office:scripts></office:document-content>"#,
        ),
        (
            "Basic/Standard/Module1.xml",
            r#"<script:module script:name="Module1" script:language="StarBasic">Sub Main
 Shell("calc")
End Sub</script:module>"#,
        ),
    ];
    for (name, text) in files {
        out.start_file(name, stored).unwrap();
        out.write_all(text.as_bytes()).unwrap();
    }
    let odt = out.finish().unwrap().into_inner();
    let (report, f) = scan_file(&odt, "m.odt", &Limits::default());
    assert_eq!(report.detected_type, FileKind::Odf);
    assert!(
        detail(&f, "ODF_AUTOEXEC")
            .join(" ")
            .contains("Standard.Module1.Main"),
        "{:?}",
        ids(&f)
    );
    assert!(ids(&f).contains(&"ODF_BASIC_MACRO"));
}

/// Binary .doc files with DDEAUTO fields (inside ZIPs with the password "infected-test" in the corpus).
#[test]
fn dde_in_binary_word() {
    for path in [
        "carriers/archives/dde-test-from-office2003.doc.zip",
        "carriers/archives/dde-test-from-office2016.doc.zip",
    ] {
        let src = read(path);
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(&src[..])).unwrap();
        let mut doc = Vec::new();
        for i in 0..archive.len() {
            let mut e = archive.by_index_decrypt(i, b"infected-test").unwrap();
            if e.name().ends_with(".doc") {
                e.read_to_end(&mut doc).unwrap();
            }
        }
        let (_, f) = scan_file(&doc, "d.doc", &Limits::default());
        assert!(
            detail(&f, "DDE_LINK")
                .join(" ")
                .to_ascii_uppercase()
                .contains("DDE"),
            "{path}: {:?}",
            ids(&f)
        );
    }
    let (_, f) = scan_file(
        &read("office_nomacros/tika/testWORD.doc"),
        "w.doc",
        &Limits::default(),
    );
    assert!(!ids(&f).contains(&"DDE_LINK"));
}
