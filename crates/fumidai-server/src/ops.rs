//! What the API and the console both do to the store, each written once: the input checked, the change made,
//! and an audit entry written with the actor (`token:<id>` for the API, `user:<name>` for the console).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use fumidai_act::{read_original, release, ReleaseError, ReleaseTarget};
use fumidai_alerts::report::{Month, Report};
use fumidai_core::unix_now;
use fumidai_store::{
    AuditEntry, Case, CaseState, QuarantineId, QuarantineItem, Release, WhitelistEntry,
};

use crate::params::check_text;
use crate::views;
use crate::{ApiError, ApiState};

/// The quarantined item `id` names: 400 for a malformed id, 404 for an unknown one.
pub(crate) async fn quarantined(state: &ApiState, id: &str) -> Result<QuarantineItem, ApiError> {
    check_id(id)?;
    state
        .store()
        .quarantine_get(id)
        .await?
        .ok_or_else(|| no_item(id))
}

fn check_id(id: &str) -> Result<(), ApiError> {
    if QuarantineId::is_valid(id) {
        return Ok(());
    }
    Err(ApiError::bad_request(format!(
        "{id:?} is not a quarantine id (1 to 64 characters of A-Z, a-z, 0-9 and -)"
    )))
}

fn no_item(id: &str) -> ApiError {
    ApiError::not_found(format!("no quarantined message with id {id}"))
}

/// The original bytes of a quarantined item, checked against its size and SHA-256.
pub(crate) async fn original(state: &ApiState, item: &QuarantineItem) -> Result<Vec<u8>, ApiError> {
    read_original(state.store(), &item.meta.id, item.size)
        .await
        .map_err(release_error)
}

/// Releases item `id` to `[quarantine] release_relay`, for its original recipients.
pub(crate) async fn release_item(
    state: &ApiState,
    id: &str,
    actor: &str,
) -> Result<Release, ApiError> {
    quarantined(state, id).await?;
    let relay = &state.config().quarantine.release_relay;
    if relay.is_empty() {
        return Err(ApiError::conflict(
            "no_relay",
            "no relay to release to: set [quarantine] release_relay (e.g. \"127.0.0.1:25\")",
        ));
    }
    let target = ReleaseTarget::Smtp {
        relay: relay.clone(),
        recipients: None,
    };
    let done = release(state.store(), id, &target, actor, unix_now())
        .await
        .map_err(release_error)?;
    audit(state, actor, "quarantine.release", id, &done.to).await;
    Ok(done)
}

/// Deletes item `id` and its original.
pub(crate) async fn delete_item(state: &ApiState, id: &str, actor: &str) -> Result<(), ApiError> {
    check_id(id)?;
    if !state.store().quarantine_delete(id).await? {
        return Err(no_item(id));
    }
    audit(state, actor, "quarantine.delete", id, "").await;
    Ok(())
}

/// Adds a whitelist entry (the pattern normalised as the store keeps it).
pub(crate) async fn whitelist_add(
    state: &ApiState,
    actor: &str,
    pattern: &str,
    comment: &str,
) -> Result<WhitelistEntry, ApiError> {
    check_text("pattern", pattern)?;
    let pattern = views::whitelist_pattern(pattern).map_err(ApiError::bad_request)?;
    check_text("comment", comment)?;
    let entry = WhitelistEntry {
        pattern,
        comment: comment.to_owned(),
        added_at: unix_now(),
    };
    state.store().whitelist_add(&entry).await?;
    audit(
        state,
        actor,
        "whitelist.add",
        &entry.pattern,
        &entry.comment,
    )
    .await;
    Ok(entry)
}

/// Removes a whitelist entry; returns the pattern as normalised.
pub(crate) async fn whitelist_remove(
    state: &ApiState,
    actor: &str,
    raw: &str,
) -> Result<String, ApiError> {
    check_text("pattern", raw)?;
    let pattern = views::whitelist_pattern(raw).map_err(ApiError::bad_request)?;
    if !state.store().whitelist_remove(&pattern).await? {
        return Err(ApiError::not_found(format!(
            "{pattern} is not on the whitelist"
        )));
    }
    audit(state, actor, "whitelist.remove", &pattern, "").await;
    Ok(pattern)
}

/// Sets a case's state by hand (`new`, `acknowledged` or `resolved`: `notified` is set by sending a notice).
pub(crate) async fn case_set_state(
    state: &ApiState,
    actor: &str,
    id: i64,
    word: &str,
) -> Result<Case, ApiError> {
    let new_state = CaseState::parse(word)
        .filter(|s| *s != CaseState::Notified)
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "state {word:?}: expected new, acknowledged or resolved"
            ))
        })?;
    if !state
        .store()
        .case_set_state(id, new_state, unix_now())
        .await?
    {
        return Err(no_case(id));
    }
    audit(
        state,
        actor,
        "case.state",
        &id.to_string(),
        new_state.as_str(),
    )
    .await;
    case(state, id).await
}

/// Case `id`, or 404.
pub(crate) async fn case(state: &ApiState, id: i64) -> Result<Case, ApiError> {
    state.store().case_get(id).await?.ok_or_else(|| no_case(id))
}

fn no_case(id: i64) -> ApiError {
    ApiError::not_found(format!("no case {id}"))
}

