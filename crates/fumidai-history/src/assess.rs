//! The "no exchange in N days" rule for one inbound message.

use crate::address::{domain_of, domain_within, normalise_address};
use crate::config::{HistoryConfig, Level};
use crate::findings;
use crate::lookalike::CorrespondentIndex;
use fumidai_core::{Finding, FindingDef};
use fumidai_store::{PairHistory, Store, StoreError, WhitelistEntry};

/// Seconds in a day.
const DAY: i64 = 86_400;

/// What the exchange history says about one inbound message.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Assessment {
    /// FIRST_CONTACT, NO_RECENT_EXCHANGE, LOOKALIKE_OF_CORRESPONDENT (part `headers`).
    pub findings: Vec<Finding>,
    /// The sender matched a whitelist entry: no history finding at all.
    pub whitelisted: bool,
    /// Whole days since the most recent counted exchange with any local recipient (0 for a future time).
    pub days_since_last: Option<i64>,
    /// The level at which that exchange was found.
    pub matched_level: Option<Level>,
}

/// Whether `sender` matches a whitelist entry: an address entry exactly, a domain entry (`example.jp`,
/// `@example.jp` or `*.example.jp`) for the domain and its subdomains. Case-insensitive.
pub fn is_whitelisted(whitelist: &[WhitelistEntry], sender: &str) -> bool {
    let sender = sender.trim().trim_start_matches('<').trim_end_matches('>');
    let domain = domain_of(sender);
    whitelist.iter().any(|w| {
        let p = w.pattern.trim();
        match p.split_once('@') {
            Some((local, _)) if !local.is_empty() => p.eq_ignore_ascii_case(sender),
            _ => domain_within(domain, p),
        }
    })
}

