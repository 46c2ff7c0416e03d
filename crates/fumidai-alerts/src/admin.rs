//! Alerts about our own organisation, for its administrators (`[alerts.notify] admins`), never for abuse@ of
//! anyone: one of our sending accounts is held because its outbound mail crossed a threshold (we are being used
//! as a springboard), or someone sends mail in our name (backscatter for mail we never sent, or attack mail
//! impersonating our own domain).
//!
//! Plain text in the languages given, Japanese first by default, from `templates/admin_*.txt.j2`. The account,
//! the reason and every sample field can be chosen by a sender, so each goes through [`clean`] (one
//! line, no control or bidi characters, capped, links defanged) before a template sees it, as in the notices.

use serde::Serialize;
use serde_json::Value;

use crate::notice::{case_reference, clean, environment, jst, utc};
use crate::{Case, Sample};

const TEMPLATES: [(&str, &str); 2] = [
    ("ja", include_str!("../templates/admin_ja.txt.j2")),
    ("en", include_str!("../templates/admin_en.txt.j2")),
];

/// Between the languages of one alert (as in the notices).
const LANGUAGE_SEPARATOR: &str =
    "\n======================================================================\n\n";

/// Samples shown in an alert (the case keeps at most `[alerts] max_samples`).
const MAX_SAMPLES: usize = 10;
/// Characters kept of one sample field (a Received line is the longest that still helps).
const MAX_FIELD_CHARS: usize = 600;
/// Items kept of one sample list (Received chain, attachments, findings, ...); a last item counts the rest.
const MAX_LIST_ITEMS: usize = 30;

/// What the administrators are told.
#[derive(Debug, Clone, Copy)]
pub enum AdminAlert<'a> {
    /// An outbound account crossed a threshold and its mail is held.
    AccountHeld {
        account: &'a str,
        /// Which threshold, e.g. `new recipients 57 >= 50 in 60 minutes`.
        reason: &'a str,
        /// The account's counts over the window when it was held.
        totals: fumidai_store::OutboundTotals,
        window_minutes: u64,
        /// Unix seconds UTC.
        held_at: i64,
        /// The message that crossed the threshold, when there was one.
        sample: Option<&'a Sample>,
    },
    /// Someone sends mail in our name: `case` is our own domain's impersonation case (samples inside).
    DomainSpoofed {
        case: &'a Case,
        /// The samples are originals returned to us in bounces for mail we never sent.
        backscatter: bool,
    },
}

/// A rendered alert, ready for `fumidai_act::notify::send_admin_alert`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminNotice {
    pub subject: String,
    pub body: String,
}

/// Renders `alert` as seen at `site`, in `languages` (`ja`, `en`, in that order of the list). An error names
/// what is wrong (an unknown or missing language, a template error).
pub fn render(
    alert: &AdminAlert<'_>,
    site: &str,
    languages: &[String],
) -> Result<AdminNotice, String> {
    if languages.is_empty() {
        return Err("no language to write the alert in (expected \"ja\" or \"en\")".into());
    }
    let mut env = environment();
    for (lang, source) in TEMPLATES {
        env.add_template(lang, source)
            .map_err(|e| format!("admin alert template {lang}: {e}"))?;
    }
    let context = AdminContext::new(alert, site);
    let mut bodies = Vec::with_capacity(languages.len());
    let mut labels = Vec::with_capacity(languages.len());
    for lang in languages {
        let template = env.get_template(lang).map_err(|_| {
            format!("no admin alert in language {lang:?} (expected \"ja\" or \"en\")")
        })?;
        bodies.push(
            template
                .render(&context)
                .map_err(|e| format!("rendering the admin alert ({lang}): {e}"))?,
        );
        labels.push(subject_label(alert, lang));
    }
    let what = match (&context.held, &context.spoofed) {
        (Some(held), _) => held.account.clone(),
        (None, Some(spoofed)) => format!("{} {}", spoofed.domain, spoofed.case_id),
        (None, None) => String::new(),
    };
    Ok(AdminNotice {
        subject: format!("[fumidai {}] {what} ({})", labels.join(" / "), context.site),
        body: bodies.join(LANGUAGE_SEPARATOR),
    })
}

