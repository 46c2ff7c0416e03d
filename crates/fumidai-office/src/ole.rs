//! A thin, panic-proof layer over the `cfb` crate: the directory as a flat list, and bounded stream reads.

use std::io::{Cursor, Read};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

/// Directory entries visited at most: a hostile directory may claim millions.
const MAX_ENTRIES: usize = 20_000;

/// One directory entry of a compound file.
#[derive(Debug, Clone)]
pub(crate) struct OleEntry {
    /// Names from the root down (the root itself has an empty list).
    pub names: Vec<String>,
    pub path: PathBuf,
    pub is_storage: bool,
    pub size: u64,
}

impl OleEntry {
    pub fn name(&self) -> &str {
        self.names.last().map(String::as_str).unwrap_or("")
    }

    /// The storage holding this entry, as names from the root.
    pub fn parent(&self) -> &[String] {
        self.names.split_last().map(|(_, p)| p).unwrap_or(&[])
    }
}

/// An opened compound file over borrowed bytes.
pub(crate) struct OleFile<'d> {
    cf: cfb::CompoundFile<Cursor<&'d [u8]>>,
    pub entries: Vec<OleEntry>,
    pub root_clsid: String,
    data_len: u64,
    /// Bytes read from streams so far; capped so shared/looping sector chains cannot multiply the input.
    read_total: u64,
}

impl<'d> OleFile<'d> {
    /// Opens the file and lists its directory; `Err` with a reason when it is not readable.
    pub fn open(data: &'d [u8]) -> Result<Self, String> {
        let opened = catch_unwind(AssertUnwindSafe(|| {
            cfb::CompoundFile::open(Cursor::new(data))
        }));
        let cf = match opened {
            Ok(Ok(cf)) => cf,
            Ok(Err(e)) => return Err(format!("OLE2 open failed: {e}")),
            Err(_) => return Err("OLE2 parser panicked".into()),
        };
        let listed = catch_unwind(AssertUnwindSafe(|| {
            let root_clsid = cf.root_entry().clsid().to_string();
            let mut entries = Vec::new();
            for e in cf.walk() {
                if entries.len() >= MAX_ENTRIES {
                    break;
                }
                if e.is_root() {
                    continue;
                }
                let names: Vec<String> = e
                    .path()
                    .components()
                    .filter_map(|c| match c {
                        std::path::Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
                        _ => None,
                    })
                    .collect();
                entries.push(OleEntry {
                    names,
                    path: e.path().to_path_buf(),
                    is_storage: e.is_storage(),
                    size: e.len(),
                });
            }
            (root_clsid, entries)
        }));
        match listed {
            Ok((root_clsid, entries)) => Ok(OleFile {
                cf,
                entries,
                root_clsid,
                data_len: data.len() as u64,
                read_total: 0,
            }),
            Err(_) => Err("OLE2 directory walk panicked".into()),
        }
    }

    /// Reads at most `cap` bytes of the stream at entry index `i` (never more than the file could hold).
    pub fn read(&mut self, i: usize, cap: u64) -> Option<Vec<u8>> {
        let path = self.entries.get(i)?.path.clone();
        let budget = self
            .data_len
            .saturating_mul(4)
            .saturating_add(1 << 20)
            .saturating_sub(self.read_total);
        let cap = cap.min(self.data_len).min(budget);
        let cf = &mut self.cf;
        let got = catch_unwind(AssertUnwindSafe(|| {
            let stream = cf.open_stream(&path).ok()?;
            let mut out = Vec::new();
            stream.take(cap).read_to_end(&mut out).ok()?;
            Some(out)
        }))
        .ok()
        .flatten()?;
        self.read_total = self.read_total.saturating_add(got.len() as u64);
        Some(got)
    }

    /// Index of the stream named `name` (case-insensitive) directly inside storage `parent`.
    pub fn child(&self, parent: &[String], name: &str) -> Option<usize> {
        self.entries.iter().position(|e| {
            !e.is_storage && e.parent() == parent && e.name().eq_ignore_ascii_case(name)
        })
    }

    /// Index of a stream at the root.
    pub fn root_stream(&self, name: &str) -> Option<usize> {
        self.child(&[], name)
    }
}
