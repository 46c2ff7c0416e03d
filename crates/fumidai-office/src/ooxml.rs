//! OOXML packages: VBA projects wherever they sit, the declared (macro-free or not) type, external
//! relationships (remote templates, linked OLE objects), DDE fields and links, embedded objects.

use crate::{findings, ole_inspect, zipread};
use fumidai_core::findings::UNINSPECTABLE;
use fumidai_core::{child_part, FileInput, FileKind, FileReport, Scan};
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

/// Entries listed at most (the rest are not looked at).
const MAX_ZIP_ENTRIES: usize = 20_000;
/// XML parts (rels, content types, document bodies) are read up to this size.
const MAX_XML: u64 = 32 << 20;

/// Main-part content types and the kind each declares.
const MAIN_TYPES: &[(&str, FileKind)] = &[
    (
        "application/vnd.ms-word.document.macroenabled.main+xml",
        FileKind::Docm,
    ),
    (
        "application/vnd.ms-word.template.macroenabledtemplate.main+xml",
        FileKind::Docm,
    ),
    (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
        FileKind::Docx,
    ),
    (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml",
        FileKind::Docx,
    ),
    (
        "application/vnd.ms-excel.sheet.macroenabled.main+xml",
        FileKind::Xlsm,
    ),
    (
        "application/vnd.ms-excel.template.macroenabled.main+xml",
        FileKind::Xlsm,
    ),
    (
        "application/vnd.ms-excel.addin.macroenabled.main+xml",
        FileKind::Xlsm,
    ),
    (
        "application/vnd.ms-excel.sheet.binary.macroenabled.main",
        FileKind::Xlsb,
    ),
    (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        FileKind::Xlsx,
    ),
    (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
        FileKind::Xlsx,
    ),
    (
        "application/vnd.ms-powerpoint.presentation.macroenabled.main+xml",
        FileKind::Pptm,
    ),
    (
        "application/vnd.ms-powerpoint.slideshow.macroenabled.main+xml",
        FileKind::Pptm,
    ),
    (
        "application/vnd.ms-powerpoint.template.macroenabled.main+xml",
        FileKind::Pptm,
    ),
    (
        "application/vnd.ms-powerpoint.addin.macroenabled.main+xml",
        FileKind::Pptm,
    ),
    (
        "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
        FileKind::Pptx,
    ),
    (
        "application/vnd.openxmlformats-officedocument.presentationml.slideshow.main+xml",
        FileKind::Pptx,
    ),
    (
        "application/vnd.openxmlformats-officedocument.presentationml.template.main+xml",
        FileKind::Pptx,
    ),
];

fn macro_capable(kind: FileKind) -> bool {
    matches!(
        kind,
        FileKind::Docm | FileKind::Xlsm | FileKind::Xlsb | FileKind::Pptm
    )
}

