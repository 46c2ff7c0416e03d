//! Rebuilding a message in sanitised form: the caller decides per attachment (keep, strip macros,
//! remove); [`rebuild_message`] writes a new MIME body and tells which top-level fields to replace.
//!
//! The new body is built from what `fumidai-mime` parsed, never by editing the original structure, so
//! whatever tricks the original played (several boundaries, hidden parts, odd encodings) cannot survive:
//! every part is written anew in base64 under a boundary derived from the message's SHA-256 (which a
//! sender cannot plant in its own message). Parts the parser did not surface (past the part or depth
//! limits) are simply not carried over.
//!
//! Layout: a single `text/plain; charset=UTF-8` part when nothing else is delivered, else
//! `multipart/mixed` with that text part (or a `multipart/alternative` of it and the HTML, see
//! [`Plan::html_to_text`]) first and the kept attachments after it. The text part holds the banner, a
//! bilingual notice for each removed attachment, then the original text.

use crate::{
    banner, defang_text, sanitized_header_value, strip_ooxml_macros, Action, Reason, SanitizeError,
    StripLimits, SANITIZED_HEADER,
};
use fumidai_core::{hash_only, Limits, Scan};
use fumidai_mime::transfer::base64_encode;
use fumidai_text::html::{Token, Tokenizer};
use sha2::{Digest, Sha256};
use std::fmt::Write as _;

/// What to do with one attachment (one per parsed attachment, in the parser's order, which is the
/// order of the engine report's `attachments`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// Deliver it as it is (re-encoded, same name and declared type).
    Keep,
    /// Deliver a macro-free copy ([`strip_ooxml_macros`]); if that fails, remove it.
    StripMacros,
    /// Remove it and say why in the notice.
    Remove { why: String },
}

/// The caller's decisions for one message.
#[derive(Debug, Clone)]
pub struct Plan<'a> {
    /// Why the message is sanitised (for the banner).
    pub reasons: &'a [Reason],
    /// One per parsed attachment, in order. Attachments beyond the end of this list are removed (fail
    /// safe); a longer list than the message has attachments is an error (the caller is misaligned).
    pub attachments: &'a [Disposition],
    /// Per attachment, what it really is, for the notice ("Word document with macros (docm)"); may
    /// be shorter or empty, the declared type is used then.
    pub detected_types: &'a [String],
    /// Replace an HTML body by its text. When false, the HTML is still converted if `defang_links`
    /// is set (links in HTML cannot be defanged without rewriting markup); otherwise it is kept as
    /// an alternative to the text part, with the banner at the top of its body.
    pub html_to_text: bool,
    /// Defang every URL in the text (and in the text converted from HTML) and in removed files' names.
    pub defang_links: bool,
    /// Quarantine id of the original, for the removal notices.
    pub quarantine_id: Option<&'a str>,
    /// Bounds for macro removal.
    pub limits: StripLimits,
    /// The MIME limits the engine scanned with: the same limits give the same attachment list, which
    /// is what keeps `attachments` aligned with the engine's report.
    pub mime_limits: &'a Limits,
}

/// An attachment that was not delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemovedFile {
    /// Its name, or its part path (`part 1.2`) when it had none.
    pub name: String,
    /// What it was (detected type, else declared type, else "unknown").
    pub detected_type: String,
    /// Size in bytes, decoded.
    pub size: u64,
    /// SHA-256 of the decoded bytes, lower-case hex.
    pub sha256: String,
    pub why: String,
}

/// A rebuilt message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rebuilt {
    /// Lower-case names of the top-level fields to delete (every instance): the MIME fields this body
    /// replaces, and any `X-Fumidai-Sanitized` a sender forged.
    pub remove_headers: Vec<&'static str>,
    /// Fields to add, single-line values: `MIME-Version`, `Content-Type` (and `Content-Transfer-Encoding`
    /// for a single text part), `X-Fumidai-Sanitized`.
    pub add_headers: Vec<(String, String)>,
    /// The new body with CRLF line endings (what a milter's SMFIR_REPLBODY sends).
    pub body: Vec<u8>,
    /// What was done, each once, in header order.
    pub actions: Vec<Action>,
    /// Attachments not delivered, in message order.
    pub removed: Vec<RemovedFile>,
    /// New names of documents whose macros were removed.
    pub stripped: Vec<String>,
}

