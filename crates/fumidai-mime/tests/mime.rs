//! Integration tests on real corpus mails and on the authored evasion mails in tests/data.
mod common;
use common::{corpus, data, ids, with_parsed};
use fumidai_core::{FileInput, FileKind, FileReport, Limits, Scan};
use fumidai_mime::{check_headers, check_reply_chain, parse, Partner, SenderContext};

const EICAR: &[u8] = br"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

fn b64(d: &[u8]) -> String {
    fumidai_mime::transfer::base64_encode(d)
}

#[test]
fn evasion_mails_surface_the_attachment() {
    let cases = [
        (
            "evasion-two-boundary-params.eml",
            Some("MIME_MULTIPLE_BOUNDARIES"),
        ),
        (
            "evasion-two-content-types.eml",
            Some("MIME_MULTIPLE_CONTENT_TYPE"),
        ),
        (
            "evasion-boundary-in-disposition.eml",
            Some("MIME_BOUNDARY_OUTSIDE_CONTENT_TYPE"),
        ),
        (
            "evasion-rfc2231-boundary.eml",
            Some("MIME_BOUNDARY_OUTSIDE_CONTENT_TYPE"),
        ),
        (
            "evasion-comment-in-field-name.eml",
            Some("MIME_HEADER_NAME_COMMENT"),
        ),
        (
            "evasion-semicolon-boundary.eml",
            Some("MIME_AMBIGUOUS_BOUNDARY"),
        ),
        ("evasion-undeclared-boundary.eml", Some("MIME_HIDDEN_PARTS")),
        ("evasion-uuencoded-body.eml", None),
    ];
    for (file, finding) in cases {
        let raw = data(file);
        let ((names, eicar, text), f) = with_parsed(&raw, |m| {
            let names: Vec<String> = m.attachments.iter().map(|a| a.name.clone()).collect();
            let eicar = m
                .attachments
                .iter()
                .filter(|a| a.name == "payload.exe" && &*a.data == EICAR)
                .count();
            (names, eicar, m.text.clone())
        });
        assert_eq!(eicar, 1, "{file}: attachments {names:?}");
        if let Some(id) = finding {
            assert!(ids(&f).contains(&id), "{file}: {:?}", ids(&f));
            // The decoy text part is surfaced too (every interpretation).
            assert!(text.contains("quarterly figures"), "{file}: text {text:?}");
        }
    }
}

#[test]
fn plain_multipart_has_no_evasion_findings() {
    let raw = corpus("email/generated/emotet_style_pwzip_eicar.eml");
    let ((text, atts), f) = with_parsed(&raw, |m| (m.text.clone(), m.attachments.len()));
    assert!(text.contains("Archive password: 4471"), "{text}");
    assert_eq!(atts, 1);
    assert!(f.iter().all(|f| !f.id.starts_with("MIME_")), "{f:?}");
}

fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn whole_corpus_parses_without_panic() {
    let base = std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/corpus"
    ));
    let mut files = Vec::new();
    walk(&base.join("email"), &mut files);
    walk(&base.join("phishing"), &mut files);
    assert!(files.len() > 50, "{}", files.len());
    let mut with_from = 0;
    let started = std::time::Instant::now();
    for p in &files {
        let raw = std::fs::read(p).unwrap();
        let (has_from, _) = with_parsed(&raw, |m| m.from.is_some());
        with_from += usize::from(has_from);
    }
    println!(
        "parsed {} corpus files in {:?}",
        files.len(),
        started.elapsed()
    );
    assert!(
        with_from > files.len() / 2,
        "{with_from} of {}",
        files.len()
    );
}

