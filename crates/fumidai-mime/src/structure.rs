//! The MIME tree walker: multiparts, leaf parts, attached messages, with depth and part limits.
//!
//! Where clients disagree (several Content-Type fields, several boundary parameters, a boundary given in
//! another field, a boundary with a `;` in it) every interpretation is followed and the parts found under
//! each are surfaced once (deduplicated by their position in the raw message), with a MIME_* finding.
//! Attached messages are not opened here: the engine hands them back to [`crate::parse`].

use crate::findings;
use crate::header::{self, RawHeader, Structured};
use crate::{charset, transfer, Attachment, Message};
use fumidai_core::Scan;
use std::borrow::Cow;
use std::collections::HashSet;

/// Longest boundary we accept (RFC 2046 says 70; leave room for broken mailers).
const MAX_BOUNDARY: usize = 200;
/// uuencoded blocks taken from one text part.
const MAX_UU_PER_PART: usize = 16;

pub struct Walker<'s, 'a, 'x> {
    pub scan: &'s mut Scan<'a>,
    raw: &'x [u8],
    pub msg: Message<'x>,
    parts: u32,
    stopped: bool,
    depth_reported: bool,
    /// Body start offsets (in `raw`) of entities already walked, so interpretations do not double up.
    seen: HashSet<usize>,
    /// Every boundary declared anywhere, so the sweep for undeclared ones does not pick them up again.
    declared: HashSet<Vec<u8>>,
    texts: Vec<String>,
    htmls: Vec<String>,
    /// Raw byte ranges of attached messages: their own multiparts are theirs (the engine parses them
    /// again), so the sweep for undeclared boundaries must not mistake them for hidden parts.
    attached_messages: Vec<std::ops::Range<usize>>,
}

impl<'s, 'a, 'x> Walker<'s, 'a, 'x> {
    pub fn new(scan: &'s mut Scan<'a>, raw: &'x [u8]) -> Self {
        Walker {
            scan,
            raw,
            msg: Message::default(),
            parts: 0,
            stopped: false,
            depth_reported: false,
            seen: HashSet::new(),
            declared: HashSet::new(),
            texts: Vec::new(),
            htmls: Vec::new(),
            attached_messages: Vec::new(),
        }
    }

