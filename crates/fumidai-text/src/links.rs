//! Link extraction (plain text and HTML) and the per-link checks: visible text against target,
//! IP hosts, punycode and look-alike hosts, userinfo tricks, risky downloads, external forms.
//!
//! Each finding is recorded at most once per call (per body or document), with the first evidence
//! and a count, so a newsletter with fifty tracking links does not add fifty scores.

use crate::findings;
use crate::html::{decode_entities, Token, Tokenizer};
use crate::url::{self, IpForm};
use crate::LinkSummary;
use fumidai_core::{FindingDef, Scan};
use std::collections::HashSet;

/// Links checked per call; the rest are counted but not checked.
const MAX_LINKS: usize = 2_000;
/// Characters of anchor text kept.
const MAX_ANCHOR: usize = 512;

/// Extensions that run code when the downloaded file is opened.
const EXECUTABLE_EXT: &[&str] = &[
    "exe",
    "scr",
    "com",
    "pif",
    "cpl",
    "msi",
    "msp",
    "js",
    "jse",
    "vbs",
    "vbe",
    "wsf",
    "wsh",
    "hta",
    "lnk",
    "bat",
    "cmd",
    "ps1",
    "psm1",
    "jar",
    "iso",
    "img",
    "vhd",
    "vhdx",
    "one",
    "onepkg",
    "appx",
    "msix",
    "appinstaller",
    "application",
    "reg",
    "dll",
    "xll",
    "url",
    "library-ms",
    "search-ms",
    "settingcontent-ms",
    "sct",
    "chm",
    "apk",
    "dmg",
    "pkg",
];

/// Extensions of archives and macro-capable documents: often the first stage, often legitimate too.
/// Web pages (.html, .htm, .shtml) are what links normally point at, so they are not listed.
const RISKY_EXT: &[&str] = &[
    "zip", "rar", "7z", "gz", "tgz", "tar", "cab", "lzh", "ace", "arj", "z", "xz", "bz2", "doc",
    "docm", "dot", "dotm", "xls", "xlsm", "xlsb", "xlm", "xlam", "xla", "ppt", "pptm", "ppsm",
    "potm", "rtf", "slk", "iqy", "svg", "mht",
];

/// Where a URL was found: decides which checks apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A clickable link (text URL, `<a href>`, `<area href>`, a document hyperlink).
    Link,
    /// An image source: host checks only.
    Image,
    /// A `<form action>`.
    Form,
    /// A `<meta http-equiv=refresh>` target.
    Refresh,
}

/// Findings gathered over one call, flushed once at the end.
#[derive(Default)]
pub struct Collector {
    hits: Vec<(&'static FindingDef, String, usize)>,
    seen: HashSet<(String, String)>,
    urls: HashSet<String>,
    pub summary: LinkSummary,
}

impl Collector {
    fn hit(&mut self, def: &'static FindingDef, detail: String) {
        match self.hits.iter_mut().find(|(d, _, _)| d.id == def.id) {
            Some((_, _, n)) => *n = n.saturating_add(1),
            None => self.hits.push((def, detail, 1)),
        }
    }

    /// Records the gathered findings on `part`.
    pub fn flush(self, scan: &mut Scan<'_>, part: &str) -> LinkSummary {
        for (def, detail, n) in self.hits {
            let detail = if n > 1 {
                format!("{detail} (+{} more)", n - 1)
            } else {
                detail
            };
            scan.add(def, part, detail);
        }
        self.summary
    }

    /// The distinct URLs seen so far (trimmed, cut at 2,048 characters), in no particular order.
    pub fn urls(&self) -> impl Iterator<Item = &str> {
        self.urls.iter().map(String::as_str)
    }

    /// Whether any finding with this id was gathered.
    pub fn has(&self, def: &FindingDef) -> bool {
        self.hits.iter().any(|(d, _, _)| d.id == def.id)
    }

    /// Checks one URL (with its visible text, if any). Returns whether it raised a finding.
    pub fn check(&mut self, raw: &str, anchor: Option<&str>, role: Role) -> bool {
        let raw = raw.trim();
        if raw.is_empty() {
            return false;
        }
        let anchor = anchor.map(str::trim).filter(|a| !a.is_empty());
        let key = (
            raw.chars().take(2048).collect::<String>(),
            anchor.unwrap_or("").chars().take(MAX_ANCHOR).collect(),
        );
        if self.seen.contains(&key) {
            return false;
        }
        // Counted once per distinct URL (the text and HTML alternatives repeat the same links).
        if self.urls.len() < MAX_LINKS * 4 && self.urls.insert(key.0.clone()) {
            self.summary.links = self.summary.links.saturating_add(1);
        }
        if self.seen.len() >= MAX_LINKS {
            return false;
        }
        self.seen.insert(key);
        let risky = self.check_new(raw, anchor, role);
        if risky {
            self.summary.risky = self.summary.risky.saturating_add(1);
        }
        risky
    }

