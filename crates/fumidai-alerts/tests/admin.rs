//! Alerts to our own administrators (a held outbound account, our domain spoofed), asserted on content, and
//! the `[alerts.notify] admins` setting.

use fumidai_alerts::admin::{render, AdminAlert, AdminNotice};
use fumidai_alerts::config::NotifyConfig;
use fumidai_alerts::{AlertsConfig, Case, CaseState, EventKind, Sample, SampleAttachment};
use fumidai_store::OutboundTotals;

/// 2022-03-01 00:00 UTC (09:00 JST).
const MARCH_1: i64 = 1_646_092_800;
const HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const ACCOUNT: &str = "tanaka@corp.example.jp";
const REASON: &str = "new recipients 57 >= 50 in 60 minutes";

fn languages(list: &[&str]) -> Vec<String> {
    list.iter().map(|l| (*l).to_owned()).collect()
}

/// The message that held the account: one of ours, to many new recipients, with a macro workbook.
fn outbound_sample() -> Sample {
    Sample {
        received_at: Some(MARCH_1 + 120),
        message_id: Some("<held-1@corp.example.jp>".into()),
        from: Some("田中 太郎 <tanaka@corp.example.jp>".into()),
        subject: Some("Re: 請求書の件".into()),
        attachments: vec![SampleAttachment {
            name: "請求書.zip > 請求書.xlsm".into(),
            kind: "application/vnd.ms-excel.sheet.macroEnabled.12".into(),
            size: 48_213,
            sha256: HASH.into(),
            encrypted: true,
        }],
        recipient_count: 12,
        recipient_domains: vec!["partner.example".into(), "customer.example".into()],
        findings: vec!["VBA_AUTOEXEC".into(), "ZIP_PASSWORD_IN_BODY".into()],
        ..Sample::default()
    }
}

fn held(sample: Option<&Sample>) -> AdminAlert<'_> {
    AdminAlert::AccountHeld {
        account: ACCOUNT,
        reason: REASON,
        totals: OutboundTotals {
            messages: 9,
            recipients: 61,
            new_recipients: 57,
            risky: 3,
        },
        window_minutes: 60,
        held_at: MARCH_1 + 180,
        sample,
    }
}

/// An original returned to us in a bounce: our domain in the From, sent from somewhere else.
fn returned_original() -> Sample {
    Sample {
        received_at: Some(MARCH_1 + 3600),
        date: Some("Tue, 1 Mar 2022 09:58:00 +0900".into()),
        message_id: Some("<forged-77@corp.example.jp>".into()),
        return_path: Some("<sato@corp.example.jp>".into()),
        from: Some("佐藤 <sato@corp.example.jp>".into()),
        subject: Some("ご請求書送付のお願い".into()),
        received: vec![
            "from bounce.partner.example ([198.51.100.20]) by mx.corp.example.jp".into(),
            "from unknown ([203.0.113.66]) by mx.partner.example".into(),
        ],
        source_ip: Some("203.0.113.66".into()),
        recipient_count: 1,
        recipient_domains: vec!["partner.example".into()],
        reason: "a bounce for a Message-ID we never sent".into(),
        ..Sample::default()
    }
}

fn own_case(samples: Vec<Sample>) -> Case {
    Case {
        id: 31,
        organisation: "corp.example.jp".into(),
        kind: EventKind::Impersonation,
        state: CaseState::New,
        first_seen: MARCH_1,
        last_seen: MARCH_1 + 86_400,
        event_count: 4,
        source_ips: vec!["203.0.113.66".into()],
        samples,
        sites: vec!["mx1".into()],
        opened_at: MARCH_1,
        reopened: 0,
        state_changed_at: MARCH_1,
        last_notified_at: None,
    }
}

fn rendered(alert: &AdminAlert<'_>, langs: &[&str]) -> AdminNotice {
    render(alert, "mx1", &languages(langs)).expect("render the admin alert")
}

