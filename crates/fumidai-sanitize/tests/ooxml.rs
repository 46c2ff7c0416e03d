//! Macro removal on real documents from testdata/corpus (see SOURCES.tsv) and on hostile packages.

use fumidai_engine::{Config, Engine};
use fumidai_sanitize::{strip_ooxml_macros, SanitizeError, StripLimits, Stripped};
use quick_xml::events::Event;
use std::collections::{BTreeMap, HashSet};
use std::io::{Cursor, Read, Write};
use std::path::PathBuf;
use zip::write::SimpleFileOptions;
use zip::{AesMode, ZipArchive, ZipWriter};

/// Documents with VBA projects.
const VBA_DOCUMENTS: &[&str] = &[
    "office_macros/poi/document/SimpleMacro.docm",
    "office_macros/poi/document/60158.docm",
    "office_macros/poi/document/45690.docm",
    "office_macros/tika/testWORD_macros.docm",
    "office_macros/oletools/oleform/oleform-PR314.docm",
    "office_macros/poi/spreadsheet/SimpleMacro.xlsm",
    "office_macros/poi/spreadsheet/57181.xlsm",
    "office_macros/poi/spreadsheet/62629_target.xlsm",
    "office_macros/poi/spreadsheet/testNames.xlsm",
    "office_macros/poi/spreadsheet/45431.xlsm",
    "office_macros/poi/spreadsheet/ExcelWithAttachments.xlsm",
    "office_macros/spamassassin_extracted/macro.xlsm",
    "office_macros/spamassassin_extracted/automacro.xlsm",
    "office_macros/tika/testEXCEL_macro.xlsm",
    "office_macros/calamine/vba.xlsm",
    "office_macros/poi/slideshow/SimpleMacro.pptm",
    "office_macros/tika/testPPT_macros.pptm",
];

/// Workbooks with Excel 4.0 macro sheets.
const XLM_WORKBOOKS: &[&str] = &[
    "xlm_macros/poi/64420.xlsm",
    "xlm_macros/poi/xlmmacro.xlsm",
    "xlm_macros/oletools/excel4_sample_macro.xlsm",
    "xlm_macros/oletools/excel4_sample_macro.xltm",
];

/// Macro-enabled formats without macros: only the content type and the name change.
const MACRO_FREE_MACRO_FORMATS: &[&str] = &[
    "office_nomacros/poi/spreadsheet/47026.xlsm",
    "office_nomacros/tika/testPPT.ppsm",
    "office_nomacros/tika/testEXCEL_macro_enabled_template.xltm",
    "office_nomacros/tika/testDOTM.dotm",
    "office_nomacros/tika/testPPT.potm",
    "office_nomacros/tika/testPPT.pptm",
    "office_nomacros/oletools/msodde/dde-test.docm",
    "office_nomacros/oletools/msodde/harmless-clean.docm",
    "office_nomacros/oletools/oleobj/embedded-simple-2007.pptm",
    "office_nomacros/oletools/oleobj/embedded-simple-2007.xlsm",
    "office_nomacros/oletools/oleobj/embedded-simple-2007.docm",
];

