//! Reply-chain hijack (the Emotet hallmark): a reply/forward subject over a real quoted thread, sent from a
//! domain that never took part in that thread, carrying risky content.

use crate::sender::{addresses_in, registrable_domain};
use crate::{findings, Message};
use fumidai_core::Scan;

/// Full-width ASCII (Ｒｅ：) to ASCII, ideographic space to space.
fn halfwidth(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            c => c,
        })
        .collect()
}

const PREFIXES: &[&str] = &[
    "返信", "転送", "fwd", "fw", "re", "aw", "wg", "sv", "vs", "tr", "rv", "rif", "antw",
];

/// Whether a subject starts with reply/forward prefixes (`Re:`, `FW:`, `返信:`, `ＲＥ：`, `Re[2]:` ...),
/// possibly after a `[list]` tag.
pub fn is_reply_subject(subject: &str) -> bool {
    let s = halfwidth(subject);
    let mut rest = s.trim_start();
    if rest.starts_with('[') {
        if let Some(close) = rest.find(']') {
            rest = rest.get(close + 1..).unwrap_or_default().trim_start();
        }
    }
    let lower = rest.to_lowercase();
    for p in PREFIXES {
        let Some(after) = lower.strip_prefix(p) else {
            continue;
        };
        let mut after = after.trim_start();
        // Re[2]: Re(2): Re^2:
        if let Some(a) = after.strip_prefix(['[', '(']) {
            let digits = a.trim_start_matches(|c: char| c.is_ascii_digit());
            after = digits.trim_start_matches([']', ')']).trim_start();
        } else if let Some(a) = after.strip_prefix('^') {
            after = a
                .trim_start_matches(|c: char| c.is_ascii_digit())
                .trim_start();
        }
        if after.starts_with(':') {
            return true;
        }
    }
    false
}

/// Where the quoted thread begins in `text` (byte offset), if it has one.
fn thread_start(text: &str) -> Option<usize> {
    let mut off = 0usize;
    let mut from_line: Option<usize> = None;
    for raw_line in text.split_inclusive('\n') {
        let start = off;
        off += raw_line.len();
        let line = halfwidth(raw_line.trim());
        let lower = line.to_lowercase();
        if line.starts_with('>')
            || lower.contains("-----original message-----")
            || line.contains("元のメッセージ")
            || line.starts_with("差出人:")
            || line.starts_with("送信者:")
            || line.starts_with("送信元:")
            || lower.contains("forwarded message")
            || line.contains("転送されたメッセージ")
            || line.contains("書きました:")
            || (lower.ends_with("wrote:") && lower.len() > 6)
            || (line.ends_with(':')
                && line.contains('@')
                && line.chars().any(|c| c.is_ascii_digit())
                && line.chars().count() < 200)
        {
            return Some(start);
        }
        if lower.starts_with("from:") {
            from_line = Some(start);
        } else if lower.starts_with("sent:")
            || lower.starts_with("date:")
            || lower.starts_with("送信日時:")
        {
            if let Some(f) = from_line {
                return Some(f);
            }
        }
    }
    None
}

fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if in_tag => {}
            c => out.push(c),
        }
    }
    out.replace("&gt;", ">")
        .replace("&lt;", "<")
        .replace("&amp;", "&")
        .replace("&nbsp;", " ")
        .replace("&#64;", "@")
}

/// Registrable domains of the correspondents named in the quoted part of a thread, in order of appearance.
/// Empty when there is no quoted thread.
pub fn quoted_domains(text: &str) -> Vec<String> {
    let Some(start) = thread_start(text) else {
        return Vec::new();
    };
    let quoted = text.get(start..).unwrap_or_default();
    let mut out: Vec<String> = Vec::new();
    for a in addresses_in(quoted) {
        if let Some(d) = registrable_domain(&a) {
            if !out.contains(&d) {
                out.push(d);
            }
        }
    }
    out
}

pub fn check(scan: &mut Scan<'_>, msg: &Message<'_>, risky_content: bool) {
    if !risky_content {
        return;
    }
    let Some(subject) = msg.subject.as_deref() else {
        return;
    };
    if !is_reply_subject(subject) {
        return;
    }
    let Some(sender) = msg
        .from
        .as_ref()
        .and_then(|f| registrable_domain(&f.address))
    else {
        return;
    };
    let mut quoted = quoted_domains(&msg.text);
    if quoted.is_empty() && !msg.html.is_empty() {
        quoted = quoted_domains(&strip_tags(&msg.html));
    }
    if quoted.is_empty() || quoted.contains(&sender) {
        return;
    }
    scan.add(
        &findings::REPLY_CHAIN_HIJACK,
        "body",
        format!(
            "reply from {sender}, not among the quoted correspondents: {}",
            quoted.join(", ")
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_subjects() {
        for s in [
            "Re: x",
            "RE:x",
            "Fw: x",
            "Fwd: x",
            "FW: RE: x",
            "返信: x",
            "転送：x",
            "ＲＥ：x",
            "Ｒｅ： x",
            "AW: x",
            "Re[2]: x",
            "[list] Re: x",
            " re : x",
        ] {
            assert!(is_reply_subject(s), "{s}");
        }
        for s in ["Invoice", "Reply needed", "Regarding: x", "Free: x", ""] {
            assert!(!is_reply_subject(s), "{s}");
        }
    }

    #[test]
    fn quoted() {
        let t = "hi\n\n-----Original Message-----\nFrom: Yamada <yamada@mail.corp.example.co.jp>\nSent: Monday\nTo: a@partner.example\n";
        assert_eq!(
            quoted_domains(t),
            vec!["example.co.jp".to_owned(), "partner.example".to_owned()]
        );
        let t = "see below\n\n2022/11/15 10:00 山田 <yamada@corp.example>:\n> 請求書を送ります\n";
        assert_eq!(quoted_domains(t), vec!["corp.example".to_owned()]);
        assert!(quoted_domains("no thread here, mail me at a@b.example").is_empty());
        let t = "返信です\n\n差出人: 佐藤 <sato@torihiki.example.jp>\n送信日時: 2022年11月15日\n";
        assert_eq!(quoted_domains(t), vec!["example.jp".to_owned()]);
    }
}