#[test]
fn a_held_account_alert_says_who_why_since_when_and_what_to_do_in_english() {
    let sample = outbound_sample();
    let alert = rendered(&held(Some(&sample)), &["en"]);
    assert_eq!(
        alert.subject,
        format!("[fumidai Outbound account held] {ACCOUNT} (mx1)")
    );
    let body = &alert.body;
    for expected in [
        &format!("* Account:     {ACCOUNT}"),
        &format!("* Why:         {REASON}"),
        "* Held since:  2022-03-01 09:03 JST (2022-03-01 00:03 UTC)",
        "In the last 60 minutes:",
        "9 messages to 61 recipients",
        "57 of them new",
        "3 messages judged suspicious or malicious",
        "Emotet",
        "EmoCheck",
        "end all of its sessions",
        "fumidai quarantine list",
        "Warn the correspondents who got mail from this account before the hold",
        &format!("fumidai outbound release-account {ACCOUNT}\n"),
        "`fumidai outbound status`",
        "* The message that crossed the threshold (excerpt)",
        "Subject:        Re: 請求書の件",
        "Recipients:     12 (domains: partner.example, customer.example)",
        "- 請求書.zip > 請求書.xlsm (application/vnd.ms-excel.sheet.macroEnabled.12, 48213 bytes, encrypted)",
        &format!("SHA-256: {HASH}"),
        "Findings:       VBA_AUTOEXEC, ZIP_PASSWORD_IN_BODY",
    ] {
        assert!(body.contains(expected), "missing {expected:?} in:\n{body}");
    }
    assert!(
        !body.contains("メール管理者各位"),
        "Japanese in an English-only alert"
    );
}

#[test]
fn a_held_account_alert_in_japanese_and_without_a_sample() {
    let sample = outbound_sample();
    let ja = rendered(&held(Some(&sample)), &["ja"]);
    assert_eq!(ja.subject, format!("[fumidai 送信保留] {ACCOUNT} (mx1)"));
    for expected in [
        &format!("■ アカウント: {ACCOUNT}"),
        &format!("■ 理由: {REASON}"),
        "■ 保留開始: 2022-03-01 09:03 JST（2022-03-01 00:03 UTC）",
        "直近 60 分間",
        "9 通、宛先 61 件",
        "初めての宛先 57 件",
        "EmoCheck",
        "fumidai quarantine list",
        &format!("fumidai outbound release-account {ACCOUNT}\n"),
        "■ しきい値を超えたメール（抜粋）",
        &format!("SHA-256: {HASH}"),
        "検出:           VBA_AUTOEXEC, ZIP_PASSWORD_IN_BODY",
    ] {
        assert!(
            ja.body.contains(expected),
            "missing {expected:?} in:\n{}",
            ja.body
        );
    }
    assert!(!ja.body.contains("What to do"));

    let bare = rendered(&held(None), &["ja", "en"]);
    assert!(
        bare.body.contains("送信数だけでしきい値を超えました"),
        "{}",
        bare.body
    );
    assert!(
        bare.body.contains("the counts alone crossed the threshold"),
        "{}",
        bare.body
    );
    assert!(!bare.body.contains("SHA-256"));
}

#[test]
fn both_languages_come_japanese_first_in_one_alert() {
    let sample = outbound_sample();
    let both = rendered(&held(Some(&sample)), &["ja", "en"]);
    assert_eq!(
        both.subject,
        format!("[fumidai 送信保留 / Outbound account held] {ACCOUNT} (mx1)")
    );
    let ja = both.body.find("メール管理者各位").expect("Japanese part");
    let en = both
        .body
        .find("To the mail administrators,")
        .expect("English part");
    let separator = both.body.find("=====").expect("separator");
    assert!(ja < separator && separator < en);

    let reversed = rendered(&held(Some(&sample)), &["en", "ja"]);
    assert!(
        reversed.body.find("To the mail administrators,") < reversed.body.find("メール管理者各位")
    );
    assert_eq!(
        reversed.subject,
        format!("[fumidai Outbound account held / 送信保留] {ACCOUNT} (mx1)")
    );
}