fn corpus(path: &str) -> Vec<u8> {
    let full = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/corpus")
        .join(path);
    std::fs::read(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Every part of a package, inflated, by name.
fn unzip(data: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut archive = ZipArchive::new(Cursor::new(data)).expect("the package reopens");
    let mut parts = BTreeMap::new();
    for i in 0..archive.len() {
        let mut file = archive.by_index(i).expect("entry opens");
        let mut data = Vec::new();
        file.read_to_end(&mut data).expect("entry inflates");
        parts.insert(file.name().to_owned(), data);
    }
    parts
}

/// The finding ids of an engine scan.
fn findings(name: &str, data: &[u8]) -> Vec<String> {
    let engine = Engine::new(Config::default()).expect("default config");
    let report = engine.scan_file(name, data).expect("scan completes");
    report.findings.iter().map(|f| f.id.to_string()).collect()
}

fn is_macro_finding(id: &str) -> bool {
    id.starts_with("VBA_") || id.starts_with("XLM_") || id == "OOXML_MACRO_IN_MACROFREE"
}

/// The engine's view before and after: macro findings before, none after, and nothing new (a
/// name or structure the sanitiser got wrong would show as a new finding).
fn assert_engine_agrees(path: &str, input: &[u8], out: &Stripped, expected: &str) {
    let before = findings(file_name(path), input);
    assert!(
        before.iter().any(|id| id == expected),
        "{path}: input had {before:?}"
    );
    let after = findings(&out.name, &out.data);
    assert!(
        !after.iter().any(|id| is_macro_finding(id)),
        "{path}: still {after:?}"
    );
    for id in &after {
        assert!(
            before.contains(id),
            "{path}: new finding {id} (before {before:?})"
        );
    }
}

/// (element local name, attribute local name → value) for every element of an XML part.
fn elements(xml: &[u8]) -> Vec<(String, BTreeMap<String, String>)> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut out = Vec::new();
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) | Event::Empty(e) => {
                let attrs = e
                    .attributes()
                    .map(|a| {
                        let a = a.expect("attribute");
                        (
                            String::from_utf8_lossy(a.key.local_name().as_ref()).into_owned(),
                            a.unescape_value().expect("value").into_owned(),
                        )
                    })
                    .collect();
                out.push((
                    String::from_utf8_lossy(e.local_name().as_ref()).into_owned(),
                    attrs,
                ));
            }
            Event::Eof => return out,
            _ => {}
        }
    }
}

/// Resolves a relationship target of the `.rels` part `rels` to a ZIP entry name.
fn resolve(rels: &str, target: &str) -> String {
    let source_dir = rels
        .strip_suffix(".rels")
        .and_then(|s| s.rsplit_once("_rels/"))
        .map(|(dir, _)| dir.to_owned())
        .unwrap_or_default();
    let joined = match target.strip_prefix('/') {
        Some(absolute) => absolute.to_owned(),
        None => format!("{source_dir}{target}"),
    };
    let mut segments: Vec<&str> = Vec::new();
    for s in joined.split('/') {
        match s {
            ".." => {
                segments.pop();
            }
            "" | "." => {}
            s => segments.push(s),
        }
    }
    segments.join("/").replace("%20", " ")
}

/// Checks a sanitised package: it reopens, holds no macro part, and neither [Content_Types].xml nor
/// any .rels refers to a part that is not there or to a macro.
fn assert_macro_free_package(path: &str, out: &Stripped) -> BTreeMap<String, Vec<u8>> {
    let parts = unzip(&out.data);
    let names: HashSet<String> = parts.keys().map(|n| n.to_ascii_lowercase()).collect();
    for name in parts.keys() {
        let lower = name.to_ascii_lowercase();
        assert!(
            !lower.ends_with("vbaproject.bin")
                && !lower.contains("macrosheets/")
                && !lower.ends_with("vbadata.xml"),
            "{path}: {name} left"
        );
    }
    for removed in &out.removed {
        assert!(
            !names.contains(&removed.to_ascii_lowercase()),
            "{path}: {removed} still there"
        );
    }

    let content_types = parts.get("[Content_Types].xml").expect("content types");
    let text = String::from_utf8_lossy(content_types).to_ascii_lowercase();
    for word in ["vbaproject", "macroenabled", "macrosheet", "vbadata"] {
        assert!(
            !text.contains(word),
            "{path}: [Content_Types].xml still says {word}"
        );
    }
    for (element, attrs) in elements(content_types) {
        if element == "Override" {
            let part = attrs["PartName"]
                .trim_start_matches('/')
                .to_ascii_lowercase();
            assert!(names.contains(&part), "{path}: Override for missing {part}");
        }
    }

    for (name, data) in parts.iter().filter(|(n, _)| n.ends_with(".rels")) {
        for (element, attrs) in elements(data) {
            if element != "Relationship" {
                continue;
            }
            let kind = attrs["Type"].to_ascii_lowercase();
            assert!(
                !kind.contains("vbaproject")
                    && !kind.contains("macrosheet")
                    && !kind.contains("vbadata"),
                "{path}: {name} keeps a {kind} relationship"
            );
            if attrs.get("TargetMode").map(String::as_str) == Some("External") {
                continue;
            }
            let target = resolve(name, &attrs["Target"]).to_ascii_lowercase();
            assert!(
                names.contains(&target),
                "{path}: {name} points at missing {target}"
            );
        }
    }
    parts
}

