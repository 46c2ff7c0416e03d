//! ECMA-376 Standard encryption (MS-OFFCRYPTO 2.3.4.5-2.3.4.9) and the binary EncryptionHeader /
//! EncryptionVerifier layout it shares with RC4 CryptoAPI (2.3.5).

use crate::aes_modes::AesKey;
use crate::digest_alg::{same, utf16le, HashAlg};
use crate::{le_u32, plain_size, DecryptError};

pub const ALG_RC4: u32 = 0x6801;
pub const ALG_AES128: u32 = 0x660E;
pub const ALG_AES192: u32 = 0x660F;
pub const ALG_AES256: u32 = 0x6610;
const FLAG_EXTERNAL: u32 = 0x10;

/// The fields of an EncryptionInfo with a binary header (Standard or RC4 CryptoAPI).
#[derive(Debug)]
pub struct BinaryHeader<'a> {
    pub flags: u32,
    pub alg_id: u32,
    pub alg_id_hash: u32,
    /// Key size in bits as written (0 means the default of the algorithm).
    pub key_bits: u32,
    pub salt: &'a [u8],
    pub encrypted_verifier: &'a [u8],
    pub verifier_hash_size: u32,
    /// What follows the verifier hash size (20 bytes for RC4, 32 for AES, maybe more).
    pub encrypted_verifier_hash: &'a [u8],
}

fn bad(what: &str) -> DecryptError {
    DecryptError::Malformed(what.to_string())
}

/// Parses `Version(4) Flags(4) HeaderSize(4) EncryptionHeader EncryptionVerifier`, `info` starting at Version.
pub fn parse_binary_header(info: &[u8]) -> Result<BinaryHeader<'_>, DecryptError> {
    let header_size = le_u32(info, 8).ok_or_else(|| bad("EncryptionInfo too short"))? as usize;
    if !(32..=4096).contains(&header_size) {
        return Err(bad("EncryptionHeader size out of range"));
    }
    let header = info
        .get(12..12 + header_size)
        .ok_or_else(|| bad("EncryptionHeader truncated"))?;
    let field = |o: usize| le_u32(header, o).unwrap_or(0);
    let verifier = info.get(12 + header_size..).unwrap_or(&[]);
    let salt_size = le_u32(verifier, 0).ok_or_else(|| bad("EncryptionVerifier truncated"))?;
    if salt_size != 16 {
        return Err(bad("salt size is not 16"));
    }
    let salt = verifier.get(4..20).ok_or_else(|| bad("salt truncated"))?;
    let encrypted_verifier = verifier
        .get(20..36)
        .ok_or_else(|| bad("verifier truncated"))?;
    let verifier_hash_size =
        le_u32(verifier, 36).ok_or_else(|| bad("verifier hash size missing"))?;
    let encrypted_verifier_hash = verifier.get(40..).unwrap_or(&[]);
    Ok(BinaryHeader {
        flags: field(0),
        alg_id: field(8),
        alg_id_hash: field(12),
        key_bits: field(16),
        salt,
        encrypted_verifier,
        verifier_hash_size,
        encrypted_verifier_hash,
    })
}

/// The Standard encryption key (2.3.4.7): 50,000 SHA-1 rounds, then the 0x36/0x5c expansion.
fn derive_key(salt: &[u8], password: &str, key_len: usize) -> Vec<u8> {
    let h = HashAlg::Sha1.spin(salt, &utf16le(password), 50_000);
    let h_final = HashAlg::Sha1.hash(&[&h, &0u32.to_le_bytes()]);
    let expand = |fill: u8| {
        let mut buf = [fill; 64];
        for (b, h) in buf.iter_mut().zip(&h_final) {
            *b ^= h;
        }
        HashAlg::Sha1.hash(&[&buf])
    };
    let mut x = expand(0x36);
    x.extend(expand(0x5c));
    x.truncate(key_len);
    x
}

/// Decrypts an EncryptedPackage protected with Standard (AES-ECB) encryption.
pub fn decrypt(info: &[u8], package: &[u8], password: &str) -> Result<Vec<u8>, DecryptError> {
    let h = parse_binary_header(info)?;
    if h.flags & FLAG_EXTERNAL != 0 {
        return Err(DecryptError::Unsupported(
            "extensible (external) encryption".into(),
        ));
    }
    let key_len = match (h.alg_id, h.key_bits) {
        (ALG_AES128, 128) | (0, 128) => 16,
        (ALG_AES192, 192) | (0, 192) => 24,
        (ALG_AES256, 256) | (0, 256) => 32,
        (ALG_AES128 | ALG_AES192 | ALG_AES256, _) => {
            return Err(bad("AES key size does not match the algorithm"))
        }
        (ALG_RC4, _) => return Err(DecryptError::Unsupported("RC4 in an OOXML package".into())),
        (other, _) => {
            return Err(DecryptError::Unsupported(format!(
                "cipher AlgID 0x{other:04X}"
            )))
        }
    };
    if h.verifier_hash_size != 20 {
        return Err(bad("verifier hash size is not 20 (SHA-1)"));
    }
    if h.alg_id_hash != 0 && h.alg_id_hash != 0x8004 {
        return Err(DecryptError::Unsupported(format!(
            "hash AlgID 0x{:04X}",
            h.alg_id_hash
        )));
    }
    let mut verifier_hash = h
        .encrypted_verifier_hash
        .get(..32)
        .ok_or_else(|| bad("encrypted verifier hash truncated"))?
        .to_vec();
    let key = derive_key(h.salt, password, key_len);
    let aes = AesKey::new(&key).ok_or_else(|| bad("key length"))?;
    let mut verifier = h.encrypted_verifier.to_vec();
    aes.ecb_decrypt(&mut verifier);
    aes.ecb_decrypt(&mut verifier_hash);
    let expected = HashAlg::Sha1.hash(&[&verifier]);
    if !verifier_hash.get(..20).is_some_and(|v| same(v, &expected)) {
        return Err(DecryptError::WrongPassword);
    }
    let (size, data) = plain_size(package)?;
    // Only whole blocks can be decrypted; the plain size never exceeds them.
    let needed = size.div_ceil(16) * 16;
    let mut out = data
        .get(..needed.min(data.len() - data.len() % 16))
        .unwrap_or(&[])
        .to_vec();
    aes.ecb_decrypt(&mut out);
    out.truncate(size);
    Ok(out)
}
