//! Threat feeds: a message's links and relays matched against URLhaus (malware download URLs) and Feodo Tracker
//! (botnet C2 addresses), as imported into the store by `fumidai feeds import`.
//!
//! A [`ThreatFeed`] is built once from the store's indicators (at start, and again at every refresh of a
//! long-running front end) into hash sets, so matching a message costs one normalisation and a few lookups per
//! link and Received field; an empty feed costs nothing. The engine holds it behind an `Arc` that
//! [`Engine::set_threat_feed`](crate::Engine::set_threat_feed) swaps: a scan keeps the feed it started with.
//!
//! What matches:
//! - THREAT_FEED_URL: a link whose normalised URL (see [`normalize_url`]) is listed, or whose host (with its
//!   port) is listed whole: a URLhaus entry that is only a host or an IP (`http://203.0.113.9/`) marks every URL
//!   on it. Hosts of longer entries are not marked (URLhaus lists pages of hacked but legitimate sites).
//! - THREAT_FEED_IP: an IP address in brackets in a Received field (`from x ([192.0.2.1])`), or a link's host
//!   written as a dotted or IPv6 address, on Feodo Tracker's list.
//!
//! Limits: the links of the message body are matched (text and HTML), not those inside attachments or attached
//! messages, which the dispatcher inspects without the engine's state; integer and hex forms of IP hosts
//! (`http://3221225985/`) are not converted.

use fumidai_core::{FindingDef, Scan};
use fumidai_store::{Indicator, IndicatorKind, Store, StoreError};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};

pub mod findings {
    fumidai_core::findings! {
        THREAT_FEED_URL = 8.0, "A link is on URLhaus's list of malware distribution URLs (or its whole host is).";
        THREAT_FEED_IP = 6.0, "A relay in the Received chain, or a link's IP host, is a botnet C2 server on Feodo Tracker's list.";
    }
}
pub use findings::ALL as FINDINGS;

/// Received fields read per message: the chain a real message carries is far shorter.
const MAX_RECEIVED: usize = 100;

/// Listed URLs, hosts and addresses, each with what the source says it is.
#[derive(Default)]
pub struct ThreatFeed {
    urls: HashMap<String, String>,
    /// `host` or `host:port` of URLhaus entries that name a whole host.
    hosts: HashMap<String, String>,
    ips: HashMap<IpAddr, String>,
}

impl std::fmt::Debug for ThreatFeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThreatFeed")
            .field("urls", &self.urls.len())
            .field("hosts", &self.hosts.len())
            .field("ips", &self.ips.len())
            .finish()
    }
}

impl ThreatFeed {
    /// The feed of these indicators. Values are normalised again (the store may hold what another tool wrote);
    /// those that do not parse are skipped.
    pub fn new(indicators: &[Indicator]) -> ThreatFeed {
        let mut feed = ThreatFeed::default();
        for indicator in indicators {
            let threat = if indicator.threat.is_empty() {
                indicator.source.clone()
            } else {
                format!("{}: {}", indicator.source, indicator.threat)
            };
            match indicator.kind {
                IndicatorKind::Url => {
                    let Some(url) = normalize_url(&indicator.value) else {
                        continue;
                    };
                    if let Some(authority) = whole_host(&url) {
                        feed.hosts.insert(authority.to_owned(), threat.clone());
                    }
                    feed.urls.insert(url, threat);
                }
                IndicatorKind::Ip => {
                    if let Ok(ip) = indicator.value.trim().parse::<IpAddr>() {
                        feed.ips.insert(ip, threat);
                    }
                }
            }
        }
        feed
    }

    /// The feed the store holds now.
    pub async fn load(store: &dyn Store) -> Result<ThreatFeed, StoreError> {
        Ok(ThreatFeed::new(&store.feed_indicators().await?))
    }

    /// How many URLs and addresses are listed.
    pub fn len(&self) -> usize {
        self.urls.len() + self.ips.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Records THREAT_FEED_URL and THREAT_FEED_IP for listed links on `part`, each once with a count.
    pub(crate) fn check_links<'l>(
        &self,
        scan: &mut Scan<'_>,
        part: &str,
        links: impl Iterator<Item = &'l str>,
    ) {
        let mut hits = Hits::default();
        for link in links {
            let Some(url) = normalize_url(link) else {
                continue;
            };
            let authority = authority(&url);
            if let Some(threat) = self.urls.get(&url) {
                hits.add(
                    &findings::THREAT_FEED_URL,
                    format!("{} ({threat})", defang(&url)),
                );
            } else if let Some(threat) = self.hosts.get(authority) {
                hits.add(
                    &findings::THREAT_FEED_URL,
                    format!("{}: host listed ({threat})", defang(&url)),
                );
            }
            if let Some((ip, threat)) =
                host_ip(authority).and_then(|ip| self.ips.get_key_value(&ip))
            {
                hits.add(
                    &findings::THREAT_FEED_IP,
                    format!("link host {} ({threat})", defang_ip(ip)),
                );
            }
        }
        hits.flush(scan, part);
    }

