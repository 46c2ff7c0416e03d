//! `[milter]` checked and parsed once per (re)load: listen specs, local networks, limits.

use fumidai_engine::config::{FallbackAction, MilterConfig};
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Where the milter listens, in Postfix's notation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListenSpec {
    /// `inet:HOST:PORT` (`inet:[::1]:PORT` for IPv6).
    Inet(String),
    /// `unix:/path` (also `local:/path`).
    Unix(PathBuf),
}

impl ListenSpec {
    pub fn parse(spec: &str) -> Result<ListenSpec, String> {
        if let Some(path) = spec.strip_prefix("unix:").or(spec.strip_prefix("local:")) {
            if !path.starts_with('/') {
                return Err(format!("{spec}: a unix socket needs an absolute path"));
            }
            return Ok(ListenSpec::Unix(PathBuf::from(path)));
        }
        let Some(addr) = spec.strip_prefix("inet:").or(spec.strip_prefix("inet6:")) else {
            return Err(format!("{spec}: expected inet:HOST:PORT or unix:/path"));
        };
        let port = addr.rsplit_once(':').map(|(_, p)| p);
        if port.and_then(|p| p.parse::<u16>().ok()).is_none() {
            return Err(format!("{spec}: no port"));
        }
        Ok(ListenSpec::Inet(addr.to_owned()))
    }
}

impl std::fmt::Display for ListenSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ListenSpec::Inet(a) => write!(f, "inet:{a}"),
            ListenSpec::Unix(p) => write!(f, "unix:{}", p.display()),
        }
    }
}

/// A CIDR network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    addr: IpAddr,
    prefix: u8,
}

impl Network {
    pub fn parse(text: &str) -> Result<Network, String> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("{text}: not an IP address"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{text}: prefix must be 0..={max}"))?,
            None => max,
        };
        Ok(Network { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        // An IPv4 client may reach an IPv6 socket as ::ffff:a.b.c.d.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl std::fmt::Display for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// The milter's settings, parsed.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: Vec<ListenSpec>,
    pub http_listen: Option<String>,
    pub local_networks: Vec<Network>,
    pub max_message_bytes: u64,
    pub timeout: Duration,
    pub on_error: FallbackAction,
    pub on_oversize: FallbackAction,
    pub refresh: Duration,
    pub shutdown_grace: Duration,
}

impl Settings {
    /// Errors name the key, e.g. `milter.local_networks: 10.0.0.0/33: prefix must be 0..=32`.
    pub fn new(config: &MilterConfig) -> Result<Settings, String> {
        if config.listen.is_empty() {
            return Err("milter.listen: at least one socket".into());
        }
        let listen = config
            .listen
            .iter()
            .map(|s| ListenSpec::parse(s))
            .collect::<Result<_, _>>()
            .map_err(|e| format!("milter.listen: {e}"))?;
        let local_networks = config
            .local_networks
            .iter()
            .map(|s| Network::parse(s))
            .collect::<Result<_, _>>()
            .map_err(|e| format!("milter.local_networks: {e}"))?;
        let http_listen = Some(config.http_listen.trim())
            .filter(|s| !s.is_empty())
            .map(str::to_owned);
        Ok(Settings {
            listen,
            http_listen,
            local_networks,
            max_message_bytes: config.max_message_bytes,
            timeout: Duration::from_secs(config.timeout_seconds),
            on_error: config.on_error,
            on_oversize: config.on_oversize,
            refresh: Duration::from_secs(config.refresh_seconds),
            shutdown_grace: Duration::from_secs(config.shutdown_grace_seconds),
        })
    }

    /// One line for `fumidai config check`.
    pub fn describe(&self) -> String {
        let list = |items: Vec<String>| {
            if items.is_empty() {
                "(none)".to_owned()
            } else {
                items.join(", ")
            }
        };
        format!(
            "listen {}; metrics {}; outbound from {} and SASL-authenticated clients; \
             up to {} bytes and {} s per message; not inspected: {}, too big: {}",
            list(self.listen.iter().map(ToString::to_string).collect()),
            self.http_listen.as_deref().unwrap_or("off"),
            list(
                self.local_networks
                    .iter()
                    .map(ToString::to_string)
                    .collect()
            ),
            self.max_message_bytes,
            self.timeout.as_secs(),
            self.on_error.as_str(),
            self.on_oversize.as_str(),
        )
    }

    pub fn is_local(&self, ip: IpAddr) -> bool {
        self.local_networks.iter().any(|n| n.contains(ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_match_by_prefix() {
        let lo = Network::parse("127.0.0.0/8").unwrap();
        assert!(lo.contains("127.1.2.3".parse().unwrap()));
        assert!(lo.contains("::ffff:127.0.0.1".parse().unwrap()));
        assert!(!lo.contains("128.0.0.1".parse().unwrap()));
        let v6 = Network::parse("2001:db8::/32").unwrap();
        assert!(v6.contains("2001:db8:1::5".parse().unwrap()));
        assert!(!v6.contains("2001:db9::5".parse().unwrap()));
        assert!(Network::parse("0.0.0.0/0")
            .unwrap()
            .contains("203.0.113.9".parse().unwrap()));
        assert!(Network::parse("192.0.2.1")
            .unwrap()
            .contains("192.0.2.1".parse().unwrap()));
        assert!(Network::parse("10.0.0.0/33").is_err());
        assert!(Network::parse("example.jp").is_err());
    }

    #[test]
    fn listen_specs_follow_postfix() {
        assert_eq!(
            ListenSpec::parse("inet:127.0.0.1:10029").unwrap(),
            ListenSpec::Inet("127.0.0.1:10029".into())
        );
        assert_eq!(
            ListenSpec::parse("unix:/run/fumidai/milter.sock").unwrap(),
            ListenSpec::Unix("/run/fumidai/milter.sock".into())
        );
        assert!(ListenSpec::parse("inet:127.0.0.1").is_err());
        assert!(ListenSpec::parse("unix:relative.sock").is_err());
        assert!(ListenSpec::parse("127.0.0.1:10029").is_err());
    }

    #[test]
    fn the_defaults_parse() {
        let s = Settings::new(&MilterConfig::default()).unwrap();
        assert!(s.is_local("127.0.0.1".parse().unwrap()));
        assert!(!s.is_local("203.0.113.7".parse().unwrap()));
    }
}
