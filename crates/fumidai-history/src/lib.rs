//! Who talks to whom: the "no exchange in N days" rule, look-alike correspondents, and day-one import.
//!
//! - [`assess`] applies m-FILTER's 90-day rule to one inbound message: a sender that no local recipient
//!   (or, at the domain level, nobody in the organisation) has written to in `window_days` is possible
//!   springboard mail. Outbound mail counts as exchange; inbound mail only with `count_inbound`.
//!   The clock is a parameter. Whitelisted senders get no finding.
//! - [`lookalike`] finds sender domains that imitate a correspondent's (confusables, digits, hyphens,
//!   another or an embedded suffix, small edit distances), indexed for thousands of correspondents.
//! - [`import`] turns sent-mail mbox files, Maildir folders, Postfix logs and CSV pair lists into
//!   [`fumidai_store::Exchange`] records, streaming and deterministic (importing twice changes nothing).
//! - [`checks`] are test suites over any [`fumidai_store::Store`] backend.
//!
//! Limits: the history says nothing about a hijacked *active* thread (the attacker replies inside a
//! real conversation); that is why forced attachment inspection runs regardless of history. Syslog
//! timestamps carry no year or zone: the importer is told both.

pub mod address;
mod assess;
pub mod checks;
mod config;
pub mod import;
pub mod lookalike;

pub use assess::{assess, assess_with, build_index, is_whitelisted, Assessment};
pub use config::{HistoryConfig, Level, LookalikeConfig};
pub use lookalike::{lookalike_of, CorrespondentIndex};

/// Findings of the exchange history (all on the `headers` part).
pub mod findings {
    fumidai_core::findings! {
        FIRST_CONTACT = 3.0, "The organisation has never exchanged mail with this sender at the configured level.";
        NO_RECENT_EXCHANGE = 3.0, "The last counted exchange with this sender is older than the configured window (default 90 days): possible springboard mail.";
        LOOKALIKE_OF_CORRESPONDENT = 6.0, "The sender's domain is not a correspondent but imitates one (confusable characters, another or embedded suffix, small edit distance).";
    }
}

/// Every finding this crate can raise.
pub use findings::ALL as FINDINGS;
