//! Load bench: thousands of messages through a real Postfix (tests/rig) with the milter under test,
//! and the same mix through the same Postfix without a milter (the baseline), every message
//! accounted for at the end.
//!
//! ```text
//! cargo bench -p fumidai --bench milter_load            # fumidai milter --config <generated>
//! N_MSGS=2000 CONC=20 cargo bench -p fumidai --bench milter_load -- --json
//! MILTER_CMD='/usr/bin/python3 /tmp/test_milter.py inet:{PORT}@127.0.0.1' cargo bench ...  # another milter
//! ```
//!
//! Environment: `N_MSGS` (5000 per path), `CONC` (20 SMTP sessions per path), `MILTER_CMD` (a shell
//! command replacing `fumidai milter --config {CONFIG}`; `{PORT}`, `{CONFIG}`, `{DIR}` are replaced),
//! `MILTER_SPEC` (Postfix's milter spec, default `inet:127.0.0.1:{PORT}`; fumidai listens on the same, e.g.
//! `unix:/tmp/fumidai-bench.sock`), `EXPECT_HEADER` (a header
//! line the milter adds, e.g. `X-Test-Milter: seen`: counted in delivered milter-path mail),
//! `XCLIENT_ADDR` (pretend every session comes from this address), `ATTACK_PERCENT` (10),
//! `BENCH_TIMEOUT` (seconds to wait for delivery, 600), `QUARANTINED_IDS_CMD` (a shell command printing
//! the X-Load-Ids the milter quarantined or discarded, one per line: those are then accounted for,
//! the other accepted-but-undelivered ones are lost; for fumidai itself the default asks its
//! quarantine, `fumidai quarantine list --json`), `RIG_KEEP=1`.
//!
//! Order: ABBA, each to the end of delivery: half the baseline mix (no milter), half the milter mix, the
//! other milter half, the other baseline half; each path's figures are over both its halves.
//! Exit status non-zero if a message got no reply or is lost.

#[path = "../tests/rig/mod.rs"]
mod rig;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use rig::{Listener, Rig, RigOptions};

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

// ------------------------------------------------------------------------------------------------
// the mix

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Kind {
    Plain,
    JapaneseJis,
    JapaneseUtf8,
    Html,
    Csv,
    Attack,
}

impl Kind {
    fn clean(self) -> bool {
        self != Kind::Attack
    }
    fn name(self) -> &'static str {
        match self {
            Kind::Plain => "plain",
            Kind::JapaneseJis => "ja-iso2022jp",
            Kind::JapaneseUtf8 => "ja-utf8",
            Kind::Html => "html",
            Kind::Csv => "csv-attachment",
            Kind::Attack => "attack",
        }
    }
}

#[derive(Clone)]
struct Msg {
    load_id: String,
    kind: Kind,
    from: String,
    to: String,
    /// dot-stuffed, CRLF, with the terminating ".\r\n"
    wire: Vec<u8>,
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
}

const JIS_LINES: [&[u8]; 8] = [
    b"\x1b$B$$$D$b$*@$OC$K$J$C$F$*$j$^$9!#\x1b(B",
    b"\x1b$B@hF|$N$*BG$A9g$o$;$N7o$G$4O\x22Mm$$$?$7$^$9!#\x1b(B",
    b"\x1b$B8+@Q=q$rE:IU$$$?$7$^$7$?$N$G!\x22$43NG'$/$@$5$$!#\x1b(B",
    b"\x1b$BMh=5$N2q5D$O?eMKF|$N8a8eFs;~$+$i$KJQ99$H$J$j$^$7$?!#\x1b(B",
    b"\x1b$B$4ITL@$JE@$,$4$6$$$^$7$?$i!\x22$*5$7Z$K$*Ld$$9g$o$;$/$@$5$$!#\x1b(B",
    b"\x1b$B:#8e$H$b$h$m$7$/$*4j$$?=$7>e$2$^$9!#\x1b(B",
    b"\x1b$BG<IJF|$K$D$-$^$7$F$O!\x222~$a$F$4O\x22Mm$$$?$7$^$9!#\x1b(B",
    b"\x1b$B@A5a=q$NAwIU@h$,JQ99$K$J$j$^$7$?$N$G$*CN$i$;$7$^$9!#\x1b(B",
];
const JIS_SUBJECTS: [&str; 4] = [
    "=?ISO-2022-JP?B?GyRCJCo4K0BRJGokTiQ0ME1NahsoQg==?=",
    "=?ISO-2022-JP?B?GyRCMnE1REZ8RHgkTkpROTkkSyREJCQkRhsoQg==?=",
    "=?ISO-2022-JP?B?GyRCQEE1YT1xQXdJVSROJDQwRkZiGyhC?=",
    "=?ISO-2022-JP?B?GyRCQkckQTlnJG8kOzVEO3ZPPxsoQg==?=",
];
const JA_UTF8: [&str; 6] = [
    "いつもお世話になっております。",
    "先日のお打ち合わせの件でご連絡いたします。",
    "議事録を共有いたしますので、ご確認ください。",
    "来週の会議は水曜日の午後二時からに変更となりました。",
    "ご不明な点がございましたら、お気軽にお問い合わせください。",
    "今後ともよろしくお願い申し上げます。",
];
const EN: [&str; 8] = [
    "Thank you for your order of last week; the goods will ship on Monday.",
    "Please find the revised schedule for the project review below.",
    "As discussed, we will move the quarterly meeting to the second floor.",
    "The invoice for November has been posted to the usual address.",
    "Let me know if the proposed delivery date works for your team.",
    "We have updated the price list; the new prices apply from January.",
    ".A line that starts with a dot, to exercise dot-stuffing.",
    "Kind regards, and have a good weekend.",
];
const PARTNERS: [&str; 6] = [
    "partner.example.jp",
    "supplier.example.com",
    "shiten.example.co.jp",
    "logistics.example.net",
    "consult.example.jp",
    "bank.example.co.jp",
];
const USERS: [&str; 6] = ["tanaka", "suzuki", "sato", "takahashi", "ito", "watanabe"];

