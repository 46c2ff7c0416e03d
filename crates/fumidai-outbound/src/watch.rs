//! Per-account rolling counters: each outbound message is added to its account's counts, and an account whose
//! counts cross a threshold is held. Holding is one conditional write in the shared store, so of several
//! nodes (or several messages at once) exactly one raises the alert.

use fumidai_core::{Finding, Verdict};
use fumidai_store::{normalize_address, Lookup, OutboundTally, OutboundTotals, Store, StoreError};

use crate::config::OutboundConfig;
use crate::findings::OUTBOUND_ACCOUNT_HELD;

/// Recipients of one message whose history is looked up; the new share of the rest is taken to be the same.
const MAX_LOOKUPS: usize = 50;

/// One outbound message, as the watch counts it.
#[derive(Debug, Clone, Copy)]
pub struct Outgoing<'a> {
    /// The SASL login, when the client authenticated.
    pub login: Option<&'a str>,
    /// MAIL FROM (empty or `None` for the null sender).
    pub mail_from: Option<&'a str>,
    /// The sender as the history records it (header From, else MAIL FROM).
    pub sender: Option<&'a str>,
    /// The envelope recipients.
    pub recipients: &'a [String],
    pub verdict: Verdict,
    /// Unix seconds UTC.
    pub at: i64,
}

/// What the watch made of an outbound message.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Watched {
    /// The account counted (`None`: no account, or an exempt one).
    pub account: Option<String>,
    /// `OUTBOUND_ACCOUNT_HELD` when the account is held.
    pub findings: Vec<Finding>,
    /// This message held the account: raise the alert (once).
    pub newly_held: Option<Hold>,
}

/// An account just held.
#[derive(Debug, Clone, PartialEq)]
pub struct Hold {
    pub account: String,
    /// Which threshold, in words (`3 suspicious or malicious messages in 60 minutes (limit 3)`).
    pub reason: String,
    pub totals: OutboundTotals,
}

/// The account a message is counted against: the SASL login, else the envelope sender, trimmed and
/// lower-cased.
pub fn account_of(login: Option<&str>, mail_from: Option<&str>) -> Option<String> {
    [login, mail_from]
        .into_iter()
        .flatten()
        .map(|a| a.trim().trim_matches(['<', '>']).trim().to_lowercase())
        .find(|a| !a.is_empty())
}

/// The first threshold `totals` crosses, in words.
pub fn crossed(config: &OutboundConfig, totals: &OutboundTotals) -> Option<String> {
    let window = config.window_minutes;
    let limit = |n: u32| (n > 0).then_some(u64::from(n));
    if let Some(max) = limit(config.max_risky).filter(|max| totals.risky >= *max) {
        return Some(format!(
            "{} suspicious or malicious messages in {window} minutes (limit {max})",
            totals.risky
        ));
    }
    if let Some(max) = limit(config.max_new_recipients).filter(|max| {
        totals.new_recipients >= *max
            && totals.new_recipients as f64 >= config.min_new_share * totals.recipients as f64
    }) {
        return Some(format!(
            "{} new recipients of {} in {window} minutes (limit {max}, {:.0}% or more new)",
            totals.new_recipients,
            totals.recipients,
            config.min_new_share * 100.0
        ));
    }
    if let Some(max) = limit(config.max_messages).filter(|max| totals.messages > *max) {
        return Some(format!(
            "{} messages in {window} minutes (limit {max})",
            totals.messages
        ));
    }
    if let Some(max) = limit(config.max_recipients).filter(|max| totals.recipients > *max) {
        return Some(format!(
            "{} recipients in {window} minutes (limit {max})",
            totals.recipients
        ));
    }
    None
}

