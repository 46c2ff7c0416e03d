//! One inspected inbound message → a [`SpringboardEvent`]: its attribution ([`crate::classify`]) and its
//! [`Sample`], the evidence a notice carries (../shared/BRIEF.md section 4). Headers are decoded to UTF-8 (Japanese
//! charsets included) by fumidai-mime; every list and string is bounded, since all of it comes from the sender.

use std::net::IpAddr;

use fumidai_core::{FileReport, Finding, Limits, Scan, Verdict};
use fumidai_mime::header::{self, decode_words};
use fumidai_sanitize::defang_url;
use fumidai_text::html::decode_entities;
use fumidai_text::text_urls;
use sha2::{Digest, Sha256};

use crate::auth::{Authenticator, SpfInput};
use crate::classify::{truncate, Attribution, Classifier};
use crate::freemail::registrable;
use crate::{EventKind, Sample, SampleAttachment, SpringboardEvent};

/// Received fields kept, top first.
const MAX_RECEIVED: usize = 20;
const MAX_AUTH_RESULTS: usize = 10;
const MAX_URLS: usize = 20;
const MAX_ATTACHMENTS: usize = 50;
const MAX_RECIPIENT_DOMAINS: usize = 50;
const MAX_FINDINGS: usize = 100;
/// Characters kept of one header field, URL, name or reason.
const MAX_FIELD_CHARS: usize = 2_000;
const MAX_NAME_CHARS: usize = 500;

/// What does not change from message to message: the site name and the classifier.
#[derive(Debug, Clone)]
pub struct EventContext {
    /// `[alerts] site` (or the host name).
    pub site: String,
    pub classifier: Classifier,
}

/// What inspection found.
#[derive(Debug, Clone, Copy)]
pub struct MessageFacts<'a> {
    pub verdict: Verdict,
    pub score: f64,
    pub findings: &'a [Finding],
    pub attachments: &'a [FileReport],
    /// When the message arrived, Unix seconds UTC.
    pub observed_at: i64,
}

/// What the SMTP session said. Without a session (the CLI), leave it default: no SPF is checked and the
/// recipients come from To and Cc.
#[derive(Debug, Clone, Copy, Default)]
pub struct SmtpFacts<'a> {
    pub client_ip: Option<IpAddr>,
    pub helo: &'a str,
    /// MAIL FROM address, empty for the null sender.
    pub mail_from: &'a str,
    pub rcpt_to: &'a [String],
    /// The SASL login, when the client authenticated.
    pub sasl_login: Option<&'a str>,
}

/// The springboard event for an inspected inbound message: `None` for a clean verdict or mail no organisation
/// can be held to (free mail naming nobody). Never fails: DNS trouble makes checks `temperror`.
pub async fn springboard_event(
    ctx: &EventContext,
    authenticator: &Authenticator,
    raw: &[u8],
    facts: &MessageFacts<'_>,
    smtp: &SmtpFacts<'_>,
) -> Option<SpringboardEvent> {
    if facts.verdict == Verdict::Clean {
        return None;
    }
    let spf = smtp.client_ip.map(|client_ip| SpfInput {
        client_ip,
        helo: smtp.helo,
        mail_from: smtp.mail_from,
    });
    let limits = Limits::default();
    let mut scan = Scan::new(&limits, fumidai_core::hash_only);
    let message = fumidai_mime::parse(&mut scan, raw);
    let from_domain = message
        .from
        .as_ref()
        .and_then(|f| f.address.rsplit_once('@'))
        .map(|(_, d)| d);
    let checks = authenticator.check(raw, spf, from_domain).await;
    let attribution = ctx.classifier.classify(message.from.as_ref(), &checks)?;
    let mut sample = sample(raw, &message, facts, smtp, &attribution);
    sample.authentication = checks;
    Some(event(
        &ctx.site,
        attribution,
        sample,
        facts.verdict,
        facts.score,
        facts.observed_at,
        raw,
    ))
}

/// The event itself. Its id is the hex SHA-256 of the site and the Message-ID (or, without one, the SHA-256 of
/// the raw message): the same message seen twice by a site is one event.
pub fn event(
    site: &str,
    attribution: Attribution,
    sample: Sample,
    verdict: Verdict,
    score: f64,
    observed_at: i64,
    raw: &[u8],
) -> SpringboardEvent {
    let mut id = Sha256::new();
    id.update(site.as_bytes());
    id.update([0]);
    match sample
        .message_id
        .as_deref()
        .map(message_id_key)
        .filter(|m| !m.is_empty())
    {
        Some(message_id) => id.update(message_id.as_bytes()),
        None => id.update(hex::encode(Sha256::digest(raw)).as_bytes()),
    }
    SpringboardEvent {
        id: hex::encode(id.finalize()),
        site: site.to_owned(),
        kind: attribution.kind,
        organisation: attribution.organisation,
        observed_at,
        verdict: verdict.as_str().to_owned(),
        score,
        sample,
    }
}

