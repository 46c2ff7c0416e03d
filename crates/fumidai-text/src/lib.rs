//! Text-level checks: links in bodies and documents, ZIP passwords written in the body, and HTML
//! attachments that smuggle a file.

use fumidai_core::{FileInput, FileReport, Scan};

pub mod findings {
    fumidai_core::findings! {
        LINK_TEXT_MISMATCH = 2.0, "A link's visible text names another domain than the one it goes to.";
    }
}
pub use findings::ALL as FINDINGS;

/// Candidate passwords written in a message body ("パスワード: abc123", "PW: ...", "password is ...").
pub fn harvest_passwords(text: &str) -> Vec<String> {
    let _ = text;
    Vec::new()
}

/// What the link checks saw in a body or document.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkSummary {
    pub links: usize,
    /// Any link raised a finding (IP host, download of a risky file type, mismatch, look-alike host).
    pub risky: usize,
}

/// Checks every link in a message body: plain text and HTML (anchor text against href).
pub fn check_body_links(scan: &mut Scan<'_>, part: &str, text: &str, html: &str) -> LinkSummary {
    let _ = (scan, part, text, html);
    LinkSummary::default()
}

/// Checks one URL found elsewhere (a PDF, an Office relationship); `anchor` is the visible text if any.
/// Returns whether it raised a finding.
pub fn check_url(scan: &mut Scan<'_>, part: &str, url: &str, anchor: Option<&str>) -> bool {
    let _ = (scan, part, url, anchor);
    false
}

/// An HTML attachment: smuggling (large base64 blob assembled by script), links, auto-redirects.
pub fn inspect_html(scan: &mut Scan<'_>, input: &FileInput<'_>, report: &mut FileReport) {
    let _ = (scan, input, report);
}
