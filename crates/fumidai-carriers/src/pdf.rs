//! PDF: a byte scanner, not a parser (hostile PDFs break object-graph parsers). Names are tokenized with
//! `#xx` escapes normalised; FlateDecode streams are inflated within the scan's budget and scanned too,
//! because object streams hide the action keys; embedded files are handed on.

use crate::bytes::{ansi, clip};
use crate::findings::{
    PDF_AUTO_ACTION, PDF_EMBEDDED_FILE, PDF_ENCRYPTED, PDF_JAVASCRIPT, PDF_LAUNCH, PDF_MALFORMED,
};
use crate::sniff::sniff;
use fumidai_core::{FileInput, FileKind, FileReport, Scan};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::io::Read;

/// Keys counted wherever they appear.
pub const KEYS: &[&str] = &[
    "JS",
    "JavaScript",
    "OpenAction",
    "AA",
    "Launch",
    "EmbeddedFile",
    "EmbeddedFiles",
    "URI",
    "SubmitForm",
    "GoToR",
    "RichMedia",
    "XFA",
    "AcroForm",
    "Encrypt",
    "ObjStm",
];
/// One stream inflates to at most this much (further capped by the scan's limits).
const MAX_STREAM: u64 = 64 << 20;
/// Strings kept per kind (URIs, launch targets ...).
const MAX_STRINGS: usize = 200;
/// Longest string decoded.
const MAX_STRING: usize = 4096;
/// Input bytes one string may span (escapes, line continuations): an unterminated `(` or `<` stops here
/// instead of running to the end of the file.
const MAX_STRING_SPAN: usize = 16 * MAX_STRING;
/// Embedded-file references resolved per scanned text.
const MAX_EF_REFS: usize = 10_000;
/// How far apart a filespec name and its /EF reference may be.
const NEAR: usize = 2048;

/// A file embedded in the PDF.
#[derive(Debug, Clone, PartialEq)]
pub struct PdfEmbedded<'a> {
    pub object: Option<u32>,
    pub name: Option<String>,
    pub data: Cow<'a, [u8]>,
}

/// What the scanner found.
#[derive(Debug, Default)]
pub struct PdfScan<'a> {
    pub header: bool,
    pub eof_marker: bool,
    /// Counts of the [`KEYS`], in that order.
    pub counts: Vec<u32>,
    /// Keys that were written with `#xx` escapes (an evasion).
    pub escaped: Vec<String>,
    pub uris: Vec<String>,
    pub launch_targets: Vec<String>,
    pub js: Vec<String>,
    pub embedded: Vec<PdfEmbedded<'a>>,
    pub streams: u32,
    pub inflated_streams: u32,
    pub problems: Vec<String>,
    /// Object number of an embedded-file stream → the filespec's name.
    names: Vec<(u32, String)>,
    stopped: bool,
}

impl PdfScan<'_> {
    pub fn count(&self, key: &str) -> u32 {
        KEYS.iter()
            .position(|k| *k == key)
            .and_then(|i| self.counts.get(i).copied())
            .unwrap_or(0)
    }
}

fn is_delim(b: u8) -> bool {
    matches!(
        b,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    ) || b.is_ascii_whitespace()
        || b == 0
}