#[test]
fn a_backscatter_alert_shows_the_returned_originals_and_the_steps() {
    let case = own_case(vec![returned_original()]);
    let alert = AdminAlert::DomainSpoofed {
        case: &case,
        backscatter: true,
    };
    let en = rendered(&alert, &["en"]);
    assert_eq!(
        en.subject,
        "[fumidai Our domain spoofed (backscatter)] corp.example.jp FUMIDAI-31 (mx1)"
    );
    for expected in [
        "mail sent in our organisation's name (corp.example.jp) by someone else",
        "backscatter",
        "* Case:        FUMIDAI-31  (fumidai alerts show 31)",
        "2022-03-01 09:00 JST to 2022-03-02 09:00 JST",
        "* Messages:    4",
        "* Source IP addresses: 203.0.113.66\n",
        "Look for infected PCs inside",
        "Check the mail server and its accounts",
        "Warn our correspondents, even when nothing is found",
        "SPF, DKIM and DMARC for corp.example.jp (DMARC p=quarantine or p=reject)",
        "not proof of an infection",
        "fumidai alerts resolve 31",
        "* Returned original 1 of 1",
        "From:           佐藤 <sato@corp.example.jp>",
        "Subject:        ご請求書送付のお願い",
        "Message-ID:     <forged-77@corp.example.jp>",
        "Source IP:      203.0.113.66",
        "    from bounce.partner.example ([198.51.100.20]) by mx.corp.example.jp\n    from unknown ([203.0.113.66]) by mx.partner.example\n",
    ] {
        assert!(en.body.contains(expected), "missing {expected:?} in:\n{}", en.body);
    }

    let ja = rendered(&alert, &["ja"]);
    assert_eq!(
        ja.subject,
        "[fumidai 自組織ドメインのなりすまし（バックスキャッタ）] corp.example.jp FUMIDAI-31 (mx1)"
    );
    for expected in [
        "バックスキャッタ",
        "組織内に感染した PC がないか",
        "メールサーバとそのアカウントを確認",
        "何も見つからなくても、取引先に注意を呼びかけて",
        "p=quarantine または p=reject",
        "感染の証拠ではありません",
        "■ 返送された元のメール 1/1",
        "Message-ID:     <forged-77@corp.example.jp>",
    ] {
        assert!(
            ja.body.contains(expected),
            "missing {expected:?} in:\n{}",
            ja.body
        );
    }
}

#[test]
fn a_spoofed_domain_alert_without_backscatter_and_a_case_without_samples() {
    let case = own_case(vec![returned_original(), returned_original()]);
    let alert = AdminAlert::DomainSpoofed {
        case: &case,
        backscatter: false,
    };
    let both = rendered(&alert, &["ja", "en"]);
    assert_eq!(
        both.subject,
        "[fumidai 自組織ドメインのなりすまし / Our domain spoofed] corp.example.jp FUMIDAI-31 (mx1)"
    );
    assert!(both.body.contains("* Sample 2 of 2"), "{}", both.body);
    assert!(both.body.contains("■ 検体 2/2"), "{}", both.body);
    assert!(!both.body.contains("backscatter") && !both.body.contains("Returned original"));

    let empty = own_case(Vec::new());
    let alert = AdminAlert::DomainSpoofed {
        case: &empty,
        backscatter: true,
    };
    let both = rendered(&alert, &["ja", "en"]);
    assert!(
        both.body.contains("* No sample was kept for this case."),
        "{}",
        both.body
    );
    assert!(
        both.body.contains("■ この案件には検体が残っていません。"),
        "{}",
        both.body
    );
    assert!(both.body.contains("Look for infected PCs inside"));
}

