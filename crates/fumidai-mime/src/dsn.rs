//! Bounces (delivery status notifications) and the message they return, for backscatter detection: a bounce
//! for a Message-ID the organisation never sent shows that someone sends mail in its name.
//!
//! [`bounce`] recognises an RFC 3464 report (`multipart/report; report-type=delivery-status`, or any
//! `message/delivery-status` part) and a vendor's non-standard bounce (plain text, Japanese carriers'
//! notices). It reads the per-recipient fields of the report and the returned message's header block, from a
//! `message/rfc822`-like part or, failing that, from a header block quoted in the text after a separator or a
//! phrase such as "original message follows". The MIME structure is walked by [`crate::parse`], so the walker's
//! depth and part limits apply; the DSN's own header fields are never read as the returned message's.
//!
//! A non-standard bounce counts only when it comes from an automated sender (null envelope sender,
//! MAILER-DAEMON or postmaster, or a mailing-list manager's admin address on list mail) and returns a header
//! block: a person's mail that quotes headers is not a bounce.

use crate::header::{self, RawHeader, Structured};
use crate::headers::mailboxes;
use crate::{charset, Attachment, Mailbox};
use fumidai_core::{hash_only, Limits, Scan};
use std::borrow::Cow;

/// Recipients kept from the delivery-status parts, all parts together.
const MAX_RECIPIENTS: usize = 50;
/// Msg-ids kept from one In-Reply-To or References value.
const MAX_MSG_IDS: usize = 100;
/// Longest field value or msg-id kept (RFC 5322's line limit).
const MAX_VALUE: usize = 998;
/// Marker lines in the text after which a returned header block is looked for.
const MAX_MARKERS: usize = 32;
/// Lines read for one returned header block in text (blank lines before it included).
const MAX_BLOCK_LINES: usize = 500;
/// Longer lines are not taken for a separator or a phrase line.
const MAX_MARKER_LINE: usize = 200;

/// Parts that carry the returned message, whole or its header block only.
const RETURNED_TYPES: &[&str] = &[
    "message/rfc822",
    "message/global",
    "text/rfc822-headers",
    "message/rfc822-headers",
    "message/global-headers",
];
const STATUS_TYPES: &[&str] = &["message/delivery-status", "message/global-delivery-status"];
/// Lower-case phrases that introduce a returned message in vendors' bounce texts.
const RETURN_PHRASES: &[&str] = &[
    "original message",
    "original mail",
    "returned mail",
    "returned message",
    "undelivered message",
    "headers follow",
    "message follows",
    "copy of the message",
    "following header fields",
    "元のメッセージ",
    "元のメール",
    "オリジナルメッセージ",
    "返送",
];
/// Header fields a mailing-list manager adds; its admin address sends the list's error notices.
const LIST_HEADERS: &[&str] = &[
    "list-id",
    "list-post",
    "x-mlserver",
    "x-ml-name",
    "x-mailman-version",
];
/// Fields of which a returned header block must have one.
const RETURNED_FIELDS: &[&str] = &["message-id", "from", "subject", "received"];

/// A bounce: standard (RFC 3464 multipart/report; report-type=delivery-status) or a vendor's plain-text one.
#[derive(Debug)]
pub struct Bounce<'x> {
    pub standard: bool,
    /// Per-recipient fields of the message/delivery-status parts, at most 50.
    pub recipients: Vec<BouncedRecipient>,
    /// The returned message's header block (from a message/rfc822, message/global, text/rfc822-headers or
    /// message/rfc822-headers part, or found inside a text part), transfer-decoded. Borrowed from the raw
    /// message when no decoding was needed; a block found in text is decoded to UTF-8.
    pub original_headers: Option<Cow<'x, [u8]>>,
    /// Message-ID of the returned message, without angle brackets.
    pub original_message_id: Option<String>,
    /// Header From address of the returned message, lower-cased.
    pub original_from: Option<String>,
    /// Date of the returned message as Unix seconds, when it parses.
    pub original_date: Option<i64>,
}

