//! `[outbound]` of fumidai.toml: the thresholds that hold an account, and how long sent Message-IDs are kept.

use serde::{Deserialize, Serialize};

/// `[outbound]`. What a held account's mail gets is policy: `[policy.outbound.findings]
/// OUTBOUND_ACCOUNT_HELD` (`quarantine` by default, or `tempfail`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutboundConfig {
    /// Count outbound mail per account (SASL login, else envelope sender) and hold an account that crosses a
    /// threshold.
    pub enabled: bool,
    /// The rolling window the thresholds count over, in minutes.
    pub window_minutes: u32,
    /// Hold an account that sends more messages than this in the window (0: no limit).
    pub max_messages: u32,
    /// Hold an account that sends to more recipients than this in the window (0: no limit).
    pub max_recipients: u32,
    /// Hold an account that writes to at least this many recipients it never wrote to before (from the exchange
    /// history) in the window (0: no limit) ...
    pub max_new_recipients: u32,
    /// ... when they are at least this share of its recipients in the window (0.0 to 1.0).
    pub min_new_share: f64,
    /// Hold an account after this many suspicious or malicious messages in the window (0: no limit).
    pub max_risky: u32,
    /// Accounts never held (mailing-list servers, ticket systems): SASL logins or addresses.
    pub exempt: Vec<String>,
    /// Days a sent Message-ID is remembered: replies that reference it, and bounces of it.
    pub remember_sent_days: u32,
    /// Treat bounces for mail we never sent as evidence that someone sends in our name.
    pub backscatter: bool,
}

impl Default for OutboundConfig {
    fn default() -> Self {
        OutboundConfig {
            enabled: true,
            window_minutes: 60,
            max_messages: 100,
            max_recipients: 500,
            max_new_recipients: 50,
            min_new_share: 0.5,
            max_risky: 3,
            exempt: Vec::new(),
            remember_sent_days: 30,
            backscatter: true,
        }
    }
}

impl OutboundConfig {
    pub fn window_seconds(&self) -> i64 {
        i64::from(self.window_minutes) * 60
    }

    pub fn remember_sent_seconds(&self) -> i64 {
        i64::from(self.remember_sent_days) * 86_400
    }

    /// Problems a `config check` reports.
    pub fn validate(&self) -> Result<(), String> {
        if self.window_minutes == 0 || self.window_minutes > 7 * 24 * 60 {
            return Err("[outbound] window_minutes must be 1 to 10080 (a week)".into());
        }
        if !(0.0..=1.0).contains(&self.min_new_share) {
            return Err("[outbound] min_new_share must be between 0.0 and 1.0".into());
        }
        if self.remember_sent_days == 0 {
            return Err("[outbound] remember_sent_days must be at least 1".into());
        }
        Ok(())
    }

    /// Whether `account` is never held (compared trimmed and case-insensitively).
    pub fn is_exempt(&self, account: &str) -> bool {
        let account = account.trim();
        self.exempt
            .iter()
            .any(|e| e.trim().eq_ignore_ascii_case(account))
    }
}
