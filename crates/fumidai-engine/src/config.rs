//! The engine's configuration: verdict thresholds, limits, score overrides and what the organisation
//! knows about its own and its partners' senders. Every option has a default, so no file is needed.

use crate::registry;
use fumidai_alerts::AlertsConfig;
use fumidai_core::Limits;
use fumidai_history::HistoryConfig;
use fumidai_outbound::OutboundConfig;
use fumidai_policy::PolicyConfig;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The shipped example: every option at its default, with a comment on each.
pub const EXAMPLE: &str = include_str!("../../../docs/fumidai.example.toml");

/// The whole engine configuration, as read from the `[engine]`-level tables of fumidai.toml.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub verdict: Thresholds,
    pub limits: Limits,
    /// Score overrides by finding id, e.g. `VBA_MACRO = 6.0`. Unknown ids are an error.
    pub scores: BTreeMap<String, f64>,
    pub sender: SenderConfig,
    pub store: StoreConfig,
    /// The "no exchange in N days" rule and look-alike correspondents (`local_domains` comes from
    /// `[sender] own_domains`; see [`Config::history`]).
    pub history: HistoryConfig,
    /// What happens to mail by verdict, findings and history (`[policy]`, see fumidai-policy).
    pub policy: PolicyConfig,
    /// How long quarantined originals are kept and where released ones go.
    pub quarantine: QuarantineConfig,
    /// The milter daemon (`fumidai milter`): sockets, direction, per-message limits.
    pub milter: MilterConfig,
    /// `fumidai serve`: the HTTP API (and the milter in the same process).
    pub server: ServerConfig,
    /// Springboard alerts: events, cases, the collector and notices (`[alerts]`, see fumidai-alerts).
    pub alerts: AlertsConfig,
    /// The watch on outbound mail: per-account thresholds, sent Message-IDs, backscatter (`[outbound]`, see
    /// fumidai-outbound).
    pub outbound: OutboundConfig,
}

/// What a message the milter could not inspect, or would not, gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FallbackAction {
    /// Let it through uninspected (with an `X-Fumidai-Action: uninspected` header).
    Accept,
    /// 451: the sending server keeps it and retries.
    Tempfail,
    /// 5xx: refused for good.
    Reject,
}

impl FallbackAction {
    pub fn as_str(self) -> &'static str {
        match self {
            FallbackAction::Accept => "accept",
            FallbackAction::Tempfail => "tempfail",
            FallbackAction::Reject => "reject",
        }
    }
}

/// `[milter]`: how Postfix (or Sendmail) reaches fumidai, and what it does when it cannot inspect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MilterConfig {
    /// Sockets in Postfix's notation: `inet:HOST:PORT` or `unix:/path`.
    pub listen: Vec<String>,
    /// `HOST:PORT` for `/healthz` and Prometheus `/metrics`; empty: no HTTP listener.
    pub http_listen: String,
    /// Client networks whose mail is outbound (CIDR); SASL-authenticated mail is always outbound.
    pub local_networks: Vec<String>,
    /// Larger messages are not inspected; `on_oversize` decides.
    pub max_message_bytes: u64,
    /// From end-of-data to the answer; longer counts as an inspection failure.
    pub timeout_seconds: u64,
    /// For a message that could not be inspected (engine error, store down, timeout).
    pub on_error: FallbackAction,
    /// For a message larger than `max_message_bytes`.
    pub on_oversize: FallbackAction,
    /// How often the whitelist and correspondents are reloaded from the store.
    pub refresh_seconds: u64,
    /// How long a shutdown waits for messages in flight.
    pub shutdown_grace_seconds: u64,
}

impl Default for MilterConfig {
    fn default() -> Self {
        MilterConfig {
            listen: vec!["inet:127.0.0.1:10029".to_owned()],
            http_listen: "127.0.0.1:10030".to_owned(),
            local_networks: vec!["127.0.0.0/8".to_owned(), "::1/128".to_owned()],
            max_message_bytes: 50 << 20,
            timeout_seconds: 60,
            on_error: FallbackAction::Tempfail,
            on_oversize: FallbackAction::Reject,
            refresh_seconds: 300,
            shutdown_grace_seconds: 30,
        }
    }
}

/// The quarantine's retention and release settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QuarantineConfig {
    /// Originals younger than this are never purged.
    pub retention_days: u32,
    /// The SMTP relay (`host:port`) that `quarantine release` hands originals to, normally the local
    /// Postfix. Empty: release needs `--to-file`.
    pub release_relay: String,
}

impl Default for QuarantineConfig {
    fn default() -> Self {
        QuarantineConfig {
            retention_days: 30,
            release_relay: String::new(),
        }
    }
}