/// One per-recipient group of a delivery-status part. Values are unfolded, RFC 2047-decoded, at most 998 bytes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BouncedRecipient {
    /// The address of Final-Recipient, without its type (`rfc822;`), as written.
    pub final_recipient: Option<String>,
    /// Action, lower-cased (`failed`, `delayed`, `delivered`, `relayed`, `expanded`).
    pub action: Option<String>,
    /// The status code of Status (`5.1.1`), without any comment after it.
    pub status: Option<String>,
    /// Diagnostic-Code, type included (`smtp; 550 5.1.1 User unknown`).
    pub diagnostic_code: Option<String>,
}

/// Whether `raw` is a bounce, and what it returned. `mail_from` is the SMTP envelope sender when known
/// (`Some("")` or `Some("<>")` for the null sender); without it the Return-Path field stands in for it.
/// Never panics; bounded by the MIME walker's default limits and linear in the message size.
pub fn bounce<'x>(raw: &'x [u8], mail_from: Option<&str>) -> Option<Bounce<'x>> {
    let (top, _) = header::split(raw);
    let from = top
        .iter()
        .find(|h| h.name == "from")
        .and_then(|h| mailboxes(&h.unfolded()).into_iter().next());
    let automated = automated_sender(&top, from.as_ref(), mail_from);
    // Most mail is neither a report nor from a robot: it is not walked a second time.
    if !automated && !is_report(&top) {
        return None;
    }
    let limits = Limits::default();
    let mut scan = Scan::new(&limits, hash_only);
    let msg = crate::parse(&mut scan, raw);
    let status_parts: Vec<&Attachment<'x>> = msg
        .attachments
        .iter()
        .filter(|a| has_type(a, STATUS_TYPES))
        .collect();
    let standard = is_delivery_report(&top) || !status_parts.is_empty();
    if !standard && !automated {
        return None;
    }
    let original_headers = msg
        .attachments
        .iter()
        .filter(|a| has_type(a, RETURNED_TYPES))
        .find_map(|a| header_block(&a.data))
        .or_else(|| returned_in_text(&msg.text).map(Cow::Owned));
    if !standard && original_headers.is_none() {
        return None;
    }
    let mut recipients = Vec::new();
    for part in status_parts {
        read_recipients(&part.data, &mut recipients);
    }
    let original = original_headers
        .as_deref()
        .map(ReturnedFields::read)
        .unwrap_or_default();
    Some(Bounce {
        standard,
        recipients,
        original_headers,
        original_message_id: original.message_id,
        original_from: original.from,
        original_date: original.date,
    })
}

/// The msg-ids in a Message-ID, In-Reply-To or References value (of a bounce's original or of any message),
/// without brackets, at most 100, each once.
/// Folding and comments are skipped; an id without brackets counts when it has an `@`, or when it is the
/// only token of a value without bracketed ids (`Message-ID: 20140913142357`, written so by some mailers).
pub fn msg_ids(value: &str) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    let mut bare = BareTokens::default();
    let mut token = String::new();
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if ids.len() >= MAX_MSG_IDS {
            break;
        }
        match c {
            '(' => {
                bare.take(&mut token);
                skip_comment(&mut chars);
            }
            '<' => {
                bare.take(&mut token);
                let mut id = String::new();
                let mut closed = false;
                for c in chars.by_ref() {
                    match c {
                        '>' => {
                            closed = true;
                            break;
                        }
                        // A stray `<` inside an id starts the id again (`<<a@b>`).
                        '<' => id.clear(),
                        c if c.is_whitespace() => {}
                        c => id.push(c),
                    }
                }
                if closed {
                    add_id(&mut ids, &id);
                }
            }
            // Outside brackets, a stray `>` separates like a comma.
            c if c.is_whitespace() || c == ',' || c == '>' => bare.take(&mut token),
            c => token.push(c),
        }
    }
    bare.take(&mut token);
    if ids.is_empty() && bare.count == 1 {
        if let Some(lone) = &bare.first {
            add_id(&mut ids, lone);
        }
    }
    for id in &bare.with_at {
        add_id(&mut ids, id);
    }
    ids
}

