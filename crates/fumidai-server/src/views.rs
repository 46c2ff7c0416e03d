//! The JSON shapes the API answers with that are more than a stored type's own serialisation, in one place so
//! that the CLI's `--json` output can use them too (quarantine items with their report, cases, history lookups,
//! the statistics' period, whitelist patterns).

use fumidai_alerts::notice::jst;
use fumidai_alerts::report::{build, Month, Period, Report, ReportError};
use fumidai_core::Finding;
use fumidai_history::{HistoryConfig, Level};
use fumidai_store::normalize::normalize_pattern;
use fumidai_store::{
    Case, CaseState, EventKind, PairHistory, QuarantineItem, Release, Sample, Store, StoreError,
};
use serde::Serialize;

/// A quarantined item: its meta, size, SHA-256 and releases, and when shown alone its scan report.
#[derive(Debug, Serialize)]
pub struct QuarantineItemView<'a> {
    #[serde(flatten)]
    pub item: &'a QuarantineItem,
    /// The whole scan report (an item whose stored report does not parse has none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<serde_json::Value>,
}

impl QuarantineItemView<'_> {
    /// As lists show it: without the report.
    pub fn listed(item: &QuarantineItem) -> QuarantineItemView<'_> {
        QuarantineItemView { item, report: None }
    }

    /// As `quarantine show` shows it: with the report.
    pub fn shown(item: &QuarantineItem) -> QuarantineItemView<'_> {
        QuarantineItemView {
            item,
            report: serde_json::from_str(&item.meta.report_json).ok(),
        }
    }
}

/// What `quarantine release --json` says: the item, where it went, by whom, when.
#[derive(Debug, Serialize)]
pub struct ReleaseView<'a> {
    pub id: &'a str,
    pub released_to: &'a str,
    pub by: &'a str,
    pub at: i64,
}

impl ReleaseView<'_> {
    pub fn new<'a>(id: &'a str, release: &'a Release) -> ReleaseView<'a> {
        ReleaseView {
            id,
            released_to: &release.to,
            by: &release.by,
            at: release.at,
        }
    }
}

/// What `outbound release-account --json` says.
#[derive(Debug, Serialize)]
pub struct AccountReleaseView<'a> {
    pub account: &'a str,
    /// False when the account was not held (nothing changed).
    pub released: bool,
    pub by: &'a str,
    pub at: i64,
}

/// A springboard case, with its times also in JST and, when shown alone, its samples.
#[derive(Debug, Serialize)]
pub struct CaseView<'a> {
    pub id: i64,
    pub organisation: &'a str,
    pub kind: EventKind,
    pub state: CaseState,
    pub first_seen: i64,
    pub last_seen: i64,
    pub first_seen_jst: String,
    pub last_seen_jst: String,
    pub event_count: u64,
    pub source_ips: &'a [String],
    pub sites: &'a [String],
    pub reopened: u32,
    pub last_notified_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub samples: Option<&'a [Sample]>,
}

impl CaseView<'_> {
    /// As lists show it: without the samples.
    pub fn listed(case: &Case) -> CaseView<'_> {
        CaseView {
            id: case.id,
            organisation: &case.organisation,
            kind: case.kind,
            state: case.state,
            first_seen: case.first_seen,
            last_seen: case.last_seen,
            first_seen_jst: jst(case.first_seen),
            last_seen_jst: jst(case.last_seen),
            event_count: case.event_count,
            source_ips: &case.source_ips,
            sites: &case.sites,
            reopened: case.reopened,
            last_notified_at: case.last_notified_at,
            samples: None,
        }
    }

    /// As `alerts show` shows it: with the samples.
    pub fn shown(case: &Case) -> CaseView<'_> {
        CaseView {
            samples: Some(&case.samples),
            ..CaseView::listed(case)
        }
    }
}

/// What the exchange history says about mail from a sender to local recipients at a time.
#[derive(Debug, Serialize)]
pub struct LookupView {
    pub sender: String,
    pub at: i64,
    pub whitelisted: bool,
    pub days_since_last: Option<i64>,
    pub matched_level: Option<Level>,
    pub findings: Vec<Finding>,
    pub pairs: Vec<PairView>,
}