/// Fields replaced by the rebuilt body.
const REPLACED_FIELDS: &[&str] = &[
    "content-type",
    "content-transfer-encoding",
    "content-disposition",
    "mime-version",
    "x-fumidai-sanitized",
];

/// Link targets listed after text converted from HTML, at most.
const MAX_LISTED_LINKS: usize = 200;
/// Longest file name written, in characters (longer ones are cut, keeping the extension).
const MAX_NAME_CHARS: usize = 200;
/// How every boundary of the new body starts.
const BOUNDARY_PREFIX: &str = "=_fumidai_";
/// Base64 characters per line (RFC 2045).
const BASE64_LINE: usize = 76;

impl Rebuilt {
    /// The whole sanitised message: the original header block without [`Rebuilt::remove_headers`],
    /// then [`Rebuilt::add_headers`], a blank line and the body. The header block keeps the original's
    /// line ending (that of its first line); the body is converted to it too, so the file is uniform.
    pub fn message(&self, original: &[u8]) -> Vec<u8> {
        crate::edit_message(
            original,
            &self.remove_headers,
            &self.add_headers,
            Some(&self.body),
        )
    }
}

/// Lines without their `\n` or `\r\n`; a final line without an ending is included.
fn lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    body.split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .take(if bytes.is_empty() { 0 } else { usize::MAX })
}

/// A file delivered in the new message.
struct KeptFile {
    name: String,
    content_type: String,
    data: Vec<u8>,
    /// Written as 7bit text instead of base64 (attached messages, which RFC 2046 allows in no other
    /// encoding).
    seven_bit: bool,
}

impl KeptFile {
    /// An attached message goes as 7bit when it can (ASCII, lines within RFC 5322's 998, nothing
    /// like our boundaries); otherwise as an `.eml` file in base64, since base64 `message/rfc822`
    /// is not allowed.
    fn new(name: String, content_type: &str, data: Vec<u8>) -> Self {
        if content_type != "message/rfc822" {
            return KeptFile {
                name,
                content_type: content_type.to_owned(),
                data,
                seven_bit: false,
            };
        }
        let seven_bit = data.iter().all(|b| (1..0x80).contains(b))
            && lines(&data).all(|l| l.len() <= 998)
            && memchr::memmem::find(&data, BOUNDARY_PREFIX.as_bytes()).is_none();
        let (name, content_type) = match (seven_bit, name.is_empty()) {
            (true, _) => (name, content_type),
            (false, true) => ("message.eml".to_owned(), "application/octet-stream"),
            (false, false) => (name, "application/octet-stream"),
        };
        KeptFile {
            name,
            content_type: content_type.to_owned(),
            data,
            seven_bit,
        }
    }
}

