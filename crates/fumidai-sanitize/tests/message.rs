//! Message rebuilding on messages written here (ISO-2022-JP, Shift_JIS, HTML only, LF and CRLF) and
//! on real ones from testdata/corpus, checked with mail-parser (an independent reader) and with the
//! engine re-scanning the result.

use fumidai_core::Limits;
use fumidai_engine::{Config, Engine, Envelope, Verdict};
use fumidai_mime::transfer::base64_encode;
use fumidai_sanitize::{
    rebuild_message, Action, Disposition, Plan, Reason, Rebuilt, SanitizeError, StripLimits,
};
use mail_parser::{MessageParser, MimeHeaders};
use sha2::{Digest, Sha256};
use std::io::{Cursor, Read};
use std::path::PathBuf;

fn corpus(path: &str) -> Vec<u8> {
    let full = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/corpus")
        .join(path);
    std::fs::read(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

const BANNER_JA: &str = "このメールは過去90日間に交流のない送信者から送信されたため";
const REASONS: &[Reason] = &[Reason::NoRecentExchange { days: 90 }];

fn plan<'a>(attachments: &'a [Disposition], limits: &'a Limits) -> Plan<'a> {
    Plan {
        reasons: REASONS,
        attachments,
        detected_types: &[],
        html_to_text: true,
        defang_links: true,
        quarantine_id: Some("Q-20260401-0001"),
        limits: StripLimits::default(),
        mime_limits: limits,
    }
}

fn rebuild(raw: &[u8], plan: &Plan<'_>) -> (Rebuilt, Vec<u8>) {
    let rebuilt = rebuild_message(raw, plan).expect("rebuild");
    let message = rebuilt.message(raw);
    (rebuilt, message)
}

fn header_value<'r>(rebuilt: &'r Rebuilt, name: &str) -> Option<&'r str> {
    rebuilt
        .add_headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Every line break is `eol`, nothing else.
fn assert_uniform(message: &[u8], crlf: bool) {
    for (i, b) in message.iter().enumerate() {
        if *b == b'\n' {
            let after_cr = i > 0 && message[i - 1] == b'\r';
            assert_eq!(after_cr, crlf, "mixed line endings at byte {i}");
        }
    }
}

/// The whole text mail-parser shows (every text body).
fn text_of(message: &[u8]) -> String {
    let parsed = MessageParser::default()
        .parse(message)
        .expect("mail-parser");
    (0..parsed.text_body_count())
        .filter_map(|i| parsed.body_text(i).map(|t| t.into_owned()))
        .collect::<Vec<_>>()
        .join("\n")
}

const SENTENCE: &str = "お世話になっております。請求書を添付いたしますので、ご確認ください。";
const SUBJECT: &str = "請求書のご送付（三月分）";

/// A Japanese message in `charset` with a removable attachment and a kept one with a Japanese name.
fn japanese_message(charset: &'static encoding_rs::Encoding, label: &str, eol: &str) -> Vec<u8> {
    let (subject, _, _) = charset.encode(SUBJECT);
    let (body, _, _) = charset.encode(SENTENCE);
    let subject = format!("=?{label}?B?{}?=", base64_encode(&subject));
    let kept_name = format!("=?UTF-8?B?{}?=", base64_encode("見積書.txt".as_bytes()));
    let mut m = Vec::new();
    let head = format!(
        "From: sender@example.jp\nTo: user@example.com\nSubject: {subject}\n\
         X-Fumidai-Sanitized: NONE\nMIME-Version: 1.0\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\n\n--b1\n\
         Content-Type: text/plain; charset={label}\nContent-Transfer-Encoding: 8bit\n\n"
    );
    m.extend_from_slice(head.as_bytes());
    m.extend_from_slice(&body);
    let tail = format!(
        "\n--b1\nContent-Type: application/octet-stream; name=\"invoice.exe\"\n\
         Content-Disposition: attachment; filename=\"invoice.exe\"\nContent-Transfer-Encoding: base64\n\n\
         {}\n--b1\nContent-Type: text/plain; name=\"{kept_name}\"\n\
         Content-Disposition: attachment; filename=\"{kept_name}\"\n\n見積もり金額: 10,000円\n--b1--\n",
        base64_encode(b"MZ\x90\x00 pretend executable")
    );
    m.extend_from_slice(tail.as_bytes());
    if eol == "\r\n" {
        // On bytes: Shift_JIS is not UTF-8.
        m = m
            .split(|b| *b == b'\n')
            .collect::<Vec<_>>()
            .join(&b"\r\n"[..]);
    }
    m
}

fn check_japanese(charset: &'static encoding_rs::Encoding, label: &str, eol: &str) {
    let raw = japanese_message(charset, label, eol);
    let limits = Limits::default();
    let decisions = [
        Disposition::Remove {
            why: "executable file".to_owned(),
        },
        Disposition::Keep,
    ];
    let (rebuilt, out) = rebuild(&raw, &plan(&decisions, &limits));
    assert_uniform(&out, eol == "\r\n");
    let original_subject = raw
        .split(|b| *b == b'\n')
        .find(|l| l.starts_with(b"Subject:"))
        .expect("subject line");
    assert!(
        out.split(|b| *b == b'\n').any(|l| l == original_subject),
        "the Subject line changed"
    );
    let parsed = MessageParser::default().parse(&out).expect("mail-parser");
    assert_eq!(parsed.subject(), Some(SUBJECT));
    assert_eq!(
        parsed.header_raw("X-Fumidai-Sanitized").map(str::trim),
        Some("DEL_ATTACH"),
        "the forged header is replaced"
    );
    let text = text_of(&out);
    assert!(text.contains(SENTENCE), "{label}: {text}");
    assert!(text.contains(BANNER_JA), "{text}");
    let sha = hex::encode(Sha256::digest(b"MZ\x90\x00 pretend executable"));
    assert!(text.contains(&format!("SHA-256: {sha}")), "{text}");
    assert!(text.contains("隔離ID Q-20260401-0001"));
    assert!(text.contains("invoice.exe") && text.contains("executable file"));
    let names: Vec<String> = parsed
        .attachments()
        .map(|a| a.attachment_name().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(names, ["見積書.txt"]);
    assert_eq!(rebuilt.actions, [Action::DelAttach]);
    assert_eq!(rebuilt.removed.len(), 1);
    assert_eq!(rebuilt.removed[0].sha256, sha);
    assert!(!out.windows(4).any(|w| w == b"MZ\x90\x00"));
}

#[test]
fn iso_2022_jp_message_keeps_its_japanese() {
    check_japanese(encoding_rs::ISO_2022_JP, "ISO-2022-JP", "\n");
    check_japanese(encoding_rs::ISO_2022_JP, "ISO-2022-JP", "\r\n");
}

#[test]
fn shift_jis_message_keeps_its_japanese() {
    check_japanese(encoding_rs::SHIFT_JIS, "Shift_JIS", "\n");
    check_japanese(encoding_rs::SHIFT_JIS, "Shift_JIS", "\r\n");
}

const HTML_ONLY: &str = "From: a@example.net\r\nTo: b@example.com\r\nSubject: link\r\n\
MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
<html><body><p>Visit https://example.com/login now or <a href=\"https://evil.example/x\">click</a>.</p>\
<p>Also http://www.example.org/.</p></body></html>\r\n";

#[test]
fn html_only_message_becomes_defanged_text() {
    let limits = Limits::default();
    let (rebuilt, out) = rebuild(HTML_ONLY.as_bytes(), &plan(&[], &limits));
    assert_eq!(
        header_value(&rebuilt, "X-Fumidai-Sanitized"),
        Some("CHG_TEXT REP_LINK")
    );
    let text = text_of(&out);
    assert!(text.contains("hxxps://example[.]com/login"), "{text}");
    assert!(
        text.contains("hxxps://evil[.]example/x"),
        "href target listed: {text}"
    );
    assert!(
        !text.contains("https://") && !text.contains("http://"),
        "{text}"
    );
    assert!(!String::from_utf8_lossy(&out).contains("<a href"));
    assert_eq!(rebuilt.actions, [Action::ChgText, Action::RepLink]);
}

#[test]
fn html_is_kept_as_an_alternative_when_neither_conversion_nor_defanging_is_asked() {
    let limits = Limits::default();
    let mut p = plan(&[], &limits);
    p.html_to_text = false;
    p.defang_links = false;
    let (rebuilt, out) = rebuild(HTML_ONLY.as_bytes(), &p);
    assert!(rebuilt.actions.is_empty());
    let parsed = MessageParser::default().parse(&out).expect("mail-parser");
    let html = parsed.body_html(0).expect("html body").into_owned();
    assert!(html.contains("<a href=\"https://evil.example/x\">"));
    assert!(html.contains(BANNER_JA), "{html}");
    assert!(text_of(&out).contains("https://example.com/login"));
    // With defanging asked, the HTML is converted even when html_to_text is false.
    p.defang_links = true;
    let (rebuilt, out) = rebuild(HTML_ONLY.as_bytes(), &p);
    assert_eq!(rebuilt.actions, [Action::ChgText, Action::RepLink]);
    assert!(!String::from_utf8_lossy(&out).contains("text/html"));
}

/// A message carrying `file` as its only attachment.
fn message_with(name: &str, ctype: &str, file: &[u8], eol: &str) -> Vec<u8> {
    let b64: Vec<String> = base64_encode(file)
        .as_bytes()
        .chunks(76)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    format!(
        "From: x@example.net\nTo: y@example.com\nSubject: document\nMIME-Version: 1.0\n\
         Content-Type: multipart/mixed; boundary=\"zz\"\n\n--zz\nContent-Type: text/plain\n\n\
         See the attached document.\n--zz\nContent-Type: {ctype}; name=\"{name}\"\n\
         Content-Disposition: attachment; filename=\"{name}\"\nContent-Transfer-Encoding: base64\n\n{}\n--zz--\n",
        b64.join("\n")
    )
    .replace('\n', eol)
    .into_bytes()
}

fn engine() -> Engine {
    Engine::new(Config::default()).expect("default config")
}

fn is_macro_finding(id: &str) -> bool {
    id.starts_with("VBA_") || id.starts_with("XLM_") || id.starts_with("OOXML_MACRO")
}

#[test]
fn docm_attachment_is_delivered_without_macros_and_rescans_clean() {
    let docm = corpus("office_macros/poi/document/SimpleMacro.docm");
    let raw = message_with(
        "SimpleMacro.docm",
        "application/vnd.ms-word.document.macroEnabled.12",
        &docm,
        "\r\n",
    );
    let engine = engine();
    let before = engine.scan(&raw, &Envelope::default()).expect("scan");
    assert!(before.findings.iter().any(|f| is_macro_finding(f.id)));

    let limits = Limits::default();
    let decisions = [Disposition::StripMacros];
    let (rebuilt, out) = rebuild(&raw, &plan(&decisions, &limits));
    assert_eq!(rebuilt.actions, [Action::DelMacro]);
    assert_eq!(rebuilt.stripped, ["SimpleMacro.docx"]);
    assert_uniform(&out, true);

    let parsed = MessageParser::default().parse(&out).expect("mail-parser");
    let att = parsed.attachments().next().expect("kept attachment");
    assert_eq!(att.attachment_name(), Some("SimpleMacro.docx"));
    assert_eq!(
        att.content_type()
            .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or(""))),
        Some("application/vnd.openxmlformats-officedocument.wordprocessingml.document".to_owned())
    );
    let mut zip = zip::ZipArchive::new(Cursor::new(att.contents())).expect("zip");
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).expect("entry");
        assert!(!entry.name().to_ascii_lowercase().contains("vbaproject"));
        let mut sink = Vec::new();
        entry.read_to_end(&mut sink).expect("inflate");
    }

    let after = engine.scan(&out, &Envelope::default()).expect("rescan");
    let macro_findings: Vec<_> = after
        .findings
        .iter()
        .filter(|f| is_macro_finding(f.id))
        .collect();
    assert!(macro_findings.is_empty(), "{macro_findings:?}");
    assert_eq!(after.verdict, Verdict::Clean, "{:?}", after.findings);
}

