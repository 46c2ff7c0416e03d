//! A CSV of pairs: `local,external,direction,last_seen` (header line first), direction `outbound` /
//! `inbound` (or `out` / `in`), last_seen RFC 3339 or Unix seconds. Fields may be double-quoted. Rows
//! that do not parse are counted as skipped; the first few are kept as messages.

use super::time::parse_rfc3339;
use super::{CountingReader, ImportStats, Progress};
use crate::address::normalise_address;
use crate::HistoryConfig;
use fumidai_store::{Direction, Exchange};
use std::io::{self, BufRead, BufReader};

/// Bad rows described in [`CsvPairs::errors`] at most.
const MAX_ERRORS_KEPT: usize = 20;

/// Exchanges from a CSV of pairs. The local side must be in `local_domains` when that is set.
pub struct CsvPairs<'c, 'p, R> {
    reader: BufReader<CountingReader<'p, R>>,
    cfg: &'c HistoryConfig,
    line: Vec<u8>,
    line_no: u64,
    done: bool,
    stats: ImportStats,
    errors: Vec<String>,
}

/// Splits one CSV line into fields (RFC 4180 quoting within the line).
fn fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
        if out.len() > 16 {
            break;
        }
    }
    out.push(cur);
    out
}

fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s.parse().ok();
    }
    parse_rfc3339(s.as_bytes())
}

impl<'c, 'p, R: io::Read> CsvPairs<'c, 'p, R> {
    pub fn new(reader: R, cfg: &'c HistoryConfig, progress: Progress<'p>) -> Self {
        CsvPairs {
            reader: BufReader::with_capacity(64 << 10, CountingReader::new(reader, progress)),
            cfg,
            line: Vec::new(),
            line_no: 0,
            done: false,
            stats: ImportStats::default(),
            errors: Vec::new(),
        }
    }

    pub fn stats(&self) -> ImportStats {
        let mut s = self.stats;
        s.bytes = self.reader.get_ref().bytes();
        s
    }

    /// Why the first bad rows were skipped (`line N: reason`).
    pub fn errors(&self) -> &[String] {
        &self.errors
    }

    fn row(&self, line: &str) -> Result<Exchange, &'static str> {
        let f = fields(line);
        let [local, external, direction, at] = f.as_slice() else {
            return Err("expected 4 fields");
        };
        let local = normalise_address(local).ok_or("bad local address")?;
        let external = normalise_address(external).ok_or("bad external address")?;
        let direction = match direction.trim().to_ascii_lowercase().as_str() {
            "outbound" | "out" => Direction::Outbound,
            "inbound" | "in" => Direction::Inbound,
            _ => return Err("direction must be outbound or inbound"),
        };
        let at = parse_time(at).ok_or("last_seen must be RFC 3339 or Unix seconds")?;
        if !self.cfg.local_domains.is_empty()
            && (!self.cfg.is_local(&local) || self.cfg.is_local(&external))
        {
            return Err("local side not in local_domains, or external side is local");
        }
        Ok(Exchange {
            local,
            external,
            direction,
            at,
        })
    }
}

impl<R: io::Read> Iterator for CsvPairs<'_, '_, R> {
    type Item = io::Result<Exchange>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            self.line.clear();
            match self.reader.read_until(b'\n', &mut self.line) {
                Ok(0) => self.done = true,
                Ok(_) => {
                    self.line_no += 1;
                    let text = String::from_utf8_lossy(&self.line);
                    let text = text.trim_end_matches(['\r', '\n']);
                    let text = text.trim_start_matches('\u{feff}');
                    if self.line_no == 1 || text.trim().is_empty() || text.starts_with('#') {
                        continue;
                    }
                    self.stats.items += 1;
                    match self.row(text) {
                        Ok(ex) => {
                            self.stats.exchanges += 1;
                            return Some(Ok(ex));
                        }
                        Err(why) => {
                            self.stats.skipped += 1;
                            if self.errors.len() < MAX_ERRORS_KEPT {
                                self.errors.push(format!("line {}: {why}", self.line_no));
                            }
                        }
                    }
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        None
    }
}
