//! One connection from the MTA: the milter conversation, message by message.
//!
//! Commands are collected into the message (envelope, header fields as raw bytes, body) until
//! end-of-message, when the whole message goes through the engine and the gateway and the answer
//! goes back in one write. The session asks the MTA not to wait for replies to anything before
//! end-of-message (the SMFIP_NR_* flags), so a message costs one round trip.

use crate::frame::{encode, Conn, Incoming};
use crate::respond;
use crate::{Current, Shared};
use bytes::{Bytes, BytesMut};
use fumidai_act::{Arrival, Client, Handled, Reply};
use fumidai_core::Direction;
use fumidai_engine::config::FallbackAction;
use fumidai_engine::Envelope;
use miltr_common::actions::Continue;
use miltr_common::commands::Family;
use miltr_common::decoding::ClientCommand;
use miltr_common::optneg::{Capability, OptNeg, Protocol};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

/// Replies the MTA can skip waiting for, and what we do not need sent at all.
const WANTED_PROTOCOL: Protocol = Protocol::NR_CONNECT
    .union(Protocol::NR_HELO)
    .union(Protocol::NR_MAIL)
    .union(Protocol::NR_RECIPIENT)
    .union(Protocol::NR_DATA)
    .union(Protocol::NR_UNKNOWN)
    .union(Protocol::NR_HEADER)
    .union(Protocol::NR_END_OF_HEADER)
    .union(Protocol::NR_BODY)
    .union(Protocol::NO_UNKNOWN)
    .union(Protocol::SMFIP_HDR_LEADSPC);

/// Header edits and body replacement; nothing else is ever asked.
const ACTIONS: Capability = Capability::SMFIF_ADDHDRS
    .union(Capability::SMFIF_CHGHDRS)
    .union(Capability::SMFIF_CHGBODY);

/// The message being received.
struct Message {
    /// The configuration in force when the message began: a reload does not change a message in
    /// flight (its size limit, its policy, its store).
    current: Arc<Current>,
    mail_from: Option<String>,
    rcpt_to: Vec<String>,
    /// Header field names in order (CHGHEADER indexes count per name).
    names: Vec<Bytes>,
    /// The message as the MTA will deliver it: header fields, blank line, body (CRLF).
    raw: BytesMut,
    /// Bytes seen, including those dropped past the size limit.
    size: u64,
}

impl Message {
    fn new(current: Arc<Current>) -> Message {
        Message {
            current,
            mail_from: None,
            rcpt_to: Vec::new(),
            names: Vec::new(),
            raw: BytesMut::new(),
            size: 0,
        }
    }

    fn push(&mut self, bytes: &[u8]) {
        self.size += bytes.len() as u64;
        if !self.oversize() {
            self.raw.extend_from_slice(bytes);
        }
    }

    /// Header values arrive with bare LF between folded lines; the message is kept with CRLF.
    fn push_crlf(&mut self, value: &[u8]) {
        let mut start = 0;
        for (i, &b) in value.iter().enumerate() {
            if b == b'\n' && (i == 0 || value[i - 1] != b'\r') {
                self.push(&value[start..i]);
                self.push(b"\r\n");
                start = i + 1;
            }
        }
        self.push(&value[start..]);
    }

    fn oversize(&self) -> bool {
        self.size > self.current.settings.max_message_bytes
    }
}

#[derive(Default)]
struct Session {
    protocol: Option<Protocol>,
    client: Client,
    client_name: String,
    macros: HashMap<String, String>,
    message: Option<Message>,
}

/// Why a message was not judged.
enum Failure {
    Oversize(u64),
    Timeout,
    Engine(String),
    Store(String),
}