fn strip(path: &str) -> (Vec<u8>, Stripped) {
    let input = corpus(path);
    let out = strip_ooxml_macros(&input, file_name(path), &StripLimits::default())
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    (input, out)
}

#[test]
fn vba_projects_are_removed_and_the_documents_stay_intact() {
    for path in VBA_DOCUMENTS {
        let (input, out) = strip(path);
        assert!(
            out.removed.iter().any(|p| p.ends_with("vbaProject.bin")),
            "{path}: removed {:?}",
            out.removed
        );
        let parts = assert_macro_free_package(path, &out);
        assert_engine_agrees(path, &input, &out, "VBA_MACRO");

        // Every part kept is byte-identical except [Content_Types].xml and the .rels that pointed at
        // the VBA project: the main document part included.
        let before = unzip(&input);
        for (name, data) in &parts {
            if name == "[Content_Types].xml" || name.ends_with(".rels") {
                continue;
            }
            assert!(before.get(name) == Some(data), "{path}: {name} changed");
        }
        let main = [
            "word/document.xml",
            "xl/workbook.xml",
            "ppt/presentation.xml",
        ];
        assert!(
            main.iter().any(|m| parts.contains_key(*m)),
            "{path}: no main part"
        );
        assert_eq!(
            parts.len() + out.removed.len(),
            before.len(),
            "{path}: parts lost"
        );
    }
}