    /// Records THREAT_FEED_IP for listed addresses in the Received fields of the message's header block.
    pub(crate) fn check_received(&self, scan: &mut Scan<'_>, raw: &[u8]) {
        if self.ips.is_empty() {
            return;
        }
        let (fields, _) = fumidai_mime::header::split(raw);
        let mut hits = Hits::default();
        for field in fields
            .iter()
            .filter(|f| f.name == "received")
            .take(MAX_RECEIVED)
        {
            let value = String::from_utf8_lossy(&field.unfolded()).into_owned();
            for ip in bracketed_ips(&value) {
                if let Some(threat) = self.ips.get(&ip) {
                    hits.add(
                        &findings::THREAT_FEED_IP,
                        format!("Received from {} ({threat})", defang_ip(&ip)),
                    );
                }
            }
        }
        hits.flush(scan, "headers");
    }
}

/// Each finding once per call, with the first evidence and how many more.
#[derive(Default)]
struct Hits(Vec<(&'static FindingDef, String, usize)>);

impl Hits {
    fn add(&mut self, def: &'static FindingDef, detail: String) {
        match self.0.iter_mut().find(|(d, _, _)| d.id == def.id) {
            Some((_, _, more)) => *more += 1,
            None => self.0.push((def, detail, 0)),
        }
    }

    fn flush(self, scan: &mut Scan<'_>, part: &str) {
        for (def, detail, more) in self.0 {
            let detail = if more > 0 {
                format!("{detail} (+{more} more)")
            } else {
                detail
            };
            scan.add(def, part, detail);
        }
    }
}

/// Where the engine keeps its feed: read once per scan, swapped whole.
#[derive(Debug, Default)]
pub(crate) struct FeedSlot(RwLock<Arc<ThreatFeed>>);

impl FeedSlot {
    pub(crate) fn get(&self) -> Arc<ThreatFeed> {
        Arc::clone(&self.0.read().unwrap_or_else(|e| e.into_inner()))
    }

    pub(crate) fn set(&self, feed: Arc<ThreatFeed>) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = feed;
    }
}

/// A cloned engine starts with the feed of its original; each is swapped on its own from then on.
impl Clone for FeedSlot {
    fn clone(&self) -> FeedSlot {
        FeedSlot(RwLock::new(self.get()))
    }
}

/// A URL as feeds and links are compared: scheme and host in lower case (IDN hosts in punycode), user info
/// dropped, default port (80, 443, 21) dropped, fragment dropped, an empty path made `/`, path and query kept as
/// written. `www.` links without a scheme are `http`; defanged `hxxp(s)` is read as `http(s)`. `None` for what
/// has no host.
pub fn normalize_url(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let (scheme, rest) = match raw.split_once("://") {
        Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
        None if raw.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("www.")) => {
            ("http".to_owned(), raw)
        }
        None => return None,
    };
    if scheme.is_empty()
        || !scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
    {
        return None;
    }
    let scheme = match scheme.as_str() {
        "hxxp" => "http",
        "hxxps" => "https",
        other => other,
    };
    let end = rest.find(['/', '\\', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = match hostport.strip_prefix('[') {
        Some(v6) => {
            let (inside, after) = v6.split_once(']')?;
            (
                format!("[{}]", inside.to_ascii_lowercase()),
                after.strip_prefix(':'),
            )
        }
        None => {
            let (host, port) = match hostport.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (hostport, None),
            };
            let host = host.trim_end_matches('.').to_lowercase();
            (fumidai_text::url::ascii_host(&host).into_owned(), port)
        }
    };
    if host.is_empty() || host == "[]" {
        return None;
    }
    let default_port = match scheme {
        "http" => "80",
        "https" => "443",
        "ftp" => "21",
        _ => "",
    };
    let port = port
        .map(|p| p.trim_start_matches('0'))
        .filter(|p| !p.is_empty() && *p != default_port);
    let tail = tail.split('#').next().unwrap_or("");
    let slash = if tail.starts_with(['/', '\\']) {
        ""
    } else {
        "/"
    };
    Some(match port {
        Some(port) => format!("{scheme}://{host}:{port}{slash}{tail}"),
        None => format!("{scheme}://{host}{slash}{tail}"),
    })
}

/// `host` or `host:port` of a normalised URL.
fn authority(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split(['/', '\\']).next().unwrap_or(rest)
}

/// The authority of a normalised URL that names a whole host (path `/`, no query).
fn whole_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = authority(url);
    (rest.len() == authority.len() + 1).then_some(authority)
}

/// The address an authority's host is written as, if it is one (dotted IPv4 or bracketed IPv6).
fn host_ip(authority: &str) -> Option<IpAddr> {
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next()?,
        None => authority.split(':').next()?,
    };
    host.parse().ok()
}

/// Addresses written in brackets in a Received field: `[192.0.2.1]`, `[IPv6:2001:db8::1]`.
fn bracketed_ips(value: &str) -> impl Iterator<Item = IpAddr> + '_ {
    value.split('[').skip(1).filter_map(|after| {
        let inside = after.split(']').next()?;
        let inside = inside
            .get(..5)
            .filter(|p| p.eq_ignore_ascii_case("ipv6:"))
            .and_then(|_| inside.get(5..))
            .unwrap_or(inside);
        inside.trim().parse().ok()
    })
}

