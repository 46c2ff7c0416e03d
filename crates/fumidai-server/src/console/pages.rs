//! The pages: each reads what it shows through the store (or [`crate::views`], shared with the API and CLI) and
//! hands plain values to its template; each form checks the role and the CSRF token, then changes things through
//! [`crate::ops`], the API's code, which writes the audit log.

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use fumidai_alerts::notice::{jst, JST_OFFSET};
use fumidai_core::{unix_now, Scan};
use fumidai_store::{AuditFilter, CaseFilter, CaseState, QuarantineFilter, QuarantineItem, Role};
use minijinja::{context, Value};
use serde::Serialize;

use super::charts::{stacked, Series};
use super::session::Signed;
use super::users::{new_user, user_name};
use super::{done, query_value, Failure, Form, Frame};
use crate::views::{self, CaseView};
use crate::{ops, ApiState};

type Page = Result<Response, Failure>;

const DAY: i64 = 86_400;
/// Days the dashboard shows.
const DASHBOARD_DAYS: i64 = 14;
const VERDICTS: [&str; 3] = ["clean", "suspicious", "malicious"];
const ACTIONS: [&str; 6] = [
    "deliver",
    "tag",
    "sanitize",
    "quarantine",
    "tempfail",
    "reject",
];
/// Items a quarantine page shows (the newest that match).
const SHOWN_ITEMS: u32 = 200;
/// Text of a message shown at most (headers, body, HTML source each); the original has the rest.
const SHOWN_TEXT: usize = 128 << 10;
const LISTED_ROWS: u32 = 200;

/// Query parameter `name`, trimmed; empty when absent.
fn query_text(query: Option<&str>, name: &str) -> String {
    query_value(query, name)
        .map(|v| v.trim().to_owned())
        .unwrap_or_default()
}

fn api(lang: super::Lang) -> impl Fn(crate::ApiError) -> Failure {
    move |e| Failure::from_api(e, lang)
}

fn store_error(lang: super::Lang) -> impl Fn(fumidai_store::StoreError) -> Failure {
    move |e| Failure::from_store(e, lang)
}

/// Reads a form posted by a signed-in user who needs `role`, after checking the role and the CSRF token.
async fn posted(signed: &Signed, role: Role, body: Body) -> Result<Form, Failure> {
    signed.require(role)?;
    let form = Form::read(body, signed.lang).await?;
    signed.check_csrf(form.get("csrf"))?;
    Ok(form)
}

/// The start of the Japanese day `at` falls in: the dashboard's days are Japanese days.
fn day_start_jst(at: i64) -> i64 {
    (at + JST_OFFSET).div_euclid(DAY) * DAY - JST_OFFSET
}

pub(crate) async fn dashboard(State(state): State<ApiState>, signed: Signed, uri: Uri) -> Page {
    let lang = signed.lang;
    let store = state.store();
    let now = unix_now();
    let since = day_start_jst(now) - (DASHBOARD_DAYS - 1) * DAY;
    let until = now + 3600;
    let counts = store
        .traffic(since, until)
        .await
        .map_err(store_error(lang))?;
    let days = usize::try_from(DASHBOARD_DAYS).unwrap_or(14);
    let mut by_verdict = vec![[0i64; VERDICTS.len()]; days];
    let mut by_action = vec![[0i64; ACTIONS.len()]; days];
    for count in &counts {
        let Ok(day) = usize::try_from((count.hour - since).div_euclid(DAY)) else {
            continue;
        };
        if day >= days {
            continue;
        }
        if let Some(v) = VERDICTS.iter().position(|v| *v == count.verdict) {
            by_verdict[day][v] += count.messages;
        }
        if let Some(a) = ACTIONS.iter().position(|a| *a == count.action) {
            by_action[day][a] += count.messages;
        }
    }
    let dates: Vec<String> = (0..DASHBOARD_DAYS)
        .map(|d| jst(since + d * DAY)[5..10].to_owned())
        .collect();
    let chart = stacked(
        &dates,
        &VERDICTS
            .iter()
            .enumerate()
            .map(|(v, name)| Series {
                name,
                values: by_verdict.iter().map(|day| day[v]).collect(),
            })
            .collect::<Vec<_>>(),
    );
    let table: Vec<Value> = dates
        .iter()
        .enumerate()
        .rev()
        .map(|(d, date)| context! { date => date, verdicts => by_verdict[d].to_vec(), actions => by_action[d].to_vec() })
        .collect();
    let findings = store
        .top_findings(since, until, 10)
        .await
        .map_err(store_error(lang))?;
    let window = state.config().outbound.window_seconds();
    let held: Vec<Value> = store
        .outbound_accounts(now, window)
        .await
        .map_err(store_error(lang))?
        .into_iter()
        .filter(|a| a.held)
        .map(|a| {
            context! {
                account => a.account,
                held_at => a.held_at.map(jst).unwrap_or_default(),
                reason => a.reason,
                messages => a.totals.messages,
            }
        })
        .collect();
    Ok(Frame::of(&signed, &uri, "dashboard").page(
        "dashboard.html",
        "nav_dashboard",
        context! {
            chart => Value::from_serialize(&chart),
            verdicts => VERDICTS,
            actions => ACTIONS,
            days => table,
            findings => Value::from_serialize(&findings),
            held => held,
        },
    ))
}

