mod common;
use common::*;
use std::io::Write;

fn pdf(name: &str) -> Vec<u8> {
    corpus(&format!("carriers/pdf/{name}"))
}

fn findings_of(name: &str) -> (fumidai_core::FileReport, Vec<fumidai_core::Finding>) {
    run(fumidai_carriers::inspect_pdf, name, &pdf(name))
}

#[test]
fn open_action_javascript() {
    for (name, code) in [
        ("issue15590.pdf", "app.alert(1)"),
        ("issue6106.pdf", "this.print("),
        ("testPDF_jsActionOnPage.pdf", "app.alert('TIKA test')"),
    ] {
        let (_, f) = findings_of(name);
        assert!(detail(&f, "PDF_JAVASCRIPT").contains(code), "{name}: {f:?}");
        assert_eq!(count(&f, "PDF_AUTO_ACTION"), 1, "{name}");
        assert_eq!(count(&f, "PDF_LAUNCH"), 0, "{name}");
        assert_eq!(count(&f, "PDF_MALFORMED"), 0, "{name}: {f:?}");
    }
}

#[test]
fn javascript_hidden_in_object_streams_is_found() {
    // Neither file shows /JS outside its compressed object streams.
    let (_, f) = findings_of("doc_actions.pdf");
    assert!(
        detail(&f, "PDF_JAVASCRIPT").contains("this.getField"),
        "{f:?}"
    );
    assert_eq!(count(&f, "PDF_AUTO_ACTION"), 1, "/AA with JavaScript");
    let (_, f) = findings_of("js-authors.pdf");
    assert!(
        detail(&f, "PDF_JAVASCRIPT").contains("this.info.authors"),
        "{f:?}"
    );
    assert_eq!(count(&f, "PDF_AUTO_ACTION"), 0, "no /AA or /OpenAction");
}

#[test]
fn launch_action_names_its_target() {
    let (_, f) = findings_of("issue17846.pdf");
    let d = detail(&f, "PDF_LAUNCH");
    assert!(d.contains("2 /Launch") && d.contains("file1.pdf"), "{d}");
    assert_eq!(count(&f, "PDF_JAVASCRIPT"), 0);
}

#[test]
fn embedded_files_are_extracted_with_filespec_names() {
    let data = pdf("testPDF_deeplyEmbeddedAttachments.pdf");
    let (report, f) = run(fumidai_carriers::inspect_pdf, "d.pdf", &data);
    assert_eq!(report.children.len(), 20);
    assert_eq!(count(&f, "PDF_EMBEDDED_FILE"), 20);
    let names: Vec<&str> = report.children.iter().map(|c| c.name.as_str()).collect();
    assert!(
        names.contains(&"orig.pdf") && names.contains(&"orig(20).pdf"),
        "{names:?}"
    );
    // Each child is an inflated PDF (the engine opens it in turn).
    assert!(detail(&f, "PDF_EMBEDDED_FILE").ends_with("PDF"));

    let (report, _) = findings_of("testPDFPackage.pdf");
    let names: Vec<&str> = report.children.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, vec!["PDF1.pdf", "PDF2.pdf"]);

    let (report, _) = findings_of("testPDF_multiFormatEmbFiles.pdf");
    assert_eq!(report.children.len(), 4);
    assert!(report.children.iter().all(|c| c.size > 0 && c.size < 100));
}

#[test]
fn encrypted_pdf_is_marked() {
    let (report, f) = findings_of("testPassword4Spaces.pdf");
    assert!(report.encrypted);
    assert_eq!(ids(&f), vec!["PDF_ENCRYPTED"]);
    let (report, _) = findings_of("issue6106.pdf");
    assert!(!report.encrypted);
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// A PDF whose OpenAction and JavaScript live only in a compressed object stream, with the stream
/// dictionary's names hex-escaped, plus a /Launch and an embedded .hta.
fn crafted() -> Vec<u8> {
    let objstm = zlib(b"4 0 5 60 <</Type/Catalog/OpenAction 5 0 R/Pages 2 0 R>> <</S/JavaScript/JS(app.launchURL\\(\"http://192.0.2.7/x\"\\))>>");
    let hta = b"<html><HTA:APPLICATION/><script language=VBScript>CreateObject(\"WScript.Shell\").Run \"calc\"</script></html>";
    let mut d = b"%PDF-1.7\n".to_vec();
    d.extend_from_slice(
        format!(
            "1 0 obj\n<</Type/Obj#53tm/N 2/First 8/Length {}/Filter/Fl#61teDecode>>\nstream\n",
            objstm.len()
        )
        .as_bytes(),
    );
    d.extend_from_slice(&objstm);
    d.extend_from_slice(b"\nendstream\nendobj\n");
    d.extend_from_slice(b"6 0 obj\n<</Type/Filespec/UF(invoice.hta)/EF<</F 7 0 R>>>>\nendobj\n");
    d.extend_from_slice(format!("7 0 obj\n<</Length {}>>\nstream\n", hta.len()).as_bytes());
    d.extend_from_slice(hta);
    d.extend_from_slice(b"\nendstream\nendobj\n");
    d.extend_from_slice(b"8 0 obj\n<</S/La#75nch/Win<</F(cmd.exe)/P(/c calc)>>>>\nendobj\n");
    d.extend_from_slice(b"trailer\n<</Root 4 0 R>>\n%%EOF\n");
    d
}

#[test]
fn crafted_hidden_javascript_launch_and_attachment() {
    let d = crafted();
    assert!(
        !d.windows(3).any(|w| w == b"/JS"),
        "the key must only exist compressed"
    );
    let (report, f) = run(fumidai_carriers::inspect_pdf, "c.pdf", &d);
    assert!(
        detail(&f, "PDF_JAVASCRIPT").contains("app.launchURL"),
        "{f:?}"
    );
    assert_eq!(count(&f, "PDF_AUTO_ACTION"), 1);
    assert!(detail(&f, "PDF_LAUNCH").contains("cmd.exe"), "{f:?}");
    assert!(detail(&f, "PDF_MALFORMED").contains("/La#75nch"), "{f:?}");
    assert_eq!(report.children.len(), 1);
    assert_eq!(report.children[0].name, "invoice.hta");
    for cut in (0..d.len()).step_by(3) {
        let _ = run(fumidai_carriers::inspect_pdf, "cut.pdf", &d[..cut]);
    }
}

#[test]
fn inflation_budget_is_charged() {
    let bomb = zlib(&vec![b' '; 4 << 20]);
    let mut d = b"%PDF-1.4\n1 0 obj\n<</Filter/FlateDecode>>\nstream\n".to_vec();
    d.extend_from_slice(&bomb);
    d.extend_from_slice(b"\nendstream\nendobj\n%%EOF\n");
    let limits = fumidai_core::Limits {
        max_inflated_bytes: 1 << 20,
        ..Default::default()
    };
    let mut scan = fumidai_core::Scan::new(&limits, fumidai_core::hash_only);
    let input = fumidai_core::FileInput {
        name: "b.pdf",
        declared_type: None,
        data: &d,
        part: "b.pdf".into(),
        whole: None,
    };
    let mut report = fumidai_core::FileReport::new("b.pdf", None, fumidai_core::FileKind::Pdf, &d);
    fumidai_carriers::inspect_pdf(&mut scan, &input, &mut report);
    assert_eq!(
        scan.findings()
            .iter()
            .filter(|f| f.id == "SCAN_LIMIT_REACHED")
            .count(),
        1
    );
}
