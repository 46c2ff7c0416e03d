//! A validated policy and the decision for one message.

use crate::config::{DirectionChanges, DirectionPolicy, PolicyConfig};
use crate::{ActionKind, Lang};
use fumidai_core::{Direction, Finding, Verdict};
use serde::Serialize;

/// The exchange-history findings (declared by fumidai-history) that mean "a sender with no recent
/// exchange": the `unknown_sender_with_*` rules look for these ids.
pub const HISTORY_FINDINGS: &[&str] = &[
    "FIRST_CONTACT",
    "NO_RECENT_EXCHANGE",
    "LOOKALIKE_OF_CORRESPONDENT",
];

/// Longest subject prefix accepted (characters): a prefix is a short warning, not a sentence.
const MAX_SUBJECT_PREFIX_CHARS: usize = 40;
/// Longest reject or tempfail text: RFC 5321 allows 512 bytes per reply line, and `{reason}` adds at most
/// [`MAX_REASON_BYTES`].
const MAX_REPLY_TEXT_BYTES: usize = 250;
const MAX_REASON_BYTES: usize = 200;

/// What the decide stage knows about one message.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    pub direction: Direction,
    pub verdict: Verdict,
    pub findings: &'a [Finding],
    /// The header From address, else MAIL FROM (`None` for the null sender).
    pub sender: Option<&'a str>,
    /// The envelope recipients (RCPT TO) as addresses.
    pub recipients: &'a [String],
    pub has_attachments: bool,
    pub has_links: bool,
}

/// The one action for a message and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    pub action: ActionKind,
    /// Every rule that chose this action (several rules may agree), in the order they were checked.
    pub because: Vec<Because>,
    /// For [`ActionKind::Tag`]: what to put before the subject. Prefix and reply texts come from the rules
    /// of the first recipient whose rules chose the action.
    pub subject_prefix: Option<String>,
    /// For [`ActionKind::Reject`] and [`ActionKind::Tempfail`]: the SMTP reply, e.g.
    /// `550 5.7.1 Message rejected by fumidai: the verdict is malicious` (ASCII, one line; a milter
    /// front end still has to double `%` for `smfi_setreply`).
    pub smtp_reply: Option<String>,
    /// For [`ActionKind::Sanitize`]: how.
    pub sanitize: Option<crate::SanitizeSettings>,
}

/// A rule that chose an action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "rule", content = "value", rename_all = "snake_case")]
pub enum Because {
    /// The rule for this verdict.
    Verdict(Verdict),
    /// The rule for this finding id.
    Finding(String),
    /// `unknown_sender_with_attachment`, with the history finding that made the sender unknown.
    UnknownSenderAttachment(String),
    /// `unknown_sender_with_link`, with the history finding.
    UnknownSenderLink(String),
    /// The whitelist entry (address or domain) the sender matched.
    Whitelisted(String),
    /// The rule next to this one comes from the `[[policy.override]]` for this recipient domain.
    RecipientOverride(String),
}

/// A `[policy]` section that makes no sense. `key` is the dotted path of the offending key; overrides are
/// named `policy.override[N]`, counted from 1 in file order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {problem}")]
pub struct PolicyError {
    pub key: String,
    pub problem: String,
}

fn invalid(key: impl Into<String>, problem: impl Into<String>) -> PolicyError {
    PolicyError {
        key: key.into(),
        problem: problem.into(),
    }
}

/// A validated policy, ready to decide.
#[derive(Debug, Clone)]
pub struct Policy {
    pub(crate) config: PolicyConfig,
    /// Whitelisted addresses and domains, normalised, each with the entry as written.
    whitelist_addresses: Vec<(String, String)>,
    whitelist_domains: Vec<(String, String)>,
    /// Override domains (normalised) with the override's index, most specific (longest) first.
    override_domains: Vec<(String, usize)>,
    /// Each override's rules with its changes made: (inbound, outbound).
    pub(crate) override_rules: Vec<(DirectionPolicy, DirectionPolicy)>,
}

