//! The fumidai inspection engine.
//!
//! A message flows parse → inspect → decide: [`fumidai_mime`] parses it; the body goes to the text checks
//! (links, ZIP passwords); every attachment goes through [`dispatch`], which sniffs the real type and hands
//! the file to the checker for its kind (archives, Office, XLM, carriers), recursively and within the
//! [`fumidai_core::Limits`]; the sender checks run on the headers; the findings' scores (rspamd-style:
//! each id counts once, at its highest score) add up to a [`Verdict`]. Front ends (CLI, milter, HTTP) call
//! [`Engine::scan`] and nothing else.

pub mod config;
mod dispatch;
pub mod feeds;
pub mod history;
pub mod registry;
mod report;

pub use config::{Config, ConfigError};
pub use feeds::ThreatFeed;
pub use fumidai_core::Verdict;
pub use fumidai_store::{Direction, StoreError};
pub use history::{ExchangeHistory, Parties};
pub use report::MessageReport;

use fumidai_core::{FileInput, Finding, Scan};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Instant;

/// What the MTA knows about a message beyond its bytes (empty for files scanned from disk).
#[derive(Debug, Clone, Default)]
pub struct Envelope {
    pub mail_from: Option<String>,
    /// SMTP RCPT TO addresses (Bcc recipients included).
    pub rcpt_to: Vec<String>,
}

/// A scan that could not complete: the message must not be treated as inspected.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("internal error while inspecting the message: {0}")]
    Panicked(String),
}

/// The engine: configuration plus the checkers. Cheap to share between threads.
#[derive(Debug, Clone)]
pub struct Engine {
    config: Config,
    sender: fumidai_mime::SenderContext,
    threat_feed: feeds::FeedSlot,
}

impl Engine {
    pub fn new(config: Config) -> Result<Engine, ConfigError> {
        config.validate()?;
        let s = &config.sender;
        let sender = fumidai_mime::SenderContext {
            envelope_from: None,
            own_domains: s.own_domains.clone(),
            own_names: s.own_names.clone(),
            partners: s
                .partners
                .iter()
                .map(|p| fumidai_mime::Partner {
                    name: p.name.clone(),
                    domains: p.domains.clone(),
                })
                .collect(),
        };
        Ok(Engine {
            config,
            sender,
            threat_feed: feeds::FeedSlot::default(),
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The organisation's own domains and names and its partners, as the sender checks use them.
    pub fn sender(&self) -> &fumidai_mime::SenderContext {
        &self.sender
    }

    /// Puts a threat feed in force (a front end loads it from the store at start and at every refresh); a scan
    /// already running keeps the feed it started with.
    pub fn set_threat_feed(&self, feed: Arc<ThreatFeed>) {
        self.threat_feed.set(feed);
    }

    /// The threat feed in force (empty until one is set).
    pub fn threat_feed(&self) -> Arc<ThreatFeed> {
        self.threat_feed.get()
    }

    /// Inspects one message. A bug in a checker is caught and returned as an error, never a lost message.
    pub fn scan(&self, raw: &[u8], envelope: &Envelope) -> Result<MessageReport, ScanError> {
        guard(|| self.scan_inner(raw, envelope))
    }

    /// Inspects one file as if it were a message's only attachment (files on disk, API uploads).
    pub fn scan_file(&self, name: &str, data: &[u8]) -> Result<MessageReport, ScanError> {
        guard(|| {
            let started = Instant::now();
            let mut scan = self.new_scan();
            let input = FileInput {
                name,
                declared_type: None,
                data,
                part: name.to_owned(),
                whole: None,
            };
            let attachments = vec![scan.inspect(input)];
            self.decide(scan, Headers::default(), attachments, started)
        })
    }

    fn new_scan(&self) -> Scan<'_> {
        let mut scan = Scan::new(&self.config.limits, dispatch::dispatch);
        for p in &self.config.sender.extra_passwords {
            scan.add_password(p.clone());
        }
        scan
    }

    fn scan_inner(&self, raw: &[u8], envelope: &Envelope) -> MessageReport {
        let started = Instant::now();
        let mut scan = self.new_scan();
        let msg = fumidai_mime::parse(&mut scan, raw);
        let feed = self.threat_feed.get();
        let feed = (!feed.is_empty()).then_some(&*feed);
        let body = dispatch::inspect_body(&mut scan, "body", &msg, feed);
        if let Some(feed) = feed {
            feed.check_received(&mut scan, raw);
        }
        let mut attachments = Vec::with_capacity(msg.attachments.len());
        for att in &msg.attachments {
            let input = FileInput {
                name: &att.name,
                declared_type: att.declared_type.as_deref(),
                data: &att.data,
                part: att.part.clone(),
                whole: None,
            };
            attachments.push(scan.inspect(input));
        }

        let mut sender = self.sender.clone();
        sender.envelope_from = envelope.mail_from.clone();
        fumidai_mime::check_headers(&mut scan, &msg, &sender);
        let risky_content = body.risky_links > 0
            || scan
                .findings()
                .iter()
                .any(|f| f.part != "headers" && f.score >= 3.0);
        fumidai_mime::check_reply_chain(&mut scan, &msg, risky_content);
        let mut report = self.decide(scan, Headers::of(&msg), attachments, started);
        report.links = body.links;
        report
    }

    /// Applies configured scores and thresholds to what the scan found.
    fn decide(
        &self,
        scan: Scan<'_>,
        headers: Headers,
        attachments: Vec<fumidai_core::FileReport>,
        started: Instant,
    ) -> MessageReport {
        let mut report = MessageReport {
            path: None,
            message_id: headers.message_id,
            references: headers.references,
            subject: headers.subject,
            from: headers.from,
            recipients: headers.recipients,
            date: headers.date,
            verdict: Verdict::Clean,
            score: 0.0,
            findings: Vec::new(),
            attachments,
            links: 0,
            elapsed_us: 0,
        };
        self.add_findings(&mut report, scan.into_findings());
        report.elapsed_us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        report
    }

    /// Adds findings from outside the content inspection (the exchange history) to a report and decides
    /// again: configured scores apply, the total and the verdict are recomputed.
    pub fn add_findings(&self, report: &mut MessageReport, findings: Vec<Finding>) {
        report
            .findings
            .extend(findings.into_iter().map(|f| Finding {
                score: self.config.score_of(f.id, f.score),
                ..f
            }));
        report.score = total_score(&report.findings);
        let t = &self.config.verdict;
        report.verdict = if report.score >= t.malicious {
            Verdict::Malicious
        } else if report.score >= t.suspicious {
            Verdict::Suspicious
        } else {
            Verdict::Clean
        };
    }
}

/// The header fields a report carries.
#[derive(Default)]
struct Headers {
    message_id: Option<String>,
    references: Vec<String>,
    subject: Option<String>,
    from: Option<String>,
    recipients: Vec<String>,
    date: Option<i64>,
}

impl Headers {
    fn of(msg: &fumidai_mime::Message<'_>) -> Headers {
        let mut recipients: Vec<String> = Vec::with_capacity(msg.to.len() + msg.cc.len());
        for m in msg.to.iter().chain(&msg.cc) {
            if !m.address.is_empty()
                && !recipients
                    .iter()
                    .any(|r| r.eq_ignore_ascii_case(&m.address))
            {
                recipients.push(m.address.clone());
            }
        }
        Headers {
            message_id: msg.message_id.clone(),
            references: msg.in_reply_to.iter().chain(&msg.references).fold(
                Vec::new(),
                |mut ids, id| {
                    if !ids.contains(id) {
                        ids.push(id.clone());
                    }
                    ids
                },
            ),
            subject: msg.subject.clone(),
            from: msg
                .from
                .as_ref()
                .map(|m| m.address.clone())
                .filter(|a| !a.is_empty()),
            recipients,
            date: msg
                .date
                .as_deref()
                .and_then(mail_parser::DateTime::parse_rfc822)
                .filter(mail_parser::DateTime::is_valid)
                .map(|d| d.to_timestamp()),
        }
    }
}

/// Runs a scan, turning a panic in any checker into an error the front end must act on.
fn guard(f: impl FnOnce() -> MessageReport) -> Result<MessageReport, ScanError> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        let text = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        ScanError::Panicked(text)
    })
}