impl Failure {
    fn kind(&self) -> &'static str {
        match self {
            Failure::Oversize(_) => "oversize",
            Failure::Timeout => "timeout",
            Failure::Engine(_) => "engine",
            Failure::Store(_) => "store",
        }
    }

    fn action(&self, current: &Current) -> FallbackAction {
        match self {
            Failure::Oversize(_) => current.settings.on_oversize,
            _ => current.settings.on_error,
        }
    }

    fn reply(&self, action: FallbackAction) -> Reply {
        let (code, status, text) = match (self, action) {
            (Failure::Oversize(_), FallbackAction::Reject) => {
                (552, "5.3.4", "Message too big for content inspection")
            }
            (Failure::Oversize(_), _) => (
                452,
                "4.3.4",
                "Message too big for content inspection; try again later",
            ),
            (_, FallbackAction::Reject) => (554, "5.7.0", "Message could not be inspected"),
            _ => (
                451,
                "4.3.0",
                "Temporary failure in content inspection; try again later",
            ),
        };
        Reply {
            code,
            status: status.to_owned(),
            text: text.to_owned(),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Oversize(n) => {
                write!(f, "message of {n} bytes is over milter.max_message_bytes")
            }
            Failure::Timeout => f.write_str("inspection took longer than milter.timeout_seconds"),
            Failure::Engine(e) => write!(f, "engine: {e}"),
            Failure::Store(e) => write!(f, "store: {e}"),
        }
    }
}

/// Serves one MTA connection until it closes, or until shutdown between messages.
pub async fn serve(shared: Arc<Shared>, mut conn: Conn) {
    shared.metrics.connection_opened();
    let mut session = Session::default();
    let mut input = BytesMut::new();
    let mut output = BytesMut::new();
    loop {
        let frame = tokio::select! {
            biased;
            // Frames already sent come first: the MTA does not wait for replies before end-of-message, so
            // a MAIL FROM it has sent is a message in flight even before we read it.
            frame = conn.read_frame(&mut input) => frame,
            // A message in progress is finished first; an idle connection closes at once (the MTA
            // opens a new one, to the restarted milter or its default action).
            () = shared.cancel.cancelled(), if session.message.is_none() => break,
        };
        let incoming = match frame {
            Ok(Some(incoming)) => incoming,
            Ok(None) => break,
            Err(e) => {
                shared.metrics.protocol_error();
                tracing::warn!(error = %e, "milter connection dropped");
                break;
            }
        };
        if !session.on(&shared, incoming, &mut output).await {
            break;
        }
        if !output.is_empty() {
            if let Err(e) = conn.write_all(&output).await {
                tracing::warn!(error = %e, "milter reply not sent");
                break;
            }
            output.clear();
        }
    }
    shared.metrics.connection_closed();
}

