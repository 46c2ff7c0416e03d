//! Telling organisations that their mail is being abused: a springboard notice per case, rendered by
//! `fumidai_alerts::notice`, sent through the configured relay at a bounded rate, and recorded so that the case
//! moves to notified and the monthly statistics count it.
//!
//! A case is notified only while it is new and never twice within the cooldown, and never when the organisation
//! is our own (`[sender] own_domains`): those cases go to our administrators when they are raised
//! ([`send_admin_alert`]), not to our own abuse@. The contact is the directory's, else abuse@ and postmaster@ the
//! domain together (RFC 2142). `DryRun` writes each notice, exactly as it would be sent, to a file and records
//! nothing.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use fumidai_alerts::admin::AdminNotice;
use fumidai_alerts::config::NotifyConfig;
use fumidai_alerts::notice::{self, case_reference, Notice, NoticeInput};
use fumidai_alerts::{machine, AlertsConfig, Case, CaseState, Notification, Organisation};
use fumidai_store::{normalize_domain, registrable_domain, Store, StoreError};
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::{AsyncTransport, Message};
use serde::Serialize;

use crate::release::{relay_transport, without_final_line_end, write_new};

/// Send, or only write what would be sent.
#[derive(Debug, Clone)]
pub enum NotifyMode {
    Send,
    /// Write each notice to `DIR/FUMIDAI-<case>.eml` (and its ARF copies beside it); send and record nothing.
    DryRun(PathBuf),
}

/// What became of one case.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum NotifyResult {
    Sent {
        to: Vec<String>,
        message_id: String,
    },
    Written {
        path: PathBuf,
        to: Vec<String>,
    },
    /// Notified at `last` less than the cooldown ago.
    Cooldown {
        last: i64,
    },
    /// Only new cases are notified.
    NotNew {
        state: CaseState,
    },
    /// The organisation is our own (`[sender] own_domains`): its alerts go to `[alerts.notify] admins` when
    /// raised, never to our own abuse@.
    OwnDomain,
    Failed {
        error: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NotifyReport {
    pub case_id: i64,
    pub organisation: String,
    pub kind: &'static str,
    #[serde(flatten)]
    pub result: NotifyResult,
}

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("[alerts.notify] {0}")]
    Config(String),
    /// The relay refused or could not be reached.
    #[error("sending to {to}: {error}")]
    Send { to: String, error: String },
}

/// Notifies `cases` (each independently: one failure does not stop the rest) and says what became of each.
/// `own_domains` are the organisation's own (`[sender] own_domains`): their cases are skipped.
pub async fn notify(
    store: &dyn Store,
    config: &AlertsConfig,
    own_domains: &[String],
    cases: &[Case],
    mode: &NotifyMode,
    now: i64,
) -> Result<Vec<NotifyReport>, NotifyError> {
    let settings = &config.notify;
    let from = sender(settings)?;
    let transport = transport(settings)?;
    let own: HashSet<String> = own_domains.iter().filter_map(|d| registrable(d)).collect();
    let directory: HashMap<String, Organisation> = store
        .directory()
        .await?
        .into_iter()
        .map(|o| (o.domain.clone(), o))
        .collect();
    let pause = Duration::from_secs(60) / settings.rate_per_minute.max(1);
    let mut reports = Vec::with_capacity(cases.len());
    let mut sent_any = false;
    for case in cases {
        let result = match skipped(case, &own, config.cooldown_seconds(), now) {
            Some(skip) => skip,
            None => {
                let input = NoticeInput {
                    case,
                    organisation: directory.get(&case.organisation),
                    notifier: settings,
                    now,
                };
                let prepared =
                    notice::render(input)
                        .map_err(|e| e.to_string())
                        .and_then(|notice| {
                            let messages = Messages::build(config, case, &notice, &from, now)?;
                            Ok((notice, messages))
                        });
                match (prepared, mode) {
                    (Err(error), _) => NotifyResult::Failed { error },
                    (Ok((notice, messages)), NotifyMode::DryRun(dir)) => {
                        write(dir, case, &notice, &messages)
                    }
                    (Ok((notice, messages)), NotifyMode::Send) => {
                        if sent_any {
                            tokio::time::sleep(pause).await;
                        }
                        sent_any = true;
                        let result = send(&transport, &notice, &messages).await;
                        if let NotifyResult::Sent { to, message_id } = &result {
                            store
                                .notification_record(&Notification {
                                    case_id: case.id,
                                    organisation: case.organisation.clone(),
                                    kind: case.kind,
                                    sent_at: now,
                                    recipient: to.join(", "),
                                    language: settings.languages.join("+"),
                                    reference: message_id.clone(),
                                })
                                .await?;
                            tracing::info!(case = case.id, organisation = %case.organisation, to = %to.join(", "), "springboard notice sent");
                        }
                        result
                    }
                }
            }
        };
        reports.push(NotifyReport {
            case_id: case.id,
            organisation: case.organisation.clone(),
            kind: case.kind.as_str(),
            result,
        });
    }
    Ok(reports)
}

