//! RTF documents: a single-pass control-word tokenizer that finds `\object` groups, decodes their
//! `\objdata` hex (whitespace, odd digit counts, nested groups and `\bin` runs tolerated the way Word
//! tolerates them), parses the OLE1 ObjectHeader and hands the native data on.

use crate::bytes::{ansi, ansi_z, clip, u16le, u32le};
use crate::findings::{RTF_EXPLOIT_CLASS, RTF_OBFUSCATED, RTF_OBJECT};
use crate::sniff::sniff;
use fumidai_core::{FileInput, FileKind, FileReport, Scan};

/// Group depth beyond which nesting is called obfuscation (Word itself gives up near here).
const DEEP_NESTING: u32 = 256;
/// `\bin` runs beyond which a document is called obfuscated.
const MANY_BIN: u32 = 10;
/// Objects collected per document.
const MAX_OBJECTS: usize = 1_000;
/// OLE class IDs of the Equation Editor (CVE-2017-11882, CVE-2018-0802) as stored.
const EQUATION_CLSID: [u8; 16] = [2, 0xCE, 2, 0, 0, 0, 0, 0, 0xC0, 0, 0, 0, 0, 0, 0, 0x46];

/// One `\object` (or stray `\objdata`) of a document.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RtfObject {
    /// The `\objclass` text, if any.
    pub objclass: String,
    /// Control words of the object group that matter: objemb, objlink, objautlink, objupdate, objhtml, objocx.
    pub kinds: Vec<&'static str>,
    /// Decoded `\objdata` bytes.
    pub data: Vec<u8>,
    /// Some hex digit was left without its pair.
    pub odd_digits: bool,
}

/// What the tokenizer saw.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RtfScan {
    pub objects: Vec<RtfObject>,
    pub max_depth: u32,
    pub bin_runs: u32,
    /// Header as written, e.g. `{\rtf1`.
    pub header: String,
}

#[derive(Default)]
struct Open {
    depth: u32,
    obj: RtfObject,
    /// Depth of the group collecting `\objdata` hex, when one is open.
    data_depth: Option<u32>,
    /// Depth of the group collecting `\objclass` text.
    class_depth: Option<u32>,
    nibble: Option<u8>,
}

fn hexval(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|v| v as u8)
}