/// A normalised URL made unclickable for a report: `hxxp://evil[.]example/a`. (fumidai-sanitize's defanger is
/// for whole messages and sits above the engine; a normalised URL needs only this.)
fn defang(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let scheme = match scheme {
        "http" => "hxxp",
        "https" => "hxxps",
        "ftp" => "fxp",
        other => other,
    };
    let authority = authority(url);
    let shown: String = rest
        .get(authority.len()..)
        .unwrap_or("")
        .chars()
        .take(120)
        .collect();
    format!("{scheme}://{}{shown}", authority.replace('.', "[.]"))
}

fn defang_ip(ip: &IpAddr) -> String {
    ip.to_string().replace('.', "[.]")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn indicator(kind: IndicatorKind, value: &str, source: &str, threat: &str) -> Indicator {
        Indicator {
            kind,
            value: value.into(),
            source: source.into(),
            threat: threat.into(),
            first_seen: None,
        }
    }

    #[test]
    fn urls_normalise_the_same_way_from_feeds_and_links() {
        for (raw, want) in [
            (
                "HTTP://Evil.Example:80/Path?Q=1#frag",
                "http://evil.example/Path?Q=1",
            ),
            ("https://evil.example:443", "https://evil.example/"),
            ("http://117.215.50.1:43413/i", "http://117.215.50.1:43413/i"),
            ("http://user@evil.example./x", "http://evil.example/x"),
            ("www.Evil.example/a.zip", "http://www.evil.example/a.zip"),
            ("hxxps://evil.example/a", "https://evil.example/a"),
            ("http://[2001:DB8::1]:8080/x", "http://[2001:db8::1]:8080/x"),
            ("http://例え.jp/", "http://xn--r8jz45g.jp/"),
            ("http://evil.example?x", "http://evil.example/?x"),
        ] {
            assert_eq!(normalize_url(raw).as_deref(), Some(want), "{raw}");
            assert_eq!(
                normalize_url(want).as_deref(),
                Some(want),
                "idempotent: {want}"
            );
        }
        for none in [
            "mailto:a@b.example",
            "/relative",
            "http://",
            "http://[]/",
            "1.2.3.4",
        ] {
            assert_eq!(normalize_url(none), None, "{none}");
        }
    }

    #[test]
    fn received_fields_give_bracketed_addresses() {
        let ips: Vec<IpAddr> = bracketed_ips(
            "from mx.example (mx.example [192.0.2.1]) by a (b [IPv6:2001:db8::7]) [not-an-ip] [10.0.0.300]",
        )
        .collect();
        assert_eq!(
            ips,
            [
                "192.0.2.1".parse::<IpAddr>().unwrap(),
                "2001:db8::7".parse().unwrap()
            ]
        );
    }

    #[test]
    fn links_match_urls_whole_hosts_and_c2_addresses() {
        let feed = ThreatFeed::new(&[
            indicator(
                IndicatorKind::Url,
                "http://evil.example/a.doc",
                "urlhaus",
                "malware_download",
            ),
            indicator(
                IndicatorKind::Url,
                "HTTP://Bare.Example",
                "urlhaus",
                "malware_download",
            ),
            indicator(
                IndicatorKind::Url,
                "http://hacked.example/wp/x.zip",
                "urlhaus",
                "x",
            ),
            indicator(IndicatorKind::Ip, "198.51.100.7", "feodo", "Emotet"),
            indicator(IndicatorKind::Ip, "not an ip", "feodo", "Emotet"),
        ]);
        assert_eq!(feed.len(), 4);
        let check = |links: &[&str]| {
            let limits = fumidai_core::Limits::default();
            let mut scan = Scan::new(&limits, fumidai_core::hash_only);
            feed.check_links(&mut scan, "body", links.iter().copied());
            scan.into_findings()
                .into_iter()
                .map(|f| (f.id, f.detail))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            check(&[
                "https://evil.example/a.doc",
                "http://evil.example/a.doc.zip"
            ]),
            []
        );
        assert_eq!(
            check(&["http://EVIL.example/a.doc#top"]),
            [(
                "THREAT_FEED_URL",
                "hxxp://evil[.]example/a.doc (urlhaus: malware_download)".to_owned()
            )]
        );
        let found = check(&["http://bare.example/any/path", "http://198.51.100.7:8080/p"]);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].1.contains("host listed"), "{found:?}");
        assert_eq!(found[1].1, "link host 198[.]51[.]100[.]7 (feodo: Emotet)");
        assert_eq!(check(&["http://hacked.example/other"]), []);

        let limits = fumidai_core::Limits::default();
        let mut scan = Scan::new(&limits, fumidai_core::hash_only);
        feed.check_received(
            &mut scan,
            b"Received: from a (a [198.51.100.7])\r\n\tby b;\r\nReceived: from c ([198.51.100.7])\r\n\r\nbody [198.51.100.7]\r\n",
        );
        let found = scan.into_findings();
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].detail,
            "Received from 198[.]51[.]100[.]7 (feodo: Emotet) (+1 more)"
        );
    }
}
