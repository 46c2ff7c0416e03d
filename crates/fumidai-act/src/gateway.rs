//! One message, from its report to what was done, for a front end that sees mail as it flows (the
//! milter; later the HTTP API): history findings for inbound mail, the policy's decision, the action,
//! the exchanges of delivered mail recorded, and a springboard event for inbound attack mail.

use crate::{Actor, Arrival, Outcome};
use bytes::Bytes;
use fumidai_alerts::auth::Authenticator;
use fumidai_alerts::classify::Classifier;
use fumidai_alerts::evidence::{springboard_event, EventContext, MessageFacts, SmtpFacts};
use fumidai_alerts::freemail::FreeMail;
use fumidai_alerts::{AlertsConfig, CaseRules, Organisation};
use fumidai_core::{Direction, Verdict};
use fumidai_engine::{ExchangeHistory, MessageReport, Parties, StoreError};

/// The actor and the exchange history (whose store also holds the quarantine and the springboard
/// cases), shared by every message a long-running front end handles.
pub struct Gateway {
    actor: Actor,
    history: ExchangeHistory,
    springboard: Option<Springboard>,
}

/// What attributes inbound attack mail to an organisation (`[alerts]`).
struct Springboard {
    context: EventContext,
    authenticator: Authenticator,
    rules: CaseRules,
    /// Keep events for the collector (`[alerts] collector_url` is set).
    outbox: bool,
}

impl Springboard {
    fn new(actor: &Actor) -> Option<Springboard> {
        let engine = actor.engine();
        let config: &AlertsConfig = &engine.config().alerts;
        if !config.enabled {
            return None;
        }
        let site = config.site();
        let classifier = Classifier::new(
            FreeMail::new(&config.free_mail_domains),
            &engine.sender().partners,
            &engine.sender().own_domains,
        );
        let authenticator = if config.authenticate {
            Authenticator::system(&site)
        } else {
            Authenticator::offline(&site)
        };
        let authenticator = match authenticator {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(error = %e, "springboard events off: no DNS resolver for SPF and DKIM");
                return None;
            }
        };
        Some(Springboard {
            context: EventContext { site, classifier },
            authenticator,
            rules: config.case_rules(),
            outbox: !config.collector_url.is_empty(),
        })
    }
}

/// A message handled: the report with its history findings, and what became of it.
#[derive(Debug)]
pub struct Handled {
    pub report: MessageReport,
    pub outcome: Outcome,
}

impl Gateway {
    pub fn new(actor: Actor, history: ExchangeHistory) -> Gateway {
        let springboard = Springboard::new(&actor);
        Gateway {
            actor,
            history,
            springboard,
        }
    }

    /// Organisation names from the directory, for attributing impersonation by display name.
    pub fn with_directory(mut self, organisations: &[Organisation]) -> Gateway {
        if let Some(springboard) = &mut self.springboard {
            springboard.context.classifier = springboard
                .context
                .classifier
                .clone()
                .with_directory(organisations);
        }
        self
    }

    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    pub fn history(&self) -> &ExchangeHistory {
        &self.history
    }

    /// Everything after the scan. An error means the message was not fully judged (the exchange
    /// history could not be read, or the exchanges of a delivered message could not be recorded):
    /// the front end must not deliver it as inspected. A failed quarantine write is not an error
    /// but a tempfail outcome.
    pub async fn handle(
        &self,
        original: Bytes,
        mut report: MessageReport,
        arrival: Arrival<'_>,
    ) -> Result<Handled, StoreError> {
        let parties = Parties::of(&report, arrival.envelope);
        if arrival.direction == Direction::Inbound {
            let assessment = self.history.assess(&parties, arrival.at).await?;
            self.actor
                .engine()
                .add_findings(&mut report, assessment.findings);
        }
        let decision = self.actor.decide(&report, arrival);
        let outcome = self
            .actor
            .carry_out(
                Some(self.history.store()),
                original.clone(),
                &report,
                arrival,
                decision,
            )
            .await;
        // What the recipients get is exchange; what was held is not. Received mail counts only when
        // the configuration says it does (`[history] count_inbound`).
        let records =
            arrival.direction == Direction::Outbound || self.history.config().count_inbound;
        if outcome.delivers() && records {
            let exchanges = self
                .history
                .exchanges(&parties, arrival.direction, arrival.at);
            self.history.record(&exchanges).await?;
        }
        if arrival.direction == Direction::Inbound && report.verdict != Verdict::Clean {
            self.record_springboard_event(&original, &report, arrival)
                .await;
        }
        Ok(Handled { report, outcome })
    }

    /// Attributes inbound attack mail to the organisation that sent it or was impersonated, and files it
    /// in that organisation's case. The message has been judged and acted on by now, so a failure here is
    /// logged and the message goes its way: the event is lost, the mail is not.
    async fn record_springboard_event(
        &self,
        original: &[u8],
        report: &MessageReport,
        arrival: Arrival<'_>,
    ) {
        let Some(springboard) = &self.springboard else {
            return;
        };
        let facts = MessageFacts {
            verdict: report.verdict,
            score: report.score,
            findings: &report.findings,
            attachments: &report.attachments,
            observed_at: arrival.at,
        };
        let smtp = SmtpFacts {
            client_ip: arrival.client.addr,
            helo: &arrival.client.helo,
            mail_from: arrival.envelope.mail_from.as_deref().unwrap_or(""),
            rcpt_to: &arrival.envelope.rcpt_to,
            sasl_login: arrival.client.login.as_deref(),
        };
        let Some(event) = springboard_event(
            &springboard.context,
            &springboard.authenticator,
            original,
            &facts,
            &smtp,
        )
        .await
        else {
            return;
        };
        let store = self.history.store();
        match store
            .event_record(&event, &springboard.rules, springboard.outbox)
            .await
        {
            Ok(recorded) => tracing::info!(
                kind = event.kind.as_str(),
                organisation = %event.organisation,
                case = recorded.case_id,
                new_case_episode = recorded.reopened,
                "springboard event"
            ),
            Err(e) => {
                tracing::error!(error = %e, organisation = %event.organisation, "springboard event not recorded")
            }
        }
    }
}