/// Tokenizes `d`, collecting objects (each capped at `max_data` bytes).
pub fn scan_rtf(d: &[u8], max_data: usize) -> RtfScan {
    let mut out = RtfScan::default();
    // Header as written: "{\\" and the control word after it ("rtf1", or variants such as "rtvpn").
    let rest = d.get(2..).unwrap_or(&[]);
    let n = rest
        .iter()
        .position(|b| !b.is_ascii_alphanumeric())
        .unwrap_or(rest.len())
        .min(16);
    out.header = ansi(d.get(..2 + n).unwrap_or(d));
    let mut depth: u32 = 0;
    let mut open: Option<Open> = None;
    let mut i = 0usize;
    let finish = |o: Open, out: &mut RtfScan| {
        let mut obj = o.obj;
        obj.odd_digits |= o.nibble.is_some();
        if out.objects.len() < MAX_OBJECTS {
            out.objects.push(obj);
        }
    };
    while i < d.len() {
        let b = d[i];
        match b {
            b'{' => {
                depth = depth.saturating_add(1);
                out.max_depth = out.max_depth.max(depth);
                i += 1;
            }
            b'}' => {
                if let Some(o) = open.as_mut() {
                    if o.class_depth == Some(depth) {
                        o.class_depth = None;
                    }
                    if o.data_depth == Some(depth) {
                        o.data_depth = None;
                    }
                }
                if open
                    .as_ref()
                    .is_some_and(|o| o.depth == depth || (o.depth == 0 && o.data_depth.is_none()))
                {
                    if let Some(o) = open.take() {
                        finish(o, &mut out);
                    }
                }
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b'\\' => {
                let next = d.get(i + 1).copied();
                match next {
                    Some(c) if c.is_ascii_alphabetic() => {
                        let start = i + 1;
                        let mut j = start;
                        while j < d.len() && j - start < 32 && d[j].is_ascii_alphabetic() {
                            j += 1;
                        }
                        let word = d.get(start..j).unwrap_or(&[]);
                        let mut param: Option<u64> = None;
                        let num_start = j;
                        if d.get(j) == Some(&b'-') {
                            j += 1;
                        }
                        while j < d.len() && j - num_start < 10 && d[j].is_ascii_digit() {
                            param = Some(param.unwrap_or(0) * 10 + u64::from(d[j] - b'0'));
                            j += 1;
                        }
                        if d.get(j) == Some(&b' ') {
                            j += 1;
                        }
                        i = j;
                        match word {
                            b"bin" => {
                                out.bin_runs = out.bin_runs.saturating_add(1);
                                let n = usize::try_from(param.unwrap_or(0)).unwrap_or(usize::MAX);
                                let end = i.saturating_add(n).min(d.len());
                                if let Some(o) =
                                    open.as_mut().filter(|o| o.data_depth == Some(depth))
                                {
                                    let raw = d.get(i..end).unwrap_or(&[]);
                                    let room = max_data.saturating_sub(o.obj.data.len());
                                    o.obj.data.extend_from_slice(
                                        raw.get(..room.min(raw.len())).unwrap_or(&[]),
                                    );
                                    o.nibble = None;
                                }
                                i = end;
                            }
                            // An \object nested inside an open object is noise (issue_251 hides some there).
                            b"object" if open.as_ref().is_none_or(|o| o.depth >= depth) => {
                                if let Some(o) = open.take() {
                                    finish(o, &mut out);
                                }
                                open = Some(Open {
                                    depth,
                                    ..Open::default()
                                });
                            }
                            b"objdata" => {
                                let o = open.get_or_insert_with(Open::default);
                                o.data_depth = Some(depth);
                            }
                            b"objclass" => {
                                if let Some(o) = open.as_mut() {
                                    o.class_depth = Some(depth);
                                }
                            }
                            _ => {
                                if let Some(o) = open.as_mut() {
                                    const KINDS: &[&str] = &[
                                        "objemb",
                                        "objlink",
                                        "objautlink",
                                        "objupdate",
                                        "objhtml",
                                        "objocx",
                                        "objsub",
                                        "objpub",
                                        "objicemb",
                                    ];
                                    if let Some(k) = KINDS.iter().find(|k| k.as_bytes() == word) {
                                        if !o.obj.kinds.contains(k) {
                                            o.obj.kinds.push(k);
                                        }
                                    }
                                }
                            }
                        }
                    }
                    Some(b'\'') => {
                        let v = d
                            .get(i + 2)
                            .and_then(|&h| hexval(h))
                            .zip(d.get(i + 3).and_then(|&l| hexval(l)));
                        if let (Some((h, l)), Some(o)) = (v, open.as_mut()) {
                            if o.class_depth == Some(depth) && o.obj.objclass.len() < 256 {
                                o.obj.objclass.push_str(&ansi(&[h << 4 | l]));
                            }
                        }
                        i += if v.is_some() { 4 } else { 2 };
                    }
                    _ => i += 2,
                }
            }
            _ => {
                if let Some(o) = open.as_mut() {
                    if o.data_depth == Some(depth) {
                        if let Some(v) = hexval(b) {
                            match o.nibble.take() {
                                Some(h) if o.obj.data.len() < max_data => {
                                    o.obj.data.push(h << 4 | v)
                                }
                                Some(_) => {}
                                None => o.nibble = Some(v),
                            }
                        }
                    } else if o.class_depth == Some(depth)
                        && !b.is_ascii_control()
                        && o.obj.objclass.len() < 256
                    {
                        o.obj.objclass.push(b as char);
                    }
                }
                i += 1;
            }
        }
    }
    if let Some(o) = open.take() {
        finish(o, &mut out);
    }
    out
}

/// The OLE1 ObjectHeader of an `\objdata` blob.
#[derive(Debug, Clone, PartialEq)]
pub struct Ole1<'a> {
    pub version: u32,
    /// 1 linked, 2 embedded.
    pub format_id: u32,
    pub class_name: String,
    pub topic: String,
    /// Native data of an embedded object (capped by the blob).
    pub native: &'a [u8],
}

fn len_string(d: &[u8], off: &mut usize) -> Option<String> {
    let n = u32le(d, *off)? as usize;
    let s = d.get(*off + 4..(*off + 4).checked_add(n)?)?;
    *off += 4 + n;
    let end = s.iter().position(|&b| b == 0).unwrap_or(s.len());
    Some(ansi(s.get(..end)?))
}

/// Parses an OLE1 object header; `None` if `d` does not start with one.
pub fn parse_ole1(d: &[u8]) -> Option<Ole1<'_>> {
    let version = u32le(d, 0)?;
    let format_id = u32le(d, 4)?;
    if !(1..=3).contains(&format_id) || u32le(d, 8)? > 1024 {
        return None;
    }
    let mut off = 8;
    let class_name = len_string(d, &mut off)?;
    let topic = len_string(d, &mut off).unwrap_or_default();
    let _item = len_string(d, &mut off);
    let native = if format_id == 2 {
        let size = u32le(d, off).unwrap_or(0) as usize;
        let start = off + 4;
        d.get(start..start.saturating_add(size).min(d.len()))
            .unwrap_or(&[])
    } else {
        &[]
    };
    Some(Ole1 {
        version,
        format_id,
        class_name,
        topic,
        native,
    })
}