/// The notification statistics of JST months `since` to `until` (`2022-03`; defaults as
/// [`views::statistics`]): a month that does not parse, or a period backwards or too long, is a 400.
pub(crate) async fn statistics(
    state: &ApiState,
    since: Option<String>,
    until: Option<String>,
) -> Result<Report, ApiError> {
    let month = |text: Option<String>| {
        text.map(|m| Month::parse(&m).map_err(|e| ApiError::bad_request(e.to_string())))
            .transpose()
    };
    views::statistics(state.store(), month(since)?, month(until)?, unix_now())
        .await
        .map_err(|e| match e {
            views::StatisticsError::Period(e) => ApiError::bad_request(e.to_string()),
            views::StatisticsError::Store(e) => e.into(),
        })
}

/// Releases a held outbound account; returns when.
pub(crate) async fn outbound_release(
    state: &ApiState,
    actor: &str,
    account: &str,
) -> Result<i64, ApiError> {
    check_text("account", account)?;
    if account.trim().is_empty() {
        return Err(ApiError::bad_request("the account is empty"));
    }
    let now = unix_now();
    if !state.store().outbound_release(account, now, actor).await? {
        return Err(ApiError::conflict(
            "not_held",
            format!("{account} is not held"),
        ));
    }
    audit(state, actor, "outbound.release", account, "").await;
    Ok(now)
}

/// Records what `actor` did. Done after the action succeeded; should the entry not be written (the store
/// failing between the two), the action stands and the failure is logged, since answering an error would invite
/// a retry of something already done.
pub(crate) async fn audit(state: &ApiState, actor: &str, action: &str, target: &str, detail: &str) {
    let entry = AuditEntry {
        id: 0,
        at: unix_now(),
        actor: actor.to_owned(),
        action: action.to_owned(),
        target: target.to_owned(),
        detail: detail.to_owned(),
    };
    if let Err(e) = state.store().audit_record(&entry).await {
        tracing::error!(error = %e, actor, action, target, "cannot write the audit entry");
    }
}

pub(crate) fn release_error(e: ReleaseError) -> ApiError {
    match e {
        ReleaseError::NotFound(id) => no_item(&id),
        ReleaseError::Store(e) => e.into(),
        ReleaseError::Address(_) | ReleaseError::NoRecipient => {
            ApiError::conflict("unreleasable", e.to_string())
        }
        ReleaseError::Smtp { .. } => {
            ApiError::new(StatusCode::BAD_GATEWAY, "relay_refused", e.to_string())
        }
        ReleaseError::Relay(_) | ReleaseError::File { .. } => ApiError::internal(e.to_string()),
    }
}

/// The original of quarantined item `id` as a download named `<id>.eml` (the id is only `[A-Za-z0-9-]`, never a
/// name from the mail).
pub(crate) async fn original_download(state: &ApiState, id: &str) -> Result<Response, ApiError> {
    let item = quarantined(state, id).await?;
    let bytes = original(state, &item).await?;
    Ok(download(bytes, &format!("{id}.eml")))
}

/// A file to download: never shown inline, never sniffed, under `file_name` (which the caller made safe).
pub(crate) fn download(bytes: Vec<u8>, file_name: &str) -> Response {
    // RFC 6266: an ASCII fallback for old clients, the UTF-8 name percent-encoded for the rest.
    let ascii: String = file_name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = file_name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    // The UTF-8 form only when the ASCII one had to change something.
    let disposition = if ascii == file_name {
        format!("attachment; filename=\"{ascii}\"")
    } else {
        format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
    };
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // Only visible ASCII went into it, so it is always a valid header value.
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// Longest download name, in characters.
const MAX_FILE_NAME_CHARS: usize = 100;

/// A name from a mail made safe to save: letters and digits of any script, `.`, `-`, `_` and spaces as `_`; no
/// path, no leading dot, no control or direction characters; `fallback` when nothing is left.
pub(crate) fn safe_file_name(name: &str, fallback: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .filter_map(|c| match c {
            c if c.is_alphanumeric() => Some(c),
            '.' | '-' | '_' => Some(c),
            ' ' | '\u{3000}' => Some('_'),
            _ => None,
        })
        .take(MAX_FILE_NAME_CHARS)
        .collect();
    let cleaned = cleaned.trim_start_matches('.');
    if cleaned.is_empty() {
        fallback.to_owned()
    } else {
        cleaned.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_from_mail_lose_paths_controls_and_direction_marks() {
        assert_eq!(safe_file_name("請求書 2022.xlsm", "x"), "請求書_2022.xlsm");
        assert_eq!(safe_file_name("../../etc/passwd", "x"), "passwd");
        assert_eq!(safe_file_name("C:\\evil\\a.exe", "x"), "a.exe");
        assert_eq!(
            safe_file_name("invoice\u{202E}fdp.exe", "x"),
            "invoicefdp.exe"
        );
        assert_eq!(safe_file_name(".htaccess", "x"), "htaccess");
        assert_eq!(safe_file_name("\"\r\n", "attachment-0"), "attachment-0");
        assert_eq!(
            safe_file_name(&"a".repeat(300), "x").chars().count(),
            MAX_FILE_NAME_CHARS
        );
    }

    #[test]
    fn downloads_are_attachments_with_both_name_forms() {
        let response = download(b"data".to_vec(), "請求書.xlsm");
        let headers = response.headers();
        assert_eq!(headers[header::CONTENT_TYPE], "application/octet-stream");
        assert_eq!(
            headers[header::CONTENT_DISPOSITION],
            "attachment; filename=\"___.xlsm\"; filename*=UTF-8''%E8%AB%8B%E6%B1%82%E6%9B%B8.xlsm"
        );
        let plain = download(Vec::new(), "20261128T024731-7KX3M9QDB2TZ.eml");
        assert_eq!(
            plain.headers()[header::CONTENT_DISPOSITION],
            "attachment; filename=\"20261128T024731-7KX3M9QDB2TZ.eml\""
        );
    }
}