#[test]
fn a_hostile_sample_and_account_come_out_cleaned_and_defanged() {
    let hostile = Sample {
        from: Some("\"Admin\u{202E}fdp.exe\" <x@corp.example.jp>".into()),
        subject: Some(
            "<script>alert(1)</script> open https://evil.example/payload now\r\nBcc: victim@else.example".into(),
        ),
        message_id: Some("<a@b>\nX-Injected: yes".into()),
        received: vec!["from www.evil.example\r\n\tby us".into()],
        attachments: vec![SampleAttachment {
            name: "invoice\u{202E}fdp.exe".into(),
            kind: "application/x-dosexec".into(),
            size: 1,
            sha256: HASH.into(),
            encrypted: false,
        }],
        findings: vec!["EXECUTABLE\nX-Evil: 1".into()],
        ..Sample::default()
    };
    let account = "mallory@corp.example.jp\r\nBcc: everyone@corp.example.jp";
    let alerts = [
        AdminAlert::AccountHeld {
            account,
            reason: "risky 3 >= 3 in 60 minutes\nhttps://evil.example/",
            totals: OutboundTotals::default(),
            window_minutes: 60,
            held_at: MARCH_1,
            sample: Some(&hostile),
        },
        AdminAlert::DomainSpoofed {
            case: &own_case(vec![hostile.clone()]),
            backscatter: true,
        },
    ];
    for alert in &alerts {
        let notice = rendered(alert, &["ja", "en"]);
        let all = format!("{}\n{}", notice.subject, notice.body);
        assert!(!notice.subject.contains(['\r', '\n']), "{}", notice.subject);
        assert!(
            !all.contains('\u{202E}'),
            "a bidi override survived:\n{all}"
        );
        assert!(!all.contains('\r'));
        assert!(!all.contains("https://"), "a live link survived:\n{all}");
        assert!(!all.contains("www.evil"), "a live host survived:\n{all}");
        for line in all.lines() {
            let line = line.trim_start();
            for injected in ["Bcc:", "X-Injected:", "X-Evil:", "by us"] {
                assert!(
                    !line.starts_with(injected),
                    "{injected:?} starts a line of its own:\n{all}"
                );
            }
        }
        if matches!(alert, AdminAlert::AccountHeld { .. }) {
            // The account is one shell word in the release command: the injected text cannot run.
            assert!(
                all.contains("fumidai outbound release-account 'mallory@corp.example.jp Bcc: everyone@corp.example.jp'\n"),
                "{all}"
            );
        }
        assert!(
            all.contains("Subject:        <script>alert(1)</script> open hxxps://evil[.]example/payload now Bcc: victim@else.example\n"),
            "{all}"
        );
        assert!(
            all.contains("- invoicefdp.exe (application/x-dosexec"),
            "{all}"
        );
    }
}

#[test]
fn an_unknown_or_missing_language_is_an_error() {
    let alert = held(None);
    let error = render(&alert, "mx1", &languages(&["fr"])).expect_err("fr is not offered");
    assert!(error.contains("\"fr\""), "{error}");
    let error = render(&alert, "mx1", &[]).expect_err("no language");
    assert!(error.contains("no language"), "{error}");
}

#[test]
fn admins_must_be_addresses() {
    let with_admins = |admins: &[&str]| AlertsConfig {
        notify: NotifyConfig {
            admins: admins.iter().map(|a| (*a).to_owned()).collect(),
            ..NotifyConfig::default()
        },
        ..AlertsConfig::default()
    };
    assert_eq!(with_admins(&[]).validate(), Ok(()));
    assert_eq!(
        with_admins(&["security@corp.example.jp", "soc@example.jp"]).validate(),
        Ok(())
    );
    for bad in [
        "security team",
        "Security <security@corp.example.jp>",
        "a@b@",
        "security@corp.example.jp\r\nBcc: x@y.example",
        "",
    ] {
        let error = with_admins(&["soc@example.jp", bad])
            .validate()
            .expect_err(bad);
        assert!(
            error.starts_with("[alerts.notify] admins:") && error.contains(&format!("{bad:?}")),
            "{bad:?}: {error}"
        );
    }
}
