//! Postfix mail logs: `qmgr` `from=<...>` lines joined by queue id with delivery lines
//! (`smtp`, `lmtp`, `local`, `virtual`, `pipe`) that say `status=sent`. Deferred and bounced deliveries
//! and null-sender (bounce) messages give nothing. Memory is bounded: a queue id is forgotten when
//! `qmgr` logs `removed`, and the oldest ids are dropped past `max_queue_ids`.

use super::time::{parse_rfc3339, parse_syslog_stamp, unix_time};
use super::{CountingReader, ImportStats, Progress};
use crate::address::normalise_address;
use crate::HistoryConfig;
use fumidai_store::{Direction, Exchange};
use memchr::memmem;
use std::collections::{HashMap, VecDeque};
use std::io::{self, BufRead, BufReader};
use std::sync::LazyLock;

/// How to read a log whose syslog timestamps carry neither year nor zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostfixOptions {
    /// Year of the first syslog-stamped line; the year rolls over when the month steps back by more than
    /// six (December to January). RFC 3339 stamps carry their own year.
    pub first_year: i32,
    /// The logging host's offset from UTC in seconds for syslog stamps (JST: 32400).
    pub utc_offset_seconds: i32,
    /// Queue ids remembered at most (oldest forgotten first).
    pub max_queue_ids: usize,
}

impl PostfixOptions {
    pub fn new(first_year: i32) -> Self {
        PostfixOptions {
            first_year,
            utc_offset_seconds: 0,
            max_queue_ids: 1_000_000,
        }
    }
}

struct Queued {
    /// Lower-cased sender; `None` for the null sender `<>`.
    from: Option<String>,
    from_local: bool,
    seq: u64,
}

static STATUS_SENT: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new(b", status=sent "));

/// Exchanges from a Postfix log, one per delivered (local, external) recipient line.
pub struct PostfixLog<'c, 'p, R> {
    reader: BufReader<CountingReader<'p, R>>,
    cfg: &'c HistoryConfig,
    opts: PostfixOptions,
    line: Vec<u8>,
    year: i64,
    last_month: u32,
    queue: HashMap<Box<[u8]>, Queued>,
    order: VecDeque<(Box<[u8]>, u64)>,
    seq: u64,
    done: bool,
    stats: ImportStats,
}

/// The next space-separated token of `s` from `*i`, advancing past it and the following spaces.
fn token<'a>(s: &'a [u8], i: &mut usize) -> Option<&'a [u8]> {
    let rest = s.get(*i..)?;
    let end = memchr::memchr(b' ', rest).unwrap_or(rest.len());
    let t = rest.get(..end)?;
    *i = i.saturating_add(end);
    while s.get(*i) == Some(&b' ') {
        *i += 1;
    }
    Some(t)
}

/// The address inside `key=<...>` at the start of `s`.
fn angle_value<'a>(s: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let rest = s.strip_prefix(key)?.strip_prefix(b"<")?;
    let end = memchr::memchr(b'>', rest)?;
    rest.get(..end)
}

impl<'c, 'p, R: io::Read> PostfixLog<'c, 'p, R> {
    pub fn new(
        reader: R,
        cfg: &'c HistoryConfig,
        opts: PostfixOptions,
        progress: Progress<'p>,
    ) -> Self {
        PostfixLog {
            reader: BufReader::with_capacity(256 << 10, CountingReader::new(reader, progress)),
            cfg,
            year: i64::from(opts.first_year),
            opts,
            line: Vec::with_capacity(512),
            last_month: 0,
            queue: HashMap::new(),
            order: VecDeque::new(),
            seq: 0,
            done: false,
            stats: ImportStats::default(),
        }
    }

    pub fn stats(&self) -> ImportStats {
        let mut s = self.stats;
        s.bytes = self.reader.get_ref().bytes();
        s
    }

    /// Queue ids currently remembered.
    pub fn queued(&self) -> usize {
        self.queue.len()
    }

    /// The stamp at the start of `line` as Unix seconds, and where the host name starts.
    fn stamp(&mut self, line: &[u8]) -> Option<(i64, usize)> {
        if line.first().is_some_and(u8::is_ascii_digit) {
            let end = memchr::memchr(b' ', line)?;
            return Some((parse_rfc3339(line.get(..end)?)?, end + 1));
        }
        let ((mo, d, h, mi, s), used) = parse_syslog_stamp(line)?;
        if self.last_month != 0 && mo.saturating_add(6) < self.last_month {
            self.year += 1;
        }
        self.last_month = mo;
        let t = unix_time(self.year, mo, d, h, mi, s)?;
        Some((t - i64::from(self.opts.utc_offset_seconds), used + 1))
    }

