//! OLE2 compound files: which Office kind, VBA projects anywhere in the tree, encryption (and decryption
//! with default or harvested passwords), embedded packages and objects, Outlook attachments.

use crate::ole::OleFile;
use crate::vba::{self, VbaStreams};
use crate::{findings, ole10native, ppt};
use fumidai_core::findings::UNINSPECTABLE;
use fumidai_core::{FileInput, FileKind, FileReport, Scan};
use std::io::Read;

/// VBA projects analysed per file (one is normal; a few with embedded documents).
const MAX_PROJECTS: usize = 32;
/// Body passwords tried on one encrypted document. Agile key derivation is slow by design (about 20 ms
/// per guess at Office's 100,000 spins), so a mail with many password-like lines must not buy seconds of
/// CPU; the harvester puts the likeliest candidates first.
const MAX_PASSWORD_TRIES: usize = 4;
const OLE_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
/// Root CLSIDs of Windows Installer databases, patches and transforms.
const MSI_CLSIDS: &[&str] = &[
    "000c1084-0000-0000-c000-000000000046",
    "000c1086-0000-0000-c000-000000000046",
    "000c1082-0000-0000-c000-000000000046",
];

fn classify(ole: &OleFile<'_>) -> Option<FileKind> {
    let has = |n: &str| ole.root_stream(n).is_some();
    if has("EncryptionInfo") && has("EncryptedPackage") {
        Some(FileKind::EncryptedOffice)
    } else if has("WordDocument") {
        Some(FileKind::Doc)
    } else if has("Workbook") || has("Book") {
        Some(FileKind::Xls)
    } else if has("PowerPoint Document") {
        Some(FileKind::Ppt)
    } else if ole
        .entries
        .iter()
        .any(|e| e.names.len() == 1 && e.name().starts_with("__substg1.0_"))
    {
        Some(FileKind::OutlookMsg)
    } else if MSI_CLSIDS.contains(&ole.root_clsid.to_ascii_lowercase().as_str())
        || ole.entries.iter().any(|e| e.name().starts_with('\u{4840}'))
    {
        Some(FileKind::Msi)
    } else {
        None
    }
}

pub(crate) fn inspect(scan: &mut Scan<'_>, input: &FileInput<'_>, report: &mut FileReport) {
    let part = input.part.as_str();
    let mut ole = match OleFile::open(input.data) {
        Ok(o) => o,
        Err(e) => {
            scan.add(&UNINSPECTABLE, part, e);
            return;
        }
    };
    let kind = classify(&ole);
    if let Some(k) = kind {
        report.detected_type = k;
    }
    let cap = scan.limits().max_file_bytes;

    if kind == Some(FileKind::EncryptedOffice) {
        encrypted_package(scan, part, &mut ole, report, cap);
    }
    if let Some(i) = ole.root_stream("WordDocument") {
        if let Some(word) = ole.read(i, cap) {
            let flags = word
                .get(0x0A..0x0C)
                .map(|b| u16::from_le_bytes([b[0], b[1]]))
                .unwrap_or(0);
            if flags & 0x0100 != 0 {
                let how = if flags & 0x8000 != 0 {
                    "XOR obfuscation"
                } else {
                    "RC4"
                };
                encrypted_legacy(
                    scan,
                    part,
                    report,
                    &format!("Word document encrypted ({how})"),
                );
            } else {
                for code in word_binary_dde_fields(&word) {
                    scan.add(
                        &findings::DDE_LINK,
                        part,
                        format!("field {code} (WordDocument)"),
                    );
                }
            }
        }
    }
    if let Some(i) = ole
        .root_stream("Workbook")
        .or_else(|| ole.root_stream("Book"))
    {
        if let Some(wb) = ole.read(i, cap) {
            if biff_has_filepass(&wb) {
                encrypted_legacy(scan, part, report, "Excel workbook encrypted (FILEPASS)");
            }
            fumidai_xlm::scan_biff(scan, part, &wb);
        }
    }
    if let Some(i) = ole.root_stream("PowerPoint Document") {
        if ole.root_stream("EncryptedSummary").is_some() {
            encrypted_legacy(
                scan,
                part,
                report,
                "PowerPoint presentation encrypted (EncryptedSummary)",
            );
        }
        if let Some(doc) = ole.read(i, cap) {
            powerpoint(scan, part, &doc, report);
        }
    }

    vba_projects(scan, part, &mut ole);
    embedded_objects(scan, part, &mut ole, report, cap);
    if kind == Some(FileKind::OutlookMsg) {
        msg_attachments(scan, part, &mut ole, report, cap);
    }
}

