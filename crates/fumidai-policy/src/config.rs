//! The `[policy]` section of fumidai.toml as the administrator writes it, and its validation.

use crate::ActionKind;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;

/// The `[policy]` section: what happens to a message once it has a verdict.
///
/// Every key has a default (see `policy.example.toml`), so an absent section is a working policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyConfig {
    /// Mail from outside to local users. Missing keys keep the inbound defaults.
    #[serde(deserialize_with = "inbound_table")]
    pub inbound: DirectionPolicy,
    /// Mail from local users to outside. Missing keys keep the outbound defaults.
    #[serde(deserialize_with = "outbound_table")]
    pub outbound: DirectionPolicy,
    /// How a message chosen for `sanitize` is sanitised (both directions).
    pub sanitize: SanitizeSettings,
    /// Senders exempt from every rule but the malicious verdict.
    pub whitelist: Whitelist,
    /// `[[policy.override]]`: different rules for some recipient domains.
    #[serde(rename = "override", skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<DomainOverride>,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        PolicyConfig {
            inbound: DirectionPolicy::inbound_default(),
            outbound: DirectionPolicy::outbound_default(),
            sanitize: SanitizeSettings::default(),
            whitelist: Whitelist::default(),
            overrides: Vec::new(),
        }
    }
}

/// The rules for one direction (`[policy.inbound]` or `[policy.outbound]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectionPolicy {
    /// Action for a malicious verdict.
    pub malicious: ActionKind,
    /// Action for a suspicious verdict.
    pub suspicious: ActionKind,
    /// Action for a clean verdict.
    pub clean: ActionKind,
    /// Action for a message with an attachment from a sender with no recent exchange (the history findings
    /// FIRST_CONTACT, NO_RECENT_EXCHANGE, LOOKALIKE_OF_CORRESPONDENT).
    pub unknown_sender_with_attachment: ActionKind,
    /// The same for a message with a link.
    pub unknown_sender_with_link: ActionKind,
    /// Put before the subject by `tag`.
    pub subject_prefix: String,
    /// The text after `550` when a message is rejected; `{reason}` is replaced by why.
    pub reject_message: String,
    /// The text after `451` when a message is refused for now.
    pub tempfail_message: String,
    /// Action for a message with a finding, whatever its verdict, e.g. `VBA_AUTOEXEC = "quarantine"`.
    pub findings: BTreeMap<String, ActionKind>,
}

impl DirectionPolicy {
    /// Day-one inbound rules: quarantine malicious, sanitise suspicious and attachments or links from
    /// senders without recent exchange, deliver the rest.
    pub fn inbound_default() -> Self {
        DirectionPolicy {
            malicious: ActionKind::Quarantine,
            suspicious: ActionKind::Sanitize,
            clean: ActionKind::Deliver,
            unknown_sender_with_attachment: ActionKind::Sanitize,
            unknown_sender_with_link: ActionKind::Sanitize,
            subject_prefix: DEFAULT_SUBJECT_PREFIX.into(),
            reject_message: DEFAULT_REJECT_MESSAGE.into(),
            tempfail_message: DEFAULT_TEMPFAIL_MESSAGE.into(),
            findings: BTreeMap::new(),
        }
    }

    /// Day-one outbound rules: hold malicious and suspicious mail (it never leaves), deliver the rest.
    pub fn outbound_default() -> Self {
        DirectionPolicy {
            malicious: ActionKind::Quarantine,
            suspicious: ActionKind::Quarantine,
            clean: ActionKind::Deliver,
            unknown_sender_with_attachment: ActionKind::Deliver,
            unknown_sender_with_link: ActionKind::Deliver,
            // The outbound watch (fumidai-outbound) holds an account by this finding.
            findings: BTreeMap::from([(
                "OUTBOUND_ACCOUNT_HELD".to_owned(),
                ActionKind::Quarantine,
            )]),
            ..Self::inbound_default()
        }
    }

    /// The action configured for a verdict.
    pub fn for_verdict(&self, verdict: fumidai_core::Verdict) -> ActionKind {
        use fumidai_core::Verdict::*;
        match verdict {
            Malicious => self.malicious,
            Suspicious => self.suspicious,
            Clean => self.clean,
        }
    }
}

