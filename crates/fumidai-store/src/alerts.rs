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
use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Row, Type};

use crate::normalize::normalize_domain;
use crate::sql::{begin_statement, classify, RowsAffected};
use crate::StoreError;

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
    /// When the message reached the site, Unix seconds UTC (the event's `observed_at`; the Date field below
    /// is the sender's claim).
    pub received_at: Option<i64>,
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
    /// This event created its case (the first event of the organisation and kind).
    pub created: bool,
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

// The query bodies both backends share (generic over sqlx's connection; the SQL text per backend in
// `src/sqlite/alerts.rs` and `src/postgres/alerts.rs`). A case's source IPs, samples and sites are JSON text;
// samples are stored with their event's time ([`DatedSample`]) so that a late event lands in its place.

/// Longest event id accepted (a SHA-256 in hex).
const MAX_EVENT_ID_LEN: usize = 64;

/// Ids per statement of [`events_forwarded`] (far below either backend's parameter limit).
const FORWARDED_CHUNK: usize = 500;

/// The alerts' SQL text for one backend. Parameters are numbered as listed.
pub(crate) struct AlertSql {
    /// Begins a write transaction (SQLite takes the write lock at once).
    pub begin: &'static str,
    /// Run first in the transaction that records a sent notice, so that its commit survives a crash (empty: the
    /// backend does it around the transaction).
    pub durable: &'static str,
    /// Inserts an event (id, site, kind, organisation, observed_at, verdict, score, sample_json, outbox) without
    /// its case; nothing when the id is stored.
    pub insert_event: &'static str,
    /// Selects the case id of event `$1`.
    pub event_case: &'static str,
    /// Sets the case of event `$1` to `$2`.
    pub set_event_case: &'static str,
    /// Creates the case of (organisation `$1`, kind `$2`) as new at `$3`, with no events and empty lists;
    /// nothing when it exists.
    pub create_case: &'static str,
    /// `SELECT` of the case columns in [`stored_case_from_row`]'s order `FROM alert_case c`, without conditions.
    pub select_case: &'static str,
    /// Appended to a case selection that is about to be updated: a row lock where the backend has them.
    pub for_update: &'static str,
    /// Updates case `$1`: state, first_seen, last_seen, event_count, opened_at, reopened, state_changed_at,
    /// source_ips_json, samples_json, sites_json (`$2`..`$11`).
    pub update_case: &'static str,
    /// Selects events (the columns of [`event_from_row`]) in the outbox, oldest first, at most `$1`.
    pub outbox: &'static str,
    /// `UPDATE` taking events out of the outbox, ending in `WHERE id IN `; the id list is appended.
    pub forwarded: &'static str,
    /// Sets the state of case `$1` to `$2` at `$3`.
    pub set_state: &'static str,
    /// Moves case `$1` to notified at `$2` (last_notified_at and state_changed_at).
    pub notified: &'static str,
    /// Inserts a notification (case_id, organisation, kind, sent_at, recipient, language, reference).
    pub insert_notification: &'static str,
    /// Selects notifications (those columns) sent in [`$1`, `$2`), oldest first.
    pub notifications: &'static str,
    /// Upserts an organisation (domain, name, industry, contact).
    pub upsert_organisation: &'static str,
    /// Selects every organisation (those columns) by domain.
    pub directory: &'static str,
    /// Upserts (industry, enterprises).
    pub upsert_industry: &'static str,
    /// Selects every (industry, enterprises) by industry.
    pub industries: &'static str,
}

/// A sample as a case keeps it: with the time of its event, so that the list stays newest first.
#[derive(Debug, Serialize, Deserialize)]
struct DatedSample {
    observed_at: i64,
    sample: Sample,
}

/// A case as stored, with the times of its samples (`sample_times[i]` is when `case.samples[i]` was observed).
#[derive(Debug)]
struct StoredCase {
    case: Case,
    sample_times: Vec<i64>,
}