#[test]
fn japanese_corpus_decodes() {
    let jp = |s: &str| {
        s.chars().any(|c| {
            ('\u{3040}'..='\u{30ff}').contains(&c) || ('\u{4e00}'..='\u{9fff}').contains(&c)
        })
    };
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/corpus/email/sisimai_japanese"
    );
    let mut japanese = 0;
    let mut total = 0;
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let raw = std::fs::read(e.path()).unwrap();
        total += 1;
        let ((subject, text), _) = with_parsed(&raw, |m| {
            (m.subject.clone().unwrap_or_default(), m.text.clone())
        });
        if jp(&subject) || jp(&text) {
            japanese += 1;
        }
        assert!(
            !text.contains('\u{1b}'),
            "{:?}: raw ISO-2022-JP escapes left in text",
            e.path()
        );
    }
    assert!(
        japanese >= total / 2,
        "{japanese} of {total} decoded to Japanese"
    );

    let raw = corpus("email/spamassassin/nice/cjk/iso-2022-jp.2");
    let ((subject, text), _) = with_parsed(&raw, |m| {
        (m.subject.clone().unwrap_or_default(), m.text.clone())
    });
    assert!(jp(&subject) || jp(&text), "{subject:?} {text:?}");
    assert!(!text.contains('\u{fffd}') && !text.contains('\u{1b}'));
}

#[test]
fn cp932_and_windows_31j_bodies() {
    let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode("パスワードは「ｱｲｳ①髙﨑」です");
    for label in ["CP932", "Windows-31J", "x-sjis", "Shift-JIS"] {
        let mut raw = format!(
            "From: a@example.jp\r\nSubject: =?{label}?B?{}?=\r\nContent-Type: text/plain; charset={label}\r\nContent-Transfer-Encoding: 8bit\r\n\r\n",
            b64(&encoding_rs::SHIFT_JIS.encode("請求書").0)
        )
        .into_bytes();
        raw.extend_from_slice(&sjis);
        let ((subject, text), _) = with_parsed(&raw, |m| (m.subject.clone(), m.text.clone()));
        assert_eq!(text, "パスワードは「ｱｲｳ①髙﨑」です", "{label}");
        assert_eq!(subject.as_deref(), Some("請求書"), "{label}");
    }
}

#[test]
fn japanese_attachment_names() {
    let name = "請求書.pdf.exe";
    let (jis, _, _) = encoding_rs::ISO_2022_JP.encode(name);
    let pct: String = jis.iter().map(|b| format!("%{b:02X}")).collect();
    let rfc2231 = format!("attachment; filename*=ISO-2022-JP''{pct}");
    let rfc2047 = format!("attachment; filename=\"=?ISO-2022-JP?B?{}?=\"", b64(&jis));
    let split = {
        // RFC 2231 continuation split over two sections
        let half = pct.len() / 2 / 3 * 3;
        format!(
            "attachment;\r\n filename*0*=iso-2022-jp'ja'{};\r\n filename*1*={}",
            &pct[..half],
            &pct[half..]
        )
    };
    for disp in [rfc2231, rfc2047, split] {
        let raw = format!(
            "From: a@example.jp\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: {disp}\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--b--\r\n",
            b64(b"MZ")
        );
        let (names, _) = with_parsed(raw.as_bytes(), |m| {
            m.attachments
                .iter()
                .map(|a| (a.name.clone(), a.part.clone(), a.data.to_vec()))
                .collect::<Vec<_>>()
        });
        assert_eq!(
            names,
            vec![(name.to_owned(), name.to_owned(), b"MZ".to_vec())],
            "{disp}"
        );
    }
}

#[test]
fn real_attachment_names() {
    let (names, _) = with_parsed(&corpus("email/rspamd/fname.eml"), |m| {
        m.attachments
            .iter()
            .map(|a| a.name.clone())
            .collect::<Vec<_>>()
    });
    assert!(
        names.contains(&"[삼성생명]2020.08.14 데일리 경제뉴스.pdf".to_owned()),
        "{names:?}"
    );
    assert!(
        names.contains(&"01029_402110_10620_RGT06902_PRT180ML_20200803_101820.pdf".to_owned()),
        "{names:?}"
    );
    let (names, _) = with_parsed(&corpus("email/rspamd/bad_ext.dotted_file_name.eml"), |m| {
        m.attachments
            .iter()
            .map(|a| (a.name.clone(), a.declared_type.clone()))
            .collect::<Vec<_>>()
    });
    assert!(
        names.contains(&(
            "bad_ext.dotted_file_name.exe".to_owned(),
            Some("application/x-msdownload".to_owned())
        )),
        "{names:?}"
    );
}

