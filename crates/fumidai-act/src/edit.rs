//! The delivered copy as a change to the original: header fields removed and added, maybe a new body.
//! A milter sends exactly these as its modification actions; the CLI applies them to bytes.

use crate::Outcome;
use base64::Engine as _;
use fumidai_engine::MessageReport;
use fumidai_policy::ActionKind;
use fumidai_sanitize::Rebuilt;

/// Fields fumidai writes. Incoming copies are always removed so a sender cannot forge a verdict.
const OWN_FIELDS: [&str; 5] = [
    "X-Fumidai-Verdict",
    "X-Fumidai-Findings",
    "X-Fumidai-Action",
    "X-Fumidai-Quarantine-Id",
    fumidai_sanitize::SANITIZED_HEADER,
];

/// How the delivered copy differs from the original.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageEdit {
    /// Header fields to delete (every occurrence), by name, case-insensitive.
    pub remove_headers: Vec<String>,
    /// Header fields to append to the header block, in order. Values may be folded with `\r\n `.
    pub add_headers: Vec<(String, String)>,
    /// A new body (CRLF line endings), or `None` to keep the original's.
    pub body: Option<Vec<u8>>,
}

impl MessageEdit {
    /// The edited message. The header block keeps the original's line ending (LF files stay LF); a new
    /// body is converted to it.
    pub fn apply(&self, original: &[u8]) -> Vec<u8> {
        fumidai_sanitize::edit_message(
            original,
            &self.remove_headers,
            &self.add_headers,
            self.body.as_deref(),
        )
    }

    /// The edit for a message let through without inspection (`[milter] on_error = "accept"`):
    /// `X-Fumidai-Action: uninspected`, and incoming fumidai fields removed as for any delivered
    /// message, so that no forged verdict vouches for it.
    pub fn uninspected() -> MessageEdit {
        MessageEdit {
            remove_headers: own_fields(),
            add_headers: vec![("X-Fumidai-Action".to_owned(), "uninspected".to_owned())],
            body: None,
        }
    }
}

fn own_fields() -> Vec<String> {
    OWN_FIELDS.iter().map(|s| (*s).to_owned()).collect()
}

/// The edit for a delivered message: verdict headers always; the subject tag when tagging; the
/// rebuilt body and MIME fields when sanitised.
pub(crate) fn delivered(
    report: &MessageReport,
    outcome: &Outcome,
    rebuilt: Option<Rebuilt>,
) -> MessageEdit {
    let mut edit = MessageEdit {
        remove_headers: own_fields(),
        ..MessageEdit::default()
    };
    if let Some(r) = rebuilt {
        edit.remove_headers
            .extend(r.remove_headers.iter().map(|s| (*s).to_owned()));
        edit.add_headers.extend(r.add_headers);
        edit.body = Some(r.body);
    }
    let verdict = format!("{} (score {:.1})", report.verdict.as_str(), report.score);
    edit.add_headers
        .push(("X-Fumidai-Verdict".to_owned(), verdict));
    if !report.findings.is_empty() {
        edit.add_headers
            .push(("X-Fumidai-Findings".to_owned(), findings_value(report)));
    }
    edit.add_headers.push((
        "X-Fumidai-Action".to_owned(),
        outcome.action.as_str().to_owned(),
    ));
    if let Some(id) = &outcome.quarantine_id {
        edit.add_headers
            .push(("X-Fumidai-Quarantine-Id".to_owned(), id.clone()));
    }
    if let Some(prefix) = outcome
        .decision
        .subject_prefix
        .as_deref()
        .filter(|p| !p.is_empty() && outcome.action != ActionKind::Deliver)
    {
        let subject = report.subject.as_deref().unwrap_or("");
        if !subject.starts_with(prefix) {
            edit.remove_headers.push("Subject".to_owned());
            edit.add_headers.push((
                "Subject".to_owned(),
                encode_unstructured(&format!("{prefix}{subject}")),
            ));
        }
    }
    edit
}

/// `ID(score) ID(score) …`, each id once at its highest score, folded before 78 columns.
fn findings_value(report: &MessageReport) -> String {
    let best = fumidai_core::strongest(&report.findings);
    let mut out = String::new();
    let mut column = "X-Fumidai-Findings: ".len();
    for (i, (id, score)) in best.iter().enumerate() {
        let token = format!("{id}({score:.1})");
        if i > 0 {
            if column + 1 + token.len() > 76 {
                out.push_str("\r\n ");
                column = 1;
            } else {
                out.push(' ');
                column += 1;
            }
        }
        column += token.len();
        out.push_str(&token);
    }
    out
}

/// An unstructured field value (RFC 5322) as is when it is printable ASCII, else as RFC 2047
/// `=?UTF-8?B?…?=` words of at most 75 characters, folded, never splitting a character.
fn encode_unstructured(value: &str) -> String {
    if value.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return value.to_owned();
    }
    // 45 bytes of UTF-8 give 60 base64 characters: with `=?UTF-8?B?` and `?=` a word is 72 long.
    const CHUNK: usize = 45;
    let mut words = Vec::new();
    let mut start = 0;
    while start < value.len() {
        let mut end = (start + CHUNK).min(value.len());
        while !value.is_char_boundary(end) {
            end -= 1;
        }
        let chunk = value.get(start..end).unwrap_or_default();
        words.push(format!(
            "=?UTF-8?B?{}?=",
            base64::engine::general_purpose::STANDARD.encode(chunk)
        ));
        start = end;
    }
    words.join("\r\n ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_uninspected_message_keeps_no_forged_verdict() {
        let forged = b"Subject: hi\r\nX-Fumidai-Verdict: clean (forged)\r\nX-Fumidai-Action: deliver\r\n\r\nbody\r\n";
        let out = String::from_utf8(MessageEdit::uninspected().apply(forged)).unwrap();
        assert!(!out.contains("forged"), "{out}");
        assert!(!out.contains("X-Fumidai-Action: deliver"), "{out}");
        assert!(out.contains("X-Fumidai-Action: uninspected"), "{out}");
        assert!(out.ends_with("\r\n\r\nbody\r\n"), "{out}");
    }

    #[test]
    fn ascii_subjects_stay_plain_and_japanese_ones_round_trip_through_mail_parser() {
        assert_eq!(
            encode_unstructured("[SUSPICIOUS] Invoice"),
            "[SUSPICIOUS] Invoice"
        );
        let subject = "【要注意】請求書のご送付（2026年11月分）について、ご確認をお願いいたします";
        let encoded = encode_unstructured(subject);
        assert!(
            encoded.lines().all(|l| l.trim_end().len() <= 76),
            "{encoded}"
        );
        let msg = format!("Subject: {encoded}\r\n\r\nbody\r\n");
        let parsed = mail_parser::MessageParser::default()
            .parse(msg.as_bytes())
            .expect("parses");
        assert_eq!(parsed.subject(), Some(subject));
    }
}