    fn check_new(&mut self, raw: &str, anchor: Option<&str>, role: Role) -> bool {
        let Some(u) = url::parse(raw) else {
            return false;
        };
        if !matches!(
            u.scheme.as_str(),
            "http" | "https" | "ftp" | "ftps" | "hxxp" | "hxxps"
        ) {
            return false;
        }
        let before = self.hits.iter().map(|h| h.2).sum::<usize>();
        let shown = shorten(raw);

        if let Some(ui) = u.userinfo {
            let why = if ui.contains('@') {
                "several '@'"
            } else if ui.contains('.') {
                "a domain-like name"
            } else {
                "a user name"
            };
            self.hit(
                &findings::LINK_USERINFO,
                format!("{shown}: {why} before the real host {}", u.host),
            );
        }
        match url::ip_form(&u.host) {
            Some(IpForm::Obfuscated) => self.hit(
                &findings::LINK_IP_HOST,
                format!("{shown}: host {} is an obfuscated IP address", u.host),
            ),
            Some(_) => self.hit(
                &findings::LINK_IP_HOST,
                format!("{shown}: host {} is an IP address", u.host),
            ),
            None => {
                let ascii = url::ascii_host(&u.host);
                if ascii.split('.').any(|l| l.starts_with("xn--")) {
                    self.hit(
                        &findings::LINK_PUNYCODE,
                        format!("{shown}: host {ascii} ({})", url::unicode_host(&ascii)),
                    );
                }
                if let Some((label, why)) = url::confusable_label(&ascii) {
                    self.hit(
                        &findings::LINK_CONFUSABLE_HOST,
                        format!("{shown}: label '{label}' {why}"),
                    );
                }
            }
        }
        if matches!(role, Role::Link | Role::Refresh) {
            self.check_download(&shown, u.path);
        }
        if role == Role::Form {
            self.hit(&findings::LINK_HTML_FORM, format!("form posts to {shown}"));
        }
        if let Some(text) = anchor {
            self.check_mismatch(&shown, &u.host, text);
        }
        self.hits.iter().map(|h| h.2).sum::<usize>() > before
    }

    fn check_download(&mut self, shown: &str, path: &str) {
        let last = path.rsplit(['/', '\\']).next().unwrap_or("");
        let last = url::percent_decode(last);
        let Some((_, ext)) = last.rsplit_once('.') else {
            return;
        };
        let ext = ext.trim().to_ascii_lowercase();
        if EXECUTABLE_EXT.contains(&ext.as_str()) {
            self.hit(
                &findings::LINK_EXECUTABLE_DOWNLOAD,
                format!("{shown}: .{ext} file"),
            );
        } else if RISKY_EXT.contains(&ext.as_str()) {
            self.hit(
                &findings::LINK_RISKY_DOWNLOAD,
                format!("{shown}: .{ext} file"),
            );
        }
    }