impl Policy {
    /// Validates a configuration; finding ids are only checked for their form.
    pub fn new(config: PolicyConfig) -> Result<Policy, PolicyError> {
        Policy::build(config, None)
    }

    /// Validates a configuration, also rejecting finding ids not in `known_findings` (the engine's
    /// registry), so a typo in `[policy.inbound.findings]` is an error instead of a rule that never fires.
    pub fn new_checked(
        config: PolicyConfig,
        known_findings: &[&str],
    ) -> Result<Policy, PolicyError> {
        Policy::build(config, Some(known_findings))
    }

    fn build(config: PolicyConfig, known: Option<&[&str]>) -> Result<Policy, PolicyError> {
        check_direction("policy.inbound", &config.inbound, known)?;
        check_direction("policy.outbound", &config.outbound, known)?;

        let mut whitelist_addresses = Vec::new();
        for entry in &config.whitelist.addresses {
            let address = normalize_address(entry).ok_or_else(|| {
                invalid(
                    "policy.whitelist.addresses",
                    format!("{entry:?} is not a mail address"),
                )
            })?;
            whitelist_addresses.push((address, entry.clone()));
        }
        let mut whitelist_domains = Vec::new();
        for entry in &config.whitelist.domains {
            let domain = normalize_domain(entry).ok_or_else(|| {
                invalid(
                    "policy.whitelist.domains",
                    format!("{entry:?} is not a domain name"),
                )
            })?;
            whitelist_domains.push((domain, entry.clone()));
        }

        let mut override_domains: Vec<(String, usize)> = Vec::new();
        let mut override_rules = Vec::new();
        for (index, o) in config.overrides.iter().enumerate() {
            let key = format!("policy.override[{}]", index + 1);
            if o.recipient_domains.is_empty() {
                return Err(invalid(format!("{key}.recipient_domains"), "is empty"));
            }
            for entry in &o.recipient_domains {
                let domain = normalize_domain(entry).ok_or_else(|| {
                    invalid(
                        format!("{key}.recipient_domains"),
                        format!("{entry:?} is not a domain name"),
                    )
                })?;
                if let Some((_, other)) = override_domains.iter().find(|(d, _)| *d == domain) {
                    return Err(invalid(
                        format!("{key}.recipient_domains"),
                        format!("{entry:?} is already in policy.override[{}]", other + 1),
                    ));
                }
                override_domains.push((domain, index));
            }
            if o.inbound.is_empty() && o.outbound.is_empty() {
                return Err(invalid(
                    key,
                    "changes no rule (set e.g. inbound.suspicious = \"tag\")",
                ));
            }
            let inbound = o.inbound.apply(&config.inbound);
            let outbound = o.outbound.apply(&config.outbound);
            check_direction(&format!("{key}.inbound"), &inbound, known)?;
            check_direction(&format!("{key}.outbound"), &outbound, known)?;
            override_rules.push((inbound, outbound));
        }
        // Longest first, so the most specific domain of a recipient wins.
        override_domains.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));

        Ok(Policy {
            config,
            whitelist_addresses,
            whitelist_domains,
            override_domains,
            override_rules,
        })
    }

    /// The configuration this policy was built from.
    pub fn config(&self) -> &PolicyConfig {
        &self.config
    }

    /// The action for one message: every matching rule proposes an action and the strongest wins, over
    /// all the rule sets its recipients fall under.
    pub fn decide(&self, facts: &Facts) -> Decision {
        let whitelisted = facts.sender.and_then(|s| self.whitelist_entry(s));
        // Each distinct override among the recipients, in recipient order; `None` is the base rules.
        let mut groups: Vec<Option<(usize, &str)>> = Vec::new();
        for recipient in facts.recipients {
            let group = self.override_for(recipient);
            if !groups.iter().any(|g| g.map(|g| g.0) == group.map(|g| g.0)) {
                groups.push(group);
            }
        }
        if groups.is_empty() {
            groups.push(None);
        }

        let mut best: Option<(ActionKind, Vec<Because>, &DirectionPolicy)> = None;
        for group in groups {
            let (rules, changes) = match group {
                None => (self.base_rules(facts.direction), None),
                Some((index, domain)) => {
                    let o = &self.config.overrides[index];
                    let (inbound, outbound) = &self.override_rules[index];
                    match facts.direction {
                        Direction::Inbound => (inbound, Some((&o.inbound, domain))),
                        Direction::Outbound => (outbound, Some((&o.outbound, domain))),
                    }
                }
            };
            let (action, because) = evaluate(rules, changes, facts, whitelisted);
            match &mut best {
                Some((best_action, best_because, _)) if *best_action == action => {
                    for b in because {
                        push_unique(best_because, b);
                    }
                }
                Some((best_action, ..)) if *best_action > action => {}
                _ => best = Some((action, because, rules)),
            }
        }
        let (action, because, rules) = best.expect("there is always at least the base rule set");

        let reason = || reply_reason(&because);
        let smtp_reply = match action {
            ActionKind::Reject => Some(format!(
                "550 {}",
                rules.reject_message.replace("{reason}", &reason())
            )),
            ActionKind::Tempfail => Some(format!(
                "451 {}",
                rules.tempfail_message.replace("{reason}", &reason())
            )),
            _ => None,
        };
        Decision {
            action,
            subject_prefix: (action == ActionKind::Tag).then(|| rules.subject_prefix.clone()),
            smtp_reply,
            sanitize: (action == ActionKind::Sanitize).then(|| self.config.sanitize.clone()),
            because,
        }
    }

    pub(crate) fn base_rules(&self, direction: Direction) -> &DirectionPolicy {
        match direction {
            Direction::Inbound => &self.config.inbound,
            Direction::Outbound => &self.config.outbound,
        }
    }

    /// The whitelist entry (as written) a sender matches.
    fn whitelist_entry(&self, sender: &str) -> Option<&str> {
        let address = normalize_address(sender)?;
        if let Some((_, entry)) = self.whitelist_addresses.iter().find(|(a, _)| *a == address) {
            return Some(entry);
        }
        let domain = address.rsplit_once('@')?.1;
        self.whitelist_domains
            .iter()
            .find(|(d, _)| domain_within(domain, d))
            .map(|(_, entry)| entry.as_str())
    }

    /// The override a recipient falls under, with the domain (as normalised) that matched.
    fn override_for(&self, recipient: &str) -> Option<(usize, &str)> {
        let address = normalize_address(recipient)?;
        let domain = address.rsplit_once('@')?.1;
        self.override_domains
            .iter()
            .find(|(d, _)| domain_within(domain, d))
            .map(|(d, index)| (*index, d.as_str()))
    }
}