/// The name starting after the '/' at `pos`: normalised text, whether it had escapes, and its end.
fn read_name(d: &[u8], pos: usize) -> (String, bool, usize) {
    let mut out = Vec::new();
    let mut escaped = false;
    let mut i = pos + 1;
    while let Some(&b) = d.get(i) {
        if is_delim(b) || out.len() >= 128 {
            break;
        }
        if b == b'#' {
            let hex = d
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            if let Some(v) = hex {
                out.push(v);
                escaped = true;
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    (String::from_utf8_lossy(&out).into_owned(), escaped, i)
}

fn skip_ws(d: &[u8], mut i: usize) -> usize {
    while d.get(i).is_some_and(|b| b.is_ascii_whitespace() || *b == 0) {
        i += 1;
    }
    i
}

/// A literal `( )` or hex `< >` string at `pos` (after whitespace): its bytes and end.
/// At most [`MAX_STRING_SPAN`] bytes are read, so an unterminated string costs a bounded amount.
pub fn read_string(d: &[u8], pos: usize) -> Option<(Vec<u8>, usize)> {
    let mut i = skip_ws(d, pos);
    let stop = i.saturating_add(MAX_STRING_SPAN).min(d.len());
    let mut out = Vec::new();
    match d.get(i)? {
        b'(' => {
            let mut depth = 1u32;
            i += 1;
            while let Some(&b) = d.get(i).filter(|_| i < stop) {
                i += 1;
                let byte = match b {
                    b'\\' => {
                        let Some(&e) = d.get(i) else { break };
                        i += 1;
                        match e {
                            b'n' => Some(b'\n'),
                            b'r' => Some(b'\r'),
                            b't' => Some(b'\t'),
                            b'b' => Some(8),
                            b'f' => Some(12),
                            b'0'..=b'7' => {
                                let mut v = u32::from(e - b'0');
                                for _ in 0..2 {
                                    match d.get(i) {
                                        Some(&c @ b'0'..=b'7') => {
                                            v = v * 8 + u32::from(c - b'0');
                                            i += 1;
                                        }
                                        _ => break,
                                    }
                                }
                                Some((v & 0xFF) as u8)
                            }
                            b'\r' | b'\n' => None,
                            other => Some(other),
                        }
                    }
                    b'(' => {
                        depth = depth.saturating_add(1);
                        Some(b)
                    }
                    b')' => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            return Some((out, i));
                        }
                        Some(b)
                    }
                    _ => Some(b),
                };
                if let Some(v) = byte.filter(|_| out.len() < MAX_STRING) {
                    out.push(v);
                }
            }
            Some((out, i))
        }
        b'<' if d.get(i + 1) != Some(&b'<') => {
            i += 1;
            let mut nib: Option<u8> = None;
            while let Some(&b) = d.get(i).filter(|_| i < stop) {
                i += 1;
                if b == b'>' {
                    break;
                }
                if let Some(v) = (b as char).to_digit(16) {
                    match nib.take() {
                        Some(h) if out.len() < MAX_STRING => out.push(h << 4 | v as u8),
                        Some(_) => {}
                        None => nib = Some(v as u8),
                    }
                }
            }
            if let Some(h) = nib {
                out.push(h << 4);
            }
            Some((out, i))
        }
        _ => None,
    }
}

/// Text of a PDF string: UTF-16BE with a BOM, else PDFDocEncoding (taken as Windows-1252).
pub fn text(s: &[u8]) -> String {
    if let Some(rest) = s.strip_prefix(&[0xFE, 0xFF]) {
        let units = rest
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]));
        return char::decode_utf16(units)
            .map(|r| r.unwrap_or('\u{FFFD}'))
            .collect();
    }
    ansi(s)
}

/// "N G R" at `pos` (after whitespace): the object number.
fn read_ref(d: &[u8], pos: usize) -> Option<u32> {
    let i = skip_ws(d, pos);
    let n_end = i + d
        .get(i..)?
        .iter()
        .take(10)
        .take_while(|b| b.is_ascii_digit())
        .count();
    let num: u32 = std::str::from_utf8(d.get(i..n_end)?).ok()?.parse().ok()?;
    let j = skip_ws(d, n_end);
    let g_end = j + d
        .get(j..)?
        .iter()
        .take(6)
        .take_while(|b| b.is_ascii_digit())
        .count();
    let k = skip_ws(d, g_end);
    (g_end > j && d.get(k) == Some(&b'R')).then_some(num)
}