/// Adds a msg-id once, when it is not empty nor too long and the list is not full.
fn add_id(list: &mut Vec<String>, id: &str) {
    if !id.is_empty()
        && id.len() <= MAX_VALUE
        && list.len() < MAX_MSG_IDS
        && !list.iter().any(|x| x == id)
    {
        list.push(id.to_owned());
    }
}

/// Unbracketed tokens of a msg-id list: how many, the first, and those with an `@` (at most
/// [`MAX_MSG_IDS`], so a long run of words costs no more than one pass).
#[derive(Default)]
struct BareTokens {
    count: usize,
    first: Option<String>,
    with_at: Vec<String>,
}

impl BareTokens {
    /// Takes the token read so far (if any) and clears it.
    fn take(&mut self, token: &mut String) {
        if token.is_empty() {
            return;
        }
        self.count += 1;
        if self.count == 1 {
            self.first = Some(token.clone());
        }
        if token.contains('@') {
            add_id(&mut self.with_at, token);
        }
        token.clear();
    }
}

/// Skips an RFC 5322 comment whose `(` was just read (nested, with quoted-pairs).
fn skip_comment(chars: &mut std::str::Chars<'_>) {
    let mut depth = 1u32;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            '(' => depth = depth.saturating_add(1),
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return;
                }
            }
            _ => {}
        }
    }
}

fn has_type(a: &Attachment<'_>, types: &[&str]) -> bool {
    a.declared_type
        .as_deref()
        .is_some_and(|t| types.contains(&t))
}

/// `multipart/report` (of any report type) in any of the top Content-Type fields.
fn is_report(top: &[RawHeader<'_>]) -> bool {
    top.iter()
        .filter(|h| h.name == "content-type")
        .any(|h| Structured::parse(h.value).value == "multipart/report")
}

/// `multipart/report` with `report-type=delivery-status` (RFC 3464) in any of the top Content-Type fields.
fn is_delivery_report(top: &[RawHeader<'_>]) -> bool {
    top.iter()
        .filter(|h| h.name == "content-type")
        .map(|h| Structured::parse(h.value))
        .any(|ct| {
            ct.value == "multipart/report"
                && ct.get("report-type").is_some_and(|t| {
                    let t = t.trim();
                    t.eq_ignore_ascii_case("delivery-status")
                        || t.eq_ignore_ascii_case("global-delivery-status")
                })
        })
}

/// Null envelope sender, MAILER-DAEMON or postmaster in the envelope (Return-Path when the envelope is not
/// given) or in From, or a list manager's admin address on mail with list fields.
fn automated_sender(
    top: &[RawHeader<'_>],
    from: Option<&Mailbox>,
    mail_from: Option<&str>,
) -> bool {
    let list_mail = top.iter().any(|h| LIST_HEADERS.contains(&h.name.as_str()));
    let envelope = match mail_from {
        Some(m) => Some(m.to_owned()),
        None => top
            .iter()
            .find(|h| h.name == "return-path")
            .map(|h| charset::guess(&h.unfolded()).into_owned()),
    };
    if let Some(env) = envelope {
        let addr = path_address(&env);
        if addr.is_empty() || automated_address(addr, list_mail) {
            return true;
        }
    }
    match from {
        Some(f) if !f.address.is_empty() => automated_address(&f.address, list_mail),
        // `From: MAILER-DAEMON <>`: a null address, as bounces write it.
        _ => top
            .iter()
            .find(|h| h.name == "from")
            .is_some_and(|h| memchr::memmem::find(&h.unfolded(), b"<>").is_some()),
    }
}

/// The address in a Return-Path or envelope sender: inside `<>` when bracketed, else the first word.
fn path_address(v: &str) -> &str {
    let v = v.trim();
    match (v.find('<'), v.rfind('>')) {
        (Some(o), Some(c)) if o < c => v.get(o + 1..c).unwrap_or_default().trim(),
        _ => v.split_whitespace().next().unwrap_or_default(),
    }
}

fn automated_address(addr: &str, list_mail: bool) -> bool {
    let local = addr.rsplit_once('@').map_or(addr, |(l, _)| l);
    let local = local.trim().trim_matches('"').to_ascii_lowercase();
    local == "mailer-daemon"
        || local == "postmaster"
        || (list_mail
            && (local.starts_with("owner-")
                || ["-owner", "-admin", "-request", "-bounces"]
                    .iter()
                    .any(|s| local.ends_with(s))))
}

/// The header block at the start of a returned part (leading blank lines skipped), when it has fields.
fn header_block<'x>(data: &Cow<'x, [u8]>) -> Option<Cow<'x, [u8]>> {
    let bytes: &[u8] = data;
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace())?;
    let rest = bytes.get(start..)?;
    let (fields, _) = header::split(rest);
    let last = fields.last()?;
    // Field values are slices of `rest`: the block ends where the last one does.
    let end = (last.value.as_ptr() as usize)
        .checked_sub(rest.as_ptr() as usize)?
        .checked_add(last.value.len())?;
    let block = rest.get(..end)?;
    let trimmed = block.len()
        - block
            .iter()
            .rev()
            .take_while(|b| b.is_ascii_whitespace())
            .count();
    let range = start..start + trimmed;
    Some(match data {
        Cow::Borrowed(b) => Cow::Borrowed(b.get(range)?),
        Cow::Owned(v) => Cow::Owned(v.get(range)?.to_vec()),
    })
}

