//! Hostile input ends with a finding, in bounded time and memory, never with a crash.

mod common;
use common::{engine, ids, mail_with_attachment};
use fumidai_engine::Envelope;
use std::io::Write;

fn nested_multipart(levels: usize) -> Vec<u8> {
    let mut m = String::from("From: a@example.net\r\nSubject: nest\r\nMIME-Version: 1.0\r\n");
    for i in 0..levels {
        m.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n"
        ));
    }
    m.push_str("Content-Type: text/plain\r\n\r\nhello\r\n");
    for i in (0..levels).rev() {
        m.push_str(&format!("--b{i}--\r\n"));
    }
    m.into_bytes()
}

fn nested_rfc822(levels: usize) -> Vec<u8> {
    let mut m = String::new();
    for _ in 0..levels {
        m.push_str("From: a@example.net\r\nSubject: fwd\r\nMIME-Version: 1.0\r\nContent-Type: message/rfc822\r\n\r\n");
    }
    m.push_str("From: a@example.net\r\nSubject: inner\r\n\r\nhello\r\n");
    m.into_bytes()
}

#[test]
fn thousand_level_mime_nesting_ends_with_a_finding() {
    let engine = engine();
    for (what, raw) in [
        ("multipart", nested_multipart(1000)),
        ("message/rfc822", nested_rfc822(1000)),
    ] {
        let r = engine
            .scan(&raw, &Envelope::default())
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let found = ids(&r);
        assert!(
            found
                .iter()
                .any(|id| id.contains("NESTING") || id.contains("LIMIT")),
            "{what}: no nesting/limit finding in {found:?}"
        );
    }
}

/// A 42.zip-style bomb: `levels` of ZIPs, each holding `fanout` copies of the level below; the bottom
/// entries are `leaf_mb` MB of zeros. Built small (deflate of zeros is ~1000:1).
fn zip_bomb(levels: u32, fanout: u32, leaf_mb: usize) -> Vec<u8> {
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut leaf = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    leaf.start_file("0.bin", options).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..leaf_mb {
        leaf.write_all(&zeros).unwrap();
    }
    let mut level = leaf.finish().unwrap().into_inner();
    for l in 0..levels {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for i in 0..fanout {
            w.start_file(format!("{l}-{i}.zip"), options).unwrap();
            w.write_all(&level).unwrap();
        }
        level = w.finish().unwrap().into_inner();
    }
    level
}

#[test]
fn nested_zip_bomb_stops_at_the_budget() {
    // 16^3 leaves of 64 MB: 256 GB if inflated; the default 2 GiB budget stops it.
    let bomb = zip_bomb(3, 16, 64);
    assert!(bomb.len() < 2 << 20, "bomb is {} bytes", bomb.len());
    let mail = mail_with_attachment("bomb", "see attached", "42.zip", &bomb);
    let r = engine().scan(&mail, &Envelope::default()).unwrap();
    let found = ids(&r);
    assert!(
        found.contains(&"ARCHIVE_BOMB") || found.contains(&"SCAN_LIMIT_REACHED"),
        "no bomb finding in {found:?}"
    );
}

#[test]
fn garbage_with_every_magic_is_inspected_without_error() {
    let engine = engine();
    let magics: &[&[u8]] = &[
        b"PK\x03\x04",
        b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1",
        b"%PDF-1.7",
        b"{\\rtf1",
        b"MZ",
        b"\x7FELF",
        b"Rar!\x1A\x07\x00",
        b"7z\xBC\xAF\x27\x1C",
        b"\x1F\x8B\x08",
        b"L\x00\x00\x00\x01\x14\x02\x00",
        b"\xE4\x52\x5C\x7B\x8C\xD8\xA7\x4D",
        b"ID;P",
        b"<html><script>",
    ];
    for magic in magics {
        let mut data = magic.to_vec();
        data.extend((0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8));
        engine
            .scan_file("x", &data)
            .unwrap_or_else(|e| panic!("{magic:?}: {e}"));
    }
}
