//! HTML attachments: smuggling (an encoded payload assembled by script or offered as a `data:`
//! download), auto-redirects, scripts, credential forms, and the link checks.

use crate::blob::{self, Source};
use crate::findings;
use crate::links::{self, Collector};
use crate::url;
use fumidai_core::{FileInput, FileReport, Scan};

/// Payloads handed on per HTML file.
const MAX_BLOBS: usize = 8;
/// Encoded characters above which a blob counts without a recognisable payload type.
const BIG_BLOB: usize = 4096;

/// Script calls that assemble or save a file in the browser.
const SMUGGLING_APIS: &[&str] = &[
    "atob(",
    "new Blob",
    "Blob([",
    "msSaveOrOpenBlob",
    "msSaveBlob",
    "createObjectURL",
    ".download",
    "saveAs(",
    "base64ToArrayBuffer",
    "Uint8Array",
    "fromCharCode",
    "application/octet-stream",
];

/// Script that sends the browser elsewhere.
const REDIRECT_CALLS: &[&str] = &[
    "location.href",
    "location.replace",
    "location.assign",
    "window.location",
    "document.location",
    "top.location",
    "self.location",
];

/// Inspects an HTML attachment; see the crate documentation for what is checked.
pub fn inspect_html(scan: &mut Scan<'_>, input: &FileInput<'_>, report: &mut FileReport) {
    let html = String::from_utf8_lossy(input.data);
    let part = input.part.as_str();
    let mut links = Collector::default();
    let facts = links::check_html(&mut links, &html);

    if facts.scripts > 0 || facts.event_handlers > 0 {
        scan.add(
            &findings::HTML_SCRIPT,
            part,
            format!(
                "{} script element(s), {} event handler attribute(s)",
                facts.scripts, facts.event_handlers
            ),
        );
    }
    if facts.password_inputs > 0 {
        scan.add(
            &findings::HTML_CREDENTIAL_FORM,
            part,
            format!("{} password field(s)", facts.password_inputs),
        );
    }

    let mut redirects: Vec<String> = facts.refresh_targets.clone();
    redirects.extend(script_redirects(&html));
    if let Some(first) = redirects.first() {
        let short: String = first.chars().take(120).collect();
        let more = if redirects.len() > 1 {
            format!(" (+{} more)", redirects.len() - 1)
        } else {
            String::new()
        };
        scan.add(
            &findings::HTML_AUTO_REDIRECT,
            part,
            format!("sends the browser to {short}{more}"),
        );
        for r in &redirects {
            links.check(r, None, links::Role::Refresh);
        }
    }

    smuggling(scan, input, report, &html, &facts.download_names);
    links.flush(scan, part);
}

/// Targets of `location.href = "https://..."` and the like.
fn script_redirects(html: &str) -> Vec<String> {
    let b = html.as_bytes();
    let mut out = Vec::new();
    for call in REDIRECT_CALLS {
        for p in memchr::memmem::find_iter(b, call.as_bytes()) {
            if out.len() >= 16 {
                return out;
            }
            let after = p + call.len();
            let window = html
                .get(after..(after + 160).min(html.len()))
                .or_else(|| html.get(after..))
                .unwrap_or("");
            if let Some(lit) = first_literal(window) {
                if url::parse(lit).is_some_and(|u| u.scheme.starts_with("http"))
                    && !out.iter().any(|o: &String| o == lit)
                {
                    out.push(lit.to_owned());
                }
            }
        }
    }
    out
}

/// The first string literal in `s` when only an assignment or call opening precedes it.
fn first_literal(s: &str) -> Option<&str> {
    let start = s.find(['"', '\'', '`'])?;
    let prefix = s.get(..start)?;
    if !prefix
        .chars()
        .all(|c| c.is_whitespace() || matches!(c, '=' | '(' | ',' | ':'))
    {
        return None;
    }
    let q = s.get(start..)?.chars().next()?;
    let rest = s.get(start + 1..)?;
    let end = rest.find(q)?;
    rest.get(..end)
}

/// File names the script gives to what it saves (`a.download = "x.zip"`, `msSaveOrOpenBlob(b, "x.zip")`).
fn script_download_names(html: &str) -> Vec<String> {
    let b = html.as_bytes();
    let mut out = Vec::new();
    for call in [".download", "msSaveOrOpenBlob(", "msSaveBlob(", "saveAs("] {
        for p in memchr::memmem::find_iter(b, call.as_bytes()) {
            let after = p + call.len();
            let window = html.get(after..(after + 200).min(html.len())).unwrap_or("");
            // For calls the name is the second argument: skip to the first comma.
            let window = if call.ends_with('(') {
                window.split_once(',').map_or("", |(_, r)| r)
            } else {
                window
            };
            if let Some(name) = first_literal(window) {
                let name: String = name.chars().take(200).collect();
                if !name.is_empty() && !out.contains(&name) && out.len() < 16 {
                    out.push(name);
                }
            }
        }
    }
    out
}

fn smuggling(
    scan: &mut Scan<'_>,
    input: &FileInput<'_>,
    report: &mut FileReport,
    html: &str,
    download_attrs: &[String],
) {
    let part = input.part.as_str();
    let apis: Vec<&str> = SMUGGLING_APIS
        .iter()
        .copied()
        .filter(|a| html.contains(a))
        .collect();
    let cap = usize::try_from(scan.limits().max_file_bytes).unwrap_or(usize::MAX);
    let blobs = blob::find_blobs(html.as_bytes(), cap, MAX_BLOBS, BIG_BLOB);
    // A blob is smuggled when script can save it, or when a data: URL offers it for download.
    let delivered: Vec<&blob::Blob> = blobs
        .iter()
        .filter(|b| {
            let magic = blob::payload_magic(&b.bytes).is_some();
            (!apis.is_empty() && (magic || b.encoded_len >= BIG_BLOB))
                || (b.source == Source::DataUrl && (magic || !download_attrs.is_empty()))
        })
        .collect();
    if delivered.is_empty() {
        return;
    }
    let mut names: Vec<String> = download_attrs
        .iter()
        .filter(|n| !n.trim().is_empty())
        .cloned()
        .collect();
    names.extend(script_download_names(html));
    let kinds: Vec<String> = delivered
        .iter()
        .map(|b| {
            let what = blob::payload_magic(&b.bytes).unwrap_or("data");
            let how = match b.source {
                Source::Base64 => "base64",
                Source::Hex => "hex",
                Source::CharCodes => "char codes",
                Source::DataUrl => "data: URL",
            };
            format!("{what} ({} bytes, {how})", b.bytes.len())
        })
        .collect();
    let api_note = if apis.is_empty() {
        String::new()
    } else {
        format!("; script uses {}", apis.join(", "))
    };
    let name_note = names
        .first()
        .map(|n| format!("; saved as '{n}'"))
        .unwrap_or_default();
    scan.add(
        &findings::HTML_SMUGGLING,
        part,
        format!("embedded {}{api_note}{name_note}", kinds.join(", ")),
    );

    for (i, b) in delivered.into_iter().enumerate() {
        if scan.exhausted()
            || !scan.charge_entry(part)
            || !scan.charge_inflated(part, b.bytes.len() as u64)
        {
            break;
        }
        let name = match names.get(i) {
            Some(n) => n.clone(),
            None if i == 0 => "smuggled".to_owned(),
            None => format!("smuggled-{}", i + 1),
        };
        let child = scan.inspect_child(part, &name, &b.bytes);
        report.children.push(child);
    }
}
