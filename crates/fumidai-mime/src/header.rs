//! Raw header fields: splitting an entity into header block and body, unfolding, parameter lists
//! (RFC 2045 and RFC 2231 continuations/charsets) and RFC 2047 encoded words, all on bytes.
//! Written by hand (not mail-parser) because evasion lives in exactly the details a strict parser drops:
//! repeated fields, comments in field names, repeated parameters.

use crate::charset;
use crate::transfer;
use std::borrow::Cow;

/// One header field as it appears in the entity.
#[derive(Debug, Clone)]
pub struct RawHeader<'x> {
    /// Lower-case field name with comments and whitespace removed (`Content-Type(x)` -> `content-type`).
    pub name: String,
    /// The name carried a comment, whitespace or other junk a strict parser would not accept.
    pub odd_name: bool,
    /// The value, still folded, without the leading colon.
    pub value: &'x [u8],
}

impl RawHeader<'_> {
    /// The value unfolded (CRLF before whitespace removed) and trimmed.
    pub fn unfolded(&self) -> Cow<'_, [u8]> {
        unfold(self.value)
    }
}

pub fn unfold(value: &[u8]) -> Cow<'_, [u8]> {
    let v = trim(value);
    if !v.contains(&b'\n') && !v.contains(&b'\r') {
        return Cow::Borrowed(v);
    }
    Cow::Owned(
        v.iter()
            .copied()
            .filter(|b| *b != b'\r' && *b != b'\n')
            .collect(),
    )
}

