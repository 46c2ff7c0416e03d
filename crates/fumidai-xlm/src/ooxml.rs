//! OOXML (.xlsm/.xltm/.xlam/.xlsx) and XLSB packages: macro sheets found through content types,
//! part names, workbook relationships and sheet lists; Auto_Open defined names; formulas and
//! strings of the macro sheets.

use crate::evidence::{clean, is_auto_open_name, Evidence, Visibility};
use crate::xlsb;
use fumidai_core::Scan;
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use std::io::{Cursor, Read};

const MACRO_CONTENT_TYPES: &[&str] = &[
    "application/vnd.ms-excel.macrosheet+xml",
    "application/vnd.ms-excel.intlmacrosheet+xml",
    "application/vnd.ms-excel.macrosheet",
    "application/vnd.ms-excel.intlmacrosheet",
];

/// Largest part read: parts are XML or BIFF12, far smaller than this in any real workbook.
const MAX_PART: u64 = 64 << 20;
const MAX_MACRO_PARTS: usize = 64;

/// A relationship of the workbook part.
struct Rel {
    id: String,
    macro_sheet: bool,
    target: String,
}

struct Package<'p> {
    zip: zip::ZipArchive<Cursor<&'p [u8]>>,
    names: Vec<String>,
}

impl Package<'_> {
    /// The stored name matching `want` case-insensitively (part names are case-insensitive).
    fn find(&self, want: &str) -> Option<String> {
        self.names
            .iter()
            .find(|n| n.trim_start_matches('/').eq_ignore_ascii_case(want))
            .cloned()
    }

    /// Reads one part, charging the inflated bytes; None if absent, unreadable or over budget.
    fn read(&mut self, scan: &mut Scan<'_>, part: &str, name: &str) -> Option<Vec<u8>> {
        let f = self.zip.by_name(name).ok()?;
        if f.encrypted() {
            return None;
        }
        let cap = MAX_PART.min(scan.limits().max_file_bytes);
        let mut out = Vec::with_capacity(f.size().min(cap) as usize);
        let res = f.take(cap).read_to_end(&mut out);
        if !scan.charge_inflated(part, out.len() as u64) {
            return None;
        }
        // A corrupt entry still yields what inflated before the error.
        if res.is_err() && out.is_empty() {
            return None;
        }
        Some(out)
    }
}

/// Scans a package; returns None when it is not a readable ZIP.
pub(crate) fn scan_package(scan: &mut Scan<'_>, part: &str, package: &[u8]) -> Option<Evidence> {
    let zip = zip::ZipArchive::new(Cursor::new(package)).ok()?;
    let names: Vec<String> = zip.file_names().take(100_000).map(str::to_owned).collect();
    let mut pkg = Package { zip, names };
    let mut ev = Evidence::default();
    // Macro-sheet part names (lower case, no leading slash).
    let mut macro_parts: Vec<String> = Vec::new();

    if let Some(ct) = pkg.find("[Content_Types].xml") {
        if let Some(xml) = pkg.read(scan, part, &ct) {
            for (part_name, content_type) in content_type_overrides(&xml) {
                if MACRO_CONTENT_TYPES
                    .iter()
                    .any(|m| content_type.eq_ignore_ascii_case(m))
                {
                    let p = part_name.trim_start_matches('/').to_ascii_lowercase();
                    ev.add_marker(format!("{p} ({content_type})"));
                    push_unique(&mut macro_parts, p);
                }
            }
        }
    }
    for n in &pkg.names {
        let l = n.trim_start_matches('/').to_ascii_lowercase();
        let in_dir = l.starts_with("xl/macrosheets/") || l.starts_with("xl/intlmacrosheets/");
        let sheet_part = (l.ends_with(".xml") || l.ends_with(".bin"))
            && !l.contains("/_rels/")
            && !l.contains("binaryindex");
        if in_dir && sheet_part {
            ev.add_marker(l.clone());
            push_unique(&mut macro_parts, l);
        }
    }

    // Workbook: sheet list, states, relationships, defined names.
    let rels_name = pkg
        .find("xl/_rels/workbook.xml.rels")
        .or_else(|| pkg.find("xl/_rels/workbook.bin.rels"));
    let rels = match rels_name.and_then(|n| pkg.read(scan, part, &n)) {
        Some(x) => relationships(&x),
        None => Vec::new(),
    };
    for r in rels.iter().filter(|r| r.macro_sheet) {
        let t = r.target.trim_start_matches('/').to_ascii_lowercase();
        let t = if t.starts_with("xl/") {
            t
        } else {
            format!("xl/{t}")
        };
        push_unique(&mut macro_parts, t);
    }
    // Without any macro-sheet part or relationship there is no XLM: skip the workbook part.
    if macro_parts.is_empty() {
        return Some(ev);
    }
    if let Some(wb) = pkg.find("xl/workbook.xml") {
        if let Some(xml) = pkg.read(scan, part, &wb) {
            workbook_xml(&xml, &rels, &mut ev);
        }
    } else if let Some(wb) = pkg.find("xl/workbook.bin") {
        if let Some(bin) = pkg.read(scan, part, &wb) {
            for s in xlsb::workbook(&bin, &mut ev) {
                if rels.iter().any(|r| r.macro_sheet && r.id == s.rel_id) {
                    ev.add_sheet(s.name, s.visibility);
                }
            }
        }
    }

    // Formulas of the macro sheets.
    for p in macro_parts.iter().take(MAX_MACRO_PARTS) {
        if scan.exhausted() || !scan.charge_entry(part) {
            break;
        }
        let Some(stored) = pkg.find(p) else { continue };
        let Some(data) = pkg.read(scan, part, &stored) else {
            continue;
        };
        if p.ends_with(".bin") {
            xlsb::macro_sheet(&data, &mut ev);
        } else {
            macro_sheet_xml(&data, &mut ev);
        }
    }
    Some(ev)
}