    pub fn finish(mut self) -> Message<'x> {
        self.msg.text = self.texts.join("\n\n");
        self.msg.html = self.htmls.join("\n");
        self.msg
    }

    fn offset(&self, s: &[u8]) -> usize {
        (s.as_ptr() as usize).wrapping_sub(self.raw.as_ptr() as usize)
    }

    /// Walks one entity (headers + body). `section` is the IMAP-style part number ("" for the root).
    pub fn entity(&mut self, ent: &'x [u8], section: &str, depth: u32, parent_digest: bool) {
        if self.stopped {
            return;
        }
        self.parts = self.parts.saturating_add(1);
        let label = section_label(section);
        if self.parts > self.scan.limits().max_parts {
            self.stopped = true;
            let detail = format!(
                "more than {} MIME parts; the rest was not inspected",
                self.scan.limits().max_parts
            );
            self.scan
                .add(&findings::MIME_TOO_MANY_PARTS, &label, detail);
            return;
        }
        if !self.scan.within_time(&label) {
            self.stopped = true;
            return;
        }
        let (headers, body) = header::split(ent);
        self.seen.insert(self.offset(body));
        let odd: Vec<&RawHeader<'_>> = headers
            .iter()
            .filter(|h| h.odd_name && h.name.starts_with("content-"))
            .collect();
        if let Some(h) = odd.first() {
            self.scan.add(
                &findings::MIME_HEADER_NAME_COMMENT,
                &label,
                format!("field name with a comment or junk read as {}", h.name),
            );
        }
        let ctypes: Vec<Structured> = headers
            .iter()
            .filter(|h| h.name == "content-type")
            .map(|h| Structured::parse(h.value))
            .collect();
        if ctypes.len() > 1 {
            let list: Vec<&str> = ctypes.iter().map(|c| c.value.as_str()).collect();
            self.scan.add(
                &findings::MIME_MULTIPLE_CONTENT_TYPE,
                &label,
                format!(
                    "Content-Type given {} times: {}",
                    ctypes.len(),
                    list.join(", ")
                ),
            );
        }
        let default_type = if parent_digest {
            "message/rfc822"
        } else {
            "text/plain"
        };
        let primary = ctypes.first().map_or(default_type, |c| {
            if c.value.is_empty() {
                default_type
            } else {
                c.value.as_str()
            }
        });
        let multipart = ctypes.iter().find(|c| c.value.starts_with("multipart/"));
        if let Some(mp) = multipart {
            let digest = mp.value == "multipart/digest";
            self.multipart(&headers, &ctypes, body, section, depth, digest);
            return;
        }
        // A single part whose body looks like MIME parts: some clients find them, so we look too.
        if primary.starts_with("text/") && looks_like_hidden_mime(body) {
            let next = self.sweep(body, section, depth, 0);
            if next > 0 {
                self.scan.add(
                    &findings::MIME_HIDDEN_PARTS,
                    &label,
                    format!("{next} MIME part(s) inside a {primary} body"),
                );
            }
        }
        self.leaf(&headers, ctypes.first(), primary, body, section);
    }

    fn multipart(
        &mut self,
        headers: &[RawHeader<'x>],
        ctypes: &[Structured],
        body: &'x [u8],
        section: &str,
        depth: u32,
        digest: bool,
    ) {
        let label = section_label(section);
        if depth >= self.scan.limits().max_mime_depth {
            if !self.depth_reported {
                self.depth_reported = true;
                let detail = format!(
                    "multiparts nest deeper than {} levels at {label}",
                    self.scan.limits().max_mime_depth
                );
                self.scan
                    .add(&findings::MIME_NESTING_TOO_DEEP, &label, detail);
            }
            return;
        }
        // Candidate boundaries, in the order a typical client would try them.
        let mut cands: Vec<Vec<u8>> = Vec::new();
        let mut declared_count = 0usize;
        for ct in ctypes.iter().filter(|c| c.value.starts_with("multipart/")) {
            for p in ct.all("boundary") {
                declared_count += 1;
                push_boundary(&mut cands, boundary_value(p));
            }
        }
        let mut elsewhere = Vec::new();
        for h in headers
            .iter()
            .filter(|h| h.name != "content-type" && h.name.starts_with("content-"))
        {
            let s = Structured::parse(h.value);
            for p in s.all("boundary") {
                let v = boundary_value(p);
                elsewhere.push(String::from_utf8_lossy(&v).into_owned());
                push_boundary(&mut cands, v);
            }
        }
        let distinct = cands.len();
        // Variants a sloppy parser would read: cut at `;` or whitespace.
        for c in cands.clone() {
            if let Some(cut) = c.iter().position(|b| *b == b';' || b.is_ascii_whitespace()) {
                push_boundary(&mut cands, c.get(..cut).unwrap_or_default().to_vec());
            }
        }
        if declared_count > 1 && distinct > 1 {
            let list: Vec<String> = cands
                .iter()
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect();
            self.scan.add(
                &findings::MIME_MULTIPLE_BOUNDARIES,
                &label,
                format!("boundaries declared: {}", list.join(", ")),
            );
        }
        if !elsewhere.is_empty() {
            self.scan.add(
                &findings::MIME_BOUNDARY_OUTSIDE_CONTENT_TYPE,
                &label,
                format!(
                    "boundary parameter in another field: {}",
                    elsewhere.join(", ")
                ),
            );
        }
        for c in &cands {
            self.declared.insert(c.clone());
        }
        let mut child = 0u32;
        let mut found_under: Vec<String> = Vec::new();
        for b in &cands {
            let parts = split_multipart(body, b);
            let mut new = 0;
            for p in parts {
                if self.stopped {
                    return;
                }
                let (_, pbody) = header::split(p);
                if self.seen.contains(&self.offset(pbody)) {
                    continue;
                }
                child += 1;
                new += 1;
                let sec = child_section(section, child);
                self.entity(p, &sec, depth + 1, digest);
            }
            if new > 0 {
                found_under.push(String::from_utf8_lossy(b).into_owned());
            }
        }
        if found_under.len() > 1 {
            self.scan.add(
                &findings::MIME_AMBIGUOUS_BOUNDARY,
                &label,
                format!(
                    "parts found under several boundaries: {}",
                    found_under.join(", ")
                ),
            );
        }
        let hidden = self.sweep(body, section, depth, child);
        if hidden > 0 {
            self.scan.add(
                &findings::MIME_HIDDEN_PARTS,
                &label,
                format!("{hidden} part(s) under a boundary that no header declares"),
            );
        }
        if child == 0 && hidden == 0 {
            self.scan.add(
                &findings::MIME_MALFORMED,
                &label,
                "multipart without any part (missing or wrong boundary)",
            );
            // Let the body be seen as text so nothing is lost.
            if let Ok(s) = std::str::from_utf8(body) {
                self.texts.push(s.to_owned());
            }
        }
    }

    /// Looks for `--token` ... `--token--` structures whose token no header declares, and walks the parts
    /// found that way (only those that start with Content-* fields). Returns how many new parts it walked.
    fn sweep(&mut self, body: &'x [u8], section: &str, depth: u32, mut child: u32) -> u32 {
        if self.depth_reported {
            // Past the depth limit the undeclared tokens are the deep levels we gave up on: do not walk them again.
            return 0;
        }
        let mut tokens: Vec<Vec<u8>> = Vec::new();
        let mut found = 0;
        for line in body.split(|b| *b == b'\n') {
            let line = header::trim(line);
            let Some(tok) = line.strip_prefix(b"--") else {
                continue;
            };
            if tok.is_empty() || tok.len() > MAX_BOUNDARY || tok.ends_with(b"--") {
                continue;
            }
            if self.declared.contains(tok) || tokens.iter().any(|t| t == tok) || tokens.len() >= 8 {
                continue;
            }
            tokens.push(tok.to_vec());
        }
        for tok in tokens {
            let mut close = b"--".to_vec();
            close.extend_from_slice(&tok);
            close.extend_from_slice(b"--");
            if memchr::memmem::find(body, &close).is_none() {
                continue;
            }
            self.declared.insert(tok.clone());
            for p in split_multipart(body, &tok) {
                if self.stopped {
                    return found;
                }
                let (hs, pbody) = header::split(p);
                if !hs
                    .iter()
                    .any(|h| h.name == "content-type" || h.name == "content-disposition")
                {
                    continue;
                }
                let at = self.offset(pbody);
                if self.seen.contains(&at) || self.attached_messages.iter().any(|r| r.contains(&at))
                {
                    continue;
                }
                child += 1;
                found += 1;
                let sec = child_section(section, child);
                self.entity(p, &sec, depth + 1, false);
            }
        }
        found
    }

    fn leaf(
        &mut self,
        headers: &[RawHeader<'x>],
        ct: Option<&Structured>,
        ctype: &str,
        body: &'x [u8],
        section: &str,
    ) {
        let disp = headers
            .iter()
            .find(|h| h.name == "content-disposition")
            .map(|h| Structured::parse(h.value));
        let is_attachment_disp = disp
            .as_ref()
            .is_some_and(|d| d.value.starts_with("attachment"));
        let fname = disp
            .as_ref()
            .and_then(|d| d.get("filename"))
            .filter(|s| !s.is_empty());
        let cname = ct.and_then(|c| c.get("name")).filter(|s| !s.is_empty());
        let cte = headers
            .iter()
            .find(|h| h.name == "content-transfer-encoding")
            .map(|h| {
                String::from_utf8_lossy(&h.unfolded())
                    .trim()
                    .to_ascii_lowercase()
            })
            .unwrap_or_default();
        let data = decode_transfer(&cte, body);
        let is_text_body = (ctype == "text/plain" || ctype == "text/html")
            && !is_attachment_disp
            && fname.is_none()
            && cname.is_none();
        if is_text_body {
            let cs = ct.and_then(|c| c.get("charset"));
            let text = charset::decode(cs.as_deref(), &data).into_owned();
            if ctype == "text/html" {
                self.htmls.push(text);
            } else {
                self.uu_attachments(&data, section);
                self.texts.push(text);
            }
            return;
        }
        let (name, alt) = match (fname, cname) {
            (Some(f), Some(c)) if f != c => (f, vec![c]),
            (Some(f), _) => (f, Vec::new()),
            (None, Some(c)) => (c, Vec::new()),
            (None, None) => (String::new(), Vec::new()),
        };
        if !alt.is_empty() {
            self.scan.add(
                &findings::MIME_CONFLICTING_NAMES,
                &name,
                format!(
                    "Content-Disposition says {name:?}, Content-Type says {:?}",
                    alt.first().map_or("", String::as_str)
                ),
            );
        }
        let part = if name.is_empty() {
            section_label(section)
        } else {
            name.clone()
        };
        let declared_type = ct.map(|c| c.value.clone()).filter(|v| !v.is_empty());
        if ctype == "message/rfc822" {
            let start = self.offset(body);
            self.attached_messages
                .push(start..start.saturating_add(body.len()));
        }
        self.msg.attachments.push(Attachment {
            name,
            alt_names: alt,
            declared_type,
            data,
            part,
        });
    }

    fn uu_attachments(&mut self, data: &[u8], section: &str) {
        if memchr::memmem::find(data, b"begin ").is_none() {
            return;
        }
        for f in transfer::uudecode_all(data, MAX_UU_PER_PART) {
            let part = if f.name.is_empty() {
                section_label(section)
            } else {
                f.name.clone()
            };
            self.msg.attachments.push(Attachment {
                name: f.name,
                alt_names: Vec::new(),
                declared_type: Some("application/x-uuencode".into()),
                data: Cow::Owned(f.data),
                part,
            });
        }
    }
}

fn boundary_value(p: &header::Param) -> Vec<u8> {
    if p.extended {
        // RFC 2231 `boundary*=utf-8''X`: drop the charset and language, percent-decode.
        let v = &p.value;
        let after = v
            .iter()
            .rposition(|b| *b == b'\'')
            .map_or(&v[..], |i| v.get(i + 1..).unwrap_or_default());
        let s = Structured::parse(&[b"x; b*0*=''".as_slice(), after].concat());
        return s
            .get("b")
            .map(String::into_bytes)
            .unwrap_or_else(|| after.to_vec());
    }
    p.value.clone()
}

fn push_boundary(cands: &mut Vec<Vec<u8>>, b: Vec<u8>) {
    if !b.is_empty() && b.len() <= MAX_BOUNDARY && !cands.contains(&b) {
        cands.push(b);
    }
}

fn section_label(section: &str) -> String {
    if section.is_empty() {
        "part 1".to_owned()
    } else {
        format!("part {section}")
    }
}

fn child_section(section: &str, n: u32) -> String {
    if section.is_empty() {
        n.to_string()
    } else {
        format!("{section}.{n}")
    }
}

/// A text body whose first non-blank line is `--token` and that closes `--token--`.
fn looks_like_hidden_mime(body: &[u8]) -> bool {
    let first = body
        .split(|b| *b == b'\n')
        .map(header::trim)
        .find(|l| !l.is_empty());
    match first.and_then(|l| l.strip_prefix(b"--")) {
        Some(tok) if !tok.is_empty() && tok.len() <= MAX_BOUNDARY => {
            let mut close = b"--".to_vec();
            close.extend_from_slice(tok);
            close.extend_from_slice(b"--");
            memchr::memmem::find(body, &close).is_some()
        }
        _ => false,
    }
}

/// The parts of a multipart body under one boundary: each slice runs from after a delimiter line to the line
/// break before the next delimiter (or the end when the close delimiter is missing).
pub fn split_multipart<'x>(body: &'x [u8], boundary: &[u8]) -> Vec<&'x [u8]> {
    let mut delim = b"--".to_vec();
    delim.extend_from_slice(boundary);
    let mut out = Vec::new();
    let mut current: Option<usize> = None;
    let mut search = 0usize;
    let finder = memchr::memmem::Finder::new(&delim);
    while let Some(rel) = finder.find(body.get(search..).unwrap_or_default()) {
        let at = search + rel;
        search = at + delim.len();
        let line_start = at == 0 || body.get(at - 1) == Some(&b'\n');
        if !line_start {
            continue;
        }
        let rest = body.get(at + delim.len()..).unwrap_or_default();
        let eol = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
        let tail = rest.get(..eol).unwrap_or_default();
        let (closing, tail) = match tail.strip_prefix(b"--") {
            Some(t) => (true, t),
            None => (false, tail),
        };
        if !tail.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        if let Some(start) = current.take() {
            // Drop the line break that belongs to the delimiter.
            let mut end = at;
            if end > start && body.get(end - 1) == Some(&b'\n') {
                end -= 1;
                if end > start && body.get(end - 1) == Some(&b'\r') {
                    end -= 1;
                }
            }
            out.push(body.get(start..end).unwrap_or_default());
        }
        if closing {
            return out;
        }
        current = Some((at + delim.len() + eol + 1).min(body.len()));
        search = current.unwrap_or(body.len());
    }
    if let Some(start) = current {
        out.push(body.get(start..).unwrap_or_default());
    }
    out
}

fn decode_transfer<'x>(cte: &str, body: &'x [u8]) -> Cow<'x, [u8]> {
    match cte {
        "base64" => Cow::Owned(transfer::base64(body)),
        "quoted-printable" => Cow::Owned(transfer::quoted_printable(body)),
        "x-uuencode" | "uuencode" | "x-uue" => {
            match transfer::uudecode_all(body, 1).into_iter().next() {
                Some(f) => Cow::Owned(f.data),
                None => Cow::Borrowed(body),
            }
        }
        _ => Cow::Borrowed(body),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_basic() {
        let body = b"preamble\r\n--B\r\nA: 1\r\n\r\none\r\n--B \r\n\r\ntwo\r\n--B--\r\nepilogue";
        let parts = split_multipart(body, b"B");
        assert_eq!(parts, vec![&b"A: 1\r\n\r\none"[..], &b"\r\ntwo"[..]]);
        assert!(split_multipart(body, b"C").is_empty());
        // "--Bx" is not a delimiter for boundary "B"
        assert_eq!(
            split_multipart(b"--Bx\nno\n--B\nyes\n--B--", b"B"),
            vec![&b"yes"[..]]
        );
    }
}
