//! Sent-mail (and received-mail) folders: mbox files and Maildir directories. Only the From, To, Cc,
//! Bcc and Date headers are kept; bodies are skipped line by line without being stored.

use super::{push_exchanges, CountingReader, ImportStats, Progress};
use crate::HistoryConfig;
use fumidai_store::Exchange;
use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

/// Header bytes kept per message (From/To/Cc/Bcc/Date only); the rest of a huge header is ignored.
const MAX_KEPT_HEADER: usize = 256 << 10;
/// Header lines read per message before giving up on finding its end.
const MAX_HEADER_LINES: u32 = 20_000;

/// Collects the interesting header fields of one message, unfolded by the parser later.
#[derive(Default)]
struct HeaderCollector {
    kept: Vec<u8>,
    keeping: bool,
    lines: u32,
}

impl HeaderCollector {
    fn clear(&mut self) {
        self.kept.clear();
        self.keeping = false;
        self.lines = 0;
    }

    /// Feeds one header line (with its line ending).
    fn line(&mut self, line: &[u8]) {
        self.lines = self.lines.saturating_add(1);
        let continuation = matches!(line.first(), Some(b' ' | b'\t'));
        if !continuation {
            let name_end = memchr::memchr(b':', line).unwrap_or(0);
            let name = line.get(..name_end).unwrap_or_default();
            self.keeping = [&b"from"[..], b"to", b"cc", b"bcc", b"date"]
                .iter()
                .any(|h| name.eq_ignore_ascii_case(h));
        }
        if self.keeping && self.kept.len().saturating_add(line.len()) <= MAX_KEPT_HEADER {
            self.kept.extend_from_slice(line);
            if !line.ends_with(b"\n") {
                self.kept.push(b'\n');
            }
        }
    }

    /// (sender, recipients, date) of the collected header, if it has a sender and a valid date.
    fn parse(&mut self) -> Option<(String, Vec<String>, i64)> {
        self.kept.extend_from_slice(b"\n");
        let kept = &self.kept;
        std::panic::catch_unwind(|| parse_kept(kept)).ok().flatten()
    }
}

fn parse_kept(kept: &[u8]) -> Option<(String, Vec<String>, i64)> {
    let msg = mail_parser::MessageParser::default().parse_headers(kept)?;
    let date = msg.date().filter(|d| d.is_valid())?.to_timestamp();
    let from = msg.from()?.first()?.address()?.to_owned();
    let mut rcpts = Vec::new();
    for a in [msg.to(), msg.cc(), msg.bcc()].into_iter().flatten() {
        rcpts.extend(a.iter().filter_map(|x| x.address()).map(str::to_owned));
    }
    Some((from, rcpts, date))
}

fn is_blank(line: &[u8]) -> bool {
    line == b"\n" || line == b"\r\n" || line.is_empty()
}

/// Exchanges from an mbox file (mboxo/mboxrd: messages start at a `From ` line after a blank line).
pub struct Mbox<'c, 'p, R> {
    reader: BufReader<CountingReader<'p, R>>,
    cfg: &'c HistoryConfig,
    line: Vec<u8>,
    headers: HeaderCollector,
    in_headers: bool,
    prev_blank: bool,
    first_line: bool,
    done: bool,
    queue: VecDeque<Exchange>,
    stats: ImportStats,
}

impl<'c, 'p, R: io::Read> Mbox<'c, 'p, R> {
    pub fn new(reader: R, cfg: &'c HistoryConfig, progress: Progress<'p>) -> Self {
        Mbox {
            reader: BufReader::with_capacity(256 << 10, CountingReader::new(reader, progress)),
            cfg,
            line: Vec::with_capacity(1024),
            headers: HeaderCollector::default(),
            in_headers: false,
            prev_blank: true,
            first_line: true,
            done: false,
            queue: VecDeque::new(),
            stats: ImportStats::default(),
        }
    }

    pub fn stats(&self) -> ImportStats {
        let mut s = self.stats;
        s.bytes = self.reader.get_ref().bytes();
        s
    }

    fn finish_message(&mut self) {
        self.stats.items += 1;
        match self.headers.parse() {
            Some((from, rcpts, at)) => {
                self.stats.exchanges +=
                    push_exchanges(self.cfg, &from, &rcpts, at, &mut self.queue);
            }
            None => self.stats.skipped += 1,
        }
        self.headers.clear();
    }

