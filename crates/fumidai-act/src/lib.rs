//! The act stage: what happens to a message once the engine has judged it.
//!
//! [`Actor::decide`] asks the policy (fumidai-policy) for an action; [`Actor::carry_out`] does it:
//! - **The original first.** Whenever the recipient will not get the message exactly as it came
//!   (sanitise, quarantine, reject), the original bytes, envelope, verdict and findings go into the
//!   store's quarantine, committed and synced, *before* any outcome exists. If that write fails the
//!   outcome is a tempfail: the MTA keeps the message and retries; nothing is delivered uninspected,
//!   nothing is dropped.
//! - **Sanitise** rebuilds the message (fumidai-sanitize) and scans the result again; an attachment
//!   the re-scan still finds risky is removed, and if the result is still not clean the message is
//!   quarantined instead.
//! - **Every delivered message** carries the verdict headers; incoming `X-Fumidai-*` fields are
//!   removed so a sender cannot forge them.
//!
//! The result is an [`Outcome`] holding a [`MessageEdit`] (headers to remove and add, a new body) that
//! a milter turns into its modification actions and the CLI applies to bytes.

mod edit;
mod gateway;
pub mod notify;
mod plan;
mod release;

pub use edit::MessageEdit;
pub use gateway::{Gateway, Handled, Raised, TrafficTally};
pub use release::{read_original, release, ReleaseError, ReleaseTarget};

use bytes::Bytes;
use fumidai_core::Direction;
use fumidai_engine::{Engine, Envelope, MessageReport};
use fumidai_policy::{ActionKind, Decision, Facts, Lang, Policy};
use fumidai_sanitize::{rebuild_message, Disposition, Plan, Rebuilt};
use fumidai_store::{QuarantineId, QuarantineMeta, Store};
use std::sync::Arc;

/// Why the actor could not be built.
#[derive(Debug, thiserror::Error)]
pub enum ActError {
    #[error("policy: {0}")]
    Policy(#[from] fumidai_policy::PolicyError),
}

/// An SMTP reply for a refused message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// 4xx or 5xx.
    pub code: u16,
    /// RFC 3463 status, e.g. `5.7.1`.
    pub status: String,
    pub text: String,
}

impl Reply {
    /// The policy's reply (`550 5.7.1 text`) for a reject or tempfail, with a standard one when the
    /// policy gave none or the action was made stronger than decided.
    fn for_decision(decision: &Decision, action: ActionKind) -> Reply {
        let (code, status, text) = if action == ActionKind::Reject {
            (550, "5.7.1", "Message rejected by content policy")
        } else {
            (
                451,
                "4.7.1",
                "Message deferred by content policy; try again later",
            )
        };
        let given = decision
            .smtp_reply
            .as_deref()
            .filter(|_| decision.action == action)
            .and_then(|r| {
                let mut words = r.splitn(3, ' ');
                let code: u16 = words.next()?.parse().ok()?;
                let status = words.next()?;
                Some(Reply {
                    code,
                    status: status.to_owned(),
                    text: words.next().unwrap_or_default().to_owned(),
                })
            });
        given.unwrap_or_else(|| Reply {
            code,
            status: status.to_owned(),
            text: text.to_owned(),
        })
    }
}

impl std::fmt::Display for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} {}", self.code, self.status, self.text)
    }
}

/// What became of one message.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// What was done in the end. It can be stronger than the policy's decision: a sanitised copy that
    /// still scans risky is quarantined, and a message whose original could not be stored is
    /// tempfailed.
    pub action: ActionKind,
    /// What the policy decided, and why.
    pub decision: Decision,
    /// The quarantined original, when one was stored.
    pub quarantine_id: Option<String>,
    /// How the delivered copy differs from the original (empty unless delivered).
    pub edit: MessageEdit,
    /// For reject and tempfail.
    pub reply: Option<Reply>,
    /// One line on anything that went other than decided (escalation, store failure).
    pub note: Option<String>,
}

