//! MIME parsing and header checks.
//!
//! [`parse`] turns raw message bytes into a [`Message`]: decoded headers (Japanese charsets included),
//! decoded text and HTML bodies, and every attachment with its decoded name, never panicking and borrowing
//! the raw bytes where the encoding allows. [`check_headers`] and [`check_reply_chain`] look at the sender
//! side: display-name spoofing, Reply-To diversion, envelope mismatch and reply-chain hijack signs.

use fumidai_core::Scan;
use std::borrow::Cow;

pub mod findings {
    fumidai_core::findings! {
        MIME_MALFORMED = 1.0, "The MIME structure is broken or ambiguous (evasion attempt or a broken mailer).";
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
    let _ = (scan, raw);
    Message::default()
}

/// Sender-side checks: display name carrying another address or a partner's name, Reply-To diversion,
/// envelope vs header From.
pub fn check_headers(scan: &mut Scan<'_>, msg: &Message<'_>, ctx: &SenderContext) {
    let _ = (scan, msg, ctx);
}

/// Reply-chain hijack: a reply/forward subject with a quoted thread, carrying risky content
/// (`risky_content`, decided by the engine from the other findings), from a domain not among the quoted correspondents.
pub fn check_reply_chain(scan: &mut Scan<'_>, msg: &Message<'_>, risky_content: bool) {
    let _ = (scan, msg, risky_content);
}
