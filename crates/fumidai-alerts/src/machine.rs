//! Machine-readable copies of a case for those who automate: an ARF report (RFC 5965) per sample and a CSV in
//! the style of Shadowserver reports (one row per sample). Values go through [`clean`] as in the notice: no
//! control characters (so no header injection and no forged MIME boundary line), no live links, capped lengths.

use std::fmt::Write as _;

use fumidai_history::import::time::{civil_from_days, format_utc};

use crate::config::NotifyConfig;
use crate::notice::{case_reference, clean, utc};
use crate::{Case, EventKind, Sample};

/// Longest header value written (RFC 5322 allows 998 octets a line; the field name and a UTF-8 character cut
/// stay within it).
const MAX_HEADER_CHARS: usize = 240;

const USER_AGENT: &str = concat!("fumidai/", env!("CARGO_PKG_VERSION"));

/// RFC 5965 Feedback-Type. A springboard case reports mail the recipient's own systems sent: `abuse` ("some
/// other kind of email abuse") is what abuse desks route to the people who clean up a compromised sender, while
/// `virus` would claim an antivirus identification we do not make. An impersonation case reports mail forged in
/// the recipient's name to deceive its correspondents: `fraud` ("some kind of fraud or phishing activity").
fn feedback_type(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Springboard => "abuse",
        EventKind::Impersonation => "fraud",
    }
}

/// A complete RFC 5965 report about one sample of `case`: `multipart/report; report-type=feedback-report` with a
/// human-readable `text/plain` part, the `message/feedback-report` part and the sample's headers as
/// `text/rfc822-headers` (never a body). There is no To field: the sender addresses it (see
/// [`crate::notice::contacts`]).
pub fn arf(case: &Case, sample: &Sample, notifier: &NotifyConfig, now: i64) -> Vec<u8> {
    let reference = case_reference(case);
    let boundary = format!("=_fumidai-arf-{}-{now}", case.id);
    let domain = clean(&case.organisation, 253);
    let from = clean(&notifier.from, 254);
    let from_domain = from.rsplit_once('@').map_or("localhost", |(_, d)| d);
    let mut m = String::new();
    if !from.is_empty() {
        header(&mut m, "From", &from);
    }
    header(&mut m, "Date", &rfc5322_date(now));
    header(
        &mut m,
        "Subject",
        &format!("Abuse report {reference}: {}", domain),
    );
    header(
        &mut m,
        "Message-ID",
        &format!("<{reference}.{now}.arf@{from_domain}>"),
    );
    header(&mut m, "MIME-Version", "1.0");
    header(
        &mut m,
        "Content-Type",
        &format!("multipart/report; report-type=feedback-report; boundary=\"{boundary}\""),
    );
    m.push_str("\r\nThis is an abuse report in the Abuse Reporting Format (RFC 5965).\r\n");

    let _ = write!(m, "\r\n--{boundary}\r\n");
    header(&mut m, "Content-Type", "text/plain; charset=utf-8");
    header(&mut m, "Content-Transfer-Encoding", "8bit");
    m.push_str("\r\n");
    for line in human_text(case, &reference, &domain, notifier) {
        m.push_str(&line);
        m.push_str("\r\n");
    }

    let _ = write!(m, "\r\n--{boundary}\r\n");
    header(&mut m, "Content-Type", "message/feedback-report");
    m.push_str("\r\n");
    header(&mut m, "Feedback-Type", feedback_type(case.kind));
    header(&mut m, "User-Agent", USER_AGENT);
    header(&mut m, "Version", "1");
    if let Some(return_path) = sample
        .return_path
        .as_deref()
        .map(|r| clean(r, MAX_HEADER_CHARS))
    {
        let bare = return_path.trim_start_matches('<').trim_end_matches('>');
        header(&mut m, "Original-Mail-From", &format!("<{bare}>"));
    }
    header(&mut m, "Arrival-Date", &rfc5322_date(arrival(case, sample)));
    if let Some(ip) = sample.source_ip.as_deref() {
        header(&mut m, "Source-IP", &clean(ip, 64));
    }
    header(&mut m, "Incidents", &case.event_count.to_string());
    header(&mut m, "Reported-Domain", &domain);
    if let Some(results) = own_authentication_results(sample, from_domain) {
        header(&mut m, "Authentication-Results", &results);
    }

    let _ = write!(m, "\r\n--{boundary}\r\n");
    header(&mut m, "Content-Type", "text/rfc822-headers; charset=utf-8");
    header(&mut m, "Content-Transfer-Encoding", "8bit");
    m.push_str("\r\n");
    for (name, value) in sample_headers(sample) {
        header(&mut m, name, &value);
    }
    let _ = write!(m, "\r\n--{boundary}--\r\n");
    m.into_bytes()
}

