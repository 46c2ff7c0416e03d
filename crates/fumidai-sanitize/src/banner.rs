//! What the recipient is told: a bilingual banner (Japanese first, then English) saying what was
//! done to the message and why, and the `X-Fumidai-Sanitized` header value listing the actions.

/// What sanitisation did to a message. The order of the variants is the order of the header value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    /// Attachments removed.
    DelAttach,
    /// The HTML body converted to plain text.
    ChgText,
    /// URLs defanged.
    RepLink,
    /// Macros removed from attached documents.
    DelMacro,
}

/// Why a message was sanitised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// No exchange with the sender in the past `days` days.
    NoRecentExchange { days: u32 },
    /// The first message from this sender.
    FirstContact,
    /// The scan's verdict was suspicious.
    Suspicious,
    /// The scan's verdict was malicious.
    Malicious,
    /// The sender's address imitates a known correspondent's.
    LookalikeSender,
}

/// The header that lists the actions taken.
pub const SANITIZED_HEADER: &str = "X-Fumidai-Sanitized";

impl Action {
    /// The token in the `X-Fumidai-Sanitized` header.
    pub fn code(self) -> &'static str {
        match self {
            Action::DelAttach => "DEL_ATTACH",
            Action::ChgText => "CHG_TEXT",
            Action::RepLink => "REP_LINK",
            Action::DelMacro => "DEL_MACRO",
        }
    }

    /// Japanese, in the continuative form so that actions chain with 「、」 and end with 「ました。」.
    fn japanese(self) -> &'static str {
        match self {
            Action::DelAttach => "添付ファイルを削除し",
            Action::ChgText => "HTML形式の本文をテキスト形式に変換し",
            Action::RepLink => "本文中のURLをクリックできない形に書き換え",
            Action::DelMacro => "添付文書からマクロを削除し",
        }
    }

    fn english(self) -> &'static str {
        match self {
            Action::DelAttach => "its attachments were removed",
            Action::ChgText => "its HTML body was converted to plain text",
            Action::RepLink => "the URLs in it were made unclickable",
            Action::DelMacro => "the macros were removed from its attached documents",
        }
    }
}

impl Reason {
    /// Japanese, ending so that 「ため」 can follow.
    fn japanese(self) -> String {
        match self {
            Reason::NoRecentExchange { days } => {
                format!("過去{days}日間に交流のない送信者から送信された")
            }
            Reason::FirstContact => "初めてやり取りする送信者から送信された".to_owned(),
            Reason::Suspicious => "検査で不審と判定された".to_owned(),
            Reason::Malicious => "検査で危険と判定された".to_owned(),
            Reason::LookalikeSender => "取引先に似せた送信者アドレスから送信された".to_owned(),
        }
    }

    /// English, a predicate of "This message".
    fn english(self) -> String {
        match self {
            Reason::NoRecentExchange { days: 1 } => {
                "came from a sender with no exchange in the past day".to_owned()
            }
            Reason::NoRecentExchange { days } => {
                format!("came from a sender with no exchange in the past {days} days")
            }
            Reason::FirstContact => "came from a sender never seen before".to_owned(),
            Reason::Suspicious => "was judged suspicious by inspection".to_owned(),
            Reason::Malicious => "was judged malicious by inspection".to_owned(),
            Reason::LookalikeSender => {
                "came from an address imitating a known correspondent".to_owned()
            }
        }
    }
}

/// The actions once each, in header order.
fn canonical(actions: &[Action]) -> Vec<Action> {
    let mut actions = actions.to_vec();
    actions.sort_unstable();
    actions.dedup();
    actions
}

/// The reasons once each, in the order given.
fn distinct(reasons: &[Reason]) -> Vec<Reason> {
    let mut out: Vec<Reason> = Vec::with_capacity(reasons.len());
    for r in reasons {
        if !out.contains(r) {
            out.push(*r);
        }
    }
    out
}

/// The `X-Fumidai-Sanitized` header value: the action codes once each, in a fixed order
/// (`DEL_ATTACH CHG_TEXT REP_LINK DEL_MACRO`).
pub fn sanitized_header_value(actions: &[Action]) -> String {
    canonical(actions)
        .iter()
        .map(|a| a.code())
        .collect::<Vec<_>>()
        .join(" ")
}

