//! Which organisation an attack message is about, and whether it really left that organisation.
//!
//! With D the registrable domain of the header From:
//! 1. **Springboard of D** when SPF passed for a MAIL FROM (or HELO) domain, or DKIM passed for a `d=`, whose
//!    registrable domain is D (relaxed alignment), and D is not free mail: the organisation's own system or one
//!    of its accounts sent it.
//! 2. Otherwise **impersonation** of the organisation the display name names: an address written in it (its
//!    registrable domain), else a configured partner's name (its first domain), else a directory organisation's
//!    name (the longest that matches); else of D itself when D is not free mail (an unauthenticated From).
//! 3. Nothing otherwise: a free-mail sender naming no organisation is nobody's springboard.
//!
//! A free-mail domain is never the organisation, even when SPF or DKIM passes for it: a Gmail account passing
//! SPF while its display name names a partner is an impersonation of the partner.
//!
//! Our own domains (`[sender] own_domains`) are attributed like any other and flagged
//! ([`Attribution::own_domain`]): authenticated, one of our own accounts or servers sent attack mail (the most
//! urgent case of all); unauthenticated, our domain is being spoofed to our own people. Whoever notifies should
//! send those to our own administrators, not to abuse@ of the domain.

use fumidai_mime::{addresses_in, Mailbox, Partner};

use crate::auth::aligned_pass;
use crate::freemail::{registrable, FreeMail};
use crate::{AuthCheck, EventKind, Organisation};

/// Names shorter than this (in characters) are not looked for in display names: too many false hits.
const MIN_NAME_CHARS: usize = 2;

/// The organisation a message is attributed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribution {
    pub kind: EventKind,
    /// Registrable domain, lower-case, IDNA-encoded; never free mail.
    pub organisation: String,
    /// One line: why this kind and this organisation.
    pub reason: String,
    /// The organisation is one of our own domains.
    pub own_domain: bool,
}

/// What the classification knows: free-mail domains, partners, the directory and our own domains.
#[derive(Debug, Clone, Default)]
pub struct Classifier {
    free_mail: FreeMail,
    /// (name, registrable domain) of partners (first domain) and directory organisations.
    partners: Vec<(String, String)>,
    directory: Vec<(String, String)>,
    own_domains: Vec<String>,
}

impl Classifier {
    /// `partners` as in `[sender] partners`; `own_domains` as in `[sender] own_domains`.
    pub fn new(free_mail: FreeMail, partners: &[Partner], own_domains: &[String]) -> Self {
        Classifier {
            free_mail,
            partners: partners
                .iter()
                .filter_map(|p| {
                    let domain = p.domains.iter().find_map(|d| registrable(d))?;
                    Some((p.name.trim().to_lowercase(), domain))
                })
                .collect(),
            directory: Vec::new(),
            own_domains: own_domains.iter().filter_map(|d| registrable(d)).collect(),
        }
    }

    /// Adds the organisation directory's names (an organisation named in a display name is impersonated).
    pub fn with_directory(mut self, directory: &[Organisation]) -> Self {
        self.directory = directory
            .iter()
            .filter_map(|o| Some((o.name.trim().to_lowercase(), registrable(&o.domain)?)))
            .collect();
        self
    }

    pub fn free_mail(&self) -> &FreeMail {
        &self.free_mail
    }

    /// Attributes a message from its header From and the checks fumidai ran ([`crate::Authenticator::check`]).
    pub fn classify(&self, from: Option<&Mailbox>, checks: &[AuthCheck]) -> Option<Attribution> {
        let from_domain = from
            .and_then(|f| f.address.rsplit_once('@'))
            .and_then(|(_, d)| registrable(d));
        let organisation_domain = from_domain
            .as_deref()
            .filter(|d| !self.free_mail.contains(d));

        if let Some(d) = organisation_domain {
            if let Some(pass) = aligned_pass(checks, d) {
                let reason = format!(
                    "{} pass for {}, aligned with From domain {d}",
                    pass.method.to_uppercase(),
                    pass.domain
                );
                return Some(self.attribution(EventKind::Springboard, d.to_owned(), reason));
            }
        }

        let display_name = from.and_then(|f| f.name.as_deref()).unwrap_or_default();
        if let Some((organisation, how)) = self.named_in(display_name, from_domain.as_deref()) {
            let reason = format!(
                "display name {:?} {how}; sent from {}",
                truncate(display_name, 120),
                from.map_or("", |f| f.address.as_str())
            );
            return Some(self.attribution(EventKind::Impersonation, organisation, reason));
        }

        let d = organisation_domain?;
        let reason = format!("From domain {d} without SPF or DKIM passing for it");
        Some(self.attribution(EventKind::Impersonation, d.to_owned(), reason))
    }

