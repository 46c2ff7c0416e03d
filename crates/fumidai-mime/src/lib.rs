//! MIME parsing and header checks.
//!
//! [`parse`] turns raw message bytes into a [`Message`]: decoded headers (Japanese charsets included),
//! decoded text and HTML bodies, and every attachment with its decoded name, never panicking and borrowing
//! the raw bytes where the encoding allows. [`check_headers`] and [`check_reply_chain`] look at the sender
//! side: display-name spoofing, Reply-To diversion, envelope mismatch and reply-chain hijack signs.
//!
//! The MIME structure is walked by our own code ([`structure`]), not by mail-parser's tree, because the
//! evasion tricks (repeated Content-Type fields or boundary parameters, boundaries in other fields, comments in
//! field names) need every interpretation followed, and because depth and part counts must be bounded by
//! [`fumidai_core::Limits`]. mail-parser parses the address fields. Charsets go through encoding_rs with the
//! Japanese aliases mail-parser lacks (CP932, Windows-31J, ISO-2022-JP-2 ...).
//!
//! Limits: attached messages are surfaced, not opened (the engine dispatches them back to [`parse`]);
//! S/MIME and PGP are not decrypted; `text`/`html` are decoded but not rendered.

use fumidai_core::Scan;
use std::borrow::Cow;

pub mod charset;
pub mod dsn;
pub mod header;
mod headers;
mod reply;
mod sender;
pub mod structure;
pub mod transfer;

pub use reply::{is_reply_subject, quoted_domains};
pub use sender::{addresses_in, registrable_domain};

pub mod findings {
    fumidai_core::findings! {
        MIME_MALFORMED = 1.0, "The MIME structure is broken or ambiguous (evasion attempt or a broken mailer).";
        MIME_NESTING_TOO_DEEP = 5.0, "Multiparts nest deeper than the configured MIME depth; the innermost parts were not inspected.";
        MIME_TOO_MANY_PARTS = 3.0, "The message has more MIME parts than the configured limit; the rest were not inspected.";
        MIME_MULTIPLE_CONTENT_TYPE = 3.0, "A part has several Content-Type fields, so clients and scanners may see different structures.";
        MIME_MULTIPLE_BOUNDARIES = 3.0, "A multipart declares several boundaries, so clients and scanners may split it differently.";
        MIME_BOUNDARY_OUTSIDE_CONTENT_TYPE = 3.0, "A boundary parameter appears in a field other than Content-Type (scanner evasion).";
        MIME_AMBIGUOUS_BOUNDARY = 4.0, "Parts were found under more than one candidate boundary: different readers see different attachments.";
        MIME_HIDDEN_PARTS = 4.0, "MIME parts sit under a boundary no header declares, where some clients still find them.";
        MIME_HEADER_NAME_COMMENT = 3.0, "A Content-* field name carries a comment or junk, which strict parsers ignore and lenient ones accept.";
        MIME_CONFLICTING_NAMES = 3.0, "The attachment's name differs between Content-Disposition and Content-Type.";
        MIME_MULTIPLE_FROM = 3.0, "The message has several From fields; clients may show a different sender than the one checked.";
        DISPLAY_NAME_HAS_ADDRESS = 3.0, "The From display name shows an e-mail address of another domain than the real sender.";
        DISPLAY_NAME_OWN_ORG = 4.0, "The From display name carries our own organisation's name on an outside address.";
        DISPLAY_NAME_PARTNER = 5.0, "The From display name carries a known partner's name on an address outside the partner's domains.";
        REPLY_TO_DIFFERENT_DOMAIN = 2.0, "Replies go to another registrable domain than the From address.";
        ENVELOPE_FROM_MISMATCH = 1.0, "The SMTP envelope sender's registrable domain differs from the header From.";
        FROM_OWN_DOMAIN = 5.0, "The header From claims one of our own domains while the envelope sender is outside.";
        REPLY_CHAIN_HIJACK = 5.0, "A reply to a quoted thread carries risky content from a domain that is not among the thread's correspondents.";
    }
}
pub use findings::ALL as FINDINGS;

/// A mailbox: optional display name and the address.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Mailbox {
    pub name: Option<String>,
    pub address: String,
}

/// A parsed message: what the other checks need, decoded.
#[derive(Debug, Default)]
pub struct Message<'x> {
    pub message_id: Option<String>,
    pub subject: Option<String>,
    pub from: Option<Mailbox>,
    pub reply_to: Vec<Mailbox>,
    pub to: Vec<Mailbox>,
    pub cc: Vec<Mailbox>,
    pub date: Option<String>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    /// Decoded text of every text/plain body part, in order, joined by blank lines.
    pub text: String,
    /// Decoded HTML body parts, joined.
    pub html: String,
    /// Every attachment and non-text inline part, attached messages included (declared `message/rfc822`).
    pub attachments: Vec<Attachment<'x>>,
}

/// One attached file, its bytes decoded from the transfer encoding.
#[derive(Debug)]
pub struct Attachment<'x> {
    /// Decoded file name (RFC 2047/2231, Japanese charsets); empty when none was given.
    pub name: String,
    /// Other names the part was given (Content-Type `name` differing from Content-Disposition `filename`).
    pub alt_names: Vec<String>,
    pub declared_type: Option<String>,
    pub data: Cow<'x, [u8]>,
    /// Part path for findings: the name, or `part 1.2` when nameless.
    pub part: String,
}

/// What the organisation knows about senders, from config and the envelope.
#[derive(Debug, Clone, Default)]
pub struct SenderContext {
    /// SMTP MAIL FROM, when known (milter); compared with the header From.
    pub envelope_from: Option<String>,
    /// The organisation's own domains.
    pub own_domains: Vec<String>,
    /// The organisation's own name(s), as they appear in display names.
    pub own_names: Vec<String>,
    /// Partners whose names on a foreign address mean impersonation.
    pub partners: Vec<Partner>,
}

/// A known correspondent organisation: the names people see, and its real domains.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Partner {
    pub name: String,
    pub domains: Vec<String>,
}

/// Parses a message. Never panics; damage is reported as findings, and what can be read is returned.
pub fn parse<'x>(scan: &mut Scan<'_>, raw: &'x [u8]) -> Message<'x> {
    let mut walker = structure::Walker::new(scan, raw);
    walker.entity(raw, "", 0, false);
    let mut msg = walker.finish();
    headers::fill(scan, &mut msg, raw);
    msg
}

/// Sender-side checks: display name carrying another address or a partner's name, Reply-To diversion,
/// envelope vs header From.
pub fn check_headers(scan: &mut Scan<'_>, msg: &Message<'_>, ctx: &SenderContext) {
    sender::check(scan, msg, ctx);
}

/// Reply-chain hijack: a reply/forward subject with a quoted thread, carrying risky content
/// (`risky_content`, decided by the engine from the other findings), from a domain not among the quoted correspondents.
pub fn check_reply_chain(scan: &mut Scan<'_>, msg: &Message<'_>, risky_content: bool) {
    reply::check(scan, msg, risky_content);
}