/// The strongest action of one rule set and the rules that chose it. `changes` is the override that made
/// these rules, with the recipient domain it is for.
fn evaluate(
    rules: &DirectionPolicy,
    changes: Option<(&DirectionChanges, &str)>,
    facts: &Facts,
    whitelisted: Option<&str>,
) -> (ActionKind, Vec<Because>) {
    let changed = |pick: &dyn Fn(&DirectionChanges) -> bool| changes.is_some_and(|(c, _)| pick(c));
    // A whitelisted sender skips the suspicious/clean verdict rules and the unknown-sender rules, but
    // not a malicious verdict nor the finding rules: Emotet mail comes from hijacked partners'
    // real accounts, so what the mail carries still counts.
    let verdict_rule = match whitelisted {
        Some(entry) if facts.verdict != Verdict::Malicious => (
            ActionKind::Deliver,
            Because::Whitelisted(entry.into()),
            false,
        ),
        _ => (
            rules.for_verdict(facts.verdict),
            Because::Verdict(facts.verdict),
            changed(&|c| c.for_verdict(facts.verdict).is_some()),
        ),
    };
    // (proposed action, rule, whether the override set it)
    let mut proposals = vec![verdict_rule];
    for finding in facts.findings {
        if let Some(action) = rules.findings.get(finding.id) {
            proposals.push((
                *action,
                Because::Finding(finding.id.into()),
                changed(&|c| c.findings.contains_key(finding.id)),
            ));
        }
    }
    if whitelisted.is_none() {
        let unknown_sender = facts
            .findings
            .iter()
            .map(|f| f.id)
            .find(|id| HISTORY_FINDINGS.contains(id));
        if let Some(id) = unknown_sender {
            if facts.has_attachments {
                proposals.push((
                    rules.unknown_sender_with_attachment,
                    Because::UnknownSenderAttachment(id.into()),
                    changed(&|c| c.unknown_sender_with_attachment.is_some()),
                ));
            }
            if facts.has_links {
                proposals.push((
                    rules.unknown_sender_with_link,
                    Because::UnknownSenderLink(id.into()),
                    changed(&|c| c.unknown_sender_with_link.is_some()),
                ));
            }
        }
    }
    let action = proposals
        .iter()
        .map(|p| p.0)
        .max()
        .unwrap_or(ActionKind::Deliver);
    let mut because = Vec::new();
    let mut overridden = false;
    for (proposed, rule, set_by_override) in proposals {
        if proposed == action {
            overridden |= set_by_override;
            push_unique(&mut because, rule);
        }
    }
    if let (true, Some((_, domain))) = (overridden, changes) {
        because.push(Because::RecipientOverride(domain.into()));
    }
    (action, because)
}

