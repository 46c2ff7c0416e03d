//! Bounds-checked little-endian readers and string decoders over untrusted bytes.

pub fn u16le(d: &[u8], off: usize) -> Option<u16> {
    let b = d.get(off..off.checked_add(2)?)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

pub fn u32le(d: &[u8], off: usize) -> Option<u32> {
    let b = d.get(off..off.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

pub fn u64le(d: &[u8], off: usize) -> Option<u64> {
    let b = d.get(off..off.checked_add(8)?)?;
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    Some(u64::from_le_bytes(a))
}

/// Windows-1252 text of `d` (shortcuts and OLE headers store ANSI strings in the sender's code page).
pub fn ansi(d: &[u8]) -> String {
    encoding_rs::WINDOWS_1252
        .decode_without_bom_handling(d)
        .0
        .into_owned()
}

/// The ANSI string starting at `off`, up to its NUL (or the end of `d`).
pub fn ansi_z(d: &[u8], off: usize) -> Option<String> {
    let rest = d.get(off..)?;
    let end = memchr::memchr(0, rest).unwrap_or(rest.len());
    Some(ansi(rest.get(..end)?))
}

/// UTF-16LE text of `d` (an odd trailing byte is ignored).
pub fn utf16(d: &[u8]) -> String {
    let units = d.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]]));
    char::decode_utf16(units)
        .map(|r| r.unwrap_or('\u{FFFD}'))
        .collect()
}

/// The UTF-16LE string starting at `off`, up to its NUL unit (or the end of `d`).
pub fn utf16_z(d: &[u8], off: usize) -> Option<String> {
    let rest = d.get(off..)?;
    let mut end = rest.len() & !1;
    for (i, c) in rest.chunks_exact(2).enumerate() {
        if c == [0, 0] {
            end = i * 2;
            break;
        }
    }
    Some(utf16(rest.get(..end)?))
}

/// Shortens text for a finding detail (never mid-character).
pub fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max).collect();
    out.push('…');
    out
}

/// Case-insensitive ASCII substring search.
pub fn contains_ci(hay: &[u8], needle: &[u8]) -> bool {
    find_ci(hay, needle, 0).is_some()
}

/// Case-insensitive ASCII substring search from `from`.
pub fn find_ci(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let first = *needle.first()?;
    let (lo, up) = (first.to_ascii_lowercase(), first.to_ascii_uppercase());
    let mut i = from;
    while i < hay.len() {
        let rest = hay.get(i..)?;
        let j = memchr::memchr2(lo, up, rest)?;
        let at = i + j;
        if hay
            .get(at..at.checked_add(needle.len())?)
            .is_some_and(|w| w.eq_ignore_ascii_case(needle))
        {
            return Some(at);
        }
        i = at + 1;
    }
    None
}
