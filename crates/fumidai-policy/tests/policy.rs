//! The decide stage end to end: TOML as an administrator writes it, through validation, to decisions
//! and explanations.

use fumidai_core::{Direction, Finding, Verdict};
use fumidai_policy::{
    ActionKind, AttachmentHandling, Because, Decision, Lang, Policy, PolicyConfig, SanitizeSettings,
};
use serde::{Deserialize, Serialize};

/// The shipped fumidai.toml example, whose `[policy]` section (the last one) documents every option.
const EXAMPLE: &str = include_str!("../../../docs/fumidai.example.toml");

/// fumidai.toml, of which only the `[policy]` section is read here (the engine checks the rest).
#[derive(Debug, Serialize, Deserialize)]
struct File {
    #[serde(default)]
    policy: PolicyConfig,
}

fn parse(toml_text: &str) -> PolicyConfig {
    toml::from_str::<File>(toml_text)
        .unwrap_or_else(|e| panic!("{e}"))
        .policy
}

fn policy(toml_text: &str) -> Policy {
    Policy::new(parse(toml_text)).unwrap_or_else(|e| panic!("{e}"))
}

/// The problem `Policy::new` finds in a `[policy]` section, as displayed.
fn problem(toml_text: &str) -> String {
    Policy::new(parse(toml_text))
        .expect_err("an invalid policy")
        .to_string()
}

/// One message for the decide stage.
struct Msg {
    direction: Direction,
    verdict: Verdict,
    findings: Vec<Finding>,
    sender: Option<String>,
    recipients: Vec<String>,
    attachments: bool,
    links: bool,
}

fn msg(direction: Direction, verdict: Verdict) -> Msg {
    Msg {
        direction,
        verdict,
        findings: Vec::new(),
        sender: Some("someone@example.net".into()),
        recipients: vec!["user@fumidai.example.jp".into()],
        attachments: false,
        links: false,
    }
}

fn inbound(verdict: Verdict) -> Msg {
    msg(Direction::Inbound, verdict)
}