/// Counts `message` against its account and holds the account when it crosses a threshold. A store error
/// means the message could not be counted: the caller must not send it as judged.
pub async fn watch(
    store: &dyn Store,
    config: &OutboundConfig,
    message: &Outgoing<'_>,
) -> Result<Watched, StoreError> {
    let Some(account) = account_of(message.login, message.mail_from) else {
        return Ok(Watched::default());
    };
    if !config.enabled || config.is_exempt(&account) {
        return Ok(Watched::default());
    }
    let tally = OutboundTally {
        account: account.clone(),
        at: message.at,
        messages: 1,
        recipients: saturating_u32(message.recipients.len()),
        new_recipients: new_recipients(store, message.sender, message.recipients).await?,
        risky: u32::from(message.verdict != Verdict::Clean),
    };
    let seen = store.outbound_add(&tally, config.window_seconds()).await?;
    let mut watched = Watched {
        account: Some(account.clone()),
        ..Watched::default()
    };
    let reason = if seen.held {
        "the account is held".to_owned()
    } else if let Some(reason) = crossed(config, &seen.totals) {
        if store.outbound_hold(&account, message.at, &reason).await? {
            watched.newly_held = Some(Hold {
                account: account.clone(),
                reason: reason.clone(),
                totals: seen.totals,
            });
        }
        reason
    } else {
        return Ok(watched);
    };
    watched.findings.push(Finding {
        id: OUTBOUND_ACCOUNT_HELD.id,
        score: OUTBOUND_ACCOUNT_HELD.score,
        part: "headers".into(),
        detail: format!("{account}: {reason}"),
    });
    Ok(watched)
}

/// How many of `recipients` the sender has never written to (at the address level). Only the first
/// [`MAX_LOOKUPS`] are looked up; the share among them stands for the rest.
async fn new_recipients(
    store: &dyn Store,
    sender: Option<&str>,
    recipients: &[String],
) -> Result<u32, StoreError> {
    let Some(sender) = sender.and_then(normalize_address) else {
        // Nobody to have written before: every recipient is new.
        return Ok(saturating_u32(recipients.len()));
    };
    let looked_up = &recipients[..recipients.len().min(MAX_LOOKUPS)];
    let mut new = 0usize;
    for recipient in looked_up {
        let Some(recipient) = normalize_address(recipient) else {
            continue;
        };
        let Lookup { address, .. } = store.lookup(&sender, &recipient).await?;
        if address.is_none_or(|h| h.last_outbound.is_none()) {
            new += 1;
        }
    }
    let extrapolated = if looked_up.is_empty() {
        0
    } else {
        new * recipients.len() / looked_up.len()
    };
    Ok(saturating_u32(extrapolated))
}

fn saturating_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(messages: u64, recipients: u64, new_recipients: u64, risky: u64) -> OutboundTotals {
        OutboundTotals {
            messages,
            recipients,
            new_recipients,
            risky,
        }
    }

    #[test]
    fn the_login_is_the_account_before_the_envelope_sender() {
        assert_eq!(
            account_of(Some(" Taro "), Some("<x@example.jp>")).as_deref(),
            Some("taro")
        );
        assert_eq!(
            account_of(Some(""), Some("<Hanako@Example.JP>")).as_deref(),
            Some("hanako@example.jp")
        );
        assert_eq!(account_of(None, Some("<>")), None);
    }

    #[test]
    fn each_threshold_holds_at_its_limit_and_not_below() {
        let config = OutboundConfig::default();
        assert_eq!(crossed(&config, &totals(100, 500, 49, 2)), None);
        assert!(crossed(&config, &totals(3, 3, 0, 3))
            .unwrap()
            .starts_with("3 suspicious or malicious"));
        assert!(crossed(&config, &totals(50, 60, 50, 0))
            .unwrap()
            .starts_with("50 new recipients of 60"));
        // Many new recipients, but a small share of a large volume: the share rule keeps it.
        assert_eq!(crossed(&config, &totals(100, 400, 60, 0)), None);
        assert!(crossed(&config, &totals(101, 101, 0, 0))
            .unwrap()
            .starts_with("101 messages"));
        assert!(crossed(&config, &totals(10, 501, 0, 0))
            .unwrap()
            .starts_with("501 recipients"));
    }

    #[test]
    fn zero_turns_a_threshold_off() {
        let config = OutboundConfig {
            max_messages: 0,
            max_recipients: 0,
            max_new_recipients: 0,
            max_risky: 0,
            ..OutboundConfig::default()
        };
        assert_eq!(
            crossed(&config, &totals(10_000, 10_000, 10_000, 10_000)),
            None
        );
    }
}