/// Rebuilds `raw` according to `plan`. Never panics; the only error is a plan with more dispositions
/// than the message has attachments ([`SanitizeError::PlanMismatch`]).
pub fn rebuild_message(raw: &[u8], plan: &Plan<'_>) -> Result<Rebuilt, SanitizeError> {
    let mut scan = Scan::new(plan.mime_limits, hash_only);
    let msg = fumidai_mime::parse(&mut scan, raw);
    if plan.attachments.len() > msg.attachments.len() {
        return Err(SanitizeError::PlanMismatch {
            planned: plan.attachments.len(),
            found: msg.attachments.len(),
        });
    }

    let mut actions = Vec::new();
    let mut kept: Vec<KeptFile> = Vec::new();
    let mut removed: Vec<RemovedFile> = Vec::new();
    let mut stripped = Vec::new();
    for (i, att) in msg.attachments.iter().enumerate() {
        let shown_name = if att.name.is_empty() {
            att.part.clone()
        } else {
            att.name.clone()
        };
        let declared = att.declared_type.as_deref().filter(|t| is_mime_type(t));
        let detected = plan
            .detected_types
            .get(i)
            .filter(|t| !t.trim().is_empty())
            .cloned()
            .or_else(|| att.declared_type.clone())
            .unwrap_or_else(|| "unknown".to_owned());
        let remove = |why: String| RemovedFile {
            name: shown_name.clone(),
            detected_type: detected.clone(),
            size: att.data.len() as u64,
            sha256: hex::encode(Sha256::digest(&att.data)),
            why,
        };
        match plan.attachments.get(i) {
            Some(Disposition::Keep) => kept.push(KeptFile::new(
                att.name.clone(),
                declared.unwrap_or("application/octet-stream"),
                att.data.to_vec(),
            )),
            Some(Disposition::StripMacros) => {
                match strip_ooxml_macros(&att.data, &att.name, &plan.limits) {
                    Ok(out) => {
                        if !out.removed.is_empty() {
                            actions.push(Action::DelMacro);
                            stripped.push(out.name.clone());
                        }
                        let content_type = macro_free_type(&out.name, declared);
                        kept.push(KeptFile::new(out.name, &content_type, out.data));
                    }
                    Err(e) => removed.push(remove(format!("the macros could not be removed: {e}"))),
                }
            }
            Some(Disposition::Remove { why }) => removed.push(remove(why.clone())),
            None => removed.push(remove(
                "no decision was made for this attachment, so it was removed to be safe".to_owned(),
            )),
        }
    }
    if !removed.is_empty() {
        actions.push(Action::DelAttach);
    }

    let has_text = !msg.text.trim().is_empty();
    let has_html = !msg.html.trim().is_empty();
    let keep_html = has_html && !plan.html_to_text && !plan.defang_links;
    let mut text = if has_text || !has_html {
        msg.text.clone()
    } else {
        html_as_text(&msg.html)
    };
    if has_html && !keep_html {
        actions.push(Action::ChgText);
    }
    // uuencoded files in the text were surfaced as attachments and decided on above.
    text = without_uuencoded(&text);
    let mut notices_names: Vec<String> = removed.iter().map(|r| r.name.clone()).collect();
    if plan.defang_links {
        let (defanged, count) = defang_text(&text);
        if count > 0 {
            actions.push(Action::RepLink);
        }
        text = defanged;
        for n in &mut notices_names {
            *n = defang_text(n).0;
        }
    }
    actions.sort_unstable();
    actions.dedup();

    let mut preface = banner(plan.reasons, &actions);
    for (file, name) in removed.iter().zip(&notices_names) {
        preface.push('\n');
        preface.push_str(&removal_notice(file, name, plan.quarantine_id));
    }
    let full_text = if text.trim().is_empty() {
        preface.clone()
    } else {
        format!("{preface}\n{text}")
    };

    let digest = hex::encode(Sha256::digest(raw));
    let tag = digest.get(..16).unwrap_or_default();
    let text_part = TextPart::plain(&full_text);
    let first = if keep_html {
        let html = TextPart::html(&html_with_preface(&msg.html, &preface));
        Entity::Multipart {
            subtype: "alternative",
            boundary: format!("{BOUNDARY_PREFIX}alt_{tag}"),
            parts: vec![Entity::Text(text_part), Entity::Text(html)],
        }
    } else {
        Entity::Text(text_part)
    };
    let top = if kept.is_empty() {
        first
    } else {
        let mut parts = vec![first];
        parts.extend(kept.into_iter().map(Entity::File));
        Entity::Multipart {
            subtype: "mixed",
            boundary: format!("{BOUNDARY_PREFIX}mixed_{tag}"),
            parts,
        }
    };

    let mut add_headers = vec![("MIME-Version".to_owned(), "1.0".to_owned())];
    add_headers.extend(top.fields().into_iter().map(|(n, v)| (n.to_owned(), v)));
    add_headers.push((
        SANITIZED_HEADER.to_owned(),
        sanitized_header_value(&actions),
    ));
    let mut body = Vec::new();
    top.write_body(&mut body);
    Ok(Rebuilt {
        remove_headers: REPLACED_FIELDS.to_vec(),
        add_headers,
        body,
        actions,
        removed,
        stripped,
    })
}

/// A `type/subtype` without parameters or characters that would break a header.
fn is_mime_type(t: &str) -> bool {
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    matches!(t.split_once('/'), Some((a, b)) if token(a) && token(b))
}

