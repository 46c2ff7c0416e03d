//! Giving a quarantined original back: byte for byte, to an SMTP relay (with the original envelope) or
//! to a file, and recorded in the store with who and when.

use fumidai_store::{Release, Store, StoreError};
use lettre::address::{Address, Envelope};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::io::Write;
use std::path::PathBuf;

/// Where a released original goes.
#[derive(Debug, Clone)]
pub enum ReleaseTarget {
    /// A new file (never overwritten).
    File(PathBuf),
    /// An SMTP relay, `host:port` (usually the local Postfix, which delivers it again). The recipients
    /// are the original RCPT TO unless given.
    Smtp {
        relay: String,
        recipients: Option<Vec<String>>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error("no quarantined message with id {0}")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("writing {path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
    #[error("bad address {0:?} for the SMTP envelope")]
    Address(String),
    #[error("the message has no recipient to release it to")]
    NoRecipient,
    #[error("bad relay {0:?}: expected host:port")]
    Relay(String),
    #[error("SMTP relay {relay}: {source}")]
    Smtp {
        relay: String,
        source: lettre::transport::smtp::Error,
    },
}

/// Releases item `id` to `target` and records it as released by `by` at `now`.
pub async fn release(
    store: &dyn Store,
    id: &str,
    target: &ReleaseTarget,
    by: &str,
    now: i64,
) -> Result<Release, ReleaseError> {
    let item = store
        .quarantine_get(id)
        .await?
        .ok_or_else(|| ReleaseError::NotFound(id.to_owned()))?;
    let original = read_original(store, id, item.size).await?;
    let to = match target {
        ReleaseTarget::File(path) => {
            write_new(path, &original).map_err(|source| ReleaseError::File {
                path: path.display().to_string(),
                source,
            })?;
            format!("file:{}", path.display())
        }
        ReleaseTarget::Smtp { relay, recipients } => {
            let rcpt = recipients.as_ref().unwrap_or(&item.meta.rcpt_to);
            send(relay, item.meta.mail_from.as_deref(), rcpt, &original).await?;
            format!("smtp:{relay}")
        }
    };
    let release = Release {
        at: now,
        by: by.to_owned(),
        to,
    };
    store.quarantine_mark_released(id, &release).await?;
    Ok(release)
}

/// The whole original of item `id`, read and checked against its SHA-256 by the store before any of
/// it is used: a damaged item is an error, never a partial release.
pub async fn read_original(
    store: &dyn Store,
    id: &str,
    size_hint: u64,
) -> Result<Vec<u8>, ReleaseError> {
    let mut original = Vec::with_capacity(usize::try_from(size_hint).unwrap_or(0));
    let found = store
        .quarantine_read(id, &mut |chunk: &[u8]| {
            original.extend_from_slice(chunk);
            Ok(())
        })
        .await?;
    if found {
        Ok(original)
    } else {
        Err(ReleaseError::NotFound(id.to_owned()))
    }
}

/// `message` as lettre's `send_raw` wants it. lettre always ends the data with CRLF "." CRLF: a message that
/// already ends with a line end would gain an empty line, so that line end is left to lettre.
pub(crate) fn without_final_line_end(message: &[u8]) -> &[u8] {
    message
        .strip_suffix(b"\r\n")
        .or_else(|| message.strip_suffix(b"\n"))
        .unwrap_or(message)
}

/// An SMTP client for `relay` (`host:port`, `[v6]:port`); `None` when it does not parse. Plain SMTP on purpose:
/// the relay is the organisation's own MTA on a trusted network.
pub(crate) fn relay_transport(relay: &str) -> Option<AsyncSmtpTransport<Tokio1Executor>> {
    let (host, port) = relay.rsplit_once(':')?;
    let port = port.parse::<u16>().ok()?;
    Some(
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host.trim_matches(['[', ']']))
            .port(port)
            .build(),
    )
}

pub(crate) fn write_new(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

fn address(s: &str) -> Result<Address, ReleaseError> {
    s.parse().map_err(|_| ReleaseError::Address(s.to_owned()))
}

async fn send(
    relay: &str,
    mail_from: Option<&str>,
    rcpt_to: &[String],
    original: &[u8],
) -> Result<(), ReleaseError> {
    let transport = relay_transport(relay).ok_or_else(|| ReleaseError::Relay(relay.to_owned()))?;
    if rcpt_to.is_empty() {
        return Err(ReleaseError::NoRecipient);
    }
    // An empty MAIL FROM (a bounce) stays empty.
    let from = mail_from
        .filter(|s| !s.is_empty())
        .map(address)
        .transpose()?;
    let to = rcpt_to
        .iter()
        .map(|r| address(r))
        .collect::<Result<Vec<_>, _>>()?;
    let envelope = Envelope::new(from, to).map_err(|_| ReleaseError::NoRecipient)?;
    let data = without_final_line_end(original);
    transport
        .send_raw(&envelope, data)
        .await
        .map_err(|source| ReleaseError::Smtp {
            relay: relay.to_owned(),
            source,
        })?;
    Ok(())
}
