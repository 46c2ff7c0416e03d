//! A real, throwaway Postfix for end-to-end tests and benches: its own config and queue directory
//! under `/tmp`, two SMTP listeners on loopback (`smtp_port` calls the milter under test,
//! `nomilter_port` does not), and every accepted message relayed to an `smtp-sink` that writes one
//! file per transaction, so a test reads back the bytes exactly as Postfix relayed them.
//!
//! ```text
//! swaks / bench client -> Postfix smtpd 127.0.0.1:smtp_port  --milter--> RigOptions::milter
//!                         Postfix smtpd 127.0.0.1:nomilter_port (smtpd_milters off: baseline, release relay)
//!                      -> relayhost smtp-sink 127.0.0.1:sink_port -> DIR/sink/<time>.<hex>
//! ```
//!
//! Used by integration tests (`mod rig;`) and by benches (`#[path = "../tests/rig/mod.rs"] mod rig;`),
//! so it depends on nothing but std and serde_json. Needs root (smtp-sink and Postfix run as their own
//! users), `/usr/sbin/postfix` and `/usr/bin/swaks` (`.ci/run` installs `postfix swaks`); see
//! [`require_postfix`]. No chroot, no syslog (Postfix logs to `DIR/log/maillog`), no DNS.
//!
//! Each [`Rig`] has its own ports and directory, so rigs may run in parallel in one test binary.
//! Dropping a rig stops what it started (Postfix by its master's process group, smtp-sink by its PID)
//! and removes the directory, unless the thread is panicking (a failed test) or `RIG_KEEP=1`.
#![allow(dead_code)] // each test binary or bench uses its own subset

use std::collections::HashSet;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, TcpStream};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub const POSTFIX: &str = "/usr/sbin/postfix";
pub const POSTQUEUE: &str = "/usr/sbin/postqueue";
pub const SMTP_SINK: &str = "/usr/sbin/smtp-sink";
pub const SWAKS: &str = "/usr/bin/swaks";

/// What `.ci/run` installs; said in the messages of [`require_postfix`].
pub const INSTALL_HINT: &str = "echo 'postfix postfix/main_mailer_type select No configuration' | \
     debconf-set-selections && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postfix swaks";

/// The Postfix host name (`myhostname`, the `j` and `{daemon_name}`-side name in the banner).
pub const HOSTNAME: &str = "rig.localdomain";

/// Whether the rig can run here: `true` when Postfix, smtp-sink and swaks are installed and we are
/// root. When something is missing: `false` after printing `skipped: ...` if `FUMIDAI_SKIP_POSTFIX=1`
/// (the caller returns), a panic saying how to install otherwise.
///
/// ```ignore
/// if !rig::require_postfix() { return; }
/// ```
pub fn require_postfix() -> bool {
    let mut missing: Vec<String> = [POSTFIX, POSTQUEUE, SMTP_SINK, SWAKS]
        .iter()
        .filter(|p| !Path::new(p).is_file())
        .map(|p| p.to_string())
        .collect();
    if !is_root() {
        missing.push("root privileges (Postfix and smtp-sink run as their own users)".into());
    }
    if missing.is_empty() {
        return true;
    }
    if std::env::var("FUMIDAI_SKIP_POSTFIX").as_deref() == Ok("1") {
        eprintln!(
            "skipped: the Postfix rig needs {} and FUMIDAI_SKIP_POSTFIX=1",
            missing.join(", ")
        );
        return false;
    }
    panic!(
        "the Postfix rig needs {} (missing). `.ci/run` installs Postfix and swaks; by hand, as root: `{INSTALL_HINT}`. \
         Or set FUMIDAI_SKIP_POSTFIX=1 to skip these tests",
        missing.join(", ")
    );
}

fn is_root() -> bool {
    fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// How to start a [`Rig`].
#[derive(Clone, Debug)]
pub struct RigOptions {
    /// The Postfix milter spec for `smtpd_milters` on `smtp_port`, exactly as Postfix wants it
    /// (`inet:127.0.0.1:PORT`, `unix:/path`, or with `{...}` per-milter settings). `None`: no milter.
    pub milter: Option<String>,
    /// Lines appended verbatim to main.cf. A parameter set here replaces the rig's own line for it
    /// (the rig's line is left out, so Postfix does not warn "overriding earlier entry").
    pub extra_main_cf: String,
    /// Lines appended verbatim to master.cf (no chroot: put `n` in the chroot column).
    pub extra_master_cf: String,
    /// How long to wait for smtp-sink and Postfix (banner `220` on `nomilter_port`). Default 30 s.
    pub start_timeout: Duration,
}

impl Default for RigOptions {
    fn default() -> Self {
        RigOptions {
            milter: None,
            extra_main_cf: String::new(),
            extra_master_cf: String::new(),
            start_timeout: Duration::from_secs(30),
        }
    }
}

/// Which Postfix listener a message is sent to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Listener {
    /// `smtp_port`: with `smtpd_milters` = [`RigOptions::milter`].
    #[default]
    Milter,
    /// `nomilter_port`: same instance, `-o smtpd_milters= -o non_smtpd_milters=`.
    NoMilter,
    /// Any other port on 127.0.0.1 (e.g. a listener added with `extra_master_cf`).
    Port(u16),
}