impl StoredCase {
    /// Folds a new event into the case and says whether it reopened it: a resolved case always, a notified or
    /// acknowledged one when the event comes `quiet_period` or more after the last.
    fn fold(&mut self, event: &SpringboardEvent, rules: &CaseRules) -> bool {
        let case = &mut self.case;
        let reopen = match case.state {
            CaseState::New => false,
            CaseState::Resolved => true,
            CaseState::Notified | CaseState::Acknowledged => {
                event.observed_at.saturating_sub(case.last_seen) >= rules.quiet_period
            }
        };
        if reopen {
            case.state = CaseState::New;
            case.opened_at = event.observed_at;
            case.reopened = case.reopened.saturating_add(1);
            case.state_changed_at = event.observed_at;
        }
        case.event_count = case.event_count.saturating_add(1);
        case.first_seen = case.first_seen.min(event.observed_at);
        case.last_seen = case.last_seen.max(event.observed_at);
        if let Some(ip) = event.sample.source_ip.as_deref().map(str::trim) {
            if !ip.is_empty()
                && case.source_ips.len() < rules.max_source_ips
                && !case.source_ips.iter().any(|known| known == ip)
            {
                case.source_ips.push(ip.to_string());
            }
        }
        if !case.sites.contains(&event.site) {
            case.sites.push(event.site.clone());
        }
        // Before the first sample that is not newer: among samples of the same second the latest recorded leads.
        let at = self
            .sample_times
            .iter()
            .position(|&t| t <= event.observed_at)
            .unwrap_or(self.sample_times.len());
        if at < rules.max_samples {
            self.sample_times.insert(at, event.observed_at);
            case.samples.insert(at, event.sample.clone());
            self.sample_times.truncate(rules.max_samples);
            case.samples.truncate(rules.max_samples);
        }
        reopen
    }
}

fn bad_row(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Database(format!("alerts: bad {what}: {e}"))
}

fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| bad_row("value to store", e))
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str, what: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| bad_row(what, e))
}

fn kind_from(name: &str) -> Result<EventKind, StoreError> {
    EventKind::parse(name).ok_or_else(|| bad_row("event kind", name))
}

fn state_from(name: &str) -> Result<CaseState, StoreError> {
    CaseState::parse(name).ok_or_else(|| bad_row("case state", name))
}

/// A stored count back as the unsigned type the API has.
fn count<T: TryFrom<i64> + Default>(value: i64) -> T {
    T::try_from(value).unwrap_or_default()
}

/// A count as the 64-bit integer both backends store.
fn stored_count<T: TryInto<i64>>(value: T) -> i64 {
    value.try_into().unwrap_or(i64::MAX)
}

/// A case from the columns of [`AlertSql::select_case`]: id, organisation, kind, state, first_seen, last_seen,
/// event_count, opened_at, reopened, state_changed_at, last_notified_at, source_ips_json, samples_json,
/// sites_json.
fn stored_case_from_row<R>(row: &R) -> Result<StoredCase, StoreError>
where
    R: Row,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> Option<i64>: Decode<'r, R::Database> + Type<R::Database>,
    usize: ColumnIndex<R>,
{
    let text = |i: usize| row.try_get::<String, _>(i).map_err(classify);
    let int = |i: usize| row.try_get::<i64, _>(i).map_err(classify);
    let dated: Vec<DatedSample> = from_json(&text(12)?, "case samples")?;
    let (sample_times, samples) = dated.into_iter().map(|d| (d.observed_at, d.sample)).unzip();
    Ok(StoredCase {
        case: Case {
            id: int(0)?,
            organisation: text(1)?,
            kind: kind_from(&text(2)?)?,
            state: state_from(&text(3)?)?,
            first_seen: int(4)?,
            last_seen: int(5)?,
            event_count: count(int(6)?),
            source_ips: from_json(&text(11)?, "case source IPs")?,
            samples,
            sites: from_json(&text(13)?, "case sites")?,
            opened_at: int(7)?,
            reopened: count(int(8)?),
            state_changed_at: int(9)?,
            last_notified_at: row.try_get(10).map_err(classify)?,
        },
        sample_times,
    })
}

/// An event from the columns id, site, kind, organisation, observed_at, verdict, score, sample_json.
fn event_from_row<R>(row: &R) -> Result<SpringboardEvent, StoreError>
where
    R: Row,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> f64: Decode<'r, R::Database> + Type<R::Database>,
    usize: ColumnIndex<R>,
{
    let text = |i: usize| row.try_get::<String, _>(i).map_err(classify);
    Ok(SpringboardEvent {
        id: text(0)?,
        site: text(1)?,
        kind: kind_from(&text(2)?)?,
        organisation: text(3)?,
        observed_at: row.try_get(4).map_err(classify)?,
        verdict: text(5)?,
        score: row.try_get(6).map_err(classify)?,
        sample: from_json(&text(7)?, "event sample")?,
    })
}