    /// The organisation a display name names, other than the From domain, and how it names it.
    fn named_in(&self, display_name: &str, from_domain: Option<&str>) -> Option<(String, String)> {
        let other = |d: &str| Some(d) != from_domain && !self.free_mail.contains(d);
        let addressed = addresses_in(display_name).into_iter().find_map(|a| {
            let d = registrable(a.rsplit_once('@')?.1)?;
            other(&d).then(|| (d, format!("shows the address {a}")))
        });
        if addressed.is_some() {
            return addressed;
        }
        let name = display_name.to_lowercase();
        let names = |list: &[(String, String)]| {
            list.iter()
                .filter(|(n, d)| {
                    n.chars().count() >= MIN_NAME_CHARS && name.contains(n) && other(d)
                })
                .max_by_key(|(n, _)| n.chars().count())
                .map(|(n, d)| (d.clone(), format!("names {n:?}")))
        };
        names(&self.partners).or_else(|| names(&self.directory))
    }

    fn attribution(&self, kind: EventKind, organisation: String, reason: String) -> Attribution {
        let own_domain = self.own_domains.contains(&organisation);
        let reason = if own_domain {
            format!("{reason} (our own domain)")
        } else {
            reason
        };
        Attribution {
            kind,
            organisation,
            reason,
            own_domain,
        }
    }
}

/// At most `max` characters of `s`.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classifier() -> Classifier {
        Classifier::new(
            FreeMail::default(),
            &[Partner {
                name: "Partner Co".into(),
                domains: vec!["partner.co.jp".into()],
            }],
            &["ours.example".into()],
        )
        .with_directory(&[Organisation {
            domain: "kensetsu.co.jp".into(),
            name: "踏み台建設".into(),
            ..Organisation::default()
        }])
    }

    fn mailbox(name: Option<&str>, address: &str) -> Mailbox {
        Mailbox {
            name: name.map(str::to_owned),
            address: address.into(),
        }
    }

    fn pass(method: &str, domain: &str) -> AuthCheck {
        AuthCheck {
            method: method.into(),
            result: "pass".into(),
            domain: domain.into(),
        }
    }

    #[test]
    fn names_and_domains() {
        let c = classifier();
        let a = c
            .classify(
                Some(&mailbox(None, "a@mail.partner.co.jp")),
                &[pass("dkim", "partner.co.jp")],
            )
            .unwrap();
        assert_eq!(
            (a.kind, a.organisation.as_str()),
            (EventKind::Springboard, "partner.co.jp")
        );

        let a = c
            .classify(
                Some(&mailbox(Some("踏み台建設 経理部"), "x@gmail.com")),
                &[pass("spf", "gmail.com")],
            )
            .unwrap();
        assert_eq!(
            (a.kind, a.organisation.as_str()),
            (EventKind::Impersonation, "kensetsu.co.jp")
        );

        assert_eq!(
            c.classify(Some(&mailbox(Some("山田"), "x@gmail.com")), &[]),
            None
        );
        assert_eq!(c.classify(None, &[]), None);

        let a = c
            .classify(Some(&mailbox(Some("Admin"), "admin@ours.example")), &[])
            .unwrap();
        assert!(a.own_domain && a.kind == EventKind::Impersonation, "{a:?}");
    }

    #[test]
    fn truncates_on_char_boundaries() {
        assert_eq!(truncate("山田太郎", 2), "山田…");
        assert_eq!(truncate("ab", 2), "ab");
    }
}