/// One local recipient with the sender, at the address and the domain level.
#[derive(Debug, Serialize)]
pub struct PairView {
    pub local: String,
    pub address: Option<PairHistory>,
    pub domain: Option<PairHistory>,
}

/// `history lookup`: the history findings mail from `sender` to `locals` would get at `at` (none when the rule
/// is disabled), and the stored history of each pair. The whitelist and correspondents are read afresh.
pub async fn history_lookup(
    store: &dyn Store,
    cfg: &HistoryConfig,
    sender: &str,
    locals: &[String],
    at: i64,
) -> Result<LookupView, StoreError> {
    let assessment = if cfg.enabled {
        let whitelist = store.whitelist().await?;
        fumidai_history::assess(store, cfg, &whitelist, sender, locals, at).await?
    } else {
        fumidai_history::Assessment::default()
    };
    let mut pairs = Vec::with_capacity(locals.len());
    for local in locals {
        let lookup = store.lookup(local, sender).await?;
        pairs.push(PairView {
            local: local.clone(),
            address: lookup.address,
            domain: lookup.domain,
        });
    }
    Ok(LookupView {
        sender: sender.to_owned(),
        at,
        whitelisted: assessment.whitelisted,
        days_since_last: assessment.days_since_last,
        matched_level: assessment.matched_level,
        findings: assessment.findings,
        pairs,
    })
}

#[derive(Debug, thiserror::Error)]
pub enum StatisticsError {
    #[error(transparent)]
    Period(#[from] ReportError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// `report`: the statistics from `since` (default: the month of the first notice) to `until` (default: the
/// month of `now`), JST months.
pub async fn statistics(
    store: &dyn Store,
    since: Option<Month>,
    until: Option<Month>,
    now: i64,
) -> Result<Report, StatisticsError> {
    let until = until.unwrap_or_else(|| Month::of(now));
    // Every notice from the first ever: an organisation first notified before the period must not count in it.
    let notifications = store.notifications(0, until.next().start()).await?;
    let since = since
        .or_else(|| notifications.first().map(|n| Month::of(n.sent_at)))
        .unwrap_or(until);
    let period = Period::new(since, until)?;
    let directory = store.directory().await?;
    let enterprises = store.industry_enterprises().await?;
    Ok(build(&notifications, &directory, &enterprises, period))
}

/// Longest whitelist pattern, in characters: the longest domain name DNS allows.
pub const MAX_PATTERN_CHARS: usize = 253;

/// A whitelist pattern as the store keeps it: `user@domain` or `domain` (a leading `@` or `*.` is dropped; no other
/// `*`), at most [`MAX_PATTERN_CHARS`], lower-cased, the domain IDNA-encoded; the error says why not.
pub fn whitelist_pattern(raw: &str) -> Result<String, String> {
    let p = raw.trim().to_lowercase();
    let p = p
        .strip_prefix("*.")
        .or_else(|| p.strip_prefix('@'))
        .unwrap_or(&p)
        .to_owned();
    let domain = p.rsplit('@').next().unwrap_or("");
    let refused =
        || format!("{raw:?} is neither an address (user@example.jp) nor a domain (example.jp)");
    if p.is_empty()
        || p.chars().count() > MAX_PATTERN_CHARS
        || p.matches('@').count() > 1
        || !domain.contains('.')
        || p.chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, ',' | '<' | '>' | '*'))
    {
        return Err(refused());
    }
    normalize_pattern(&p).ok_or_else(refused)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitelist_patterns_are_addresses_or_domains() {
        assert_eq!(whitelist_pattern(" *.Partner.jp ").unwrap(), "partner.jp");
        assert_eq!(whitelist_pattern("@partner.jp").unwrap(), "partner.jp");
        assert_eq!(
            whitelist_pattern("Ken@Partner.jp").unwrap(),
            "ken@partner.jp"
        );
        for bad in [
            "",
            "partner",
            "a@b@c.jp",
            "a b.jp",
            "x\u{0}.jp",
            "<a@b.jp>",
            "a.jp,b.jp",
            "*.jp",
            "a*b.jp",
        ] {
            assert!(whitelist_pattern(bad).is_err(), "{bad:?}");
        }
    }
}
