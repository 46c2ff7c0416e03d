//! Where messages come from: .eml files, directories, Maildirs and mbox files.

use fumidai_core::FileKind;
use std::io::Read;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One message to scan.
pub enum Unit {
    /// A file holding one message, read when scanned.
    File(PathBuf),
    /// One message of an mbox file, already in memory.
    MboxMessage {
        path: Arc<PathBuf>,
        data: Arc<[u8]>,
        range: Range<usize>,
        index: usize,
    },
    /// A path that could not be read or walked.
    Unreadable { path: PathBuf, error: String },
}

impl Unit {
    /// How the message is named in output: the path, or `path#N` for the N-th message of an mbox (from 1).
    /// The file's own name (for a file given directly, scanned as an attachment would be).
    pub fn file_name(&self) -> String {
        match self {
            Unit::File(p) | Unit::Unreadable { path: p, .. } => p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            Unit::MboxMessage { .. } => String::new(),
        }
    }

    pub fn label(&self) -> String {
        match self {
            Unit::File(p) | Unit::Unreadable { path: p, .. } => p.display().to_string(),
            Unit::MboxMessage { path, index, .. } => format!("{}#{}", path.display(), index + 1),
        }
    }
}

/// Expands the command-line paths into messages: directories are walked (Maildir `tmp/` skipped, as
/// its files are still being written), mbox files are split, everything else is one message.
pub fn collect(paths: &[PathBuf]) -> Vec<Unit> {
    let mut units = Vec::new();
    for path in paths {
        if path.is_dir() {
            for entry in walkdir::WalkDir::new(path)
                .follow_links(false)
                .sort_by_file_name()
            {
                match entry {
                    Ok(e) if e.file_type().is_file() && !in_maildir_tmp(e.path()) => {
                        add_file(e.path(), &mut units)
                    }
                    Ok(_) => {}
                    Err(err) => units.push(Unit::Unreadable {
                        path: err.path().unwrap_or(path).to_path_buf(),
                        error: err.to_string(),
                    }),
                }
            }
        } else {
            add_file(path, &mut units);
        }
    }
    units
}

fn in_maildir_tmp(path: &Path) -> bool {
    let Some(dir) = path.parent() else {
        return false;
    };
    dir.file_name().is_some_and(|n| n == "tmp")
        && dir
            .parent()
            .is_some_and(|maildir| maildir.join("cur").is_dir() && maildir.join("new").is_dir())
}

fn add_file(path: &Path, units: &mut Vec<Unit>) {
    match looks_like_mbox(path) {
        Ok(false) => units.push(Unit::File(path.to_path_buf())),
        Ok(true) => match std::fs::read(path) {
            Ok(data) => {
                let data: Arc<[u8]> = data.into();
                let shared = Arc::new(path.to_path_buf());
                for (index, range) in split_mbox(&data).into_iter().enumerate() {
                    units.push(Unit::MboxMessage {
                        path: shared.clone(),
                        data: data.clone(),
                        range,
                        index,
                    });
                }
            }
            Err(e) => units.push(Unit::Unreadable {
                path: path.to_path_buf(),
                error: e.to_string(),
            }),
        },
        Err(e) => units.push(Unit::Unreadable {
            path: path.to_path_buf(),
            error: e.to_string(),
        }),
    }
}

