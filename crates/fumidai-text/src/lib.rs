//! Text-level checks: links in bodies and documents, ZIP passwords written in the body, and HTML
//! attachments that smuggle a file.
//!
//! - [`harvest_passwords`]: "パスワード：abc123", "PW: ...", "the password is \"...\"" and the like,
//!   on the same or the next line, full-width forms folded. Only printable-ASCII candidates are kept.
//! - [`check_body_links`] / [`check_url`]: URLs from plain text and HTML (`a`, `area`, `form`, `img`,
//!   `iframe`, meta refresh) checked offline: visible text against target (registrable domains from the
//!   public suffix list), IP hosts in every browser-accepted form, punycode, mixed-script and
//!   confusable labels (UTS 39), userinfo before the host, risky file downloads, external forms.
//! - [`inspect_html`]: HTML attachments: smuggled payloads (base64, hex, char-code arrays, `data:`
//!   URLs) decoded and handed to the dispatcher, auto-redirects, scripts, password forms.
//! - [`html_to_text`]: plain text of an HTML body for the password and reply-chain checks.
//!
//! Limits: HTML is read with a small forgiving tokenizer (no DOM, no CSS, no script execution), so
//! payloads built by obfuscated script (reversed, XORed, fetched) are not decoded; only `"a" + "b"`
//! string concatenation is followed. Bare host names in text ("example.com" without www.) are not
//! links. Non-UTF-8 HTML attachments are read lossily.

mod attachment;
pub mod blob;
pub mod html;
pub mod links;
mod password;
pub mod url;

use fumidai_core::{FileInput, FileReport, Scan};

pub use html::html_to_text;
pub use links::text_urls;

pub mod findings {
    fumidai_core::findings! {
        LINK_TEXT_MISMATCH = 3.0, "A link's visible text names another domain than the one it goes to.";
        LINK_IP_HOST = 3.0, "A link goes to a bare IP address (dotted, or a decimal, hex or octal integer form).";
        LINK_EXECUTABLE_DOWNLOAD = 5.0, "A link downloads a file that runs code when opened (.exe, .js, .lnk, .iso, .one ...).";
        LINK_RISKY_DOWNLOAD = 2.0, "A link downloads an archive or macro-capable document (.zip, .rar, .docm, .xlsm ...).";
        LINK_PUNYCODE = 1.0, "A link's host is an internationalised (punycode xn--) name.";
        LINK_CONFUSABLE_HOST = 5.0, "A link's host mixes scripts or imitates an ASCII name with look-alike letters.";
        LINK_USERINFO = 4.0, "A link puts a name and '@' before the real host (https://bank.example@evil.example/).";
        LINK_HTML_FORM = 3.0, "An HTML form posts what the reader types to a web address.";
        HTML_SMUGGLING = 8.0, "An HTML file carries an encoded file that its script or a data: link saves to disk.";
        HTML_AUTO_REDIRECT = 4.0, "An HTML attachment sends the browser to a web address on opening.";
        HTML_SCRIPT = 1.0, "An HTML attachment contains script.";
        HTML_CREDENTIAL_FORM = 4.0, "An HTML attachment asks for a password.";
    }
}
pub use findings::ALL as FINDINGS;

/// Candidate passwords written in a message body ("パスワード: abc123", "PW: ...", "password is ...").
/// In order of appearance, deduplicated, at most 16, each 1-64 characters.
pub fn harvest_passwords(text: &str) -> Vec<String> {
    password::harvest_passwords(text)
}

/// What the link checks saw in a body or document.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkSummary {
    pub links: usize,
    /// Any link raised a finding (IP host, download of a risky file type, mismatch, look-alike host).
    pub risky: usize,
}

/// Checks every link in a message body: plain text and HTML (anchor text against href).
/// Each finding id is recorded at most once per call, with a count of further hits.
pub fn check_body_links(scan: &mut Scan<'_>, part: &str, text: &str, html: &str) -> LinkSummary {
    body_links(text, html).flush(scan, part)
}

/// The links of a body checked as [`check_body_links`] does, before their findings are recorded: a caller that
/// matches the URLs against lists (threat feeds) reads [`links::Collector::urls`], then flushes.
pub fn body_links(text: &str, html: &str) -> links::Collector {
    let mut c = links::Collector::default();
    links::check_text(&mut c, text);
    if !html.is_empty() {
        links::check_html(&mut c, html);
    }
    c
}

/// Checks one URL found elsewhere (a PDF, an Office relationship); `anchor` is the visible text if any.
/// Returns whether it raised a finding.
pub fn check_url(scan: &mut Scan<'_>, part: &str, url: &str, anchor: Option<&str>) -> bool {
    let mut c = links::Collector::default();
    let risky = c.check(url, anchor, links::Role::Link);
    c.flush(scan, part);
    risky
}

/// An HTML attachment: smuggling (large base64 blob assembled by script), links, auto-redirects.
pub fn inspect_html(scan: &mut Scan<'_>, input: &FileInput<'_>, report: &mut FileReport) {
    attachment::inspect_html(scan, input, report);
}
