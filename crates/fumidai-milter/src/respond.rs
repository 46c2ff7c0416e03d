//! What the MTA is told at end-of-message: the modifications of the delivered copy and the final
//! answer, as one buffer of frames.

use crate::frame::encode;
use bytes::BytesMut;
use fumidai_act::{MessageEdit, Outcome, Reply};
use fumidai_engine::config::FallbackAction;
use miltr_common::actions::{Continue, Discard, Replycode};
use miltr_common::modifications::body::ReplaceBody;
use miltr_common::modifications::headers::{AddHeader, ChangeHeader};

/// REPLBODY payloads: Postfix reads at most this much per frame.
const BODY_CHUNK: usize = 65535;

/// The header as the MTA sent it.
pub struct Received<'a> {
    /// Field names in order (for CHGHEADER's per-name index).
    pub names: &'a [bytes::Bytes],
    /// SMFIP_HDR_LEADSPC was negotiated: values go both ways with their leading space.
    pub leading_space: bool,
}

/// Frames for a judged message.
pub fn outcome(out: &mut BytesMut, outcome: &Outcome, received: &Received<'_>) {
    if outcome.delivers() {
        edit(out, &outcome.edit, received);
        // CONTINUE at end-of-message accepts (miltr-common has no separate ACCEPT).
        encode(out, &Continue);
    } else if let Some(reply) = &outcome.reply {
        encode(out, &replycode(reply));
    } else {
        // Quarantined: the original is committed to the store; the recipients get nothing.
        encode(out, &Discard);
    }
}

/// Frames for a message that was not inspected (error, timeout, oversize), as configured.
pub fn fallback(
    out: &mut BytesMut,
    action: FallbackAction,
    reply: &Reply,
    received: &Received<'_>,
) {
    match action {
        FallbackAction::Accept => {
            edit(out, &MessageEdit::uninspected(), received);
            encode(out, &Continue);
        }
        FallbackAction::Tempfail | FallbackAction::Reject => encode(out, &replycode(reply)),
    }
}

fn edit(out: &mut BytesMut, edit: &MessageEdit, received: &Received<'_>) {
    for name in &edit.remove_headers {
        let count = received
            .names
            .iter()
            .filter(|n| n.eq_ignore_ascii_case(name.as_bytes()))
            .count();
        // CHGHEADER with an empty value deletes; the index counts fields of that name from 1, so
        // the last goes first and the others keep their numbers.
        for index in (1..=count as u32).rev() {
            encode(out, &ChangeHeader::new(index, name.as_bytes(), b""));
        }
    }
    for (name, value) in &edit.add_headers {
        // The MTA folds on bare LF; the engine writes CRLF.
        let mut value = value.replace("\r\n", "\n");
        if received.leading_space {
            value.insert(0, ' ');
        }
        encode(out, &AddHeader::new(name.as_bytes(), value.as_bytes()));
    }
    if let Some(body) = &edit.body {
        for chunk in body.chunks(BODY_CHUNK) {
            encode(out, &ReplaceBody::new(chunk));
        }
    }
}

fn replycode(reply: &Reply) -> Replycode {
    let digits = |s: &str| -> Option<Vec<u16>> { s.split('.').map(|d| d.parse().ok()).collect() };
    let rcode = reply.code.to_string();
    let rcode: [u8; 3] = match rcode.as_bytes() {
        [a, b, c] => [a - b'0', b - b'0', c - b'0'],
        _ => [4, 5, 1],
    };
    // The MTA treats the text as a format string: a literal '%' must be doubled.
    let text = reply.text.replace('%', "%%").replace(['\r', '\n'], " ");
    match digits(&reply.status).as_deref() {
        Some(&[a, b, c]) => Replycode::new(rcode, [a, b, c], &text),
        _ => Replycode::without_xcode(rcode, &text),
    }
}