/// DDE/DDEAUTO field codes in a binary Word document: a field-begin mark (0x13) followed by the code,
/// in 8-bit or UTF-16 text. At most a few are returned.
fn word_binary_dde_fields(word: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    for at in memchr::memchr_iter(0x13, word) {
        if out.len() >= 4 {
            break;
        }
        let tail = word
            .get(at + 1..word.len().min(at + 1 + 512))
            .unwrap_or(&[]);
        let wide = tail.get(1) == Some(&0) && tail.get(3) == Some(&0);
        let text: String = if wide {
            let units: Vec<u16> = tail
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16_lossy(&units)
        } else {
            tail.iter().map(|&c| char::from(c)).collect()
        };
        // The code ends at the field separator (0x14) or end (0x15) mark.
        let code = text.split(['\u{14}', '\u{15}']).next().unwrap_or("").trim();
        let word1 = code.split_whitespace().next().unwrap_or("");
        if word1.eq_ignore_ascii_case("DDE") || word1.eq_ignore_ascii_case("DDEAUTO") {
            out.push(code.chars().filter(|c| !c.is_control()).take(200).collect());
        }
    }
    out
}

fn encrypted_legacy(scan: &mut Scan<'_>, part: &str, report: &mut FileReport, detail: &str) {
    report.encrypted = true;
    scan.add(&findings::ENCRYPTED_OFFICE, part, detail);
}

/// Opens `data` as a compound file and analyses every VBA project in it. Returns how many were found.
pub(crate) fn scan_vba_in_ole(scan: &mut Scan<'_>, part: &str, data: &[u8]) -> usize {
    match OleFile::open(data) {
        Ok(mut ole) => vba_projects(scan, part, &mut ole),
        Err(e) => {
            scan.add(&UNINSPECTABLE, part, e);
            0
        }
    }
}

/// Every storage named `VBA` that holds a `dir` stream is a project, wherever it sits
/// (`Macros/VBA` in .doc, `_VBA_PROJECT_CUR/VBA` in .xls, `VBA` at the root of vbaProject.bin).
fn vba_projects(scan: &mut Scan<'_>, part: &str, ole: &mut OleFile<'_>) -> usize {
    let storages: Vec<Vec<String>> = ole
        .entries
        .iter()
        .filter(|e| e.is_storage && e.name().eq_ignore_ascii_case("VBA"))
        .filter(|e| ole.child(&e.names, "dir").is_some())
        .map(|e| e.names.clone())
        .take(MAX_PROJECTS)
        .collect();
    let cap = scan.limits().max_file_bytes;
    for storage in &storages {
        let members: Vec<(usize, String)> = ole
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| !e.is_storage && e.parent() == storage.as_slice())
            .map(|(i, e)| (i, e.name().to_owned()))
            .collect();
        let mut owned: Vec<(String, Vec<u8>)> = Vec::new();
        for (i, name) in members {
            if let Some(d) = ole.read(i, cap) {
                owned.push((name, d));
            }
        }
        let project = VbaStreams {
            location: storage.join("/"),
            streams: owned
                .iter()
                .map(|(n, d)| (n.clone(), d.as_slice()))
                .collect(),
        };
        vba::analyze_project(scan, part, &project);
    }
    storages.len()
}

/// Walks BIFF records of the globals substream for FILEPASS (0x002F), up to its EOF.
fn biff_has_filepass(wb: &[u8]) -> bool {
    let mut pos = 0usize;
    let mut seen = 0;
    while let Some(h) = wb.get(pos..pos.saturating_add(4)) {
        let id = u16::from_le_bytes([h[0], h[1]]);
        let len = usize::from(u16::from_le_bytes([h[2], h[3]]));
        match id {
            0x002F => return true,
            0x000A => return false,
            _ => {}
        }
        seen += 1;
        if seen > 100_000 {
            return false;
        }
        pos = pos.saturating_add(4 + len);
    }
    false
}

