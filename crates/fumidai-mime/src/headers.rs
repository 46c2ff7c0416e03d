//! The message's own header fields: subject, mailboxes, ids, date.
//! Address lists go through mail-parser (quoting, comments, groups); the values are first turned into UTF-8
//! with our charset guess, and encoded words in charsets mail-parser lacks (CP932 ...) are decoded afterwards.

use crate::header::{self, decode_words};
use crate::{charset, findings, Mailbox, Message};
use fumidai_core::Scan;

pub fn fill(scan: &mut Scan<'_>, msg: &mut Message<'_>, raw: &[u8]) {
    let (hs, _) = header::split(raw);
    let first = |name: &str| hs.iter().find(|h| h.name == name);
    msg.subject = first("subject").map(|h| decode_words(&h.unfolded()).trim().to_owned());
    msg.date = first("date").map(|h| charset::guess(&h.unfolded()).trim().to_owned());
    msg.message_id = first("message-id").and_then(|h| ids(&h.unfolded()).into_iter().next());
    msg.in_reply_to = first("in-reply-to")
        .map(|h| ids(&h.unfolded()))
        .unwrap_or_default();
    msg.references = first("references")
        .map(|h| ids(&h.unfolded()))
        .unwrap_or_default();

    let from_count = hs.iter().filter(|h| h.name == "from").count();
    if from_count > 1 {
        scan.add(
            &findings::MIME_MULTIPLE_FROM,
            "headers",
            format!("{from_count} From fields"),
        );
    }
    msg.from = first("from").and_then(|h| mailboxes(&h.unfolded()).into_iter().next());
    msg.reply_to = first("reply-to")
        .map(|h| mailboxes(&h.unfolded()))
        .unwrap_or_default();
    msg.to = first("to")
        .map(|h| mailboxes(&h.unfolded()))
        .unwrap_or_default();
    msg.cc = first("cc")
        .map(|h| mailboxes(&h.unfolded()))
        .unwrap_or_default();
}

/// The msg-ids of a Message-ID, In-Reply-To or References value (see [`crate::dsn::msg_ids`]).
fn ids(v: &[u8]) -> Vec<String> {
    crate::dsn::msg_ids(&charset::guess(v))
}

/// Parses an address list with mail-parser.
pub fn mailboxes(v: &[u8]) -> Vec<Mailbox> {
    let text = header::words_to_utf8(v);
    let block = format!("From: {}\r\n\r\n", text.replace(['\r', '\n'], " "));
    let parsed = std::panic::catch_unwind(|| {
        let parser = mail_parser::MessageParser::new();
        let msg = parser.parse_headers(block.as_bytes())?;
        let addr = msg.from()?;
        Some(
            addr.iter()
                .take(1000)
                .map(|a| Mailbox {
                    name: a.name().map(fix_name).filter(|n| !n.is_empty()),
                    address: a.address().unwrap_or_default().trim().to_owned(),
                })
                .collect::<Vec<_>>(),
        )
    });
    match parsed {
        Ok(Some(list)) if !list.is_empty() => list,
        _ => fallback(&header::decode_words(v)),
    }
}

fn fix_name(name: &str) -> String {
    let n = if name.contains("=?") {
        decode_words(name.as_bytes())
    } else {
        name.to_owned()
    };
    n.trim().trim_matches('"').trim().to_owned()
}

/// Crude extraction when mail-parser gives nothing: the `<...>` part, or the token with an `@`.
fn fallback(text: &str) -> Vec<Mailbox> {
    if let (Some(o), Some(c)) = (text.find('<'), text.rfind('>')) {
        if o < c {
            let name = fix_name(text.get(..o).unwrap_or_default());
            return vec![Mailbox {
                name: if name.is_empty() { None } else { Some(name) },
                address: text.get(o + 1..c).unwrap_or_default().trim().to_owned(),
            }];
        }
    }
    text.split_whitespace()
        .find(|t| t.contains('@'))
        .map(|t| {
            vec![Mailbox {
                name: None,
                address: t
                    .trim_matches(|c| c == '<' || c == '>' || c == ',')
                    .to_owned(),
            }]
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cp932_display_name() {
        let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode("山田太郎");
        let b64 = crate::transfer::base64_encode(&sjis);
        let raw = format!("=?CP932?B?{b64}?= <taro@example.jp>");
        let m = mailboxes(raw.as_bytes());
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].name.as_deref(), Some("山田太郎"));
        assert_eq!(m[0].address, "taro@example.jp");
    }

    #[test]
    fn id_lists() {
        assert_eq!(
            ids(b"<a@b>\r\n <c@d>"),
            vec!["a@b".to_owned(), "c@d".to_owned()]
        );
    }
}