#[test]
fn encrypted_or_binary_documents_are_removed_when_stripping_fails() {
    let raw = message_with(
        "a.docm",
        "application/octet-stream",
        b"PK\x03\x04 broken",
        "\n",
    );
    let limits = Limits::default();
    let decisions = [Disposition::StripMacros];
    let (rebuilt, out) = rebuild(&raw, &plan(&decisions, &limits));
    assert_eq!(rebuilt.actions, [Action::DelAttach]);
    assert!(rebuilt.removed[0]
        .why
        .starts_with("the macros could not be removed"));
    assert_eq!(
        MessageParser::default()
            .parse(&out)
            .expect("parse")
            .attachment_count(),
        0
    );
    assert_uniform(&out, false);
}

#[test]
fn attack_messages_with_every_attachment_removed_rescan_clean() {
    let engine = engine();
    for path in [
        "email/generated/emotet_style_autoexec_xlsm.eml",
        "email/generated/emotet_style_pwzip_xlm_macro.eml",
        "email/generated/emotet_style_onenote_attachment.eml",
        "email/spamassassin/spam/olevbmacro/malicemacro.eml",
    ] {
        let raw = corpus(path);
        let before = engine.scan(&raw, &Envelope::default()).expect("scan");
        assert_ne!(before.verdict, Verdict::Clean, "{path}");
        let decisions: Vec<Disposition> = before
            .attachments
            .iter()
            .map(|_| Disposition::Remove {
                why: "malicious".to_owned(),
            })
            .collect();
        let limits = Limits::default();
        let (rebuilt, out) = rebuild(&raw, &plan(&decisions, &limits));
        assert_eq!(rebuilt.removed.len(), before.attachments.len(), "{path}");
        let after = engine.scan(&out, &Envelope::default()).expect("rescan");
        assert_eq!(
            after.verdict,
            Verdict::Clean,
            "{path}: {:?}",
            after.findings
        );
        assert!(after.attachments.is_empty(), "{path}");
        for removed in &rebuilt.removed {
            assert!(text_of(&out).contains(&removed.sha256), "{path}");
        }
    }
}

