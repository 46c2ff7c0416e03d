//! The notice of one case (../shared/BRIEF.md section 4): plain text in the languages of `[alerts.notify]
//! languages`, Japanese first by default, rendered from the templates in `templates/`.
//!
//! Every value a template sees is mail content or derived from it, so it is hostile: [`clean`] takes control and
//! bidi characters out (a folded header becomes one line), defangs anything a mail client would turn into a
//! link, and caps its length, before it reaches a template. Templates only lay the values out; they render with
//! autoescape off (plain text) and strict undefined values, so a misspelt name fails the tests instead of
//! printing nothing.

use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;

use crate::config::NotifyConfig;
use crate::directory::is_address;
use crate::{Case, EventKind, Organisation, Sample};

const TEMPLATES: [(&str, &str); 2] = [
    ("ja", include_str!("../templates/notice_ja.txt.j2")),
    ("en", include_str!("../templates/notice_en.txt.j2")),
];

/// Between the languages of one notice.
const LANGUAGE_SEPARATOR: &str =
    "\n======================================================================\n\n";

/// Samples shown in a notice (the newest); the case keeps at most `[alerts] max_samples`.
const MAX_SAMPLES: usize = 10;

/// Japan Standard Time, UTC+9 (no daylight saving).
pub const JST_OFFSET: i64 = 9 * 3600;

/// What a notice is about and who sends it.
#[derive(Debug, Clone, Copy)]
pub struct NoticeInput<'a> {
    pub case: &'a Case,
    /// The directory entry of the case's organisation, when there is one.
    pub organisation: Option<&'a Organisation>,
    pub notifier: &'a NotifyConfig,
    /// Unix seconds UTC, when the notice is made.
    pub now: i64,
}

/// A rendered notice, ready for a sender to wrap in a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// See [`contacts`].
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
}

#[derive(Debug, thiserror::Error)]
pub enum NoticeError {
    #[error("no language to write the notice in (expected \"ja\" or \"en\", got {0:?})")]
    Language(String),
    #[error("no address to send the notice about {0:?} to: its domain is not usable")]
    NoRecipient(String),
    #[error("rendering the notice: {0}")]
    Template(#[from] minijinja::Error),
}

/// Where a notice to an organisation goes: the directory contact, else both `abuse@` and `postmaster@` its
/// domain (RFC 2142), in that order, since many small organisations have no abuse mailbox and a notice that
/// bounces from one should still reach the other. Empty when the domain is not a usable domain name.
pub fn contacts(domain: &str, organisation: Option<&Organisation>) -> Vec<String> {
    if let Some(contact) = organisation
        .and_then(|o| o.contact.as_deref())
        .map(str::trim)
        .filter(|c| is_address(c))
    {
        return vec![contact.to_owned()];
    }
    let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    ["abuse", "postmaster"]
        .iter()
        .map(|local| format!("{local}@{domain}"))
        .filter(|address| is_address(address))
        .collect()
}

/// A template environment for plain-text mail: no escaping (values are cleaned before rendering instead),
/// undefined values an error, block tags leave no blank lines.
pub(crate) fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env
}

pub fn render(input: NoticeInput<'_>) -> Result<Notice, NoticeError> {
    let case = input.case;
    let to = contacts(&case.organisation, input.organisation);
    if to.is_empty() {
        return Err(NoticeError::NoRecipient(clean(&case.organisation, 253)));
    }
    let mut env = environment();
    for (lang, source) in TEMPLATES {
        env.add_template(lang, source)?;
    }
    let context = NoticeContext::new(&input);
    let mut bodies = Vec::with_capacity(input.notifier.languages.len());
    for lang in &input.notifier.languages {
        if !TEMPLATES.iter().any(|(l, _)| l == lang) {
            return Err(NoticeError::Language(lang.clone()));
        }
        bodies.push(env.get_template(lang)?.render(&context)?);
    }
    if bodies.is_empty() {
        return Err(NoticeError::Language(String::new()));
    }
    let labels: Vec<&str> = input
        .notifier
        .languages
        .iter()
        .map(|lang| subject_label(case.kind, lang))
        .collect();
    Ok(Notice {
        to,
        subject: format!(
            "[{}] {}: {}",
            labels.join(" / "),
            context.case_id,
            context.domain
        ),
        body: bodies.join(LANGUAGE_SEPARATOR),
    })
}

