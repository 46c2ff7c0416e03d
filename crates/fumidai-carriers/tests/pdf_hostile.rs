//! Hostile PDFs that made the byte scanner quadratic (found while fuzzing: each ran > 20 s on 1 MB).
//! Built here; each must finish quickly and still report what matters.
mod common;
use common::*;
use std::time::{Duration, Instant};

/// Generous for an unoptimised test build; the quadratic scanner took minutes on these.
const SLOW: Duration = Duration::from_secs(20);

fn timed(data: &[u8]) -> Vec<fumidai_core::Finding> {
    let t = Instant::now();
    let (_, f) = run(fumidai_carriers::inspect_pdf, "h.pdf", data);
    assert!(t.elapsed() < SLOW, "took {:?}", t.elapsed());
    f
}

fn wrap(body: &[u8], tail: &[u8]) -> Vec<u8> {
    let mut d = b"%PDF-1.4\n".to_vec();
    d.extend_from_slice(body);
    d.extend_from_slice(tail);
    d.extend_from_slice(b"\n%%EOF\n");
    d
}

#[test]
fn unterminated_literal_strings_are_linear() {
    // Every "/F(" opened a string that ran (nested) to the end of the file.
    let d = wrap(&b"/F(".repeat(300_000), b")))/Launch /F (calc.exe)");
    let f = timed(&d);
    assert!(detail(&f, "PDF_LAUNCH").contains("/Launch"), "{f:?}");
    assert!(
        detail(&f, "PDF_MALFORMED").contains("unterminated strings"),
        "{f:?}"
    );
}

#[test]
fn unterminated_hex_strings_are_linear() {
    let d = wrap(&b"/URI<".repeat(200_000), b"");
    let f = timed(&d);
    assert!(
        detail(&f, "PDF_MALFORMED").contains("unterminated strings"),
        "{f:?}"
    );
}

#[test]
fn many_embedded_file_references_are_linear() {
    // Each /EF reference searched the whole file before it for "endobj" and every filespec name.
    let d = wrap(&b"/EF/F 1 0 R /F(a)".repeat(60_000), b"");
    let f = timed(&d);
    assert_eq!(
        count(&f, "PDF_EMBEDDED_FILE"),
        0,
        "no stream 1 0 obj: {f:?}"
    );
}

#[test]
fn honest_strings_are_still_read_whole() {
    // A long terminated URI well past the old cost still decodes (cut at the 4096-byte string limit).
    let uri = format!("http://example.com/{}", "a".repeat(10_000));
    let d = wrap(format!("1 0 obj << /URI ({uri}) >> endobj").as_bytes(), b"");
    let (_, f) = run(fumidai_carriers::inspect_pdf, "u.pdf", &d);
    assert_eq!(count(&f, "PDF_MALFORMED"), 0, "{f:?}");
}
