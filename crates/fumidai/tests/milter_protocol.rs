//! `fumidai milter` spoken to directly, as an MTA would, for what Postfix does not do on demand: a
//! shutdown while a message is in flight, a reload between two messages on one connection, hostile
//! frames, an oversized message, and an MTA that offers none of the protocol's shortcuts.

mod common;

use common::daemon::{http_get, Daemon, WAIT};
use common::{free_port, Site};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::{UnixListener, UnixStream};

/// A connection to the milter, over TCP or a unix socket.
trait Stream: Read + Write {}
impl Stream for TcpStream {}
impl Stream for UnixStream {}

/// Every protocol flag an MTA can offer (Postfix 3.7 offers these and more).
const OFFER_ALL: u32 = 0x001F_FFFF;

struct Milter {
    daemon: Daemon,
    port: u16,
    http: u16,
    site: Site,
}

fn milter(more: &str) -> Milter {
    let (port, http) = (free_port(), free_port());
    let site = Site::with_config(
        None,
        &format!(
            "[milter]\nlisten = [\"inet:127.0.0.1:{port}\"]\nhttp_listen = \"127.0.0.1:{http}\"\nlocal_networks = []\n{more}"
        ),
    );
    let daemon = Daemon::start(&site, "milter.log");
    Milter {
        daemon,
        port,
        http,
        site,
    }
}