fn subject_label(kind: EventKind, lang: &str) -> &'static str {
    match (kind, lang) {
        (EventKind::Springboard, "ja") => "踏み台通知",
        (EventKind::Impersonation, "ja") => "なりすまし通知",
        (EventKind::Springboard, _) => "Springboard notice",
        (EventKind::Impersonation, _) => "Impersonation notice",
    }
}

/// `FUMIDAI-12`: how notices, ARF reports and CSV rows name a case.
pub fn case_reference(case: &Case) -> String {
    format!("FUMIDAI-{}", case.id)
}

/// Mail content made safe for a plain-text notice: control, bidi and zero-width characters out (line breaks
/// and tabs become spaces, so a folded header is one line and no value can start a line of its own), runs of
/// spaces collapsed, at most `max` characters (`…` marks a cut), and every http(s)/ftp(s) URL and `www.` host
/// defanged.
pub fn clean(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max * 4));
    let mut chars = 0usize;
    let mut space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if c.is_control() || is_invisible_format(c) {
            continue;
        }
        if chars + usize::from(space) >= max {
            out.push('…');
            break;
        }
        if space {
            out.push(' ');
            chars += 1;
            space = false;
        }
        out.push(c);
        chars += 1;
    }
    fumidai_sanitize::defang_text(&out).0
}

/// Characters that change how text is shown without being seen: bidi overrides and isolates, zero-width
/// characters, the BOM.
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
}

/// `2022-03-01 09:00 JST`, as notices and the command line show times to people in Japan.
pub fn jst(secs: i64) -> String {
    format_minute(secs, JST_OFFSET, "JST")
}

/// `2022-03-01 00:00 UTC`.
pub fn utc(secs: i64) -> String {
    format_minute(secs, 0, "UTC")
}

/// `2022-03-01 09:00 JST` (offset 9 h) or `2022-03-01 00:00 UTC` (offset 0).
fn format_minute(secs: i64, offset: i64, zone: &str) -> String {
    let local = secs.saturating_add(offset);
    let (y, m, d) = fumidai_history::import::time::civil_from_days(local.div_euclid(86_400));
    let t = local.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} {zone}",
        t / 3600,
        t % 3600 / 60
    )
}

/// A list for a template: at most a few items shown, the rest counted.
#[derive(Debug, Serialize)]
struct Capped {
    items: Vec<String>,
    more: usize,
}

impl Capped {
    fn new<S: AsRef<str>>(items: &[S], max_items: usize, max_chars: usize) -> Capped {
        Capped {
            items: items
                .iter()
                .take(max_items)
                .map(|s| clean(s.as_ref(), max_chars))
                .collect(),
            more: items.len().saturating_sub(max_items),
        }
    }
}

#[derive(Debug, Serialize)]
struct NoticeContext {
    case_id: String,
    springboard: bool,
    domain: String,
    organisation_name: String,
    notifier: String,
    notifier_from: String,
    machine_readable: String,
    first_seen_utc: String,
    first_seen_jst: String,
    last_seen_utc: String,
    last_seen_jst: String,
    made_utc: String,
    made_jst: String,
    message_count: u64,
    source_ips: Capped,
    samples: Vec<SampleView>,
    samples_more: usize,
}

