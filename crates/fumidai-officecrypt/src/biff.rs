//! Encrypted BIFF8 Workbook streams (.xls): the FILEPASS record, RC4 (MS-OFFCRYPTO 2.3.6) and
//! RC4 CryptoAPI (2.3.5), applied record by record as MS-XLS 2.2.10 prescribes.

use md5::{Digest, Md5};

use crate::digest_alg::{same, utf16le, HashAlg};
use crate::rc4_stream::{BlockRc4, Rc4};
use crate::standard::{parse_binary_header, ALG_RC4};
use crate::xor_obfuscation;
use crate::{le_u16, DecryptError};

const RT_BOF: u16 = 0x0809;
const RT_EOF: u16 = 0x000A;
const RT_FILEPASS: u16 = 0x002F;
const RT_BOUNDSHEET8: u16 = 0x0085;
/// Records whose data is never encrypted (MS-XLS 2.2.10).
const CLEAR_RECORDS: [u16; 7] = [RT_BOF, RT_FILEPASS, 0x0194, 0x0195, 0x00E1, 0x0196, 0x0138];

/// How a Workbook stream is protected (the FILEPASS record).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BiffEncryption {
    /// XOR obfuscation (MS-OFFCRYPTO 2.3.7), Excel 95 style.
    Xor,
    /// Office 97/2000 binary RC4 with an MD5 key (2.3.6).
    Rc4,
    /// RC4 CryptoAPI with a SHA-1 key (2.3.5); `key_bits` as used (40 when the header says 0).
    Rc4CryptoApi { key_bits: u32 },
    /// A FILEPASS record with an encryption type or version we do not know.
    Unknown,
}

/// Finds the FILEPASS record in the workbook globals: (record offset, record data).
fn find_filepass(stream: &[u8]) -> Option<(usize, &[u8])> {
    let mut pos = 0usize;
    for n in 0..1024 {
        let rtype = le_u16(stream, pos)?;
        let len = usize::from(le_u16(stream, pos + 2)?);
        if n == 0 && rtype != RT_BOF {
            return None;
        }
        if rtype == RT_FILEPASS {
            let end = (pos + 4 + len).min(stream.len());
            return Some((pos, stream.get(pos + 4..end).unwrap_or(&[])));
        }
        if rtype == RT_EOF {
            return None;
        }
        pos += 4 + len;
    }
    None
}

/// The encryption of a BIFF8 Workbook stream, `None` when it has no FILEPASS record.
pub fn biff_encryption(stream: &[u8]) -> Option<BiffEncryption> {
    let (_, data) = find_filepass(stream)?;
    Some(match scheme(data) {
        Ok(Scheme::Rc4 { .. }) => BiffEncryption::Rc4,
        Ok(Scheme::CryptoApi { key_len, .. }) => BiffEncryption::Rc4CryptoApi {
            key_bits: key_len as u32 * 8,
        },
        Ok(Scheme::Xor { .. }) => BiffEncryption::Xor,
        Err(_) => BiffEncryption::Unknown,
    })
}

enum Scheme<'a> {
    Xor {
        key: u16,
        verifier: u16,
    },
    Rc4 {
        salt: &'a [u8],
        verifier: &'a [u8],
        verifier_hash: &'a [u8],
    },
    CryptoApi {
        salt: &'a [u8],
        verifier: &'a [u8],
        verifier_hash: &'a [u8],
        key_len: usize,
    },
}

fn bad(what: &str) -> DecryptError {
    DecryptError::Malformed(what.to_string())
}

fn scheme(data: &[u8]) -> Result<Scheme<'_>, DecryptError> {
    match le_u16(data, 0) {
        Some(0) => {
            let key = le_u16(data, 2).ok_or_else(|| bad("XOR FILEPASS too short"))?;
            let verifier = le_u16(data, 4).ok_or_else(|| bad("XOR FILEPASS too short"))?;
            return Ok(Scheme::Xor { key, verifier });
        }
        Some(1) => {}
        Some(t) => {
            return Err(DecryptError::Unsupported(format!(
                "FILEPASS encryption type {t}"
            )))
        }
        None => return Err(bad("FILEPASS record too short")),
    }
    let info = data.get(2..).unwrap_or(&[]);
    let major = le_u16(info, 0).ok_or_else(|| bad("FILEPASS version missing"))?;
    let minor = le_u16(info, 2).ok_or_else(|| bad("FILEPASS version missing"))?;
    match (major, minor) {
        (1, 1) => {
            let field =
                |a: usize, b: usize| info.get(a..b).ok_or_else(|| bad("RC4 header truncated"));
            Ok(Scheme::Rc4 {
                salt: field(4, 20)?,
                verifier: field(20, 36)?,
                verifier_hash: field(36, 52)?,
            })
        }
        (2..=4, 2) => {
            let h = parse_binary_header(info)?;
            if h.alg_id != ALG_RC4 && h.alg_id != 0 {
                return Err(DecryptError::Unsupported(format!(
                    "CryptoAPI cipher AlgID 0x{:04X}",
                    h.alg_id
                )));
            }
            // 2.3.5.2: a KeySize of 0 means 40 bits.
            let key_bits = if h.key_bits == 0 { 40 } else { h.key_bits };
            if !key_bits.is_multiple_of(8) || !(40..=128).contains(&key_bits) {
                return Err(bad("RC4 key size out of range"));
            }
            if h.verifier_hash_size != 20 {
                return Err(bad("verifier hash size is not 20 (SHA-1)"));
            }
            let verifier_hash = h
                .encrypted_verifier_hash
                .get(..20)
                .ok_or_else(|| bad("verifier hash truncated"))?;
            Ok(Scheme::CryptoApi {
                salt: h.salt,
                verifier: h.encrypted_verifier,
                verifier_hash,
                key_len: key_bits as usize / 8,
            })
        }
        _ => Err(DecryptError::Unsupported(format!(
            "FILEPASS RC4 version {major}.{minor}"
        ))),
    }
}