/// "a", "a and b", "a, b and c".
fn english_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The banner put at the top of a sanitised message: a Japanese sentence, then the English one,
/// between rules. Example: 「このメールは過去90日間に交流のない送信者から送信されたため、添付ファイルを
/// 削除しました。」 / "This message came from a sender with no exchange in the past 90 days, so its
/// attachments were removed."
pub fn banner(reasons: &[Reason], actions: &[Action]) -> String {
    let reasons = distinct(reasons);
    let actions = canonical(actions);

    let ja_reasons: Vec<String> = reasons.iter().map(|r| r.japanese()).collect();
    let ja_actions: Vec<&str> = actions.iter().map(|a| a.japanese()).collect();
    let ja_done = if ja_actions.is_empty() {
        "ご注意ください。".to_owned()
    } else {
        format!("{}ました。", ja_actions.join("、"))
    };
    let japanese = if ja_reasons.is_empty() {
        format!("このメールは、{ja_done}")
    } else {
        format!("このメールは{}ため、{ja_done}", ja_reasons.join("うえ、"))
    };

    let en_reasons: Vec<String> = reasons.iter().map(|r| r.english()).collect();
    let en_actions: Vec<String> = actions.iter().map(|a| a.english().to_owned()).collect();
    let en_done = if en_actions.is_empty() {
        "please treat it with care".to_owned()
    } else {
        english_list(&en_actions)
    };
    let english = if en_reasons.is_empty() {
        let mut done = en_done;
        if let Some(first) = done.get(..1) {
            let upper = first.to_ascii_uppercase();
            done.replace_range(..1, &upper);
        }
        format!("{done}.")
    } else {
        format!("This message {}, so {en_done}.", english_list(&en_reasons))
    };

    let rule = "-".repeat(72);
    format!("{rule}\n[fumidai] {japanese}\n[fumidai] {english}\n{rule}\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_reason_one_action_reads_as_the_specified_sentences() {
        let text = banner(
            &[Reason::NoRecentExchange { days: 90 }],
            &[Action::DelAttach],
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(
            lines[1],
            "[fumidai] このメールは過去90日間に交流のない送信者から送信されたため、添付ファイルを削除しました。"
        );
        assert_eq!(
            lines[2],
            "[fumidai] This message came from a sender with no exchange in the past 90 days, so its attachments were removed."
        );
    }

    #[test]
    fn several_reasons_and_actions_are_joined() {
        let text = banner(
            &[
                Reason::FirstContact,
                Reason::Suspicious,
                Reason::FirstContact,
            ],
            &[Action::RepLink, Action::DelMacro, Action::ChgText],
        );
        assert!(text.contains(
            "このメールは初めてやり取りする送信者から送信されたうえ、検査で不審と判定されたため、\
             HTML形式の本文をテキスト形式に変換し、本文中のURLをクリックできない形に書き換え、\
             添付文書からマクロを削除しました。"
        ));
        assert!(text.contains(
            "This message came from a sender never seen before and was judged suspicious by inspection, \
             so its HTML body was converted to plain text, the URLs in it were made unclickable and \
             the macros were removed from its attached documents."
        ));
    }

    #[test]
    fn every_reason_and_action_has_both_languages() {
        let reasons = [
            Reason::NoRecentExchange { days: 1 },
            Reason::FirstContact,
            Reason::Suspicious,
            Reason::Malicious,
            Reason::LookalikeSender,
        ];
        let actions = [
            Action::DelAttach,
            Action::ChgText,
            Action::RepLink,
            Action::DelMacro,
        ];
        for r in reasons {
            for a in actions {
                let text = banner(&[r], &[a]);
                assert!(text.contains(&r.japanese()) && text.contains(a.japanese()));
                assert!(text.contains(&r.english()) && text.contains(a.english()));
            }
        }
        assert!(banner(&[reasons[0]], &[]).contains("past day"));
    }

    #[test]
    fn without_reasons_or_actions_the_banner_still_reads() {
        let text = banner(&[], &[Action::DelAttach]);
        assert!(text.contains("このメールは、添付ファイルを削除しました。"));
        assert!(text.contains("Its attachments were removed."));
        let text = banner(&[Reason::Malicious], &[]);
        assert!(text.contains("検査で危険と判定されたため、ご注意ください。"));
        assert!(text.contains("was judged malicious by inspection, so please treat it with care."));
    }

    #[test]
    fn header_value_lists_each_action_once_in_a_fixed_order() {
        assert_eq!(
            sanitized_header_value(&[
                Action::DelMacro,
                Action::RepLink,
                Action::DelAttach,
                Action::ChgText,
                Action::RepLink
            ]),
            "DEL_ATTACH CHG_TEXT REP_LINK DEL_MACRO"
        );
        assert_eq!(sanitized_header_value(&[]), "");
    }
}
