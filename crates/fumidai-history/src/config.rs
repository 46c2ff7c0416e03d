//! Settings of the exchange-history rule, the look-alike check and the importers.

use serde::{Deserialize, Serialize};

/// At which level a past exchange counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Only this exact external address with this local address.
    Address,
    /// Anyone in the organisation with anyone at the sender's registrable domain.
    Domain,
    /// A match at either level counts (the most recent one wins).
    Either,
}

impl Level {
    /// As people read it: `address`, `domain`, `address or domain`.
    pub fn describe(self) -> &'static str {
        match self {
            Level::Address => "address",
            Level::Domain => "domain",
            Level::Either => "address or domain",
        }
    }
}

/// The "no exchange in N days" rule (m-FILTER's 90-day rule) and the look-alike check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HistoryConfig {
    /// Mail from a sender whose last counted exchange is older than this many days is possible springboard mail.
    pub window_days: u32,
    /// Which history counts: `address`, `domain` or `either`.
    pub level: Level,
    /// Whether inbound mail counts as exchange. Off by default: one harmless mail from an attacker would
    /// otherwise "warm up" the relationship for the attack mail that follows.
    pub count_inbound: bool,
    /// Whether the engine applies the rule and the look-alike check at all.
    pub enabled: bool,
    /// The organisation's own domains (subdomains included). Not read from the `[history]` table: the engine
    /// fills it from `[sender] own_domains`, so the organisation is named once. Empty: no direction can be
    /// derived, so the importers record nothing and `assess` takes every recipient as local.
    #[serde(skip)]
    pub local_domains: Vec<String>,
    /// Sender domains that resemble a correspondent's.
    pub lookalike: LookalikeConfig,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        HistoryConfig {
            enabled: true,
            window_days: 90,
            level: Level::Either,
            count_inbound: false,
            local_domains: Vec::new(),
            lookalike: LookalikeConfig::default(),
        }
    }
}

/// How close a new sender domain must be to a correspondent's to be called a look-alike.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LookalikeConfig {
    /// Run the look-alike check at all.
    pub enabled: bool,
    /// Largest Damerau-Levenshtein distance between registrable labels; also capped at one edit per four
    /// characters of the correspondent's label.
    pub max_edit_distance: u32,
    /// Labels shorter than this are only matched by confusable characters, never by edit distance or a
    /// different suffix (short labels make everything look alike).
    pub min_label_len: u32,
}

impl Default for LookalikeConfig {
    fn default() -> Self {
        LookalikeConfig {
            enabled: true,
            max_edit_distance: 2,
            min_label_len: 4,
        }
    }
}

impl HistoryConfig {
    /// Whether `addr_or_domain` (an address or a bare domain) belongs to the organisation.
    pub fn is_local(&self, addr_or_domain: &str) -> bool {
        let domain = crate::address::domain_of(addr_or_domain);
        self.local_domains
            .iter()
            .any(|d| crate::address::domain_within(domain, d))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_defaults_and_unknown_fields() {
        let c: HistoryConfig = toml::from_str("").unwrap();
        assert_eq!(c, HistoryConfig::default());
        assert_eq!(
            (c.window_days, c.level, c.count_inbound),
            (90, Level::Either, false)
        );
        assert_eq!(c.lookalike.max_edit_distance, 2);
        let mut c: HistoryConfig =
            toml::from_str("window_days = 30\nlevel = \"domain\"\n[lookalike]\nenabled = false\n")
                .unwrap();
        assert_eq!(
            (c.window_days, c.level, c.lookalike.enabled),
            (30, Level::Domain, false)
        );
        c.local_domains = vec!["corp.example.jp".into()];
        assert!(c.is_local("A@Mail.Corp.Example.JP") && !c.is_local("a@notcorp.example.jp"));
        // The organisation's domains come from `[sender] own_domains`, not from here.
        assert!(toml::from_str::<HistoryConfig>("local_domains = [\"corp.example.jp\"]").is_err());
        assert!(toml::from_str::<HistoryConfig>("windowdays = 3").is_err());
        assert!(toml::from_str::<HistoryConfig>("level = \"org\"").is_err());
    }
}