impl Milter {
    /// Waits until the daemon has accepted `n` connections (its connection gauge).
    fn wait_connections(&self, n: u32) {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let (_, metrics) = http_get(&format!("127.0.0.1:{}", self.http), "/metrics");
            let open: u32 = metrics
                .lines()
                .find_map(|l| l.strip_prefix("fumidai_milter_connections "))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if open >= n {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "{metrics}");
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

/// The MTA side of one milter connection.
struct Mta {
    stream: Box<dyn Stream>,
    /// The milter answers every command (nothing negotiated away).
    acks: bool,
}

type Frame = (u8, Vec<u8>);

impl Mta {
    fn connect(port: u16, offer: u32) -> Mta {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the milter");
        stream.set_read_timeout(Some(WAIT)).unwrap();
        Mta::negotiate(Box::new(stream), offer)
    }

    fn negotiate(stream: Box<dyn Stream>, offer: u32) -> Mta {
        let mut mta = Mta { stream, acks: true };
        let mut optneg = Vec::new();
        for word in [6u32, 0x1FF, offer] {
            optneg.extend_from_slice(&word.to_be_bytes());
        }
        mta.send(b'O', &optneg);
        let (code, reply) = mta.read().expect("an OPTNEG reply");
        assert_eq!(code, b'O');
        let protocol = u32::from_be_bytes(reply[8..12].try_into().unwrap());
        // SMFIP_NR_HDR: the milter took the "no reply" shortcuts.
        mta.acks = protocol & 0x80 == 0;
        mta
    }

    fn send(&mut self, code: u8, payload: &[u8]) {
        let mut frame = ((payload.len() + 1) as u32).to_be_bytes().to_vec();
        frame.push(code);
        frame.extend_from_slice(payload);
        self.stream.write_all(&frame).unwrap();
    }

    /// The next frame, or `None` when the milter closed the connection.
    fn read(&mut self) -> Option<Frame> {
        let mut len = [0u8; 4];
        if self.stream.read_exact(&mut len).is_err() {
            return None;
        }
        let mut frame = vec![0; u32::from_be_bytes(len) as usize];
        self.stream.read_exact(&mut frame).ok()?;
        let code = frame.remove(0);
        Some((code, frame))
    }

    /// A command that gets CONTINUE unless negotiated away.
    fn command(&mut self, code: u8, payload: &[u8]) {
        self.send(code, payload);
        if self.acks {
            assert_eq!(
                self.read().map(|f| f.0),
                Some(b'c'),
                "command {}",
                code as char
            );
        }
    }

    /// Everything up to end-of-message for one message from 203.0.113.7.
    fn message(&mut self, subject: &str, body: &[u8]) {
        // hostname, family '4', port 12345, address
        self.command(b'C', b"[203.0.113.7]\x00409203.0.113.7\x00");
        self.command(b'H', b"mail.partner.example.jp\x00");
        self.command(b'M', b"<ken@partner.example.jp>\x00");
        self.command(b'R', b"<alice@corp.example.jp>\x00");
        self.command(b'T', b"");
        let lead = if self.acks { "" } else { " " };
        for (name, value) in [
            ("From", "Ken <ken@partner.example.jp>"),
            ("To", "alice@corp.example.jp"),
            ("Subject", subject),
            ("Message-ID", "<p-1@partner.example.jp>"),
        ] {
            self.command(b'L', format!("{name}\0{lead}{value}\0").as_bytes());
        }
        self.command(b'N', b"");
        for chunk in body.chunks(65535) {
            self.command(b'B', chunk);
        }
    }

    /// End-of-message: the frames up to and including the final answer.
    fn end(&mut self) -> Vec<Frame> {
        self.send(b'E', b"");
        let mut frames = Vec::new();
        loop {
            let frame = self.read().expect("an end-of-message answer");
            let last = matches!(frame.0, b'c' | b'a' | b'd' | b'y' | b'r' | b't');
            frames.push(frame);
            if last {
                return frames;
            }
        }
    }
}

/// ADDHEADER frames as (name, value).
fn added(frames: &[Frame]) -> Vec<(String, String)> {
    frames
        .iter()
        .filter(|(code, _)| *code == b'h')
        .map(|(_, payload)| {
            let mut parts = payload.split(|&b| b == 0);
            let name = String::from_utf8_lossy(parts.next().unwrap()).into_owned();
            let value = String::from_utf8_lossy(parts.next().unwrap()).into_owned();
            (name, value)
        })
        .collect()
}

const BODY: &[u8] = "ご確認ください。\r\n".as_bytes();

#[test]
fn a_message_in_flight_is_answered_on_sigterm_and_then_the_daemon_exits() {
    let m = milter("");
    let mut mta = Mta::connect(m.port, OFFER_ALL);
    mta.message("ご連絡", BODY);
    // Accepted (not still in the listen queue, which SIGTERM closes) before the signal.
    m.wait_connections(1);
    m.daemon.terminate();
    m.daemon.wait_log("shutting down", 1);
    let deadline = std::time::Instant::now() + WAIT;
    while TcpStream::connect(("127.0.0.1", m.port)).is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "still accepting connections while stopping"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let frames = mta.end();
    assert_eq!(frames.last().unwrap().0, b'c', "accepted: {frames:?}");
    assert!(added(&frames)
        .iter()
        .any(|(n, v)| n == "X-Fumidai-Verdict" && v.starts_with(" clean")));
    assert!(mta.read().is_none(), "closed after the message in flight");
    let log = m.daemon.wait_exit();
    assert!(log.contains("stopped"), "{log}");
}

#[test]
fn a_reload_keeps_the_connection_and_applies_to_the_next_message() {
    let m = milter("");
    let mut mta = Mta::connect(m.port, OFFER_ALL);
    mta.message("ご連絡", BODY);
    let first = mta.end();
    assert!(!added(&first).iter().any(|(n, _)| n == "Subject"));
    mta.send(b'A', b"");

    let mut config = std::fs::read_to_string(&m.site.config).unwrap();
    config.push_str("\n[policy.inbound]\nclean = \"tag\"\n");
    std::fs::write(&m.site.config, config).unwrap();
    m.daemon.reload();
    m.daemon.wait_log("configuration reloaded", 1);

    mta.message("ご連絡", BODY);
    let second = mta.end();
    let subject = added(&second)
        .into_iter()
        .find(|(n, _)| n == "Subject")
        .expect("the subject is tagged on the same connection");
    assert!(subject.1.starts_with(" =?UTF-8?"), "{subject:?}");
    assert!(
        second
            .iter()
            .any(|(code, p)| *code == b'm' && p[4..].starts_with(b"Subject\0\0")),
        "the old subject is deleted: {second:?}"
    );

    // A configuration that does not load leaves the running one in place.
    std::fs::write(&m.site.config, "[milter]\nlisten = 42\n").unwrap();
    m.daemon.reload();
    m.daemon.wait_log("configuration reload failed", 1);
    mta.send(b'A', b"");
    mta.message("ご連絡", BODY);
    assert!(added(&mta.end()).iter().any(|(n, _)| n == "Subject"));
}

#[test]
fn hostile_frames_close_their_connection_and_nothing_else() {
    let m = milter("");
    // A length no MTA sends.
    let mut huge = Mta::connect(m.port, OFFER_ALL);
    huge.stream
        .write_all(&0x7fff_ffffu32.to_be_bytes())
        .unwrap();
    assert!(huge.read().is_none());
    // An unknown command.
    let mut unknown = Mta::connect(m.port, OFFER_ALL);
    unknown.send(b'Z', b"whatever");
    assert!(unknown.read().is_none());
    // A header without its separators.
    let mut bad_header = Mta::connect(m.port, OFFER_ALL);
    bad_header.send(b'L', b"Subject");
    assert!(bad_header.read().is_none());
    // Half a frame, then gone.
    let mut half = TcpStream::connect(("127.0.0.1", m.port)).unwrap();
    half.write_all(&[0, 0, 0, 40, b'L', b'S']).unwrap();
    drop(half);

    let mut mta = Mta::connect(m.port, OFFER_ALL);
    mta.message("ご連絡", BODY);
    assert_eq!(mta.end().last().unwrap().0, b'c');
    // QUIT_NC: the MTA reuses the connection for a new SMTP session; the negotiation stands (were it
    // lost, every command would get a reply this MTA does not read).
    mta.send(b'K', b"");
    mta.message("ご連絡", BODY);
    assert!(added(&mta.end())
        .iter()
        .any(|(n, _)| n == "X-Fumidai-Verdict"));
    let (_, metrics) = http_get(&format!("127.0.0.1:{}", m.http), "/metrics");
    let errors: u32 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("fumidai_milter_protocol_errors_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    assert!(errors >= 3, "{metrics}");
}

#[test]
fn an_oversized_message_is_refused_with_552_and_logged() {
    let m = milter("max_message_bytes = 2000\n");
    let mut mta = Mta::connect(m.port, OFFER_ALL);
    mta.message("大きなメール", &vec![b'x'; 100_000]);
    let frames = mta.end();
    let (code, reply) = frames.last().unwrap();
    assert_eq!(*code, b'y');
    assert!(
        reply.starts_with(b"552 5.3.4 "),
        "{}",
        String::from_utf8_lossy(reply)
    );
    let log = m.daemon.wait_log("not inspected", 1);
    assert!(log.contains("max_message_bytes"), "{log}");
}

#[test]
fn an_mta_without_shortcuts_gets_a_reply_to_every_command() {
    let m = milter("");
    let mut mta = Mta::connect(m.port, 0);
    assert!(mta.acks);
    mta.message("ご連絡", BODY);
    let frames = mta.end();
    let headers = added(&frames);
    let verdict = headers
        .iter()
        .find(|(n, _)| n == "X-Fumidai-Verdict")
        .expect("verdict header");
    // Without SMFIP_HDR_LEADSPC the MTA adds the space itself.
    assert!(verdict.1.starts_with("clean"), "{verdict:?}");
}

#[test]
fn a_unix_socket_is_served_and_a_stale_socket_file_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("milter.sock");
    // What a killed daemon leaves behind: a socket file nobody listens on.
    drop(UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    let http = free_port();
    let site = Site::with_config(
        None,
        &format!(
            "[milter]\nlisten = [\"unix:{}\"]\nhttp_listen = \"127.0.0.1:{http}\"\nlocal_networks = []\n",
            path.display()
        ),
    );
    let daemon = Daemon::start(&site, "milter.log");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(
        mode & 0o777,
        0o666,
        "Postfix's smtpd (user postfix) must reach it"
    );
    let stream = UnixStream::connect(&path).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let mut mta = Mta::negotiate(Box::new(stream), OFFER_ALL);
    mta.message("ご連絡", BODY);
    assert!(added(&mta.end())
        .iter()
        .any(|(n, _)| n == "X-Fumidai-Verdict"));
    drop(mta);
    daemon.stop();
    assert!(!path.exists(), "the socket file is removed on exit");
}