fn basename(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

pub(crate) fn inspect(scan: &mut Scan<'_>, input: &FileInput<'_>, report: &mut FileReport) {
    let part = input.part.as_str();
    let mut archive = match zipread::open(input.data) {
        Ok(a) => a,
        Err(e) => {
            scan.add(&UNINSPECTABLE, part, e);
            return;
        }
    };
    let names = zipread::names(&archive, MAX_ZIP_ENTRIES);

    let declared = zipread::find(&names, "[Content_Types].xml")
        .and_then(|i| zipread::read(scan, part, &mut archive, i, MAX_XML))
        .and_then(|ct| {
            let lower = String::from_utf8_lossy(&ct).to_ascii_lowercase();
            MAIN_TYPES
                .iter()
                .find(|(t, _)| lower.contains(t))
                .map(|&(_, k)| k)
        });
    if let Some(kind) = declared {
        report.detected_type = kind;
    }

    // Relationships: external targets, and which parts are VBA projects.
    let mut vba_targets: Vec<String> = Vec::new();
    for (i, name) in names.iter().enumerate() {
        if !name.to_ascii_lowercase().ends_with(".rels") {
            continue;
        }
        let Some(xml) = zipread::read(scan, part, &mut archive, i, MAX_XML) else {
            continue;
        };
        for rel in relationships(&xml) {
            let rtype = rel
                .rtype
                .rsplit('/')
                .next()
                .unwrap_or("")
                .to_ascii_lowercase();
            if rtype == "vbaproject" {
                vba_targets.push(basename(&rel.target).to_ascii_lowercase());
            }
            if rel.external {
                external_relationship(scan, part, name, &rtype, &rel.target);
            }
        }
    }

    let is_spreadsheet = matches!(
        declared,
        Some(FileKind::Xlsx | FileKind::Xlsm | FileKind::Xlsb)
    ) || names.iter().any(|n| n.starts_with("xl/"));

    for (i, name) in names.iter().enumerate() {
        if scan.exhausted() {
            break;
        }
        let lower = name.to_ascii_lowercase();
        let base = basename(&lower);
        if lower.ends_with('/') {
            continue;
        }
        if base == "vbaproject.bin" || vba_targets.iter().any(|t| t == base) {
            let Some(bin) = zipread::read(scan, part, &mut archive, i, u64::MAX) else {
                continue;
            };
            let vpart = child_part(part, name);
            if ole_inspect::scan_vba_in_ole(scan, &vpart, &bin) > 0
                && !declared.is_some_and(macro_capable)
            {
                let what = declared.map(|k| k.label()).unwrap_or("no main part");
                scan.add(
                    &findings::OOXML_MACRO_IN_MACROFREE,
                    part,
                    format!("{name} in a package declared {what}"),
                );
            }
        } else if lower.contains("/embeddings/") {
            if !scan.charge_entry(part) {
                break;
            }
            let Some(bytes) = zipread::read(scan, part, &mut archive, i, u64::MAX) else {
                continue;
            };
            report.children.push(scan.inspect_child(part, name, &bytes));
        } else if is_word_body(&lower) {
            if let Some(xml) = zipread::read(scan, part, &mut archive, i, MAX_XML) {
                for code in field_codes(&xml) {
                    field_code(scan, part, name, &code);
                }
            }
        } else if lower.starts_with("xl/externallinks/") && lower.ends_with(".xml") {
            if let Some(xml) = zipread::read(scan, part, &mut archive, i, MAX_XML) {
                external_link_part(scan, part, name, &xml);
            }
        }
    }

    if is_spreadsheet && !scan.exhausted() {
        fumidai_xlm::scan_ooxml(scan, part, input.data);
    }
}

fn is_word_body(lower: &str) -> bool {
    lower.starts_with("word/")
        && lower.ends_with(".xml")
        && [
            "document",
            "header",
            "footer",
            "footnotes",
            "endnotes",
            "comments",
            "glossary/document",
        ]
        .iter()
        .any(|p| lower["word/".len()..].starts_with(p))
}

/// One `<Relationship>`.
pub(crate) struct Relationship {
    pub rtype: String,
    pub target: String,
    pub external: bool,
}

fn attr(e: &BytesStart<'_>, local: &[u8]) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == local)
        .map(|a| {
            a.unescape_value()
                .map(|v| v.into_owned())
                .unwrap_or_else(|_| String::from_utf8_lossy(&a.value).into_owned())
        })
}

/// Every `<Relationship>` of a .rels part (a malformed part yields those read before the error).
pub(crate) fn relationships(xml: &[u8]) -> Vec<Relationship> {
    let mut out = Vec::new();
    let mut reader = Reader::from_reader(xml);
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) | Ok(Event::Empty(e))
                if e.local_name().as_ref() == b"Relationship" =>
            {
                out.push(Relationship {
                    rtype: attr(&e, b"Type").unwrap_or_default(),
                    target: attr(&e, b"Target").unwrap_or_default(),
                    external: attr(&e, b"TargetMode")
                        .is_some_and(|m| m.eq_ignore_ascii_case("External")),
                });
            }
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
        buf.clear();
    }
    out
}

/// Extensions that make a hyperlink worth reporting: the target is a file Office or Windows will open.
const LINKED_FILE_EXTENSIONS: &[&str] = &[
    "doc", "docm", "dot", "dotm", "xls", "xlsm", "xlam", "ppt", "pptm", "rtf", "hta", "exe", "scr",
    "js", "vbs", "lnk", "bat", "cmd", "ps1", "jar", "msi", "iso", "img", "zip", "one", "wsf",
    "sct",
];

fn short(s: &str) -> String {
    let mut out: String = s.chars().filter(|c| !c.is_control()).take(200).collect();
    if s.chars().count() > 200 {
        out.push('…');
    }
    out
}