impl Session {
    /// Handles one command, appending any reply to `out`. `false` ends the connection.
    async fn on(&mut self, shared: &Shared, incoming: Incoming, out: &mut BytesMut) -> bool {
        let command = match incoming {
            Incoming::Header { name, value } => {
                let leading_space = self.has(Protocol::SMFIP_HDR_LEADSPC);
                let message = self.message(shared);
                message.push(&name);
                message.push(b":");
                if !leading_space {
                    message.push(b" ");
                }
                message.push_crlf(&value);
                message.push(b"\r\n");
                message.names.push(name);
                self.ack(Protocol::NR_HEADER, out);
                return true;
            }
            Incoming::Other(command) => command,
        };
        match command {
            ClientCommand::OptNeg(mta) => self.negotiate(&mta, out),
            ClientCommand::Macro(m) => {
                for (name, value) in m.macros() {
                    self.macros.insert(
                        String::from_utf8_lossy(name).into_owned(),
                        String::from_utf8_lossy(value).into_owned(),
                    );
                }
            }
            ClientCommand::Connect(c) => {
                self.client_name = c.hostname().into_owned();
                self.client.addr = match c.family {
                    Family::Inet | Family::Inet6 => {
                        let a = c.address();
                        a.trim_start_matches("IPv6:").parse().ok()
                    }
                    _ => None,
                };
                self.ack(Protocol::NR_CONNECT, out);
            }
            ClientCommand::Helo(h) => {
                self.client.helo = h.helo().into_owned();
                self.ack(Protocol::NR_HELO, out);
            }
            ClientCommand::Mail(m) => {
                self.message = Some(Message {
                    mail_from: Some(strip_brackets(&m.sender())),
                    ..Message::new(shared.current())
                });
                self.ack(Protocol::NR_MAIL, out);
            }
            ClientCommand::Recipient(r) => {
                let message = self.message(shared);
                message.rcpt_to.push(strip_brackets(&r.recipient()));
                self.ack(Protocol::NR_RECIPIENT, out);
            }
            ClientCommand::Data(_) => self.ack(Protocol::NR_DATA, out),
            ClientCommand::Unknown(_) => self.ack(Protocol::NR_UNKNOWN, out),
            ClientCommand::EndOfHeader(_) => {
                self.message(shared).push(b"\r\n");
                self.ack(Protocol::NR_END_OF_HEADER, out);
            }
            ClientCommand::Body(b) => {
                self.message(shared).push(b.as_bytes());
                self.ack(Protocol::NR_BODY, out);
            }
            ClientCommand::EndOfBody(_) => {
                let message = match self.message.take() {
                    Some(message) => message,
                    None => Message::new(shared.current()),
                };
                self.end_of_message(shared, message, out).await;
            }
            ClientCommand::Abort(_) => self.message = None,
            ClientCommand::Quit(_) => return false,
            // The MTA reuses the connection for another SMTP session: the negotiation stands.
            ClientCommand::QuitNc(_) => {
                *self = Session {
                    protocol: self.protocol,
                    ..Session::default()
                }
            }
            // Decoded raw by `frame` as `Incoming::Header`.
            ClientCommand::Header(_) => {}
        }
        true
    }

    fn negotiate(&mut self, mta: &OptNeg, out: &mut BytesMut) {
        if !mta.capabilities.contains(ACTIONS) {
            tracing::warn!(
                offered = mta.capabilities.bits(),
                "the MTA does not allow header and body changes: sanitised copies cannot be delivered"
            );
        }
        let protocol = WANTED_PROTOCOL & mta.protocol;
        self.protocol = Some(protocol);
        encode(
            out,
            &OptNeg {
                version: mta.version.min(6),
                capabilities: ACTIONS & mta.capabilities,
                protocol,
                macro_stages: Default::default(),
            },
        );
    }

    /// The message in progress; one that starts without MAIL FROM (an MTA that negotiated it away)
    /// starts here.
    fn message(&mut self, shared: &Shared) -> &mut Message {
        self.message
            .get_or_insert_with(|| Message::new(shared.current()))
    }

    fn has(&self, flag: Protocol) -> bool {
        self.protocol.is_some_and(|p| p.contains(flag))
    }

    /// CONTINUE, unless negotiated away.
    fn ack(&self, no_reply: Protocol, out: &mut BytesMut) {
        if !self.has(no_reply) {
            encode(out, &Continue);
        }
    }

    /// The client as the gateway sees it: address, HELO and the SASL login of this transaction.
    fn client_with_login(&self) -> Client {
        Client {
            login: self
                .macros
                .get("{auth_authen}")
                .filter(|v| !v.is_empty())
                .cloned(),
            ..self.client.clone()
        }
    }

    fn direction(&self, current: &Current) -> Direction {
        let authenticated = self
            .macros
            .get("{auth_authen}")
            .is_some_and(|v| !v.is_empty());
        let local = self
            .client
            .addr
            .is_some_and(|a| current.settings.is_local(a));
        if authenticated || local {
            Direction::Outbound
        } else {
            Direction::Inbound
        }
    }