#[test]
fn attached_message_is_surfaced_not_opened() {
    let raw = corpus("email/rspamd/alternative-nested-rfc822.eml");
    let ((atts, html), _) = with_parsed(&raw, |m| {
        let atts: Vec<(String, Option<String>, bool)> = m
            .attachments
            .iter()
            .map(|a| {
                (
                    a.name.clone(),
                    a.declared_type.clone(),
                    a.data
                        .windows(13)
                        .any(|w| w.eq_ignore_ascii_case(b"content-type:")),
                )
            })
            .collect();
        (atts, m.html.len())
    });
    let msg = atts
        .iter()
        .find(|a| a.1.as_deref() == Some("message/rfc822"))
        .expect("message/rfc822 attachment");
    assert_eq!(msg.0, "attached.eml");
    assert!(msg.2, "raw inner message kept");
    assert!(atts.iter().any(|a| a.0 == "spacer.png"), "{atts:?}");
    assert!(html > 0);
}

fn nested_multipart(levels: usize) -> Vec<u8> {
    let mut s = String::from("From: a@example.com\r\nSubject: deep\r\n");
    for i in 0..levels {
        s.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n"
        ));
    }
    s.push_str("Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=deep.exe\r\n\r\nMZ\r\n");
    for i in (0..levels).rev() {
        s.push_str(&format!("--b{i}--\r\n"));
    }
    s.into_bytes()
}

fn nested_messages(levels: usize) -> Vec<u8> {
    let mut s = String::new();
    for i in 0..levels {
        s.push_str(&format!(
            "From: a{i}@example.com\r\nSubject: level {i}\r\nContent-Type: message/rfc822\r\n\r\n"
        ));
    }
    s.push_str("From: z@example.com\r\nSubject: bottom\r\n\r\nbody\r\n");
    s.into_bytes()
}

/// What the engine does: attached messages go back to `parse`, through the depth-limited `Scan::inspect`.
fn dispatch_messages(scan: &mut Scan<'_>, input: FileInput<'_>) -> FileReport {
    let mut report = FileReport::new(
        input.name,
        input.declared_type,
        FileKind::Message,
        input.data,
    );
    let msg = parse(scan, input.data);
    for a in &msg.attachments {
        let child = scan.inspect(FileInput {
            name: &a.name,
            declared_type: a.declared_type.as_deref(),
            data: &a.data,
            part: fumidai_core::child_part(&input.part, &a.part),
            whole: None,
        });
        report.children.push(child);
    }
    report
}

#[test]
fn deep_nesting_on_a_small_stack() {
    let handle = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(|| {
            let limits = Limits::default();
            let raw = nested_multipart(1000);
            let mut scan = Scan::new(&limits, fumidai_core::hash_only);
            let msg = parse(&mut scan, &raw);
            assert_eq!(msg.subject.as_deref(), Some("deep"));
            drop(msg);
            let f = scan.into_findings();
            assert!(ids(&f).contains(&"MIME_NESTING_TOO_DEEP"), "{f:?}");

            let raw = nested_messages(1000);
            let mut scan = Scan::new(&limits, dispatch_messages);
            let report = scan.inspect(FileInput {
                name: "m.eml",
                declared_type: None,
                data: &raw,
                part: String::new(),
                whole: None,
            });
            assert!(report.walk().len() <= limits.max_depth as usize + 1);
            let f = scan.into_findings();
            assert!(ids(&f).contains(&"NESTING_TOO_DEEP"), "{f:?}");

            // A tight part limit is honoured too.
            let small = Limits {
                max_parts: 5,
                ..Limits::default()
            };
            let mut scan = Scan::new(&small, fumidai_core::hash_only);
            let _ = parse(&mut scan, &nested_multipart(20));
            assert!(ids(scan.findings()).contains(&"MIME_TOO_MANY_PARTS"));
        })
        .unwrap();
    handle.join().expect("no panic or overflow");
}