fn encrypted_package(
    scan: &mut Scan<'_>,
    part: &str,
    ole: &mut OleFile<'_>,
    report: &mut FileReport,
    cap: u64,
) {
    report.encrypted = true;
    let info = ole
        .root_stream("EncryptionInfo")
        .and_then(|i| ole.read(i, 1 << 20));
    let package = ole
        .root_stream("EncryptedPackage")
        .and_then(|i| ole.read(i, cap));
    let (Some(info), Some(package)) = (info, package) else {
        scan.add(
            &findings::ENCRYPTED_OFFICE,
            part,
            "encrypted OOXML package (streams unreadable)",
        );
        return;
    };
    let defaults = fumidai_officecrypt::DEFAULT_PASSWORDS
        .iter()
        .map(|p| (p.to_string(), true));
    let harvested: Vec<(String, bool)> = scan
        .passwords()
        .iter()
        .take(MAX_PASSWORD_TRIES)
        .map(|p| (p.clone(), false))
        .collect();
    let mut why = "no candidate password fits".to_owned();
    for (password, is_default) in defaults.chain(harvested) {
        match fumidai_officecrypt::decrypt_package(&info, &package, &password) {
            Ok(plain) => {
                if is_default {
                    scan.add(
                        &findings::ENCRYPTED_OFFICE_DEFAULT_PASSWORD,
                        part,
                        format!(
                            "encrypted OOXML package opens with the default password {password:?}"
                        ),
                    );
                } else {
                    scan.add(
                        &findings::ENCRYPTED_OFFICE_PASSWORD_FROM_BODY,
                        part,
                        "encrypted OOXML package opens with a password given in the message",
                    );
                }
                if scan.charge_inflated(part, plain.len() as u64) {
                    // The plain package keeps the document's own name, so the name checks judge the
                    // real (decrypted) type against what the sender called it.
                    let name = report.name.clone();
                    report
                        .children
                        .push(scan.inspect_child(part, &name, &plain));
                }
                return;
            }
            Err(fumidai_officecrypt::DecryptError::WrongPassword) => {}
            Err(fumidai_officecrypt::DecryptError::Unsupported(s)) => {
                why = format!("unsupported encryption: {s}");
                break;
            }
            Err(fumidai_officecrypt::DecryptError::Malformed(s)) => {
                why = format!("damaged encryption headers: {s}");
                break;
            }
        }
    }
    scan.add(
        &findings::ENCRYPTED_OFFICE,
        part,
        format!("encrypted OOXML package, not inspected ({why})"),
    );
}

/// PowerPoint keeps its VBA project and OLE objects as compressed compound files inside records.
fn powerpoint(scan: &mut Scan<'_>, part: &str, doc: &[u8], report: &mut FileReport) {
    let max = scan.limits().max_entries as usize;
    let found = ppt::scan_records(doc, max);
    if found.encrypted && !report.encrypted {
        encrypted_legacy(
            scan,
            part,
            report,
            "PowerPoint presentation encrypted (CryptSession10Container)",
        );
    }
    let cap = scan.limits().max_file_bytes;
    for (n, (compressed, body)) in found.objects.into_iter().enumerate() {
        if !scan.charge_entry(part) {
            break;
        }
        let blob: Vec<u8> = if compressed {
            let Some(size) = body
                .get(..4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u64)
            else {
                continue;
            };
            let mut out = Vec::new();
            let z = flate2::read::ZlibDecoder::new(body.get(4..).unwrap_or(&[]));
            let _ = z.take(size.min(cap)).read_to_end(&mut out);
            if !scan.charge_inflated(part, out.len() as u64) {
                break;
            }
            out
        } else {
            body.to_vec()
        };
        if blob.is_empty() {
            continue;
        }
        if blob.starts_with(OLE_MAGIC) {
            report
                .children
                .push(scan.inspect_child(part, &format!("ExOleObjStg#{n}"), &blob));
        }
    }
}