    async fn end_of_message(&self, shared: &Shared, mut message: Message, out: &mut BytesMut) {
        let started = Instant::now();
        let current = &message.current;
        let direction = self.direction(current);
        let queue_id = self.macros.get("i").map_or("NOQUEUE", String::as_str);
        let envelope = Envelope {
            mail_from: message.mail_from.take(),
            rcpt_to: std::mem::take(&mut message.rcpt_to),
        };
        let received = respond::Received {
            names: &message.names,
            leading_space: self.has(Protocol::SMFIP_HDR_LEADSPC),
        };
        let judged = if message.oversize() {
            Err(Failure::Oversize(message.size))
        } else {
            let raw = message.raw.split().freeze();
            let at = fumidai_core::unix_now();
            tokio::time::timeout(
                current.settings.timeout,
                judge(
                    current,
                    raw,
                    &envelope,
                    &self.client_with_login(),
                    direction,
                    at,
                ),
            )
            .await
            .unwrap_or(Err(Failure::Timeout))
        };
        let took = started.elapsed();
        let client = self
            .client
            .addr
            .map_or_else(|| self.client_name.clone(), |a| a.to_string());
        let from = envelope.mail_from.as_deref().unwrap_or_default();
        let rcpt = envelope.rcpt_to.join(",");
        // One line per message: the span's fields lead it (`message{queue_id=… client=…}: judged …`).
        let span = tracing::info_span!(
            "message",
            queue_id,
            client,
            direction = direction.as_str(),
            from,
            rcpt,
            size = message.size
        );
        match judged {
            Ok(Handled {
                report,
                outcome,
                raised,
            }) => {
                respond::outcome(out, &outcome, &received);
                for alert in &raised {
                    shared.metrics.alert(alert.kind());
                }
                shared.metrics.message(
                    direction.as_str(),
                    report.verdict.as_str(),
                    outcome.action.as_str(),
                    took,
                );
                let findings = fumidai_core::strongest(&report.findings)
                    .iter()
                    .map(|(id, _)| *id)
                    .collect::<Vec<_>>()
                    .join(",");
                tracing::info!(
                    parent: &span,
                    verdict = report.verdict.as_str(),
                    score = report.score,
                    action = outcome.action.as_str(),
                    findings,
                    quarantine_id = outcome.quarantine_id.as_deref().unwrap_or("-"),
                    reply = outcome
                        .reply
                        .as_ref()
                        .map(|r| r.to_string())
                        .unwrap_or_default(),
                    note = outcome.note.as_deref().unwrap_or_default(),
                    elapsed_ms = took.as_millis() as u64,
                    "judged"
                );
            }
            Err(failure) => {
                let action = failure.action(current);
                let reply = failure.reply(action);
                respond::fallback(out, action, &reply, &received);
                shared.metrics.failure(failure.kind());
                shared
                    .metrics
                    .message(direction.as_str(), "uninspected", action.as_str(), took);
                tracing::error!(
                    parent: &span,
                    action = action.as_str(),
                    reply = reply.to_string(),
                    elapsed_ms = took.as_millis() as u64,
                    "not inspected: {failure}"
                );
            }
        }
    }
}

/// Scan, then history, policy and action, all on a blocking thread: inspecting, sanitising and
/// re-scanning are CPU work that would otherwise hold an async worker (two on a 2-core machine) and
/// stall every other connection's I/O. The store's futures are driven from that thread.
async fn judge(
    current: &Arc<Current>,
    raw: Bytes,
    envelope: &Envelope,
    client: &Client,
    direction: Direction,
    at: i64,
) -> Result<Handled, Failure> {
    let current = Arc::clone(current);
    let envelope = envelope.clone();
    let client = client.clone();
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let report = current
            .gateway
            .actor()
            .engine()
            .scan(&raw, &envelope)
            .map_err(|e| Failure::Engine(e.to_string()))?;
        let arrival = Arrival {
            envelope: &envelope,
            client: &client,
            direction,
            at,
        };
        runtime
            .block_on(current.gateway.handle(raw, report, arrival))
            .map_err(|e| Failure::Store(e.to_string()))
    })
    .await
    .map_err(|e| Failure::Engine(e.to_string()))?
}

fn strip_brackets(address: &str) -> String {
    let a = address.trim();
    a.strip_prefix('<')
        .and_then(|a| a.strip_suffix('>'))
        .unwrap_or(a)
        .to_owned()
}