fn item_row(item: &QuarantineItem) -> Value {
    let m = &item.meta;
    context! {
        id => m.id,
        received => jst(m.received_at),
        direction => m.direction.as_str(),
        from => m.from.as_deref().or(m.mail_from.as_deref()).unwrap_or(""),
        subject => m.subject.as_deref().unwrap_or(""),
        verdict => m.verdict,
        score => format!("{:.1}", m.score),
        findings => m.findings,
        released => !item.released.is_empty(),
    }
}

pub(crate) async fn quarantine(
    State(state): State<ApiState>,
    signed: Signed,
    uri: Uri,
    RawQuery(query): RawQuery,
) -> Page {
    let q = query_text(query.as_deref(), "q");
    let finding = query_text(query.as_deref(), "finding");
    let filter = QuarantineFilter {
        text: (!q.is_empty()).then(|| q.clone()),
        finding: (!finding.is_empty()).then(|| finding.clone()),
        // One more than shown: whether there are more.
        limit: Some(SHOWN_ITEMS + 1),
        ..QuarantineFilter::default()
    };
    let mut found = state
        .store()
        .quarantine_list(&filter)
        .await
        .map_err(store_error(signed.lang))?;
    let more = found.len() > SHOWN_ITEMS as usize;
    found.truncate(SHOWN_ITEMS as usize);
    Ok(Frame::of(&signed, &uri, "quarantine").page(
        "quarantine.html",
        "nav_quarantine",
        context! {
            q => q,
            finding => finding,
            more => more,
            items => found.iter().map(item_row).collect::<Vec<_>>(),
        },
    ))
}

/// `text` cut to [`SHOWN_TEXT`] bytes at a character boundary; true when cut.
fn shown(text: &str) -> (String, bool) {
    let end = text.floor_char_boundary(SHOWN_TEXT);
    (text[..end].to_owned(), end < text.len())
}

/// What the item page shows of a message: its header block, its text, its HTML as source, its attachments.
#[derive(Serialize)]
struct Shown {
    headers: String,
    body: String,
    html: String,
    cut: bool,
    attachments: Vec<AttachmentRow>,
}

#[derive(Serialize)]
struct AttachmentRow {
    index: usize,
    name: String,
    r#type: String,
    size: usize,
}

/// What the item page shows of a parsed message (`raw` is its original).
fn show_message(raw: &[u8], message: &fumidai_mime::Message<'_>) -> Shown {
    // The header block as the parser ends it (`split` returns the body as the rest of `raw`).
    let (_, body) = fumidai_mime::header::split(raw);
    let header_block = &raw[..raw.len() - body.len()];
    let (headers, cut_headers) = shown(String::from_utf8_lossy(header_block).trim_end());
    let (body, cut_body) = shown(&message.text);
    let (html, cut_html) = shown(&message.html);
    Shown {
        headers,
        body,
        html,
        cut: cut_headers || cut_body || cut_html,
        attachments: message
            .attachments
            .iter()
            .enumerate()
            .map(|(index, a)| AttachmentRow {
                index,
                name: if a.name.is_empty() {
                    a.part.clone()
                } else {
                    a.name.clone()
                },
                r#type: a.declared_type.clone().unwrap_or_default(),
                size: a.data.len(),
            })
            .collect(),
    }
}

