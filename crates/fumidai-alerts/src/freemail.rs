//! Free-mail and ISP domains: anyone can hold an address there, so such a domain never stands for an
//! organisation. The shipped list (`data/free_mail_domains.txt`) plus `[alerts] free_mail_domains`; both are
//! compared by registrable domain, so `i.softbank.jp` in the list covers every address under `softbank.jp`.

use std::collections::HashSet;

const SHIPPED: &str = include_str!("../data/free_mail_domains.txt");

/// The set of free-mail registrable domains.
#[derive(Debug, Clone)]
pub struct FreeMail {
    domains: HashSet<String>,
}

impl FreeMail {
    /// The shipped list plus `extras` (`[alerts] free_mail_domains`); entries that are not domain names are
    /// skipped.
    pub fn new(extras: &[String]) -> Self {
        let shipped = SHIPPED
            .lines()
            .map(|line| line.split('#').next().unwrap_or_default().trim())
            .filter(|line| !line.is_empty());
        let domains = shipped
            .chain(extras.iter().map(String::as_str))
            .filter_map(registrable)
            .collect();
        FreeMail { domains }
    }

    /// Whether a domain (or an address's domain) is free mail.
    pub fn contains(&self, domain_or_address: &str) -> bool {
        let domain = domain_or_address
            .rsplit_once('@')
            .map_or(domain_or_address, |(_, d)| d);
        registrable(domain).is_some_and(|d| self.domains.contains(&d))
    }

    pub fn len(&self) -> usize {
        self.domains.len()
    }

    pub fn is_empty(&self) -> bool {
        self.domains.is_empty()
    }
}

impl Default for FreeMail {
    /// The shipped list alone.
    fn default() -> Self {
        FreeMail::new(&[])
    }
}

/// Lower-case, IDNA-encoded registrable domain of a domain name, `None` when it is not one.
pub(crate) use fumidai_store::registrable_domain_of as registrable;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_list_matches_by_registrable_domain() {
        let free = FreeMail::default();
        assert!(free.len() >= 60, "{}", free.len());
        for d in [
            "gmail.com",
            "YAHOO.CO.JP",
            "mail.yahoo.co.jp",
            "docomo.ne.jp",
            "ezweb.ne.jp",
            "i.softbank.jp",
            "x@nifty.com",
            "ocn.ne.jp",
        ] {
            assert!(free.contains(d), "{d}");
        }
        for d in ["partner.co.jp", "example.com", "co.jp", "", "a@"] {
            assert!(!free.contains(d), "{d}");
        }
    }

    #[test]
    fn extras_are_added() {
        let free = FreeMail::new(&["mail.isp.example".into(), "not a domain..".into()]);
        assert!(free.contains("user@isp.example"));
        assert!(free.contains("gmail.com"));
    }
}