/// Office 97 RC4 (2.3.6.2): the 5-byte intermediate hash from which every block key comes.
fn rc4_base(password: &str, salt: &[u8]) -> [u8; 5] {
    let h0 = Md5::digest(utf16le(password));
    let mut d = Md5::new();
    for _ in 0..16 {
        d.update(h0.get(..5).unwrap_or(&[]));
        d.update(salt);
    }
    let h1 = d.finalize();
    let mut out = [0u8; 5];
    out.copy_from_slice(h1.get(..5).unwrap_or(&[0; 5]));
    out
}

fn rc4_block_key(base: &[u8; 5], block: u32) -> Vec<u8> {
    Md5::new()
        .chain_update(base)
        .chain_update(block.to_le_bytes())
        .finalize()
        .to_vec()
}

/// RC4 CryptoAPI (2.3.5.2): SHA-1(H0 + block), cut to the key size; 40-bit keys are zero-padded to 128 bits.
fn cryptoapi_block_key(h0: &[u8], key_len: usize, block: u32) -> Vec<u8> {
    let mut k = HashAlg::Sha1.hash(&[h0, &block.to_le_bytes()]);
    k.truncate(key_len);
    if key_len == 5 {
        k.resize(16, 0);
    }
    k
}

/// Checks the verifier with the block-0 key: verifier and its hash are one continuous RC4 stream.
fn verify(key0: &[u8], verifier: &[u8], verifier_hash: &[u8], hash: HashAlg) -> bool {
    let mut rc4 = Rc4::new(key0);
    let mut v = verifier.to_vec();
    let mut vh = verifier_hash.to_vec();
    rc4.apply(&mut v);
    rc4.apply(&mut vh);
    same(&hash.hash(&[&v]), &vh)
}

/// Decrypts a BIFF8 Workbook stream protected by FILEPASS. The result has the same length and
/// record layout; the FILEPASS record is left in place (callers skip it), everything else is clear.
pub fn decrypt_biff(stream: &[u8], password: &str) -> Result<Vec<u8>, DecryptError> {
    let (fp_pos, fp_data) =
        find_filepass(stream).ok_or_else(|| bad("no FILEPASS record in the workbook globals"))?;
    let start = fp_pos + 4 + fp_data.len();
    match scheme(fp_data)? {
        Scheme::Rc4 {
            salt,
            verifier,
            verifier_hash,
        } => {
            let base = rc4_base(password, salt);
            if !verify(
                &rc4_block_key(&base, 0),
                verifier,
                verifier_hash,
                HashAlg::Md5,
            ) {
                return Err(DecryptError::WrongPassword);
            }
            let mut ks = BlockRc4::new(|b| rc4_block_key(&base, b));
            Ok(decrypt_records(stream, start, |at, _, _, data| {
                ks.apply_at(at, data)
            }))
        }
        Scheme::CryptoApi {
            salt,
            verifier,
            verifier_hash,
            key_len,
        } => {
            let h0 = HashAlg::Sha1.hash(&[salt, &utf16le(password)]);
            if !verify(
                &cryptoapi_block_key(&h0, key_len, 0),
                verifier,
                verifier_hash,
                HashAlg::Sha1,
            ) {
                return Err(DecryptError::WrongPassword);
            }
            let mut ks = BlockRc4::new(|b| cryptoapi_block_key(&h0, key_len, b));
            Ok(decrypt_records(stream, start, |at, _, _, data| {
                ks.apply_at(at, data)
            }))
        }
        Scheme::Xor { key, verifier } => {
            let pw = xor_obfuscation::password_bytes(password);
            if pw.is_empty()
                || xor_obfuscation::key(&pw) != key
                || xor_obfuscation::verifier(&pw) != verifier
            {
                return Err(DecryptError::WrongPassword);
            }
            let array = xor_obfuscation::xor_array(&pw);
            Ok(decrypt_records(
                stream,
                start,
                |_, data_start, record_len, data| {
                    let skip = record_len - data.len();
                    xor_obfuscation::deobfuscate(&array, data_start, record_len, skip, data)
                },
            ))
        }
    }
}

/// Walks the records after FILEPASS and decrypts their data in place; headers stay as they are.
/// `decrypt(offset, data_start, record_len, bytes)` gets the encrypted tail of each record's data.
fn decrypt_records(
    stream: &[u8],
    start: usize,
    mut decrypt: impl FnMut(usize, usize, usize, &mut [u8]),
) -> Vec<u8> {
    let mut out = stream.to_vec();
    let mut pos = start;
    // Each record advances at least 4 bytes, so the walk ends.
    while let (Some(rtype), Some(len)) = (le_u16(&out, pos), le_u16(&out, pos + 2)) {
        let data_start = pos + 4;
        let data_end = (data_start + usize::from(len)).min(out.len());
        let clear = if CLEAR_RECORDS.contains(&rtype) {
            usize::from(len)
        } else if rtype == RT_BOUNDSHEET8 {
            4 // lbPlyPos
        } else {
            0
        };
        let enc_start = (data_start + clear).min(data_end);
        if let Some(data) = out.get_mut(enc_start..data_end) {
            if !data.is_empty() {
                // For a truncated last record, `record_len` is what is really there.
                decrypt(enc_start, data_start, data_end - data_start, data);
            }
        }
        pos = data_start + usize::from(len);
    }
    out
}
