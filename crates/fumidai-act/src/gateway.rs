//! One message, from its report to what was done, for a front end that sees mail as it flows (the
//! milter; later the HTTP API): history, reference and bounce findings for inbound mail, the outbound watch
//! for outbound mail, the policy's decision, the action, the exchanges and sent Message-IDs of delivered mail
//! recorded, and springboard events, with alerts to our administrators when the organisation in question is
//! our own (an account held, our domain spoofed).

use crate::{Actor, Arrival, Outcome};
use bytes::Bytes;
use fumidai_alerts::admin::{self, AdminAlert};
use fumidai_alerts::auth::Authenticator;
use fumidai_alerts::classify::{Attribution, Classifier};
use fumidai_alerts::evidence::{self, springboard_event, EventContext, MessageFacts, SmtpFacts};
use fumidai_alerts::freemail::FreeMail;
use fumidai_alerts::{AlertsConfig, CaseRules, EventKind, Organisation, SpringboardEvent};
use fumidai_core::{Direction, Finding, Limits, Scan, Verdict};
use fumidai_engine::{ExchangeHistory, MessageReport, Parties, StoreError};
use fumidai_mime::dsn::Bounce;
use fumidai_outbound::backscatter::check_bounce;
use fumidai_outbound::sent::{check_references, is_own, sent_message};
use fumidai_outbound::watch::{account_of, watch, Hold, Outgoing};
use fumidai_store::{registrable_domain_of_address, Traffic};
use std::sync::Arc;

/// The actor and the exchange history (whose store also holds the quarantine and the springboard
/// cases), shared by every message a long-running front end handles.
pub struct Gateway {
    actor: Actor,
    history: ExchangeHistory,
    springboard: Option<Springboard>,
    tally: Arc<TrafficTally>,
}

/// Messages handled but not yet counted in the store for the dashboard. Every message of an hour adds to the same
/// few counter rows, so writing them per message makes concurrent messages queue on those rows (measured in
/// `fumidai-store`'s traffic bench); they are written in batches instead: by [`Gateway::flush_traffic`], which
/// the milter calls every few seconds and at shutdown, or by the message that fills a batch.
#[derive(Debug, Default)]
pub struct TrafficTally {
    pending: std::sync::Mutex<Vec<Traffic>>,
}

impl TrafficTally {
    /// Messages after which the one that fills the batch writes it.
    const BATCH: usize = 1_000;

    fn add(&self, traffic: Traffic) -> Option<Vec<Traffic>> {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending.push(traffic);
        (pending.len() >= Self::BATCH).then(|| std::mem::take(&mut *pending))
    }

    fn take(&self) -> Vec<Traffic> {
        std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()))
    }
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

/// A message handled: the report with its history findings, what became of it, and the alerts it raised.
#[derive(Debug)]
pub struct Handled {
    pub report: MessageReport,
    pub outcome: Outcome,
    pub raised: Vec<Raised>,
}

/// An alert about our own organisation, raised once (logged, mailed to `[alerts.notify] admins`, filed as a
/// case), for the front end's metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Raised {
    /// An outbound account crossed a threshold and is held.
    AccountHeld { account: String, reason: String },
    /// Someone sends mail in our name (bounces of mail we never sent, or attack mail impersonating our
    /// domain): a case of our own domain opened.
    DomainSpoofed {
        organisation: String,
        backscatter: bool,
    },
}

impl Raised {
    /// The metric label.
    pub fn kind(&self) -> &'static str {
        match self {
            Raised::AccountHeld { .. } => "account_held",
            Raised::DomainSpoofed { .. } => "domain_spoofed",
        }
    }
}

/// What the inbound checks beyond the history found out.
struct InboundChecks<'a> {
    findings: Vec<Finding>,
    /// The message is a bounce; with `true`, one of mail in our name that we never sent.
    bounce: Option<(Bounce<'a>, bool)>,
}

impl Gateway {
    pub fn new(actor: Actor, history: ExchangeHistory) -> Gateway {
        let springboard = Springboard::new(&actor);
        Gateway {
            actor,
            history,
            springboard,
            tally: Arc::default(),
        }
    }

    /// Goes on counting into `tally` (a reloaded configuration's gateway takes over the running one's, so that
    /// nothing counted is dropped with the old one).
    pub fn with_tally(mut self, tally: Arc<TrafficTally>) -> Gateway {
        self.tally = tally;
        self
    }

    pub fn tally(&self) -> &Arc<TrafficTally> {
        &self.tally
    }