#[test]
fn display_name_spoofing() {
    let ctx = SenderContext {
        partners: vec![Partner {
            name: "Bank of America".into(),
            domains: vec!["bankofamerica.com".into()],
        }],
        ..Default::default()
    };
    let limits = Limits::default();
    let raw = corpus("email/rspamd/sa_display_name_spoof.eml");
    let mut scan = Scan::new(&limits, fumidai_core::hash_only);
    let msg = parse(&mut scan, &raw);
    check_headers(&mut scan, &msg, &ctx);
    assert!(
        ids(scan.findings()).contains(&"DISPLAY_NAME_PARTNER"),
        "{:?}",
        scan.findings()
    );
    // The same name on the partner's own domain is fine.
    let own = SenderContext {
        partners: vec![Partner {
            name: "Bank of America".into(),
            domains: vec!["example.org".into()],
        }],
        ..Default::default()
    };
    let mut scan2 = Scan::new(&limits, fumidai_core::hash_only);
    check_headers(&mut scan2, &msg, &own);
    assert!(!ids(scan2.findings()).contains(&"DISPLAY_NAME_PARTNER"));

    let raw = corpus("phishing/spamassassin/spoof1");
    let mut scan = Scan::new(&limits, fumidai_core::hash_only);
    let msg = parse(&mut scan, &raw);
    check_headers(&mut scan, &msg, &SenderContext::default());
    let f = ids(scan.findings());
    assert!(f.contains(&"DISPLAY_NAME_HAS_ADDRESS"), "{f:?}");
    assert!(f.contains(&"REPLY_TO_DIFFERENT_DOMAIN"), "{f:?}");
}

#[test]
fn envelope_and_own_domain() {
    let raw = b"From: =?ISO-2022-JP?B?GyRCO1RAbiEmPlI2SBsoQg==?= <ceo@Corp.Example.co.jp>\r\nReply-To: ceo@sub.corp.example.co.jp\r\nSubject: x\r\n\r\nbody\r\n";
    let limits = Limits::default();
    let mut scan = Scan::new(&limits, fumidai_core::hash_only);
    let msg = parse(&mut scan, raw);
    let ctx = SenderContext {
        envelope_from: Some("bounce@mailer.example.net".into()),
        own_domains: vec!["example.co.jp".into()],
        own_names: vec!["Corp".into()],
        ..Default::default()
    };
    check_headers(&mut scan, &msg, &ctx);
    let f = ids(scan.findings());
    assert!(
        f.contains(&"ENVELOPE_FROM_MISMATCH") && f.contains(&"FROM_OWN_DOMAIN"),
        "{f:?}"
    );
    assert!(
        !f.contains(&"REPLY_TO_DIFFERENT_DOMAIN"),
        "same registrable domain: {f:?}"
    );
    let ctx = SenderContext {
        envelope_from: Some("x@mail.example.co.jp".into()),
        own_domains: vec!["EXAMPLE.co.jp".into()],
        ..Default::default()
    };
    let mut scan = Scan::new(&limits, fumidai_core::hash_only);
    check_headers(&mut scan, &msg, &ctx);
    assert!(scan.findings().is_empty(), "{:?}", scan.findings());
}

#[test]
fn reply_chain_hijack_on_generated_mail() {
    let raw = corpus("email/generated/emotet_style_pwzip_eicar.eml");
    let limits = Limits::default();
    let mut scan = Scan::new(&limits, fumidai_core::hash_only);
    let msg = parse(&mut scan, &raw);
    assert_eq!(
        fumidai_mime::quoted_domains(&msg.text),
        vec!["example.org".to_owned()]
    );
    check_reply_chain(&mut scan, &msg, false);
    assert!(scan.findings().is_empty());
    check_reply_chain(&mut scan, &msg, true);
    let f = scan.findings();
    assert_eq!(ids(f), vec!["REPLY_CHAIN_HIJACK"]);
    assert!(f[0].detail.contains("example.org"));
}

#[test]
fn attached_message_multiparts_are_not_hidden_parts() {
    // rfc/002.eml attaches a message whose own multipart holds a GIF: that GIF belongs to the inner
    // message (the engine parses it again), not to the outer one.
    let raw = corpus("email/mail-parser/rfc/002.eml");
    let (names, findings) = with_parsed(&raw, |m| {
        m.attachments
            .iter()
            .map(|a| (a.name.clone(), a.declared_type.clone()))
            .collect::<Vec<_>>()
    });
    assert!(
        !ids(&findings).contains(&"MIME_HIDDEN_PARTS"),
        "{findings:?}"
    );
    assert_eq!(names.len(), 1, "{names:?}");
    assert_eq!(names[0].1.as_deref(), Some("message/rfc822"));
}
