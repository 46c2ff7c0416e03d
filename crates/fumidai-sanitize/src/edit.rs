//! Editing a message's header block without touching the rest: fields removed by name, fields
//! appended, optionally a new body. Unedited fields keep their bytes (RFC 2047 words, folding and
//! all), and the result keeps the original's line ending, so an LF-only file stays LF-only.

use fumidai_mime::header;

/// The original with every field named in `remove` (case-insensitive, with its continuation lines)
/// left out, the `add` fields appended to the header block, and `body` (CRLF line endings) in place
/// of the original body when given. Values in `add` may be folded with `\r\n `. Field names are
/// read as fumidai-mime reads them (`Content-Type (x):` is a Content-Type), so what the parser saw
/// is what goes.
pub fn edit_message<S: AsRef<str>>(
    original: &[u8],
    remove: &[S],
    add: &[(String, String)],
    body: Option<&[u8]>,
) -> Vec<u8> {
    let lf_only = match memchr::memchr(b'\n', original) {
        Some(i) => i == 0 || original.get(i - 1) != Some(&b'\r'),
        None => false,
    };
    let eol: &[u8] = if lf_only { b"\n" } else { b"\r\n" };
    let (fields, old_body) = header::split(original);
    let header_end = offset_in(original, old_body).min(original.len());
    let block = original.get(..header_end).unwrap_or_default();
    let mut out = Vec::with_capacity(block.len() + body.map_or(old_body.len(), <[u8]>::len) + 256);
    let mut at = 0usize;
    for f in fields.iter().filter(|f| {
        remove
            .iter()
            .any(|r| r.as_ref().eq_ignore_ascii_case(&f.name))
    }) {
        let value_start = offset_in(original, f.value);
        let line_start = block
            .get(..value_start)
            .and_then(|b| memchr::memrchr(b'\n', b))
            .map_or(0, |i| i + 1);
        out.extend_from_slice(block.get(at..line_start).unwrap_or_default());
        let value_end = value_start + f.value.len();
        let field_end = if f.value.ends_with(b"\n") {
            value_end
        } else {
            skip_line_end(block, value_end)
        };
        at = field_end.max(at);
    }
    out.extend_from_slice(block.get(at..).unwrap_or_default());
    // The blank line that ended the block goes; it is written again after the added fields.
    for end in [&b"\r\n"[..], b"\n"] {
        if out.ends_with(end)
            && (out.len() == end.len() || out[..out.len() - end.len()].ends_with(b"\n"))
        {
            out.truncate(out.len() - end.len());
            break;
        }
    }
    if !out.is_empty() && !out.ends_with(b"\n") {
        out.extend_from_slice(eol);
    }
    for (name, value) in add {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        push_with_eol(&mut out, value.as_bytes(), lf_only);
        out.extend_from_slice(eol);
    }
    out.extend_from_slice(eol);
    match body {
        Some(b) => push_with_eol(&mut out, b, lf_only),
        None => out.extend_from_slice(old_body),
    }
    out
}

/// The position after the line ending at or after `i`.
fn skip_line_end(block: &[u8], i: usize) -> usize {
    match block.get(i..).and_then(|rest| memchr::memchr(b'\n', rest)) {
        Some(nl) => i + nl + 1,
        None => block.len(),
    }
}

/// Where `part` (a sub-slice of `whole`) starts in it; `whole.len()` for a slice from elsewhere.
fn offset_in(whole: &[u8], part: &[u8]) -> usize {
    let off = (part.as_ptr() as usize).wrapping_sub(whole.as_ptr() as usize);
    off.min(whole.len())
}

/// Appends `text`, turning CRLF into LF when the message is LF-only.
fn push_with_eol(out: &mut Vec<u8>, text: &[u8], lf_only: bool) {
    if !lf_only {
        out.extend_from_slice(text);
        return;
    }
    let mut start = 0;
    for i in memchr::memmem::find_iter(text, b"\r\n") {
        out.extend_from_slice(&text[start..i]);
        out.push(b'\n');
        start = i + 2;
    }
    out.extend_from_slice(&text[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_folded_fields_appends_new_ones_and_keeps_the_rest_byte_identical() {
        let msg = b"Subject: =?ISO-2022-JP?B?GyRCJDMkcyRLJEEkTxsoQg==?=\r\nX-Fumidai-Verdict: clean\r\n  forged\r\nFrom: a@example.jp\r\n\r\nbody\r\n";
        let out = edit_message(
            msg,
            &["x-fumidai-verdict"],
            &[(
                "X-Fumidai-Verdict".to_owned(),
                "suspicious\r\n (score 7.0)".to_owned(),
            )],
            None,
        );
        assert_eq!(
            out,
            b"Subject: =?ISO-2022-JP?B?GyRCJDMkcyRLJEEkTxsoQg==?=\r\nFrom: a@example.jp\r\nX-Fumidai-Verdict: suspicious\r\n (score 7.0)\r\n\r\nbody\r\n"
        );
    }

    #[test]
    fn lf_only_messages_stay_lf_only_with_a_new_body() {
        let msg = b"From: a@example.jp\nSubject: hi\n\nold\n";
        let out = edit_message::<&str>(
            msg,
            &[],
            &[("X-A".to_owned(), "1\r\n 2".to_owned())],
            Some(b"new\r\nbody\r\n"),
        );
        assert_eq!(
            out,
            b"From: a@example.jp\nSubject: hi\nX-A: 1\n 2\n\nnew\nbody\n"
        );
    }

    #[test]
    fn headers_only_and_empty_input_do_not_panic() {
        assert_eq!(edit_message::<&str>(b"", &[], &[], None), b"\r\n");
        let out = edit_message::<&str>(
            b"From: a@example.jp",
            &[],
            &[("X".into(), "1".into())],
            None,
        );
        assert_eq!(out, b"From: a@example.jp\r\nX: 1\r\n\r\n");
    }
}
