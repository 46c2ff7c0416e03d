//! Look-alike correspondents: a new sender domain that imitates one the organisation already talks to.
//!
//! Every correspondent's registrable label is reduced to a *key*: Unicode confusable skeleton (after
//! punycode decoding), lower-cased, `0`/`1` folded by the skeleton to `o`/`l`, hyphens removed. A sender
//! domain is a look-alike of a correspondent when, its registrable domain not being a correspondent itself:
//! - its key equals the correspondent's key (homoglyphs, `examp1e`, `ex-ample`, or the same label under
//!   another suffix: `example.com` for `example.co.jp`), or
//! - the whole host, flattened the same way, contains the correspondent's label and suffix run together
//!   from a label or hyphen boundary (`example-co.jp.net`, `examplecojp.com`, `example.co.jp.evil.example`,
//!   `example.jp.co` with the suffix swapped), or
//! - the keys are within a small Damerau-Levenshtein distance (`exmaple`, `examples`).
//!
//! Edit distance and other-suffix matches need a label of `min_label_len` characters, and the distance is
//! capped at one edit per four characters, so `sony` does not match every four-letter domain; below
//! eight characters a single substitution counts only between letters that look alike (`fujltsu`, not
//! `nissin` for `nissan`).
//! [`CorrespondentIndex`] holds the precomputed keys, a deletion-neighbourhood index (SymSpell) for the
//! distance check and a hash of flattened forms, so a query costs a few hundred hash look-ups whatever
//! the number of correspondents.

use crate::address::to_ascii_host;
use crate::config::LookalikeConfig;
use std::collections::{HashMap, HashSet};

/// Below this many key characters a one-character substitution only counts between letters that look
/// alike (`fujltsu`), so that `nissin` is not a look-alike of `nissan`.
const SHORT_LABEL: usize = 8;

/// Latin letters that read alike in common mail fonts and that the Unicode skeleton leaves apart.
const SIMILAR: &[(char, char)] = &[
    ('i', 'l'),
    ('i', 'j'),
    ('l', 'j'),
    ('c', 'e'),
    ('u', 'v'),
    ('g', 'q'),
    ('n', 'h'),
    ('a', 'o'),
];

/// Whether `a` and `b` differ by exactly one substitution of letters that do not look alike.
fn plain_substitution(a: &[char], b: &[char]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut diff = a.iter().zip(b).filter(|(x, y)| x != y);
    match (diff.next(), diff.next()) {
        (Some((&x, &y)), None) => !SIMILAR.contains(&(x, y)) && !SIMILAR.contains(&(y, x)),
        _ => false,
    }
}

/// Labels longer than this (in key characters) skip the edit-distance check (bounded work per query).
const MAX_FUZZY_LEN: usize = 40;

/// Why a sender domain was taken for a look-alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookalikeReason {
    /// Same label after confusable/digit/hyphen folding, different characters.
    Confusable,
    /// The same label under another public suffix.
    OtherSuffix,
    /// The correspondent's domain run together into the sender's host (hyphen-joined, swapped or
    /// prefixed suffix).
    EmbeddedDomain,
    /// A small edit distance between the labels.
    EditDistance(u32),
}

impl std::fmt::Display for LookalikeReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LookalikeReason::Confusable => f.write_str("confusable characters, digits or hyphens"),
            LookalikeReason::OtherSuffix => f.write_str("same name under another suffix"),
            LookalikeReason::EmbeddedDomain => {
                f.write_str("correspondent's domain embedded in the name")
            }
            LookalikeReason::EditDistance(d) => write!(f, "edit distance {d}"),
        }
    }
}

/// A look-alike found by [`CorrespondentIndex::find`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookalikeMatch {
    /// The correspondent's registrable domain the sender imitates.
    pub correspondent: String,
    /// The sender's registrable domain.
    pub sender_domain: String,
    pub reason: LookalikeReason,
}

#[derive(Debug)]
struct Entry {
    /// Registrable domain, lower-case ASCII.
    domain: String,
    /// The registrable label as Unicode.
    label: String,
    key: Vec<char>,
}

/// Correspondent domains prepared for fast look-alike queries. Build once per refresh of the
/// correspondent list, query per message.
#[derive(Debug)]
pub struct CorrespondentIndex {
    cfg: LookalikeConfig,
    domains: HashSet<String>,
    entries: Vec<Entry>,
    by_key: HashMap<String, Vec<u32>>,
    deletes: HashMap<String, Vec<u32>>,
    flat: HashMap<String, u32>,
    flat_lens: Vec<usize>,
}

/// Confusable-folded form of a label or of one token of a host.
fn key_chars(s: &str, out: &mut Vec<char>) {
    for c in unicode_security::skeleton(s) {
        if c == '-' || c == '.' || c == '_' {
            continue;
        }
        for l in c.to_lowercase() {
            out.push(l);
        }
    }
}

fn key_of(s: &str) -> Vec<char> {
    let mut v = Vec::with_capacity(s.len());
    key_chars(s, &mut v);
    v
}

