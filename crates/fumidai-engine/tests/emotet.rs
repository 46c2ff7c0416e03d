//! Whole messages through the engine: the Emotet-style samples are caught for the right reasons, clean
//! business mail (Japanese included) is not, and nothing in the corpus makes the engine fail.

mod common;
use common::{corpus, engine, ids, mail_with_attachment, scan_mail};
use fumidai_engine::{Envelope, Verdict};

#[track_caller]
fn assert_caught(rel: &str, verdict: Verdict, must: &[&str]) {
    let r = scan_mail(rel);
    let found = ids(&r);
    assert!(
        r.verdict >= verdict,
        "{rel}: {:?} ({}) {found:?}",
        r.verdict,
        r.score
    );
    for id in must {
        assert!(found.contains(id), "{rel}: missing {id} in {found:?}");
    }
}

#[test]
fn password_zip_with_xlm_macro_and_password_in_body() {
    assert_caught(
        "email/generated/emotet_style_pwzip_xlm_macro.eml",
        Verdict::Malicious,
        &["ZIP_PASSWORD_FROM_BODY", "XLM_MACRO", "XLM_AUTO_OPEN"],
    );
}

#[test]
fn password_zip_with_renamed_eicar() {
    assert_caught(
        "email/generated/emotet_style_pwzip_eicar.eml",
        Verdict::Malicious,
        &["ZIP_PASSWORD_FROM_BODY", "EICAR_TEST_FILE"],
    );
}

#[test]
fn autoexec_xlsm() {
    assert_caught(
        "email/generated/emotet_style_autoexec_xlsm.eml",
        Verdict::Malicious,
        &["VBA_MACRO", "VBA_AUTOEXEC"],
    );
}

#[test]
fn onenote_attachment() {
    assert_caught(
        "email/generated/emotet_style_onenote_attachment.eml",
        Verdict::Suspicious,
        &["ONENOTE_FILE"],
    );
}

#[test]
fn spamassassin_macro_mails() {
    for rel in [
        "macro.eml",
        "malicemacro.eml",
        "renamedmacro.eml",
        "zippwmacro.eml",
    ] {
        assert_caught(
            &format!("email/spamassassin/spam/olevbmacro/{rel}"),
            Verdict::Suspicious,
            &["VBA_MACRO"],
        );
    }
    let r = scan_mail("email/spamassassin/spam/olevbmacro/nomacro.eml");
    assert!(!ids(&r).contains(&"VBA_MACRO"), "{:?}", ids(&r));
}

#[test]
fn rspamd_executable_and_nested_zip_mails() {
    assert_caught("email/rspamd/exe_attm.eml", Verdict::Malicious, &[]);
    assert_caught("email/rspamd/zip-doublebad.eml", Verdict::Suspicious, &[]);
}

#[test]
fn disguised_macro_file_named_jpg() {
    let data = std::fs::read(corpus("office_macros/spamassassin_extracted/renamed.jpg")).unwrap();
    let mail = mail_with_attachment("photo", "see attached", "photo.jpg", &data);
    let r = engine().scan(&mail, &Envelope::default()).unwrap();
    let found = ids(&r);
    assert!(
        found.contains(&"EXTENSION_MISMATCH") && found.contains(&"VBA_MACRO"),
        "{found:?}"
    );
    assert_eq!(r.attachments[0].detected_type.label(), "xlsm");
}

#[test]
fn japanese_password_in_iso_2022_jp_body_opens_the_zip() {
    let zip = std::fs::read(corpus("carriers/archives/macro.zip")).unwrap();
    // "解凍パスワード：sa" in ISO-2022-JP, as Japanese mailers still send it.
    let (body, _, _) =
        encoding_rs::ISO_2022_JP.encode("請求書を送付します。\r\n解凍パスワード：sa\r\n");
    let mut mail = mail_with_attachment(
        "=?ISO-2022-JP?B?GyRCQEE1YT1xGyhC?=",
        "PLACEHOLDER",
        "seikyu.zip",
        &zip,
    );
    let at = mail.windows(11).position(|w| w == b"PLACEHOLDER").unwrap();
    mail.splice(at..at + 11, body.iter().copied());
    let text = String::from_utf8_lossy(&mail).replace("charset=utf-8", "charset=ISO-2022-JP");
    let r = engine()
        .scan(text.as_bytes(), &Envelope::default())
        .unwrap();
    assert_eq!(r.subject.as_deref(), Some("請求書"));
    let found = ids(&r);
    assert!(
        found.contains(&"ZIP_PASSWORD_FROM_BODY") && found.contains(&"VBA_MACRO"),
        "{found:?}"
    );
}

#[test]
fn clean_business_mail_is_clean() {
    let clean = [
        "email/rspamd/ham.eml",
        "email/spamassassin/nice/001",
        "email/spamassassin/nice/cjk/iso-2022-jp.1",
        "email/spamassassin/nice/cjk/iso-2022-jp.2",
        "email/tika/testEmailWithPNGAtt.eml",
        "email/tika/testRFC822_multipart_attachments.eml",
        "email/sisimai_japanese/lhost-postfix-09.eml",
        "email/sisimai_japanese/lhost-exchange2007-04.eml",
    ];
    let mut bad = Vec::new();
    for rel in clean {
        let r = scan_mail(rel);
        if r.verdict != Verdict::Clean {
            bad.push(format!(
                "{rel}: {:?} {} {:?}",
                r.verdict, r.score, r.findings
            ));
        }
    }
    assert!(bad.is_empty(), "false positives:\n{}", bad.join("\n"));
}

#[test]
fn every_corpus_file_scans_as_message_and_as_file_without_error() {
    let engine = engine();
    let mut n = 0;
    for entry in walkdir::WalkDir::new(corpus(""))
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
    {
        let data = std::fs::read(entry.path()).unwrap();
        let name = entry.file_name().to_string_lossy();
        engine
            .scan(&data, &Envelope::default())
            .unwrap_or_else(|e| panic!("{}: {e}", entry.path().display()));
        engine
            .scan_file(&name, &data)
            .unwrap_or_else(|e| panic!("{}: {e}", entry.path().display()));
        n += 1;
    }
    assert!(n > 250, "only {n} files");
}