impl NoticeContext {
    fn new(input: &NoticeInput<'_>) -> NoticeContext {
        let case = input.case;
        let minute = |secs: i64| (utc(secs), jst(secs));
        let (first_seen_utc, first_seen_jst) = minute(case.first_seen);
        let (last_seen_utc, last_seen_jst) = minute(case.last_seen);
        let (made_utc, made_jst) = minute(input.now);
        NoticeContext {
            case_id: case_reference(case),
            springboard: case.kind == EventKind::Springboard,
            domain: clean(&case.organisation, 253),
            organisation_name: input
                .organisation
                .map(|o| clean(&o.name, 200))
                .unwrap_or_default(),
            notifier: clean(&input.notifier.organisation, 200),
            notifier_from: clean(&input.notifier.from, 254),
            machine_readable: input.notifier.machine_readable.clone(),
            first_seen_utc,
            first_seen_jst,
            last_seen_utc,
            last_seen_jst,
            made_utc,
            made_jst,
            message_count: case.event_count,
            source_ips: Capped::new(&case.source_ips, 32, 64),
            samples: case
                .samples
                .iter()
                .take(MAX_SAMPLES)
                .map(SampleView::new)
                .collect(),
            samples_more: case.samples.len().saturating_sub(MAX_SAMPLES),
        }
    }
}

/// One sample, cleaned and capped.
#[derive(Debug, Serialize)]
struct SampleView {
    date: String,
    message_id: String,
    return_path: String,
    from: String,
    reply_to: String,
    subject: String,
    received: Capped,
    authentication_results: Capped,
    source_ip: String,
    authentication: Capped,
    attachments: Vec<AttachmentView>,
    attachments_more: usize,
    zip_password_in_body: bool,
    urls: Capped,
    recipient_count: u32,
    recipient_domains: Capped,
    likely_account: String,
    reason: String,
}

#[derive(Debug, Serialize)]
struct AttachmentView {
    name: String,
    kind: String,
    size: u64,
    sha256: String,
    encrypted: bool,
}

const MAX_ATTACHMENTS: usize = 20;

impl SampleView {
    fn new(sample: &Sample) -> SampleView {
        let field = |value: &Option<String>, max: usize| clean(value.as_deref().unwrap_or(""), max);
        let authentication: Vec<String> = sample
            .authentication
            .iter()
            .map(|a| format!("{}={} ({})", a.method, a.result, a.domain))
            .collect();
        SampleView {
            date: field(&sample.date, 100),
            message_id: field(&sample.message_id, 300),
            return_path: field(&sample.return_path, 300),
            from: field(&sample.from, 300),
            reply_to: field(&sample.reply_to, 300),
            subject: field(&sample.subject, 300),
            received: Capped::new(&sample.received, 20, 600),
            authentication_results: Capped::new(&sample.authentication_results, 10, 600),
            source_ip: field(&sample.source_ip, 64),
            authentication: Capped::new(&authentication, 10, 300),
            attachments: sample
                .attachments
                .iter()
                .take(MAX_ATTACHMENTS)
                .map(|a| AttachmentView {
                    name: clean(&a.name, 300),
                    kind: clean(&a.kind, 100),
                    size: a.size,
                    sha256: clean(&a.sha256, 64),
                    encrypted: a.encrypted,
                })
                .collect(),
            attachments_more: sample.attachments.len().saturating_sub(MAX_ATTACHMENTS),
            zip_password_in_body: sample.zip_password_in_body,
            urls: Capped::new(&sample.urls, 20, 300),
            recipient_count: sample.recipient_count,
            recipient_domains: Capped::new(&sample.recipient_domains, 20, 100),
            likely_account: field(&sample.likely_account, 300),
            reason: clean(&sample.reason, 500),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_folds_lines_strips_controls_and_caps() {
        assert_eq!(clean("a\r\n\tb\x07c\u{202E}d  ", 100), "a bcd");
        assert_eq!(clean("abcdef", 3), "abc…");
        assert_eq!(
            clean("see https://evil.example/x", 100),
            "see hxxps://evil[.]example/x"
        );
        assert_eq!(clean("日本語テキスト", 3), "日本語…");
    }

    #[test]
    fn minutes_in_utc_and_jst() {
        // 2022-03-01 00:00 UTC.
        let t = 1_646_092_800;
        assert_eq!(utc(t), "2022-03-01 00:00 UTC");
        assert_eq!(jst(t), "2022-03-01 09:00 JST");
        assert_eq!(jst(t - 3600 * 10), "2022-02-28 23:00 JST");
    }
}