/// An mbox starts with a `From ` separator line; a message never does.
fn looks_like_mbox(path: &Path) -> std::io::Result<bool> {
    let mut head = [0u8; 5];
    let mut file = std::fs::File::open(path)?;
    let mut filled = 0;
    while filled < head.len() {
        match file.read(&mut head[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(&head[..filled] == b"From ")
}

/// The byte ranges of the messages in an mbox, each without its `From ` separator line.
pub fn split_mbox(data: &[u8]) -> Vec<Range<usize>> {
    let mut starts = Vec::new();
    let mut pos = 0;
    while pos < data.len() {
        let line_end = memchr_newline(data, pos);
        let at_boundary = pos == 0
            || (pos >= 2 && data[pos - 2] == b'\n')
            || (pos >= 3 && &data[pos - 3..pos] == b"\n\r\n");
        if at_boundary && is_separator(&data[pos..line_end]) {
            starts.push((pos, line_end));
        }
        pos = line_end;
    }
    let mut ranges = Vec::with_capacity(starts.len());
    for (i, &(sep, body)) in starts.iter().enumerate() {
        let end = starts.get(i + 1).map_or(data.len(), |&(next, _)| next);
        debug_assert!(sep <= body);
        if body < end {
            ranges.push(body..end);
        }
    }
    ranges
}

/// `From sender date`: a body line that merely starts with "From " (unescaped, as in mboxo) has no
/// time of day in it, so a separator must carry one (`hh:mm`).
fn is_separator(line: &[u8]) -> bool {
    line.starts_with(b"From ")
        && line
            .windows(3)
            .any(|w| w[0].is_ascii_digit() && w[1] == b':' && w[2].is_ascii_digit())
}

/// Index just past the next newline at or after `from`, or the end.
fn memchr_newline(data: &[u8], from: usize) -> usize {
    data[from..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(data.len(), |i| from + i + 1)
}

/// Reads a unit's bytes. mbox messages borrow from the shared buffer.
/// Whether a unit holds a mail message (else it is a file such as a document or an archive, and is
/// inspected as a message's only attachment would be). Anything that is not clearly another kind of
/// file counts as a message, so odd-looking mail is still parsed as mail.
pub fn is_message(unit: &Unit, raw: &[u8]) -> bool {
    matches!(unit, Unit::MboxMessage { .. })
        || matches!(
            fumidai_archive::sniff(raw),
            FileKind::Message | FileKind::Text | FileKind::Unknown
        )
}

pub fn with_bytes<T>(unit: &Unit, f: impl FnOnce(&[u8]) -> T) -> Result<T, String> {
    match unit {
        Unit::File(path) => std::fs::read(path)
            .map(|d| f(&d))
            .map_err(|e| e.to_string()),
        Unit::MboxMessage { data, range, .. } => Ok(f(&data[range.clone()])),
        Unit::Unreadable { error, .. } => Err(error.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mbox_splits_on_from_lines_after_blank_lines_only() {
        let mbox = b"From a@b Mon Jan 1 00:00:00 2024\nSubject: one\n\nFrom here on, body text\n\nFrom c@d Tue Jan 2 00:00:00 2024\nSubject: two\n\nbody\n";
        let ranges = split_mbox(mbox);
        assert_eq!(ranges.len(), 2);
        let first = std::str::from_utf8(&mbox[ranges[0].clone()]).unwrap();
        assert!(
            first.starts_with("Subject: one") && first.contains("From here on"),
            "{first}"
        );
        assert!(std::str::from_utf8(&mbox[ranges[1].clone()])
            .unwrap()
            .starts_with("Subject: two"));
    }

    #[test]
    fn maildir_tmp_is_skipped_and_cur_new_are_read() {
        let dir = tempfile::tempdir().unwrap();
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir(dir.path().join(sub)).unwrap();
            std::fs::write(dir.path().join(sub).join("1.host"), b"Subject: x\n\nbody\n").unwrap();
        }
        let units = collect(&[dir.path().to_path_buf()]);
        let labels: Vec<String> = units.iter().map(Unit::label).collect();
        assert_eq!(labels.len(), 2, "{labels:?}");
        assert!(
            labels.iter().all(|l| !l.contains("/tmp/1.host")),
            "{labels:?}"
        );
    }

    #[test]
    fn unreadable_path_is_reported_not_dropped() {
        let units = collect(&[PathBuf::from("/nonexistent/fumidai/x.eml")]);
        assert_eq!(units.len(), 1);
        assert!(matches!(units[0], Unit::Unreadable { .. }));
    }
}