fn header(m: &mut String, name: &str, value: &str) {
    m.push_str(name);
    m.push_str(": ");
    m.push_str(value);
    m.push_str("\r\n");
}

fn human_text(case: &Case, reference: &str, domain: &str, notifier: &NotifyConfig) -> Vec<String> {
    let what = match case.kind {
        EventKind::Springboard => {
            "was sent from your organisation's mail systems (SPF/DKIM passed for your domain)"
        }
        EventKind::Impersonation => {
            "used your organisation's name or domain without being sent by you"
        }
    };
    let by = clean(&notifier.organisation, 200);
    vec![
        format!("Case {reference}: attack mail (Emotet-style) that {what}."),
        format!(
            "Organisation: {domain}; messages seen: {}; first seen {}, last seen {}.",
            case.event_count,
            utc(case.first_seen),
            utc(case.last_seen)
        ),
        if by.is_empty() {
            "Reported by a fumidai mail gateway.".to_owned()
        } else {
            format!("Reported by {by}.")
        },
        "The headers of one sample follow; no message body or attachment is included.".to_owned(),
    ]
}

/// fumidai's own SPF/DKIM/DMARC results as one RFC 8601 field.
fn own_authentication_results(sample: &Sample, authserv_id: &str) -> Option<String> {
    let results: Vec<String> = sample
        .authentication
        .iter()
        .filter_map(|a| {
            let method = a.method.to_ascii_lowercase();
            let property = match method.as_str() {
                "spf" => "smtp.mailfrom",
                "dkim" => "header.d",
                "dmarc" => "header.from",
                _ => return None,
            };
            Some(format!(
                "{method}={} {property}={}",
                token(&a.result),
                token(&a.domain)
            ))
        })
        .collect();
    (!results.is_empty()).then(|| format!("{authserv_id}; {}", results.join("; ")))
}

/// A value safe as one token of a structured header.
fn token(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_graphic() && !";()\"\\".contains(*c))
        .take(253)
        .collect()
}

/// The sample's headers, as many as it kept, in the order of a message: trace fields first.
fn sample_headers(sample: &Sample) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let one = |v: &Option<String>| v.as_deref().map(|v| clean(v, MAX_HEADER_CHARS));
    if let Some(v) = one(&sample.return_path) {
        out.push(("Return-Path", v));
    }
    for r in &sample.received {
        out.push(("Received", clean(r, MAX_HEADER_CHARS)));
    }
    for r in &sample.authentication_results {
        out.push(("Authentication-Results", clean(r, MAX_HEADER_CHARS)));
    }
    for (name, value) in [
        ("Date", &sample.date),
        ("From", &sample.from),
        ("Reply-To", &sample.reply_to),
        ("Subject", &sample.subject),
        ("Message-ID", &sample.message_id),
    ] {
        if let Some(v) = one(value) {
            out.push((name, v));
        }
    }
    out
}

/// `Tue, 01 Mar 2022 00:00:00 +0000`.
fn rfc5322_date(secs: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = secs.div_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let t = secs.rem_euclid(86_400);
    let weekday = DAYS.get(days.rem_euclid(7) as usize).unwrap_or(&"Thu");
    let month = MONTHS.get(m.saturating_sub(1) as usize).unwrap_or(&"Jan");
    format!(
        "{weekday}, {d:02} {month} {y:04} {:02}:{:02}:{:02} +0000",
        t / 3600,
        t % 3600 / 60,
        t % 60
    )
}

/// Unix seconds of an RFC 5322 date, when it parses.
fn parse_date(text: &str) -> Option<i64> {
    mail_parser::DateTime::parse_rfc822(text.trim()).map(|d| d.to_timestamp())
}

