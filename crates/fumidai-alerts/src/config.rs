//! The `[alerts]` section: whether events are recorded, how they group into cases, where they are forwarded,
//! and how notices are sent.

use serde::{Deserialize, Serialize};

use crate::directory::is_address;
use crate::CaseRules;

/// `[alerts]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertsConfig {
    /// Record a springboard event for every inbound suspicious or malicious message.
    pub enabled: bool,
    /// This node's or customer site's name in events (empty: the host name).
    pub site: String,
    /// Verify SPF and DKIM with DNS lookups (the system resolver, at most 5 s a message) to tell a real
    /// springboard from impersonation. Off: no lookups, and every event is an impersonation.
    pub authenticate: bool,
    /// Free-mail and ISP domains added to the shipped list: they never count as an organisation.
    pub free_mail_domains: Vec<String>,
    /// Days without events after which a new event reopens a notified or acknowledged case.
    pub quiet_period_days: u32,
    /// A case is never notified twice within this many days.
    pub cooldown_days: u32,
    /// Samples kept per case (the most recent).
    pub max_samples: u32,
    /// Forward events to a collector: its events URL (`http://collector.example:10031/api/v1/events`).
    pub collector_url: String,
    /// The bearer token sent to the collector.
    pub collector_token: String,
    /// `fumidai collector`: where it listens.
    pub collector_listen: String,
    /// `fumidai collector`: the tokens it accepts, one per node or site.
    pub collector_tokens: Vec<String>,
    pub notify: NotifyConfig,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        AlertsConfig {
            enabled: true,
            site: String::new(),
            authenticate: true,
            free_mail_domains: Vec::new(),
            quiet_period_days: 30,
            cooldown_days: 7,
            max_samples: 5,
            collector_url: String::new(),
            collector_token: String::new(),
            collector_listen: "127.0.0.1:10031".into(),
            collector_tokens: Vec::new(),
            notify: NotifyConfig::default(),
        }
    }
}

impl AlertsConfig {
    pub fn case_rules(&self) -> CaseRules {
        CaseRules {
            quiet_period: i64::from(self.quiet_period_days) * 86_400,
            max_samples: self.max_samples as usize,
            max_source_ips: 32,
        }
    }

    /// `site`, else the host name.
    pub fn site(&self) -> String {
        if !self.site.trim().is_empty() {
            return self.site.trim().to_owned();
        }
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".into())
    }

    pub fn cooldown_seconds(&self) -> i64 {
        i64::from(self.cooldown_days) * 86_400
    }

    /// Problems a `config check` reports.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_samples == 0 || self.max_samples > 100 {
            return Err("[alerts] max_samples must be 1 to 100".into());
        }
        if !self.collector_url.is_empty() {
            if !(self.collector_url.starts_with("http://")
                || self.collector_url.starts_with("https://"))
            {
                return Err(format!(
                    "[alerts] collector_url {:?} must be an http:// or https:// URL",
                    self.collector_url
                ));
            }
            if self.collector_token.is_empty() {
                return Err("[alerts] collector_url is set but collector_token is empty".into());
            }
        }
        if self.collector_tokens.iter().any(|t| t.len() < 16) {
            return Err("[alerts] collector_tokens must be at least 16 characters each".into());
        }
        self.notify.validate()
    }
}

/// `[alerts.notify]`: who notices come from and how they are sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotifyConfig {
    /// The notifying organisation, as notices name it (`Example Corp CSIRT`).
    pub organisation: String,
    /// From address of notices (also where replies go).
    pub from: String,
    /// SMTP relay for notices, `host:port` (normally the local Postfix).
    pub relay: String,
    /// Notices sent per minute at most.
    pub rate_per_minute: u32,
    /// Languages of a notice, in order: `ja`, `en` or both (one message, Japanese first).
    pub languages: Vec<String>,
    /// Machine-readable copy appended to the notice: `arf`, `csv` or `none`.
    pub machine_readable: String,
    /// Administrators who get alerts about our own organisation (a held outbound account, our domain spoofed).
    /// Empty: those alerts are logged, counted and filed as cases, not mailed.
    pub admins: Vec<String>,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            organisation: String::new(),
            from: String::new(),
            relay: "127.0.0.1:25".into(),
            rate_per_minute: 10,
            languages: vec!["ja".into(), "en".into()],
            machine_readable: "csv".into(),
            admins: Vec::new(),
        }
    }
}

impl NotifyConfig {
    fn validate(&self) -> Result<(), String> {
        if self.rate_per_minute == 0 {
            return Err("[alerts.notify] rate_per_minute must be at least 1".into());
        }
        if self.languages.is_empty() || self.languages.iter().any(|l| l != "ja" && l != "en") {
            return Err(
                "[alerts.notify] languages must be a non-empty list of \"ja\" and \"en\"".into(),
            );
        }
        if !["arf", "csv", "none"].contains(&self.machine_readable.as_str()) {
            return Err(format!(
                "[alerts.notify] machine_readable {:?}: expected \"arf\", \"csv\" or \"none\"",
                self.machine_readable
            ));
        }
        if self
            .relay
            .rsplit_once(':')
            .is_none_or(|(host, port)| host.is_empty() || port.parse::<u16>().is_err())
        {
            return Err(format!(
                "[alerts.notify] relay {:?} must be host:port",
                self.relay
            ));
        }
        if let Some(admin) = self.admins.iter().find(|a| !is_address(a)) {
            return Err(format!(
                "[alerts.notify] admins: {admin:?} is not an address (write each as local@domain, e.g. \"security@example.jp\")"
            ));
        }
        Ok(())
    }
}