    /// Reads lines until at least one exchange is queued or the input ends.
    fn fill(&mut self) -> io::Result<()> {
        while self.queue.is_empty() && !self.done {
            self.line.clear();
            let n = self.reader.read_until(b'\n', &mut self.line)?;
            if n == 0 {
                self.done = true;
                if self.in_headers {
                    self.in_headers = false;
                    self.finish_message();
                }
                break;
            }
            let starts_message = self.line.starts_with(b"From ") && self.prev_blank;
            if self.in_headers {
                if starts_message && self.headers.lines == 0 {
                    // Two From_ lines in a row: the first message was empty.
                    continue;
                }
                if is_blank(&self.line) || self.headers.lines >= MAX_HEADER_LINES {
                    self.in_headers = false;
                    self.finish_message();
                } else {
                    let line = std::mem::take(&mut self.line);
                    self.headers.line(&line);
                    self.line = line;
                }
            } else if starts_message {
                self.in_headers = true;
                self.headers.clear();
            } else if self.first_line {
                // A file that does not start with a From_ line: take it as one message's header.
                self.in_headers = true;
                self.headers.clear();
                let line = std::mem::take(&mut self.line);
                self.headers.line(&line);
                self.line = line;
            }
            self.prev_blank = is_blank(&self.line);
            self.first_line = false;
        }
        Ok(())
    }
}

impl<R: io::Read> Iterator for Mbox<'_, '_, R> {
    type Item = io::Result<Exchange>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.queue.is_empty() {
            if let Err(e) = self.fill() {
                self.done = true;
                return Some(Err(e));
            }
        }
        self.queue.pop_front().map(Ok)
    }
}

/// The message files of a Maildir folder: `cur/` and `new/` (`tmp/` holds half-written files), or the
/// plain files of `dir` when it has neither. Sorted, so an import is reproducible.
pub fn maildir_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let subdirs: Vec<PathBuf> = ["cur", "new"]
        .iter()
        .map(|s| dir.join(s))
        .filter(|p| p.is_dir())
        .collect();
    let dirs = if subdirs.is_empty() {
        vec![dir.to_path_buf()]
    } else {
        subdirs
    };
    let mut files = Vec::new();
    for d in dirs {
        for e in std::fs::read_dir(&d)? {
            let e = e?;
            if e.file_type()?.is_file() {
                files.push(e.path());
            }
        }
    }
    files.sort();
    Ok(files)
}

/// Exchanges from Maildir message files (see [`maildir_files`]); only each file's header is read.
/// A file that vanished or cannot be read is counted as skipped.
pub struct Maildir<'c, 'p> {
    files: std::vec::IntoIter<PathBuf>,
    cfg: &'c HistoryConfig,
    progress: Progress<'p>,
    headers: HeaderCollector,
    line: Vec<u8>,
    queue: VecDeque<Exchange>,
    stats: ImportStats,
}

impl<'c, 'p> Maildir<'c, 'p> {
    pub fn new(files: Vec<PathBuf>, cfg: &'c HistoryConfig, progress: Progress<'p>) -> Self {
        Maildir {
            files: files.into_iter(),
            cfg,
            progress,
            headers: HeaderCollector::default(),
            line: Vec::with_capacity(1024),
            queue: VecDeque::new(),
            stats: ImportStats::default(),
        }
    }

    pub fn stats(&self) -> ImportStats {
        self.stats
    }

    fn read_one(&mut self, path: &Path) -> io::Result<()> {
        let mut r = BufReader::with_capacity(16 << 10, File::open(path)?);
        self.headers.clear();
        loop {
            self.line.clear();
            let n = r.read_until(b'\n', &mut self.line)?;
            self.stats.bytes = self.stats.bytes.saturating_add(n as u64);
            if n == 0 || is_blank(&self.line) || self.headers.lines >= MAX_HEADER_LINES {
                break;
            }
            self.headers.line(&self.line);
        }
        (self.progress)(self.stats.bytes);
        Ok(())
    }
}

impl Iterator for Maildir<'_, '_> {
    type Item = io::Result<Exchange>;

    fn next(&mut self) -> Option<Self::Item> {
        while self.queue.is_empty() {
            let path = self.files.next()?;
            self.stats.items += 1;
            if self.read_one(&path).is_err() {
                self.stats.skipped += 1;
                continue;
            }
            match self.headers.parse() {
                Some((from, rcpts, at)) => {
                    self.stats.exchanges +=
                        push_exchanges(self.cfg, &from, &rcpts, at, &mut self.queue);
                }
                None => self.stats.skipped += 1,
            }
        }
        self.queue.pop_front().map(Ok)
    }
}
