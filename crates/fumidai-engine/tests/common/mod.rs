//! Helpers shared by the engine's integration tests.
#![allow(dead_code)] // each test binary uses its own subset

use fumidai_engine::{Config, Engine, Envelope, MessageReport};
use std::path::{Path, PathBuf};

pub fn corpus(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/corpus")
        .join(rel)
}

pub fn engine() -> Engine {
    Engine::new(Config::default()).unwrap()
}

pub fn scan_mail(rel: &str) -> MessageReport {
    let raw = std::fs::read(corpus(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    engine()
        .scan(&raw, &Envelope::default())
        .unwrap_or_else(|e| panic!("{rel}: {e}"))
}

pub fn ids(r: &MessageReport) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = r.findings.iter().map(|f| f.id).collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// A MIME message with `text` as body and one base64 attachment.
pub fn mail_with_attachment(subject: &str, text: &str, name: &str, data: &[u8]) -> Vec<u8> {
    let mut m = format!(
        "From: Sender <sender@example.net>\r\nTo: user@example.jp\r\nSubject: {subject}\r\nMessage-ID: <t@example.net>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"{name}\"\r\n\r\n"
    )
    .into_bytes();
    let b64 = base64_encode(data);
    for line in b64.as_bytes().chunks(76) {
        m.extend_from_slice(line);
        m.extend_from_slice(b"\r\n");
    }
    m.extend_from_slice(b"--b1--\r\n");
    m
}

fn base64_encode(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= c.len() {
                out.push(T[(n >> shift & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