#[test]
fn attachments_without_a_decision_are_removed() {
    let raw = japanese_message(encoding_rs::ISO_2022_JP, "ISO-2022-JP", "\n");
    let limits = Limits::default();
    let decisions = [Disposition::Keep];
    let (rebuilt, out) = rebuild(&raw, &plan(&decisions, &limits));
    assert_eq!(rebuilt.removed.len(), 1);
    assert!(rebuilt.removed[0].why.contains("no decision"));
    assert!(rebuilt.removed[0].name.contains("見積書"));
    let parsed = MessageParser::default().parse(&out).expect("parse");
    assert_eq!(
        parsed
            .attachments()
            .next()
            .and_then(|a| a.attachment_name()),
        Some("invoice.exe")
    );

    let too_many = [Disposition::Keep, Disposition::Keep, Disposition::Keep];
    assert_eq!(
        rebuild_message(&raw, &plan(&too_many, &limits)),
        Err(SanitizeError::PlanMismatch {
            planned: 3,
            found: 2
        })
    );
}

#[test]
fn lf_and_crlf_originals_give_uniform_messages() {
    let limits = Limits::default();
    for eol in ["\n", "\r\n"] {
        let raw = message_with(
            "notes.txt",
            "text/plain",
            "メモ\r\nline two\n".as_bytes(),
            eol,
        );
        let decisions = [Disposition::Keep];
        let (rebuilt, out) = rebuild(&raw, &plan(&decisions, &limits));
        assert_uniform(&out, eol == "\r\n");
        assert_uniform(&rebuilt.body, true);
        let parsed = MessageParser::default().parse(&out).expect("parse");
        assert_eq!(parsed.subject(), Some("document"));
        assert_eq!(
            parsed
                .header_raw("Content-Type")
                .map(|v| v.matches("boundary").count()),
            Some(1)
        );
        assert!(text_of(&out).contains("See the attached document."));
        let att = parsed.attachments().next().expect("kept");
        assert_eq!(att.contents(), "メモ\r\nline two\n".as_bytes());
    }
}

