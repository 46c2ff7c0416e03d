//! Content-Transfer-Encoding decoders (base64, quoted-printable, uuencode), lenient the way mail clients are:
//! junk characters are skipped, never fatal.

/// Lenient base64: skips anything outside the alphabet, stops at padding, keeps whole bytes decoded so far.
pub fn base64(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() / 4 * 3 + 3);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for &c in input {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => {
                // Padding ends a quantum; a new quantum may follow (concatenated base64 chunks).
                acc = 0;
                bits = 0;
                continue;
            }
            _ => continue,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// Standard base64 without line breaks (for re-encoding header words).
pub fn base64_encode(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let b0 = c.first().copied().unwrap_or(0);
        let b1 = c.get(1).copied().unwrap_or(0);
        let b2 = c.get(2).copied().unwrap_or(0);
        let n = u32::from(b0) << 16 | u32::from(b1) << 8 | u32::from(b2);
        for i in 0..4usize {
            if i <= c.len() {
                let idx = (n >> (18 - 6 * i) & 63) as usize;
                out.push(T.get(idx).copied().unwrap_or(b'A') as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Quoted-printable body decoding (soft line breaks removed, bad escapes kept literally).
pub fn quoted_printable(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0usize;
    while let Some(&b) = input.get(i) {
        if b == b'=' {
            match (input.get(i + 1), input.get(i + 2)) {
                (Some(b'\r'), Some(b'\n')) => {
                    i += 3;
                    continue;
                }
                (Some(b'\n'), _) => {
                    i += 2;
                    continue;
                }
                (Some(h), Some(l)) => {
                    if let (Some(h), Some(l)) =
                        (crate::header::hexval(*h), crate::header::hexval(*l))
                    {
                        out.push(h << 4 | l);
                        i += 3;
                        continue;
                    }
                }
                _ => {}
            }
        }
        out.push(b);
        i += 1;
    }
    out
}

/// Q encoding of RFC 2047 words: quoted-printable with `_` for space.
pub fn qp_word(input: &[u8]) -> Vec<u8> {
    let mut out = quoted_printable(input);
    for b in &mut out {
        if *b == b'_' {
            *b = b' ';
        }
    }
    out
}

/// A uuencoded file found in text: its name and decoded bytes.
#[derive(Debug)]
pub struct UuFile {
    pub name: String,
    pub data: Vec<u8>,
}

/// Finds `begin <mode> <name>` ... `end` blocks in text and decodes them. At most `max` blocks.
pub fn uudecode_all(text: &[u8], max: usize) -> Vec<UuFile> {
    let mut out = Vec::new();
    let mut lines = text
        .split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    while out.len() < max {
        let Some(line) = lines.next() else { break };
        let Some(rest) = line.strip_prefix(b"begin ") else {
            continue;
        };
        let rest = crate::header::trim(rest);
        let Some(sp) = memchr::memchr(b' ', rest) else {
            continue;
        };
        let (mode, name) = (
            rest.get(..sp).unwrap_or_default(),
            rest.get(sp + 1..).unwrap_or_default(),
        );
        if mode.is_empty()
            || mode.len() > 4
            || !mode.iter().all(|b| (b'0'..=b'7').contains(b))
            || name.is_empty()
        {
            continue;
        }
        let mut data = Vec::new();
        for l in lines.by_ref() {
            if l == b"end" || l.starts_with(b"end ") {
                break;
            }
            decode_uu_line(l, &mut data);
        }
        out.push(UuFile {
            name: crate::charset::guess(crate::header::trim(name)).into_owned(),
            data,
        });
    }
    out
}

fn decode_uu_line(line: &[u8], out: &mut Vec<u8>) {
    let Some((&first, rest)) = line.split_first() else {
        return;
    };
    let n = usize::from(first.wrapping_sub(b' ') & 0x3f);
    if n == 0 {
        return;
    }
    let mut produced = 0usize;
    for chunk in rest.chunks(4) {
        let mut v = [0u8; 4];
        for (d, s) in v.iter_mut().zip(chunk) {
            *d = s.wrapping_sub(b' ') & 0x3f;
        }
        let bytes = [
            v[0] << 2 | v[1] >> 4,
            v[1] << 4 | v[2] >> 2,
            v[2] << 6 | v[3],
        ];
        for b in bytes {
            if produced < n {
                out.push(b);
                produced += 1;
            }
        }
        if produced >= n {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_roundtrip() {
        for s in [&b""[..], b"a", b"ab", b"abc", b"abcd", "請求書".as_bytes()] {
            assert_eq!(base64(base64_encode(s).as_bytes()), s);
        }
        assert_eq!(base64_encode(b"hello"), "aGVsbG8=");
    }

    #[test]
    fn base64_lenient() {
        assert_eq!(base64(b"aGVs\r\nbG8=\r\n"), b"hello");
        assert_eq!(base64(b"aGVs*bG8"), b"hello");
    }

    #[test]
    fn qp() {
        assert_eq!(quoted_printable(b"a=3Db=\r\nc=ZZ"), b"a=bc=ZZ");
        assert_eq!(qp_word(b"a_b=20"), b"a b ");
    }

    #[test]
    fn uu_roundtrip() {
        // "Cat" uuencoded is "#0V%T"
        let files = uudecode_all(b"hello\nbegin 644 cat.txt\n#0V%T\n`\nend\nbye\n", 4);
        assert_eq!(files.len(), 1);
        assert_eq!(files[0].name, "cat.txt");
        assert_eq!(files[0].data, b"Cat");
    }
}