/// The content type of a macro-free document, from its new name; else the declared type unless that
/// says macro-enabled.
fn macro_free_type(name: &str, declared: Option<&str>) -> String {
    const TYPES: &[(&str, &str)] = &[
        (
            "docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        (
            "dotx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.template",
        ),
        (
            "xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        (
            "xltx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.template",
        ),
        (
            "pptx",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        ),
        (
            "potx",
            "application/vnd.openxmlformats-officedocument.presentationml.template",
        ),
        (
            "ppsx",
            "application/vnd.openxmlformats-officedocument.presentationml.slideshow",
        ),
    ];
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    if let Some((_, t)) = TYPES.iter().find(|(e, _)| Some(*e) == ext.as_deref()) {
        return (*t).to_owned();
    }
    match declared {
        Some(t) if !t.contains("macroenabled") => t.to_owned(),
        _ => "application/octet-stream".to_owned(),
    }
}

/// Text of an HTML body, with the link targets listed after it (the conversion drops `href`s, and a
/// reader deciding whether to trust a link needs to see where it led).
fn html_as_text(html: &str) -> String {
    let mut text = fumidai_text::html_to_text(html);
    let mut targets: Vec<String> = Vec::new();
    for tok in Tokenizer::new(html) {
        let Token::Start(tag) = tok else { continue };
        if !(tag.is("a") || tag.is("area")) {
            continue;
        }
        let Some(href) = tag.attr_decoded("href") else {
            continue;
        };
        let href = href.trim();
        let lower = href.to_ascii_lowercase();
        let linkish = ["http:", "https:", "ftp:", "ftps:", "www."]
            .iter()
            .any(|p| lower.starts_with(p));
        if linkish && !text.contains(href) && !targets.iter().any(|t| t == href) {
            targets.push(href.to_owned());
            if targets.len() == MAX_LISTED_LINKS {
                break;
            }
        }
    }
    if !targets.is_empty() {
        text.push_str("\n\n[fumidai] 本文中のリンク先 / Link targets in the message:\n");
        for (n, t) in targets.iter().enumerate() {
            let _ = writeln!(text, "[{}] {t}", n + 1);
        }
    }
    text
}

/// The text without uuencoded blocks (`begin 644 name` ... `end`, as fumidai-mime finds them).
fn without_uuencoded(text: &str) -> String {
    if !text.contains("begin ") {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut in_block = false;
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\r', '\n']);
        if in_block {
            if bare == "end" || bare.starts_with("end ") {
                in_block = false;
            }
            continue;
        }
        if is_uu_begin(bare) {
            in_block = true;
            continue;
        }
        out.push_str(line);
    }
    out
}

/// `begin <octal mode> <name>`.
fn is_uu_begin(line: &str) -> bool {
    let Some(rest) = line.strip_prefix("begin ") else {
        return false;
    };
    let Some((mode, name)) = rest.trim().split_once(' ') else {
        return false;
    };
    (1..=4).contains(&mode.len())
        && mode.bytes().all(|b| (b'0'..=b'7').contains(&b))
        && !name.trim().is_empty()
}

/// The bilingual notice for one removed file; `name` is the name as shown (defanged when asked).
fn removal_notice(file: &RemovedFile, name: &str, quarantine_id: Option<&str>) -> String {
    let size = group_digits(file.size);
    let (ja_ask, en_ask) = match quarantine_id {
        Some(id) => (
            format!("原本が必要な場合は管理者に隔離ID {id}をお知らせください。"),
            format!("Quarantine ID {id}: ask your administrator for the original."),
        ),
        None => (
            "原本が必要な場合は管理者にお問い合わせください。".to_owned(),
            "Ask your administrator if you need the original.".to_owned(),
        ),
    };
    format!(
        "[fumidai] 削除した添付ファイル: {name}\n\
         \x20 種類: {kind}\n\
         \x20 サイズ: {size} バイト\n\
         \x20 SHA-256: {sha}\n\
         \x20 理由: {why}\n\
         \x20 {ja_ask}\n\
         [fumidai] Removed attachment: {name}\n\
         \x20 Type: {kind}\n\
         \x20 Size: {size} bytes\n\
         \x20 SHA-256: {sha}\n\
         \x20 Why: {why}\n\
         \x20 {en_ask}\n",
        kind = file.detected_type,
        sha = file.sha256,
        why = file.why,
    )
}

