//! 7z: encrypted headers detected from the raw next-header (the AES coder id sits in plain text in the
//! encoded header's coder list); otherwise sevenz-rust2 lists the entries and decodes LZMA/LZMA2/copy
//! blocks, streamed through our bounded sink. AES-encrypted blocks are reported, not decrypted.

use crate::findings::*;
use crate::stream::{inspect_streamed, stream};
use fumidai_core::findings::UNINSPECTABLE;
use fumidai_core::{child_part, FileInput, FileKind, FileReport, Scan};
use sevenz_rust2::{Archive, ArchiveReader, EntryDecision, Password};
use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};

const AES_CODER: &[u8] = &[0x06, 0xF1, 0x07, 0x01];
/// Dictionary and header buffers sevenz-rust2 may allocate, in KiB.
const MEM_LIMIT_KB: usize = 128 << 10;

fn u64le(d: &[u8], o: usize) -> Option<u64> {
    Some(u64::from_le_bytes(d.get(o..o + 8)?.try_into().ok()?))
}

/// The next-header bytes, when they lie inside the data.
fn next_header(d: &[u8]) -> Option<&[u8]> {
    let off = usize::try_from(u64le(d, 12)?).ok()?.checked_add(32)?;
    let len = usize::try_from(u64le(d, 20)?).ok()?;
    d.get(off..off.checked_add(len)?)
}

fn block_is_encrypted(archive: &Archive, block: Option<usize>) -> bool {
    block
        .and_then(|b| archive.blocks.get(b))
        .is_some_and(|b| b.coders.iter().any(|c| c.encoder_method_id() == AES_CODER))
}

/// Lists a 7z, reports encryption, and inspects what can be decoded.
pub fn inspect(scan: &mut Scan<'_>, input: &FileInput<'_>, report: &mut FileReport) {
    let part = input.part.as_str();
    let d = input.data;
    match next_header(d) {
        None => {
            scan.add(
                &ARCHIVE_CORRUPT,
                part,
                "7z header lies outside the data (truncated or a volume of a split set)",
            );
            return;
        }
        Some(h) if h.first() == Some(&0x17) && memchr::memmem::find(h, AES_CODER).is_some() => {
            report.encrypted = true;
            scan.add(
                &ARCHIVE_ENCRYPTED_UNLISTABLE,
                part,
                "7z with encrypted headers: file names are hidden",
            );
            return;
        }
        Some(_) => {}
    }
    let opened = catch_unwind(AssertUnwindSafe(|| {
        ArchiveReader::new_with_memory_limit(Cursor::new(d), Password::empty(), MEM_LIMIT_KB)
    }));
    let mut reader = match opened {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            scan.add(
                &ARCHIVE_CORRUPT,
                part,
                format!("cannot read 7z header: {e}"),
            );
            return;
        }
        Err(_) => {
            scan.add(&UNINSPECTABLE, part, "the 7z reader failed on this archive");
            return;
        }
    };
    let archive = reader.archive().clone();
    // Encrypted or undecodable entries: listed and name-checked only.
    let mut encrypted = Vec::new();
    let mut decodable = 0usize;
    for (i, e) in archive.files.iter().enumerate() {
        if e.is_directory {
            continue;
        }
        let block = archive
            .stream_map
            .file_block_index
            .get(i)
            .copied()
            .flatten();
        if block_is_encrypted(&archive, block) {
            let cpart = child_part(part, &e.name);
            if !scan.charge_entry(&cpart) {
                return;
            }
            crate::check_name(scan, &cpart, &e.name, None, FileKind::Unknown);
            let mut child = FileReport::new(&e.name, None, FileKind::Unknown, &[]);
            child.size = e.size;
            child.sha256.clear();
            child.encrypted = true;
            report.children.push(child);
            encrypted.push(e.name.clone());
        } else {
            decodable += 1;
        }
    }
    if !encrypted.is_empty() {
        report.encrypted = true;
        scan.add(
            &ARCHIVE_ENCRYPTED,
            part,
            format!(
                "{} encrypted 7z entries, e.g. {:?}",
                encrypted.len(),
                encrypted[0]
            ),
        );
        scan.add(
            &ARCHIVE_UNSUPPORTED_CONTENT,
            part,
            "AES-encrypted 7z entries are not decrypted",
        );
    }
    if decodable == 0 {
        return;
    }
    let result = catch_unwind(AssertUnwindSafe(|| {
        reader.for_each_entries_with_decision(|entry, rd| {
            if entry.is_directory || !entry.has_stream {
                return Ok(EntryDecision::Continue);
            }
            let cpart = child_part(part, &entry.name);
            if !scan.charge_entry(&cpart) {
                return Ok(EntryDecision::Stop);
            }
            let s = stream(scan, &cpart, rd);
            if s.bombed {
                return Ok(EntryDecision::Stop);
            }
            let child = inspect_streamed(scan, cpart, &entry.name, &s);
            report.children.push(child);
            Ok(EntryDecision::Continue)
        })
    }));
    match result {
        Ok(Ok(())) => {}
        Ok(Err(sevenz_rust2::Error::UnsupportedCompressionMethod(m))) => {
            scan.add(
                &ARCHIVE_UNSUPPORTED_CONTENT,
                part,
                format!("7z method {m} not decoded"),
            );
        }
        Ok(Err(e)) => scan.add(&ARCHIVE_CORRUPT, part, format!("7z decoding failed: {e}")),
        Err(_) => scan.add(&UNINSPECTABLE, part, "the 7z decoder failed"),
    }
}
