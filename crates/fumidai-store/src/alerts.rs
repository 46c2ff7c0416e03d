//! Springboard alerts (migration 5): events, one case per organisation and kind, the notifications sent, and the
//! organisation directory the operator supplies.
//!
//! An *event* is one suspicious or malicious inbound message attributed to an organisation: a **springboard** when
//! the mail really left it (SPF or DKIM passing, aligned with its registrable domain), an **impersonation** when its
//! name or domain was only used. Events are idempotent by [`SpringboardEvent::id`]: the same event recorded twice
//! (a node retrying, a collector receiving it from two paths) counts once. Events group into a [`Case`] per
//! (organisation, kind), which moves new → notified → acknowledged → resolved and reopens when the organisation's
//! mail comes back after a quiet period ([`CaseRules`]).
//!
//! The types serialise to the JSON that nodes send to a collector, so their field names are a wire format: add
//! fields with `#[serde(default)]`, never rename.

use serde::{Deserialize, Serialize};

/// What an event says about its organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    /// The mail really left the organisation (SPF or DKIM pass aligned with its domain): its system or an account
    /// in it is being used.
    Springboard,
    /// The organisation's name or domain was used by someone else (display name, unauthenticated From).
    Impersonation,
}

impl EventKind {
    pub const ALL: [EventKind; 2] = [EventKind::Springboard, EventKind::Impersonation];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Springboard => "springboard",
            EventKind::Impersonation => "impersonation",
        }
    }

    pub fn parse(s: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One suspicious or malicious message attributed to an organisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpringboardEvent {
    /// Idempotency key (lower-case hex, at most 64 characters): the same message seen by the same site gives the
    /// same id, so it counts once however often it is sent.
    pub id: String,
    /// The node or customer site that saw the message (`[alerts] site`).
    pub site: String,
    pub kind: EventKind,
    /// Registrable domain of the organisation that sent the mail (springboard) or whose name was used
    /// (impersonation); never a free-mail or ISP domain.
    pub organisation: String,
    /// When the message arrived, Unix seconds UTC.
    pub observed_at: i64,
    /// `suspicious` or `malicious`.
    pub verdict: String,
    pub score: f64,
    /// The evidence a notification carries.
    pub sample: Sample,
}

/// The evidence of one message, as a notification carries it (../shared/BRIEF.md section 4): headers verbatim
/// (decoded to UTF-8), attachments by name, type and hash, links defanged, recipients only as counts and domains.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Sample {
    pub date: Option<String>,
    pub message_id: Option<String>,
    pub return_path: Option<String>,
    pub from: Option<String>,
    pub reply_to: Option<String>,
    pub subject: Option<String>,
    /// Received fields, top (newest) first.
    pub received: Vec<String>,
    /// Authentication-Results fields as they arrived.
    pub authentication_results: Vec<String>,
    /// The SMTP client that handed the message to us (or the first untrusted hop).
    pub source_ip: Option<String>,
    /// What fumidai verified itself (SPF, DKIM, DMARC alignment).
    pub authentication: Vec<AuthCheck>,
    pub attachments: Vec<SampleAttachment>,
    /// An encrypted archive was opened with a password written in the body.
    pub zip_password_in_body: bool,
    /// Links in the message, defanged (`hxxps://example[.]com/...`).
    pub urls: Vec<String>,
    pub recipient_count: u32,
    /// Registrable domains of the recipients (never the addresses).
    pub recipient_domains: Vec<String>,
    /// The account that probably sent it (envelope sender or authenticated From), when the mail is a springboard.
    pub likely_account: Option<String>,
    /// Finding ids raised on the message.
    pub findings: Vec<String>,
    /// One line: why this kind and this organisation.
    pub reason: String,
}

/// One authentication result fumidai computed: `spf`/`dkim`/`dmarc`, its result (`pass`, `fail`, `none`, ...)
/// and the domain it is about (MAIL FROM domain, `d=`, From domain).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AuthCheck {
    pub method: String,
    pub result: String,
    pub domain: String,
}