fn subject_label(alert: &AdminAlert<'_>, lang: &str) -> &'static str {
    match (alert, lang) {
        (AdminAlert::AccountHeld { .. }, "ja") => "送信保留",
        (AdminAlert::AccountHeld { .. }, _) => "Outbound account held",
        (
            AdminAlert::DomainSpoofed {
                backscatter: true, ..
            },
            "ja",
        ) => "自組織ドメインのなりすまし（バックスキャッタ）",
        (
            AdminAlert::DomainSpoofed {
                backscatter: true, ..
            },
            _,
        ) => "Our domain spoofed (backscatter)",
        (AdminAlert::DomainSpoofed { .. }, "ja") => "自組織ドメインのなりすまし",
        (AdminAlert::DomainSpoofed { .. }, _) => "Our domain spoofed",
    }
}

#[derive(Debug, Serialize)]
struct AdminContext {
    site: String,
    held: Option<HeldView>,
    spoofed: Option<SpoofedView>,
    /// Each a [`sample_view`].
    samples: Vec<Value>,
    samples_more: usize,
}

#[derive(Debug, Serialize)]
struct HeldView {
    account: String,
    /// The account as one shell word, for the release command the alert suggests.
    account_word: String,
    reason: String,
    totals: fumidai_store::OutboundTotals,
    window_minutes: u64,
    held_jst: String,
    held_utc: String,
}

#[derive(Debug, Serialize)]
struct SpoofedView {
    case_id: String,
    id: i64,
    domain: String,
    backscatter: bool,
    first_seen_jst: String,
    first_seen_utc: String,
    last_seen_jst: String,
    last_seen_utc: String,
    message_count: u64,
    source_ips: Vec<Value>,
    sites: Vec<Value>,
}

impl AdminContext {
    fn new(alert: &AdminAlert<'_>, site: &str) -> AdminContext {
        let site = clean(site, 100);
        match *alert {
            AdminAlert::AccountHeld {
                account,
                reason,
                totals,
                window_minutes,
                held_at,
                sample,
            } => {
                let account = clean(account, 254);
                AdminContext {
                    site,
                    held: Some(HeldView {
                        account_word: shell_word(&account),
                        account,
                        reason: clean(reason, 300),
                        totals,
                        window_minutes,
                        held_jst: jst(held_at),
                        held_utc: utc(held_at),
                    }),
                    spoofed: None,
                    samples: sample.into_iter().map(sample_view).collect(),
                    samples_more: 0,
                }
            }
            AdminAlert::DomainSpoofed { case, backscatter } => AdminContext {
                site,
                held: None,
                spoofed: Some(SpoofedView {
                    case_id: case_reference(case),
                    id: case.id,
                    domain: clean(&case.organisation, 253),
                    backscatter,
                    first_seen_jst: jst(case.first_seen),
                    first_seen_utc: utc(case.first_seen),
                    last_seen_jst: jst(case.last_seen),
                    last_seen_utc: utc(case.last_seen),
                    message_count: case.event_count,
                    source_ips: strings(&case.source_ips),
                    sites: strings(&case.sites),
                }),
                samples: case
                    .samples
                    .iter()
                    .take(MAX_SAMPLES)
                    .map(sample_view)
                    .collect(),
                samples_more: case.samples.len().saturating_sub(MAX_SAMPLES),
            },
        }
    }
}

/// A list of strings from mail, cleaned and capped as sample lists are.
fn strings(items: &[String]) -> Vec<Value> {
    cleaned_list(items.iter().cloned().map(Value::String).collect())
}

/// A sample as templates see it: every string cleaned ([`clean`]), every list capped, absent fields as empty
/// strings (so a template tests them with `if`), and when it arrived in JST and UTC. Cleaning the serialised
/// sample as a whole means a field added to [`Sample`] later cannot reach a template raw.
fn sample_view(sample: &Sample) -> Value {
    let mut view = match serde_json::to_value(sample) {
        Ok(value) => cleaned(value),
        // A plain struct of strings, numbers and lists always serialises; should it not, show nothing of it.
        Err(_) => Value::Object(serde_json::Map::new()),
    };
    if let Value::Object(fields) = &mut view {
        let (arrived_jst, arrived_utc) = sample
            .received_at
            .map(|at| (jst(at), utc(at)))
            .unwrap_or_default();
        fields.insert("arrived_jst".into(), Value::String(arrived_jst));
        fields.insert("arrived_utc".into(), Value::String(arrived_utc));
    }
    view
}

fn cleaned(value: Value) -> Value {
    match value {
        Value::Null => Value::String(String::new()),
        Value::String(s) => Value::String(clean(&s, MAX_FIELD_CHARS)),
        Value::Array(items) => Value::Array(cleaned_list(items)),
        Value::Object(fields) => Value::Object(
            fields
                .into_iter()
                .map(|(name, value)| (name, cleaned(value)))
                .collect(),
        ),
        other => other,
    }
}

/// At most [`MAX_LIST_ITEMS`], each cleaned; when some are left out, a last item says how many.
fn cleaned_list(items: Vec<Value>) -> Vec<Value> {
    let more = items.len().saturating_sub(MAX_LIST_ITEMS);
    let mut out: Vec<Value> = items
        .into_iter()
        .take(MAX_LIST_ITEMS)
        .map(cleaned)
        .collect();
    if more > 0 {
        out.push(Value::String(format!("… (+{more})")));
    }
    out
}

/// `text` as one POSIX shell word: as it is when it holds only characters no shell treats specially, else in
/// single quotes, so that a command copied from the alert acts on exactly this account.
fn shell_word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "@._+-=:,/%".contains(c));
    if plain {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_quote_what_a_shell_would_read() {
        assert_eq!(
            shell_word("tanaka@corp.example.jp"),
            "tanaka@corp.example.jp"
        );
        assert_eq!(shell_word("a b;rm -rf ~"), "'a b;rm -rf ~'");
        assert_eq!(shell_word("o'neil@x.jp"), r"'o'\''neil@x.jp'");
        assert_eq!(shell_word(""), "''");
    }

    #[test]
    fn long_lists_are_capped_with_a_count() {
        let items: Vec<String> = (0..MAX_LIST_ITEMS + 5)
            .map(|i| format!("d{i}.example"))
            .collect();
        let shown = strings(&items);
        assert_eq!(shown.len(), MAX_LIST_ITEMS + 1);
        assert_eq!(shown[0], "d0.example");
        assert_eq!(shown[MAX_LIST_ITEMS], "… (+5)");
    }

    #[test]
    fn sample_view_cleans_nested_strings_and_blanks_absent_fields() {
        let sample = Sample {
            received_at: Some(1_646_092_800),
            subject: Some("a\r\nBcc: x@y.example".into()),
            authentication: vec![crate::AuthCheck {
                method: "spf".into(),
                result: "pass\u{202E}".into(),
                domain: "www.evil.example".into(),
            }],
            ..Sample::default()
        };
        let view = sample_view(&sample);
        assert_eq!(view["subject"], "a Bcc: x@y.example");
        assert_eq!(view["from"], "");
        assert_eq!(view["authentication"][0]["result"], "pass");
        assert_eq!(view["authentication"][0]["domain"], "www[.]evil[.]example");
        assert_eq!(view["arrived_jst"], "2022-03-01 09:00 JST");
        assert_eq!(view["received_at"], 1_646_092_800);
    }
}
