//! Charset labels to decoders. Japanese mail uses labels that mail-parser and the WHATWG list do not
//! know (CP932, ISO-2022-JP-2, Shift_JIS-2004 ...): they are mapped to the nearest encoding_rs decoder here.

use encoding_rs::{Encoding, EUC_JP, ISO_2022_JP, SHIFT_JIS, UTF_8, WINDOWS_1252};
use std::borrow::Cow;

/// The decoder for a charset label, aliases included; `None` when the label is unknown.
pub fn encoding_for_label(label: &str) -> Option<&'static Encoding> {
    let l = label.trim().trim_matches(|c| c == '"' || c == '\'').trim();
    let lower = l.to_ascii_lowercase();
    let norm: String = lower
        .chars()
        .filter(|c| *c != '-' && *c != '_' && *c != ' ')
        .collect();
    let mapped = match norm.as_str() {
        "cp932" | "ms932" | "windows31j" | "xsjis" | "sjis" | "shiftjis" | "shiftjis2004"
        | "shiftjisx0213" | "sjisopen" | "sjiswin" | "xmscp932" | "mskanji" | "csshiftjis"
        | "ibm943" | "cp943" | "xsjisopen" | "xsjiswin" | "shiftjisms" | "windows932"
        | "ibm932" => Some(SHIFT_JIS),
        "iso2022jp" | "iso2022jp1" | "iso2022jp2" | "iso2022jp3" | "iso2022jp2004"
        | "csiso2022jp" | "csiso2022jp2" | "iso2022jpms" | "cp50220" | "cp50221" | "cp50222"
        | "xwindowsiso2022jp" | "jis" | "jis7" => Some(ISO_2022_JP),
        "eucjp"
        | "xeucjp"
        | "eucjpms"
        | "eucjpwin"
        | "eucjis2004"
        | "eucjisx0213"
        | "cseucpkdfmtjapanese"
        | "cp51932"
        | "cp20932"
        | "ujis" => Some(EUC_JP),
        "utf8" | "unicode11utf8" | "xunicode20utf8" | "unicode20utf8" => Some(UTF_8),
        "usascii" | "ascii" | "ansix3.41968" | "iso646us" | "us" => Some(WINDOWS_1252),
        _ => None,
    };
    mapped.or_else(|| Encoding::for_label(l.as_bytes()))
}

/// Whether the bytes look like ISO-2022-JP (escape into JIS X 0208 / 0212).
fn has_jis_escape(bytes: &[u8]) -> bool {
    memchr::memmem::find(bytes, b"\x1b$B").is_some()
        || memchr::memmem::find(bytes, b"\x1b$@").is_some()
        || memchr::memmem::find(bytes, b"\x1b(J").is_some()
        || memchr::memmem::find(bytes, b"\x1b$(D").is_some()
}

/// Decodes with the labelled charset when known, else guesses (UTF-8, ISO-2022-JP, Shift_JIS, EUC-JP,
/// windows-1252). Mislabelled ISO-2022-JP (labelled us-ascii, or unlabelled) is caught by its escapes.
pub fn decode<'a>(label: Option<&str>, bytes: &'a [u8]) -> Cow<'a, str> {
    let enc = label.and_then(encoding_for_label);
    let ascii_like = match enc {
        None => true,
        Some(e) => e == WINDOWS_1252 || e == UTF_8,
    };
    if ascii_like && bytes.contains(&0x1b) && has_jis_escape(bytes) {
        return ISO_2022_JP.decode_without_bom_handling(bytes).0;
    }
    match enc {
        Some(e) if e == UTF_8 => String::from_utf8_lossy(bytes),
        Some(e) if e == WINDOWS_1252 => {
            // us-ascii labels on 8-bit Japanese text are common; only guess when the bytes are not ASCII.
            if bytes.is_ascii() {
                String::from_utf8_lossy(bytes)
            } else {
                guess(bytes)
            }
        }
        // ISO-2022-JP is 7-bit: 8-bit bytes under that label are mislabelled EUC-JP or Shift_JIS.
        Some(e) if e == ISO_2022_JP && !bytes.is_ascii() => guess(bytes),
        Some(e) => e.decode_without_bom_handling(bytes).0,
        None => guess(bytes),
    }
}

/// Decodes bytes of unknown charset. ISO-2022-JP is tried first: it is 7-bit, so it is valid UTF-8 too, and
/// taken for UTF-8 it would keep its escapes (raw JIS header values are common in older Japanese mail).
pub fn guess(bytes: &[u8]) -> Cow<'_, str> {
    if bytes.contains(&0x1b) && has_jis_escape(bytes) {
        return ISO_2022_JP.decode_without_bom_handling(bytes).0;
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Cow::Borrowed(s);
    }
    // Shift_JIS lead bytes 0x81-0x9F never occur in EUC-JP; without them EUC-JP is the better first guess.
    let order = if bytes.iter().any(|b| (0x80..=0xa0).contains(b)) {
        [SHIFT_JIS, EUC_JP]
    } else {
        [EUC_JP, SHIFT_JIS]
    };
    for enc in order {
        if let Some(s) = enc.decode_without_bom_handling_and_without_replacement(bytes) {
            return s;
        }
    }
    WINDOWS_1252.decode_without_bom_handling(bytes).0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_iso_2022_jp_is_decoded_though_it_is_valid_utf8() {
        let (jis, _, _) = ISO_2022_JP.encode("請求書の件");
        assert!(std::str::from_utf8(&jis).is_ok());
        assert_eq!(guess(&jis), "請求書の件");
        assert_eq!(guess("請求書 plain UTF-8".as_bytes()), "請求書 plain UTF-8");
    }

    #[test]
    fn japanese_aliases_map() {
        for l in [
            "CP932",
            "Windows-31J",
            "x-sjis",
            "Shift-JIS",
            "shift_jis",
            "MS932",
            "SJIS",
        ] {
            assert_eq!(encoding_for_label(l), Some(SHIFT_JIS), "{l}");
        }
        for l in [
            "ISO-2022-JP-2",
            "iso-2022-jp",
            "ISO-2022-JP-1",
            "csISO2022JP",
        ] {
            assert_eq!(encoding_for_label(l), Some(ISO_2022_JP), "{l}");
        }
        assert_eq!(encoding_for_label("EUC-JP"), Some(EUC_JP));
        assert_eq!(encoding_for_label("no-such-charset"), None);
    }

    #[test]
    fn unlabelled_jis_is_detected() {
        let (bytes, _, _) = ISO_2022_JP.encode("請求書");
        assert_eq!(decode(Some("us-ascii"), &bytes), "請求書");
        assert_eq!(decode(None, &bytes), "請求書");
        let (sjis, _, _) = SHIFT_JIS.encode("パスワード");
        assert_eq!(decode(None, &sjis), "パスワード");
        let (euc, _, _) = EUC_JP.encode("パスワード");
        assert_eq!(decode(Some("iso-2022-jp"), &euc), "パスワード");
    }
}
