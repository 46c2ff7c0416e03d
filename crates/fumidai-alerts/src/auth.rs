//! SPF and DKIM verified by fumidai itself (mail-auth), so that "the mail really left this organisation" rests on
//! our own checks, not on Authentication-Results fields an attacker could have written.
//!
//! Every check is bounded: one total deadline for all lookups of a message ([`Authenticator::with_timeout`],
//! 5 s by default); a lookup that fails or runs out of time gives `temperror`, never an error, so mail is never
//! held up or dropped by DNS. Tests use [`Authenticator::offline`]: answers preloaded with
//! [`Authenticator::add_txt`], no name server, no network.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fumidai_mime::header;
use mail_auth::common::parse::TxtRecordParser;
use mail_auth::common::resolver::ToFqdn;
use mail_auth::common::verify::DomainKey;
use mail_auth::hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolverConfig, ResolverOpts,
};
use mail_auth::spf::verify::SpfParameters;
use mail_auth::spf::Spf;
use mail_auth::{
    AuthenticatedMessage, DkimResult, MessageAuthenticator, Parameters, ResolverCache, SpfResult,
    Txt,
};
use tokio::time::Instant;

use crate::freemail::registrable;
use crate::AuthCheck;

/// Total time for all DNS lookups of one message.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// DKIM signatures a message may carry to be verified at all (real mail has one to three); each costs a hash of
/// the body and a lookup, so a message with hundreds is `permerror` unverified.
const MAX_DKIM_SIGNATURES: usize = 8;

/// Verifies SPF and DKIM of inbound messages.
#[derive(Clone)]
pub struct Authenticator {
    resolver: MessageAuthenticator,
    /// TXT answers preloaded (SPF records, DKIM keys).
    txt: Arc<Preloaded<Box<str>, Txt>>,
    timeout: Duration,
    /// Our host name, for SPF macros (`%{r}`).
    host: String,
}

/// What the SMTP session told us about the sender.
#[derive(Debug, Clone, Copy)]
pub struct SpfInput<'a> {
    pub client_ip: IpAddr,
    /// EHLO/HELO name.
    pub helo: &'a str,
    /// MAIL FROM address, empty for the null sender.
    pub mail_from: &'a str,
}

impl Authenticator {
    /// Production: the system's resolver (`/etc/resolv.conf`).
    pub fn system(host: &str) -> std::io::Result<Self> {
        let (config, options) = mail_auth::hickory_resolver::system_conf::read_system_conf()
            .map_err(std::io::Error::other)?;
        Self::with_resolver(config, options, host)
    }

    /// A resolver that asks these name servers (a local caching resolver, say), over UDP and then TCP.
    pub fn with_name_servers(servers: &[SocketAddr], host: &str) -> std::io::Result<Self> {
        let name_servers = servers
            .iter()
            .map(|server| {
                let connections = [ConnectionConfig::udp(), ConnectionConfig::tcp()]
                    .into_iter()
                    .map(|mut c| {
                        c.port = server.port();
                        c
                    })
                    .collect();
                NameServerConfig::new(server.ip(), true, connections)
            })
            .collect();
        let config = ResolverConfig::from_parts(None, Vec::new(), name_servers);
        Self::with_resolver(config, ResolverOpts::default(), host)
    }

    /// Tests: no name server at all; only answers added with [`Authenticator::add_txt`] exist, every other
    /// lookup fails at once.
    pub fn offline(host: &str) -> std::io::Result<Self> {
        Self::with_name_servers(&[], host)
    }

    /// Each query at most 2 s and one attempt, so that one slow server cannot use up the message's deadline.
    fn with_resolver(
        config: ResolverConfig,
        mut options: ResolverOpts,
        host: &str,
    ) -> std::io::Result<Self> {
        options.timeout = Duration::from_secs(2);
        options.attempts = 1;
        let resolver = MessageAuthenticator::new(config, options).map_err(std::io::Error::other)?;
        Ok(Authenticator {
            resolver,
            txt: Arc::default(),
            timeout: DEFAULT_TIMEOUT,
            host: host.to_owned(),
        })
    }

    /// The total time for all lookups of one message.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Preloads a TXT answer (an SPF record at a domain, a DKIM key at `selector._domainkey.domain`), stored as
    /// mail-auth would store the DNS answer: the parsed record, or the error it gives (`p=` is a revoked key).
    /// Preloaded answers take precedence over DNS; they are meant for tests and for pinning a known record.
    pub fn add_txt(&self, name: &str, record: &str) {
        let value: Txt = if record.trim_start().starts_with("v=spf1") {
            Spf::parse(record.as_bytes()).into()
        } else {
            DomainKey::parse(record.as_bytes()).into()
        };
        self.txt.add(name.to_fqdn().into_owned().into(), value);
    }

