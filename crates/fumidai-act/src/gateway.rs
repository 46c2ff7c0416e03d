//! One message, from its report to what was done, for a front end that sees mail as it flows (the
//! milter; later the HTTP API): history findings for inbound mail, the policy's decision, the action,
//! and the exchanges of delivered mail recorded.

use crate::{Actor, Arrival, Outcome};
use bytes::Bytes;
use fumidai_core::Direction;
use fumidai_engine::{ExchangeHistory, MessageReport, Parties, StoreError};

/// The actor and the exchange history (whose store also holds the quarantine), shared by every
/// message a long-running front end handles.
pub struct Gateway {
    actor: Actor,
    history: ExchangeHistory,
}

/// A message handled: the report with its history findings, and what became of it.
#[derive(Debug)]
pub struct Handled {
    pub report: MessageReport,
    pub outcome: Outcome,
}

impl Gateway {
    pub fn new(actor: Actor, history: ExchangeHistory) -> Gateway {
        Gateway { actor, history }
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
                original,
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
        Ok(Handled { report, outcome })
    }
}