/// XCLIENT attributes (Postfix allows XCLIENT from 127.0.0.0/8 in the rig). `addr` is the client
/// address Postfix and the milter then see (e.g. `203.0.113.7` = inbound from the Internet), `login`
/// a SASL login name (Postfix passes it to milters as `{auth_authen}`, `{auth_type}` = `XCLIENT`),
/// `name` the client host name (the milter's connect hostname; without it `[ADDR]`).
#[derive(Clone, Debug, Default)]
pub struct Xclient {
    pub addr: Option<String>,
    pub login: Option<String>,
    pub name: Option<String>,
    pub helo: Option<String>,
    pub proto: Option<String>,
    pub port: Option<u16>,
}

impl Xclient {
    /// XCLIENT ADDR=addr.
    pub fn addr(addr: &str) -> Xclient {
        Xclient {
            addr: Some(addr.to_string()),
            ..Xclient::default()
        }
    }
    /// XCLIENT LOGIN=login (the client address stays 127.0.0.1 unless set too).
    pub fn login(login: &str) -> Xclient {
        Xclient {
            login: Some(login.to_string()),
            ..Xclient::default()
        }
    }
}

/// One SMTP transaction for [`Rig::send`] (swaks). `data` is the raw RFC 5322 message; it is sent
/// with `--no-data-fixup`, so swaks adds nothing: the rig normalises line ends to CRLF (as Postfix
/// would anyway) and dot-stuffs ([`dot_stuff`]); 8-bit bytes and ISO-2022-JP pass unchanged.
#[derive(Clone, Debug)]
pub struct Mail<'a> {
    pub from: &'a str,
    pub to: Vec<&'a str>,
    pub data: &'a [u8],
    pub xclient: Option<Xclient>,
    pub port: Listener,
    /// EHLO name; default `client.test`.
    pub helo: &'a str,
    /// More swaks arguments, e.g. `["--quit-after", "RCPT"]`.
    pub swaks_args: Vec<String>,
}

impl<'a> Mail<'a> {
    /// To the milter listener, no XCLIENT, EHLO client.test.
    pub fn new(from: &'a str, to: &[&'a str], data: &'a [u8]) -> Mail<'a> {
        Mail {
            from,
            to: to.to_vec(),
            data,
            xclient: None,
            port: Listener::Milter,
            helo: "client.test",
            swaks_args: Vec::new(),
        }
    }
    pub fn port(mut self, port: Listener) -> Self {
        self.port = port;
        self
    }
    pub fn xclient(mut self, x: Xclient) -> Self {
        self.xclient = Some(x);
        self
    }
}

/// What swaks reported.
#[derive(Clone, Debug)]
pub struct SendResult {
    /// swaks's exit code: 0 accepted, 2 connect failed, 21 banner, 23 MAIL FROM rejected,
    /// 24 no RCPT accepted, 25 DATA rejected, 26 message rejected after the final "." (milter
    /// reject/tempfail at end of message), 33 XCLIENT failed. -1 if swaks was killed by a signal.
    pub code: i32,
    /// swaks's transcript (stdout + stderr; the DATA lines summarised).
    pub transcript: String,
    /// Postfix's queue id from `250 2.0.0 Ok: queued as ID`.
    pub queue_id: Option<String>,
    /// The last server reply line before QUIT (or the last one at all), e.g.
    /// `250 2.0.0 Ok: queued as 91D1298C001` or `451 4.7.1 Service unavailable - try again later`.
    pub last_reply: String,
}

impl SendResult {
    /// The SMTP code of [`SendResult::last_reply`] (0 when there was no reply).
    pub fn smtp_code(&self) -> u16 {
        self.last_reply
            .get(..3)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0)
    }
}

/// A message smtp-sink captured.
#[derive(Clone, Debug)]
pub struct Delivered {
    pub path: PathBuf,
    /// The dump file as smtp-sink wrote it (LF line ends, dot-unstuffed).
    pub raw: Vec<u8>,
    /// smtp-sink's own leading lines (`X-Client-Addr: ...`, `X-Mail-Args: ...`, `X-Rcpt-Args: ...`).
    pub sink_lines: Vec<String>,
    /// The message as Postfix relayed it (CRLF line ends, dot-unstuffed), without smtp-sink's own
    /// lines and its own `Received:` header: it begins with Postfix's `Received:`.
    pub message: Vec<u8>,
    /// Postfix's queue id for it (from Postfix's `Received: ... with ESMTP id ID`).
    pub queue_id: Option<String>,
}