/// The file inside an OLE1 "Package" object (Ole10Native without its size prefix): name and data.
pub fn parse_package(native: &[u8]) -> Option<(String, &[u8])> {
    if u16le(native, 0)? != 2 {
        return None;
    }
    let label = ansi_z(native, 2)?;
    let mut off = 2 + native.get(2..)?.iter().position(|&b| b == 0)? + 1;
    off += native.get(off..)?.iter().position(|&b| b == 0)? + 1; // source path
    off += 4; // two reserved u16
    let temp_len = u32le(native, off)? as usize;
    let temp = ansi_z(native, off + 4).unwrap_or_default();
    off = off.checked_add(4)?.checked_add(temp_len)?;
    let size = u32le(native, off)? as usize;
    let data = native.get(off + 4..(off + 4).saturating_add(size).min(native.len()))?;
    let name = if label.is_empty() { temp } else { label };
    let base = name.rsplit(['\\', '/']).next().unwrap_or("").to_owned();
    Some((base, data))
}

fn exploit_reason(class: &str, obj: &RtfObject) -> Option<String> {
    let lc = class.to_ascii_lowercase();
    if lc.starts_with("equation") {
        return Some(format!("{class} (Equation Editor, CVE-2017-11882)"));
    }
    if lc.contains("ole2link") {
        return Some(format!("{class} (CVE-2017-0199 remote template)"));
    }
    if memchr::memmem::find(&obj.data, &EQUATION_CLSID).is_some() {
        return Some("Equation Editor CLSID in object data (CVE-2017-11882)".to_owned());
    }
    if obj.kinds.contains(&"objupdate") {
        return Some(format!(
            "{} updates itself when opened (\\objupdate)",
            if class.is_empty() { "object" } else { class }
        ));
    }
    None
}

pub fn inspect(scan: &mut Scan<'_>, input: &FileInput<'_>, report: &mut FileReport) {
    report.detected_type = FileKind::Rtf;
    let max = usize::try_from(scan.limits().max_file_bytes).unwrap_or(usize::MAX);
    let r = scan_rtf(input.data, max);
    let mut obfuscation = Vec::new();
    if r.header != "{\\rtf1" {
        obfuscation.push(format!("header {}", clip(&r.header, 16)));
    }
    if r.max_depth > DEEP_NESTING {
        obfuscation.push(format!("groups nested {} deep", r.max_depth));
    }
    if r.bin_runs >= MANY_BIN {
        obfuscation.push(format!("{} \\bin runs", r.bin_runs));
    }
    if r.objects.iter().any(|o| o.odd_digits) {
        obfuscation.push("odd number of hex digits in \\objdata".to_owned());
    }
    if !obfuscation.is_empty() {
        scan.add(&RTF_OBFUSCATED, &input.part, obfuscation.join("; "));
    }
    for (n, obj) in r.objects.iter().enumerate() {
        if scan.exhausted() || !scan.charge_entry(&input.part) {
            break;
        }
        let ole1 = parse_ole1(&obj.data);
        let class = ole1
            .as_ref()
            .map(|o| o.class_name.clone())
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| obj.objclass.trim().to_owned());
        let mut payload: &[u8] = match &ole1 {
            Some(o) => o.native,
            None => &obj.data,
        };
        let mut name = String::new();
        if class.eq_ignore_ascii_case("package") {
            if let Some((file, data)) = parse_package(payload) {
                name = file;
                payload = data;
            }
        } else if ole1.is_none() {
            // No OLE1 header (hand-made or damaged objects): start at an OLE2 header if there is one.
            if let Some(p) =
                memchr::memmem::find(payload, &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1])
            {
                payload = payload.get(p..).unwrap_or(&[]);
            }
        }
        if name.is_empty() {
            name = format!("object_{}.{}", n + 1, sniff(payload).ext);
        }
        let mut detail = format!(
            "class {}, {} bytes",
            if class.is_empty() { "(none)" } else { &class },
            obj.data.len()
        );
        if !obj.kinds.is_empty() {
            detail.push_str(&format!(" ({})", obj.kinds.join(", ")));
        }
        if let Some(o) = ole1.as_ref().filter(|o| o.format_id == 1) {
            match o.topic.trim() {
                "" => detail.push_str(", linked"),
                t => detail.push_str(&format!(", linked to {}", clip(t, 200))),
            }
        }
        let part = fumidai_core::child_part(&input.part, &name);
        scan.add(&RTF_OBJECT, &input.part, format!("{name}: {detail}"));
        if let Some(reason) = exploit_reason(&class, obj) {
            scan.add(&RTF_EXPLOIT_CLASS, &part, reason);
        }
        if !payload.is_empty() {
            report
                .children
                .push(scan.inspect_child(&input.part, &name, payload));
        }
    }
}