pub fn trim(mut v: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = v {
        if first.is_ascii_whitespace() {
            v = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = v {
        if last.is_ascii_whitespace() {
            v = rest;
        } else {
            break;
        }
    }
    v
}

/// Splits an entity into its header fields and its body. The header block ends at the first empty line,
/// or at the first line that is neither a field nor a continuation (a strict reader starts the body there).
pub fn split(entity: &[u8]) -> (Vec<RawHeader<'_>>, &[u8]) {
    let mut headers: Vec<RawHeader<'_>> = Vec::new();
    let mut pos = 0usize;
    let mut first = true;
    while pos < entity.len() {
        let rest = entity.get(pos..).unwrap_or_default();
        let line_len = memchr::memchr(b'\n', rest).map_or(rest.len(), |i| i + 1);
        let line = rest.get(..line_len).unwrap_or_default();
        let content = trim_eol(line);
        if content.is_empty() {
            return (headers, entity.get(pos + line_len..).unwrap_or_default());
        }
        if first && content.starts_with(b"From ") {
            // mbox separator line
            first = false;
            pos += line_len;
            continue;
        }
        first = false;
        if matches!(content.first(), Some(b' ' | b'\t')) && !headers.is_empty() {
            // Continuation: extend the previous value's slice over this line.
            if let Some(last) = headers.last_mut() {
                let start = last.value.as_ptr() as usize - entity.as_ptr() as usize;
                last.value = entity.get(start..pos + line_len).unwrap_or(last.value);
            }
            pos += line_len;
            continue;
        }
        let Some(colon) = memchr::memchr(b':', content) else {
            return (headers, rest);
        };
        let raw_name = content.get(..colon).unwrap_or_default();
        let (name, odd_name) = normalize_name(raw_name);
        if name.is_empty() {
            return (headers, rest);
        }
        let value = line.get(colon + 1..).unwrap_or_default();
        headers.push(RawHeader {
            name,
            odd_name,
            value,
        });
        pos += line_len;
    }
    (headers, &[])
}

fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Lower-cases a field name and drops comments and whitespace from it; tells whether anything was dropped.
fn normalize_name(raw: &[u8]) -> (String, bool) {
    let mut out = String::with_capacity(raw.len());
    let mut depth = 0u32;
    let mut odd = false;
    for &b in raw {
        match b {
            b'(' => {
                depth = depth.saturating_add(1);
                odd = true;
            }
            b')' if depth > 0 => depth -= 1,
            _ if depth > 0 => {}
            b if b.is_ascii_graphic() => out.push(b.to_ascii_lowercase() as char),
            _ => odd = true,
        }
    }
    (out, odd)
}

/// A parameter as written: name (lower case, without RFC 2231 section/`*`), section, extended flag, value bytes.
#[derive(Debug, Clone)]
pub struct Param {
    pub name: String,
    pub section: Option<u32>,
    pub extended: bool,
    pub value: Vec<u8>,
}

/// A structured value such as Content-Type: `main; a=b; c="d"`.
#[derive(Debug, Clone, Default)]
pub struct Structured {
    /// The main value, lower case, comments removed (`multipart/mixed`).
    pub value: String,
    pub params: Vec<Param>,
}

impl Structured {
    pub fn parse(raw: &[u8]) -> Structured {
        let v = unfold(raw);
        let v: &[u8] = &v;
        let mut i = 0usize;
        let mut main = Vec::new();
        let mut depth = 0u32;
        while let Some(&b) = v.get(i) {
            if b == b';' && depth == 0 {
                break;
            }
            match b {
                b'(' => depth = depth.saturating_add(1),
                b')' if depth > 0 => depth -= 1,
                _ if depth > 0 => {}
                b if b.is_ascii_whitespace() || b == b'"' => {}
                b => main.push(b.to_ascii_lowercase()),
            }
            i += 1;
        }
        let mut out = Structured {
            value: String::from_utf8_lossy(&main).into_owned(),
            params: Vec::new(),
        };
        while i < v.len() {
            // skip separators
            while matches!(v.get(i), Some(b';' | b' ' | b'\t' | b'\r' | b'\n')) {
                i += 1;
            }
            if i >= v.len() {
                break;
            }
            let name_start = i;
            while let Some(&b) = v.get(i) {
                if b == b'=' || b == b';' {
                    break;
                }
                i += 1;
            }
            let raw_name = trim(v.get(name_start..i).unwrap_or_default());
            if v.get(i) != Some(&b'=') {
                continue;
            }
            i += 1;
            while matches!(v.get(i), Some(b' ' | b'\t')) {
                i += 1;
            }
            let mut value = Vec::new();
            if v.get(i) == Some(&b'"') {
                i += 1;
                while let Some(&b) = v.get(i) {
                    i += 1;
                    match b {
                        b'"' => break,
                        b'\\' => {
                            if let Some(&n) = v.get(i) {
                                value.push(n);
                                i += 1;
                            }
                        }
                        b => value.push(b),
                    }
                }
            } else {
                let start = i;
                while let Some(&b) = v.get(i) {
                    if b == b';' {
                        break;
                    }
                    i += 1;
                }
                let tok = strip_comments(trim(v.get(start..i).unwrap_or_default()));
                value.extend_from_slice(trim(&tok));
            }
            let name_l = String::from_utf8_lossy(raw_name).to_ascii_lowercase();
            let name_l: String = name_l.chars().filter(|c| !c.is_whitespace()).collect();
            let (base, section, extended) = split_param_name(&name_l);
            out.params.push(Param {
                name: base,
                section,
                extended,
                value,
            });
        }
        out
    }

    /// Every raw value given for `name` (repeated parameters are an evasion sign).
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Param> + 'a {
        self.params.iter().filter(move |p| p.name == name)
    }

    /// The decoded value of `name`: RFC 2231 sections joined and charset-decoded, or RFC 2047 words decoded.
    /// When the parameter is repeated, the first complete one wins.
    pub fn get(&self, name: &str) -> Option<String> {
        let mut sections: Vec<&Param> = self.all(name).collect();
        if sections.is_empty() {
            return None;
        }
        let has_sections = sections.iter().any(|p| p.section.is_some());
        if !has_sections || sections.len() == 1 {
            let p = sections.first()?;
            return Some(decode_param_value(p, true));
        }
        sections.retain(|p| p.section.is_some());
        sections.sort_by_key(|p| p.section);
        let mut bytes = Vec::new();
        let mut charset: Option<String> = None;
        let mut any_extended = false;
        for (idx, p) in sections.iter().enumerate() {
            if p.extended {
                any_extended = true;
                let mut v: &[u8] = &p.value;
                if idx == 0 {
                    let (cs, rest) = split_charset(v);
                    charset = cs;
                    v = rest;
                }
                bytes.extend(percent_decode(v));
            } else {
                bytes.extend_from_slice(&p.value);
            }
        }
        if any_extended {
            Some(charset::decode(charset.as_deref(), &bytes).into_owned())
        } else {
            Some(decode_words(&bytes))
        }
    }
}

fn strip_comments(v: &[u8]) -> Cow<'_, [u8]> {
    if !v.contains(&b'(') {
        return Cow::Borrowed(v);
    }
    let mut out = Vec::with_capacity(v.len());
    let mut depth = 0u32;
    for &b in v {
        match b {
            b'(' => depth = depth.saturating_add(1),
            b')' if depth > 0 => depth -= 1,
            _ if depth > 0 => {}
            b => out.push(b),
        }
    }
    Cow::Owned(out)
}