#[test]
fn long_and_odd_names_survive_encoding() {
    let limits = Limits::default();
    let name = format!(
        "{}（最終版）\u{202E}fdp.exe",
        "とても長い名前の請求書".repeat(6)
    );
    let raw = format!(
        "Subject: n\nContent-Type: multipart/mixed; boundary=q\n\n--q\n\
         Content-Type: application/pdf\nContent-Disposition: attachment; filename*=UTF-8''{}\n\n%PDF-1.4\n--q--\n",
        name.bytes().map(|b| format!("%{b:02X}")).collect::<String>()
    );
    let decisions = [Disposition::Keep];
    let (_, out) = rebuild(raw.as_bytes(), &plan(&decisions, &limits));
    for line in out.split(|b| *b == b'\n') {
        assert!(
            line.len() <= 78,
            "long line {}",
            String::from_utf8_lossy(line)
        );
    }
    let parsed = MessageParser::default().parse(&out).expect("parse");
    assert_eq!(
        parsed
            .attachments()
            .next()
            .and_then(|a| a.attachment_name()),
        Some(name.as_str())
    );
}

#[test]
fn hostile_input_never_panics() {
    let limits = Limits::default();
    let mut inputs: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"no headers at all, just text https://evil.example/".to_vec(),
        b"\r\n\r\n".to_vec(),
        b"Subject: only headers".to_vec(),
        b"Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: application/zip\nContent-Transfer-Encoding: base64\n\nUEsDB".to_vec(),
        b"Content-Type: multipart/mixed; boundary=\"\"\n\n--\n--".to_vec(),
        b"Content-Type: message/rfc822\n\nContent-Type: multipart/mixed; boundary=y\n\n--y\n".to_vec(),
        (0u8..=255).cycle().take(5_000).collect(),
        "Content-Type: multipart/mixed; boundary=a\n\n".to_owned().into_bytes().into_iter()
            .chain("--a\nContent-Type: multipart/mixed; boundary=a\n\n".repeat(200).into_bytes())
            .collect(),
    ];
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/corpus/email/mail-parser/malformed");
    for entry in std::fs::read_dir(&dir).expect("malformed corpus") {
        inputs.push(std::fs::read(entry.expect("entry").path()).expect("read"));
    }
    for raw in &inputs {
        for decisions in [&[][..], &[Disposition::StripMacros][..]] {
            match rebuild_message(raw, &plan(decisions, &limits)) {
                Ok(rebuilt) => {
                    let out = rebuilt.message(raw);
                    let text = text_of(&out);
                    assert!(text.contains(BANNER_JA), "{text}");
                    assert!(!text.contains("https://"));
                }
                Err(e) => assert!(matches!(e, SanitizeError::PlanMismatch { .. })),
            }
        }
    }
}