/// Registrable domain (ASCII), its first label (ASCII) and the public suffix (ASCII) of a host.
fn split_registrable(ascii_host: &str) -> Option<(String, &str, &str)> {
    let d = psl::domain(ascii_host.as_bytes())?.trim();
    let reg = std::str::from_utf8(d.as_bytes()).ok()?;
    let suffix_len = d.suffix().trim().as_bytes().len();
    let suffix = ascii_host.get(ascii_host.len().checked_sub(suffix_len)?..)?;
    let label_end = reg.len().checked_sub(suffix.len())?.checked_sub(1)?;
    let label = reg.get(..label_end)?;
    if label.is_empty() || label.contains('.') {
        return None;
    }
    Some((reg.to_owned(), label, suffix))
}

fn unicode_of(ascii: &str) -> String {
    if ascii.contains("xn--") {
        idna::domain_to_unicode(ascii).0
    } else {
        ascii.to_owned()
    }
}

/// Every string obtained from `key` by deleting up to `max` characters (including `key` itself).
fn deletions(key: &[char], max: usize, out: &mut HashSet<String>) {
    out.insert(key.iter().collect());
    if max == 0 || key.len() <= 1 {
        return;
    }
    for i in 0..key.len() {
        let mut shorter: Vec<char> = Vec::with_capacity(key.len());
        shorter.extend(key.iter().take(i));
        shorter.extend(key.iter().skip(i.saturating_add(1)));
        if max > 1 {
            deletions(&shorter, max - 1, out);
        } else {
            out.insert(shorter.into_iter().collect());
        }
    }
}