    /// SPF (MAIL FROM, or HELO for the null sender) and DKIM of `raw`, and whether either aligns with
    /// `from_domain`, the header From's domain (`dmarc-alignment`: relaxed, by registrable domain). Never fails:
    /// what could not be checked in time is `temperror`.
    pub async fn check(
        &self,
        raw: &[u8],
        spf: Option<SpfInput<'_>>,
        from_domain: Option<&str>,
    ) -> Vec<AuthCheck> {
        let deadline = Instant::now() + self.timeout;
        let mut checks = Vec::new();
        if let Some(input) = spf {
            checks.push(self.spf(input, deadline).await);
        }
        checks.extend(self.dkim(raw, deadline).await);
        if let Some(from_domain) = from_domain.and_then(registrable) {
            let result = if aligned_pass(&checks, &from_domain).is_some() {
                "pass"
            } else {
                "fail"
            };
            checks.push(check("dmarc-alignment", result, &from_domain));
        }
        checks
    }

    async fn spf(&self, input: SpfInput<'_>, deadline: Instant) -> AuthCheck {
        let helo = input.helo.trim();
        let mail_from = input
            .mail_from
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>');
        let (params, domain) = match mail_from.rsplit_once('@') {
            Some((_, domain)) if !domain.is_empty() => (
                SpfParameters::verify_mail_from(input.client_ip, helo, &self.host, mail_from),
                domain,
            ),
            _ => (
                SpfParameters::verify_ehlo(input.client_ip, helo, &self.host),
                helo,
            ),
        };
        if domain.is_empty() {
            return check("spf", "none", "");
        }
        let domain = domain.to_ascii_lowercase();
        let verify = self
            .resolver
            .verify_spf(Parameters::new(params).with_txt_cache(&*self.txt));
        match tokio::time::timeout_at(deadline, verify).await {
            Ok(output) => check("spf", spf_result(output.result()), &domain),
            Err(_) => check("spf", "temperror", &domain),
        }
    }

    async fn dkim(&self, raw: &[u8], deadline: Instant) -> Vec<AuthCheck> {
        // mail-auth hashes the body once per distinct signature setting before any lookup: count first.
        let (fields, _) = header::split(raw);
        let signatures = fields.iter().filter(|h| h.name == "dkim-signature").count();
        if signatures > MAX_DKIM_SIGNATURES {
            return vec![check("dkim", "permerror", "")];
        }
        let Some(message) = AuthenticatedMessage::parse(raw) else {
            return vec![check("dkim", "none", "")];
        };
        let verify = self
            .resolver
            .verify_dkim(Parameters::new(&message).with_txt_cache(&*self.txt));
        match tokio::time::timeout_at(deadline, verify).await {
            Ok(outputs) if outputs.is_empty() => vec![check("dkim", "none", "")],
            Ok(outputs) => outputs
                .iter()
                .map(|o| {
                    let domain = o.signature().map_or("", |s| s.d.as_str());
                    check(
                        "dkim",
                        dkim_result(o.result()),
                        &domain.to_ascii_lowercase(),
                    )
                })
                .collect(),
            Err(_) => message
                .dkim_headers
                .iter()
                .map(|h| check("dkim", "temperror", &h.header.d.to_ascii_lowercase()))
                .collect(),
        }
    }
}

/// The first passing SPF or DKIM check whose domain's registrable domain is `organisation` (relaxed alignment).
pub fn aligned_pass<'c>(checks: &'c [AuthCheck], organisation: &str) -> Option<&'c AuthCheck> {
    checks.iter().find(|c| {
        (c.method == "spf" || c.method == "dkim")
            && c.result == "pass"
            && registrable(&c.domain).is_some_and(|d| d == organisation)
    })
}

fn check(method: &str, result: &str, domain: &str) -> AuthCheck {
    AuthCheck {
        method: method.into(),
        result: result.into(),
        domain: domain.chars().take(255).collect(),
    }
}

fn spf_result(result: SpfResult) -> &'static str {
    match result {
        SpfResult::Pass => "pass",
        SpfResult::Fail => "fail",
        SpfResult::SoftFail => "softfail",
        SpfResult::Neutral => "neutral",
        SpfResult::TempError => "temperror",
        SpfResult::PermError => "permerror",
        SpfResult::None => "none",
    }
}

fn dkim_result(result: &DkimResult) -> &'static str {
    match result {
        DkimResult::Pass => "pass",
        DkimResult::Neutral(_) => "neutral",
        DkimResult::Fail(_) => "fail",
        DkimResult::PermError(_) => "permerror",
        DkimResult::TempError(_) => "temperror",
        DkimResult::None => "none",
    }
}

/// Answers mail-auth consults before DNS: only what was preloaded. Live answers are not stored here (hickory
/// caches them itself, within bounds), so this never grows with traffic.
struct Preloaded<K, V>(Mutex<HashMap<K, V>>);

impl<K, V> Default for Preloaded<K, V> {
    fn default() -> Self {
        Preloaded(Mutex::new(HashMap::new()))
    }
}

impl<K: Hash + Eq, V: Clone> Preloaded<K, V> {
    fn add(&self, key: K, value: V) {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(key, value);
    }
}

impl<K: Hash + Eq, V: Clone> ResolverCache<K, V> for Preloaded<K, V> {
    fn get<Q>(&self, name: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(name)
            .cloned()
    }

    fn remove<Q>(&self, _: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        // Preloaded answers never expire.
        None
    }

    fn insert(&self, _: K, _: V, _: std::time::Instant) {
        // Live answers are not kept (see `Preloaded`).
    }
}