/// Columns of [`csv`], in the style of Shadowserver reports (lower-case names, one event a row).
pub const CSV_COLUMNS: [&str; 25] = [
    "timestamp",
    "case_id",
    "organisation",
    "kind",
    "source_ip",
    "message_id",
    "from",
    "subject",
    "attachment_sha256",
    "attachment_names",
    "attachment_types",
    "date",
    "return_path",
    "reply_to",
    "zip_password_in_body",
    "urls",
    "recipient_count",
    "recipient_domains",
    "likely_account",
    "spf",
    "dkim",
    "dmarc",
    "first_seen",
    "last_seen",
    "message_count",
];

/// One row per sample of the case (newest first), after a header row of [`CSV_COLUMNS`]. `timestamp` is the
/// sample's Date in UTC (`2022-03-01 00:00:00`), else the case's last event; lists are separated by spaces
/// (hashes, URLs, domains) or ` | ` (names and types). Cells that a spreadsheet would take as a formula are
/// prefixed with `'`.
/// When a sample's message arrived: as recorded, else (samples from before that was kept) its Date when that
/// parses, else the case's last event.
fn arrival(case: &Case, sample: &Sample) -> i64 {
    sample
        .received_at
        .or_else(|| sample.date.as_deref().and_then(parse_date))
        .unwrap_or(case.last_seen)
}

pub fn csv(case: &Case) -> String {
    let reference = case_reference(case);
    let mut rows: Vec<Vec<String>> = vec![CSV_COLUMNS.iter().map(|c| (*c).to_owned()).collect()];
    for sample in &case.samples {
        let when = arrival(case, sample);
        let one = |v: &Option<String>| clean(v.as_deref().unwrap_or(""), MAX_HEADER_CHARS);
        let list = |items: Vec<&str>, separator: &str| {
            items
                .iter()
                .map(|i| clean(i, MAX_HEADER_CHARS))
                .collect::<Vec<_>>()
                .join(separator)
        };
        let auth = |method: &str| {
            sample
                .authentication
                .iter()
                .filter(|a| a.method.eq_ignore_ascii_case(method))
                .map(|a| format!("{} {}", token(&a.result), token(&a.domain)))
                .collect::<Vec<_>>()
                .join(" | ")
        };
        let row = vec![
            timestamp(when),
            reference.clone(),
            clean(&case.organisation, 253),
            case.kind.as_str().to_owned(),
            one(&sample.source_ip),
            one(&sample.message_id),
            one(&sample.from),
            one(&sample.subject),
            list(
                sample
                    .attachments
                    .iter()
                    .map(|a| a.sha256.as_str())
                    .collect(),
                " ",
            ),
            list(
                sample.attachments.iter().map(|a| a.name.as_str()).collect(),
                " | ",
            ),
            list(
                sample.attachments.iter().map(|a| a.kind.as_str()).collect(),
                " | ",
            ),
            one(&sample.date),
            one(&sample.return_path),
            one(&sample.reply_to),
            sample.zip_password_in_body.to_string(),
            list(sample.urls.iter().map(String::as_str).collect(), " "),
            sample.recipient_count.to_string(),
            list(
                sample
                    .recipient_domains
                    .iter()
                    .map(String::as_str)
                    .collect(),
                " ",
            ),
            one(&sample.likely_account),
            auth("spf"),
            auth("dkim"),
            auth("dmarc"),
            timestamp(case.first_seen),
            timestamp(case.last_seen),
            case.event_count.to_string(),
        ];
        rows.push(row.into_iter().map(|c| no_formula(&c)).collect());
    }
    csv_document(rows)
}

/// A CSV document (CRLF line ends, RFC 4180) of `rows`, the header first. Cells are written as given: callers
/// pass what a spreadsheet may see through [`no_formula`].
pub(crate) fn csv_document<R: AsRef<[String]>>(rows: impl IntoIterator<Item = R>) -> String {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    for row in rows {
        // Writing to a Vec fails only on a bug in csv; a row lost there is better than a panic.
        let _ = writer.write_record(row.as_ref());
    }
    writer
        .into_inner()
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .unwrap_or_default()
}

/// `2022-03-01 00:00:00` UTC, as Shadowserver writes timestamps.
fn timestamp(secs: i64) -> String {
    format_utc(secs).trim_end_matches('Z').to_owned()
}

/// A cell a spreadsheet would evaluate (`=`, `+`, `-`, `@` first) gets a leading `'` (CSV injection).
pub(crate) fn no_formula(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@']) {
        format!("'{cell}")
    } else {
        cell.to_owned()
    }
}
