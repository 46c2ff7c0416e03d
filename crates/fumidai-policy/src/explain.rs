//! The policy and its decisions in plain English and Japanese, for administrators and logs.

use crate::config::{DirectionChanges, DirectionPolicy, SanitizeSettings};
use crate::{ActionKind, AttachmentHandling, Because, Lang, Policy};
use fumidai_core::{Direction, Verdict};

impl Because {
    /// One phrase, e.g. "the finding VBA_AUTOEXEC" / 「検知項目 VBA_AUTOEXEC」.
    pub fn describe(&self, lang: Lang) -> String {
        match (self, lang) {
            (Because::Verdict(v), Lang::En) => format!("the verdict is {}", v.as_str()),
            (Because::Verdict(v), Lang::Ja) => format!("判定が「{}」", verdict_ja(*v)),
            (Because::Finding(id), Lang::En) => format!("the finding {id}"),
            (Because::Finding(id), Lang::Ja) => format!("検知項目 {id}"),
            (Because::UnknownSenderAttachment(id), Lang::En) => {
                format!("an attachment from a sender with no recent exchange ({id})")
            }
            (Because::UnknownSenderAttachment(id), Lang::Ja) => {
                format!("過去の交流がない送信者からの添付ファイル（{id}）")
            }
            (Because::UnknownSenderLink(id), Lang::En) => {
                format!("a link from a sender with no recent exchange ({id})")
            }
            (Because::UnknownSenderLink(id), Lang::Ja) => {
                format!("過去の交流がない送信者からのリンク（{id}）")
            }
            (Because::Whitelisted(entry), Lang::En) => {
                format!("the sender is whitelisted ({entry})")
            }
            (Because::Whitelisted(entry), Lang::Ja) => {
                format!("送信者が許可リストに登録済み（{entry}）")
            }
            (Because::RecipientOverride(domain), Lang::En) => {
                format!("the override for recipient domain {domain}")
            }
            (Because::RecipientOverride(domain), Lang::Ja) => {
                format!("受信者ドメイン {domain} 向けの個別設定")
            }
        }
    }
}

fn verdict_ja(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Clean => "問題なし",
        Verdict::Suspicious => "要注意",
        Verdict::Malicious => "危険",
    }
}

/// What a rule looks at.
#[derive(Clone, Copy)]
enum Condition<'a> {
    Verdict(Verdict),
    UnknownWithAttachment,
    UnknownWithLink,
    Finding(&'a str),
}

impl Policy {
    /// The policy in plain words, one line per rule: each direction's rules, the whitelist, the
    /// per-recipient-domain overrides, and how rules combine.
    pub fn explain(&self, lang: Lang) -> Vec<String> {
        let config = &self.config;
        let mut lines = Vec::new();
        for direction in [Direction::Inbound, Direction::Outbound] {
            let rules = self.base_rules(direction);
            for (condition, action) in conditions(rules, None) {
                lines.push(rule_line(
                    lang,
                    "",
                    direction,
                    condition,
                    action,
                    rules,
                    &config.sanitize,
                ));
            }
        }
        for address in &config.whitelist.addresses {
            lines.push(match lang {
                Lang::En => format!(
                    "Mail from {address} is whitelisted: only a malicious verdict or a finding rule stops it."
                ),
                Lang::Ja => format!(
                    "{address} からのメールは許可リストに登録済みです。判定が「危険」の場合と検出項目ごとのルールに該当する場合のみ止めます。"
                ),
            });
        }
        for domain in &config.whitelist.domains {
            lines.push(match lang {
                Lang::En => format!(
                    "Mail from domain {domain} and its subdomains is whitelisted: only a malicious verdict or a finding rule stops it."
                ),
                Lang::Ja => format!(
                    "ドメイン {domain}（サブドメインを含む）からのメールは許可リストに登録済みです。判定が「危険」の場合と検出項目ごとのルールに該当する場合のみ止めます。"
                ),
            });
        }
        for (o, (inbound, outbound)) in config.overrides.iter().zip(&self.override_rules) {
            let domains = o.recipient_domains.join(", ");
            let scope = match lang {
                Lang::En => format!("For recipients at {domains} (and subdomains), "),
                Lang::Ja => format!("受信者ドメイン {domains}（サブドメインを含む）宛てでは、"),
            };
            for (direction, changes, rules) in [
                (Direction::Inbound, &o.inbound, inbound),
                (Direction::Outbound, &o.outbound, outbound),
            ] {
                for (condition, action) in conditions(rules, Some(changes)) {
                    lines.push(rule_line(
                        lang,
                        &scope,
                        direction,
                        condition,
                        action,
                        rules,
                        &config.sanitize,
                    ));
                }
                for (what_en, what_ja, value) in [
                    ("subject prefix", "件名の接頭辞", &changes.subject_prefix),
                    ("reject message", "拒否メッセージ", &changes.reject_message),
                    (
                        "tempfail message",
                        "一時エラーメッセージ",
                        &changes.tempfail_message,
                    ),
                ] {
                    if let Some(value) = value {
                        lines.push(match lang {
                            Lang::En => format!(
                                "{scope}{} mail uses the {what_en} \"{value}\".",
                                Direction::as_str(direction)
                            ),
                            Lang::Ja => format!(
                                "{scope}{}メールの{what_ja}は「{value}」です。",
                                direction_ja(direction)
                            ),
                        });
                    }
                }
            }
        }
        lines.push(match lang {
            Lang::En => "When several rules match a message, or its recipients fall under different \
                         overrides, the strongest action applies to the whole message \
                         (deliver < tag < sanitize < quarantine < tempfail < reject)."
                .into(),
            Lang::Ja => "複数のルールが当てはまる場合や、受信者ごとに個別設定が異なる場合は、最も強い処置を\
                         メール全体に適用します（配信 < タグ付け < 無害化 < 隔離 < 一時エラー < 拒否）。"
                .into(),
        });
        lines
    }
}

