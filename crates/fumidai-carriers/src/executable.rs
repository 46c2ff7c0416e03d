//! Executables: PE (machine, DLL, .NET, sections), ELF, Mach-O, DOS, and the EICAR test file.

use crate::bytes::{u16le, u32le};
use crate::findings::{EICAR_TEST_FILE, EXECUTABLE_FILE};
use fumidai_core::{FileInput, FileKind, FileReport, Scan};

/// The EICAR test string (a valid DOS COM program).
pub const EICAR: &[u8] = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

/// Whether `d` is the EICAR test file: the string at the start, followed only by whitespace
/// (the standard allows up to 128 bytes in all).
pub fn is_eicar(d: &[u8]) -> bool {
    d.len() <= 128
        && d.starts_with(EICAR)
        && d.get(EICAR.len()..)
            .is_some_and(|t| t.iter().all(|b| b.is_ascii_whitespace() || *b == 0x1A))
}

fn pe_machine(m: u16) -> &'static str {
    match m {
        0x14C => "x86",
        0x8664 => "x86-64",
        0x1C0 | 0x1C4 => "ARM",
        0xAA64 => "ARM64",
        0x200 => "IA-64",
        _ => "unknown machine",
    }
}

/// A one-line description of an executable, or `None` when `d` is not one.
pub fn describe(d: &[u8]) -> Option<String> {
    if d.starts_with(b"MZ") {
        let pe = u32le(d, 0x3C)
            .map(|v| v as usize)
            .filter(|&o| d.get(o..o + 4) == Some(b"PE\0\0"));
        let Some(pe) = pe else {
            return Some("DOS MZ executable".to_owned());
        };
        let machine = pe_machine(u16le(d, pe + 4).unwrap_or(0));
        let nsect = u16le(d, pe + 6).unwrap_or(0) as usize;
        let opt_size = u16le(d, pe + 20).unwrap_or(0) as usize;
        let chars = u16le(d, pe + 22).unwrap_or(0);
        let opt = pe + 24;
        let magic = u16le(d, opt).unwrap_or(0);
        let (bits, dirs) = if magic == 0x20B {
            ("PE32+", opt + 112)
        } else {
            ("PE32", opt + 96)
        };
        let dotnet = u32le(d, dirs + 14 * 8).is_some_and(|rva| rva != 0) && opt_size > 0;
        let mut sections = Vec::new();
        for i in 0..nsect.min(16) {
            let at = opt + opt_size + i * 40;
            let Some(raw) = d.get(at..at + 8) else { break };
            let end = raw.iter().position(|&b| b == 0).unwrap_or(8);
            sections.push(String::from_utf8_lossy(raw.get(..end).unwrap_or(&[])).into_owned());
        }
        let mut s = format!(
            "{bits} {machine} {}",
            if chars & 0x2000 != 0 {
                "DLL"
            } else {
                "program"
            }
        );
        if dotnet {
            s.push_str(", .NET");
        }
        if !sections.is_empty() {
            s.push_str(&format!(", sections {}", sections.join(" ")));
        }
        return Some(s);
    }
    if d.starts_with(b"\x7fELF") {
        let class = if d.get(4) == Some(&2) {
            "64-bit"
        } else {
            "32-bit"
        };
        let m = u16le(d, 18).unwrap_or(0);
        let machine = match m {
            3 => "x86",
            0x3E => "x86-64",
            0x28 => "ARM",
            0xB7 => "AArch64",
            8 => "MIPS",
            _ => "other machine",
        };
        return Some(format!("ELF {class} {machine}"));
    }
    let mach = [
        [0xCE, 0xFA, 0xED, 0xFE],
        [0xCF, 0xFA, 0xED, 0xFE],
        [0xCA, 0xFE, 0xBA, 0xBE],
        [0xFE, 0xED, 0xFA, 0xCF],
    ];
    if mach.iter().any(|m| d.starts_with(m)) {
        // 0xCAFEBABE is also a Java class file; Mach-O universal binaries hold few architectures.
        if d.starts_with(&[0xCA, 0xFE, 0xBA, 0xBE])
            && crate::bytes::u32le(d, 4).map_or(0, u32::swap_bytes) > 40
        {
            return None;
        }
        return Some("Mach-O executable".to_owned());
    }
    None
}

pub fn inspect(scan: &mut Scan<'_>, input: &FileInput<'_>, report: &mut FileReport) {
    let d = input.data;
    let head = d.get(..d.len().min(256)).unwrap_or(d);
    if is_eicar(d)
        || report.detected_type == FileKind::Eicar
        || memchr::memmem::find(head, EICAR).is_some()
    {
        report.detected_type = FileKind::Eicar;
        scan.add(
            &EICAR_TEST_FILE,
            &input.part,
            "EICAR-STANDARD-ANTIVIRUS-TEST-FILE",
        );
        return;
    }
    let desc = describe(d);
    report.detected_type = match desc.as_deref() {
        Some(s) if s.starts_with("PE") => FileKind::Pe,
        Some(s) if s.starts_with("ELF") => FileKind::Elf,
        Some(s) if s.starts_with("Mach-O") => FileKind::MachO,
        Some(_) => FileKind::DosCom,
        None if report.detected_type == FileKind::DosCom => FileKind::DosCom,
        None => return,
    };
    let detail = desc.unwrap_or_else(|| format!("DOS COM program, {} bytes", d.len()));
    scan.add(&EXECUTABLE_FILE, &input.part, detail);
}