/// `1234567` → `1,234,567`.
fn group_digits(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The HTML with the banner and notices (escaped, preformatted) at the top of its body.
fn html_with_preface(html: &str, preface: &str) -> String {
    let mut escaped = String::with_capacity(preface.len() + 64);
    for c in preface.chars() {
        match c {
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '&' => escaped.push_str("&amp;"),
            c => escaped.push(c),
        }
    }
    let block = format!("<pre style=\"white-space:pre-wrap\">{escaped}</pre>");
    let lower = html.to_ascii_lowercase();
    let insert_at = lower
        .find("<body")
        .and_then(|at| lower.get(at..)?.find('>').map(|end| at + end + 1))
        .unwrap_or(0);
    let (head, tail) = html.split_at(insert_at.min(html.len()));
    format!("{head}{block}{tail}")
}

/// A text part's content, UTF-8.
struct TextPart {
    subtype: &'static str,
    text: String,
}

impl TextPart {
    fn plain(text: &str) -> Self {
        TextPart {
            subtype: "plain",
            text: text.to_owned(),
        }
    }

    fn html(text: &str) -> Self {
        TextPart {
            subtype: "html",
            text: text.to_owned(),
        }
    }
}

/// One entity of the new body.
enum Entity {
    Text(TextPart),
    File(KeptFile),
    Multipart {
        subtype: &'static str,
        boundary: String,
        parts: Vec<Entity>,
    },
}

impl Entity {
    /// The entity's header fields (folded values use CRLF + tab; top-level ones are single-line).
    fn fields(&self) -> Vec<(&'static str, String)> {
        match self {
            Entity::Text(t) => vec![
                ("Content-Type", format!("text/{}; charset=UTF-8", t.subtype)),
                ("Content-Transfer-Encoding", "base64".to_owned()),
            ],
            Entity::File(f) => {
                let (type_param, disp_param) = name_params(&f.name);
                vec![
                    ("Content-Type", format!("{}{type_param}", f.content_type)),
                    ("Content-Disposition", format!("attachment{disp_param}")),
                    (
                        "Content-Transfer-Encoding",
                        if f.seven_bit { "7bit" } else { "base64" }.to_owned(),
                    ),
                ]
            }
            Entity::Multipart {
                subtype, boundary, ..
            } => vec![(
                "Content-Type",
                format!("multipart/{subtype}; boundary=\"{boundary}\""),
            )],
        }
    }

    fn write_body(&self, out: &mut Vec<u8>) {
        match self {
            Entity::Text(t) => write_base64(&crlf(t.text.as_bytes()), out),
            Entity::File(f) if f.seven_bit => out.extend_from_slice(&crlf(&f.data)),
            Entity::File(f) => write_base64(&f.data, out),
            Entity::Multipart {
                subtype: _,
                boundary,
                parts,
            } => {
                for part in parts {
                    out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
                    for (name, value) in part.fields() {
                        out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
                    }
                    out.extend_from_slice(b"\r\n");
                    part.write_body(out);
                }
                out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
            }
        }
    }
}

/// Text with every line break as CRLF (the canonical form of text, RFC 2046).
fn crlf(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + text.len() / 32);
    for line in lines(text) {
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Base64 in lines of [`BASE64_LINE`] characters, each ending in CRLF.
fn write_base64(data: &[u8], out: &mut Vec<u8>) {
    // 57 input bytes make one 76-character line.
    for chunk in data.chunks(BASE64_LINE / 4 * 3) {
        out.extend_from_slice(base64_encode(chunk).as_bytes());
        out.extend_from_slice(b"\r\n");
    }
}

/// The `name` parameter of Content-Type and the `filename` one of Content-Disposition (each with its
/// leading `;`), folded: quoted ASCII when the name allows, else RFC 2047 words and RFC 2231 parts.
fn name_params(name: &str) -> (String, String) {
    let name = shortened(name);
    if name.is_empty() {
        return (String::new(), String::new());
    }
    let plain = name.len() <= 60
        && name
            .bytes()
            .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\');
    if plain {
        return (
            format!(";\r\n\tname=\"{name}\""),
            format!(";\r\n\tfilename=\"{name}\""),
        );
    }
    let pieces = char_chunks(&name, 39);
    let words: Vec<String> = pieces
        .iter()
        .map(|p| format!("=?UTF-8?B?{}?=", base64_encode(p.as_bytes())))
        .collect();
    let type_param = format!(";\r\n\tname=\"{}\"", words.join("\r\n\t"));
    let encoded: Vec<String> = char_chunks(&name, 16).iter().map(|p| percent(p)).collect();
    let disp_param = if let [one] = encoded.as_slice() {
        format!(";\r\n\tfilename*=UTF-8''{one}")
    } else {
        let mut s = String::new();
        for (i, e) in encoded.iter().enumerate() {
            let charset = if i == 0 { "UTF-8''" } else { "" };
            let _ = write!(s, ";\r\n\tfilename*{i}*={charset}{e}");
        }
        s
    };
    (type_param, disp_param)
}

/// The name cut to [`MAX_NAME_CHARS`] characters, keeping a short extension, with control
/// characters replaced (they would only serve to hide the real name).
fn shortened(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| if c.is_control() { '_' } else { c })
        .collect();
    let count = clean.chars().count();
    if count <= MAX_NAME_CHARS {
        return clean;
    }
    let ext = clean
        .rsplit_once('.')
        .map(|(_, e)| e)
        .filter(|e| e.chars().count() <= 10)
        .unwrap_or("");
    let keep = MAX_NAME_CHARS - ext.chars().count() - 1;
    let head: String = clean.chars().take(keep).collect();
    if ext.is_empty() {
        head
    } else {
        format!("{head}.{ext}")
    }
}

/// Pieces of at most `max_bytes` bytes, cut at character boundaries (a longer single character is
/// a piece of its own).
fn char_chunks(s: &str, max_bytes: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0usize;
    let mut end = 0usize;
    for (i, c) in s.char_indices() {
        if i + c.len_utf8() - start > max_bytes && end > start {
            out.push(s.get(start..end).unwrap_or_default());
            start = end;
        }
        end = i + c.len_utf8();
    }
    if end > start {
        out.push(s.get(start..end).unwrap_or_default());
    }
    out
}

/// RFC 2231 percent-encoding (attribute-char kept, everything else `%XX`).
fn percent(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_grouped() {
        assert_eq!(group_digits(0), "0");
        assert_eq!(group_digits(999), "999");
        assert_eq!(group_digits(1_000), "1,000");
        assert_eq!(group_digits(1_234_567), "1,234,567");
    }

    #[test]
    fn long_names_are_cut_keeping_the_extension() {
        let long = format!("{}.exe", "あ".repeat(500));
        let short = shortened(&long);
        assert_eq!(short.chars().count(), MAX_NAME_CHARS);
        assert!(short.ends_with(".exe"));
        assert_eq!(shortened("a\r\nb.txt"), "a__b.txt");
    }

    #[test]
    fn chunks_respect_character_boundaries() {
        let s = "請求書のご案内abc";
        let pieces = char_chunks(s, 7);
        assert_eq!(pieces.concat(), s);
        assert!(pieces.iter().all(|p| p.len() <= 7));
        assert!(char_chunks("", 5).is_empty());
    }

    #[test]
    fn uuencoded_blocks_leave_the_text() {
        let text = "hello\nbegin 644 cat.txt\n#0V%T\n`\nend\nbye\nbegin here we go\n";
        assert_eq!(without_uuencoded(text), "hello\nbye\nbegin here we go\n");
    }

    #[test]
    fn mime_types_are_checked() {
        assert!(is_mime_type(
            "application/vnd.ms-excel.sheet.macroenabled.12"
        ));
        assert!(!is_mime_type("text/plain\r\nX-Evil: 1"));
        assert!(!is_mime_type("text"));
    }
}