/// A direction's rules as (condition, action); with `only`, just the rules an override changes.
fn conditions<'a>(
    rules: &'a DirectionPolicy,
    only: Option<&'a DirectionChanges>,
) -> Vec<(Condition<'a>, ActionKind)> {
    let set = |pick: fn(&DirectionChanges) -> bool| only.is_none_or(pick);
    let mut list = Vec::new();
    for (verdict, action, changed) in [
        (
            Verdict::Malicious,
            rules.malicious,
            set(|c| c.malicious.is_some()),
        ),
        (
            Verdict::Suspicious,
            rules.suspicious,
            set(|c| c.suspicious.is_some()),
        ),
        (Verdict::Clean, rules.clean, set(|c| c.clean.is_some())),
    ] {
        if changed {
            list.push((Condition::Verdict(verdict), action));
        }
    }
    if set(|c| c.unknown_sender_with_attachment.is_some()) {
        list.push((
            Condition::UnknownWithAttachment,
            rules.unknown_sender_with_attachment,
        ));
    }
    if set(|c| c.unknown_sender_with_link.is_some()) {
        list.push((Condition::UnknownWithLink, rules.unknown_sender_with_link));
    }
    let findings = only.map_or(&rules.findings, |c| &c.findings);
    list.extend(
        findings
            .iter()
            .map(|(id, action)| (Condition::Finding(id), *action)),
    );
    list
}

fn direction_ja(direction: Direction) -> &'static str {
    match direction {
        Direction::Inbound => "受信",
        Direction::Outbound => "送信",
    }
}