fn push_unique(list: &mut Vec<Because>, item: Because) {
    if !list.contains(&item) {
        list.push(item);
    }
}

/// `{reason}` for an SMTP reply: the English descriptions, printable ASCII only (SMTP replies cannot
/// carry Japanese text or a sender's non-ASCII address), bounded.
fn reply_reason(because: &[Because]) -> String {
    let text = because
        .iter()
        .map(|b| b.describe(Lang::En))
        .collect::<Vec<_>>()
        .join("; ");
    text.chars()
        .map(|c| if (' '..='~').contains(&c) { c } else { '?' })
        .take(MAX_REASON_BYTES)
        .collect()
}

/// Checks one direction's rules (as configured or as an override leaves them).
fn check_direction(
    key: &str,
    rules: &DirectionPolicy,
    known: Option<&[&str]>,
) -> Result<(), PolicyError> {
    for (id, action) in &rules.findings {
        let entry = format!("{key}.findings.{id}");
        let well_formed = !id.is_empty()
            && id
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
        if !well_formed {
            return Err(invalid(
                entry,
                "not a finding id (ids are UPPER_SNAKE_CASE; see `fumidai findings`)",
            ));
        }
        if known.is_some_and(|known| !known.contains(&id.as_str())) {
            return Err(invalid(
                entry,
                "no such finding (see `fumidai findings` for the list)",
            ));
        }
        if *action == ActionKind::Deliver {
            return Err(invalid(
                entry,
                "\"deliver\" never has an effect (the strongest rule wins); to weigh a finding less, \
                 lower its score in [scores]",
            ));
        }
    }
    for (stronger, stronger_action, weaker, weaker_action) in [
        ("malicious", rules.malicious, "suspicious", rules.suspicious),
        ("suspicious", rules.suspicious, "clean", rules.clean),
    ] {
        if stronger_action < weaker_action {
            return Err(invalid(
                format!("{key}.{stronger}"),
                format!(
                    "\"{}\" is weaker than {weaker} = \"{}\"",
                    stronger_action.as_str(),
                    weaker_action.as_str()
                ),
            ));
        }
    }

    let prefix = &rules.subject_prefix;
    if prefix.chars().any(char::is_control) {
        return Err(invalid(
            format!("{key}.subject_prefix"),
            "contains a control character",
        ));
    }
    if prefix.chars().count() > MAX_SUBJECT_PREFIX_CHARS {
        return Err(invalid(
            format!("{key}.subject_prefix"),
            format!("longer than {MAX_SUBJECT_PREFIX_CHARS} characters"),
        ));
    }
    let tags = [
        rules.malicious,
        rules.suspicious,
        rules.clean,
        rules.unknown_sender_with_attachment,
        rules.unknown_sender_with_link,
    ]
    .into_iter()
    .chain(rules.findings.values().copied())
    .any(|a| a == ActionKind::Tag);
    if tags && prefix.trim().is_empty() {
        return Err(invalid(
            format!("{key}.subject_prefix"),
            "is empty but a rule says \"tag\": tagging would change nothing",
        ));
    }
    check_reply_text(&format!("{key}.reject_message"), &rules.reject_message, '5')?;
    check_reply_text(
        &format!("{key}.tempfail_message"),
        &rules.tempfail_message,
        '4',
    )
}