impl Delivered {
    /// The header section, CRLF line ends, without the blank line.
    pub fn head(&self) -> &[u8] {
        split_head(&self.message).0
    }
    /// The body (after the first blank line).
    pub fn body(&self) -> &[u8] {
        split_head(&self.message).1
    }
    /// All values of a header (name case-insensitive), unfolded (CRLF + WSP -> WSP) and trimmed,
    /// decoded as UTF-8 lossily (encoded words are left as they are).
    pub fn headers(&self, name: &str) -> Vec<String> {
        header_values(self.head(), name)
    }
    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers(name).into_iter().next()
    }
    /// The envelope recipients (from smtp-sink's `X-Rcpt-Args: <addr> ...` lines).
    pub fn rcpts(&self) -> Vec<String> {
        self.sink_lines
            .iter()
            .filter_map(|l| l.strip_prefix("X-Rcpt-Args: "))
            .filter_map(angle)
            .collect()
    }
    /// The envelope sender (from `X-Mail-Args: <addr> ...`).
    pub fn mail_from(&self) -> Option<String> {
        self.sink_lines
            .iter()
            .find_map(|l| l.strip_prefix("X-Mail-Args: "))
            .and_then(angle)
    }
}

fn angle(s: &str) -> Option<String> {
    let s = s.trim_start().strip_prefix('<')?;
    Some(s[..s.find('>')?].to_string())
}

/// The first message whose header `name` has exactly `value` (trimmed, unfolded), e.g.
/// `find(&list, "Message-ID", "<x@y>")`.
pub fn find<'a>(delivered: &'a [Delivered], name: &str, value: &str) -> Option<&'a Delivered> {
    delivered
        .iter()
        .find(|d| d.headers(name).iter().any(|v| v == value.trim()))
}

/// An entry of `postqueue -j`.
#[derive(Clone, Debug)]
pub struct QueueEntry {
    pub queue_id: String,
    /// `active`, `deferred`, `hold`, `incoming`, `maildrop`.
    pub queue_name: String,
    pub sender: String,
    /// (address, delay reason) per recipient.
    pub recipients: Vec<(String, String)>,
}

/// A running throwaway Postfix + smtp-sink. See the module documentation.
pub struct Rig {
    /// The rig's directory: `etc/` (main.cf, master.cf), `spool/`, `data/`, `log/maillog`,
    /// `log/smtp-sink.log`, `sink/` (one file per delivered transaction), `swaks/`.
    pub dir: PathBuf,
    /// Postfix smtpd with the milter.
    pub smtp_port: u16,
    /// Postfix smtpd without milters (baseline; the quarantine's release relay).
    pub nomilter_port: u16,
    /// smtp-sink.
    pub sink_port: u16,
    /// The milter spec Postfix calls on `smtp_port`.
    pub milter: Option<String>,
    sink: Option<Child>,
    master_pid: Option<u32>,
    keep: bool,
    stopped: bool,
    sent_log: Mutex<SentLog>,
}

/// Which Postfix queue ids the maillog shows as relayed to the sink (read incrementally).
#[derive(Default)]
struct SentLog {
    offset: u64,
    sent: HashSet<String>,
}

static PORTS_HANDED_OUT: Mutex<Vec<u16>> = Mutex::new(Vec::new());
static COUNTER: AtomicU64 = AtomicU64::new(0);