fn external_relationship(scan: &mut Scan<'_>, part: &str, rels: &str, rtype: &str, target: &str) {
    match rtype {
        "attachedtemplate" => {
            scan.add(
                &findings::REMOTE_TEMPLATE,
                part,
                format!("template {} ({rels})", short(target)),
            );
        }
        "oleobject" | "frame" | "subdocument" | "package" => {
            scan.add(
                &findings::EXTERNAL_OLE_LINK,
                part,
                format!("{rtype} linked to {} ({rels})", short(target)),
            );
        }
        "hyperlink" => {
            let path = target.split(['?', '#']).next().unwrap_or("");
            let ext = path.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
            let is_file = LINKED_FILE_EXTENSIONS
                .iter()
                .any(|e| e.eq_ignore_ascii_case(ext));
            let is_unc =
                target.starts_with("\\\\") || target.to_ascii_lowercase().starts_with("file:");
            if is_file || is_unc {
                scan.add(
                    &findings::EXTERNAL_OLE_LINK,
                    part,
                    format!("hyperlink to file {} ({rels})", short(target)),
                );
            }
        }
        _ => {}
    }
}

/// The field codes of a WordprocessingML part: `w:fldSimple/@w:instr`, and `w:instrText` runs joined
/// between `w:fldChar` begin and end (a code is often split over many runs).
pub(crate) fn field_codes(xml: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack: Vec<String> = Vec::new();
    let mut in_instr = false;
    let mut reader = Reader::from_reader(xml);
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) if e.local_name().as_ref() == b"instrText" => in_instr = true,
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => match e.local_name().as_ref() {
                b"fldSimple" => {
                    if let Some(code) = attr(&e, b"instr") {
                        out.push(code);
                    }
                }
                b"fldChar" => match attr(&e, b"fldCharType").as_deref() {
                    Some("begin") if stack.len() < 64 => stack.push(String::new()),
                    Some("end") => {
                        if let Some(code) = stack.pop() {
                            out.push(code);
                        }
                    }
                    _ => {}
                },
                _ => {}
            },
            Ok(Event::End(e)) if e.local_name().as_ref() == b"instrText" => in_instr = false,
            Ok(Event::Text(t)) if in_instr => {
                if let (Some(top), Ok(text)) = (stack.last_mut(), t.unescape()) {
                    if top.len() < 4096 {
                        top.push_str(&text);
                    }
                }
            }
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
        buf.clear();
    }
    out.extend(stack.into_iter().filter(|c| !c.trim().is_empty()));
    out
}

fn field_code(scan: &mut Scan<'_>, part: &str, name: &str, code: &str) {
    let trimmed = code.trim();
    let word = trimmed
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_uppercase();
    let lower = trimmed.to_ascii_lowercase();
    // A quoted path starting with two backslashes is a UNC share (fetching it leaks NTLM credentials).
    let unc = lower.contains("\"\\\\");
    let remote =
        unc || lower.contains("http:") || lower.contains("https:") || lower.contains("file:");
    match word.as_str() {
        "DDE" | "DDEAUTO" => scan.add(
            &findings::DDE_LINK,
            part,
            format!("field {} ({name})", short(trimmed)),
        ),
        "LINK" | "INCLUDETEXT" | "IMPORT" if remote => scan.add(
            &findings::EXTERNAL_OLE_LINK,
            part,
            format!("field {} ({name})", short(trimmed)),
        ),
        "INCLUDEPICTURE" if unc => scan.add(
            &findings::EXTERNAL_OLE_LINK,
            part,
            format!("field {} ({name})", short(trimmed)),
        ),
        _ => {}
    }
}

fn external_link_part(scan: &mut Scan<'_>, part: &str, name: &str, xml: &[u8]) {
    let mut reader = Reader::from_reader(xml);
    let mut buf = Vec::new();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => match e.local_name().as_ref() {
                b"ddeLink" => {
                    let service = attr(&e, b"ddeService").unwrap_or_default();
                    let topic = attr(&e, b"ddeTopic").unwrap_or_default();
                    scan.add(
                        &findings::DDE_LINK,
                        part,
                        format!("DDE link {}|{} ({name})", short(&service), short(&topic)),
                    );
                }
                b"oleLink" => {
                    let prog = attr(&e, b"progId").unwrap_or_default();
                    scan.add(
                        &findings::EXTERNAL_OLE_LINK,
                        part,
                        format!("OLE link {} ({name})", short(&prog)),
                    );
                }
                _ => {}
            },
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
        buf.clear();
    }
}