/// Records `event` and folds it into its case, in one transaction (see [`crate::Store::event_record`]).
///
/// The event row goes first: a second recording of the same id waits on it (PostgreSQL) and then finds it, so it
/// never touches a case. The case is created if missing and then locked (`FOR UPDATE` on PostgreSQL; SQLite's
/// transaction holds the write lock), so concurrent events of one case fold in one after the other.
pub(crate) async fn event_record<C>(
    conn: &mut C,
    sql: &AlertSql,
    event: &SpringboardEvent,
    rules: &CaseRules,
    outbox: bool,
) -> Result<EventRecorded, StoreError>
where
    C: sqlx::Connection,
    C::Database: Database<Connection = C>,
    <C::Database as Database>::Arguments: IntoArguments<C::Database> + Default,
    <C::Database as Database>::QueryResult: RowsAffected,
    for<'c> &'c mut C: Executor<'c, Database = C::Database>,
    for<'q> String: Encode<'q, C::Database> + Type<C::Database>,
    for<'q> &'q str: Encode<'q, C::Database> + Type<C::Database>,
    for<'q> i64: Encode<'q, C::Database> + Type<C::Database>,
    for<'q> f64: Encode<'q, C::Database> + Type<C::Database>,
    for<'q> bool: Encode<'q, C::Database> + Type<C::Database>,
    for<'r> String: Decode<'r, C::Database> + Type<C::Database>,
    for<'r> i64: Decode<'r, C::Database> + Type<C::Database>,
    for<'r> Option<i64>: Decode<'r, C::Database> + Type<C::Database>,
    usize: ColumnIndex<<C::Database as Database>::Row>,
    (Option<i64>,): for<'r> sqlx::FromRow<'r, <C::Database as Database>::Row>,
{
    if event.id.is_empty() || event.id.len() > MAX_EVENT_ID_LEN {
        return Err(StoreError::Database(format!(
            "invalid event id {:?}: expected 1 to {MAX_EVENT_ID_LEN} characters",
            event.id
        )));
    }
    let organisation = normalize_domain(&event.organisation).ok_or_else(|| {
        StoreError::Database(format!(
            "invalid event organisation {:?}",
            event.organisation
        ))
    })?;
    let kind = event.kind.as_str();
    let mut tx = conn
        .begin_with(begin_statement(sql.begin))
        .await
        .map_err(classify)?;
    let inserted = sqlx::query::<C::Database>(sql.insert_event)
        .bind(event.id.clone())
        .bind(event.site.clone())
        .bind(kind)
        .bind(organisation.clone())
        .bind(event.observed_at)
        .bind(event.verdict.clone())
        .bind(event.score)
        .bind(to_json(&event.sample)?)
        .bind(outbox)
        .execute(&mut *tx)
        .await
        .map_err(classify)?;
    if inserted.rows_affected() == 0 {
        let case_id = sqlx::query_scalar::<C::Database, Option<i64>>(sql.event_case)
            .bind(event.id.clone())
            .fetch_one(&mut *tx)
            .await
            .map_err(classify)?
            .ok_or_else(|| bad_row("event", format!("{} has no case", event.id)))?;
        tx.commit().await.map_err(classify)?;
        return Ok(EventRecorded {
            new: false,
            case_id,
            created: false,
            reopened: false,
        });
    }
    let created = sqlx::query::<C::Database>(sql.create_case)
        .bind(organisation.clone())
        .bind(kind)
        .bind(event.observed_at)
        .execute(&mut *tx)
        .await
        .map_err(classify)?
        .rows_affected()
        > 0;
    let mut locking = sqlx::QueryBuilder::<C::Database>::new(sql.select_case);
    locking
        .push(" WHERE c.organisation = ")
        .push_bind(organisation)
        .push(" AND c.kind = ")
        .push_bind(kind.to_string())
        .push(sql.for_update);
    let row = locking
        .build()
        .fetch_one(&mut *tx)
        .await
        .map_err(classify)?;
    let mut stored = stored_case_from_row(&row)?;
    let reopened = stored.fold(event, rules);
    let case = &stored.case;
    let samples: Vec<DatedSample> = stored
        .sample_times
        .iter()
        .zip(&case.samples)
        .map(|(&observed_at, sample)| DatedSample {
            observed_at,
            sample: sample.clone(),
        })
        .collect();
    sqlx::query::<C::Database>(sql.update_case)
        .bind(case.id)
        .bind(case.state.as_str())
        .bind(case.first_seen)
        .bind(case.last_seen)
        .bind(stored_count(case.event_count))
        .bind(case.opened_at)
        .bind(i64::from(case.reopened))
        .bind(case.state_changed_at)
        .bind(to_json(&case.source_ips)?)
        .bind(to_json(&samples)?)
        .bind(to_json(&case.sites)?)
        .execute(&mut *tx)
        .await
        .map_err(classify)?;
    sqlx::query::<C::Database>(sql.set_event_case)
        .bind(event.id.clone())
        .bind(case.id)
        .execute(&mut *tx)
        .await
        .map_err(classify)?;
    let case_id = case.id;
    tx.commit().await.map_err(classify)?;
    Ok(EventRecorded {
        new: true,
        case_id,
        created,
        reopened,
    })
}