fn random_u64() -> u64 {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    // splitmix64 of time, pid and a counter
    let mut z = t ^ (u64::from(std::process::id()) << 32) ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rig {
    /// A TCP port on 127.0.0.1 that nothing listens on now and that this process has not handed
    /// out before. Picked below the kernel's ephemeral range (`ip_local_port_range`), so that the
    /// many outgoing connections of a test (Postfix -> sink, Postfix -> milter, clients) cannot take
    /// it before its server binds it; falls back to binding port 0.
    pub fn free_port() -> u16 {
        let low = fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse::<u32>().ok())
            .unwrap_or(32768);
        let mut used = PORTS_HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
        let free = |p: u16| {
            TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, p)).is_ok()
                && TcpStream::connect_timeout(
                    &SocketAddrV4::new(Ipv4Addr::LOCALHOST, p).into(),
                    Duration::from_millis(200),
                )
                .is_err()
        };
        if low > 12000 {
            for _ in 0..500 {
                let p = (10000 + random_u64() % u64::from(low - 10000)) as u16;
                if !used.contains(&p) && free(p) {
                    used.push(p);
                    return p;
                }
            }
        }
        loop {
            let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
            let p = l.local_addr().expect("local addr").port();
            if !used.contains(&p) {
                used.push(p);
                return p;
            }
        }
    }

    /// Start smtp-sink and Postfix on new ports in a new directory under /tmp, and wait until
    /// smtp-sink listens, `nomilter_port` answers with smtpd's `220` banner and `smtp_port` is bound
    /// (not connected to: the milter sees no session from the start-up).
    pub fn start(opts: RigOptions) -> Result<Rig, String> {
        if !is_root() {
            return Err("the Postfix rig must run as root".into());
        }
        let dir = new_dir()?;
        let mut rig = Rig {
            dir,
            smtp_port: Rig::free_port(),
            nomilter_port: Rig::free_port(),
            sink_port: Rig::free_port(),
            milter: opts.milter.clone(),
            sink: None,
            master_pid: None,
            keep: false,
            stopped: false,
            sent_log: Mutex::new(SentLog::default()),
        };
        match rig.start_inner(&opts) {
            Ok(()) => {
                eprintln!(
                    "rig: {} smtpd(milter {}) 127.0.0.1:{}, smtpd(no milter) 127.0.0.1:{}, smtp-sink 127.0.0.1:{}",
                    rig.dir.display(),
                    rig.milter.as_deref().unwrap_or("none"),
                    rig.smtp_port,
                    rig.nomilter_port,
                    rig.sink_port
                );
                Ok(rig)
            }
            Err(e) => {
                rig.keep = true;
                let log = rig.maillog();
                let tail: Vec<&str> = log.lines().rev().take(20).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                rig.stop();
                Err(format!(
                    "{e}\n(rig kept in {}; maillog tail:)\n{}",
                    rig.dir.display(),
                    tail.join("\n")
                ))
            }
        }
    }

    fn start_inner(&mut self, opts: &RigOptions) -> Result<(), String> {
        let d = &self.dir;
        for sub in ["etc", "spool", "data", "log", "sink", "swaks"] {
            fs::create_dir_all(d.join(sub)).map_err(|e| format!("mkdir {sub}: {e}"))?;
        }
        let (pf_uid, pf_gid) = (user_id("postfix")?, group_id("postfix")?);
        let (nobody, nogroup) = (user_id("nobody")?, group_id("nogroup")?);
        // data_directory must belong to postfix (master.lock); the sink dumps as nobody
        std::os::unix::fs::chown(d.join("data"), Some(pf_uid), Some(pf_gid))
            .map_err(|e| format!("chown data: {e}"))?;
        fs::set_permissions(d.join("data"), fs::Permissions::from_mode(0o700))
            .map_err(|e| e.to_string())?;
        std::os::unix::fs::chown(d.join("sink"), Some(nobody), Some(nogroup))
            .map_err(|e| format!("chown sink: {e}"))?;
        fs::write(
            d.join("etc/main.cf"),
            self.main_cf_text(&opts.extra_main_cf),
        )
        .map_err(|e| format!("write main.cf: {e}"))?;
        fs::write(
            d.join("etc/master.cf"),
            self.master_cf_text(&opts.extra_master_cf),
        )
        .map_err(|e| format!("write master.cf: {e}"))?;

        // 1) the capture sink (as root it must drop to a user that owns the dump dir)
        let sink_log = fs::File::create(d.join("log/smtp-sink.log")).map_err(|e| e.to_string())?;
        let sink_log2 = sink_log.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new(SMTP_SINK)
            .args(["-4", "-u", "nobody", "-h", "sink.localdomain", "-d"])
            .arg(format!("{}/sink/%Y%m%d%H%M%S.", d.display()))
            .arg(format!("127.0.0.1:{}", self.sink_port))
            .arg("256")
            .stdin(Stdio::null())
            .stdout(sink_log)
            .stderr(sink_log2)
            .spawn()
            .map_err(|e| format!("start {SMTP_SINK}: {e}"))?;
        self.sink = Some(child);
        let deadline = Instant::now() + opts.start_timeout;
        while TcpStream::connect(("127.0.0.1", self.sink_port)).is_err() {
            if let Some(Ok(Some(st))) = self.sink.as_mut().map(|c| c.try_wait()) {
                return Err(format!(
                    "smtp-sink exited ({st}): {}",
                    fs::read_to_string(d.join("log/smtp-sink.log")).unwrap_or_default()
                ));
            }
            if Instant::now() > deadline {
                return Err(format!("smtp-sink does not listen on {}", self.sink_port));
            }
            std::thread::sleep(Duration::from_millis(20));
        }

        // 2) Postfix (start checks the configuration, creates the queue, daemonizes master)
        let out = Command::new(POSTFIX)
            .arg("-c")
            .arg(d.join("etc"))
            .arg("start")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("run {POSTFIX}: {e}"))?;
        if let Ok(pid) = fs::read_to_string(d.join("spool/pid/master.pid")) {
            self.master_pid = pid.trim().parse().ok();
        }
        if !out.status.success() {
            return Err(format!(
                "postfix -c {}/etc start: {}\n{}{}",
                d.display(),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        // master.pid appears once master has daemonized
        let deadline2 = Instant::now() + opts.start_timeout;
        while self.master_pid.is_none() {
            if let Ok(pid) = fs::read_to_string(d.join("spool/pid/master.pid")) {
                self.master_pid = pid.trim().parse().ok();
            }
            if self.master_pid.is_none() {
                if Instant::now() > deadline2 {
                    return Err("postfix master.pid did not appear".into());
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        // master binds every listener itself at start; smtpd's banner on the milter-less port proves
        // smtpd starts with this configuration. The milter port is not probed: the milter would see
        // a session of its own (a CONNECT from 127.0.0.1, then QUIT).
        wait_banner(self.nomilter_port, deadline)?;
        if TcpListener::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, self.smtp_port)).is_ok() {
            return Err(format!("Postfix does not listen on {}", self.smtp_port));
        }
        Ok(())
    }

    fn main_cf_text(&self, extra: &str) -> String {
        let d = self.dir.display();
        let milter = self.milter.as_deref().unwrap_or("");
        let base = format!(
            "# throwaway Postfix for fumidai's tests: postfix -c {d}/etc start|stop|status
compatibility_level = 3.6
queue_directory = {d}/spool
data_directory = {d}/data
maillog_file = {d}/log/maillog
maillog_file_prefixes = {d}
# no DNS anywhere
myhostname = {HOSTNAME}
mydomain = localdomain
myorigin = $myhostname
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
smtp_address_preference = ipv4
# nothing is local: every recipient (any domain) is relayed to smtp-sink, also from XCLIENT ADDR=<Internet>
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
mynetworks = 127.0.0.0/8
relay_domains = static:all
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
relayhost = [127.0.0.1]:{sink}
# tests pretend client addresses and SASL logins: XCLIENT ADDR=203.0.113.7 LOGIN=alice
smtpd_authorized_xclient_hosts = 127.0.0.0/8
smtp_tls_security_level = none
smtpd_tls_security_level = none
biff = no
# retry quickly in tests if the sink was briefly down
queue_run_delay = 2s
minimal_backoff_time = 2s
maximal_backoff_time = 10s
# the milter under test (on smtp_port; nomilter_port switches it off)
smtpd_milters = {milter}
non_smtpd_milters =
milter_default_action = tempfail
milter_protocol = 6
milter_connect_timeout = 5s
milter_command_timeout = 10s
milter_content_timeout = 60s
",
            sink = self.sink_port,
        );
        let overridden: HashSet<String> = extra.lines().filter_map(param_name).collect();
        let mut text = String::new();
        for line in base.lines() {
            match param_name(line) {
                Some(name) if overridden.contains(&name) => {
                    text.push_str("# (set in the extra lines below) ");
                    text.push_str(line);
                }
                _ => text.push_str(line),
            }
            text.push('\n');
        }
        if !extra.is_empty() {
            text.push_str("# ---- RigOptions::extra_main_cf\n");
            text.push_str(extra);
            if !extra.ends_with('\n') {
                text.push('\n');
            }
        }
        text
    }

    fn master_cf_text(&self, extra: &str) -> String {
        let mut text = format!(
            "# own master.cf: no service is chrooted
127.0.0.1:{smtp} inet n - n - - smtpd
127.0.0.1:{nomilter} inet n - n - - smtpd -o smtpd_milters= -o non_smtpd_milters=
pickup     unix  n - n 60 1 pickup
cleanup    unix  n - n -  0 cleanup
qmgr       unix  n - n 300 1 qmgr
rewrite    unix  - - n -  - trivial-rewrite
bounce     unix  - - n -  0 bounce
defer      unix  - - n -  0 bounce
trace      unix  - - n -  0 bounce
verify     unix  - - n -  1 verify
flush      unix  n - n 1000? 0 flush
proxymap   unix  - - n -  - proxymap
proxywrite unix  - - n -  1 proxymap
smtp       unix  - - n -  - smtp
relay      unix  - - n -  - smtp
showq      unix  n - n -  - showq
error      unix  - - n -  - error
retry      unix  - - n -  - error
discard    unix  - - n -  - discard
local      unix  - n n -  - local
virtual    unix  - n n -  - virtual
lmtp       unix  - - n -  - lmtp
anvil      unix  - - n -  1 anvil
scache     unix  - - n -  1 scache
postlog    unix-dgram n - n - 1 postlogd
",
            smtp = self.smtp_port,
            nomilter = self.nomilter_port
        );
        if !extra.is_empty() {
            text.push_str(extra);
            if !extra.ends_with('\n') {
                text.push('\n');
            }
        }
        text
    }

    /// `DIR/etc`, for `postfix -c`, `postqueue -c`, `postconf -c`.
    pub fn config_dir(&self) -> PathBuf {
        self.dir.join("etc")
    }

    /// The port of a listener.
    pub fn port(&self, l: Listener) -> u16 {
        match l {
            Listener::Milter => self.smtp_port,
            Listener::NoMilter => self.nomilter_port,
            Listener::Port(p) => p,
        }
    }

    /// `127.0.0.1:NOMILTER_PORT` (the release relay for the quarantine).
    pub fn release_relay(&self) -> String {
        format!("127.0.0.1:{}", self.nomilter_port)
    }

    /// Send one message with swaks (see [`Mail`]). Never panics on an SMTP failure: look at `code`.
    pub fn send(&self, m: &Mail) -> SendResult {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let file = self
            .dir
            .join(format!("swaks/{}-{n}.data", std::process::id()));
        let mut data = dot_stuff(m.data);
        data.push(b'.'); // swaks adds the CRLF after it
        if let Err(e) = fs::write(&file, &data) {
            return SendResult {
                code: -1,
                transcript: format!("write {}: {e}", file.display()),
                queue_id: None,
                last_reply: String::new(),
            };
        }
        let mut cmd = Command::new(SWAKS);
        cmd.arg("--server")
            .arg(format!("127.0.0.1:{}", self.port(m.port)))
            .args(["--helo", m.helo, "--from", m.from, "--to"])
            .arg(m.to.join(","))
            .arg("--data")
            .arg(format!("@{}", file.display()))
            .args(["--no-data-fixup", "--suppress-data", "--timeout", "120"]);
        if let Some(x) = &m.xclient {
            let opt = |cmd: &mut Command, name: &str, v: &Option<String>| {
                if let Some(v) = v {
                    cmd.arg(name).arg(v);
                }
            };
            opt(&mut cmd, "--xclient-addr", &x.addr);
            opt(&mut cmd, "--xclient-login", &x.login);
            opt(&mut cmd, "--xclient-name", &x.name);
            opt(&mut cmd, "--xclient-helo", &x.helo);
            opt(&mut cmd, "--xclient-proto", &x.proto);
            opt(&mut cmd, "--xclient-port", &x.port.map(|p| p.to_string()));
        }
        cmd.args(&m.swaks_args).stdin(Stdio::null());
        let out = match cmd.output() {
            Ok(o) => o,
            Err(e) => {
                return SendResult {
                    code: -1,
                    transcript: format!("run {SWAKS}: {e}"),
                    queue_id: None,
                    last_reply: String::new(),
                }
            }
        };
        let _ = fs::remove_file(&file);
        let transcript = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let last_reply = last_reply(&transcript);
        let queue_id = transcript
            .lines()
            .filter(|l| l.starts_with("<-") || l.starts_with("<**"))
            .find_map(|l| l.split("queued as ").nth(1))
            .map(|q| q.trim().to_string());
        SendResult {
            code: out.status.code().unwrap_or(-1),
            transcript,
            queue_id,
            last_reply,
        }
    }

    /// The paths of all dump files smtp-sink has created so far (complete or not).
    pub fn sink_files(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = fs::read_dir(self.dir.join("sink"))
            .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        files.sort();
        files
    }

    /// The messages smtp-sink has captured completely so far (Postfix logged `status=sent` for them),
    /// in the order the sink received them.
    pub fn delivered(&self) -> Vec<Delivered> {
        let sent = self.sent_queue_ids();
        let mut out: Vec<(SystemTime, Delivered)> = Vec::new();
        for path in self.sink_files() {
            let Ok(meta) = fs::metadata(&path) else {
                continue;
            };
            let Ok(raw) = fs::read(&path) else { continue };
            let d = parse_dump(path, raw);
            let mtime = meta.modified().unwrap_or(UNIX_EPOCH);
            let complete = match &d.queue_id {
                Some(q) => sent.contains(q),
                // not relayed by this Postfix (no Received of ours): trust it once it is 2 s old
                None => mtime
                    .elapsed()
                    .map(|e| e > Duration::from_secs(2))
                    .unwrap_or(false),
            };
            if complete {
                out.push((mtime, d));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.path.cmp(&b.1.path)));
        out.into_iter().map(|(_, d)| d).collect()
    }

    /// Wait until a message whose header `name` is `value` has been delivered to the sink.
    pub fn wait_for_header(
        &self,
        name: &str,
        value: &str,
        timeout: Duration,
    ) -> Result<Delivered, String> {
        let deadline = Instant::now() + timeout;
        loop {
            let d = self.delivered();
            if let Some(m) = find(&d, name, value) {
                return Ok(m.clone());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "no delivered message with {name}: {value} after {timeout:?} ({} delivered); queue: {:?}",
                    d.len(),
                    self.queue()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Postfix queue ids the maillog shows as relayed to the sink (`status=sent`).
    pub fn sent_queue_ids(&self) -> HashSet<String> {
        let mut log = self.sent_log.lock().unwrap_or_else(|e| e.into_inner());
        if let Ok(mut f) = fs::File::open(self.maillog_path()) {
            use std::io::Seek;
            if f.seek(std::io::SeekFrom::Start(log.offset)).is_ok() {
                let mut buf = Vec::new();
                let _ = f.read_to_end(&mut buf);
                // only whole lines
                let end = buf.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
                let relay = format!(":{}, ", self.sink_port);
                for line in String::from_utf8_lossy(&buf[..end]).lines() {
                    if line.contains("status=sent") && line.contains(&relay) {
                        if let Some(qid) = line
                            .split("]: ")
                            .nth(1)
                            .and_then(|r| r.split(": to=<").next())
                        {
                            log.sent.insert(qid.to_string());
                        }
                    }
                }
                log.offset += end as u64;
            }
        }
        log.sent.clone()
    }

    pub fn maillog_path(&self) -> PathBuf {
        self.dir.join("log/maillog")
    }

    /// Postfix's log (everything it logged, including `postfix start/stop`).
    pub fn maillog(&self) -> String {
        fs::read(self.maillog_path())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    }

    /// The maillog lines that mention a queue id.
    pub fn maillog_for(&self, queue_id: &str) -> Vec<String> {
        let key = format!("{queue_id}: ");
        self.maillog()
            .lines()
            .filter(|l| l.contains(&key))
            .map(str::to_string)
            .collect()
    }

    /// `postqueue -c DIR -j`: what is in the queue (active, deferred, hold, incoming).
    pub fn queue(&self) -> Vec<QueueEntry> {
        let Ok(out) = Command::new(POSTQUEUE)
            .arg("-c")
            .arg(self.config_dir())
            .arg("-j")
            .stdin(Stdio::null())
            .output()
        else {
            return Vec::new();
        };
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .map(|v| {
                let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
                QueueEntry {
                    queue_id: s("queue_id"),
                    queue_name: s("queue_name"),
                    sender: s("sender"),
                    recipients: v["recipients"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .map(|r| {
                                    (
                                        r["address"].as_str().unwrap_or_default().to_string(),
                                        r["delay_reason"].as_str().unwrap_or_default().to_string(),
                                    )
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                }
            })
            .collect()
    }

    pub fn queue_is_empty(&self) -> bool {
        self.queue().is_empty()
    }

    /// Wait until the queue is empty.
    pub fn wait_queue_empty(&self, timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            let q = self.queue();
            if q.is_empty() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("queue not empty after {timeout:?}: {q:?}"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `postqueue -c DIR -f`: retry deferred mail now.
    pub fn flush(&self) -> Result<(), String> {
        let out = Command::new(POSTQUEUE)
            .arg("-c")
            .arg(self.config_dir())
            .arg("-f")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("postqueue -f: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "postqueue -f: {}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// `postconf -c DIR -h NAME`: a parameter's effective value.
    pub fn postconf(&self, name: &str) -> String {
        Command::new("/usr/sbin/postconf")
            .arg("-c")
            .arg(self.config_dir())
            .args(["-h", name])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    }

    /// Keep the directory when the rig is dropped (as `RIG_KEEP=1` does).
    pub fn keep(&mut self) {
        self.keep = true;
    }

    /// Stop Postfix (and wait until its processes are gone; zombies count as gone) and smtp-sink.
    /// Only what this rig started is signalled. Idempotent; the directory stays until drop.
    pub fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        if self.dir.join("etc/main.cf").is_file() && self.master_pid.is_some() {
            let _ = Command::new(POSTFIX)
                .arg("-c")
                .arg(self.config_dir())
                .arg("stop")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        if let Some(pgid) = self.master_pid {
            // Postfix's children share master's process group
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let left = live_group_members(pgid);
                if left.is_empty() {
                    break;
                }
                if Instant::now() > deadline {
                    eprintln!("rig: postfix processes {left:?} (pgid {pgid}) still alive: SIGKILL");
                    for pid in left {
                        signal(pid, "KILL");
                    }
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        if let Some(mut child) = self.sink.take() {
            signal(child.id(), "TERM");
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                match child.try_wait() {
                    Ok(Some(_)) | Err(_) => break,
                    Ok(None) if Instant::now() > deadline => {
                        let _ = child.kill();
                        let _ = child.wait();
                        break;
                    }
                    Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        }
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        self.stop();
        let keep = self.keep
            || std::thread::panicking()
            || std::env::var("RIG_KEEP").as_deref() == Ok("1");
        if keep {
            eprintln!(
                "rig: kept {} (maillog: {})",
                self.dir.display(),
                self.maillog_path().display()
            );
        } else if self.dir.starts_with("/tmp") {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// A message as it goes on the wire between DATA and the final ".": line ends normalised to CRLF
/// (bare LF -> CRLF; a last line without one gets one), lines starting with "." dot-stuffed. The
/// terminating ".\r\n" is not included.
pub fn dot_stuff(msg: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(msg.len() + msg.len() / 50 + 8);
    if msg.is_empty() {
        return out;
    }
    let body = msg.strip_suffix(b"\n").unwrap_or(msg);
    for line in body.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.first() == Some(&b'.') {
            out.push(b'.');
        }
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// The message with line ends normalised to CRLF (what Postfix makes of it), for comparisons.
pub fn crlf(msg: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(msg.len() + msg.len() / 50);
    if msg.is_empty() {
        return out;
    }
    let body = msg.strip_suffix(b"\n").unwrap_or(msg);
    for line in body.split(|&b| b == b'\n') {
        out.extend_from_slice(line.strip_suffix(b"\r").unwrap_or(line));
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// (header section without the blank line, body)
pub fn split_head(msg: &[u8]) -> (&[u8], &[u8]) {
    if msg.starts_with(b"\r\n") {
        return (&msg[..0], &msg[2..]);
    }
    match msg.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(p) => (&msg[..p + 2], &msg[p + 4..]),
        None => (msg, &msg[msg.len()..]),
    }
}

/// Values of header `name` in a CRLF header section, unfolded and trimmed.
pub fn header_values(head: &[u8], name: &str) -> Vec<String> {
    let text = String::from_utf8_lossy(head);
    let mut fields: Vec<String> = Vec::new();
    for line in text.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = fields.last_mut() {
                last.push_str(line);
            }
        } else if !line.is_empty() {
            fields.push(line.to_string());
        }
    }
    fields
        .into_iter()
        .filter_map(|f| {
            let (n, v) = f.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
        .collect()
}

/// Parse an smtp-sink dump: its own `X-...` lines, its own `Received:` (folded), then the message
/// with LF line ends and one extra trailing LF that smtp-sink writes after the message.
pub fn parse_dump(path: PathBuf, raw: Vec<u8>) -> Delivered {
    const OWN: [&str; 5] = [
        "X-Client-Addr:",
        "X-Client-Proto:",
        "X-Helo-Args:",
        "X-Mail-Args:",
        "X-Rcpt-Args:",
    ];
    let mut pos = 0;
    let mut sink_lines = Vec::new();
    let next_line = |pos: usize| -> (usize, &[u8]) {
        let end = raw[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(raw.len(), |p| pos + p + 1);
        (end, &raw[pos..end])
    };
    while pos < raw.len() {
        let (end, line) = next_line(pos);
        let s = String::from_utf8_lossy(line);
        if OWN.iter().any(|p| s.starts_with(p)) {
            sink_lines.push(s.trim_end().to_string());
            pos = end;
        } else {
            break;
        }
    }
    // smtp-sink's own Received: header and its continuation lines
    let (end, line) = next_line(pos);
    if line.starts_with(b"Received: ") {
        let mut p = end;
        let mut field = line.to_vec();
        while p < raw.len() && matches!(raw[p], b' ' | b'\t') {
            let (e, l) = next_line(p);
            field.extend_from_slice(l);
            p = e;
        }
        if String::from_utf8_lossy(&field).contains("(smtp-sink)") {
            pos = p;
        }
    }
    let mut rest = &raw[pos..];
    if rest.ends_with(b"\n\n") {
        rest = &rest[..rest.len() - 1];
    }
    let message = crlf(rest);
    let queue_id = header_values(split_head(&message).0, "Received")
        .into_iter()
        .find(|v| v.contains("(Postfix) with "))
        .and_then(|v| {
            let after = v.split(" id ").nth(1)?;
            let id: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            (!id.is_empty()).then_some(id)
        });
    Delivered {
        path,
        raw,
        sink_lines,
        message,
        queue_id,
    }
}

/// The last server reply line in a swaks transcript that is not the answer to QUIT.
fn last_reply(transcript: &str) -> String {
    let mut last = String::new();
    for line in transcript.lines() {
        if line.starts_with(" -> QUIT") {
            break;
        }
        let reply = line
            .strip_prefix("<-  ")
            .or_else(|| line.strip_prefix("<** "))
            .map(str::trim);
        if let Some(r) = reply {
            if r.len() >= 3 && r.as_bytes()[..3].iter().all(u8::is_ascii_digit) {
                last = r.to_string();
            }
        }
    }
    last
}

fn wait_banner(port: u16, deadline: Instant) -> Result<(), String> {
    let mut last_err = String::new();
    while Instant::now() < deadline {
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(s) => {
                let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                let mut r = BufReader::new(&s);
                let mut line = String::new();
                match r.read_line(&mut line) {
                    Ok(_) if line.starts_with("220") => {
                        let _ = (&s).write_all(b"QUIT\r\n");
                        let mut sink = String::new();
                        let _ = r.read_line(&mut sink);
                        return Ok(());
                    }
                    Ok(_) => last_err = format!("banner {line:?}"),
                    Err(e) => last_err = format!("reading the banner: {e}"),
                }
            }
            Err(e) => last_err = e.to_string(),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!(
        "Postfix smtpd on 127.0.0.1:{port} did not send its 220 banner: {last_err}"
    ))
}

fn new_dir() -> Result<PathBuf, String> {
    for _ in 0..100 {
        let dir = PathBuf::from(format!(
            "/tmp/fumidai-rig.{}.{:08x}",
            std::process::id(),
            random_u64() as u32
        ));
        match fs::create_dir(&dir) {
            Ok(()) => {
                // postfix and nobody must traverse it
                fs::set_permissions(&dir, fs::Permissions::from_mode(0o755))
                    .map_err(|e| e.to_string())?;
                return Ok(dir);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(format!("mkdir {}: {e}", dir.display())),
        }
    }
    Err("no new directory under /tmp".into())
}

/// The parameter a main.cf line sets (`name = value`), if any.
fn param_name(line: &str) -> Option<String> {
    if line.starts_with([' ', '\t', '#']) {
        return None;
    }
    let (name, _) = line.split_once('=')?;
    let name = name.trim();
    (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then(|| name.to_string())
}

fn id_from(file: &str, name: &str, field: usize) -> Result<u32, String> {
    fs::read_to_string(file)
        .map_err(|e| format!("{file}: {e}"))?
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.first() == Some(&name))
        .and_then(|f| f.get(field)?.parse().ok())
        .ok_or_else(|| format!("no {name} in {file}"))
}

fn user_id(name: &str) -> Result<u32, String> {
    id_from("/etc/passwd", name, 2)
}

fn group_id(name: &str) -> Result<u32, String> {
    id_from("/etc/group", name, 2)
}

/// Processes of process group `pgid` that are alive (zombies are gone for us: PID 1 reaps late).
fn live_group_members(pgid: u32) -> Vec<u32> {
    let mut pids = Vec::new();
    let Ok(rd) = fs::read_dir("/proc") else {
        return pids;
    };
    for e in rd.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // after "(comm) ": state ppid pgrp ...
        let Some(rest) = stat.rsplit_once(") ").map(|(_, r)| r) else {
            continue;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        if f.len() > 2 && f[0] != "Z" && f[2].parse::<u32>().ok() == Some(pgid) {
            pids.push(pid);
        }
    }
    pids
}

fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}