/// Packages (`\x01Ole10Native`), embedded OOXML (`Package`) and other object contents (`CONTENTS`).
fn embedded_objects(
    scan: &mut Scan<'_>,
    part: &str,
    ole: &mut OleFile<'_>,
    report: &mut FileReport,
    cap: u64,
) {
    let wanted: Vec<(usize, String, String)> = ole
        .entries
        .iter()
        .enumerate()
        .filter(|(_, e)| !e.is_storage && e.size > 0)
        .filter(|(_, e)| {
            let n = e.name();
            n == "\u{1}Ole10Native" || n == "Package" || n == "CONTENTS"
        })
        .map(|(i, e)| (i, e.name().to_owned(), e.parent().join("/")))
        .collect();
    for (i, name, storage) in wanted {
        if scan.exhausted() || !scan.charge_entry(part) {
            break;
        }
        let Some(data) = ole.read(i, cap) else {
            continue;
        };
        let shown_storage = if storage.is_empty() {
            "root".to_owned()
        } else {
            storage.clone()
        };
        if name == "\u{1}Ole10Native" {
            let Some(pkg) = ole10native::parse(&data) else {
                continue;
            };
            let file_name = pkg.file_name();
            let exec = [&file_name, &pkg.label, &pkg.source_path, &pkg.temp_path]
                .iter()
                .any(|n| ole10native::is_executable_name(n));
            let def = if exec {
                &findings::OLE_PACKAGE_EXECUTABLE
            } else {
                &findings::OLE_PACKAGE
            };
            let shown = if file_name.is_empty() {
                "(unnamed)"
            } else {
                file_name.as_str()
            };
            let what = if pkg.link {
                format!("OLE package {shown:?} linking to {:?}", pkg.source_path)
            } else {
                format!("OLE package {shown:?} ({} bytes)", pkg.data.len())
            };
            scan.add(def, part, format!("{what} in {shown_storage}"));
            if !pkg.data.is_empty() {
                let child_name = if file_name.is_empty() {
                    format!("{shown_storage}/Ole10Native")
                } else {
                    file_name
                };
                report
                    .children
                    .push(scan.inspect_child(part, &child_name, pkg.data));
            }
        } else {
            let child_name = if storage.is_empty() {
                name
            } else {
                format!("{storage}/{name}")
            };
            report
                .children
                .push(scan.inspect_child(part, &child_name, &data));
        }
    }
}

fn utf16_name(d: &[u8]) -> String {
    let units: Vec<u16> = d
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take(1024)
        .collect();
    String::from_utf16_lossy(&units)
        .trim_end_matches('\0')
        .to_owned()
}

/// Outlook attachments: `__attach_version1.0_#N` storages with the data in `__substg1.0_37010102`.
fn msg_attachments(
    scan: &mut Scan<'_>,
    part: &str,
    ole: &mut OleFile<'_>,
    report: &mut FileReport,
    cap: u64,
) {
    let storages: Vec<Vec<String>> = ole
        .entries
        .iter()
        .filter(|e| {
            e.is_storage && e.names.len() == 1 && e.name().starts_with("__attach_version1.0_")
        })
        .map(|e| e.names.clone())
        .collect();
    for storage in storages {
        if scan.exhausted() || !scan.charge_entry(part) {
            break;
        }
        let mut name = String::new();
        for (tag, wide) in [
            ("__substg1.0_3707001F", true),
            ("__substg1.0_3704001F", true),
            ("__substg1.0_3001001F", true),
            ("__substg1.0_3707001E", false),
            ("__substg1.0_3704001E", false),
        ] {
            if let Some(i) = ole.child(&storage, tag) {
                if let Some(d) = ole.read(i, 4096) {
                    name = if wide {
                        utf16_name(&d)
                    } else {
                        d.iter().map(|&c| char::from(c)).collect()
                    };
                    name = name.trim_end_matches('\0').to_owned();
                    if !name.is_empty() {
                        break;
                    }
                }
            }
        }
        let Some(i) = ole.child(&storage, "__substg1.0_37010102") else {
            continue;
        };
        let Some(data) = ole.read(i, cap) else {
            continue;
        };
        let shown = if name.is_empty() {
            storage.join("/")
        } else {
            name
        };
        report
            .children
            .push(scan.inspect_child(part, &shown, &data));
    }
}