/// A header block quoted in a bounce's text: after a separator or phrase line (and up to a few blank lines),
/// a run of field lines, all with the same indentation, that has two fields or more and one of
/// [`RETURNED_FIELDS`]. Returned unindented, one field line per line.
fn returned_in_text(text: &str) -> Option<Vec<u8>> {
    let mut lines = text.lines();
    let mut markers = 0usize;
    while let Some(line) = lines.next() {
        if line.len() > MAX_MARKER_LINE || !is_marker(line) {
            continue;
        }
        if let Some(block) = quoted_header_run(lines.clone()) {
            return Some(block);
        }
        markers += 1;
        if markers >= MAX_MARKERS {
            break;
        }
    }
    None
}

/// A separator line (`-----`, `=====`, `_____`, `*****`, text after it allowed) or a line with a phrase
/// that introduces the returned message.
fn is_marker(line: &str) -> bool {
    let t = line.trim();
    let mut b = t.bytes();
    if let (Some(a), Some(x), Some(y)) = (b.next(), b.next(), b.next()) {
        if b"-=_*".contains(&a) && a == x && a == y {
            return true;
        }
    }
    let lower = t.to_lowercase();
    RETURN_PHRASES.iter().any(|p| lower.contains(p))
}

fn quoted_header_run<'t>(lines: impl Iterator<Item = &'t str>) -> Option<Vec<u8>> {
    let mut lines = lines
        .take(MAX_BLOCK_LINES)
        .skip_while(|l| l.trim().is_empty());
    let first = lines.next()?;
    let indent = first
        .get(..first.len() - first.trim_start().len())
        .unwrap_or_default();
    let mut block = String::new();
    let mut fields = 0usize;
    let mut at_start = true;
    for line in std::iter::once(first).chain(lines) {
        let Some(rest) = line.strip_prefix(indent) else {
            break;
        };
        if rest.trim().is_empty() {
            break;
        }
        if rest.starts_with([' ', '\t']) {
            if fields == 0 {
                break;
            }
        } else if at_start && rest.starts_with("From ") && !is_field_line(rest) {
            // An mbox separator line before the fields (fml quotes the message so).
            at_start = false;
            continue;
        } else if is_field_line(rest) {
            fields += 1;
        } else {
            break;
        }
        at_start = false;
        block.push_str(rest);
        block.push('\n');
    }
    let (parsed, _) = header::split(block.as_bytes());
    let returned = parsed.len() >= 2
        && parsed
            .iter()
            .any(|h| RETURNED_FIELDS.contains(&h.name.as_str()));
    returned.then(|| block.trim_end().as_bytes().to_vec())
}