    fn check_mismatch(&mut self, shown: &str, host: &str, text: &str) {
        let Some(text_host) = host_shown_in(text) else {
            return;
        };
        let a = url::registrable_domain(&text_host);
        let b = url::registrable_domain(host);
        if a != b {
            self.hit(
                &findings::LINK_TEXT_MISMATCH,
                format!("text shows {a}, link goes to {b} ({shown})"),
            );
        }
    }
}

/// The host a link's visible text presents: a URL in it, or the text itself when it is a bare domain.
fn host_shown_in(text: &str) -> Option<String> {
    let text: String = text.chars().take(MAX_ANCHOR).collect();
    if let Some(first) = text_urls(&text).into_iter().next() {
        return url::parse(first).map(|u| u.host);
    }
    // "paypal.com" or "Paypal.com/login", optionally with trailing punctuation.
    let token = text
        .trim()
        .trim_end_matches(['.', ',', ';', ':', '!', '?', '>', ')'])
        .trim_start_matches(['<', '(']);
    if token.is_empty() || token.chars().any(char::is_whitespace) || token.contains('@') {
        return None;
    }
    let host = token
        .split(['/', '?', '#'])
        .next()
        .unwrap_or("")
        .to_lowercase();
    let tld = host.rsplit('.').next().unwrap_or("");
    // .zip and .mov are TLDs, but "invoice.zip" as link text names a file.
    if matches!(tld, "zip" | "mov")
        || !host.contains('.')
        || !host
            .chars()
            .all(|c| c.is_alphanumeric() || c == '.' || c == '-')
    {
        return None;
    }
    url::has_known_suffix(&host).then_some(host)
}

/// A URL cut for details (no raw megabyte URLs in reports).
fn shorten(raw: &str) -> String {
    let mut s: String = raw.chars().filter(|c| !c.is_control()).take(120).collect();
    if raw.chars().count() > 120 {
        s.push('…');
    }
    s
}

/// URLs written in plain text: `scheme://...` for web and ftp schemes, and `www.` hosts.
pub fn text_urls(text: &str) -> Vec<&str> {
    let b = text.as_bytes();
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for colon in memchr::memmem::find_iter(b, b"://") {
        let mut s = colon;
        while s > 0 && b.get(s - 1).is_some_and(|c| c.is_ascii_alphabetic()) && colon - s < 8 {
            s -= 1;
        }
        // Inside the previous URL ("http://x/?u=http://y"): part of it, and skipping keeps this linear.
        if spans.last().is_some_and(|l| s < l.1) {
            continue;
        }
        let scheme = text.get(s..colon).unwrap_or("").to_ascii_lowercase();
        if !matches!(
            scheme.as_str(),
            "http" | "https" | "ftp" | "ftps" | "hxxp" | "hxxps"
        ) {
            continue;
        }
        let e = url_end(b, colon + 3);
        if e > colon + 3 {
            spans.push((s, e));
        }
        if spans.len() >= MAX_LINKS {
            break;
        }
    }
    // `www.` hosts outside the scheme URLs; both lists are in text order, so one cursor walks the spans.
    let mut www = Vec::new();
    let mut cursor = 0;
    let mut last_end = 0;
    for w in memchr::memchr2_iter(b'w', b'W', b) {
        if www.len() + spans.len() >= MAX_LINKS {
            break;
        }
        if w < last_end
            || !b
                .get(w..w + 4)
                .is_some_and(|p| p.eq_ignore_ascii_case(b"www."))
        {
            continue;
        }
        let boundary = w == 0
            || b.get(w - 1).is_some_and(|c| {
                !c.is_ascii_alphanumeric() && !matches!(c, b'/' | b'.' | b'@' | b'-')
            });
        while spans.get(cursor).is_some_and(|(_, e)| *e <= w) {
            cursor += 1;
        }
        let inside = spans.get(cursor).is_some_and(|(s, e)| *s <= w && w < *e);
        if boundary && !inside {
            let e = url_end(b, w + 4);
            last_end = e;
            if e > w + 5 {
                www.push((w, e));
            }
        }
    }
    spans.extend(www);
    spans.sort_unstable();
    spans
        .into_iter()
        .filter_map(|(s, e)| text.get(s..e))
        .collect()
}

/// End of a URL starting at `from`: ASCII printable characters, trailing punctuation dropped.
/// The host may hold non-ASCII letters below the CJK blocks (a Cyrillic look-alike), so Japanese
/// text right after a URL ("https://example.jp/をご確認") is not swallowed.
fn url_end(b: &[u8], from: usize) -> usize {
    // URLs longer than 8 KiB are cut there (and the window keeps this linear over many URLs).
    let window = b.get(from..).unwrap_or(&[]);
    let window = window.get(..window.len().min(8192)).unwrap_or(&[]);
    let text = match std::str::from_utf8(window) {
        Ok(t) => t,
        Err(err) => {
            std::str::from_utf8(window.get(..err.valid_up_to()).unwrap_or(&[])).unwrap_or("")
        }
    };
    let mut e = from;
    let mut in_host = true;
    for c in text.chars() {
        let ok = if c.is_ascii() {
            c.is_ascii_graphic()
                && !matches!(c, '<' | '>' | '"' | '\'' | '`' | '{' | '}' | '|' | '^')
        } else {
            in_host && c.is_alphanumeric() && (c as u32) < 0x2E80
        };
        if !ok {
            break;
        }
        if matches!(c, '/' | '?' | '#') {
            in_host = false;
        }
        e += c.len_utf8();
    }
    loop {
        match b.get(e.wrapping_sub(1)) {
            Some(b'.' | b',' | b';' | b':' | b'!' | b'?' | b'*') if e > from => e -= 1,
            Some(&c @ (b')' | b']')) if e > from => {
                let open = if c == b')' { b'(' } else { b'[' };
                let seg = b.get(from..e).unwrap_or(&[]);
                if seg.iter().filter(|x| **x == open).count()
                    < seg.iter().filter(|x| **x == c).count()
                {
                    e -= 1;
                } else {
                    break;
                }
            }
            _ => break,
        }
    }
    e
}

/// Checks the URLs of a plain-text body.
pub fn check_text(c: &mut Collector, text: &str) {
    for u in text_urls(text) {
        c.check(u, None, Role::Link);
    }
}

/// What an HTML document holds besides its links, for the attachment checks.
#[derive(Debug, Default)]
pub struct HtmlFacts {
    pub scripts: usize,
    pub event_handlers: usize,
    pub password_inputs: usize,
    /// External targets of `<meta http-equiv=refresh>`.
    pub refresh_targets: Vec<String>,
    /// `download` attribute values, in order.
    pub download_names: Vec<String>,
}

/// Checks the links of an HTML document; returns the facts the attachment checks need.
pub fn check_html(c: &mut Collector, html: &str) -> HtmlFacts {
    let mut facts = HtmlFacts::default();
    // The open <a>: its href and the text seen so far.
    let mut open: Option<(String, String)> = None;
    for tok in Tokenizer::new(html) {
        match tok {
            Token::Start(tag) => {
                if tag.attrs.iter().any(|(n, _)| {
                    n.len() > 2 && n.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("on"))
                }) {
                    facts.event_handlers = facts.event_handlers.saturating_add(1);
                }
                if let Some(d) = tag.attr_decoded("download") {
                    if facts.download_names.len() < 16 {
                        facts.download_names.push(d.chars().take(200).collect());
                    }
                }
                if tag.is("a") {
                    if let Some((href, text)) = open.take() {
                        c.check(&href, Some(&text), Role::Link);
                    }
                    if let Some(href) = tag.attr_decoded("href") {
                        open = Some((href.into_owned(), String::new()));
                    }
                } else if tag.is("area") {
                    if let Some(href) = tag.attr_decoded("href") {
                        c.check(&href, tag.attr_decoded("alt").as_deref(), Role::Link);
                    }
                } else if tag.is("iframe") || tag.is("frame") || tag.is("embed") {
                    if let Some(src) = tag.attr_decoded("src") {
                        c.check(&src, None, Role::Link);
                    }
                } else if tag.is("img") {
                    if let Some(src) = tag.attr_decoded("src") {
                        c.check(&src, None, Role::Image);
                    }
                } else if tag.is("form") {
                    if let Some(action) = tag.attr_decoded("action") {
                        c.check(&action, None, Role::Form);
                    }
                } else if tag.is("input") {
                    if tag
                        .attr("type")
                        .is_some_and(|t| t.trim().eq_ignore_ascii_case("password"))
                    {
                        facts.password_inputs = facts.password_inputs.saturating_add(1);
                    }
                } else if tag.is("meta") {
                    let refresh = tag
                        .attr("http-equiv")
                        .is_some_and(|v| v.trim().eq_ignore_ascii_case("refresh"));
                    if let (true, Some(content)) = (refresh, tag.attr_decoded("content")) {
                        if let Some(target) = refresh_target(&content) {
                            c.check(target, None, Role::Refresh);
                            if url::parse(target).is_some() && facts.refresh_targets.len() < 16 {
                                facts.refresh_targets.push(target.to_owned());
                            }
                        }
                    }
                }
            }
            Token::End(name) => {
                if name.eq_ignore_ascii_case("a") {
                    if let Some((href, text)) = open.take() {
                        c.check(&href, Some(&text), Role::Link);
                    }
                }
            }
            Token::Text(t) => match open.as_mut() {
                Some((_, text)) => {
                    if text.len() < MAX_ANCHOR * 4 {
                        text.push_str(&decode_entities(t));
                    }
                }
                None => check_text(c, &decode_entities(t)),
            },
            Token::Raw(name, _) => {
                if name == "script" {
                    facts.scripts = facts.scripts.saturating_add(1);
                }
            }
        }
    }
    if let Some((href, text)) = open.take() {
        c.check(&href, Some(&text), Role::Link);
    }
    facts
}

/// The URL in a refresh `content` ("0; url=https://example.com/").
fn refresh_target(content: &str) -> Option<&str> {
    let lower = content.to_ascii_lowercase();
    let i = lower.find("url")?;
    let rest = content.get(i + 3..)?.trim_start();
    let rest = rest.strip_prefix('=')?.trim();
    Some(rest.trim_matches(['\'', '"']).trim())
}