/// Events in the outbox, oldest first, at most `limit`.
pub(crate) async fn events_outbox<'c, DB, E>(
    executor: E,
    sql: &AlertSql,
    limit: u32,
) -> Result<Vec<SpringboardEvent>, StoreError>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    E: Executor<'c, Database = DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    for<'r> i64: Decode<'r, DB> + Type<DB>,
    for<'r> f64: Decode<'r, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
{
    let rows = sqlx::query::<DB>(sql.outbox)
        .bind(i64::from(limit))
        .fetch_all(executor)
        .await
        .map_err(classify)?;
    rows.iter().map(event_from_row).collect()
}

/// Takes `ids` out of the outbox, in one transaction.
pub(crate) async fn events_forwarded<C>(
    conn: &mut C,
    sql: &AlertSql,
    ids: &[String],
) -> Result<(), StoreError>
where
    C: sqlx::Connection,
    C::Database: Database<Connection = C>,
    <C::Database as Database>::Arguments: IntoArguments<C::Database> + Default,
    for<'c> &'c mut C: Executor<'c, Database = C::Database>,
    for<'q> String: Encode<'q, C::Database> + Type<C::Database>,
{
    if ids.is_empty() {
        return Ok(());
    }
    let mut tx = conn
        .begin_with(begin_statement(sql.begin))
        .await
        .map_err(classify)?;
    for chunk in ids.chunks(FORWARDED_CHUNK) {
        let mut query = sqlx::QueryBuilder::<C::Database>::new(sql.forwarded);
        query.push("(");
        let mut list = query.separated(", ");
        for id in chunk {
            list.push_bind(id.clone());
        }
        query.push(")");
        query.build().execute(&mut *tx).await.map_err(classify)?;
    }
    tx.commit().await.map_err(classify)
}

/// Cases matching `filter`, most recent `last_seen` first (the same second: greater id first).
pub(crate) async fn cases<C>(
    conn: &mut C,
    sql: &AlertSql,
    filter: &CaseFilter,
) -> Result<Vec<Case>, StoreError>
where
    C: sqlx::Connection,
    <C::Database as Database>::Arguments: IntoArguments<C::Database> + Default,
    for<'c> &'c mut C: Executor<'c, Database = C::Database>,
    for<'q> String: Encode<'q, C::Database> + Type<C::Database>,
    for<'q> i64: Encode<'q, C::Database> + Type<C::Database>,
    for<'r> String: Decode<'r, C::Database> + Type<C::Database>,
    for<'r> i64: Decode<'r, C::Database> + Type<C::Database>,
    for<'r> Option<i64>: Decode<'r, C::Database> + Type<C::Database>,
    usize: ColumnIndex<<C::Database as Database>::Row>,
{
    let mut query = sqlx::QueryBuilder::<C::Database>::new(sql.select_case);
    query.push(" WHERE 1 = 1");
    if let Some(state) = filter.state {
        query
            .push(" AND c.state = ")
            .push_bind(state.as_str().to_string());
    }
    if let Some(kind) = filter.kind {
        query
            .push(" AND c.kind = ")
            .push_bind(kind.as_str().to_string());
    }
    if let Some(organisation) = &filter.organisation {
        // Stored normalised; a name that does not normalise matches nothing stored, as given.
        let organisation = normalize_domain(organisation).unwrap_or_else(|| organisation.clone());
        query.push(" AND c.organisation = ").push_bind(organisation);
    }
    query.push(" ORDER BY c.last_seen DESC, c.id DESC");
    if filter.limit > 0 {
        query.push(" LIMIT ").push_bind(i64::from(filter.limit));
    }
    let rows = query
        .build()
        .fetch_all(&mut *conn)
        .await
        .map_err(classify)?;
    rows.iter()
        .map(|row| stored_case_from_row(row).map(|stored| stored.case))
        .collect()
}