    /// Writes the messages counted since the last write to the store. Advisory: a failure is logged and those
    /// counts are dropped (the dashboard undercounts; no mail is affected).
    pub async fn flush_traffic(&self) {
        self.write_traffic(self.tally.take()).await;
    }

    async fn write_traffic(&self, batch: Vec<Traffic>) {
        if batch.is_empty() {
            return;
        }
        if let Err(e) = self.history.store().traffic_add(&batch).await {
            tracing::warn!(error = %e, messages = batch.len(), "messages not counted for the dashboard");
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
    /// history or the outbound counters could not be read, or the exchanges of a delivered message could
    /// not be recorded): the front end must not deliver it as inspected. A failed quarantine write is not an
    /// error but a tempfail outcome.
    pub async fn handle(
        &self,
        original: Bytes,
        mut report: MessageReport,
        arrival: Arrival<'_>,
    ) -> Result<Handled, StoreError> {
        let parties = Parties::of(&report, arrival.envelope);
        let engine = self.actor.engine();
        let store = self.history.store();
        let mut bounce = None;
        let mut held = None;
        let mut account = None;
        match arrival.direction {
            Direction::Inbound => {
                let assessment = self.history.assess(&parties, arrival.at).await?;
                engine.add_findings(&mut report, assessment.findings);
                let checks = self.inbound_checks(&original, &report, arrival).await?;
                engine.add_findings(&mut report, checks.findings);
                bounce = checks.bounce;
            }
            Direction::Outbound => {
                let outgoing = Outgoing {
                    login: arrival.client.login.as_deref(),
                    mail_from: arrival.envelope.mail_from.as_deref(),
                    sender: parties.sender.as_deref(),
                    recipients: &parties.recipients,
                    verdict: report.verdict,
                    at: arrival.at,
                };
                let watched = watch(store, &engine.config().outbound, &outgoing).await?;
                engine.add_findings(&mut report, watched.findings);
                account = watched.account;
                held = watched.newly_held;
            }
        }
        let decision = self.actor.decide(&report, arrival);
        let outcome = self
            .actor
            .carry_out(Some(store), original.clone(), &report, arrival, decision)
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
        let mut raised = Vec::new();
        match arrival.direction {
            Direction::Outbound => {
                if outcome.delivers() {
                    self.remember_sent(&report, &parties, arrival, account.as_deref())
                        .await;
                }
                if let Some(hold) = held {
                    raised.push(
                        self.account_held(&original, &report, &parties, arrival, hold)
                            .await,
                    );
                }
            }
            Direction::Inbound => match &bounce {
                // A bounce is not attack mail of its sender (the bouncing server): only its original counts.
                Some((bounce, true)) => {
                    raised.extend(self.backscatter_event(bounce, &report, arrival).await);
                }
                Some((_, false)) => {}
                None if report.verdict != Verdict::Clean => {
                    raised.extend(
                        self.record_springboard_event(&original, &report, arrival)
                            .await,
                    );
                }
                None => {}
            },
        }
        self.count(&report, &outcome, arrival).await;
        Ok(Handled {
            report,
            outcome,
            raised,
        })
    }

    /// Counts the message for the console's dashboard (see [`TrafficTally`]).
    async fn count(&self, report: &MessageReport, outcome: &Outcome, arrival: Arrival<'_>) {
        let traffic = Traffic {
            at: arrival.at,
            direction: arrival.direction.as_str().to_owned(),
            verdict: report.verdict.as_str().to_owned(),
            action: outcome.action.as_str().to_owned(),
            findings: report.findings.iter().map(|f| f.id.to_owned()).collect(),
        };
        if let Some(batch) = self.tally.add(traffic) {
            self.write_traffic(batch).await;
        }
    }

    /// The organisation's own registrable domains: `[sender] own_domains`, else those of the recipients of
    /// inbound mail (which reached us, so they are ours).
    fn own_domains(&self, arrival: Arrival<'_>) -> Vec<String> {
        let configured = &self.actor.engine().sender().own_domains;
        if !configured.is_empty() {
            return configured.clone();
        }
        arrival
            .envelope
            .rcpt_to
            .iter()
            .filter_map(|r| registrable_domain_of_address(r))
            .collect()
    }

    /// A reply that references mail we sent to someone else, and bounces of mail in our name.
    async fn inbound_checks<'a>(
        &self,
        original: &'a [u8],
        report: &MessageReport,
        arrival: Arrival<'_>,
    ) -> Result<InboundChecks<'a>, StoreError> {
        let store = self.history.store();
        let config = &self.actor.engine().config().outbound;
        let own_domains = self.own_domains(arrival);
        let mut findings: Vec<Finding> = check_references(
            store,
            &report.references,
            report.from.as_deref(),
            &own_domains,
        )
        .await?
        .into_iter()
        .collect();
        let bounce = if config.backscatter {
            check_bounce(
                store,
                original,
                arrival.envelope.mail_from.as_deref(),
                &own_domains,
            )
            .await?
            .map(|checked| {
                let backscatter = checked.backscatter.is_some();
                findings.extend(checked.backscatter);
                (checked.bounce, backscatter)
            })
        } else {
            None
        };
        Ok(InboundChecks { findings, bounce })
    }