impl Outcome {
    /// Whether the recipients get a copy (as is, tagged or sanitised).
    pub fn delivers(&self) -> bool {
        matches!(
            self.action,
            ActionKind::Deliver | ActionKind::Tag | ActionKind::Sanitize
        )
    }

    /// The message the recipients get, or `None` when they get nothing.
    pub fn delivered_message(&self, original: &[u8]) -> Option<Vec<u8>> {
        self.delivers().then(|| self.edit.apply(original))
    }
}

/// How a message arrived: its envelope, the SMTP client, which way it goes, and when (Unix seconds).
#[derive(Debug, Clone, Copy)]
pub struct Arrival<'a> {
    pub envelope: &'a Envelope,
    pub client: &'a Client,
    pub direction: Direction,
    pub at: i64,
}

/// What the SMTP session said about the client; empty for mail read from files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Client {
    pub addr: Option<std::net::IpAddr>,
    /// The EHLO/HELO name.
    pub helo: String,
    /// The SASL login, when the client authenticated.
    pub login: Option<String>,
}

/// Decides and carries out actions for one engine and policy; shared by every front end.
pub struct Actor {
    engine: Arc<Engine>,
    policy: Policy,
}

impl Actor {
    /// The policy comes from the engine's configuration (`[policy]`).
    pub fn new(engine: Arc<Engine>) -> Result<Actor, ActError> {
        let policy = Policy::new(engine.config().policy.clone())?;
        Ok(Actor { engine, policy })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The policy's decision for a judged message (history findings already added).
    pub fn decide(&self, report: &MessageReport, arrival: Arrival<'_>) -> Decision {
        let envelope = arrival.envelope;
        let sender = report.from.as_deref().or(envelope.mail_from.as_deref());
        let recipients = if envelope.rcpt_to.is_empty() {
            &report.recipients
        } else {
            &envelope.rcpt_to
        };
        self.policy.decide(&Facts {
            direction: arrival.direction,
            verdict: report.verdict,
            findings: &report.findings,
            sender,
            recipients,
            has_attachments: !report.attachments.is_empty(),
            has_links: report.links > 0,
        })
    }

    /// Carries out `decision` for `original`. With no store (a trial run), nothing is quarantined and
    /// notices cite no id; in production a store is always given.
    pub async fn carry_out(
        &self,
        store: Option<&dyn Store>,
        original: Bytes,
        report: &MessageReport,
        arrival: Arrival<'_>,
        decision: Decision,
    ) -> Outcome {
        let mut outcome = Outcome {
            action: decision.action,
            decision,
            quarantine_id: None,
            edit: MessageEdit::default(),
            reply: None,
            note: None,
        };
        // The id comes first: the sanitised copy's notices cite it, and the item then records the
        // action finally taken.
        let id = store
            .filter(|_| keeps_original(outcome.action))
            .map(|_| QuarantineId::generate(arrival.at));
        let mut rebuilt = None;
        if outcome.action == ActionKind::Sanitize {
            match self.sanitize(&original, report, &outcome.decision, id.as_deref()) {
                Ok(r) => rebuilt = Some(r),
                Err(why) => {
                    outcome.action = ActionKind::Quarantine;
                    outcome.note = Some(why);
                }
            }
        }
        if let (Some(store), Some(id)) = (store, id) {
            let meta = quarantine_meta(&id, report, arrival, &outcome);
            match store.quarantine_put(&meta, original.clone()).await {
                Ok(()) => outcome.quarantine_id = Some(id),
                Err(e) => {
                    tracing::error!(error = %e, "quarantine write failed; tempfailing the message");
                    return tempfail(outcome, format!("quarantine write failed: {e}"));
                }
            }
        }
        if matches!(outcome.action, ActionKind::Reject | ActionKind::Tempfail) {
            outcome.reply = Some(Reply::for_decision(&outcome.decision, outcome.action));
        }
        if outcome.delivers() {
            outcome.edit = edit::delivered(report, &outcome, rebuilt);
        }
        outcome
    }

    /// Rebuilds the message as the decision's sanitise settings say and checks the result scans clean.
    /// An attachment still risky in the copy is removed and the copy rebuilt once more; a copy that is
    /// still not clean is an error (the caller quarantines instead).
    fn sanitize(
        &self,
        original: &[u8],
        report: &MessageReport,
        decision: &Decision,
        quarantine_id: Option<&str>,
    ) -> Result<Rebuilt, String> {
        let settings = decision.sanitize.clone().unwrap_or_default();
        let mut dispositions = plan::dispositions(report, &settings);
        let detected: Vec<String> = report
            .attachments
            .iter()
            .map(|a| a.detected_type.label().to_owned())
            .collect();
        let reasons = plan::reasons(report, self.engine.config().history.window_days);
        for attempt in 0..2 {
            let rebuilt = rebuild_message(
                original,
                &Plan {
                    reasons: &reasons,
                    attachments: &dispositions,
                    detected_types: &detected,
                    html_to_text: settings.html_to_text,
                    defang_links: settings.defang_links,
                    quarantine_id,
                    limits: Default::default(),
                    mime_limits: &self.engine.config().limits,
                },
            )
            .map_err(|e| format!("sanitising failed: {e}"))?;
            let copy = rebuilt.message(original);
            let rescan = self
                .engine
                .scan(&copy, &Envelope::default())
                .map_err(|e| format!("the sanitised copy could not be scanned: {e}"))?;
            let still_risky = plan::risky_kept(&rescan, &dispositions);
            if still_risky.is_empty() && plan::content_is_clean(&rescan, self.engine.config()) {
                return Ok(rebuilt);
            }
            if attempt == 0 && !still_risky.is_empty() {
                for i in still_risky {
                    if let Some(d) = dispositions.get_mut(i) {
                        *d = Disposition::Remove {
                            why: "still risky after sanitising".to_owned(),
                        };
                    }
                }
                continue;
            }
            break;
        }
        Err("the sanitised copy still scans risky".to_owned())
    }
}

/// Actions after which the recipient does not have the original as it came.
fn keeps_original(action: ActionKind) -> bool {
    matches!(
        action,
        ActionKind::Sanitize | ActionKind::Quarantine | ActionKind::Reject
    )
}

fn tempfail(mut outcome: Outcome, why: String) -> Outcome {
    outcome.action = ActionKind::Tempfail;
    outcome.reply = Some(Reply {
        code: 451,
        status: "4.3.0".to_owned(),
        text: "Temporary failure storing the message; try again later".to_owned(),
    });
    outcome.note = Some(why);
    outcome.edit = MessageEdit::default();
    outcome
}

fn quarantine_meta(
    id: &str,
    report: &MessageReport,
    arrival: Arrival<'_>,
    outcome: &Outcome,
) -> QuarantineMeta {
    let envelope = arrival.envelope;
    let mut findings: Vec<String> = report.findings.iter().map(|f| f.id.to_owned()).collect();
    findings.sort_unstable();
    findings.dedup();
    QuarantineMeta {
        id: id.to_owned(),
        received_at: arrival.at,
        direction: arrival.direction,
        mail_from: envelope.mail_from.clone(),
        rcpt_to: envelope.rcpt_to.clone(),
        from: report.from.clone(),
        subject: report.subject.clone(),
        message_id: report.message_id.clone(),
        verdict: report.verdict.as_str().to_owned(),
        score: report.score,
        action: outcome.action.as_str().to_owned(),
        reason: outcome
            .decision
            .because
            .iter()
            .map(|b| b.describe(Lang::En))
            .collect::<Vec<_>>()
            .join("; "),
        findings,
        report_json: serde_json::to_string(report).unwrap_or_default(),
    }
}