/// Sends an alert about our own organisation to every `[alerts.notify] admins` address in one message, and
/// returns them; none (and nothing sent) when `admins` is empty, which the caller logs.
pub async fn send_admin_alert(
    settings: &NotifyConfig,
    notice: &AdminNotice,
) -> Result<Vec<String>, NotifyError> {
    if settings.admins.is_empty() {
        return Ok(Vec::new());
    }
    let from = sender(settings)?;
    let transport = transport(settings)?;
    // Unique enough for one gateway's alerts: nanoseconds and the process.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let message_id = format!(
        "<fumidai-admin-{nanos}-{}@{}>",
        std::process::id(),
        from.email.domain()
    );
    let message = plain_message(
        &from,
        &settings.admins,
        &notice.subject,
        &message_id,
        notice.body.clone(),
    )
    .map_err(|e| NotifyError::Config(format!("admins: {e}")))?;
    transport
        .send(message)
        .await
        .map_err(|e| NotifyError::Send {
            to: settings.admins.join(", "),
            error: e.to_string(),
        })?;
    Ok(settings.admins.clone())
}

/// `[alerts.notify] from` as a mailbox.
fn sender(settings: &NotifyConfig) -> Result<Mailbox, NotifyError> {
    settings.from.parse().map_err(|_| {
        NotifyError::Config(format!(
            "from {:?} is not an address: set the address notices come from",
            settings.from
        ))
    })
}

fn transport(
    settings: &NotifyConfig,
) -> Result<lettre::AsyncSmtpTransport<lettre::Tokio1Executor>, NotifyError> {
    relay_transport(&settings.relay).ok_or_else(|| {
        NotifyError::Config(format!("relay {:?}: expected host:port", settings.relay))
    })
}

/// The registrable domain of `domain` as cases name organisations (normalised), when it is a domain name.
fn registrable(domain: &str) -> Option<String> {
    normalize_domain(domain).map(|d| registrable_domain(&d))
}

/// Why `case` is not notified now, if it is not: never our own organisation, only new cases, and never twice
/// within the cooldown.
fn skipped(case: &Case, own: &HashSet<String>, cooldown: i64, now: i64) -> Option<NotifyResult> {
    if registrable(&case.organisation).is_some_and(|d| own.contains(&d)) {
        return Some(NotifyResult::OwnDomain);
    }
    if case.state != CaseState::New {
        return Some(NotifyResult::NotNew { state: case.state });
    }
    case.last_notified_at
        .filter(|last| now - last < cooldown)
        .map(|last| NotifyResult::Cooldown { last })
}