const DEFAULT_SUBJECT_PREFIX: &str = "【要注意】";
const DEFAULT_REJECT_MESSAGE: &str = "5.7.1 Message rejected by fumidai: {reason}";
const DEFAULT_TEMPFAIL_MESSAGE: &str =
    "4.7.1 Message deferred by fumidai, try again later: {reason}";

/// Changes to one direction's rules: in a `[[policy.override]]`, and how a `[policy.inbound]` or
/// `[policy.outbound]` table is read (each key replaces that direction's default).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DirectionChanges {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub malicious: Option<ActionKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suspicious: Option<ActionKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clean: Option<ActionKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unknown_sender_with_attachment: Option<ActionKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unknown_sender_with_link: Option<ActionKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_prefix: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reject_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tempfail_message: Option<String>,
    /// Finding rules added to (or replacing those of) the base rules.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub findings: BTreeMap<String, ActionKind>,
}

impl DirectionChanges {
    /// `base` with these changes made.
    pub fn apply(&self, base: &DirectionPolicy) -> DirectionPolicy {
        let mut findings = base.findings.clone();
        findings.extend(self.findings.iter().map(|(id, a)| (id.clone(), *a)));
        DirectionPolicy {
            malicious: self.malicious.unwrap_or(base.malicious),
            suspicious: self.suspicious.unwrap_or(base.suspicious),
            clean: self.clean.unwrap_or(base.clean),
            unknown_sender_with_attachment: self
                .unknown_sender_with_attachment
                .unwrap_or(base.unknown_sender_with_attachment),
            unknown_sender_with_link: self
                .unknown_sender_with_link
                .unwrap_or(base.unknown_sender_with_link),
            subject_prefix: self
                .subject_prefix
                .clone()
                .unwrap_or_else(|| base.subject_prefix.clone()),
            reject_message: self
                .reject_message
                .clone()
                .unwrap_or_else(|| base.reject_message.clone()),
            tempfail_message: self
                .tempfail_message
                .clone()
                .unwrap_or_else(|| base.tempfail_message.clone()),
            findings,
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == DirectionChanges::default()
    }
}

fn inbound_table<'de, D: Deserializer<'de>>(d: D) -> Result<DirectionPolicy, D::Error> {
    Ok(DirectionChanges::deserialize(d)?.apply(&DirectionPolicy::inbound_default()))
}

fn outbound_table<'de, D: Deserializer<'de>>(d: D) -> Result<DirectionPolicy, D::Error> {
    Ok(DirectionChanges::deserialize(d)?.apply(&DirectionPolicy::outbound_default()))
}

/// `[policy.sanitize]`: what sanitising (無害化) does to a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SanitizeSettings {
    pub attachments: AttachmentHandling,
    /// Replace HTML bodies with their text.
    pub html_to_text: bool,
    /// Make links unclickable (`hxxps://example[.]com`).
    pub defang_links: bool,
}

impl Default for SanitizeSettings {
    fn default() -> Self {
        SanitizeSettings {
            attachments: AttachmentHandling::StripMacros,
            html_to_text: true,
            defang_links: true,
        }
    }
}

/// What sanitising does to attachments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AttachmentHandling {
    /// Every attachment is removed.
    RemoveAll,
    /// Macro-enabled OOXML is kept without its macros; other risky files are removed; harmless ones kept.
    StripMacros,
}

/// `[policy.whitelist]`: trusted senders. Matching ignores case; a domain covers its subdomains.
///
/// The sender address is trusted as given: pair the whitelist with SPF/DKIM/DMARC checks in Postfix.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Whitelist {
    pub addresses: Vec<String>,
    pub domains: Vec<String>,
}

/// One `[[policy.override]]`: different rules for mail to some recipient domains (and their subdomains).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DomainOverride {
    pub recipient_domains: Vec<String>,
    #[serde(default, skip_serializing_if = "DirectionChanges::is_empty")]
    pub inbound: DirectionChanges,
    #[serde(default, skip_serializing_if = "DirectionChanges::is_empty")]
    pub outbound: DirectionChanges,
}