/// Each finding id counts once, at its highest score, like an rspamd symbol: a hundred IP-literal links
/// are one piece of evidence, not a hundred.
fn total_score(findings: &[Finding]) -> f64 {
    // Start from +0.0: an empty f64 sum is -0.0, which would print as "-0".
    let total: f64 = fumidai_core::strongest(findings)
        .iter()
        .fold(0.0, |a, (_, score)| a + score);
    (total * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(id: &'static str, score: f64) -> Finding {
        Finding {
            id,
            score,
            part: "p".into(),
            detail: String::new(),
        }
    }

    #[test]
    fn repeated_ids_count_once_at_their_highest_score() {
        let f = [finding("A", 2.0), finding("A", 3.0), finding("B", 1.5)];
        assert_eq!(total_score(&f), 4.5);
    }

    #[test]
    fn no_findings_score_positive_zero() {
        assert!(total_score(&[]).is_sign_positive());
    }

    #[test]
    fn added_findings_take_configured_scores_and_change_the_verdict() {
        let mut config = Config::default();
        config.scores.insert("FIRST_CONTACT".into(), 2.5);
        let engine = Engine::new(config).expect("valid config");
        let mut report = engine
            .scan(
                b"From: a@b.example\r\nTo: c@d.example\r\nSubject: x\r\n\r\nhello\r\n",
                &Envelope::default(),
            )
            .expect("scan");
        assert_eq!((report.verdict, report.score), (Verdict::Clean, 0.0));
        assert_eq!(report.from.as_deref(), Some("a@b.example"));
        engine.add_findings(
            &mut report,
            vec![
                Finding {
                    id: "FIRST_CONTACT",
                    score: 3.0,
                    part: "headers".into(),
                    detail: String::new(),
                },
                finding("LOOKALIKE_OF_CORRESPONDENT", 6.0),
            ],
        );
        assert_eq!(report.score, 8.5, "the override, not the default 3.0");
        assert_eq!(report.verdict, Verdict::Suspicious);
    }

    #[test]
    fn negative_scores_lower_the_total() {
        assert_eq!(total_score(&[finding("A", 4.0), finding("W", -1.0)]), 3.0);
    }
}