/// An attachment (or a file inside one) of a sample.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SampleAttachment {
    /// Where it sits (`invoice.zip > macro.docm`), as the sender named it.
    pub name: String,
    /// What the bytes really are (MIME type).
    pub kind: String,
    pub size: u64,
    pub sha256: String,
    pub encrypted: bool,
}

/// Where a case stands. A case is notified at most once per cooldown (the caller checks
/// [`Case::last_notified_at`]); a resolved case that gets a new event, or any case whose organisation comes back
/// after [`CaseRules::quiet_period`], is reopened as `New`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CaseState {
    New,
    Notified,
    Acknowledged,
    Resolved,
}

impl CaseState {
    pub const ALL: [CaseState; 4] = [
        CaseState::New,
        CaseState::Notified,
        CaseState::Acknowledged,
        CaseState::Resolved,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CaseState::New => "new",
            CaseState::Notified => "notified",
            CaseState::Acknowledged => "acknowledged",
            CaseState::Resolved => "resolved",
        }
    }

    pub fn parse(s: &str) -> Option<CaseState> {
        CaseState::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// The events of one organisation and kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    pub id: i64,
    pub organisation: String,
    pub kind: EventKind,
    pub state: CaseState,
    /// Unix seconds UTC of the first and the last event (over the case's whole life).
    pub first_seen: i64,
    pub last_seen: i64,
    /// Events counted (each id once).
    pub event_count: u64,
    /// Distinct source IPs, at most [`CaseRules::max_source_ips`], first seen first.
    pub source_ips: Vec<String>,
    /// The most recent samples, at most [`CaseRules::max_samples`], newest first.
    pub samples: Vec<Sample>,
    /// Sites that reported events.
    pub sites: Vec<String>,
    /// When the current episode began (creation or the last reopening).
    pub opened_at: i64,
    /// How often the case was reopened.
    pub reopened: u32,
    /// When the state last changed.
    pub state_changed_at: i64,
    /// When a notice about it was last sent.
    pub last_notified_at: Option<i64>,
}

/// How events group into cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseRules {
    /// Seconds without events after which a new event reopens a notified or acknowledged case.
    pub quiet_period: i64,
    pub max_samples: usize,
    pub max_source_ips: usize,
}

/// What [`crate::Store::event_record`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventRecorded {
    /// False when the event id was already stored (nothing changed).
    pub new: bool,
    pub case_id: i64,
    /// The case was reopened by this event (it is `New` again).
    pub reopened: bool,
}

/// Which cases [`crate::Store::cases`] returns (every condition set must hold), most recent `last_seen` first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseFilter {
    pub state: Option<CaseState>,
    pub kind: Option<EventKind>,
    /// Exact registrable domain.
    pub organisation: Option<String>,
    /// 0: no limit.
    pub limit: u32,
}

/// A notice sent about a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub case_id: i64,
    pub organisation: String,
    pub kind: EventKind,
    /// Unix seconds UTC.
    pub sent_at: i64,
    /// The address the notice went to.
    pub recipient: String,
    /// `ja` or `en` (or `ja+en`).
    pub language: String,
    /// The notice's Message-ID.
    pub reference: String,
}

/// An organisation directory entry.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Organisation {
    /// Registrable domain, lower-case, IDNA-encoded.
    pub domain: String,
    pub name: String,
    /// Japan Standard Industrial Classification division letter (`D` construction, `E` manufacturing, `I`
    /// wholesale and retail, ...).
    pub industry: Option<String>,
    /// Where notices go; without it, abuse@ then postmaster@ the domain (RFC 2142).
    pub contact: Option<String>,
}

/// How many enterprises an industry has (for rates per enterprise in the statistics).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndustryEnterprises {
    /// JSIC division letter.
    pub industry: String,
    pub enterprises: u64,
}