#[test]
fn new_names_and_content_types_are_the_macro_free_ones() {
    let cases = [
        (
            "office_macros/poi/document/SimpleMacro.docm",
            "SimpleMacro.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
        ),
        (
            "office_macros/poi/spreadsheet/SimpleMacro.xlsm",
            "SimpleMacro.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        ),
        (
            "office_macros/poi/slideshow/SimpleMacro.pptm",
            "SimpleMacro.pptx",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
        ),
        (
            "xlm_macros/oletools/excel4_sample_macro.xltm",
            "excel4_sample_macro.xltx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
        ),
        (
            "office_nomacros/tika/testDOTM.dotm",
            "testDOTM.dotx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml",
        ),
        (
            "office_nomacros/tika/testPPT.potm",
            "testPPT.potx",
            "application/vnd.openxmlformats-officedocument.presentationml.template.main+xml",
        ),
        (
            "office_nomacros/tika/testPPT.ppsm",
            "testPPT.ppsx",
            "application/vnd.openxmlformats-officedocument.presentationml.slideshow.main+xml",
        ),
    ];
    for (path, name, main_type) in cases {
        let (_, out) = strip(path);
        assert_eq!(out.name, name);
        let parts = unzip(&out.data);
        let types = String::from_utf8_lossy(&parts["[Content_Types].xml"]).into_owned();
        assert!(types.contains(main_type), "{path}: {types}");
    }
}

#[test]
fn macro_content_under_a_docx_name_is_stripped_too() {
    let input = corpus("office_macros/poi/document/SimpleMacro.docm");
    let out = strip_ooxml_macros(&input, "invoice.docx", &StripLimits::default()).expect("strips");
    assert_eq!(out.name, "invoice.docx");
    assert!(!out.removed.is_empty());
    assert_macro_free_package("invoice.docx", &out);
    assert_engine_agrees("invoice.docx", &input, &out, "VBA_MACRO");
}

#[test]
fn excel4_macro_sheets_are_removed_with_their_sheet_entries_and_names() {
    for path in XLM_WORKBOOKS {
        let (input, out) = strip(path);
        assert!(
            out.removed.iter().any(|p| p.starts_with("xl/macrosheets/")),
            "{path}: removed {:?}",
            out.removed
        );
        let parts = assert_macro_free_package(path, &out);
        assert_engine_agrees(path, &input, &out, "XLM_MACRO");

        // Every <sheet> left has a relationship in workbook.xml.rels.
        let rels = elements(&parts["xl/_rels/workbook.xml.rels"]);
        let ids: HashSet<&str> = rels
            .iter()
            .filter_map(|(_, a)| a.get("Id").map(String::as_str))
            .collect();
        let workbook = elements(&parts["xl/workbook.xml"]);
        let sheets: Vec<_> = workbook.iter().filter(|(e, _)| e == "sheet").collect();
        assert!(!sheets.is_empty(), "{path}: no sheet left");
        for (_, attrs) in &sheets {
            assert!(
                ids.contains(attrs["id"].as_str()),
                "{path}: sheet {attrs:?} lost its part"
            );
        }
    }
}

#[test]
fn workbook_edits_are_exactly_the_removed_entries() {
    let (input, out) = strip("xlm_macros/oletools/excel4_sample_macro.xlsm");
    let before = String::from_utf8(unzip(&input)["xl/workbook.xml"].clone()).expect("UTF-8");
    let after = String::from_utf8(unzip(&out.data)["xl/workbook.xml"].clone()).expect("UTF-8");
    let expected = before
        .replace(r#"<sheet name="Macro1" sheetId="2" r:id="rId1"/>"#, "")
        .replace(
            r#"<definedNames><definedName name="_xlnm.Auto_Open">Macro1!$A$1</definedName></definedNames>"#,
            "",
        );
    assert_ne!(expected, before);
    assert_eq!(after, expected);

    // The active tab was the macro sheet (index 2): it moves to the sheet before it.
    let (input, out) = strip("xlm_macros/poi/64420.xlsm");
    let before = String::from_utf8(unzip(&input)["xl/workbook.xml"].clone()).expect("UTF-8");
    let after = String::from_utf8(unzip(&out.data)["xl/workbook.xml"].clone()).expect("UTF-8");
    let expected = before
        .replace(r#"<sheet name="Macro Sheet" sheetId="4" r:id="rId3"/>"#, "")
        .replace(r#"activeTab="2""#, r#"activeTab="1""#);
    assert_ne!(expected, before);
    assert_eq!(after, expected);
}

#[test]
fn macro_enabled_formats_without_macros_only_change_type_and_name() {
    for path in MACRO_FREE_MACRO_FORMATS {
        let (input, out) = strip(path);
        assert!(out.removed.is_empty(), "{path}: removed {:?}", out.removed);
        assert!(out.name.ends_with('x'), "{path}: {}", out.name);
        let parts = assert_macro_free_package(path, &out);
        let before = unzip(&input);
        assert_eq!(parts.len(), before.len());
        for (name, data) in &parts {
            if name != "[Content_Types].xml" {
                assert!(before.get(name) == Some(data), "{path}: {name} changed");
            }
        }
        let (found_before, found_after) = (
            findings(file_name(path), &input),
            findings(&out.name, &out.data),
        );
        for id in &found_after {
            assert!(found_before.contains(id), "{path}: new finding {id}");
        }
    }
}

#[test]
fn password_protected_documents_are_refused() {
    for path in [
        "carriers/encrypted_office/encrypted.docm",
        "carriers/encrypted_office/encrypted.xlsm",
        "carriers/encrypted_office/encrypted.pptm",
        "office_macros/oletools/encrypted/autostart-encrypt-standardpassword.xlsm",
    ] {
        let err = strip_ooxml_macros(&corpus(path), file_name(path), &StripLimits::default())
            .expect_err(path);
        assert!(matches!(err, SanitizeError::Encrypted(_)), "{path}: {err}");
    }
}

fn build_zip(entries: &[(&str, Vec<u8>)], options: SimpleFileOptions) -> Vec<u8> {
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in entries {
        writer.start_file(*name, options).expect("start");
        writer.write_all(data).expect("write");
    }
    writer.finish().expect("finish").into_inner()
}

fn minimal_package(extra: Vec<(&'static str, Vec<u8>)>) -> Vec<(&'static str, Vec<u8>)> {
    let mut entries = vec![
        (
            "[Content_Types].xml",
            br#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/></Types>"#.to_vec(),
        ),
        (
            "_rels/.rels",
            br#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"/>"#.to_vec(),
        ),
    ];
    entries.extend(extra);
    entries
}

#[test]
fn zip_encrypted_entries_are_refused() {
    let options = SimpleFileOptions::default().with_aes_encryption(AesMode::Aes256, "infected");
    let data = build_zip(&minimal_package(vec![]), options);
    let err = strip_ooxml_macros(&data, "a.docm", &StripLimits::default()).expect_err("encrypted");
    assert!(matches!(err, SanitizeError::Encrypted(_)), "{err}");
}

#[test]
fn truncated_and_garbage_input_are_clear_errors() {
    let input = corpus("office_macros/poi/document/SimpleMacro.docm");
    for cut in [0, 4, 100, input.len() / 2, input.len() - 10] {
        let err = strip_ooxml_macros(&input[..cut], "a.docm", &StripLimits::default())
            .expect_err("truncated");
        assert!(
            matches!(err, SanitizeError::Corrupt(_)),
            "cut at {cut}: {err}"
        );
    }
    // Damage inside a compressed part: the CRC or the inflater notices.
    let mut damaged = input.clone();
    for b in damaged.iter_mut().skip(2_000).take(200) {
        *b ^= 0x5A;
    }
    let err = strip_ooxml_macros(&damaged, "a.docm", &StripLimits::default()).expect_err("damaged");
    assert!(matches!(err, SanitizeError::Corrupt(_)), "{err}");

    let ole = corpus("office_macros/oletools/encrypted/autostart-encrypt-standardpassword.xlsm");
    let mut legacy = ole[..512].to_vec();
    legacy.resize(4096, 0);
    let err = strip_ooxml_macros(&legacy, "a.doc", &StripLimits::default()).expect_err("OLE");
    assert!(matches!(err, SanitizeError::NotOoxml(_)), "{err}");

    let plain_zip = build_zip(
        &[("readme.txt", b"hello".to_vec())],
        SimpleFileOptions::default(),
    );
    let err =
        strip_ooxml_macros(&plain_zip, "a.zip", &StripLimits::default()).expect_err("not OOXML");
    assert!(matches!(err, SanitizeError::NotOoxml(_)), "{err}");
}

#[test]
fn oversized_parts_and_packages_are_refused_without_inflating_them() {
    let limits = StripLimits {
        max_part_bytes: 1 << 20,
        max_inflated_bytes: 3 << 20,
        max_parts: 100,
    };
    // 64 MiB of zeros deflates to about 64 KiB.
    let bomb = minimal_package(vec![("word/document.xml", vec![0u8; 64 << 20])]);
    let data = build_zip(&bomb, SimpleFileOptions::default());
    assert!(data.len() < 1 << 20);
    let err = strip_ooxml_macros(&data, "a.docm", &limits).expect_err("bomb");
    assert_eq!(
        err,
        SanitizeError::PartTooLarge {
            part: "word/document.xml".to_owned(),
            limit: 1 << 20
        }
    );

    let many = minimal_package(vec![
        ("a.xml", vec![b' '; 900 << 10]),
        ("b.xml", vec![b' '; 900 << 10]),
        ("c.xml", vec![b' '; 900 << 10]),
        ("d.xml", vec![b' '; 900 << 10]),
    ]);
    let data = build_zip(&many, SimpleFileOptions::default());
    let err = strip_ooxml_macros(&data, "a.docm", &limits).expect_err("total");
    assert_eq!(err, SanitizeError::TooLarge { limit: 3 << 20 });

    let entries: Vec<(String, Vec<u8>)> = (0..101)
        .map(|i| (format!("p{i}.xml"), Vec::new()))
        .collect();
    let entries: Vec<(&str, Vec<u8>)> = entries
        .iter()
        .map(|(n, d)| (n.as_str(), d.clone()))
        .collect();
    let data = build_zip(&entries, SimpleFileOptions::default());
    let err = strip_ooxml_macros(&data, "a.docm", &limits).expect_err("parts");
    assert_eq!(err, SanitizeError::TooManyParts { limit: 100 });
}

#[test]
fn a_part_named_twice_in_different_case_is_refused() {
    let package = minimal_package(vec![
        ("word/vbaProject.bin", b"one".to_vec()),
        ("word/VBAPROJECT.BIN", b"two".to_vec()),
    ]);
    let data = build_zip(&package, SimpleFileOptions::default());
    let err = strip_ooxml_macros(&data, "a.docm", &StripLimits::default()).expect_err("twice");
    assert!(matches!(err, SanitizeError::Corrupt(_)), "{err}");
}

#[test]
fn a_workbook_of_macro_sheets_only_must_be_removed_whole() {
    let package = vec![
        (
            "[Content_Types].xml",
            br#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.ms-excel.sheet.macroEnabled.main+xml"/><Override PartName="/xl/macrosheets/sheet1.xml" ContentType="application/vnd.ms-excel.macrosheet+xml"/></Types>"#.to_vec(),
        ),
        (
            "_rels/.rels",
            br#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#.to_vec(),
        ),
        (
            "xl/workbook.xml",
            br#"<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Macro1" sheetId="1" r:id="rId1"/></sheets></workbook>"#.to_vec(),
        ),
        (
            "xl/_rels/workbook.xml.rels",
            br#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.microsoft.com/office/2006/relationships/xlMacrosheet" Target="macrosheets/sheet1.xml"/></Relationships>"#.to_vec(),
        ),
        ("xl/macrosheets/sheet1.xml", b"<xm:macrosheet/>".to_vec()),
    ];
    let data = build_zip(&package, SimpleFileOptions::default());
    let err = strip_ooxml_macros(&data, "a.xlsm", &StripLimits::default()).expect_err("whole");
    assert!(matches!(err, SanitizeError::MustRemoveWhole(_)), "{err}");
}

/// A real .docm with parts added or replaced.
fn docm_with(changes: &[(&str, &str)]) -> Vec<u8> {
    let mut parts = unzip(&corpus("office_macros/poi/document/SimpleMacro.docm"));
    for (name, data) in changes {
        parts.insert((*name).to_owned(), data.as_bytes().to_vec());
    }
    let entries: Vec<(&str, Vec<u8>)> =
        parts.iter().map(|(n, d)| (n.as_str(), d.clone())).collect();
    build_zip(&entries, SimpleFileOptions::default())
}

fn text_part(data: &[u8], name: &str) -> String {
    String::from_utf8(unzip(data)[name].clone()).expect("UTF-8")
}

#[test]
fn ribbon_callbacks_signatures_and_what_only_they_use_are_removed() {
    let original = corpus("office_macros/poi/document/SimpleMacro.docm");
    let types = text_part(&original, "[Content_Types].xml").replace(
        "</Types>",
        r#"<Default Extension="png" ContentType="image/png"/><Override PartName="/word/vbaProjectSignature.bin" ContentType="application/vnd.ms-office.vbaProjectSignature"/></Types>"#,
    );
    let root_rels = text_part(&original, "_rels/.rels").replace(
        "</Relationships>",
        r#"<Relationship Id="rIdUi" Type="http://schemas.microsoft.com/office/2007/relationships/ui/extensibility" Target="customUI/customUI14.xml"/><Relationship Id="rIdUi2" Type="http://schemas.microsoft.com/office/2006/relationships/ui/extensibility" Target="customUI/customUI.xml"/></Relationships>"#,
    );
    let vba_rels = text_part(&original, "word/_rels/vbaProject.bin.rels").replace(
        "</Relationships>",
        r#"<Relationship Id="rId2" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProjectSignature" Target="vbaProjectSignature.bin"/></Relationships>"#,
    );
    let input = docm_with(&[
        ("[Content_Types].xml", &types),
        ("_rels/.rels", &root_rels),
        ("word/_rels/vbaProject.bin.rels", &vba_rels),
        ("word/vbaProjectSignature.bin", "signature"),
        // Calls a macro: removed, with the image only it uses.
        (
            "customUI/customUI14.xml",
            r#"<customUI xmlns="http://schemas.microsoft.com/office/2009/07/customui"><ribbon><tabs><tab id="t" label="Run"><group id="g" label="G"><button id="b" label="Go" image="go" onAction="RunPayload"/></group></tab></tabs></ribbon></customUI>"#,
        ),
        (
            "customUI/_rels/customUI14.xml.rels",
            r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="go" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/image" Target="images/go.png"/></Relationships>"#,
        ),
        ("customUI/images/go.png", "png"),
        // Built-in commands only: kept.
        (
            "customUI/customUI.xml",
            r#"<customUI xmlns="http://schemas.microsoft.com/office/2006/01/customui"><ribbon startFromScratch="false"><tabs><tab idMso="TabDeveloper" visible="false"/></tabs></ribbon></customUI>"#,
        ),
    ]);
    let out = strip_ooxml_macros(&input, "ribbon.docm", &StripLimits::default()).expect("strips");
    let removed: HashSet<&str> = out.removed.iter().map(String::as_str).collect();
    for part in [
        "word/vbaProject.bin",
        "word/_rels/vbaProject.bin.rels",
        "word/vbaData.xml",
        "word/vbaProjectSignature.bin",
        "customUI/customUI14.xml",
        "customUI/_rels/customUI14.xml.rels",
        "customUI/images/go.png",
    ] {
        assert!(removed.contains(part), "{part} not in {removed:?}");
    }
    assert_eq!(removed.len(), 7, "{removed:?}");
    let parts = assert_macro_free_package("ribbon.docm", &out);
    assert!(parts.contains_key("customUI/customUI.xml"));
    assert!(text_part(&out.data, "_rels/.rels").contains("customUI/customUI.xml"));
    assert!(!text_part(&out.data, "_rels/.rels").contains("customUI14"));
}

#[test]
fn stripping_twice_changes_nothing_more() {
    for path in VBA_DOCUMENTS.iter().chain(XLM_WORKBOOKS) {
        let (_, once) = strip(path);
        let twice = strip_ooxml_macros(&once.data, &once.name, &StripLimits::default())
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        assert!(twice.removed.is_empty(), "{path}: {:?}", twice.removed);
        assert_eq!(twice.name, once.name);
        assert_eq!(unzip(&twice.data), unzip(&once.data), "{path}");
    }
}

#[test]
fn a_main_document_that_is_a_macro_part_must_be_removed_whole() {
    let original = corpus("office_macros/poi/document/SimpleMacro.docm");
    let root_rels =
        text_part(&original, "_rels/.rels").replace("word/document.xml", "word/vbaProject.bin");
    let input = docm_with(&[("_rels/.rels", &root_rels)]);
    let err = strip_ooxml_macros(&input, "a.docm", &StripLimits::default()).expect_err("whole");
    assert!(matches!(err, SanitizeError::MustRemoveWhole(_)), "{err}");
}

#[test]
fn no_file_in_the_corpus_and_no_mutation_of_a_document_panics() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/corpus");
    let mut files = vec![root];
    let mut stripped = 0;
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(
                std::fs::read_dir(&path)
                    .expect("dir")
                    .map(|e| e.expect("entry").path()),
            );
            continue;
        }
        let data = std::fs::read(&path).expect("read");
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("x");
        if strip_ooxml_macros(&data, name, &StripLimits::default()).is_ok() {
            stripped += 1;
        }
    }
    assert!(stripped >= VBA_DOCUMENTS.len() + XLM_WORKBOOKS.len());

    // Bytes flipped all over a real document (a fixed xorshift sequence): errors or a result, never a panic.
    let original = corpus("xlm_macros/oletools/excel4_sample_macro.xlsm");
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..2_000 {
        let mut data = original.clone();
        for _ in 0..1 + next() % 8 {
            let at = (next() % data.len() as u64) as usize;
            data[at] = next() as u8;
        }
        let _ = strip_ooxml_macros(&data, "m.xlsm", &StripLimits::default());
    }
}
