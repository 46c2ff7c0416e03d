mod common;
use common::*;
use fumidai_carriers::rtf;
use std::io::Read;

fn doc(name: &str) -> Vec<u8> {
    corpus(&format!("carriers/rtf/{name}"))
}

#[test]
fn embedded_files_are_decoded_and_handed_on() {
    let data = doc("testRTFEmbeddedFiles.rtf");
    let r = rtf::scan_rtf(&data, usize::MAX);
    let classes: Vec<String> = r.objects.iter().map(|o| o.objclass.clone()).collect();
    assert_eq!(r.objects.len(), 14, "{classes:?}");
    assert_eq!(classes.iter().filter(|c| *c == "Package").count(), 5);
    assert!(classes.contains(&"Word.Document.8".to_owned()));
    let (report, f) = run(fumidai_carriers::inspect_rtf, "a.rtf", &data);
    assert_eq!(count(&f, "RTF_OBJECT"), 14);
    assert_eq!(count(&f, "RTF_EXPLOIT_CLASS"), 0, "{f:?}");
    assert_eq!(count(&f, "RTF_OBFUSCATED"), 0, "{f:?}");
    assert_eq!(report.children.len(), 14);
    // Every non-package object is an OLE2 compound file once the OLE1 header is peeled off.
    for (obj, child) in r.objects.iter().zip(&report.children) {
        if obj.objclass != "Package" {
            let ole1 = rtf::parse_ole1(&obj.data).expect("OLE1 header");
            assert_eq!(ole1.class_name, obj.objclass);
            assert!(
                ole1.native.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]),
                "{}",
                obj.objclass
            );
            assert_eq!(child.size, ole1.native.len() as u64);
        }
    }
    let package_names: Vec<&str> = r
        .objects
        .iter()
        .zip(&report.children)
        .filter(|(o, _)| o.objclass == "Package")
        .map(|(_, c)| c.name.as_str())
        .collect();
    assert!(
        package_names.iter().all(|n| !n.starts_with("object_")),
        "{package_names:?}"
    );
}

#[test]
fn linked_word_document_is_an_object() {
    let data = doc("testRTFEmbeddedLink.rtf");
    let (report, f) = run(fumidai_carriers::inspect_rtf, "l.rtf", &data);
    assert_eq!(count(&f, "RTF_OBJECT"), 1);
    assert!(
        detail(&f, "RTF_OBJECT").contains("Word.Document.8"),
        "{f:?}"
    );
    // A linked object carries no native data: only the link target.
    assert!(report.children.is_empty());
    assert!(detail(&f, "RTF_OBJECT").contains("linked"), "{f:?}");
    eprintln!("{f:?}");
}

#[test]
fn clean_documents_raise_nothing() {
    for name in ["testRTF.rtf", "testRTFJapanese.rtf"] {
        let (report, f) = run(fumidai_carriers::inspect_rtf, name, &doc(name));
        assert!(f.is_empty(), "{name}: {f:?}");
        assert!(report.children.is_empty());
    }
}

#[test]
fn equation_editor_exploit_with_obfuscation_is_found() {
    let data = doc("issue_251.rtf");
    let r = rtf::scan_rtf(&data, usize::MAX);
    let eq = r
        .objects
        .iter()
        .find(|o| o.objclass == "Equation.3")
        .expect("Equation.3 object");
    let ole1 = rtf::parse_ole1(&eq.data).expect("OLE1 header");
    assert!(
        ole1.class_name.eq_ignore_ascii_case("Equation.3"),
        "{}",
        ole1.class_name
    );
    assert!(
        ole1.native
            .starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]),
        "{:02x?}",
        &eq.data
    );
    let (_, f) = run(fumidai_carriers::inspect_rtf, "x.doc", &data);
    assert!(
        detail(&f, "RTF_EXPLOIT_CLASS")
            .to_ascii_lowercase()
            .contains("equation.3"),
        "{f:?}"
    );
    let obf = detail(&f, "RTF_OBFUSCATED");
    assert!(
        obf.contains("{\\rtf2") && obf.contains("\\bin runs"),
        "{obf}"
    );
}

#[test]
fn auto_updating_object_in_password_zip_is_flagged() {
    let zip_bytes = doc("issue_185.rtf.zip");
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes)).unwrap();
    let mut entry = z.by_index_decrypt(0, b"infected-test").unwrap();
    let mut data = Vec::new();
    entry.read_to_end(&mut data).unwrap();
    let (_, f) = run(fumidai_carriers::inspect_rtf, "185.rtf", &data);
    assert_eq!(count(&f, "RTF_OBJECT"), 1, "{f:?}");
    assert!(
        detail(&f, "RTF_EXPLOIT_CLASS").contains("objupdate"),
        "{f:?}"
    );
    assert!(
        detail(&f, "RTF_OBFUSCATED").contains("header {\\rt"),
        "{f:?}"
    );
    for cut in 0..data.len() {
        let _ = run(fumidai_carriers::inspect_rtf, "cut.rtf", &data[..cut]);
    }
}

#[test]
fn crafted_package_with_odd_digits_and_deep_nesting() {
    // OLE1 Package holding run.bat, hex split by whitespace and a stray digit.
    let payload = b"@echo off\r\npowershell -enc AAAA\r\n";
    let mut native = vec![2u8, 0];
    native.extend_from_slice(b"run.bat\0C:\\t\\run.bat\0");
    native.extend_from_slice(&[0, 0, 3, 0]);
    let temp = b"C:\\Temp\\run.bat\0";
    native.extend_from_slice(&(temp.len() as u32).to_le_bytes());
    native.extend_from_slice(temp);
    native.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    native.extend_from_slice(payload);
    let mut ole1 = vec![1, 5, 0, 0, 2, 0, 0, 0, 8, 0, 0, 0];
    ole1.extend_from_slice(b"Package\0");
    ole1.extend_from_slice(&[0; 8]);
    ole1.extend_from_slice(&(native.len() as u32).to_le_bytes());
    ole1.extend_from_slice(&native);
    let hex: String = ole1.iter().map(|b| format!("{b:02x}")).collect();
    let spaced: String = hex
        .as_bytes()
        .chunks(7)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join("\r\n ");
    let mut d = String::from("{\\rtvpn");
    d.push_str(&"{".repeat(300));
    d.push_str(&"}".repeat(300));
    d.push_str(&format!(
        "{{\\object\\objemb{{\\*\\objclass Package}}{{\\*\\objdata {spaced}}}}}}}"
    ));
    let (report, f) = run(fumidai_carriers::inspect_rtf, "p.doc", d.as_bytes());
    assert_eq!(report.children.len(), 1, "{f:?}");
    assert_eq!(report.children[0].name, "run.bat");
    assert_eq!(report.children[0].sha256, sha256(payload));
    let obf = detail(&f, "RTF_OBFUSCATED");
    assert!(
        obf.contains("rtvpn") && obf.contains("nested 301 deep"),
        "{obf}"
    );
}
