//! The decide stage of fumidai: a message's verdict, findings and exchange history become one action.
//!
//! The administrator writes the `[policy]` section of fumidai.toml ([`PolicyConfig`], documented in
//! `policy.example.toml`); [`Policy::new`] validates it, [`Policy::decide`] turns the [`Facts`] of one
//! message into a [`Decision`] that names the rules behind it ([`Because`]), and [`Policy::explain`]
//! says the whole policy back in English or Japanese for `fumidai config check`.
//!
//! Every matching rule proposes an action and the strongest wins ([`ActionKind`] is ordered). A message
//! has one action at the MTA, so when its recipients fall under different `[[policy.override]]`
//! rules, the strongest of their actions applies to all of them. Pure code: no I/O.

mod config;
mod explain;
mod policy;

pub use config::{
    AttachmentHandling, DirectionChanges, DirectionPolicy, DomainOverride, PolicyConfig,
    SanitizeSettings, Whitelist,
};
pub use policy::{Because, Decision, Facts, Policy, PolicyError, HISTORY_FINDINGS};

use serde::{Deserialize, Serialize};

/// What happens to a message, weakest first: each step lets less of it reach the recipient.
///
/// Tag changes only the subject; sanitise removes parts; quarantine holds the whole message where an
/// administrator can still release it; tempfail refuses it for now (the sending server retries, and
/// gives up after its queue lifetime); reject refuses it for good. Refusing outranks holding because a
/// rule that asks to refuse a message must not be weakened into keeping it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActionKind {
    Deliver,
    Tag,
    Sanitize,
    Quarantine,
    Tempfail,
    Reject,
}

impl ActionKind {
    /// The name used in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Deliver => "deliver",
            ActionKind::Tag => "tag",
            ActionKind::Sanitize => "sanitize",
            ActionKind::Quarantine => "quarantine",
            ActionKind::Tempfail => "tempfail",
            ActionKind::Reject => "reject",
        }
    }
}

/// The language of explanations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    En,
    Ja,
}