    fn remember(&mut self, id: &[u8], from: Option<String>) {
        self.seq += 1;
        let from_local = from.as_deref().is_some_and(|f| self.cfg.is_local(f));
        let key: Box<[u8]> = id.into();
        self.queue.insert(
            key.clone(),
            Queued {
                from,
                from_local,
                seq: self.seq,
            },
        );
        self.order.push_back((key, self.seq));
        while self.queue.len() > self.opts.max_queue_ids.max(1) {
            let Some((old, seq)) = self.order.pop_front() else {
                break;
            };
            if self.queue.get(&old).is_some_and(|q| q.seq == seq) {
                self.queue.remove(&old);
            }
        }
        if self.order.len() > self.queue.len().saturating_mul(2).saturating_add(1024) {
            let queue = &self.queue;
            self.order
                .retain(|(k, s)| queue.get(k).is_some_and(|q| q.seq == *s));
        }
    }

    /// Handles one line; returns an exchange when it is a successful delivery between a local and an
    /// external address.
    fn handle(&mut self, line: &[u8]) -> Option<Exchange> {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        // Cheap reject before any timestamp work.
        memmem::find(line, b" postfix")?;
        let (_, mut i) = {
            // Peek the stamp's length without updating the year yet.
            let end = if line.first().is_some_and(u8::is_ascii_digit) {
                memchr::memchr(b' ', line)?.saturating_add(1)
            } else {
                parse_syslog_stamp(line)?.1.saturating_add(1)
            };
            (0, end)
        };
        let _host = token(line, &mut i)?;
        let program = token(line, &mut i)?;
        if !program.starts_with(b"postfix") {
            return None;
        }
        let name_end = memchr::memchr(b'[', program).unwrap_or(program.len());
        let name = program.get(..name_end)?;
        let service = match memchr::memrchr(b'/', name) {
            Some(p) => name.get(p + 1..)?,
            None => return None,
        };
        let id = token(line, &mut i)?.strip_suffix(b":")?;
        if id.is_empty() || id.len() > 32 || !id.iter().all(u8::is_ascii_alphanumeric) {
            return None;
        }
        let rest = line.get(i..)?;
        match service {
            b"qmgr" => {
                if let Some(from) = angle_value(rest, b"from=") {
                    let from = std::str::from_utf8(from).ok().and_then(normalise_address);
                    self.remember(id, from);
                    // Keep the year roll-over current.
                    self.stamp(line);
                } else if rest == b"removed" {
                    self.queue.remove(id);
                }
                None
            }
            b"smtp" | b"lmtp" | b"local" | b"virtual" | b"pipe" => {
                let to = angle_value(rest, b"to=")?;
                STATUS_SENT.find(rest)?;
                let (at, _) = self.stamp(line)?;
                let Some(q) = self.queue.get(id) else {
                    self.stats.skipped += 1;
                    return None;
                };
                let from = q.from.as_deref()?;
                let from_local = q.from_local;
                let to = normalise_address(std::str::from_utf8(to).ok()?)?;
                let to_local = self.cfg.is_local(&to);
                match (from_local, to_local) {
                    (true, false) => Some(Exchange {
                        local: from.to_owned(),
                        external: to,
                        direction: Direction::Outbound,
                        at,
                    }),
                    (false, true) => Some(Exchange {
                        local: to,
                        external: from.to_owned(),
                        direction: Direction::Inbound,
                        at,
                    }),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

impl<R: io::Read> Iterator for PostfixLog<'_, '_, R> {
    type Item = io::Result<Exchange>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.cfg.local_domains.is_empty() {
            return None;
        }
        while !self.done {
            let mut line = std::mem::take(&mut self.line);
            line.clear();
            match self.reader.read_until(b'\n', &mut line) {
                Ok(0) => self.done = true,
                Ok(_) => {
                    self.stats.items += 1;
                    let ex = self.handle(&line);
                    self.line = line;
                    if let Some(ex) = ex {
                        self.stats.exchanges += 1;
                        return Some(Ok(ex));
                    }
                    continue;
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
            self.line = line;
        }
        None
    }
}