/// `Name: value` with a plausible field name (printable ASCII, no spaces).
fn is_field_line(line: &str) -> bool {
    line.find(':').is_some_and(|colon| {
        let name = line.get(..colon).unwrap_or_default();
        !name.is_empty() && name.len() <= 76 && name.bytes().all(|b| b.is_ascii_graphic())
    })
}

/// The per-recipient groups of a delivery-status body: blank-line separated field groups; those with
/// Final-Recipient, Action or Status are recipients (the per-message group has none of them).
fn read_recipients(data: &[u8], out: &mut Vec<BouncedRecipient>) {
    let mut rest = data;
    while out.len() < MAX_RECIPIENTS && !rest.is_empty() {
        let (fields, after) = header::split(rest);
        if fields.is_empty() {
            // A line that is neither a field nor blank: skip it, so every round moves on.
            let skip = if after.len() < rest.len() {
                rest.len() - after.len()
            } else {
                memchr::memchr(b'\n', rest).map_or(rest.len(), |i| i + 1)
            };
            rest = rest.get(skip..).unwrap_or_default();
            continue;
        }
        rest = after;
        let value = |name: &str| {
            fields
                .iter()
                .find(|h| h.name == name)
                .map(|h| field_text(h))
                .filter(|v| !v.is_empty())
        };
        let recipient = BouncedRecipient {
            final_recipient: value("final-recipient").map(|v| match v.split_once(';') {
                Some((_, addr)) => addr.trim().to_owned(),
                None => v,
            }),
            action: value("action").map(|v| v.to_ascii_lowercase()),
            status: value("status").and_then(|v| v.split_whitespace().next().map(str::to_owned)),
            diagnostic_code: value("diagnostic-code"),
        };
        if recipient.final_recipient.is_some()
            || recipient.action.is_some()
            || recipient.status.is_some()
        {
            out.push(recipient);
        }
    }
}

/// A field value unfolded, RFC 2047- and charset-decoded (raw ISO-2022-JP too: Domino writes its
/// Diagnostic-Code so), trimmed, cut to [`MAX_VALUE`] bytes.
fn field_text(h: &RawHeader<'_>) -> String {
    let mut v = header::decode_words(&h.unfolded()).trim().to_owned();
    if v.len() > MAX_VALUE {
        let mut cut = MAX_VALUE;
        while !v.is_char_boundary(cut) {
            cut -= 1;
        }
        v.truncate(cut);
    }
    v
}

/// What backscatter detection needs from the returned header block.
#[derive(Default)]
struct ReturnedFields {
    message_id: Option<String>,
    from: Option<String>,
    date: Option<i64>,
}

impl ReturnedFields {
    fn read(block: &[u8]) -> ReturnedFields {
        let (fields, _) = header::split(block);
        let first = |name: &str| {
            fields
                .iter()
                .find(|h| h.name == name)
                .map(RawHeader::unfolded)
        };
        ReturnedFields {
            message_id: first("message-id")
                .and_then(|v| msg_ids(&charset::guess(&v)).into_iter().next()),
            from: first("from").and_then(|v| {
                mailboxes(&v)
                    .into_iter()
                    .map(|m| m.address.to_lowercase())
                    .find(|a| !a.is_empty())
            }),
            date: first("date").and_then(|v| {
                mail_parser::DateTime::parse_rfc822(charset::guess(&v).trim())
                    .filter(mail_parser::DateTime::is_valid)
                    .map(|d| d.to_timestamp())
            }),
        }
    }
}