/// The evidence of one message. `authentication` is left empty for the caller to fill with its checks.
pub fn sample(
    raw: &[u8],
    message: &fumidai_mime::Message<'_>,
    facts: &MessageFacts<'_>,
    smtp: &SmtpFacts<'_>,
    attribution: &Attribution,
) -> Sample {
    let (fields, _) = header::split(raw);
    let decoded = |name: &'static str| {
        fields
            .iter()
            .filter(move |h| h.name == name)
            .map(|h| truncate(decode_words(&h.unfolded()).trim(), MAX_FIELD_CHARS))
    };
    let first = |name: &'static str| decoded(name).next().filter(|v| !v.is_empty());

    let mail_from = smtp.mail_from.trim();
    let return_path = first("return-path").or_else(|| {
        (!mail_from.is_empty()).then(|| truncate(&format!("<{mail_from}>"), MAX_FIELD_CHARS))
    });

    let likely_account = (attribution.kind == EventKind::Springboard)
        .then(|| {
            smtp.sasl_login
                .filter(|l| !l.trim().is_empty())
                .or((!mail_from.is_empty()).then_some(mail_from))
                .or(message.from.as_ref().map(|f| f.address.as_str()))
                .map(|a| truncate(a.trim().trim_matches(['<', '>']), MAX_NAME_CHARS))
        })
        .flatten();

    let (recipient_count, recipient_domains) = recipients(message, smtp);
    let mut findings: Vec<String> = Vec::new();
    for f in facts.findings {
        if findings.len() < MAX_FINDINGS && !findings.iter().any(|id| id == f.id) {
            findings.push(f.id.to_owned());
        }
    }
    let mut attachments = Vec::new();
    flatten(facts.attachments, "", &mut attachments);

    Sample {
        received_at: Some(facts.observed_at),
        date: first("date"),
        message_id: first("message-id"),
        return_path,
        from: first("from"),
        reply_to: first("reply-to"),
        subject: message
            .subject
            .as_deref()
            .map(|s| truncate(s, MAX_FIELD_CHARS)),
        received: decoded("received").take(MAX_RECEIVED).collect(),
        authentication_results: decoded("authentication-results")
            .take(MAX_AUTH_RESULTS)
            .collect(),
        source_ip: smtp.client_ip.map(|ip| ip.to_string()),
        authentication: Vec::new(),
        attachments,
        zip_password_in_body: facts
            .findings
            .iter()
            .any(|f| f.id == "ZIP_PASSWORD_FROM_BODY"),
        urls: urls(message),
        recipient_count,
        recipient_domains,
        likely_account,
        findings,
        reason: truncate(&attribution.reason, MAX_FIELD_CHARS),
    }
}

/// `<id@host>` and `id@host` are the same message.
fn message_id_key(message_id: &str) -> &str {
    message_id
        .trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
}

/// The envelope recipients (the header To and Cc without an envelope): how many, and their registrable domains.
fn recipients(message: &fumidai_mime::Message<'_>, smtp: &SmtpFacts<'_>) -> (u32, Vec<String>) {
    let addresses: Vec<&str> = if smtp.rcpt_to.is_empty() {
        message
            .to
            .iter()
            .chain(&message.cc)
            .map(|m| m.address.as_str())
            .collect()
    } else {
        smtp.rcpt_to.iter().map(String::as_str).collect()
    };
    let mut domains: Vec<String> = Vec::new();
    for address in &addresses {
        let domain = address
            .trim()
            .trim_matches(['<', '>'])
            .rsplit_once('@')
            .and_then(|(_, d)| registrable(d));
        if let Some(d) = domain {
            if domains.len() < MAX_RECIPIENT_DOMAINS && !domains.contains(&d) {
                domains.push(d);
            }
        }
    }
    (u32::try_from(addresses.len()).unwrap_or(u32::MAX), domains)
}

/// The attachment tree, depth first, each with its place (`invoice.zip > macro.docm`).
fn flatten(reports: &[FileReport], parent: &str, out: &mut Vec<SampleAttachment>) {
    for report in reports {
        if out.len() >= MAX_ATTACHMENTS {
            return;
        }
        let name = if !report.part.is_empty() {
            report.part.clone()
        } else if parent.is_empty() {
            report.name.clone()
        } else {
            format!("{parent} > {}", report.name)
        };
        out.push(SampleAttachment {
            name: truncate(&name, MAX_NAME_CHARS),
            kind: report.detected_type.mime().to_owned(),
            size: report.size,
            sha256: report.sha256.clone(),
            encrypted: report.encrypted,
        });
        flatten(&report.children, &name, out);
    }
}

/// Links in the text and HTML bodies, defanged, each once, in order.
fn urls(message: &fumidai_mime::Message<'_>) -> Vec<String> {
    let html = decode_entities(&message.html);
    let mut out: Vec<String> = Vec::new();
    for url in text_urls(&message.text).into_iter().chain(text_urls(&html)) {
        if out.len() >= MAX_URLS {
            break;
        }
        let defanged = truncate(&defang_url(url), MAX_FIELD_CHARS);
        if !out.contains(&defanged) {
            out.push(defanged);
        }
    }
    out
}