/// One case, or `None`.
pub(crate) async fn case_get<C>(
    conn: &mut C,
    sql: &AlertSql,
    id: i64,
) -> Result<Option<Case>, StoreError>
where
    C: sqlx::Connection,
    <C::Database as Database>::Arguments: IntoArguments<C::Database> + Default,
    for<'c> &'c mut C: Executor<'c, Database = C::Database>,
    for<'q> i64: Encode<'q, C::Database> + Type<C::Database>,
    for<'r> String: Decode<'r, C::Database> + Type<C::Database>,
    for<'r> i64: Decode<'r, C::Database> + Type<C::Database>,
    for<'r> Option<i64>: Decode<'r, C::Database> + Type<C::Database>,
    usize: ColumnIndex<<C::Database as Database>::Row>,
{
    let mut query = sqlx::QueryBuilder::<C::Database>::new(sql.select_case);
    query.push(" WHERE c.id = ").push_bind(id);
    let row = query
        .build()
        .fetch_optional(&mut *conn)
        .await
        .map_err(classify)?;
    row.as_ref()
        .map(|row| stored_case_from_row(row).map(|stored| stored.case))
        .transpose()
}

/// Sets a case's state; false when there is no such case.
pub(crate) async fn case_set_state<'c, DB, E>(
    executor: E,
    sql: &AlertSql,
    id: i64,
    state: CaseState,
    at: i64,
) -> Result<bool, StoreError>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    DB::QueryResult: RowsAffected,
    E: Executor<'c, Database = DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
{
    let done = sqlx::query::<DB>(sql.set_state)
        .bind(id)
        .bind(state.as_str())
        .bind(at)
        .execute(executor)
        .await
        .map_err(classify)?;
    Ok(done.rows_affected() > 0)
}

/// Moves the case to notified and stores the notification, in one transaction; false (nothing stored) when there
/// is no such case.
pub(crate) async fn notification_record<C>(
    conn: &mut C,
    sql: &AlertSql,
    notification: &Notification,
) -> Result<bool, StoreError>
where
    C: sqlx::Connection,
    C::Database: Database<Connection = C>,
    <C::Database as Database>::Arguments: IntoArguments<C::Database>,
    <C::Database as Database>::QueryResult: RowsAffected,
    for<'c> &'c mut C: Executor<'c, Database = C::Database>,
    for<'q> String: Encode<'q, C::Database> + Type<C::Database>,
    for<'q> &'q str: Encode<'q, C::Database> + Type<C::Database>,
    for<'q> i64: Encode<'q, C::Database> + Type<C::Database>,
{
    let mut tx = conn
        .begin_with(begin_statement(sql.begin))
        .await
        .map_err(classify)?;
    if !sql.durable.is_empty() {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.durable))
            .execute(&mut *tx)
            .await
            .map_err(classify)?;
    }
    let moved = sqlx::query::<C::Database>(sql.notified)
        .bind(notification.case_id)
        .bind(notification.sent_at)
        .execute(&mut *tx)
        .await
        .map_err(classify)?;
    if moved.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query::<C::Database>(sql.insert_notification)
        .bind(notification.case_id)
        .bind(notification.organisation.clone())
        .bind(notification.kind.as_str())
        .bind(notification.sent_at)
        .bind(notification.recipient.clone())
        .bind(notification.language.clone())
        .bind(notification.reference.clone())
        .execute(&mut *tx)
        .await
        .map_err(classify)?;
    tx.commit().await.map_err(classify)?;
    Ok(true)
}

/// Notifications sent in `[since, until)`, oldest first.
pub(crate) async fn notifications<'c, DB, E>(
    executor: E,
    sql: &AlertSql,
    since: i64,
    until: i64,
) -> Result<Vec<Notification>, StoreError>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    E: Executor<'c, Database = DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    for<'r> i64: Decode<'r, DB> + Type<DB>,
    usize: ColumnIndex<DB::Row>,
{
    let rows = sqlx::query::<DB>(sql.notifications)
        .bind(since)
        .bind(until)
        .fetch_all(executor)
        .await
        .map_err(classify)?;
    rows.iter()
        .map(|row| {
            let text = |i: usize| row.try_get::<String, _>(i).map_err(classify);
            Ok(Notification {
                case_id: row.try_get(0).map_err(classify)?,
                organisation: text(1)?,
                kind: kind_from(&text(2)?)?,
                sent_at: row.try_get(3).map_err(classify)?,
                recipient: text(4)?,
                language: text(5)?,
                reference: text(6)?,
            })
        })
        .collect()
}