/// A notice as mail, with its machine-readable copies.
struct Messages {
    message_id: String,
    /// To every contact of the notice at once (the directory's, or abuse@ and postmaster@ together, so that
    /// one bouncing does not lose it).
    notice: Message,
    /// ARF reports (RFC 5965), one per sample, when configured; sent to the same recipients.
    arf: Vec<Vec<u8>>,
}

impl Messages {
    fn build(
        config: &AlertsConfig,
        case: &Case,
        notice: &Notice,
        from: &Mailbox,
        now: i64,
    ) -> Result<Messages, String> {
        let settings = &config.notify;
        let message_id = format!("<fumidai-notice-{}-{now}@{}>", case.id, from.email.domain());
        let mut body = notice.body.clone();
        if settings.machine_readable == "csv" {
            body.push_str("\n---- CSV (machine-readable copy) ----\n");
            body.push_str(&machine::csv(case));
        }
        let notice = plain_message(from, &notice.to, &notice.subject, &message_id, body)?;
        let arf = if settings.machine_readable == "arf" {
            case.samples
                .iter()
                .map(|sample| machine::arf(case, sample, settings, now))
                .collect()
        } else {
            Vec::new()
        };
        Ok(Messages {
            message_id,
            notice,
            arf,
        })
    }
}

/// A plain-text message from `from` to every address of `to` at once; an error names the addresses that are not
/// addresses.
fn plain_message(
    from: &Mailbox,
    to: &[String],
    subject: &str,
    message_id: &str,
    body: String,
) -> Result<Message, String> {
    let mut builder = Message::builder()
        .from(from.clone())
        .subject(subject)
        .message_id(Some(message_id.to_owned()));
    let mut bad = Vec::new();
    for address in to {
        match address.parse::<Mailbox>() {
            Ok(mailbox) => builder = builder.to(mailbox),
            Err(_) => bad.push(address.as_str()),
        }
    }
    if !bad.is_empty() {
        return Err(format!("not an address: {}", bad.join(", ")));
    }
    builder
        .header(ContentType::TEXT_PLAIN)
        .body(body)
        .map_err(|e| e.to_string())
}

fn write(dir: &Path, case: &Case, notice: &Notice, messages: &Messages) -> NotifyResult {
    let message = &messages.notice;
    let reference = case_reference(case);
    let path = dir.join(format!("{reference}.eml"));
    let written = std::fs::create_dir_all(dir)
        .and_then(|()| write_new(&path, &message.formatted()))
        .and_then(|()| {
            messages.arf.iter().enumerate().try_for_each(|(i, arf)| {
                write_new(&dir.join(format!("{reference}.arf{}.eml", i + 1)), arf)
            })
        });
    match written {
        Ok(()) => NotifyResult::Written {
            path,
            to: notice.to.clone(),
        },
        Err(e) => NotifyResult::Failed {
            error: format!("{}: {e}", path.display()),
        },
    }
}

/// Sends the notice, then its ARF copies. A failure leaves the case new, to be notified on the next run.
async fn send(
    transport: &lettre::AsyncSmtpTransport<lettre::Tokio1Executor>,
    notice: &Notice,
    messages: &Messages,
) -> NotifyResult {
    let message = &messages.notice;
    if let Err(e) = transport.send(message.clone()).await {
        return NotifyResult::Failed {
            error: format!("{}: {e}", notice.to.join(", ")),
        };
    }
    for arf in &messages.arf {
        if let Err(e) = send_arf(transport, message, arf).await {
            tracing::warn!(to = %notice.to.join(", "), error = %e, "ARF copy not sent");
        }
    }
    NotifyResult::Sent {
        to: notice.to.clone(),
        message_id: messages.message_id.clone(),
    }
}

async fn send_arf(
    transport: &lettre::AsyncSmtpTransport<lettre::Tokio1Executor>,
    notice: &Message,
    arf: &[u8],
) -> Result<(), lettre::transport::smtp::Error> {
    transport
        .send_raw(notice.envelope(), without_final_line_end(arf))
        .await
        .map(|_| ())
}