#[test]
fn attached_message_is_one_attachment() {
    let inner = "From: in@example.net\nSubject: inner\nContent-Type: multipart/mixed; boundary=i\n\n\
                 --i\nContent-Type: text/plain\n\ninner text\n--i\nContent-Type: application/octet-stream; name=x.exe\n\
                 Content-Transfer-Encoding: base64\n\nTVqQAA==\n--i--\n";
    let raw = format!(
        "From: out@example.net\nSubject: fwd\nContent-Type: multipart/mixed; boundary=o\n\n--o\n\
         Content-Type: text/plain\n\nforwarded\n--o\nContent-Type: message/rfc822\n\n{inner}\n--o--\n"
    );
    let limits = Limits::default();
    let decisions = [Disposition::Remove {
        why: "forwarded message with an executable".to_owned(),
    }];
    let (rebuilt, out) = rebuild(raw.as_bytes(), &plan(&decisions, &limits));
    assert_eq!(rebuilt.removed.len(), 1);
    assert_eq!(rebuilt.removed[0].detected_type, "message/rfc822");
    let text = text_of(&out);
    assert!(
        text.contains("forwarded") && !text.contains("inner text"),
        "{text}"
    );
    assert!(!String::from_utf8_lossy(&out).contains("TVqQ"));

    // Kept, it goes as a 7bit message/rfc822 part mail-parser opens, the inner message intact.
    let decisions = [Disposition::Keep];
    let (_, out) = rebuild(raw.as_bytes(), &plan(&decisions, &limits));
    let parsed = MessageParser::default().parse(&out).expect("parse");
    let inner_parsed = parsed
        .attachments()
        .next()
        .and_then(|a| a.message())
        .expect("attached message");
    assert_eq!(inner_parsed.subject(), Some("inner"));
    assert_eq!(inner_parsed.attachment_count(), 1);
    // A message with 8-bit bytes becomes an .eml file in base64.
    let raw8 = raw.replace("inner text", "内側の本文");
    let (_, out) = rebuild(raw8.as_bytes(), &plan(&decisions, &limits));
    let parsed = MessageParser::default().parse(&out).expect("parse");
    let att = parsed.attachments().next().expect("kept");
    assert_eq!(att.attachment_name(), Some("message.eml"));
    assert!(String::from_utf8_lossy(att.contents()).contains("内側の本文"));
}