fn push_unique(v: &mut Vec<String>, s: String) {
    if v.len() < 1024 && !v.contains(&s) {
        v.push(s);
    }
}

/// XML text of a part: UTF-8, or UTF-16 when it has a BOM.
fn xml_text(data: &[u8]) -> String {
    match encoding_rs::Encoding::for_bom(data) {
        Some((enc, bom)) => enc
            .decode_without_bom_handling(data.get(bom..).unwrap_or(&[]))
            .0
            .into_owned(),
        None => String::from_utf8_lossy(data).into_owned(),
    }
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

/// Calls `f` for every start or empty element until the document ends or breaks.
fn each_element(data: &[u8], mut f: impl FnMut(&BytesStart<'_>)) {
    let text = xml_text(data);
    let mut reader = Reader::from_str(&text);
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => f(&e),
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
    }
}

fn content_type_overrides(data: &[u8]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    each_element(data, |e| {
        if e.local_name().as_ref() == b"Override" && out.len() < 100_000 {
            if let (Some(p), Some(c)) = (attr(e, b"PartName"), attr(e, b"ContentType")) {
                out.push((p, c));
            }
        }
    });
    out
}

fn relationships(data: &[u8]) -> Vec<Rel> {
    let mut out = Vec::new();
    each_element(data, |e| {
        if e.local_name().as_ref() == b"Relationship" && out.len() < 100_000 {
            let ty = attr(e, b"Type").unwrap_or_default();
            let last = ty.rsplit('/').next().unwrap_or("");
            out.push(Rel {
                id: attr(e, b"Id").unwrap_or_default(),
                macro_sheet: last.eq_ignore_ascii_case("xlMacrosheet")
                    || last.eq_ignore_ascii_case("xlIntlMacrosheet"),
                target: attr(e, b"Target").unwrap_or_default(),
            });
        }
    });
    out
}

/// `<sheet name state r:id>` entries that point at macro sheets, and Auto_Open defined names.
fn workbook_xml(data: &[u8], rels: &[Rel], ev: &mut Evidence) {
    let text = xml_text(data);
    let mut reader = Reader::from_str(&text);
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => match e.local_name().as_ref() {
                b"sheet" => {
                    let id = attr(&e, b"id").unwrap_or_default();
                    if rels.iter().any(|r| r.macro_sheet && r.id == id) {
                        let vis = match attr(&e, b"state").as_deref() {
                            Some("hidden") => Visibility::Hidden,
                            Some("veryHidden") => Visibility::VeryHidden,
                            _ => Visibility::Visible,
                        };
                        ev.add_sheet(attr(&e, b"name").unwrap_or_default(), vis);
                    }
                }
                b"definedName" => {
                    let name = attr(&e, b"name").unwrap_or_default();
                    if is_auto_open_name(&name) {
                        ev.add_auto_open(format!(
                            "defined name '{}' in workbook.xml",
                            clean(&name)
                        ));
                    }
                }
                _ => {}
            },
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
    }
}

/// Formulas (`<f>`) and values (`<v>`, `<t>`) of a macro sheet.
fn macro_sheet_xml(data: &[u8], ev: &mut Evidence) {
    #[derive(PartialEq)]
    enum In {
        Other,
        Formula,
        Value,
    }
    let text = xml_text(data);
    let mut reader = Reader::from_str(&text);
    let mut inside = In::Other;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => {
                inside = match e.local_name().as_ref() {
                    b"f" => In::Formula,
                    b"v" | b"t" => In::Value,
                    _ => In::Other,
                }
            }
            Ok(Event::End(_)) => inside = In::Other,
            Ok(Event::Text(t)) if inside != In::Other => {
                let s = t
                    .unescape()
                    .map(|c| c.into_owned())
                    .unwrap_or_else(|_| String::from_utf8_lossy(&t).into_owned());
                if inside == In::Formula {
                    ev.add_formula_text(&s);
                } else {
                    ev.add_string(&s);
                }
            }
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
    }
}