/// An SMTP reply text: printable ASCII on one line, starting with an enhanced status code of the right
/// class (`5.7.1` for reject, `4.7.1` for tempfail), with no placeholder but `{reason}`.
fn check_reply_text(key: &str, text: &str, class: char) -> Result<(), PolicyError> {
    if !text.chars().all(|c| (' '..='~').contains(&c)) {
        return Err(invalid(
            key,
            "must be printable ASCII on one line (SMTP replies cannot carry Japanese text)",
        ));
    }
    if text.len() > MAX_REPLY_TEXT_BYTES {
        return Err(invalid(
            key,
            format!("longer than {MAX_REPLY_TEXT_BYTES} characters"),
        ));
    }
    let code = text.split(' ').next().unwrap_or_default();
    let parts: Vec<&str> = code.split('.').collect();
    let well_formed = parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()));
    if !well_formed || !code.starts_with(class) {
        return Err(invalid(
            key,
            format!("must start with an enhanced status code such as {class}.7.1"),
        ));
    }
    if text.replace("{reason}", "").contains(['{', '}']) {
        return Err(invalid(key, "the only placeholder is {reason}"));
    }
    Ok(())
}

/// A domain in the form we compare: lower case, ASCII (IDNs as `xn--`), no trailing dot. `None` if it is
/// not a domain name.
pub(crate) fn normalize_domain(text: &str) -> Option<String> {
    let text = text.trim();
    let text = text.strip_suffix('.').unwrap_or(text);
    let domain = if text.is_ascii() {
        text.to_ascii_lowercase()
    } else {
        idna::domain_to_ascii(text).ok()?
    };
    let valid = !domain.is_empty()
        && domain.len() <= 253
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        });
    valid.then_some(domain)
}

/// `local@domain` with the domain normalised and the local part lower-cased (matching ignores case).
fn normalize_address(text: &str) -> Option<String> {
    let text = text.trim().trim_start_matches('<').trim_end_matches('>');
    let (local, domain) = text.rsplit_once('@')?;
    if local.is_empty() || local.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return None;
    }
    Some(format!(
        "{}@{}",
        local.to_lowercase(),
        normalize_domain(domain)?
    ))
}

/// Whether `domain` is `parent` or one of its subdomains (both normalised).
fn domain_within(domain: &str, parent: &str) -> bool {
    domain
        .strip_suffix(parent)
        .is_some_and(|rest| rest.is_empty() || rest.ends_with('.'))
}

impl DirectionChanges {
    /// The change to the rule for a verdict, if any.
    fn for_verdict(&self, verdict: Verdict) -> Option<ActionKind> {
        match verdict {
            Verdict::Malicious => self.malicious,
            Verdict::Suspicious => self.suspicious,
            Verdict::Clean => self.clean,
        }
    }
}