/// `[server]`: `fumidai serve`, the HTTP API, with the milter in the same process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// `HOST:PORT` of the HTTP API. Plain HTTP: put TLS in front (a reverse proxy) when it leaves the host.
    pub listen: String,
    /// Run the milter ([milter]) in the same process.
    pub milter: bool,
    /// Serve the web console under `/console` (users from `fumidai user add`).
    pub console: bool,
    /// A console session ends after this many minutes without a request.
    pub session_idle_minutes: u32,
    /// A console session ends this many hours after sign-in, however used.
    pub session_max_hours: u32,
    /// Mark the session cookie `Secure` (set it when a TLS proxy is in front, as it should be off the host).
    pub secure_cookies: bool,
    /// Failed sign-ins for one user name (or ten times as many from one address) within
    /// `login_window_minutes` after which further attempts get 429 until the window moves on.
    pub login_failures: u32,
    pub login_window_minutes: u32,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:10080".into(),
            milter: true,
            console: true,
            session_idle_minutes: 60,
            session_max_hours: 12,
            secure_cookies: false,
            login_failures: 5,
            login_window_minutes: 15,
        }
    }
}

/// Where fumidai keeps its state (exchange history, whitelist; later quarantine and events).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// A SQLite file path or `sqlite:` URL (embedded, the default), or a `postgres://` URL for several nodes.
    /// Empty: the embedded database at [`StoreConfig::default_location`].
    pub location: String,
}

impl StoreConfig {
    /// The configured location, or the default one.
    pub fn location(&self) -> String {
        if self.location.trim().is_empty() {
            Self::default_location()
        } else {
            self.location.trim().to_owned()
        }
    }

    /// `$FUMIDAI_DATA_DIR/fumidai.db`, else `$XDG_DATA_HOME/fumidai/fumidai.db`, else
    /// `~/.local/share/fumidai/fumidai.db`, else `./fumidai.db`: a fresh install works without root; a
    /// packaged service sets `location = "/var/lib/fumidai/fumidai.db"`.
    pub fn default_location() -> String {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        let dir = var("FUMIDAI_DATA_DIR")
            .map(std::path::PathBuf::from)
            .or_else(|| var("XDG_DATA_HOME").map(|d| Path::new(&d).join("fumidai")))
            .or_else(|| var("HOME").map(|h| Path::new(&h).join(".local/share/fumidai")))
            .unwrap_or_default();
        dir.join("fumidai.db").to_string_lossy().into_owned()
    }
}

/// Total scores at which a message becomes suspicious and malicious.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    pub suspicious: f64,
    pub malicious: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            suspicious: 5.0,
            malicious: 10.0,
        }
    }
}

/// What the organisation knows about senders, for the display-name and spoofing checks.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SenderConfig {
    /// The organisation's own mail domains.
    pub own_domains: Vec<String>,
    /// The organisation's own names as people write them in display names (e.g. "踏み台商事").
    pub own_names: Vec<String>,
    /// Partners whose name on a foreign address is impersonation.
    pub partners: Vec<PartnerConfig>,
    /// Passwords tried on every encrypted archive and document, besides those found in the body.
    pub extra_passwords: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartnerConfig {
    pub name: String,
    pub domains: Vec<String>,
}

/// A configuration that could not be read or makes no sense.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// Where a front end's configuration comes from: a file or the built-in defaults, and a store given on
/// the command line, which overrides `[store] location` on every load (a daemon loads again on SIGHUP).
#[derive(Debug, Clone, Default)]
pub struct Source {
    pub path: Option<std::path::PathBuf>,
    pub store: Option<String>,
}

impl Source {
    pub fn load(&self) -> Result<Config, ConfigError> {
        let mut config = match &self.path {
            Some(path) => Config::load(path)?,
            None => Config::default(),
        };
        if let Some(store) = &self.store {
            config.store.location.clone_from(store);
        }
        Ok(config)
    }
}