    /// Remembers a delivered outbound message's Message-ID. Advisory: a failure is logged, the mail has gone.
    async fn remember_sent(
        &self,
        report: &MessageReport,
        parties: &Parties,
        arrival: Arrival<'_>,
        account: Option<&str>,
    ) {
        let account = account.map(str::to_owned).or_else(|| {
            account_of(
                arrival.client.login.as_deref(),
                arrival.envelope.mail_from.as_deref(),
            )
        });
        let Some(sent) = sent_message(
            report.message_id.as_deref(),
            account.as_deref().unwrap_or_default(),
            &parties.recipients,
            arrival.at,
        ) else {
            return;
        };
        if let Err(e) = self.history.store().sent_record(&sent).await {
            tracing::error!(error = %e, message_id = %sent.message_id, "sent Message-ID not remembered");
        }
    }

    /// An account was just held: say so once (log, case, administrators).
    async fn account_held(
        &self,
        original: &[u8],
        report: &MessageReport,
        parties: &Parties,
        arrival: Arrival<'_>,
        hold: Hold,
    ) -> Raised {
        tracing::warn!(account = %hold.account, reason = %hold.reason, "outbound account held");
        let organisation = parties
            .sender
            .as_deref()
            .and_then(registrable_domain_of_address);
        let event = match (&self.springboard, organisation) {
            (Some(springboard), Some(organisation)) => {
                let attribution = Attribution {
                    kind: EventKind::Springboard,
                    organisation,
                    reason: format!("our account {} was held: {}", hold.account, hold.reason),
                    own_domain: true,
                };
                Some(springboard.event_of(original, report, arrival.at, attribution, smtp(arrival)))
            }
            _ => None,
        };
        if let Some(event) = &event {
            self.file_event(event).await;
        }
        let sample = event.as_ref().map(|e| &e.sample);
        self.tell_admins(&AdminAlert::AccountHeld {
            account: &hold.account,
            reason: &hold.reason,
            totals: hold.totals,
            window_minutes: u64::from(self.actor.engine().config().outbound.window_minutes),
            held_at: arrival.at,
            sample,
        })
        .await;
        Raised::AccountHeld {
            account: hold.account,
            reason: hold.reason,
        }
    }

    /// A bounce of mail in our name that we never sent: an impersonation of our domain, whose sample is the
    /// returned original (its Received chain shows where it really came from).
    async fn backscatter_event(
        &self,
        bounce: &Bounce<'_>,
        report: &MessageReport,
        arrival: Arrival<'_>,
    ) -> Option<Raised> {
        let springboard = self.springboard.as_ref()?;
        let headers = bounce.original_headers.as_deref()?;
        let organisation = bounce
            .original_from
            .as_deref()
            .and_then(registrable_domain_of_address)?;
        tracing::warn!(organisation = %organisation, message_id = bounce.original_message_id.as_deref().unwrap_or_default(), "backscatter: a bounce of mail in our name that we never sent");
        let attribution = Attribution {
            kind: EventKind::Impersonation,
            organisation,
            reason:
                "a bounce came back for this message in our name, which we never sent (backscatter)"
                    .into(),
            own_domain: true,
        };
        let mut headers_only = headers.to_vec();
        headers_only.extend_from_slice(b"\r\n");
        // The bouncing server is not the source, and the recipients are the original's (from its To and Cc).
        let event = springboard.event_of(
            &headers_only,
            report,
            arrival.at,
            attribution,
            SmtpFacts::default(),
        );
        self.domain_spoofed(&event, true).await
    }

    /// Attributes inbound attack mail to the organisation that sent it or was impersonated, and files it
    /// in that organisation's case. The message has been judged and acted on by now, so a failure here is
    /// logged and the message goes its way: the event is lost, the mail is not. Attack mail impersonating
    /// our own domain is told to the administrators when its case opens.
    async fn record_springboard_event(
        &self,
        original: &[u8],
        report: &MessageReport,
        arrival: Arrival<'_>,
    ) -> Option<Raised> {
        let springboard = self.springboard.as_ref()?;
        let facts = facts(report, arrival.at);
        let smtp = smtp(arrival);
        let event = springboard_event(
            &springboard.context,
            &springboard.authenticator,
            original,
            &facts,
            &smtp,
        )
        .await?;
        let own = is_own(&event.organisation, &self.own_domains(arrival));
        if own && event.kind == EventKind::Impersonation {
            self.domain_spoofed(&event, false).await
        } else {
            self.file_event(&event).await;
            None
        }
    }