/// Parses the original of quarantined item `id` on a blocking thread (a large message is CPU work) and gives
/// `read` the original and the message.
async fn read_message<R, F>(
    state: &ApiState,
    id: &str,
    lang: super::Lang,
    read: F,
) -> Result<(QuarantineItem, R), Failure>
where
    R: Send + 'static,
    F: FnOnce(&[u8], &fumidai_mime::Message<'_>) -> R + Send + 'static,
{
    let item = ops::quarantined(state, id).await.map_err(api(lang))?;
    let original = ops::original(state, &item).await.map_err(api(lang))?;
    let limits = state.config().limits.clone();
    let read = tokio::task::spawn_blocking(move || {
        let mut scan = Scan::new(&limits, fumidai_core::hash_only);
        let message = fumidai_mime::parse(&mut scan, &original);
        read(&original, &message)
    })
    .await
    .map_err(|e| Failure::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string(), lang))?;
    Ok((item, read))
}

/// The item's findings from its stored report (id, score, where, detail).
fn findings_of(item: &QuarantineItem) -> Value {
    let report: serde_json::Value =
        serde_json::from_str(&item.meta.report_json).unwrap_or_default();
    let findings: Vec<Value> = report["findings"]
        .as_array()
        .map(|all| {
            all.iter()
                .map(|f| {
                    context! {
                        id => f["id"].as_str().unwrap_or(""),
                        score => f["score"].as_f64().map(|s| format!("{s:.1}")).unwrap_or_default(),
                        part => f["part"].as_str().unwrap_or(""),
                        detail => f["detail"].as_str().unwrap_or(""),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    Value::from(findings)
}

pub(crate) async fn item(
    State(state): State<ApiState>,
    signed: Signed,
    uri: Uri,
    Path(id): Path<String>,
) -> Page {
    let (item, message) = read_message(&state, &id, signed.lang, show_message).await?;
    let m = &item.meta;
    let released: Vec<Value> = item
        .released
        .iter()
        .map(|r| context! { at => jst(r.at), by => r.by, to => r.to })
        .collect();
    let page = context! {
        item => context! {
            id => m.id,
            subject => m.subject.as_deref().unwrap_or(""),
            received => jst(m.received_at),
            direction => m.direction.as_str(),
            from => m.from.as_deref().unwrap_or(""),
            mail_from => m.mail_from.as_deref().unwrap_or(""),
            rcpt_to => m.rcpt_to,
            verdict => m.verdict,
            score => format!("{:.1}", m.score),
            action => m.action,
            reason => m.reason,
            size => item.size,
            sha256 => item.sha256,
            released => released,
        },
        findings => findings_of(&item),
        ..Value::from_serialize(&message)
    };
    let title = m.subject.clone().unwrap_or_default();
    Ok(Frame::of(&signed, &uri, "quarantine")
        .render("item.html", &title, page)
        .into_response())
}

pub(crate) async fn release(
    State(state): State<ApiState>,
    signed: Signed,
    Path(id): Path<String>,
    body: Body,
) -> Page {
    posted(&signed, Role::Operator, body).await?;
    ops::release_item(&state, &id, &signed.actor())
        .await
        .map_err(api(signed.lang))?;
    Ok(done(&format!("/console/quarantine/{id}"), "released"))
}

pub(crate) async fn delete(
    State(state): State<ApiState>,
    signed: Signed,
    Path(id): Path<String>,
    body: Body,
) -> Page {
    posted(&signed, Role::Operator, body).await?;
    ops::delete_item(&state, &id, &signed.actor())
        .await
        .map_err(api(signed.lang))?;
    Ok(done("/console/quarantine", "deleted"))
}

pub(crate) async fn original(
    State(state): State<ApiState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Page {
    signed.require(Role::Operator)?;
    ops::original_download(&state, &id)
        .await
        .map_err(api(signed.lang))
}

pub(crate) async fn attachment(
    State(state): State<ApiState>,
    signed: Signed,
    Path((id, n)): Path<(String, usize)>,
) -> Page {
    let lang = signed.lang;
    signed.require(Role::Operator)?;
    let (_, file) = read_message(&state, &id, lang, move |_, message| {
        message
            .attachments
            .get(n)
            .map(|a| (a.name.clone(), a.data.to_vec()))
    })
    .await?;
    let Some((name, data)) = file else {
        return Err(Failure::new(
            StatusCode::NOT_FOUND,
            lang.word("not_found"),
            lang,
        ));
    };
    tracing::info!(user = %signed.user.name, id, attachment = n, "console: attachment downloaded");
    Ok(ops::download(
        data,
        &ops::safe_file_name(&name, &format!("attachment-{n}")),
    ))
}

pub(crate) async fn release_account(
    State(state): State<ApiState>,
    signed: Signed,
    body: Body,
) -> Page {
    let form = posted(&signed, Role::Operator, body).await?;
    let account = form.required("account", signed.lang)?;
    ops::outbound_release(&state, &signed.actor(), account)
        .await
        .map_err(api(signed.lang))?;
    Ok(done("/console/", "account_released"))
}

pub(crate) async fn cases(
    State(state): State<ApiState>,
    signed: Signed,
    uri: Uri,
    RawQuery(query): RawQuery,
) -> Page {
    let wanted = query_text(query.as_deref(), "state");
    let filter = CaseFilter {
        state: CaseState::parse(&wanted),
        kind: None,
        organisation: None,
        limit: LISTED_ROWS,
    };
    let cases = state
        .store()
        .cases(&filter)
        .await
        .map_err(store_error(signed.lang))?;
    let rows: Vec<Value> = cases
        .iter()
        .map(|c| {
            context! {
                last_notified => c.last_notified_at.map(jst),
                ..Value::from_serialize(CaseView::listed(c))
            }
        })
        .collect();
    let states = ["new", "notified", "acknowledged", "resolved"];
    Ok(Frame::of(&signed, &uri, "cases").page(
        "cases.html",
        "nav_cases",
        context! { cases => rows, states => states, state => wanted },
    ))
}

fn case_id(id: &str, lang: super::Lang) -> Result<i64, Failure> {
    id.parse()
        .map_err(|_| Failure::new(StatusCode::NOT_FOUND, lang.word("not_found"), lang))
}

pub(crate) async fn case(
    State(state): State<ApiState>,
    signed: Signed,
    uri: Uri,
    Path(id): Path<String>,
) -> Page {
    let case = ops::case(&state, case_id(&id, signed.lang)?)
        .await
        .map_err(api(signed.lang))?;
    // The notices sent about it (they can only be sent after its first event).
    let notices: Vec<Value> = state
        .store()
        .notifications(case.first_seen, unix_now() + 1)
        .await
        .map_err(store_error(signed.lang))?
        .into_iter()
        .filter(|n| n.case_id == case.id)
        .map(|n| {
            context! {
                sent => jst(n.sent_at),
                recipient => n.recipient,
                language => n.language,
                reference => n.reference,
            }
        })
        .collect();
    let page = context! {
        case => Value::from_serialize(CaseView::shown(&case)),
        notices => notices,
        last_notified => case.last_notified_at.map(jst),
        settable => ["new", "acknowledged", "resolved"],
    };
    Ok(Frame::of(&signed, &uri, "cases")
        .render("case.html", &case.organisation, page)
        .into_response())
}

pub(crate) async fn case_state(
    State(state): State<ApiState>,
    signed: Signed,
    Path(id): Path<String>,
    body: Body,
) -> Page {
    let form = posted(&signed, Role::Operator, body).await?;
    let id = case_id(&id, signed.lang)?;
    let wanted = form.required("state", signed.lang)?;
    ops::case_set_state(&state, &signed.actor(), id, wanted)
        .await
        .map_err(api(signed.lang))?;
    Ok(done(&format!("/console/cases/{id}"), "state_set"))
}

/// A lookup's JSON with its times in JST, as people read them.
fn lookup_in_jst(lookup: &views::LookupView) -> Value {
    let mut json = serde_json::to_value(lookup).unwrap_or_default();
    if let Some(pairs) = json["pairs"].as_array_mut() {
        for pair in pairs {
            for level in ["address", "domain"] {
                for field in ["first_seen", "last_seen"] {
                    if let Some(at) = pair[level][field].as_i64() {
                        pair[level][field] = jst(at).into();
                    }
                }
            }
        }
    }
    Value::from_serialize(&json)
}

pub(crate) async fn history(
    State(state): State<ApiState>,
    signed: Signed,
    uri: Uri,
    RawQuery(query): RawQuery,
) -> Page {
    let lang = signed.lang;
    let sender = query_text(query.as_deref(), "sender");
    let local = query_text(query.as_deref(), "local");
    let lookup = if sender.is_empty() || local.is_empty() {
        None
    } else {
        let view = views::history_lookup(
            state.store(),
            &state.config().history(),
            &sender,
            std::slice::from_ref(&local),
            unix_now(),
        )
        .await
        .map_err(store_error(lang))?;
        Some(lookup_in_jst(&view))
    };
    let whitelist: Vec<Value> = state
        .store()
        .whitelist()
        .await
        .map_err(store_error(lang))?
        .into_iter()
        .map(|w| context! { pattern => w.pattern, comment => w.comment, added => jst(w.added_at) })
        .collect();
    Ok(Frame::of(&signed, &uri, "history").page(
        "history.html",
        "nav_history",
        context! { sender => sender, local => local, lookup => lookup, whitelist => whitelist },
    ))
}

pub(crate) async fn whitelist_add(
    State(state): State<ApiState>,
    signed: Signed,
    body: Body,
) -> Page {
    let form = posted(&signed, Role::Operator, body).await?;
    let pattern = form.required("pattern", signed.lang)?;
    ops::whitelist_add(
        &state,
        &signed.actor(),
        pattern,
        form.get("comment").unwrap_or(""),
    )
    .await
    .map_err(api(signed.lang))?;
    Ok(done("/console/history", "whitelist_added"))
}

pub(crate) async fn whitelist_remove(
    State(state): State<ApiState>,
    signed: Signed,
    body: Body,
) -> Page {
    let form = posted(&signed, Role::Operator, body).await?;
    let pattern = form.required("pattern", signed.lang)?;
    ops::whitelist_remove(&state, &signed.actor(), pattern)
        .await
        .map_err(api(signed.lang))?;
    Ok(done("/console/history", "whitelist_removed"))
}

pub(crate) async fn statistics(
    State(state): State<ApiState>,
    signed: Signed,
    uri: Uri,
    RawQuery(query): RawQuery,
) -> Page {
    let lang = signed.lang;
    let month = |name: &str| Some(query_text(query.as_deref(), name)).filter(|m| !m.is_empty());
    let report = ops::statistics(&state, month("since"), month("until"))
        .await
        .map_err(api(lang))?;
    let months: Vec<String> = report.months.iter().map(|m| m.month.clone()).collect();
    let series = |name, pick: fn(&fumidai_alerts::report::Counts) -> u64| Series {
        name,
        values: report
            .months
            .iter()
            .map(|m| i64::try_from(pick(&m.counts)).unwrap_or(i64::MAX))
            .collect(),
    };
    let chart = stacked(
        &months,
        &[
            series("springboard", |c| c.springboard),
            series("impersonation", |c| c.impersonation),
        ],
    );
    Ok(Frame::of(&signed, &uri, "statistics").page(
        "statistics.html",
        "nav_statistics",
        context! { report => Value::from_serialize(&report), chart => Value::from_serialize(&chart) },
    ))
}

pub(crate) async fn users(State(state): State<ApiState>, signed: Signed, uri: Uri) -> Page {
    signed.require(Role::Admin)?;
    let users: Vec<Value> = state
        .store()
        .users()
        .await
        .map_err(store_error(signed.lang))?
        .into_iter()
        .map(|u| {
            context! {
                name => u.name,
                role => u.role.as_str(),
                created => jst(u.created_at),
                last_login => u.last_login_at.map(jst),
            }
        })
        .collect();
    let roles: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
    Ok(Frame::of(&signed, &uri, "users").page(
        "users.html",
        "nav_users",
        context! { users => users, roles => roles },
    ))
}

fn bad(message: impl ToString, lang: super::Lang) -> Failure {
    Failure::new(StatusCode::BAD_REQUEST, message.to_string(), lang)
}

fn role_of(form: &Form, lang: super::Lang) -> Result<Role, Failure> {
    let word = form.required("role", lang)?;
    Role::parse(word).ok_or_else(|| {
        bad(
            format!("role {word:?}: expected viewer, operator or admin"),
            lang,
        )
    })
}

/// The user a form names, other than the one signed in (nobody locks themselves out from the console).
fn other_user(form: &Form, signed: &Signed) -> Result<String, Failure> {
    let name = user_name(form.required("name", signed.lang)?).map_err(|e| bad(e, signed.lang))?;
    if name == signed.user.name {
        return Err(bad(
            "not your own account: ask another admin, or use `fumidai user`",
            signed.lang,
        ));
    }
    Ok(name)
}

fn no_user(name: &str, lang: super::Lang) -> Failure {
    Failure::new(StatusCode::NOT_FOUND, format!("no user {name}"), lang)
}

pub(crate) async fn user_add(State(state): State<ApiState>, signed: Signed, body: Body) -> Page {
    let lang = signed.lang;
    let form = posted(&signed, Role::Admin, body).await?;
    let role = role_of(&form, lang)?;
    let (name, password) = (
        form.required("name", lang)?.to_owned(),
        form.required("password", lang)?.to_owned(),
    );
    let user = tokio::task::spawn_blocking(move || new_user(&name, &password, role, unix_now()))
        .await
        .map_err(|e| Failure::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string(), lang))?
        .map_err(|e| bad(e, lang))?;
    state
        .store()
        .user_create(&user)
        .await
        .map_err(|e| match e {
            fumidai_store::StoreError::Duplicate(name) => {
                Failure::new(StatusCode::CONFLICT, format!("{name} exists"), lang)
            }
            e => Failure::from_store(e, lang),
        })?;
    ops::audit(
        &state,
        &signed.actor(),
        "user.add",
        &user.name,
        role.as_str(),
    )
    .await;
    Ok(done("/console/users", "user_added"))
}

pub(crate) async fn user_role(State(state): State<ApiState>, signed: Signed, body: Body) -> Page {
    let form = posted(&signed, Role::Admin, body).await?;
    let name = other_user(&form, &signed)?;
    let role = role_of(&form, signed.lang)?;
    if !state
        .store()
        .user_set_role(&name, role)
        .await
        .map_err(store_error(signed.lang))?
    {
        return Err(no_user(&name, signed.lang));
    }
    ops::audit(&state, &signed.actor(), "user.role", &name, role.as_str()).await;
    Ok(done("/console/users", "role_set"))
}

pub(crate) async fn user_password(
    State(state): State<ApiState>,
    signed: Signed,
    body: Body,
) -> Page {
    let lang = signed.lang;
    let form = posted(&signed, Role::Admin, body).await?;
    let name = user_name(form.required("name", lang)?).map_err(|e| bad(e, lang))?;
    let password = form.required("password", lang)?.to_owned();
    let hash = tokio::task::spawn_blocking(move || super::password::hash_password(&password))
        .await
        .map_err(|e| Failure::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string(), lang))?
        .map_err(|e| bad(e, lang))?;
    if !state
        .store()
        .user_set_password(&name, &hash, unix_now())
        .await
        .map_err(store_error(lang))?
    {
        return Err(no_user(&name, lang));
    }
    ops::audit(&state, &signed.actor(), "user.password", &name, "").await;
    Ok(done("/console/users", "password_set"))
}

pub(crate) async fn user_delete(State(state): State<ApiState>, signed: Signed, body: Body) -> Page {
    let form = posted(&signed, Role::Admin, body).await?;
    let name = other_user(&form, &signed)?;
    if !state
        .store()
        .user_delete(&name)
        .await
        .map_err(store_error(signed.lang))?
    {
        return Err(no_user(&name, signed.lang));
    }
    ops::audit(&state, &signed.actor(), "user.delete", &name, "").await;
    Ok(done("/console/users", "user_removed"))
}

pub(crate) async fn audit(State(state): State<ApiState>, signed: Signed, uri: Uri) -> Page {
    signed.require(Role::Admin)?;
    let filter = AuditFilter {
        limit: LISTED_ROWS,
        ..AuditFilter::default()
    };
    let entries: Vec<Value> = state
        .store()
        .audit_log(&filter)
        .await
        .map_err(store_error(signed.lang))?
        .into_iter()
        .map(|e| context! { at => jst(e.at), actor => e.actor, action => e.action, target => e.target, detail => e.detail })
        .collect();
    Ok(Frame::of(&signed, &uri, "audit").page(
        "audit.html",
        "nav_audit",
        context! { entries => entries },
    ))
}