impl Config {
    /// Reads and validates a TOML file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Config::parse(&text).map_err(|e| match e {
            ConfigError::Parse { message, .. } => ConfigError::Parse {
                path: path.display().to_string(),
                message,
            },
            other => other,
        })
    }

    /// Parses and validates TOML text.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: "<config>".into(),
            message: e.to_string(),
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what the types alone cannot: known finding ids, sane thresholds and limits.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let t = &self.verdict;
        if !(t.suspicious.is_finite()
            && t.malicious.is_finite()
            && 0.0 < t.suspicious
            && t.suspicious <= t.malicious)
        {
            return Err(ConfigError::Invalid(format!(
                "verdict thresholds must satisfy 0 < suspicious <= malicious (got {} and {})",
                t.suspicious, t.malicious
            )));
        }
        for (id, score) in &self.scores {
            if registry::find(id).is_none() {
                return Err(ConfigError::Invalid(format!(
                    "scores.{id}: no such finding (see `fumidai findings` for the list)"
                )));
            }
            if !score.is_finite() {
                return Err(ConfigError::Invalid(format!(
                    "scores.{id}: not a finite number"
                )));
            }
        }
        if self.history.window_days == 0 {
            return Err(ConfigError::Invalid(
                "history.window_days must be greater than 0".into(),
            ));
        }
        let known: Vec<&str> = registry::all().map(|d| d.id).collect();
        fumidai_policy::Policy::new_checked(self.policy.clone(), &known)
            .map_err(|e| ConfigError::Invalid(e.to_string()))?;
        if self.quarantine.retention_days == 0 {
            return Err(ConfigError::Invalid(
                "quarantine.retention_days must be greater than 0".into(),
            ));
        }
        let m = &self.milter;
        for (name, value) in [
            ("max_message_bytes", m.max_message_bytes),
            ("timeout_seconds", m.timeout_seconds),
            ("refresh_seconds", m.refresh_seconds),
        ] {
            if value == 0 {
                return Err(ConfigError::Invalid(format!(
                    "milter.{name} must be greater than 0"
                )));
            }
        }
        self.alerts.validate().map_err(ConfigError::Invalid)?;
        self.outbound.validate().map_err(ConfigError::Invalid)?;
        for (name, value) in [
            ("session_idle_minutes", self.server.session_idle_minutes),
            ("session_max_hours", self.server.session_max_hours),
            ("login_failures", self.server.login_failures),
            ("login_window_minutes", self.server.login_window_minutes),
        ] {
            if value == 0 {
                return Err(ConfigError::Invalid(format!(
                    "server.{name} must be greater than 0"
                )));
            }
        }
        if self.server.listen.parse::<std::net::SocketAddr>().is_err() {
            return Err(ConfigError::Invalid(format!(
                "server.listen {:?}: expected HOST:PORT with a numeric host, e.g. \"127.0.0.1:10080\"",
                self.server.listen
            )));
        }
        let l = &self.limits;
        for (name, value) in [
            ("max_depth", u64::from(l.max_depth)),
            ("max_mime_depth", u64::from(l.max_mime_depth)),
            ("max_parts", u64::from(l.max_parts)),
            ("max_entries", u64::from(l.max_entries)),
            ("max_inflated_bytes", l.max_inflated_bytes),
            ("max_file_bytes", l.max_file_bytes),
            ("max_ratio", l.max_ratio),
            ("max_time_ms", l.max_time_ms),
        ] {
            if value == 0 {
                return Err(ConfigError::Invalid(format!(
                    "limits.{name} must be greater than 0"
                )));
            }
        }
        Ok(())
    }

    /// The history settings with the organisation's domains filled in from `[sender] own_domains`.
    pub fn history(&self) -> HistoryConfig {
        HistoryConfig {
            local_domains: self.sender.own_domains.clone(),
            ..self.history.clone()
        }
    }

    /// The score a finding counts for under this configuration.
    pub fn score_of(&self, id: &str, default: f64) -> f64 {
        self.scores.get(id).copied().unwrap_or(default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_config_is_the_default() {
        assert_eq!(Config::parse("").unwrap(), Config::default());
    }

    #[test]
    fn shipped_example_is_valid_and_documents_the_defaults() {
        assert_eq!(Config::parse(EXAMPLE).unwrap(), Config::default());
    }

    #[test]
    fn unknown_finding_id_is_rejected() {
        let err = Config::parse("[scores]\nNO_SUCH_THING = 1.0\n").unwrap_err();
        assert!(err.to_string().contains("NO_SUCH_THING"), "{err}");
    }

    #[test]
    fn unknown_option_is_rejected() {
        assert!(Config::parse("[limits]\nmax_dept = 3\n").is_err());
    }

    #[test]
    fn inverted_thresholds_are_rejected() {
        assert!(Config::parse("[verdict]\nsuspicious = 10.0\nmalicious = 5.0\n").is_err());
    }

    #[test]
    fn score_override_applies() {
        let c = Config::parse("[scores]\nUNINSPECTABLE = 7.5\n").unwrap();
        assert_eq!(c.score_of("UNINSPECTABLE", 3.0), 7.5);
        assert_eq!(c.score_of("NESTING_TOO_DEEP", 3.0), 3.0);
    }
}