/// Upserts the organisations whose domain normalises, in one transaction, and returns how many rows that wrote
/// (an entry whose domain is not a usable name is skipped).
pub(crate) async fn directory_import<C>(
    conn: &mut C,
    sql: &AlertSql,
    organisations: &[Organisation],
) -> Result<u64, StoreError>
where
    C: sqlx::Connection,
    C::Database: Database<Connection = C>,
    <C::Database as Database>::Arguments: IntoArguments<C::Database>,
    <C::Database as Database>::QueryResult: RowsAffected,
    for<'c> &'c mut C: Executor<'c, Database = C::Database>,
    for<'q> String: Encode<'q, C::Database> + Type<C::Database>,
    for<'q> Option<String>: Encode<'q, C::Database> + Type<C::Database>,
{
    let mut tx = conn
        .begin_with(begin_statement(sql.begin))
        .await
        .map_err(classify)?;
    let mut written = 0;
    for organisation in organisations {
        let Some(domain) = normalize_domain(&organisation.domain) else {
            continue;
        };
        let done = sqlx::query::<C::Database>(sql.upsert_organisation)
            .bind(domain)
            .bind(organisation.name.clone())
            .bind(organisation.industry.clone())
            .bind(organisation.contact.clone())
            .execute(&mut *tx)
            .await
            .map_err(classify)?;
        written += done.rows_affected();
    }
    tx.commit().await.map_err(classify)?;
    Ok(written)
}

/// The whole directory, by domain.
pub(crate) async fn directory<'c, DB, E>(
    executor: E,
    sql: &AlertSql,
) -> Result<Vec<Organisation>, StoreError>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    E: Executor<'c, Database = DB>,
    (String, String, Option<String>, Option<String>): for<'r> sqlx::FromRow<'r, DB::Row>,
{
    let rows =
        sqlx::query_as::<DB, (String, String, Option<String>, Option<String>)>(sql.directory)
            .fetch_all(executor)
            .await
            .map_err(classify)?;
    Ok(rows
        .into_iter()
        .map(|(domain, name, industry, contact)| Organisation {
            domain,
            name,
            industry,
            contact,
        })
        .collect())
}

/// Upserts enterprise counts, in one transaction.
pub(crate) async fn industry_enterprises_set<C>(
    conn: &mut C,
    sql: &AlertSql,
    rows: &[IndustryEnterprises],
) -> Result<(), StoreError>
where
    C: sqlx::Connection,
    C::Database: Database<Connection = C>,
    <C::Database as Database>::Arguments: IntoArguments<C::Database>,
    for<'c> &'c mut C: Executor<'c, Database = C::Database>,
    for<'q> String: Encode<'q, C::Database> + Type<C::Database>,
    for<'q> i64: Encode<'q, C::Database> + Type<C::Database>,
{
    let mut tx = conn
        .begin_with(begin_statement(sql.begin))
        .await
        .map_err(classify)?;
    for row in rows {
        sqlx::query::<C::Database>(sql.upsert_industry)
            .bind(row.industry.clone())
            .bind(stored_count(row.enterprises))
            .execute(&mut *tx)
            .await
            .map_err(classify)?;
    }
    tx.commit().await.map_err(classify)
}

/// Every industry's enterprise count, by industry.
pub(crate) async fn industry_enterprises<'c, DB, E>(
    executor: E,
    sql: &AlertSql,
) -> Result<Vec<IndustryEnterprises>, StoreError>
where
    DB: Database,
    DB::Arguments: IntoArguments<DB>,
    E: Executor<'c, Database = DB>,
    (String, i64): for<'r> sqlx::FromRow<'r, DB::Row>,
{
    let rows = sqlx::query_as::<DB, (String, i64)>(sql.industries)
        .fetch_all(executor)
        .await
        .map_err(classify)?;
    Ok(rows
        .into_iter()
        .map(|(industry, enterprises)| IndustryEnterprises {
            industry,
            enterprises: count(enterprises),
        })
        .collect())
}