/// Optimal-string-alignment (restricted Damerau-Levenshtein) distance.
pub fn damerau_levenshtein(a: &[char], b: &[char]) -> usize {
    let w = b.len().saturating_add(1);
    let mut prev2 = vec![0usize; w];
    let mut prev: Vec<usize> = (0..w).collect();
    let mut cur = vec![0usize; w];
    for (i, &ca) in a.iter().enumerate() {
        if let Some(c0) = cur.first_mut() {
            *c0 = i.saturating_add(1);
        }
        for (j, &cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            let del = prev
                .get(j + 1)
                .copied()
                .unwrap_or(usize::MAX)
                .saturating_add(1);
            let ins = cur.get(j).copied().unwrap_or(usize::MAX).saturating_add(1);
            let sub = prev
                .get(j)
                .copied()
                .unwrap_or(usize::MAX)
                .saturating_add(cost);
            let mut best = del.min(ins).min(sub);
            if i > 0 && j > 0 && a.get(i - 1) == Some(&cb) && b.get(j - 1) == Some(&ca) {
                let t = prev2
                    .get(j - 1)
                    .copied()
                    .unwrap_or(usize::MAX)
                    .saturating_add(1);
                best = best.min(t);
            }
            if let Some(c) = cur.get_mut(j + 1) {
                *c = best;
            }
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev.get(b.len()).copied().unwrap_or(usize::MAX)
}

impl CorrespondentIndex {
    /// Prepares `correspondents` (registrable domains or hosts; duplicates and junk are ignored).
    pub fn new(correspondents: &[String], cfg: &LookalikeConfig) -> Self {
        let mut idx = CorrespondentIndex {
            cfg: cfg.clone(),
            domains: HashSet::new(),
            entries: Vec::new(),
            by_key: HashMap::new(),
            deletes: HashMap::new(),
            flat: HashMap::new(),
            flat_lens: Vec::new(),
        };
        let min = cfg.min_label_len as usize;
        let mut dels = HashSet::new();
        for c in correspondents {
            let Some(ascii) = to_ascii_host(c) else {
                continue;
            };
            let Some((reg, label, suffix)) = split_registrable(&ascii) else {
                continue;
            };
            if !idx.domains.insert(reg.clone()) {
                continue;
            }
            let Ok(n) = u32::try_from(idx.entries.len()) else {
                break;
            };
            let label_u = unicode_of(label);
            let key = key_of(&label_u);
            if key.is_empty() {
                continue;
            }
            let key_s: String = key.iter().collect();
            idx.by_key.entry(key_s.clone()).or_default().push(n);
            if key.len() >= min {
                let allowed = idx.allowed(key.len());
                if allowed > 0 && key.len() <= MAX_FUZZY_LEN {
                    dels.clear();
                    deletions(&key, allowed, &mut dels);
                    for d in dels.drain() {
                        idx.deletes.entry(d).or_default().push(n);
                    }
                }
                let suffix_u = unicode_of(suffix);
                let mut flat = key_s.clone();
                flat.extend(key_of(&suffix_u));
                idx.flat.entry(flat).or_insert(n);
                let labels: Vec<&str> = suffix_u.split('.').collect();
                if labels.len() > 1 {
                    let mut swapped = key_s;
                    for l in labels.iter().rev() {
                        swapped.extend(key_of(l));
                    }
                    idx.flat.entry(swapped).or_insert(n);
                }
            }
            idx.entries.push(Entry {
                domain: reg,
                label: label_u,
                key,
            });
        }
        let mut lens: Vec<usize> = idx.flat.keys().map(String::len).collect();
        lens.sort_unstable();
        lens.dedup();
        idx.flat_lens = lens;
        idx
    }

    /// Number of distinct correspondent domains indexed.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether `domain`'s registrable domain is a correspondent.
    pub fn contains(&self, domain: &str) -> bool {
        to_ascii_host(domain)
            .and_then(|a| split_registrable(&a).map(|r| r.0))
            .is_some_and(|r| self.domains.contains(&r))
    }

    fn allowed(&self, key_len: usize) -> usize {
        (self.cfg.max_edit_distance as usize).min(key_len / 4)
    }

    fn entry(&self, n: u32) -> Option<&Entry> {
        self.entries.get(n as usize)
    }

    fn hit(&self, e: &Entry, reg: &str, reason: LookalikeReason) -> LookalikeMatch {
        LookalikeMatch {
            correspondent: e.domain.clone(),
            sender_domain: reg.to_owned(),
            reason,
        }
    }

    /// The correspondent that the host or address domain `domain` imitates, if any.
    pub fn find(&self, domain: &str) -> Option<LookalikeMatch> {
        if !self.cfg.enabled || self.entries.is_empty() {
            return None;
        }
        let ascii = to_ascii_host(crate::address::domain_of(domain))?;
        let (reg, label, _suffix) = split_registrable(&ascii)?;
        if self.domains.contains(&reg) {
            return None;
        }
        let min = self.cfg.min_label_len as usize;
        let label_u = unicode_of(label);
        let key = key_of(&label_u);
        let key_s: String = key.iter().collect();

        // 1. Same key: confusables, digits, hyphens, or another suffix.
        if let Some(list) = self.by_key.get(&key_s) {
            let mut other_suffix = None;
            for e in list.iter().filter_map(|&n| self.entry(n)) {
                if e.label != label_u && key.len() >= 2 {
                    return Some(self.hit(e, &reg, LookalikeReason::Confusable));
                }
                if e.key.len() >= min && other_suffix.is_none() {
                    other_suffix = Some(e);
                }
            }
            if let Some(e) = other_suffix {
                return Some(self.hit(e, &reg, LookalikeReason::OtherSuffix));
            }
        }

        // 2. The correspondent's domain run together inside the host, from a token boundary.
        if !self.flat.is_empty() {
            let host_u = unicode_of(&ascii);
            let mut flat = String::with_capacity(host_u.len());
            let mut starts = Vec::new();
            for token in host_u.split(['.', '-']).take(32) {
                starts.push(flat.len());
                flat.extend(key_of(token));
            }
            for &b in &starts {
                for &len in &self.flat_lens {
                    let Some(sub) = b.checked_add(len).and_then(|end| flat.get(b..end)) else {
                        continue;
                    };
                    if let Some(e) = self.flat.get(sub).and_then(|&n| self.entry(n)) {
                        return Some(self.hit(e, &reg, LookalikeReason::EmbeddedDomain));
                    }
                }
            }
        }

        // 3. Small edit distance between keys.
        if key.len() >= min && key.len() <= MAX_FUZZY_LEN + self.cfg.max_edit_distance as usize {
            let mut dels = HashSet::new();
            deletions(&key, self.cfg.max_edit_distance as usize, &mut dels);
            let mut best: Option<(usize, &Entry)> = None;
            for d in &dels {
                let Some(list) = self.deletes.get(d) else {
                    continue;
                };
                for e in list.iter().filter_map(|&n| self.entry(n)) {
                    let allowed = self.allowed(e.key.len());
                    if e.key.len().abs_diff(key.len()) > allowed {
                        continue;
                    }
                    let dist = damerau_levenshtein(&key, &e.key);
                    if dist == 0 || dist > allowed {
                        continue;
                    }
                    if dist == 1 && e.key.len() < SHORT_LABEL && plain_substitution(&key, &e.key) {
                        continue;
                    }
                    let better = match best {
                        None => true,
                        Some((bd, be)) => dist < bd || (dist == bd && e.domain < be.domain),
                    };
                    if better {
                        best = Some((dist, e));
                    }
                }
            }
            if let Some((dist, e)) = best {
                let d = u32::try_from(dist).unwrap_or(u32::MAX);
                return Some(self.hit(e, &reg, LookalikeReason::EditDistance(d)));
            }
        }
        None
    }
}

/// The correspondent (registrable domain) that `domain` imitates, if any. Builds an index on each call:
/// for many messages build a [`CorrespondentIndex`] once and call [`CorrespondentIndex::find`].
pub fn lookalike_of(
    domain: &str,
    correspondents: &[String],
    cfg: &LookalikeConfig,
) -> Option<String> {
    CorrespondentIndex::new(correspondents, cfg)
        .find(domain)
        .map(|m| m.correspondent)
}