/// `filename*0*` -> (`filename`, Some(0), true).
fn split_param_name(name: &str) -> (String, Option<u32>, bool) {
    let (rest, extended) = match name.strip_suffix('*') {
        Some(r) => (r, true),
        None => (name, false),
    };
    if let Some((base, sec)) = rest.rsplit_once('*') {
        if let Ok(n) = sec.parse::<u32>() {
            return (base.to_owned(), Some(n), extended);
        }
    }
    (rest.to_owned(), None, extended)
}

fn split_charset(v: &[u8]) -> (Option<String>, &[u8]) {
    let Some(q1) = memchr::memchr(b'\'', v) else {
        return (None, v);
    };
    let rest = v.get(q1 + 1..).unwrap_or_default();
    let Some(q2) = memchr::memchr(b'\'', rest) else {
        return (None, v);
    };
    let cs = String::from_utf8_lossy(v.get(..q1).unwrap_or_default()).into_owned();
    (
        if cs.is_empty() { None } else { Some(cs) },
        rest.get(q2 + 1..).unwrap_or_default(),
    )
}

fn percent_decode(v: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0usize;
    while let Some(&b) = v.get(i) {
        if b == b'%' {
            if let (Some(h), Some(l)) = (
                v.get(i + 1).and_then(|c| hexval(*c)),
                v.get(i + 2).and_then(|c| hexval(*c)),
            ) {
                out.push(h << 4 | l);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    out
}

pub fn hexval(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

fn decode_param_value(p: &Param, allow_2047: bool) -> String {
    if p.extended {
        let (cs, rest) = split_charset(&p.value);
        let bytes = percent_decode(rest);
        return charset::decode(cs.as_deref(), &bytes).into_owned();
    }
    if allow_2047 {
        decode_words(&p.value)
    } else {
        charset::guess(&p.value).into_owned()
    }
}

/// Decodes RFC 2047 encoded words (any charset label, Japanese aliases included) in an unstructured value;
/// raw 8-bit text is decoded by guessing. Adjacent words in one charset are joined before decoding, so a
/// multi-byte character split across two words comes out whole.
pub fn decode_words(v: &[u8]) -> String {
    words(v, false)
}

/// Rewrites encoded words of any charset as UTF-8 encoded words (so a strict parser such as mail-parser,
/// which lacks CP932 and friends, decodes them right) and raw 8-bit text as UTF-8.
pub fn words_to_utf8(v: &[u8]) -> String {
    words(v, true)
}

fn words(v: &[u8], reencode: bool) -> String {
    let emit = |out: &mut String, cs: &str, bytes: &[u8]| {
        let text = charset::decode(Some(cs), bytes);
        if reencode {
            if !out.is_empty() && !out.ends_with(' ') {
                out.push(' ');
            }
            out.push_str("=?UTF-8?B?");
            out.push_str(&transfer::base64_encode(text.as_bytes()));
            out.push_str("?= ");
        } else {
            out.push_str(&text);
        }
    };
    let mut out = String::with_capacity(v.len());
    let mut literal_start = 0usize;
    let mut pending: Option<(String, Vec<u8>)> = None;
    let mut i = 0usize;
    while i < v.len() {
        let Some(off) = memchr::memmem::find(v.get(i..).unwrap_or_default(), b"=?") else {
            break;
        };
        let start = i + off;
        match parse_word(v.get(start..).unwrap_or_default()) {
            Some((cs, bytes, len)) => {
                let between = v.get(literal_start..start).unwrap_or_default();
                let only_ws = between.iter().all(|b| b.is_ascii_whitespace());
                match pending.take() {
                    Some((pcs, mut pbytes)) if only_ws => {
                        if pcs.eq_ignore_ascii_case(&cs) {
                            pbytes.extend_from_slice(&bytes);
                            pending = Some((pcs, pbytes));
                        } else {
                            emit(&mut out, &pcs, &pbytes);
                            pending = Some((cs, bytes));
                        }
                    }
                    other => {
                        if let Some((pcs, pbytes)) = other {
                            emit(&mut out, &pcs, &pbytes);
                        }
                        out.push_str(&charset::guess(between));
                        pending = Some((cs, bytes));
                    }
                }
                i = start + len;
                literal_start = i;
            }
            None => i = start + 2,
        }
    }
    if let Some((pcs, pbytes)) = pending {
        emit(&mut out, &pcs, &pbytes);
    }
    out.push_str(&charset::guess(v.get(literal_start..).unwrap_or_default()));
    out
}

/// Parses `=?charset?B|Q?text?=` at the start of `v`: (charset, decoded bytes, length consumed).
fn parse_word(v: &[u8]) -> Option<(String, Vec<u8>, usize)> {
    let body = v.get(2..)?;
    let q1 = memchr::memchr(b'?', body.get(..body.len().min(80))?)?;
    let cs = body.get(..q1)?;
    if cs.is_empty() || cs.iter().any(|b| b.is_ascii_whitespace()) {
        return None;
    }
    let enc = *body.get(q1 + 1)?;
    if body.get(q1 + 2) != Some(&b'?') {
        return None;
    }
    let text_start = q1 + 3;
    let text_rest = body.get(text_start..)?;
    let end = memchr::memmem::find(text_rest, b"?=")?;
    let text = text_rest.get(..end)?;
    if text.contains(&b'\n') {
        return None;
    }
    let bytes = match enc {
        b'B' | b'b' => transfer::base64(text),
        b'Q' | b'q' => transfer::qp_word(text),
        _ => return None,
    };
    let cs = String::from_utf8_lossy(cs);
    // RFC 2231 language suffix: charset*lang
    let cs = cs.split('*').next().unwrap_or_default().to_owned();
    Some((cs, bytes, 2 + text_start + end + 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_headers_and_odd_names() {
        let raw = b"Subject: a\r\n b\r\nContent-Type(meow): text/plain\r\n\r\nbody";
        let (h, body) = split(raw);
        assert_eq!(h.len(), 2);
        assert_eq!(h[0].name, "subject");
        assert_eq!(&*h[0].unfolded(), b"a b");
        assert_eq!(h[1].name, "content-type");
        assert!(h[1].odd_name);
        assert_eq!(body, b"body");
    }

    #[test]
    fn params_rfc2231_and_repeats() {
        let s = Structured::parse(
            b"multipart/mixed; boundary=X; boundary=\"Y;\"; a*0*=utf-8''%E8%AB%8B; a*1=x",
        );
        assert_eq!(s.value, "multipart/mixed");
        let b: Vec<_> = s.all("boundary").map(|p| p.value.clone()).collect();
        assert_eq!(b, vec![b"X".to_vec(), b"Y;".to_vec()]);
        assert_eq!(s.get("a").as_deref(), Some("請x"));
    }

    #[test]
    fn encoded_words_join() {
        assert_eq!(
            decode_words(b"=?utf-8?B?5Y+W?= =?utf-8?Q?=E5=BC=95?= x"),
            "取引 x"
        );
        assert_eq!(decode_words(b"plain =?bogus"), "plain =?bogus");
    }
}