    /// Files an event about our own domain being used by others, and tells the administrators when it opened
    /// the case (created or reopened): once per episode, however many messages follow.
    async fn domain_spoofed(&self, event: &SpringboardEvent, backscatter: bool) -> Option<Raised> {
        let recorded = self.file_event(event).await?;
        if !(recorded.new && (recorded.created || recorded.reopened)) {
            return None;
        }
        match self.history.store().case_get(recorded.case_id).await {
            Ok(Some(case)) => {
                self.tell_admins(&AdminAlert::DomainSpoofed {
                    case: &case,
                    backscatter,
                })
                .await
            }
            Ok(None) => {}
            Err(e) => {
                tracing::error!(error = %e, case = recorded.case_id, "case not read for the administrators' alert")
            }
        }
        Some(Raised::DomainSpoofed {
            organisation: event.organisation.clone(),
            backscatter,
        })
    }

    /// Records an event in its case; a failure is logged (the mail has been judged already).
    async fn file_event(&self, event: &SpringboardEvent) -> Option<fumidai_store::EventRecorded> {
        let springboard = self.springboard.as_ref()?;
        match self
            .history
            .store()
            .event_record(event, &springboard.rules, springboard.outbox)
            .await
        {
            Ok(recorded) => {
                tracing::info!(
                    kind = event.kind.as_str(),
                    organisation = %event.organisation,
                    case = recorded.case_id,
                    new_case_episode = recorded.created || recorded.reopened,
                    "springboard event"
                );
                Some(recorded)
            }
            Err(e) => {
                tracing::error!(error = %e, organisation = %event.organisation, "springboard event not recorded");
                None
            }
        }
    }

    /// Mails an alert to `[alerts.notify] admins`, in the background: the message in hand does not wait for
    /// the relay (which may be the very MTA waiting for this answer). A failure is logged.
    async fn tell_admins(&self, alert: &AdminAlert<'_>) {
        let Some(springboard) = &self.springboard else {
            return;
        };
        let settings = self.actor.engine().config().alerts.notify.clone();
        if settings.admins.is_empty() {
            tracing::warn!(
                "[alerts.notify] admins is empty: the alert is logged and filed, not mailed"
            );
            return;
        }
        let notice = match admin::render(alert, &springboard.context.site, &settings.languages) {
            Ok(notice) => notice,
            Err(e) => {
                tracing::error!(error = %e, "administrators' alert not rendered");
                return;
            }
        };
        tokio::spawn(async move {
            match crate::notify::send_admin_alert(&settings, &notice).await {
                Ok(to) => {
                    tracing::info!(to = %to.join(", "), subject = %notice.subject, "administrators alerted")
                }
                Err(e) => tracing::error!(error = %e, "administrators' alert not sent"),
            }
        });
    }
}

/// What inspection found, as an event's sample carries it.
fn facts(report: &MessageReport, at: i64) -> MessageFacts<'_> {
    MessageFacts {
        verdict: report.verdict,
        score: report.score,
        findings: &report.findings,
        attachments: &report.attachments,
        observed_at: at,
    }
}

fn smtp<'a>(arrival: Arrival<'a>) -> SmtpFacts<'a> {
    SmtpFacts {
        client_ip: arrival.client.addr,
        helo: &arrival.client.helo,
        mail_from: arrival.envelope.mail_from.as_deref().unwrap_or(""),
        rcpt_to: &arrival.envelope.rcpt_to,
        sasl_login: arrival.client.login.as_deref(),
    }
}

impl Springboard {
    /// The event of a message whose attribution is already known (our own account held, a backscatter
    /// original): no DNS.
    fn event_of(
        &self,
        raw: &[u8],
        report: &MessageReport,
        at: i64,
        attribution: Attribution,
        smtp: SmtpFacts<'_>,
    ) -> SpringboardEvent {
        let facts = facts(report, at);
        let limits = Limits::default();
        let mut scan = Scan::new(&limits, fumidai_core::hash_only);
        let message = fumidai_mime::parse(&mut scan, raw);
        let sample = evidence::sample(raw, &message, &facts, &smtp, &attribution);
        evidence::event(
            &self.context.site,
            attribution,
            sample,
            report.verdict,
            report.score,
            at,
            raw,
        )
    }
}
