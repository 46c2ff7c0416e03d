//! Encoded payloads inside HTML and script: base64 runs (also split over `"..." + "..."`),
//! hex runs, character-code arrays and `data:` URLs, with small bounded decoders.

/// Fewest encoded characters for a run to be considered at all.
pub const MIN_RUN: usize = 64;

/// Where a blob came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Base64,
    Hex,
    CharCodes,
    /// A `data:` URL with a non-media type (`application/...`).
    DataUrl,
}

/// An encoded payload and its decoded bytes (capped).
#[derive(Debug, Clone)]
pub struct Blob {
    pub source: Source,
    /// Encoded length in characters.
    pub encoded_len: usize,
    pub mime: Option<String>,
    pub bytes: Vec<u8>,
}

fn b64_value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' | b'-' => Some(62),
        b'/' | b'_' => Some(63),
        _ => None,
    }
}

/// Decodes base64 (standard or URL-safe), skipping whitespace, stopping at padding or at the first
/// other character, and at `cap` output bytes.
pub fn decode_base64(s: &[u8], cap: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity((s.len() / 4 * 3).min(cap));
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for &c in s {
        if c.is_ascii_whitespace() {
            continue;
        }
        let Some(v) = b64_value(c) else { break };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            if out.len() >= cap {
                break;
            }
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// Decodes hex digit pairs up to `cap` bytes.
pub fn decode_hex(s: &[u8], cap: usize) -> Vec<u8> {
    s.chunks_exact(2)
        .take(cap)
        .filter_map(|p| {
            let hi = (p.first()?.to_ascii_lowercase() as char).to_digit(16)?;
            let lo = (p.get(1)?.to_ascii_lowercase() as char).to_digit(16)?;
            Some((hi * 16 + lo) as u8)
        })
        .collect()
}

/// What a decoded payload starts with, when it is something a smuggler would deliver.
pub fn payload_magic(b: &[u8]) -> Option<&'static str> {
    const MAGICS: &[(&[u8], &str)] = &[
        (b"PK\x03\x04", "zip"),
        (b"PK\x05\x06", "zip"),
        (b"MZ", "pe"),
        (b"Rar!\x1a\x07", "rar"),
        (b"7z\xbc\xaf\x27\x1c", "7z"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ole2"),
        (b"%PDF", "pdf"),
        (b"{\\rt", "rtf"),
        (b"\x1f\x8b", "gzip"),
        (b"MSCF", "cab"),
        (b"\x7fELF", "elf"),
        (b"L\x00\x00\x00\x01\x14\x02\x00", "lnk"),
        (b"\xe4\x52\x5c\x7b\x8c\xd8\xa7\x4d", "onenote"),
        (b"conectix", "vhd"),
        (b"vhdxfile", "vhdx"),
    ];
    if let Some((_, name)) = MAGICS.iter().find(|(m, _)| b.starts_with(m)) {
        return Some(name);
    }
    if b.get(0x8001..0x8006) == Some(b"CD001") {
        return Some("iso");
    }
    None
}

fn is_b64(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'+' || c == b'/'
}

/// After a run ends at `i`: if a string concatenation (`" + "`, `', '`, `"\n+"`) follows and another
/// run starts after it, the index where it starts.
fn joined_continuation(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i;
    let mut quotes = 0;
    let mut joiners = 0;
    while j < i + 24 {
        match b.get(j)? {
            b'"' | b'\'' | b'`' => quotes += 1,
            b'+' | b',' => joiners += 1,
            b' ' | b'\t' | b'\r' | b'\n' => {}
            b'\\' if matches!(b.get(j + 1), Some(b'n' | b'r')) => j += 1,
            c if is_b64(*c) => break,
            _ => return None,
        }
        j += 1;
    }
    (quotes >= 2 && joiners >= 1 && b.get(j).is_some_and(|c| is_b64(*c))).then_some(j)
}

/// Spans of `data:` URL payloads, with the media type and whether it is base64.
fn data_urls(b: &[u8]) -> Vec<(usize, usize, String, bool)> {
    let mut out = Vec::new();
    let mut last_end = 0;
    for p in memchr::memmem::find_iter(b, b"data:") {
        if out.len() >= 1024 {
            break;
        }
        // "data:" inside the previous payload: skipping keeps this linear.
        if p < last_end {
            continue;
        }
        let head_end = b
            .get(p + 5..)
            .and_then(|r| r.iter().take(200).position(|c| *c == b','))
            .map(|o| p + 5 + o);
        let Some(comma) = head_end else { continue };
        let head = String::from_utf8_lossy(b.get(p + 5..comma).unwrap_or(&[])).to_ascii_lowercase();
        if head
            .bytes()
            .any(|c| c.is_ascii_whitespace() || c == b'"' || c == b'\'' || c == b'<')
        {
            continue;
        }
        let base64 = head.ends_with(";base64");
        let mime = head.split(';').next().unwrap_or("").to_owned();
        let start = comma + 1;
        let mut end = start;
        while b.get(end).is_some_and(|c| {
            is_b64(*c)
                || *c == b'='
                || (!base64
                    && !matches!(c, b'"' | b'\'' | b')' | b'<' | b'>')
                    && !c.is_ascii_whitespace())
        }) {
            end += 1;
        }
        last_end = end;
        out.push((start, end, mime, base64));
    }
    out
}

/// Media types that inline content legitimately (images, fonts, styles).
fn benign_mime(m: &str) -> bool {
    m.is_empty()
        || [
            "image/",
            "font/",
            "audio/",
            "video/",
            "text/css",
            "application/font",
            "application/x-font",
        ]
        .iter()
        .any(|p| m.starts_with(p))
}

/// Finds encoded payloads in `src`. Each decoded payload is capped at `cap` bytes; at most `max` blobs.
/// Blobs are kept when they decode to a known payload type or are long (`big` encoded characters or more).
pub fn find_blobs(src: &[u8], cap: usize, max: usize, big: usize) -> Vec<Blob> {
    let mut blobs = Vec::new();
    let datas = data_urls(src);
    for (s, e, mime, base64) in &datas {
        if blobs.len() >= max {
            return blobs;
        }
        if benign_mime(mime) || !*base64 {
            continue;
        }
        let enc = src.get(*s..*e).unwrap_or(&[]);
        let bytes = decode_base64(enc, cap);
        if !bytes.is_empty() {
            blobs.push(Blob {
                source: Source::DataUrl,
                encoded_len: enc.len(),
                mime: Some(mime.clone()),
                bytes,
            });
        }
    }
    // Encoded characters gathered for one run, capped (a larger payload is decoded on its prefix).
    let enc_cap = cap.saturating_mul(2).saturating_add(8);
    let mut run: Vec<u8> = Vec::new();
    let mut i = 0;
    while i < src.len() && blobs.len() < max {
        if !src.get(i).is_some_and(|c| is_b64(*c)) {
            i += 1;
            continue;
        }
        let start = i;
        run.clear();
        loop {
            while let Some(&c) = src.get(i) {
                if is_b64(c) {
                    if run.len() < enc_cap {
                        run.push(c);
                    }
                    i += 1;
                } else if (c == b'\n' || c == b'\r')
                    && src.get(i + 1).is_some_and(|n| is_b64(*n) || *n == b'\n')
                {
                    i += 1;
                } else {
                    break;
                }
            }
            match joined_continuation(src, i) {
                Some(j) if run.len() >= MIN_RUN / 4 => i = j,
                _ => break,
            }
        }
        if run.len() < MIN_RUN || datas.iter().any(|(s, e, _, _)| *s <= start && start < *e) {
            continue;
        }
        let hex = run.len().is_multiple_of(2) && run.iter().all(|c| c.is_ascii_hexdigit());
        let (bytes, source) = if hex {
            (decode_hex(&run, cap), Source::Hex)
        } else {
            (decode_base64(&run, cap), Source::Base64)
        };
        if payload_magic(&bytes).is_some() || run.len() >= big {
            blobs.push(Blob {
                source,
                encoded_len: run.len(),
                mime: None,
                bytes,
            });
        }
    }
    char_code_arrays(src, cap, max, big, &mut blobs);
    blobs
}

/// `[80,75,3,4,...]` or `fromCharCode(80,75,...)`: numbers 0-255 separated by commas.
fn char_code_arrays(src: &[u8], cap: usize, max: usize, big: usize, blobs: &mut Vec<Blob>) {
    let mut i = 0;
    while i < src.len() && blobs.len() < max {
        let Some(off) = src.get(i..).and_then(|r| memchr::memchr2(b'[', b'(', r)) else {
            break;
        };
        let open = i + off;
        let mut j = open + 1;
        let mut bytes = Vec::new();
        let mut count = 0usize;
        loop {
            while src.get(j).is_some_and(|c| c.is_ascii_whitespace()) {
                j += 1;
            }
            let ns = j;
            let mut v: u32 = 0;
            while let Some(d) = src.get(j).filter(|c| c.is_ascii_digit()) {
                v = v.saturating_mul(10).saturating_add(u32::from(d - b'0'));
                j += 1;
            }
            if j == ns || v > 255 || j - ns > 3 {
                break;
            }
            count += 1;
            if bytes.len() < cap {
                bytes.push(v as u8);
            }
            while src.get(j).is_some_and(|c| c.is_ascii_whitespace()) {
                j += 1;
            }
            if src.get(j) == Some(&b',') {
                j += 1;
            } else {
                break;
            }
        }
        if count >= MIN_RUN && (payload_magic(&bytes).is_some() || count >= big / 3) {
            blobs.push(Blob {
                source: Source::CharCodes,
                encoded_len: j - open,
                mime: None,
                bytes,
            });
        }
        i = j.max(open + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_roundtrip_and_caps() {
        assert_eq!(decode_base64(b"UEsDBA==", 100), b"PK\x03\x04");
        assert_eq!(decode_base64(b"UEsD\nBA", 100), b"PK\x03\x04");
        assert_eq!(decode_base64(b"UEsDBA==", 2), b"PK");
        assert_eq!(decode_hex(b"4d5A9000", 10), b"MZ\x90\x00");
    }

    #[test]
    fn finds_split_base64_and_char_codes() {
        let payload: Vec<u8> = b"MZ"
            .iter()
            .copied()
            .chain(std::iter::repeat_n(0x41u8, 200))
            .collect();
        let b64 = {
            // Encode with a tiny local encoder (the crate only decodes).
            const T: &[u8; 64] =
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
            let mut s = String::new();
            for ch in payload.chunks(3) {
                let n = ch
                    .iter()
                    .enumerate()
                    .fold(0u32, |a, (k, b)| a | (u32::from(*b) << (16 - 8 * k)));
                for k in 0..=ch.len() {
                    s.push(T[((n >> (18 - 6 * k)) & 63) as usize] as char);
                }
            }
            s
        };
        let (a, b) = b64.split_at(100);
        let js = format!("var x = \"{a}\" +\n  \"{b}\";");
        let blobs = find_blobs(js.as_bytes(), 1 << 20, 8, 1 << 20);
        assert_eq!(blobs.len(), 1, "{blobs:?}");
        assert_eq!(
            blobs.first().map(|b| b.bytes.as_slice()),
            Some(payload.as_slice())
        );

        let codes: Vec<String> = payload.iter().map(|b| b.to_string()).collect();
        let js = format!("new Uint8Array([{}])", codes.join(", "));
        let blobs = find_blobs(js.as_bytes(), 1 << 20, 8, 1 << 20);
        assert_eq!(
            blobs.first().map(|b| (b.source, b.bytes.len())),
            Some((Source::CharCodes, payload.len()))
        );
    }

    #[test]
    fn inline_images_and_prose_are_not_blobs() {
        let html = format!(
            "<img src=\"data:image/png;base64,{}\"> {}",
            "iVBORw0KGgo".repeat(50),
            "word ".repeat(500)
        );
        assert!(find_blobs(html.as_bytes(), 1 << 20, 8, 4096).is_empty());
    }
}