fn headers(from: &str, to: &str, subject: &str, msgid: &str, load_id: &str, extra: &str) -> String {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nDate: Sat, 05 Dec 2026 10:00:00 +0900\r\n\
         Message-ID: <{msgid}>\r\nX-Load-Id: {load_id}\r\nMIME-Version: 1.0\r\n{extra}"
    )
}

/// A random line of body text, in the part's charset.
type LinePicker = fn(&mut Rng) -> &'static [u8];

fn clean_message(kind: Kind, rng: &mut Rng, load_id: &str) -> (String, String, Vec<u8>) {
    let from = format!("{}@{}", rng.pick(&USERS), rng.pick(&PARTNERS));
    let to = format!("{}@corp.example.jp", rng.pick(&USERS));
    let msgid = format!("{load_id}@{}", from.split('@').nth(1).unwrap());
    let paragraphs = 2 + rng.below(12);
    let mut m = Vec::new();
    match kind {
        Kind::Plain | Kind::JapaneseJis | Kind::JapaneseUtf8 => {
            // One text part: subject, charset and a picker of lines in that charset.
            let (subject, content, line): (&str, &str, LinePicker) = match kind {
                Kind::Plain => (
                    "Project schedule update",
                    "text/plain; charset=us-ascii\r\nContent-Transfer-Encoding: 7bit",
                    |r| r.pick(&EN).as_bytes(),
                ),
                Kind::JapaneseJis => (
                    *rng.pick(&JIS_SUBJECTS),
                    "text/plain; charset=ISO-2022-JP\r\nContent-Transfer-Encoding: 7bit",
                    |r| JIS_LINES[r.below(JIS_LINES.len())],
                ),
                _ => (
                    "=?UTF-8?B?5Lya6K2w44Gu6K2w5LqL6Yyy?=",
                    "text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit",
                    |r| r.pick(&JA_UTF8).as_bytes(),
                ),
            };
            m.extend_from_slice(
                headers(
                    &from,
                    &to,
                    subject,
                    &msgid,
                    load_id,
                    &format!("Content-Type: {content}\r\n\r\n"),
                )
                .as_bytes(),
            );
            for _ in 0..paragraphs {
                for _ in 0..3 {
                    m.extend_from_slice(line(rng));
                    m.extend_from_slice(b"\r\n");
                }
                m.extend_from_slice(b"\r\n");
            }
        }
        Kind::Html => {
            let b = format!("alt-{load_id}");
            m.extend_from_slice(
                headers(
                    &from,
                    &to,
                    "Newsletter: December",
                    &msgid,
                    load_id,
                    &format!("Content-Type: multipart/alternative; boundary=\"{b}\"\r\n\r\n"),
                )
                .as_bytes(),
            );
            m.extend_from_slice(format!("--{b}\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n").as_bytes());
            for _ in 0..paragraphs {
                m.extend_from_slice(rng.pick(&EN).as_bytes());
                m.extend_from_slice(b"\r\n");
                m.extend_from_slice(rng.pick(&JA_UTF8).as_bytes());
                m.extend_from_slice(b"\r\n");
            }
            m.extend_from_slice(format!("\r\n--{b}\r\nContent-Type: text/html; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n<html><body>\r\n").as_bytes());
            for i in 0..paragraphs {
                m.extend_from_slice(
                    format!(
                        "<p>{} {} <a href=\"https://www.{}/news/{i}\">more</a></p>\r\n",
                        rng.pick(&EN),
                        rng.pick(&JA_UTF8),
                        rng.pick(&PARTNERS)
                    )
                    .as_bytes(),
                );
            }
            m.extend_from_slice(format!("</body></html>\r\n--{b}--\r\n").as_bytes());
        }
        Kind::Csv | Kind::Attack => {
            let b = format!("mix-{load_id}");
            m.extend_from_slice(
                headers(
                    &from,
                    &to,
                    "Monthly figures",
                    &msgid,
                    load_id,
                    &format!("Content-Type: multipart/mixed; boundary=\"{b}\"\r\n\r\n"),
                )
                .as_bytes(),
            );
            m.extend_from_slice(format!("--{b}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nThe figures are attached.\r\n\r\n--{b}\r\nContent-Type: text/csv; name=\"figures.csv\"\r\nContent-Disposition: attachment; filename=\"figures.csv\"\r\nContent-Transfer-Encoding: base64\r\n\r\n").as_bytes());
            let mut csv = String::from("month,region,amount\n");
            for i in 0..paragraphs * 5 {
                csv.push_str(&format!(
                    "2026-{:02},{},{}\n",
                    1 + i % 12,
                    rng.pick(&USERS),
                    rng.next() % 100000
                ));
            }
            for chunk in base64(csv.as_bytes()).as_bytes().chunks(76) {
                m.extend_from_slice(chunk);
                m.extend_from_slice(b"\r\n");
            }
            m.extend_from_slice(format!("--{b}--\r\n").as_bytes());
        }
    }
    (from, to, m)
}

fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = (u32::from(c[0]) << 16)
            | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
            | u32::from(*c.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// An attack message from the corpus with a unique Message-ID (replacing its own) and X-Load-Id.
fn attack_message(raw: &[u8], load_id: &str) -> Vec<u8> {
    let msg = rig::crlf(raw);
    let (head, body) = rig::split_head(&msg);
    let mut out = Vec::with_capacity(msg.len() + 100);
    out.extend_from_slice(format!("X-Load-Id: {load_id}\r\n").as_bytes());
    let mut had_id = false;
    let mut skipping = false;
    for line in head.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        if skipping && matches!(line[0], b' ' | b'\t') {
            continue;
        }
        skipping = false;
        if line.len() > 11 && line[..11].eq_ignore_ascii_case(b"message-id:") {
            out.extend_from_slice(format!("Message-ID: <{load_id}@attack.example>\r\n").as_bytes());
            had_id = true;
            skipping = true;
            continue;
        }
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    if !had_id {
        out.extend_from_slice(format!("Message-ID: <{load_id}@attack.example>\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

fn envelope_of(raw: &[u8], name: &str) -> Option<String> {
    let v = rig::header_values(rig::split_head(raw).0, name)
        .into_iter()
        .next()?;
    let v = match (v.rfind('<'), v.rfind('>')) {
        (Some(a), Some(b)) if a < b => v[a + 1..b].to_string(),
        _ => v,
    };
    v.contains('@').then_some(v)
}

fn build_mix(prefix: &str, n: usize, attack_percent: usize, attacks: &[Vec<u8>]) -> Vec<Msg> {
    let mut rng = Rng(0x5eed_1234_abcd_9876);
    let clean_kinds = [
        Kind::Plain,
        Kind::Plain,
        Kind::JapaneseJis,
        Kind::JapaneseJis,
        Kind::JapaneseUtf8,
        Kind::Html,
        Kind::Html,
        Kind::Csv,
    ];
    (0..n)
        .map(|i| {
            let load_id = format!("{prefix}-{i:06}");
            let is_attack = !attacks.is_empty() && (rng.below(100) < attack_percent);
            let (kind, from, to, data) = if is_attack {
                let raw = &attacks[rng.below(attacks.len())];
                let data = attack_message(raw, &load_id);
                let from =
                    envelope_of(&data, "From").unwrap_or_else(|| "attacker@example.com".into());
                let to =
                    envelope_of(&data, "To").unwrap_or_else(|| "victim@corp.example.jp".into());
                (Kind::Attack, from, to, data)
            } else {
                let kind = *rng.pick(&clean_kinds);
                let (from, to, data) = clean_message(kind, &mut rng, &load_id);
                (kind, from, to, data)
            };
            let mut wire = rig::dot_stuff(&data);
            wire.extend_from_slice(b".\r\n");
            Msg {
                load_id,
                kind,
                from,
                to,
                wire,
            }
        })
        .collect()
}

// ------------------------------------------------------------------------------------------------
// the SMTP client

#[derive(Clone, Debug)]
enum Outcome {
    /// the reply to the final "." (2xx/4xx/5xx), or to an earlier command that failed
    Reply {
        stage: &'static str,
        code: u16,
        text: String,
        latency: Option<Duration>,
    },
    /// connection lost / timeout without a reply
    NoReply(String),
}

struct Session {
    r: BufReader<TcpStream>,
    w: TcpStream,
}

impl Session {
    fn open(port: u16, xclient: Option<&str>) -> Result<Session, String> {
        let s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect: {e}"))?;
        s.set_read_timeout(Some(Duration::from_secs(180))).ok();
        s.set_nodelay(true).ok();
        let w = s.try_clone().map_err(|e| e.to_string())?;
        let mut sess = Session {
            r: BufReader::new(s),
            w,
        };
        sess.expect("banner", 220)?;
        sess.cmd("EHLO client.test", 250)?;
        if let Some(addr) = xclient {
            sess.cmd(&format!("XCLIENT ADDR={addr}"), 220)?;
            sess.cmd("EHLO client.test", 250)?;
        }
        Ok(sess)
    }
    /// (code, last line)
    fn reply(&mut self) -> Result<(u16, String), String> {
        let last = loop {
            let mut line = String::new();
            match self.r.read_line(&mut line) {
                Ok(0) => return Err("connection closed".into()),
                Ok(_) => {}
                Err(e) => return Err(format!("read: {e}")),
            }
            let line = line.trim_end().to_string();
            if line.len() < 3 {
                return Err(format!("bad reply {line:?}"));
            }
            if line.as_bytes().get(3) != Some(&b'-') {
                break line;
            }
        };
        let code = last[..3]
            .parse()
            .map_err(|_| format!("bad reply {last:?}"))?;
        Ok((code, last))
    }
    fn expect(&mut self, what: &str, code: u16) -> Result<(), String> {
        let (c, t) = self.reply()?;
        if c == code {
            Ok(())
        } else {
            Err(format!("{what}: {t}"))
        }
    }
    fn cmd(&mut self, line: &str, code: u16) -> Result<(), String> {
        self.w
            .write_all(format!("{line}\r\n").as_bytes())
            .map_err(|e| format!("write: {e}"))?;
        self.expect(line, code)
    }
    fn send(&mut self, m: &Msg) -> Outcome {
        let steps: [(&'static str, String, u16); 3] = [
            ("MAIL", format!("MAIL FROM:<{}>", m.from), 250),
            ("RCPT", format!("RCPT TO:<{}>", m.to), 250),
            ("DATA", "DATA".to_string(), 354),
        ];
        for (stage, line, ok) in steps {
            if let Err(e) = self.w.write_all(format!("{line}\r\n").as_bytes()) {
                return Outcome::NoReply(format!("{stage}: write: {e}"));
            }
            match self.reply() {
                Ok((c, _)) if c == ok => {}
                Ok((code, text)) => {
                    return Outcome::Reply {
                        stage,
                        code,
                        text,
                        latency: None,
                    }
                }
                Err(e) => return Outcome::NoReply(format!("{stage}: {e}")),
            }
        }
        if let Err(e) = self.w.write_all(&m.wire) {
            return Outcome::NoReply(format!("data: write: {e}"));
        }
        let t = Instant::now();
        match self.reply() {
            Ok((code, text)) => Outcome::Reply {
                stage: "EOM",
                code,
                text,
                latency: Some(t.elapsed()),
            },
            Err(e) => Outcome::NoReply(format!("EOM: {e}")),
        }
    }
}

struct Sent {
    outcome: Outcome,
    queue_id: Option<String>,
}

/// Send all messages over `conc` sessions (one connection per worker, reused; RSET after any
/// failed transaction, reconnect after a lost connection). Returns per-message results and the time
/// of the last reply.
fn push(
    port: u16,
    conc: usize,
    msgs: &Arc<Vec<Msg>>,
    xclient: Option<String>,
) -> (Vec<Sent>, Instant) {
    let next = Arc::new(AtomicUsize::new(0));
    let results: Arc<Mutex<Vec<Option<Sent>>>> =
        Arc::new(Mutex::new((0..msgs.len()).map(|_| None).collect()));
    let workers: Vec<_> = (0..conc)
        .map(|_| {
            let (next, results, msgs, xclient) =
                (next.clone(), results.clone(), msgs.clone(), xclient.clone());
            std::thread::spawn(move || {
                let mut sess: Option<Session> = None;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= msgs.len() {
                        break;
                    }
                    if sess.is_none() {
                        match Session::open(port, xclient.as_deref()) {
                            Ok(s) => sess = Some(s),
                            Err(e) => {
                                results.lock().unwrap()[i] = Some(Sent {
                                    outcome: Outcome::NoReply(format!("session: {e}")),
                                    queue_id: None,
                                });
                                std::thread::sleep(Duration::from_millis(100));
                                continue;
                            }
                        }
                    }
                    let s = sess.as_mut().unwrap();
                    let outcome = s.send(&msgs[i]);
                    let mut queue_id = None;
                    match &outcome {
                        Outcome::Reply {
                            code, text, stage, ..
                        } => {
                            if *stage == "EOM" && *code / 100 == 2 {
                                queue_id = text
                                    .split("queued as ")
                                    .nth(1)
                                    .map(|q| q.trim().to_string());
                            } else if s.cmd("RSET", 250).is_err() {
                                sess = None; // e.g. 421 and closed
                            }
                        }
                        Outcome::NoReply(_) => sess = None,
                    }
                    results.lock().unwrap()[i] = Some(Sent { outcome, queue_id });
                }
                if let Some(mut s) = sess {
                    let _ = s.cmd("QUIT", 221);
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
    let done = Instant::now();
    let results = Arc::try_unwrap(results)
        .ok()
        .expect("workers done")
        .into_inner()
        .unwrap()
        .into_iter()
        .map(|r| {
            r.unwrap_or(Sent {
                outcome: Outcome::NoReply("not sent (worker died)".into()),
                queue_id: None,
            })
        })
        .collect();
    (results, done)
}

// ------------------------------------------------------------------------------------------------
// accounting

/// X-Load-Id -> (dump path, mtime, has EXPECT_HEADER)
fn index_sink(
    rig: &Rig,
    expect_header: Option<&str>,
) -> HashMap<String, (PathBuf, SystemTime, bool)> {
    let mut map = HashMap::new();
    for path in rig.sink_files() {
        let Ok(raw) = fs::read(&path) else { continue };
        let mtime = fs::metadata(&path)
            .and_then(|m| m.modified())
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let d = rig::parse_dump(path.clone(), raw);
        let head = d.head();
        let has = expect_header.is_some_and(|h| {
            let (n, v) = h.split_once(':').unwrap_or((h, ""));
            rig::header_values(head, n.trim())
                .iter()
                .any(|x| x == v.trim())
        });
        for id in rig::header_values(head, "X-Load-Id") {
            map.insert(id, (path.clone(), mtime, has));
        }
    }
    map
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[derive(Default, Debug)]
struct Tally {
    sent: usize,
    accepted: usize,
    delivered: usize,
    with_header: usize,
    not_delivered_accounted: usize,
    not_delivered: Vec<String>,
    held: usize,
    in_queue: Vec<String>,
    rejected: usize,
    tempfailed: usize,
    no_reply: Vec<String>,
    lost: Vec<String>,
    by_reply: BTreeMap<String, usize>,
    accept_secs: f64,
    e2e_secs: f64,
    clean_latencies: Vec<Duration>,
    attack_latencies: Vec<Duration>,
    milter_cpu_secs: Option<f64>,
}

impl Tally {
    /// Adds another run of the same path (the other half of an ABBA run).
    fn absorb(&mut self, other: Tally) {
        self.sent += other.sent;
        self.accepted += other.accepted;
        self.delivered += other.delivered;
        self.with_header += other.with_header;
        self.not_delivered_accounted += other.not_delivered_accounted;
        self.not_delivered.extend(other.not_delivered);
        self.held += other.held;
        self.in_queue.extend(other.in_queue);
        self.rejected += other.rejected;
        self.tempfailed += other.tempfailed;
        self.no_reply.extend(other.no_reply);
        self.lost.extend(other.lost);
        for (reply, count) in other.by_reply {
            *self.by_reply.entry(reply).or_default() += count;
        }
        self.accept_secs += other.accept_secs;
        self.e2e_secs += other.e2e_secs;
        self.clean_latencies.extend(other.clean_latencies);
        self.clean_latencies.sort();
        self.attack_latencies.extend(other.attack_latencies);
        self.attack_latencies.sort();
        self.milter_cpu_secs = match (self.milter_cpu_secs, other.milter_cpu_secs) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
    }
}

struct PathRun<'a> {
    label: &'static str,
    listener: Listener,
    prefix: &'static str,
    milter_pid: Option<u32>,
    quarantined: Option<&'a HashSet<String>>,
}

fn proc_cpu_secs(pid: u32) -> Option<f64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(") ")?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0) // USER_HZ is 100 on Linux
}

fn run_path(
    rig: &Rig,
    run: &PathRun,
    msgs: &Arc<Vec<Msg>>,
    conc: usize,
    timeout: Duration,
    expect_header: Option<&str>,
    xclient: Option<String>,
) -> Tally {
    let cpu0 = run.milter_pid.and_then(proc_cpu_secs);
    let before = rig.sink_files().len();
    let t0 = Instant::now();
    let wall0 = SystemTime::now();
    eprintln!(
        "[{}] sending {} messages over {conc} sessions to 127.0.0.1:{}",
        run.label,
        msgs.len(),
        rig.port(run.listener)
    );
    let (results, t_accepted) = push(rig.port(run.listener), conc, msgs, xclient);
    let accepted: Vec<usize> = results
        .iter()
        .enumerate()
        .filter(|(_, r)| matches!(r.outcome, Outcome::Reply { stage: "EOM", code, .. } if code / 100 == 2))
        .map(|(i, _)| i)
        .collect();
    eprintln!(
        "[{}] {} accepted in {:.2} s; waiting for delivery",
        run.label,
        accepted.len(),
        t_accepted.duration_since(t0).as_secs_f64()
    );
    // wait until the sink holds every accepted message, or the queue (hold aside) is empty and the
    // sink count has not moved for 3 s
    let deadline = Instant::now() + timeout;
    let mut last_count = 0;
    let mut last_change = Instant::now();
    loop {
        let count = rig.sink_files().len() - before;
        if count != last_count {
            last_count = count;
            last_change = Instant::now();
        }
        if count >= accepted.len() && rig.queue().iter().all(|e| e.queue_name == "hold") {
            break;
        }
        if last_change.elapsed() > Duration::from_secs(3)
            && rig.queue().iter().all(|e| e.queue_name == "hold")
        {
            break;
        }
        if Instant::now() > deadline {
            eprintln!("[{}] timeout waiting for delivery", run.label);
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // all dumps are complete once their queue ids are logged as sent; give the last ones a moment
    let sink = loop {
        let sent = rig.sent_queue_ids();
        let idx = index_sink(rig, expect_header);
        let incomplete = accepted
            .iter()
            .filter(|&&i| {
                results[i]
                    .queue_id
                    .as_ref()
                    .is_some_and(|q| !sent.contains(q))
            })
            .filter(|&&i| idx.contains_key(&msgs[i].load_id))
            .count();
        if incomplete == 0 || Instant::now() > deadline {
            break idx;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let queue = rig.queue();
    let queued: HashMap<&str, &str> = queue
        .iter()
        .map(|e| (e.queue_id.as_str(), e.queue_name.as_str()))
        .collect();

    let mut t = Tally {
        sent: msgs.len(),
        accepted: accepted.len(),
        ..Tally::default()
    };
    let mut last_delivery = wall0;
    for (i, r) in results.iter().enumerate() {
        let m = &msgs[i];
        match &r.outcome {
            Outcome::NoReply(e) => t.no_reply.push(format!("{} ({e})", m.load_id)),
            Outcome::Reply {
                stage,
                code,
                text,
                latency,
            } => {
                let key = format!(
                    "{stage} {}",
                    text.split(':')
                        .next()
                        .unwrap_or(text)
                        .chars()
                        .take(60)
                        .collect::<String>()
                );
                *t.by_reply.entry(key).or_default() += 1;
                if let Some(l) = latency {
                    if m.kind.clean() {
                        t.clean_latencies.push(*l);
                    } else {
                        t.attack_latencies.push(*l);
                    }
                }
                match code / 100 {
                    2 if *stage == "EOM" => {
                        if let Some((_, mtime, has)) = sink.get(&m.load_id) {
                            t.delivered += 1;
                            t.with_header += usize::from(*has);
                            last_delivery = last_delivery.max(*mtime);
                        } else if let Some(q) = r.queue_id.as_deref().and_then(|q| queued.get(q)) {
                            if *q == "hold" {
                                t.held += 1;
                            } else {
                                t.in_queue.push(format!("{} ({q})", m.load_id));
                            }
                        } else if run.milter_pid.is_none() {
                            t.lost.push(m.load_id.clone()); // no milter could have taken it
                        } else if let Some(qs) = run.quarantined {
                            if qs.contains(&m.load_id) {
                                t.not_delivered_accounted += 1;
                            } else {
                                t.lost.push(m.load_id.clone());
                            }
                            t.not_delivered.push(m.load_id.clone());
                        } else {
                            t.not_delivered.push(m.load_id.clone());
                        }
                    }
                    4 => t.tempfailed += 1,
                    5 => t.rejected += 1,
                    _ => t
                        .no_reply
                        .push(format!("{} (unexpected reply {text})", m.load_id)),
                }
            }
        }
    }
    t.accept_secs = t_accepted.duration_since(t0).as_secs_f64();
    t.e2e_secs = last_delivery
        .duration_since(wall0)
        .map(|d| d.as_secs_f64())
        .unwrap_or(t.accept_secs)
        .max(t.accept_secs);
    t.clean_latencies.sort();
    t.attack_latencies.sort();
    if let (Some(a), Some(b)) = (cpu0, run.milter_pid.and_then(proc_cpu_secs)) {
        t.milter_cpu_secs = Some(b - a);
    }
    let _ = run.prefix;
    t
}

// ------------------------------------------------------------------------------------------------
// the milter process

/// The milter's configuration: the defaults, except that springboard events are attributed without DNS
/// (SPF and DKIM lookups for the attack mail would measure the network, not fumidai).
fn start_milter(rig: &Rig, milter_port: u16, spec: &str) -> Result<(Child, String), String> {
    let http_port = Rig::free_port();
    let config = rig.dir.join("fumidai.toml");
    fs::write(
        &config,
        format!(
            "[milter]\nlisten = [\"{spec}\"]\nhttp_listen = \"127.0.0.1:{http_port}\"\nlocal_networks = []\n\n\
             [sender]\nown_domains = [\"corp.example.jp\"]\n\n\
             [store]\nlocation = {:?}\n\n\
             [quarantine]\nrelease_relay = \"{}\"\n\n\
             [alerts]\nauthenticate = false\n",
            rig.dir.join("fumidai.db").display().to_string(),
            rig.release_relay()
        ),
    )
    .map_err(|e| e.to_string())?;
    let data_dir = rig.dir.join("milter-data");
    fs::create_dir_all(&data_dir).map_err(|e| e.to_string())?;
    let log = fs::File::create(rig.dir.join("log/milter.log")).map_err(|e| e.to_string())?;
    let log2 = log.try_clone().map_err(|e| e.to_string())?;
    let (mut cmd, shown) = match std::env::var("MILTER_CMD") {
        Ok(c) if !c.trim().is_empty() => {
            let c = c
                .replace("{PORT}", &milter_port.to_string())
                .replace("{CONFIG}", &config.display().to_string())
                .replace("{DIR}", &rig.dir.display().to_string());
            let mut cmd = Command::new("/bin/sh");
            cmd.arg("-c").arg(format!("exec {c}"));
            (cmd, c)
        }
        _ => {
            let bin = env!("CARGO_BIN_EXE_fumidai");
            let mut cmd = Command::new(bin);
            cmd.arg("milter").arg("--config").arg(&config);
            (cmd, format!("{bin} milter --config {}", config.display()))
        }
    };
    let child = cmd
        .env("FUMIDAI_DATA_DIR", &data_dir)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2)
        .spawn()
        .map_err(|e| format!("start {shown}: {e}"))?;
    Ok((child, shown))
}

fn stop_child(child: &mut Child) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let deadline = Instant::now() + Duration::from_secs(10); // libmilter takes up to ~5 s
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn cpu_busy_percent() -> Option<f64> {
    let read = || -> Option<(u64, u64)> {
        let s = fs::read_to_string("/proc/stat").ok()?;
        let v: Vec<u64> = s
            .lines()
            .next()?
            .split_whitespace()
            .skip(1)
            .filter_map(|x| x.parse().ok())
            .collect();
        Some((v.iter().sum(), v.get(3)? + v.get(4).unwrap_or(&0)))
    };
    let (t0, i0) = read()?;
    std::thread::sleep(Duration::from_secs(1));
    let (t1, i1) = read()?;
    Some(100.0 * (1.0 - (i1 - i0) as f64 / (t1 - t0).max(1) as f64))
}

// ------------------------------------------------------------------------------------------------

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--list") {
        return; // `cargo test --benches` / `--list` probing
    }
    let json = args.iter().any(|a| a == "--json");
    if !rig::require_postfix() {
        return;
    }
    let n: usize = env_or("N_MSGS", 5000);
    let conc: usize = env_or("CONC", 20).max(1);
    let attack_percent: usize = env_or("ATTACK_PERCENT", 10);
    let timeout = Duration::from_secs(env_or("BENCH_TIMEOUT", 600));
    let expect_header = std::env::var("EXPECT_HEADER")
        .ok()
        .filter(|s| !s.is_empty());
    let xclient = std::env::var("XCLIENT_ADDR").ok().filter(|s| !s.is_empty());

    let corpus =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/corpus/email/generated");
    let mut attacks: Vec<Vec<u8>> = fs::read_dir(&corpus)
        .map(|rd| {
            let mut p: Vec<PathBuf> = rd
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "eml"))
                .collect();
            p.sort();
            p.into_iter().filter_map(|p| fs::read(p).ok()).collect()
        })
        .unwrap_or_default();
    if attacks.is_empty() {
        eprintln!("warning: no attack mail under {}", corpus.display());
        attacks.clear();
    }
    let base_msgs = build_mix("B", n, attack_percent, &attacks);
    let milter_msgs = build_mix("M", n, attack_percent, &attacks);
    let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
    let mut bytes = 0usize;
    for m in milter_msgs.iter() {
        *kinds.entry(m.kind.name()).or_default() += 1;
        bytes += m.wire.len();
    }

    let loadavg = fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let busy = cpu_busy_percent().unwrap_or(f64::NAN);
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);

    let milter_port = Rig::free_port();
    let spec = std::env::var("MILTER_SPEC")
        .unwrap_or_else(|_| "inet:127.0.0.1:{PORT}".into())
        .replace("{PORT}", &milter_port.to_string());
    let mut rig = match Rig::start(RigOptions {
        milter: Some(spec.clone()),
        ..RigOptions::default()
    }) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the rig: {e}");
            std::process::exit(2);
        }
    };
    let (mut milter, milter_shown) = match start_milter(&rig, milter_port, &spec) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("{e}");
            rig.keep();
            drop(rig);
            std::process::exit(2);
        }
    };
    // wait for the milter to listen (TCP) or its socket to appear
    let t_wait = Instant::now();
    let up = loop {
        let ok = if let Some(path) = spec.strip_prefix("unix:") {
            Path::new(path).exists()
        } else {
            TcpStream::connect(("127.0.0.1", milter_port)).is_ok()
        };
        if ok {
            break true;
        }
        if let Ok(Some(st)) = milter.try_wait() {
            eprintln!(
                "the milter exited: {st}; log:\n{}",
                fs::read_to_string(rig.dir.join("log/milter.log")).unwrap_or_default()
            );
            break false;
        }
        if t_wait.elapsed() > Duration::from_secs(60) {
            eprintln!("the milter does not listen on {spec} after 60 s");
            break false;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    if !up {
        stop_child(&mut milter);
        rig.keep();
        drop(rig);
        std::process::exit(2);
    }
    eprintln!(
        "milter: {milter_shown} (pid {}), Postfix calls {spec}",
        milter.id()
    );

    // ABBA: half of each mix, baseline, milter, milter, baseline, so that a machine that gets faster or
    // slower during the run (other jobs, page cache, disk) affects both paths alike.
    let halves = |msgs: &[Msg]| -> [Arc<Vec<Msg>>; 2] {
        let (a, b) = msgs.split_at(msgs.len() / 2);
        [Arc::new(a.to_vec()), Arc::new(b.to_vec())]
    };
    let [base_a, base_b] = halves(&base_msgs);
    let [milter_a, milter_b] = halves(&milter_msgs);
    let base_run = PathRun {
        label: "baseline",
        listener: Listener::NoMilter,
        prefix: "B",
        milter_pid: None,
        quarantined: None,
    };
    let milter_run = PathRun {
        label: "milter",
        listener: Listener::Milter,
        prefix: "M",
        milter_pid: Some(milter.id()),
        quarantined: None,
    };
    let mut baseline = run_path(
        &rig,
        &base_run,
        &base_a,
        conc,
        timeout,
        None,
        xclient.clone(),
    );
    let mut with_milter = run_path(
        &rig,
        &milter_run,
        &milter_a,
        conc,
        timeout,
        expect_header.as_deref(),
        xclient.clone(),
    );
    with_milter.absorb(run_path(
        &rig,
        &milter_run,
        &milter_b,
        conc,
        timeout,
        expect_header.as_deref(),
        xclient.clone(),
    ));
    baseline.absorb(run_path(
        &rig, &base_run, &base_b, conc, timeout, None, xclient,
    ));
    // the hook: which accepted-but-undelivered messages did the milter take (quarantine/discard)?
    // For fumidai itself, its quarantine answers (Message-IDs are `<X-Load-Id@...>`).
    let quarantined = match std::env::var("QUARANTINED_IDS_CMD") {
        Ok(cmd) => Command::new("/bin/sh")
            .arg("-c")
            .arg(cmd.replace("{DIR}", &rig.dir.display().to_string()))
            .output()
            .ok()
            .map(|out| {
                String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .map(|l| l.trim().to_string())
                    .collect::<HashSet<String>>()
            }),
        Err(_) if std::env::var("MILTER_CMD").is_err() => {
            Command::new(env!("CARGO_BIN_EXE_fumidai"))
                .arg("--config")
                .arg(rig.dir.join("fumidai.toml"))
                .args(["quarantine", "list", "--json", "--limit", "1000000"])
                .output()
                .ok()
                .map(|out| {
                    String::from_utf8_lossy(&out.stdout)
                        .lines()
                        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                        .filter_map(|v| {
                            let id = v["message_id"].as_str()?;
                            Some(id.split('@').next().unwrap_or(id).to_string())
                        })
                        .collect::<HashSet<String>>()
                })
        }
        Err(_) => None,
    };
    if let Some(ids) = quarantined {
        let (acc, lost): (Vec<String>, Vec<String>) = with_milter
            .not_delivered
            .iter()
            .cloned()
            .partition(|id| ids.contains(id));
        with_milter.not_delivered_accounted = acc.len();
        with_milter.lost.extend(lost);
    }
    stop_child(&mut milter);

    // ---------------------------------------------------------------- report
    println!();
    println!(
        "machine: {cores} cores, loadavg at start {}, CPU busy {busy:.0}% just before",
        loadavg
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "mix per path: {n} messages ({} bytes on the wire), {}",
        bytes,
        kinds
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "milter: {milter_shown}; Postfix: {spec}; {conc} sessions per path; order ABBA (half the baseline mix, half the milter mix, the other milter half, the other baseline half)"
    );
    println!();
    println!(
        "{:<9} {:>6} {:>8} {:>9} {:>12} {:>5} {:>8} {:>8} {:>9} {:>8} {:>5}",
        "path",
        "sent",
        "accepted",
        "delivered",
        "not-deliv.*",
        "held",
        "in-queue",
        "rejected",
        "tempfail",
        "no-reply",
        "lost"
    );
    for (label, t) in [("baseline", &baseline), ("milter", &with_milter)] {
        println!(
            "{:<9} {:>6} {:>8} {:>9} {:>12} {:>5} {:>8} {:>8} {:>9} {:>8} {:>5}",
            label,
            t.sent,
            t.accepted,
            t.delivered,
            t.not_delivered.len(),
            t.held,
            t.in_queue.len(),
            t.rejected,
            t.tempfailed,
            t.no_reply.len(),
            t.lost.len()
        );
    }
    println!("* accepted, not in the sink, not in the queue: quarantined/discarded by the milter (cross-check: QUARANTINED_IDS_CMD)");
    for (label, t) in [("baseline", &baseline), ("milter", &with_milter)] {
        for (k, v) in &t.by_reply {
            println!("  {label} reply {k}: {v}");
        }
    }
    if let Some(h) = &expect_header {
        println!(
            "milter path: {} of {} delivered carry '{h}'",
            with_milter.with_header, with_milter.delivered
        );
    }
    println!(
        "not-delivered count (milter path): {}, {} of them found in the quarantine",
        with_milter.not_delivered.len(),
        with_milter.not_delivered_accounted
    );
    // The ids are listed only when the quarantine does not account for them (they are lost).
    if with_milter.not_delivered_accounted < with_milter.not_delivered.len() {
        for id in &with_milter.not_delivered {
            println!("not-delivered: {id}");
        }
    }
    for (label, t) in [("baseline", &baseline), ("milter", &with_milter)] {
        for id in &t.in_queue {
            println!("{label} still-queued: {id}");
        }
        for id in &t.no_reply {
            println!("{label} no-reply: {id}");
        }
        for id in &t.lost {
            println!("{label} LOST: {id}");
        }
        if let Some(c) = t.milter_cpu_secs {
            println!(
                "{label}: milter process CPU {c:.2} s = {:.2} ms/msg",
                1000.0 * c / t.sent.max(1) as f64
            );
        }
    }
    let rate = |t: &Tally, secs: f64| {
        if secs > 0.0 {
            t.accepted as f64 / secs
        } else {
            0.0
        }
    };
    let (b_acc, b_e2e) = (
        rate(&baseline, baseline.accept_secs),
        rate(&baseline, baseline.e2e_secs),
    );
    let (m_acc, m_e2e) = (
        rate(&with_milter, with_milter.accept_secs),
        rate(&with_milter, with_milter.e2e_secs),
    );
    println!();
    println!(
        "throughput (accepted msg/s): baseline {b_acc:.1} accepted, {b_e2e:.1} end to end ({:.2} s); milter {m_acc:.1} accepted, {m_e2e:.1} end to end ({:.2} s); milter/baseline end to end = {:.3}",
        baseline.e2e_secs, with_milter.e2e_secs, if b_e2e > 0.0 { m_e2e / b_e2e } else { 0.0 }
    );
    let p = |t: &Tally, q| ms(percentile(&t.clean_latencies, q));
    println!(
        "clean-mail latency '.' -> reply, ms: baseline p50 {:.1} p90 {:.1} p99 {:.1} max {:.1}; milter p50 {:.1} p90 {:.1} p99 {:.1} max {:.1}; added p50 {:.1} p99 {:.1}",
        p(&baseline, 50.0), p(&baseline, 90.0), p(&baseline, 99.0), p(&baseline, 100.0),
        p(&with_milter, 50.0), p(&with_milter, 90.0), p(&with_milter, 99.0), p(&with_milter, 100.0),
        p(&with_milter, 50.0) - p(&baseline, 50.0), p(&with_milter, 99.0) - p(&baseline, 99.0)
    );
    let pa = |t: &Tally, q| ms(percentile(&t.attack_latencies, q));
    println!(
        "attack-mail latency ms: baseline p50 {:.1} p99 {:.1}; milter p50 {:.1} p99 {:.1}",
        pa(&baseline, 50.0),
        pa(&baseline, 99.0),
        pa(&with_milter, 50.0),
        pa(&with_milter, 99.0)
    );
    if json {
        let j = |t: &Tally, acc: f64, e2e: f64| {
            serde_json::json!({
                "sent": t.sent, "accepted": t.accepted, "delivered": t.delivered,
                "not_delivered": t.not_delivered.len(), "not_delivered_ids": t.not_delivered,
                "not_delivered_accounted": t.not_delivered_accounted, "held": t.held,
                "in_queue": t.in_queue, "rejected": t.rejected, "tempfailed": t.tempfailed,
                "no_reply": t.no_reply, "lost": t.lost, "replies": t.by_reply,
                "accept_secs": t.accept_secs, "e2e_secs": t.e2e_secs,
                "accepted_per_sec": acc, "e2e_per_sec": e2e,
                "clean_latency_ms": {"p50": ms(percentile(&t.clean_latencies, 50.0)), "p90": ms(percentile(&t.clean_latencies, 90.0)), "p99": ms(percentile(&t.clean_latencies, 99.0)), "max": ms(percentile(&t.clean_latencies, 100.0))},
                "attack_latency_ms": {"p50": ms(percentile(&t.attack_latencies, 50.0)), "p99": ms(percentile(&t.attack_latencies, 99.0))},
                "milter_cpu_secs": t.milter_cpu_secs, "with_expected_header": t.with_header,
            })
        };
        let out = serde_json::json!({
            "n_msgs": n, "conc": conc, "cores": cores, "loadavg_at_start": loadavg.trim(), "cpu_busy_before": busy,
            "milter_cmd": milter_shown, "milter_spec": spec, "order": "ABBA",
            "baseline": j(&baseline, b_acc, b_e2e), "milter": j(&with_milter, m_acc, m_e2e),
            "ratio_e2e": if b_e2e > 0.0 { m_e2e / b_e2e } else { 0.0 },
            "added_p99_ms": p(&with_milter, 99.0) - p(&baseline, 99.0),
        });
        println!("{out}");
    }
    // fumidai logs one line per message it answered ("judged", or "not inspected").
    let log_lines_missing = std::env::var("MILTER_CMD").is_err() && {
        let log = fs::read_to_string(rig.dir.join("log/milter.log")).unwrap_or_default();
        let lines = log
            .lines()
            .filter(|l| l.contains(" judged ") || l.contains(" not inspected: "))
            .count();
        println!(
            "fumidai log: {lines} per-message lines for {} messages answered",
            with_milter.sent
        );
        lines != with_milter.sent
    };
    let failed = log_lines_missing
        || [&baseline, &with_milter]
            .iter()
            .any(|t| !t.lost.is_empty() || !t.no_reply.is_empty() || !t.in_queue.is_empty());
    if failed {
        rig.keep();
        eprintln!(
            "FAILED: messages lost, stuck in the queue, without a reply or without a log line (rig kept: {})",
            rig.dir.display()
        );
    }
    drop(rig);
    std::process::exit(i32::from(failed));
}