/// Most recent exchange in `h` that counts under `cfg`.
fn counted_last(h: Option<&PairHistory>, cfg: &HistoryConfig) -> Option<i64> {
    let h = h?;
    let inbound = if cfg.count_inbound {
        h.last_inbound
    } else {
        None
    };
    match (h.last_outbound, inbound) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

fn finding(def: &'static FindingDef, detail: String) -> Finding {
    Finding {
        id: def.id,
        score: def.score,
        part: "headers".to_owned(),
        detail,
    }
}

/// Assesses an inbound message from `sender` to `recipients` at time `now` (Unix seconds): fetches the
/// correspondent list for the look-alike check on each call. For many messages prefer [`assess_with`]
/// with a [`CorrespondentIndex`] built once.
pub async fn assess(
    store: &dyn Store,
    cfg: &HistoryConfig,
    whitelist: &[WhitelistEntry],
    sender: &str,
    recipients: &[String],
    now: i64,
) -> Result<Assessment, StoreError> {
    assess_inner(store, cfg, whitelist, None, sender, recipients, now).await
}

/// As [`assess`], with a prepared look-alike index (its correspondents plus the local domains).
pub async fn assess_with(
    store: &dyn Store,
    cfg: &HistoryConfig,
    whitelist: &[WhitelistEntry],
    index: &CorrespondentIndex,
    sender: &str,
    recipients: &[String],
    now: i64,
) -> Result<Assessment, StoreError> {
    assess_inner(store, cfg, whitelist, Some(index), sender, recipients, now).await
}

/// The index `assess` would build: the organisation's own domains (an imitation of them is a look-alike too)
/// and its correspondents. Correspondents are the domains it has written to; those that only wrote to it count
/// too only with `count_inbound`, for the reason inbound mail does not count for the window: a look-alike
/// domain that sent one mail must not become the real thing.
pub async fn build_index(
    store: &dyn Store,
    cfg: &HistoryConfig,
) -> Result<CorrespondentIndex, StoreError> {
    let mut domains = if cfg.count_inbound {
        store.correspondent_domains().await?
    } else {
        store.outbound_correspondent_domains().await?
    };
    domains.extend(cfg.local_domains.iter().cloned());
    domains.sort();
    Ok(CorrespondentIndex::new(&domains, &cfg.lookalike))
}

async fn assess_inner(
    store: &dyn Store,
    cfg: &HistoryConfig,
    whitelist: &[WhitelistEntry],
    index: Option<&CorrespondentIndex>,
    sender: &str,
    recipients: &[String],
    now: i64,
) -> Result<Assessment, StoreError> {
    let mut out = Assessment {
        findings: Vec::new(),
        whitelisted: false,
        days_since_last: None,
        matched_level: None,
    };
    let Some(sender) = normalise_address(sender) else {
        // A null or broken sender (bounce, malformed): the sender checks deal with it, not the history.
        return Ok(out);
    };
    if is_whitelisted(whitelist, &sender) {
        out.whitelisted = true;
        return Ok(out);
    }
    // Mail from the organisation's own domains is not judged by history (spoofing is the sender checks' job).
    if cfg.is_local(&sender) {
        return Ok(out);
    }
    let mut locals: Vec<String> = recipients
        .iter()
        .filter_map(|r| normalise_address(r))
        .filter(|r| cfg.local_domains.is_empty() || cfg.is_local(r))
        .collect();
    locals.sort();
    locals.dedup();
    if locals.is_empty() {
        return Ok(out);
    }

    // The most recent counted exchange over all local recipients, per level.
    let mut best_addr: Option<i64> = None;
    let mut best_dom: Option<i64> = None;
    let mut any_inbound = false;
    let mut domain_known = false;
    for r in &locals {
        let l = store.lookup(r, &sender).await?;
        domain_known |= counted_last(l.domain.as_ref(), cfg).is_some();
        any_inbound |= l.address.as_ref().is_some_and(|h| h.last_inbound.is_some())
            || l.domain.as_ref().is_some_and(|h| h.last_inbound.is_some());
        best_addr = best_addr.max(counted_last(l.address.as_ref(), cfg));
        best_dom = best_dom.max(counted_last(l.domain.as_ref(), cfg));
    }
    let (last, level) = match cfg.level {
        Level::Address => (best_addr, Level::Address),
        Level::Domain => (best_dom, Level::Domain),
        Level::Either => match (best_addr, best_dom) {
            (Some(a), Some(d)) if d > a => (Some(d), Level::Domain),
            (Some(a), _) => (Some(a), Level::Address),
            (None, d) => (d, Level::Domain),
        },
    };

    match last {
        None => {
            let note = if any_inbound && !cfg.count_inbound {
                " (only inbound mail seen, which does not count)"
            } else {
                ""
            };
            out.findings.push(finding(
                &findings::FIRST_CONTACT,
                format!(
                    "no exchange with {sender} at {} level{note}",
                    cfg.level.describe()
                ),
            ));
        }
        Some(at) => {
            let elapsed = now.saturating_sub(at).max(0);
            let days = elapsed / DAY;
            out.days_since_last = Some(days);
            out.matched_level = Some(level);
            if elapsed > i64::from(cfg.window_days).saturating_mul(DAY) {
                out.findings.push(finding(
                    &findings::NO_RECENT_EXCHANGE,
                    format!(
                        "last exchange with {sender} {days} days ago at {} level (window {} days)",
                        level.describe(),
                        cfg.window_days
                    ),
                ));
            }
        }
    }

    // Look-alike: only for a sender whose own domain the organisation has never exchanged with.
    if cfg.lookalike.enabled && !domain_known {
        let built;
        let index = match index {
            Some(i) => i,
            None => {
                built = build_index(store, cfg).await?;
                &built
            }
        };
        if let Some(m) = index.find(domain_of(&sender)) {
            out.findings.push(finding(
                &findings::LOOKALIKE_OF_CORRESPONDENT,
                format!(
                    "sender domain {} resembles correspondent {} ({})",
                    m.sender_domain, m.correspondent, m.reason
                ),
            ));
        }
    }
    Ok(out)
}
