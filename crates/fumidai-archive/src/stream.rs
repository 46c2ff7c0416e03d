//! Bounded streaming of an inflated file: every byte hashed and charged to the message's budget, at most
//! `max_file_bytes` kept, and a long trailing run of one byte value (zero padding) dropped so the kept bytes
//! are the real document.

use crate::findings::{ARCHIVE_BOMB, PADDED_FILE};
use fumidai_core::{FileInput, FileReport, Scan, Whole};
use sha2::{Digest, Sha256};
use std::io::Read;

/// A trailing run of one byte at least this long is padding, not content.
pub const MIN_PADDING: u64 = 1 << 20;
/// Kept bytes are rounded up to this alignment into the padding, so sector-based formats (OLE2 uses 512 or
/// 4096-byte sectors) keep their own zero-filled tail.
const PAD_ALIGN: u64 = 4096;
const CHUNK: usize = 256 << 10;

/// The result of streaming one file.
pub struct Streamed {
    /// The kept bytes: the file without trailing padding, capped at `max_file_bytes`.
    pub kept: Vec<u8>,
    /// All bytes read.
    pub size: u64,
    pub sha256: String,
    /// Trailing run dropped from `kept` (0 when none).
    pub padding: u64,
    pub padding_byte: u8,
    /// Stopped early: the inflated budget ran out (a bomb, or too much for one message).
    pub bombed: bool,
    /// The reader failed (corrupt data, wrong password, bad CRC) after `size` bytes.
    pub error: Option<String>,
}

impl Streamed {
    /// Whether `kept` is not the whole file (the report must show the real size and hash).
    pub fn partial(&self) -> bool {
        self.kept.len() as u64 != self.size
    }
}

/// Reads `reader` to its end (or the budget's), charging `scan` for every chunk.
pub fn stream(scan: &mut Scan<'_>, part: &str, reader: &mut dyn Read) -> Streamed {
    let cap = scan.limits().max_file_bytes;
    let mut kept: Vec<u8> = Vec::new();
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    let mut size: u64 = 0;
    // The trailing run of one byte seen so far, not yet copied into `kept`.
    let (mut run_byte, mut run_len) = (0u8, 0u64);
    let mut bombed = false;
    let mut error = None;
    let keep = |kept: &mut Vec<u8>, bytes: &[u8]| {
        let room = (cap as usize).saturating_sub(kept.len());
        kept.extend_from_slice(bytes.get(..room.min(bytes.len())).unwrap_or_default());
    };
    let keep_run = |kept: &mut Vec<u8>, byte: u8, len: u64| {
        let room = (cap as usize).saturating_sub(kept.len());
        let n = (len.min(room as u64)) as usize;
        kept.resize(kept.len() + n, byte);
    };
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                error = Some(e.to_string());
                break;
            }
        };
        let chunk = &buf[..n.min(buf.len())];
        size = size.saturating_add(chunk.len() as u64);
        hasher.update(chunk);
        if !scan.charge_inflated(part, chunk.len() as u64) {
            bombed = true;
            break;
        }
        let Some(&last) = chunk.last() else { continue };
        let body = chunk.iter().rposition(|&b| b != last).map_or(0, |p| p + 1);
        if body == 0 && run_len > 0 && run_byte == last {
            run_len += chunk.len() as u64;
            continue;
        }
        keep_run(&mut kept, run_byte, run_len);
        keep(&mut kept, &chunk[..body]);
        run_byte = last;
        run_len = (chunk.len() - body) as u64;
    }
    let mut padding = 0;
    if run_len >= MIN_PADDING && !bombed {
        let content = size - run_len;
        let aligned = content
            .div_ceil(PAD_ALIGN)
            .saturating_mul(PAD_ALIGN)
            .min(size);
        keep_run(&mut kept, run_byte, aligned - content);
        padding = size - aligned;
    } else {
        keep_run(&mut kept, run_byte, run_len);
    }
    if bombed {
        scan.add(
            &ARCHIVE_BOMB,
            part,
            format!("stopped after {size} inflated bytes"),
        );
    }
    Streamed {
        kept,
        size,
        sha256: hex::encode(hasher.finalize()),
        padding,
        padding_byte: run_byte,
        bombed,
        error,
    }
}

/// Hands a streamed file to the dispatcher (with its real size and hash when only part was kept) and
/// records PADDED_FILE when padding was dropped.
pub fn inspect_streamed(scan: &mut Scan<'_>, part: String, name: &str, s: &Streamed) -> FileReport {
    if s.padding > 0 {
        scan.add(
            &PADDED_FILE,
            &part,
            format!(
                "{} bytes of 0x{:02X} after {} bytes of content",
                s.padding,
                s.padding_byte,
                s.kept.len()
            ),
        );
    }
    let whole = s.partial().then(|| Whole {
        size: s.size,
        sha256: s.sha256.clone(),
    });
    let mut r = scan.inspect(FileInput {
        name,
        declared_type: None,
        data: &s.kept,
        part,
        whole,
    });
    // The dispatcher may not know about `whole`: the report must show the real file.
    r.size = s.size;
    r.sha256.clone_from(&s.sha256);
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use fumidai_core::{hash_only, Limits};

    #[test]
    fn drops_trailing_padding_but_keeps_aligned_tail() {
        let limits = Limits::default();
        let mut scan = Scan::new(&limits, hash_only);
        let mut data = vec![7u8; 5000];
        data.extend(std::iter::repeat_n(0u8, 3 << 20));
        let s = stream(&mut scan, "p", &mut &data[..]);
        assert_eq!(s.size, data.len() as u64);
        assert_eq!(s.kept.len(), 8192);
        assert_eq!(s.padding, data.len() as u64 - 8192);
        assert_eq!(&s.kept[..5000], &data[..5000]);
        // A short trailing run is content.
        let small = [1u8, 2, 0, 0, 0];
        let s = stream(&mut scan, "p", &mut &small[..]);
        assert_eq!(s.kept, small);
        assert_eq!(s.padding, 0);
    }

    #[test]
    fn caps_kept_bytes_and_hashes_all() {
        let limits = Limits {
            max_file_bytes: 1000,
            ..Limits::default()
        };
        let mut scan = Scan::new(&limits, hash_only);
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let s = stream(&mut scan, "p", &mut &data[..]);
        assert_eq!(s.kept, &data[..1000]);
        assert_eq!(s.sha256, hex::encode(Sha256::digest(&data)));
        assert!(s.partial());
    }
}