/// Scans PDF text (the file outside streams, or an inflated stream) for keys, strings and filespecs.
fn scan_text(d: &[u8], st: &mut PdfScan<'_>) {
    let mut ef_refs: Vec<(usize, u32)> = Vec::new();
    let mut spec_names: Vec<(usize, bool, String)> = Vec::new();
    let mut last_launch: Option<usize> = None;
    // Bytes that string reads may cover in total: every "/F (" starts a read, and "/F(/F(/F(..." would
    // otherwise read the rest of the file once per name (quadratic). Honest files read each string once.
    let mut string_budget = d.len().saturating_mul(2).saturating_add(1 << 20);
    let mut budget_spent = false;
    let mut string_at = |d: &[u8], end: usize| {
        if string_budget == 0 {
            budget_spent = true;
            return None;
        }
        let r = read_string(d, end);
        if let Some((_, e)) = &r {
            string_budget = string_budget.saturating_sub(e.saturating_sub(end));
        }
        r
    };
    for pos in memchr::memchr_iter(b'/', d) {
        let (name, escaped, end) = read_name(d, pos);
        if let Some(k) = KEYS.iter().position(|k| *k == name) {
            if let Some(c) = st.counts.get_mut(k) {
                *c = c.saturating_add(1);
            }
            if escaped && st.escaped.len() < 16 {
                let raw = String::from_utf8_lossy(d.get(pos..end).unwrap_or(&[])).into_owned();
                if !st.escaped.contains(&raw) {
                    st.escaped.push(raw);
                }
            }
        }
        match name.as_str() {
            "URI" if st.uris.len() < MAX_STRINGS => {
                if let Some((s, _)) = string_at(d, end) {
                    let u = text(&s).trim().to_owned();
                    if !u.is_empty() && !st.uris.contains(&u) {
                        st.uris.push(u);
                    }
                }
            }
            "JS" if st.js.len() < 16 => {
                if let Some((s, _)) = string_at(d, end) {
                    st.js.push(clip(&text(&s), 120));
                }
            }
            "Launch" => last_launch = Some(pos),
            "F" | "UF" | "Win" | "Unix" | "P" => {
                if let Some((s, _)) = string_at(d, end) {
                    let t = text(&s);
                    if name == "F" || name == "UF" {
                        spec_names.push((pos, name == "UF", t.clone()));
                    }
                    if last_launch.is_some_and(|l| pos - l < 1024)
                        && st.launch_targets.len() < MAX_STRINGS
                        && !t.is_empty()
                    {
                        st.launch_targets.push(clip(&t, 200));
                    }
                } else if name == "F" {
                    // "/EF << /F 12 0 R >>": the embedded-file stream of a filespec.
                    let before = d.get(pos.saturating_sub(16)..pos).unwrap_or(&[]);
                    if memchr::memmem::find(before, b"/EF").is_some() && ef_refs.len() < MAX_EF_REFS
                    {
                        if let Some(n) = read_ref(d, end) {
                            ef_refs.push((pos, n));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    if budget_spent {
        st.problems
            .push("string reads stopped: too many unterminated strings".to_owned());
    }
    // Each embedded-file reference takes the nearest filespec name (/UF preferred) within its dictionary.
    // Searches stay within NEAR bytes of the reference, so many references cost linear time.
    for (at, obj) in ef_refs {
        // Same object only: between the surrounding "endobj"s (object streams have none: distance decides).
        let window_lo = at.saturating_sub(NEAR);
        let lo = memchr::memmem::rfind(d.get(window_lo..at).unwrap_or(&[]), b"endobj")
            .map_or(window_lo, |p| window_lo + p);
        let hi = d
            .get(at..d.len().min(at.saturating_add(NEAR)))
            .and_then(|r| memchr::memmem::find(r, b"endobj"))
            .map_or(d.len(), |p| at + p);
        // spec_names is in position order.
        let first = spec_names.partition_point(|(p, _, _)| *p < lo);
        let near = spec_names
            .get(first..)
            .unwrap_or(&[])
            .iter()
            .take_while(|(p, _, _)| *p < hi && *p < at.saturating_add(NEAR))
            .filter(|(p, _, n)| p.abs_diff(at) < NEAR && !n.is_empty())
            .min_by_key(|(p, uf, _)| (p.abs_diff(at) / 256, !uf));
        if let Some((_, _, n)) = near {
            if st.names.len() < 10_000 {
                st.names.push((obj, n.clone()));
            }
        }
    }
}

/// Inflates a FlateDecode stream within the scan's budget.
fn inflate(scan: &mut Scan<'_>, part: &str, raw: &[u8], st: &mut PdfScan<'_>) -> Option<Vec<u8>> {
    let cap = MAX_STREAM.min(scan.limits().max_file_bytes);
    let mut out = Vec::new();
    let mut dec = flate2::read::ZlibDecoder::new(raw).take(cap);
    let mut buf = [0u8; 16 * 1024];
    let mut failed = false;
    loop {
        match dec.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if !scan.charge_inflated(part, n as u64) {
                    st.stopped = true;
                    break;
                }
                out.extend_from_slice(buf.get(..n).unwrap_or(&[]));
            }
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    if failed && out.is_empty() {
        return None;
    }
    Some(out)
}

/// Scans a whole PDF.
pub fn scan_pdf<'a>(scan: &mut Scan<'_>, part: &str, d: &'a [u8]) -> PdfScan<'a> {
    let mut st = PdfScan {
        counts: vec![0; KEYS.len()],
        ..PdfScan::default()
    };
    st.header = memchr::memmem::find(d.get(..d.len().min(1024)).unwrap_or(d), b"%PDF-").is_some();
    st.eof_marker =
        memchr::memmem::find(d.get(d.len().saturating_sub(2048)..).unwrap_or(d), b"%%EOF")
            .is_some();
    // Pass 1: stream ranges, so the top-level text is scanned without binary stream bytes.
    let mut text_from = 0usize;
    let mut inflate_errors = 0u32;
    let mut pos = 0usize;
    // Streams not typed /EmbeddedFile (the /Type is optional): object, raw data, whether Flate.
    let mut untyped: Vec<(u32, &'a [u8], bool)> = Vec::new();
    while let Some(rel) = d
        .get(pos..)
        .and_then(|r| memchr::memmem::find(r, b"stream"))
    {
        let kw = pos + rel;
        pos = kw + 6;
        let prev = kw
            .checked_sub(1)
            .and_then(|p| d.get(p))
            .copied()
            .unwrap_or(b' ');
        if prev.is_ascii_alphanumeric() {
            continue; // "endstream"
        }
        let data_start = match (d.get(kw + 6), d.get(kw + 7)) {
            (Some(b'\r'), Some(b'\n')) => kw + 8,
            (Some(b'\n'), _) | (Some(b'\r'), _) => kw + 7,
            _ => continue,
        };
        if !scan.within_time(part) {
            st.stopped = true;
            break;
        }
        st.streams = st.streams.saturating_add(1);
        let dict_from =
            memchr::memmem::rfind(d.get(kw.saturating_sub(8192)..kw).unwrap_or(&[]), b"obj")
                .map_or(kw.saturating_sub(8192), |p| kw.saturating_sub(8192) + p + 3);
        let dict = d.get(dict_from..kw).unwrap_or(&[]);
        let object = object_number(d, dict_from.saturating_sub(3));
        let data_end = match d
            .get(data_start..)
            .and_then(|r| memchr::memmem::find(r, b"endstream"))
        {
            Some(p) => data_start + p,
            None => {
                st.problems.push("stream without endstream".to_owned());
                d.len()
            }
        };
        let mut raw = d.get(data_start..data_end).unwrap_or(&[]);
        while let Some(stripped) = raw.strip_suffix(b"\n").or_else(|| raw.strip_suffix(b"\r")) {
            raw = stripped;
        }
        // Text before this stream (its dictionary included) is scanned as top level.
        scan_text(d.get(text_from..data_start).unwrap_or(&[]), &mut st);
        text_from = data_end;
        pos = data_end.max(pos);
        let names: Vec<String> = memchr::memchr_iter(b'/', dict)
            .take(64)
            .map(|p| read_name(dict, p).0)
            .collect();
        let has = |n: &str| names.iter().any(|x| x == n);
        let flate = has("FlateDecode") || has("Fl");
        let other_filter = names
            .iter()
            .any(|n| n.ends_with("Decode") && n != "FlateDecode")
            || has("AHx")
            || has("A85")
            || has("LZW");
        let decoded: Option<Cow<'a, [u8]>> = if flate && !other_filter && !st.stopped {
            match inflate(scan, part, raw, &mut st) {
                Some(v) => {
                    st.inflated_streams += 1;
                    Some(Cow::Owned(v))
                }
                None => {
                    inflate_errors += 1;
                    None
                }
            }
        } else if !flate && !other_filter {
            Some(Cow::Borrowed(raw))
        } else {
            None
        };
        if has("EmbeddedFile") {
            let data = decoded.unwrap_or(Cow::Borrowed(raw));
            st.embedded.push(PdfEmbedded {
                object,
                name: None,
                data,
            });
        } else {
            if let Some(o) = object {
                untyped.push((o, raw, flate && !other_filter));
            }
            if let Some(data) = decoded.filter(|_| flate) {
                if !has("Image") {
                    scan_text(&data, &mut st);
                }
            }
        }
    }
    scan_text(d.get(text_from..).unwrap_or(&[]), &mut st);
    if inflate_errors > 0 && st.count("Encrypt") == 0 {
        st.problems.push(format!(
            "{inflate_errors} FlateDecode stream(s) do not inflate"
        ));
    }
    let names = std::mem::take(&mut st.names);
    // Lookups by object number (first occurrence wins), so many names and streams cost linear time.
    let mut untyped_by_obj: HashMap<u32, (&'a [u8], bool)> = HashMap::new();
    for &(o, raw, flate) in &untyped {
        untyped_by_obj.entry(o).or_insert((raw, flate));
    }
    let mut have: HashSet<u32> = st.embedded.iter().filter_map(|e| e.object).collect();
    // Streams that a filespec's /EF names as its file, though not typed /EmbeddedFile.
    for (obj, _) in &names {
        if st.stopped || !have.insert(*obj) {
            continue;
        }
        if let Some(&(raw, flate)) = untyped_by_obj.get(obj) {
            let data = if flate {
                inflate(scan, part, raw, &mut st).map(Cow::Owned)
            } else {
                Some(Cow::Borrowed(raw))
            };
            st.embedded.push(PdfEmbedded {
                object: Some(*obj),
                name: None,
                data: data.unwrap_or(Cow::Borrowed(raw)),
            });
        }
    }
    let mut name_of: HashMap<u32, &str> = HashMap::new();
    for (o, s) in &names {
        name_of.entry(*o).or_insert(s);
    }
    for e in &mut st.embedded {
        e.name = e
            .object
            .and_then(|o| name_of.get(&o))
            .map(|s| (*s).to_owned());
    }
    st
}

/// The object number of "N G obj" ending at `obj_at` (the position of "obj").
fn object_number(d: &[u8], obj_at: usize) -> Option<u32> {
    let before = d.get(obj_at.saturating_sub(24)..obj_at)?;
    let s = std::str::from_utf8(before).ok().or_else(|| {
        let start = before.iter().rposition(|b| !b.is_ascii())? + 1;
        std::str::from_utf8(before.get(start..)?).ok()
    })?;
    let mut it = s.split_ascii_whitespace().rev();
    let _gen: u32 = it.next()?.parse().ok()?;
    it.next()?.parse().ok()
}

pub fn inspect(scan: &mut Scan<'_>, input: &FileInput<'_>, report: &mut FileReport) {
    report.detected_type = FileKind::Pdf;
    let part = input.part.as_str();
    let st = scan_pdf(scan, part, input.data);
    let encrypted = st.count("Encrypt") > 0;
    let mut malformed = st.problems.clone();
    if !st.header {
        malformed.insert(0, "no %PDF header".to_owned());
    }
    if !st.eof_marker {
        malformed.push("no %%EOF".to_owned());
    }
    if !st.escaped.is_empty() {
        malformed.push(format!("hex-escaped names {}", st.escaped.join(" ")));
    }
    if !malformed.is_empty() {
        scan.add(&PDF_MALFORMED, part, clip(&malformed.join("; "), 300));
    }
    if encrypted {
        report.encrypted = true;
        scan.add(&PDF_ENCRYPTED, part, "/Encrypt dictionary present");
    }
    let js = st.count("JS") + st.count("JavaScript");
    if js > 0 {
        let mut detail = format!("{js} JavaScript key(s)");
        if let Some(code) = st.js.first() {
            detail.push_str(&format!(": {code}"));
        }
        scan.add(&PDF_JAVASCRIPT, part, detail);
    }
    let launch = st.count("Launch");
    if launch > 0 {
        let targets = if st.launch_targets.is_empty() {
            "target unknown".to_owned()
        } else {
            st.launch_targets.join(", ")
        };
        scan.add(
            &PDF_LAUNCH,
            part,
            clip(&format!("{launch} /Launch action(s): {targets}"), 300),
        );
    }
    let auto = st.count("OpenAction") + st.count("AA");
    if auto > 0 && (js > 0 || launch > 0) {
        let what = if launch > 0 && js > 0 {
            "JavaScript and Launch"
        } else if launch > 0 {
            "Launch"
        } else {
            "JavaScript"
        };
        let extra: Vec<&str> = ["SubmitForm", "GoToR", "RichMedia", "XFA"]
            .into_iter()
            .filter(|k| st.count(k) > 0)
            .collect();
        let also = if extra.is_empty() {
            String::new()
        } else {
            format!("; also {}", extra.join(", "))
        };
        scan.add(
            &PDF_AUTO_ACTION,
            part,
            format!("/OpenAction or /AA with {what}{also}"),
        );
    }
    if !encrypted {
        for u in &st.uris {
            fumidai_text::check_url(scan, part, u, None);
        }
    }
    for (n, e) in st.embedded.iter().enumerate() {
        if scan.exhausted() || !scan.charge_entry(part) {
            break;
        }
        let base = e
            .name
            .as_deref()
            .and_then(|s| s.rsplit(['\\', '/']).next())
            .map(|s| s.trim())
            .filter(|s| !s.is_empty());
        let name = match base {
            Some(b) if !encrypted => b.to_owned(),
            _ => format!("embedded_{}.{}", n + 1, sniff(&e.data).ext),
        };
        scan.add(
            &PDF_EMBEDDED_FILE,
            part,
            format!("{name}: {} bytes, {}", e.data.len(), sniff(&e.data).label),
        );
        report
            .children
            .push(scan.inspect_child(part, &name, &e.data));
    }
}