/// One rule as a sentence, after `scope` (empty, or "For recipients at …, ").
fn rule_line(
    lang: Lang,
    scope: &str,
    direction: Direction,
    condition: Condition,
    action: ActionKind,
    rules: &DirectionPolicy,
    sanitize: &SanitizeSettings,
) -> String {
    let done = action_phrase(lang, action, rules, sanitize);
    match lang {
        Lang::En => {
            let dir = Direction::as_str(direction);
            let counterpart = match direction {
                Direction::Inbound => "from a sender",
                Direction::Outbound => "to an address",
            };
            let sentence = match condition {
                Condition::Verdict(v) => format!("{dir} mail with a {} verdict will be {done}.", v.as_str()),
                Condition::UnknownWithAttachment => format!(
                    "{dir} mail {counterpart} with no exchange in the configured window that has an attachment will be {done}."
                ),
                Condition::UnknownWithLink => format!(
                    "{dir} mail {counterpart} with no exchange in the configured window that has a link will be {done}."
                ),
                Condition::Finding(id) => {
                    format!("{dir} mail with the finding {id} will be {done}, whatever its verdict.")
                }
            };
            if scope.is_empty() {
                capitalize(&sentence)
            } else {
                format!("{scope}{sentence}")
            }
        }
        Lang::Ja => {
            let dir = direction_ja(direction);
            let counterpart = match direction {
                Direction::Inbound => "過去の交流がない送信者からの",
                Direction::Outbound => "過去の交流がない宛先への",
            };
            match condition {
                Condition::Verdict(v) => {
                    format!("{scope}判定が「{}」の{dir}メールは{done}。", verdict_ja(v))
                }
                Condition::UnknownWithAttachment => {
                    format!("{scope}{counterpart}添付ファイル付き{dir}メールは{done}。")
                }
                Condition::UnknownWithLink => {
                    format!("{scope}{counterpart}リンク付き{dir}メールは{done}。")
                }
                Condition::Finding(id) => {
                    format!("{scope}検知項目 {id} を含む{dir}メールは、判定に関わらず{done}。")
                }
            }
        }
    }
}

/// What happens, as the end of a sentence: "quarantined (…)" / 「隔離します（…）」.
fn action_phrase(
    lang: Lang,
    action: ActionKind,
    rules: &DirectionPolicy,
    sanitize: &SanitizeSettings,
) -> String {
    match (action, lang) {
        (ActionKind::Deliver, Lang::En) => "delivered".into(),
        (ActionKind::Deliver, Lang::Ja) => "配信します".into(),
        (ActionKind::Tag, Lang::En) => {
            format!(
                "delivered with \"{}\" before the subject",
                rules.subject_prefix
            )
        }
        (ActionKind::Tag, Lang::Ja) => {
            format!("件名の先頭に「{}」を付けて配信します", rules.subject_prefix)
        }
        (ActionKind::Sanitize, Lang::En) => {
            format!("sanitised ({})", sanitize_steps(lang, sanitize).join(", "))
        }
        (ActionKind::Sanitize, Lang::Ja) => {
            format!(
                "無害化します（{}）",
                sanitize_steps(lang, sanitize).join("、")
            )
        }
        (ActionKind::Quarantine, Lang::En) => {
            "quarantined (held until an administrator releases it)".into()
        }
        (ActionKind::Quarantine, Lang::Ja) => "隔離します（管理者が解放するまで保留）".into(),
        (ActionKind::Tempfail, Lang::En) => format!(
            "refused for now with \"451 {}\" (the sending server retries later)",
            rules.tempfail_message
        ),
        (ActionKind::Tempfail, Lang::Ja) => format!(
            "一時エラー「451 {}」で受け取りを保留します（送信側サーバーが後で再送します）",
            rules.tempfail_message
        ),
        (ActionKind::Reject, Lang::En) => {
            format!("rejected with \"550 {}\"", rules.reject_message)
        }
        (ActionKind::Reject, Lang::Ja) => format!("「550 {}」で拒否します", rules.reject_message),
    }
}

fn sanitize_steps(lang: Lang, settings: &SanitizeSettings) -> Vec<&'static str> {
    let mut steps = vec![match (settings.attachments, lang) {
        (AttachmentHandling::RemoveAll, Lang::En) => "all attachments removed",
        (AttachmentHandling::RemoveAll, Lang::Ja) => "添付ファイルをすべて削除",
        (AttachmentHandling::StripMacros, Lang::En) => {
            "macros removed from Office documents, other risky attachments removed"
        }
        (AttachmentHandling::StripMacros, Lang::Ja) => {
            "Officeファイルのマクロを除去し、その他の危険な添付ファイルを削除"
        }
    }];
    if settings.html_to_text {
        steps.push(match lang {
            Lang::En => "HTML converted to text",
            Lang::Ja => "HTMLをテキストに変換",
        });
    }
    if settings.defang_links {
        steps.push(match lang {
            Lang::En => "links disabled",
            Lang::Ja => "リンクを無効化",
        });
    }
    steps
}

fn capitalize(sentence: &str) -> String {
    let mut chars = sentence.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