impl Msg {
    fn with(mut self, ids: &[&'static str]) -> Self {
        self.findings.extend(ids.iter().map(|&id| Finding {
            id,
            score: 3.0,
            part: "body".into(),
            detail: String::new(),
        }));
        self
    }
    fn attachment(mut self) -> Self {
        self.attachments = true;
        self
    }
    fn link(mut self) -> Self {
        self.links = true;
        self
    }
    fn from(mut self, sender: &str) -> Self {
        self.sender = Some(sender.into());
        self
    }
    fn to(mut self, recipients: &[&str]) -> Self {
        self.recipients = recipients.iter().map(|r| r.to_string()).collect();
        self
    }
    fn decide(&self, policy: &Policy) -> Decision {
        policy.decide(&fumidai_policy::Facts {
            direction: self.direction,
            verdict: self.verdict,
            findings: &self.findings,
            sender: self.sender.as_deref(),
            recipients: &self.recipients,
            has_attachments: self.attachments,
            has_links: self.links,
        })
    }
}

fn verdict(v: Verdict) -> Because {
    Because::Verdict(v)
}

#[test]
fn inbound_defaults() {
    let p = Policy::new(PolicyConfig::default()).unwrap();
    let d = inbound(Verdict::Malicious).decide(&p);
    assert_eq!(
        (d.action, d.because),
        (ActionKind::Quarantine, vec![verdict(Verdict::Malicious)])
    );

    let d = inbound(Verdict::Suspicious).decide(&p);
    assert_eq!(d.action, ActionKind::Sanitize);
    assert_eq!(d.because, [verdict(Verdict::Suspicious)]);
    assert_eq!(
        d.sanitize,
        Some(SanitizeSettings {
            attachments: AttachmentHandling::StripMacros,
            html_to_text: true,
            defang_links: true
        })
    );
    assert_eq!((d.subject_prefix, d.smtp_reply), (None, None));

    let d = inbound(Verdict::Clean).attachment().link().decide(&p);
    assert_eq!(
        (d.action, d.because, d.sanitize),
        (ActionKind::Deliver, vec![verdict(Verdict::Clean)], None)
    );

    // Each history finding makes the sender unknown; an attachment or a link then means sanitise.
    let d = inbound(Verdict::Clean)
        .with(&["FIRST_CONTACT"])
        .attachment()
        .decide(&p);
    assert_eq!(
        (d.action, d.because),
        (
            ActionKind::Sanitize,
            vec![Because::UnknownSenderAttachment("FIRST_CONTACT".into())]
        )
    );
    let d = inbound(Verdict::Clean)
        .with(&["NO_RECENT_EXCHANGE"])
        .link()
        .decide(&p);
    assert_eq!(
        (d.action, d.because),
        (
            ActionKind::Sanitize,
            vec![Because::UnknownSenderLink("NO_RECENT_EXCHANGE".into())]
        )
    );
    let d = inbound(Verdict::Suspicious)
        .with(&["HTML_FORM", "LOOKALIKE_OF_CORRESPONDENT"])
        .attachment()
        .link()
        .decide(&p);
    assert_eq!(d.action, ActionKind::Sanitize);
    assert_eq!(
        d.because,
        [
            verdict(Verdict::Suspicious),
            Because::UnknownSenderAttachment("LOOKALIKE_OF_CORRESPONDENT".into()),
            Because::UnknownSenderLink("LOOKALIKE_OF_CORRESPONDENT".into()),
        ],
        "every rule that chose the action is named"
    );
    // An unknown sender without attachment or link, or an attachment from a known sender: delivered.
    let d = inbound(Verdict::Clean).with(&["FIRST_CONTACT"]).decide(&p);
    assert_eq!(d.action, ActionKind::Deliver);
    let d = inbound(Verdict::Clean)
        .with(&["VBA_MACRO"])
        .attachment()
        .decide(&p);
    assert_eq!(d.action, ActionKind::Deliver);
}

#[test]
fn outbound_defaults() {
    let p = Policy::new(PolicyConfig::default()).unwrap();
    let out = |v| msg(Direction::Outbound, v);
    assert_eq!(
        out(Verdict::Malicious).decide(&p).action,
        ActionKind::Quarantine
    );
    assert_eq!(
        out(Verdict::Suspicious).decide(&p).action,
        ActionKind::Quarantine
    );
    assert_eq!(out(Verdict::Clean).decide(&p).action, ActionKind::Deliver);
    let d = out(Verdict::Clean)
        .with(&["FIRST_CONTACT"])
        .attachment()
        .link()
        .decide(&p);
    assert_eq!(d.action, ActionKind::Deliver);
    assert!(d.because.contains(&verdict(Verdict::Clean)));
}

#[test]
fn whitelist_exempts_all_but_malicious_and_finding_rules() {
    let p = policy(
        r#"
        [policy.whitelist]
        addresses = ["ceo@Partner2.co.jp"]
        domains = ["partner.co.jp"]
        [policy.inbound.findings]
        VBA_AUTOEXEC = "reject"
        "#,
    );
    let risky = |sender: &str| {
        inbound(Verdict::Suspicious)
            .with(&["FIRST_CONTACT", "VBA_AUTOEXEC"])
            .attachment()
            .link()
            .from(sender)
    };
    for (sender, entry) in [
        ("CEO@partner2.CO.JP", "ceo@Partner2.co.jp"),
        ("<ceo@partner2.co.jp>", "ceo@Partner2.co.jp"),
        ("taro@partner.co.jp", "partner.co.jp"),
        ("Taro@PARTNER.co.jp.", "partner.co.jp"),
        ("hanako@mail.tokyo.partner.co.jp", "partner.co.jp"),
    ] {
        // A finding rule still applies: hijacked partner accounts send Emotet mail.
        let d = risky(sender).decide(&p);
        assert_eq!(
            (d.action, d.because),
            (
                ActionKind::Reject,
                vec![Because::Finding("VBA_AUTOEXEC".into())]
            ),
            "{sender}"
        );
        // The suspicious verdict and the unknown-sender rules do not.
        let d = inbound(Verdict::Suspicious)
            .with(&["FIRST_CONTACT"])
            .attachment()
            .link()
            .from(sender)
            .decide(&p);
        assert_eq!(
            (d.action, d.because),
            (
                ActionKind::Deliver,
                vec![Because::Whitelisted(entry.into())]
            ),
            "{sender}"
        );
        // Malicious still stops a whitelisted sender, by the verdict rule alone.
        let d = inbound(Verdict::Malicious).from(sender).decide(&p);
        assert_eq!(
            (d.action, d.because),
            (ActionKind::Quarantine, vec![verdict(Verdict::Malicious)]),
            "{sender}"
        );
    }
    // Not whitelisted: another address at partner2, a name that merely ends the same, no sender.
    for sender in [
        Some("other@partner2.co.jp"),
        Some("x@evilpartner.co.jp"),
        Some("x@partner.co.jp.evil.jp"),
        Some("partner.co.jp"),
        None,
    ] {
        let mut m = risky("placeholder@example.net");
        m.sender = sender.map(String::from);
        let d = m.decide(&p);
        assert_eq!(d.action, ActionKind::Reject, "{sender:?}");
        assert_eq!(
            d.because,
            [Because::Finding("VBA_AUTOEXEC".into())],
            "{sender:?}"
        );
    }
}

#[test]
fn finding_rules_strongest_wins() {
    let p = policy(
        r#"
        [policy.inbound.findings]
        VBA_AUTOEXEC = "quarantine"
        XLM_MACRO = "quarantine"
        VBA_MACRO = "tag"
        EXECUTABLE = "reject"
        PDF_JAVASCRIPT = "tempfail"
        "#,
    );
    // A weaker finding rule does not lower the verdict's action.
    let d = inbound(Verdict::Suspicious).with(&["VBA_MACRO"]).decide(&p);
    assert_eq!(
        (d.action, d.because),
        (ActionKind::Sanitize, vec![verdict(Verdict::Suspicious)])
    );
    // A clean message with a tagged finding gets the prefix.
    let d = inbound(Verdict::Clean).with(&["VBA_MACRO"]).decide(&p);
    assert_eq!(d.action, ActionKind::Tag);
    assert_eq!(d.because, [Because::Finding("VBA_MACRO".into())]);
    assert_eq!(d.subject_prefix.as_deref(), Some("【要注意】"));
    // Stronger rules win; all that agree are named, each once.
    let d = inbound(Verdict::Suspicious)
        .with(&["VBA_MACRO", "VBA_AUTOEXEC", "XLM_MACRO", "VBA_AUTOEXEC"])
        .decide(&p);
    assert_eq!(d.action, ActionKind::Quarantine);
    assert_eq!(
        d.because,
        [
            Because::Finding("VBA_AUTOEXEC".into()),
            Because::Finding("XLM_MACRO".into())
        ]
    );
    let d = inbound(Verdict::Malicious)
        .with(&["VBA_AUTOEXEC", "EXECUTABLE"])
        .decide(&p);
    assert_eq!(d.action, ActionKind::Reject);
    assert_eq!(
        d.smtp_reply.as_deref(),
        Some("550 5.7.1 Message rejected by fumidai: the finding EXECUTABLE")
    );
    // Tempfail outranks quarantine, reject outranks tempfail.
    let d = inbound(Verdict::Malicious)
        .with(&["PDF_JAVASCRIPT"])
        .decide(&p);
    assert_eq!(d.action, ActionKind::Tempfail);
    assert_eq!(
        d.smtp_reply.as_deref(),
        Some("451 4.7.1 Message deferred by fumidai, try again later: the finding PDF_JAVASCRIPT")
    );
    let d = inbound(Verdict::Clean)
        .with(&["PDF_JAVASCRIPT", "EXECUTABLE"])
        .decide(&p);
    assert_eq!(d.action, ActionKind::Reject);
    // Inbound finding rules do not touch outbound mail.
    let d = msg(Direction::Outbound, Verdict::Clean)
        .with(&["EXECUTABLE"])
        .decide(&p);
    assert_eq!(d.action, ActionKind::Deliver);
}

#[test]
fn recipient_domain_overrides() {
    let p = policy(
        r#"
        [[policy.override]]
        recipient_domains = ["lab.example.co.jp"]
        inbound.suspicious = "tag"
        inbound.subject_prefix = "[CHECK] "
        [[policy.override]]
        recipient_domains = ["example.co.jp", "legal.example.jp"]
        inbound.suspicious = "quarantine"
        inbound.findings.VBA_MACRO = "reject"
        inbound.reject_message = "5.7.1 Not accepted here ({reason})"
        "#,
    );
    let lab = "Ken@LAB.example.co.jp";
    let sub_lab = "ken@robots.lab.example.co.jp";
    let hq = "sato@example.co.jp";
    let elsewhere = "suzuki@fumidai.example.jp";
    let suspicious = |to: &[&str]| inbound(Verdict::Suspicious).to(to);

    // The most specific domain wins for a recipient.
    for to in [lab, sub_lab] {
        let d = suspicious(&[to]).decide(&p);
        assert_eq!(d.action, ActionKind::Tag, "{to}");
        assert_eq!(
            d.because,
            [
                verdict(Verdict::Suspicious),
                Because::RecipientOverride("lab.example.co.jp".into())
            ]
        );
        assert_eq!(d.subject_prefix.as_deref(), Some("[CHECK] "));
    }
    let d = suspicious(&[hq]).decide(&p);
    assert_eq!(d.action, ActionKind::Quarantine);
    assert_eq!(
        d.because,
        [
            verdict(Verdict::Suspicious),
            Because::RecipientOverride("example.co.jp".into())
        ]
    );
    let d = suspicious(&[elsewhere]).decide(&p);
    assert_eq!(
        (d.action, d.because),
        (ActionKind::Sanitize, vec![verdict(Verdict::Suspicious)])
    );

    // One message, one action: the strongest over all recipients, in either order.
    for to in [[lab, elsewhere], [elsewhere, lab]] {
        let d = suspicious(&to).decide(&p);
        assert_eq!(
            (d.action, d.because, d.subject_prefix),
            (
                ActionKind::Sanitize,
                vec![verdict(Verdict::Suspicious)],
                None
            ),
            "{to:?}"
        );
    }
    let d = suspicious(&[lab, hq, elsewhere]).decide(&p);
    assert_eq!(d.action, ActionKind::Quarantine);
    // An override's finding rule and reject message.
    let d = inbound(Verdict::Clean)
        .with(&["VBA_MACRO"])
        .to(&[elsewhere, "a@legal.example.jp"])
        .decide(&p);
    assert_eq!(d.action, ActionKind::Reject);
    assert_eq!(
        d.because,
        [
            Because::Finding("VBA_MACRO".into()),
            Because::RecipientOverride("legal.example.jp".into())
        ]
    );
    assert_eq!(
        d.smtp_reply.as_deref(),
        Some("550 5.7.1 Not accepted here (the finding VBA_MACRO; the override for recipient domain legal.example.jp)")
    );
    // A rule the override leaves alone is not credited to it.
    let d = inbound(Verdict::Malicious).to(&[lab]).decide(&p);
    assert_eq!(
        (d.action, d.because),
        (ActionKind::Quarantine, vec![verdict(Verdict::Malicious)])
    );
    // Overrides here are inbound only.
    let d = msg(Direction::Outbound, Verdict::Clean)
        .with(&["VBA_MACRO"])
        .to(&[hq])
        .decide(&p);
    assert_eq!(d.action, ActionKind::Deliver);
}

#[test]
fn hostile_addresses_do_not_matter() {
    let p = policy(
        r#"
        [policy.whitelist]
        domains = ["partner.co.jp"]
        [[policy.override]]
        recipient_domains = ["lab.example.co.jp"]
        inbound.clean = "tag"
        "#,
    );
    let long = format!("{}@{}", "a".repeat(10_000), "b.".repeat(10_000));
    let mut m = inbound(Verdict::Clean).to(&[
        "",
        "@",
        "@@lab.example.co.jp@",
        "x@",
        "no-at-sign",
        "x@..",
        &long,
        "x@lab.example.co.jp\r\nBcc: y",
        "x@ラボ.example.co.jp",
    ]);
    for sender in [
        "",
        "@partner.co.jp",
        "x@partner.co.jp\nBcc: y",
        "\u{0}@partner.co.jp",
        &long,
    ] {
        m.sender = Some(sender.into());
        let d = m.decide(&p);
        assert_eq!(d.action, ActionKind::Deliver, "{sender:?}");
        assert_eq!(d.because, [verdict(Verdict::Clean)], "{sender:?}");
    }
    m.recipients.clear();
    m.sender = None;
    assert_eq!(m.decide(&p).action, ActionKind::Deliver);
}

#[test]
fn international_domains_match_in_either_form() {
    // 例え.jp is xn--r8jz45g.jp.
    let p = policy(
        r#"
        [policy.whitelist]
        domains = ["例え.jp"]
        [[policy.override]]
        recipient_domains = ["xn--r8jz45g.jp"]
        inbound.clean = "tag"
        "#,
    );
    let d = inbound(Verdict::Suspicious)
        .from("a@xn--r8jz45g.jp")
        .decide(&p);
    assert_eq!(d.because, [Because::Whitelisted("例え.jp".into())]);
    let d = inbound(Verdict::Clean).to(&["b@例え.JP"]).decide(&p);
    assert_eq!(d.action, ActionKind::Tag);
}

#[test]
fn validation_names_the_key() {
    for (toml_text, expected) in [
        (
            "[policy.inbound]\nsuspicious = \"tag\"\nsubject_prefix = \"\"",
            "policy.inbound.subject_prefix: is empty",
        ),
        (
            "[policy.inbound]\nmalicious = \"sanitize\"\nsuspicious = \"quarantine\"",
            "policy.inbound.malicious: \"sanitize\" is weaker than suspicious = \"quarantine\"",
        ),
        (
            "[policy.outbound]\nclean = \"reject\"",
            "policy.outbound.suspicious: \"quarantine\" is weaker than clean = \"reject\"",
        ),
        (
            "[policy.inbound.findings]\nvba_macro = \"quarantine\"",
            "policy.inbound.findings.vba_macro: not a finding id",
        ),
        (
            "[policy.outbound.findings]\nVBA_MACRO = \"deliver\"",
            "policy.outbound.findings.VBA_MACRO: \"deliver\" never has an effect",
        ),
        (
            "[policy.inbound]\nreject_message = \"Rejected: {reason}\"",
            "policy.inbound.reject_message: must start with an enhanced status code such as 5.7.1",
        ),
        (
            "[policy.inbound]\nreject_message = \"4.7.1 wrong class\"",
            "policy.inbound.reject_message: must start with an enhanced status code",
        ),
        (
            "[policy.outbound]\ntempfail_message = \"4.7.1 拒否しました\"",
            "policy.outbound.tempfail_message: must be printable ASCII",
        ),
        (
            "[policy.inbound]\nreject_message = \"5.7.1 {sender} is blocked\"",
            "policy.inbound.reject_message: the only placeholder is {reason}",
        ),
        (
            "[policy.inbound]\nsubject_prefix = \"[!]\\r\\nBcc: x\"",
            "policy.inbound.subject_prefix: contains a control character",
        ),
        (
            "[policy.whitelist]\naddresses = [\"partner.co.jp\"]",
            "policy.whitelist.addresses: \"partner.co.jp\" is not a mail address",
        ),
        (
            "[policy.whitelist]\ndomains = [\"*.partner.co.jp\"]",
            "policy.whitelist.domains: \"*.partner.co.jp\" is not a domain name",
        ),
        (
            "[[policy.override]]\nrecipient_domains = []\ninbound.clean = \"tag\"",
            "policy.override[1].recipient_domains: is empty",
        ),
        (
            "[[policy.override]]\nrecipient_domains = [\"lab.example.jp\"]",
            "policy.override[1]: changes no rule",
        ),
        (
            "[[policy.override]]\nrecipient_domains = [\"a.jp\"]\ninbound.clean = \"tag\"\n\
             [[policy.override]]\nrecipient_domains = [\"b.jp\", \"A.JP\"]\ninbound.clean = \"tag\"",
            "policy.override[2].recipient_domains: \"A.JP\" is already in policy.override[1]",
        ),
        (
            "[[policy.override]]\nrecipient_domains = [\"lab.example.jp\"]\ninbound.malicious = \"tag\"",
            "policy.override[1].inbound.malicious: \"tag\" is weaker than suspicious = \"sanitize\"",
        ),
        (
            "[[policy.override]]\nrecipient_domains = [\"lab.example.jp\"]\noutbound.findings.Vba = \"tag\"",
            "policy.override[1].outbound.findings.Vba: not a finding id",
        ),
    ] {
        let got = problem(toml_text);
        assert!(got.starts_with(expected), "{toml_text}\n got: {got}\nwant: {expected}");
    }

    // Known findings: a typo is caught when the engine passes its registry (which has the outbound watch's
    // finding that the default outbound rules name).
    let known = ["VBA_AUTOEXEC", "VBA_MACRO", "OUTBOUND_ACCOUNT_HELD"];
    let config = parse("[policy.inbound.findings]\nOFFICE_VBA_AUTOEXE = \"quarantine\"");
    assert!(Policy::new(config.clone()).is_ok());
    let e = Policy::new_checked(config, &known).unwrap_err();
    assert_eq!(e.key, "policy.inbound.findings.OFFICE_VBA_AUTOEXE");
    assert!(e.problem.starts_with("no such finding"), "{e}");
    let config = parse(
        "[[policy.override]]\nrecipient_domains = [\"x.jp\"]\ninbound.findings.VBA_MACR = \"tag\"",
    );
    assert_eq!(
        Policy::new_checked(config, &known).unwrap_err().key,
        "policy.override[1].inbound.findings.VBA_MACR"
    );
    let config = parse("[policy.inbound.findings]\nVBA_MACRO = \"quarantine\"");
    assert!(Policy::new_checked(config, &known).is_ok());

    // Unknown action names and keys are parse errors that show the line with the key.
    for (toml_text, shown) in [
        (
            "[policy.inbound]\nmalicious = \"quarantin\"",
            "malicious = \"quarantin\"",
        ),
        (
            "[policy.inbound.findings]\nVBA_MACRO = \"block\"",
            "VBA_MACRO = \"block\"",
        ),
        ("[policy.inbound]\nsuspicous = \"tag\"", "suspicous"),
        (
            "[policy.sanitize]\nattachments = \"remove\"",
            "attachments = \"remove\"",
        ),
        (
            "[[policy.override]]\nrecipient_domains = [\"a.jp\"]\ninbound.sanitize = true",
            "sanitize",
        ),
        ("[policy.whitelist]\nsenders = []", "senders"),
    ] {
        let e = toml::from_str::<File>(toml_text).unwrap_err().to_string();
        assert!(e.contains(shown), "{toml_text}\n{e}");
    }
}

const FULL: &str = r#"
[policy.inbound]
malicious = "reject"
suspicious = "quarantine"
clean = "tag"
unknown_sender_with_attachment = "sanitize"
unknown_sender_with_link = "tag"
subject_prefix = "[SUSPICIOUS] "
reject_message = "5.7.1 Rejected: {reason}"
tempfail_message = "4.7.1 Later: {reason}"

[policy.inbound.findings]
VBA_AUTOEXEC = "reject"
PDF_JAVASCRIPT = "tempfail"

[policy.outbound]
malicious = "reject"
suspicious = "tempfail"
unknown_sender_with_attachment = "quarantine"

[policy.outbound.findings]
EXECUTABLE = "reject"

[policy.sanitize]
attachments = "remove-all"
html_to_text = false
defang_links = true

[policy.whitelist]
addresses = ["ceo@partner.co.jp"]
domains = ["partner.co.jp", "bank.example.jp"]

[[policy.override]]
recipient_domains = ["lab.example.co.jp"]
inbound.clean = "deliver"
inbound.findings.VBA_MACRO = "sanitize"
outbound.subject_prefix = "【社外秘】"

[[policy.override]]
recipient_domains = ["legal.example.co.jp", "audit.example.co.jp"]
outbound.suspicious = "reject"
"#;

#[test]
fn explain_names_every_rule_in_both_languages() {
    let p = policy(FULL);
    let en = p.explain(Lang::En);
    let ja = p.explain(Lang::Ja);
    for lines in [&en, &ja] {
        // 5 + 2 inbound, 5 + 2 outbound (the default OUTBOUND_ACCOUNT_HELD rule), 3 whitelist, 2 + 1 + 1
        // override, 1 on combining.
        assert_eq!(lines.len(), 22, "{lines:#?}");
        let all = lines.join("\n");
        for needle in [
            "VBA_AUTOEXEC",
            "PDF_JAVASCRIPT",
            "EXECUTABLE",
            "VBA_MACRO",
            "ceo@partner.co.jp",
            "bank.example.jp",
            "lab.example.co.jp",
            "legal.example.co.jp, audit.example.co.jp",
            "[SUSPICIOUS] ",
            "【社外秘】",
            "550 5.7.1 Rejected: {reason}",
            "451 4.7.1 Later: {reason}",
        ] {
            assert!(all.contains(needle), "{needle} missing from\n{all}");
        }
    }
    let has = |lines: &[String], line: &str| {
        assert!(
            lines.iter().any(|l| l == line),
            "no line\n{line}\nin\n{lines:#?}"
        )
    };
    has(&en, "Inbound mail from a sender with no exchange in the configured window that has an attachment will be sanitised (all attachments removed, links disabled).");
    has(&ja, "過去の交流がない送信者からの添付ファイル付き受信メールは無害化します（添付ファイルをすべて削除、リンクを無効化）。");
    has(&en, "Inbound mail with a suspicious verdict will be quarantined (held until an administrator releases it).");
    has(
        &ja,
        "判定が「要注意」の受信メールは隔離します（管理者が解放するまで保留）。",
    );
    has(&en, "Inbound mail with the finding VBA_AUTOEXEC will be rejected with \"550 5.7.1 Rejected: {reason}\", whatever its verdict.");
    has(&ja, "検知項目 VBA_AUTOEXEC を含む受信メールは、判定に関わらず「550 5.7.1 Rejected: {reason}」で拒否します。");
    has(&en, "Inbound mail with a clean verdict will be delivered with \"[SUSPICIOUS] \" before the subject.");
    has(&en, "Outbound mail to an address with no exchange in the configured window that has an attachment will be quarantined (held until an administrator releases it).");
    has(&ja, "過去の交流がない宛先への添付ファイル付き送信メールは隔離します（管理者が解放するまで保留）。");
    has(&en, "Mail from domain partner.co.jp and its subdomains is whitelisted: only a malicious verdict or a finding rule stops it.");
    has(&ja, "ドメイン partner.co.jp（サブドメインを含む）からのメールは許可リストに登録済みです。判定が「危険」の場合と検出項目ごとのルールに該当する場合のみ止めます。");
    has(
        &en,
        "Mail from ceo@partner.co.jp is whitelisted: only a malicious verdict or a finding rule stops it.",
    );
    has(&en, "For recipients at lab.example.co.jp (and subdomains), inbound mail with a clean verdict will be delivered.");
    has(&ja, "受信者ドメイン lab.example.co.jp（サブドメインを含む）宛てでは、判定が「問題なし」の受信メールは配信します。");
    has(&en, "For recipients at lab.example.co.jp (and subdomains), outbound mail uses the subject prefix \"【社外秘】\".");
    has(&en, "For recipients at legal.example.co.jp, audit.example.co.jp (and subdomains), outbound mail with a suspicious verdict will be rejected with \"550 5.7.1 Message rejected by fumidai: {reason}\".");
    assert!(en
        .last()
        .unwrap()
        .contains("the strongest action applies to the whole message"));
    assert!(ja
        .last()
        .unwrap()
        .contains("最も強い処置をメール全体に適用します"));
}

#[test]
fn describe_in_both_languages() {
    for (because, en, ja) in [
        (
            verdict(Verdict::Malicious),
            "the verdict is malicious",
            "判定が「危険」",
        ),
        (
            Because::Finding("VBA_MACRO".into()),
            "the finding VBA_MACRO",
            "検知項目 VBA_MACRO",
        ),
        (
            Because::UnknownSenderAttachment("FIRST_CONTACT".into()),
            "an attachment from a sender with no recent exchange (FIRST_CONTACT)",
            "過去の交流がない送信者からの添付ファイル（FIRST_CONTACT）",
        ),
        (
            Because::UnknownSenderLink("NO_RECENT_EXCHANGE".into()),
            "a link from a sender with no recent exchange (NO_RECENT_EXCHANGE)",
            "過去の交流がない送信者からのリンク（NO_RECENT_EXCHANGE）",
        ),
        (
            Because::Whitelisted("partner.co.jp".into()),
            "the sender is whitelisted (partner.co.jp)",
            "送信者が許可リストに登録済み（partner.co.jp）",
        ),
        (
            Because::RecipientOverride("lab.example.co.jp".into()),
            "the override for recipient domain lab.example.co.jp",
            "受信者ドメイン lab.example.co.jp 向けの個別設定",
        ),
    ] {
        assert_eq!(because.describe(Lang::En), en);
        assert_eq!(because.describe(Lang::Ja), ja);
    }
}

#[test]
fn full_example_round_trips_through_toml() {
    let config = parse(FULL);
    // Keys left out of a table keep that direction's defaults.
    assert_eq!(
        config.outbound.reject_message,
        "5.7.1 Message rejected by fumidai: {reason}"
    );
    assert_eq!(config.outbound.clean, ActionKind::Deliver);
    assert_eq!(config.outbound.subject_prefix, "【要注意】");
    assert_eq!(
        config.outbound.unknown_sender_with_link,
        ActionKind::Deliver
    );
    assert_ne!(config, PolicyConfig::default());

    let text = toml::to_string(&File {
        policy: config.clone(),
    })
    .unwrap();
    assert_eq!(parse(&text), config, "{text}");
    let text = toml::to_string(&File {
        policy: PolicyConfig::default(),
    })
    .unwrap();
    assert_eq!(parse(&text), PolicyConfig::default(), "{text}");
}

#[test]
fn shipped_example_is_the_default() {
    assert_eq!(parse(EXAMPLE), PolicyConfig::default());
    assert_eq!(parse(""), PolicyConfig::default());
    assert_eq!(parse("[policy]"), PolicyConfig::default());
    let p = Policy::new(parse(EXAMPLE)).unwrap();
    // The commented override in the example is valid too.
    let uncommented = EXAMPLE
        .lines()
        .skip_while(|l| !l.starts_with("# [[policy.override]]"))
        .map(|l| l.trim_start_matches("# "))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(uncommented.starts_with("[[policy.override]]"));
    let with_override = Policy::new(parse(&format!("{EXAMPLE}\n{uncommented}"))).unwrap();
    assert_eq!(with_override.config().overrides.len(), 1);
    assert_eq!(p.explain(Lang::En).len(), 12);
    assert_eq!(p.explain(Lang::Ja).len(), 12);
}
