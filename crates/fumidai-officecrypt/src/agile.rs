//! ECMA-376 Agile encryption (MS-OFFCRYPTO 2.3.4.10-2.3.4.15): XML descriptor, password key
//! encryptor, AES-CBC package in 4096-byte segments.

use base64::Engine;
use quick_xml::events::Event;
use quick_xml::Reader;

use crate::aes_modes::AesKey;
use crate::digest_alg::{same, utf16le, HashAlg};
use crate::{plain_size, DecryptError};

/// Hostile headers cannot make us hash more than this many rounds (Office writes 100,000).
pub const MAX_SPIN_COUNT: u32 = 1_000_000;
const SEGMENT: usize = 4096;
const BLOCK_VERIFIER_INPUT: [u8; 8] = [0xfe, 0xa7, 0xd2, 0x76, 0x3b, 0x4b, 0x9e, 0x79];
const BLOCK_VERIFIER_VALUE: [u8; 8] = [0xd7, 0xaa, 0x0f, 0x6d, 0x30, 0x61, 0x34, 0x4e];
const BLOCK_KEY_VALUE: [u8; 8] = [0x14, 0x6e, 0x0b, 0xe7, 0xab, 0xac, 0xd0, 0xd6];

/// Cipher parameters shared by `keyData` and the password `encryptedKey`.
#[derive(Debug, Default, Clone)]
struct Params {
    salt: Vec<u8>,
    key_bits: u32,
    block_size: u32,
    hash: Option<String>,
    cipher: Option<String>,
    chaining: Option<String>,
}

/// The password key encryptor.
#[derive(Debug, Default, Clone)]
struct PasswordKey {
    params: Params,
    spin_count: u32,
    verifier_input: Vec<u8>,
    verifier_value: Vec<u8>,
    key_value: Vec<u8>,
}

/// What the descriptor says, for reporting and for decryption.
#[derive(Debug, Default, Clone)]
pub struct Descriptor {
    key_data: Params,
    password: Option<PasswordKey>,
}

impl Descriptor {
    /// `cipherAlgorithm`, `keyBits`, `hashAlgorithm` and `spinCount` of the password encryptor, for reports.
    pub fn summary(&self) -> String {
        let p = &self.key_data;
        let spin = self.password.as_ref().map_or(0, |k| k.spin_count);
        format!(
            "{}-{} {} {}, spinCount {}",
            p.cipher.as_deref().unwrap_or("?"),
            p.key_bits,
            p.chaining.as_deref().unwrap_or("?"),
            p.hash.as_deref().unwrap_or("?"),
            spin
        )
    }
}

fn bad(what: &str) -> DecryptError {
    DecryptError::Malformed(what.to_string())
}

fn b64(value: &[u8]) -> Result<Vec<u8>, DecryptError> {
    let clean: Vec<u8> = value
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(clean)
        .map_err(|_| bad("bad base64 in the encryption descriptor"))
}

fn number(value: &[u8]) -> Result<u32, DecryptError> {
    std::str::from_utf8(value)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| bad("bad number in the encryption descriptor"))
}

fn text(value: &[u8]) -> Option<String> {
    std::str::from_utf8(value)
        .ok()
        .map(|s| s.trim().to_string())
}

/// Parses the XML descriptor that follows the 8-byte agile EncryptionInfo prefix.
pub fn parse(xml: &[u8]) -> Result<Descriptor, DecryptError> {
    let mut reader = Reader::from_reader(xml);
    let mut buf = Vec::new();
    let mut d = Descriptor::default();
    let mut seen_key_data = false;
    // Each event consumes input, so this ends; the cap is belt and braces against odd inputs.
    for _ in 0..100_000 {
        let e = match reader.read_event_into(&mut buf) {
            Ok(Event::Eof) => break,
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => e,
            Ok(_) => {
                buf.clear();
                continue;
            }
            Err(_) => return Err(bad("encryption descriptor is not well-formed XML")),
        };
        let name = e.local_name();
        let is_key_data = name.as_ref() == b"keyData";
        let is_key = name.as_ref() == b"encryptedKey";
        if is_key_data || is_key {
            let mut p = Params::default();
            let mut k = PasswordKey::default();
            for a in e.attributes().flatten() {
                let v = a.value.as_ref();
                match a.key.local_name().as_ref() {
                    b"saltValue" => p.salt = b64(v)?,
                    b"keyBits" => p.key_bits = number(v)?,
                    b"blockSize" => p.block_size = number(v)?,
                    b"hashAlgorithm" => p.hash = text(v),
                    b"cipherAlgorithm" => p.cipher = text(v),
                    b"cipherChaining" => p.chaining = text(v),
                    b"spinCount" => k.spin_count = number(v)?,
                    b"encryptedVerifierHashInput" => k.verifier_input = b64(v)?,
                    b"encryptedVerifierHashValue" => k.verifier_value = b64(v)?,
                    b"encryptedKeyValue" => k.key_value = b64(v)?,
                    _ => {}
                }
            }
            if is_key_data && !seen_key_data {
                d.key_data = p;
                seen_key_data = true;
            } else if is_key && d.password.is_none() && !k.verifier_input.is_empty() {
                // Certificate encryptors also use `encryptedKey`, but without a verifier input.
                k.params = p;
                d.password = Some(k);
            }
        }
        buf.clear();
    }
    if !seen_key_data {
        return Err(bad("no keyData in the encryption descriptor"));
    }
    Ok(d)
}

/// Checks the cipher parameters we implement and returns (hash, key length in bytes).
fn check(p: &Params) -> Result<(HashAlg, usize), DecryptError> {
    let cipher = p.cipher.as_deref().unwrap_or("AES");
    if !cipher.eq_ignore_ascii_case("AES") {
        return Err(DecryptError::Unsupported(format!("agile cipher {cipher}")));
    }
    let chaining = p.chaining.as_deref().unwrap_or("ChainingModeCBC");
    if chaining != "ChainingModeCBC" {
        return Err(DecryptError::Unsupported(format!(
            "agile chaining {chaining}"
        )));
    }
    let name = p.hash.as_deref().unwrap_or("SHA1");
    let hash = HashAlg::from_name(name)
        .ok_or_else(|| DecryptError::Unsupported(format!("agile hash {name}")))?;
    if !matches!(p.key_bits, 128 | 192 | 256) {
        return Err(bad("AES key size must be 128, 192 or 256 bits"));
    }
    if p.block_size != 16 {
        return Err(bad("AES block size must be 16"));
    }
    if p.salt.len() < 16 || p.salt.len() > 64 {
        return Err(bad("salt size out of range"));
    }
    Ok((hash, p.key_bits as usize / 8))
}

/// Truncates or pads (with 0x36, per 2.3.4.11) to `len` bytes.
fn fit(mut v: Vec<u8>, len: usize) -> Vec<u8> {
    v.resize(len, 0x36);
    v
}

/// Decrypts a value of the key encryptor with the key for `block_key`.
fn decrypt_field(
    h: &[u8],
    hash: HashAlg,
    key_len: usize,
    iv: &[u8],
    block_key: &[u8],
    data: &[u8],
) -> Option<Vec<u8>> {
    let key = fit(hash.hash(&[h, block_key]), key_len);
    let aes = AesKey::new(&key)?;
    if data.is_empty() || !data.len().is_multiple_of(16) {
        return None;
    }
    let mut out = data.to_vec();
    aes.cbc_decrypt(iv, &mut out);
    Some(out)
}

/// Decrypts an agile-encrypted package; `xml` is the descriptor (EncryptionInfo from offset 8).
pub fn decrypt(xml: &[u8], package: &[u8], password: &str) -> Result<Vec<u8>, DecryptError> {
    let d = parse(xml)?;
    let pk = d.password.as_ref().ok_or_else(|| {
        DecryptError::Unsupported("no password key encryptor (certificate only)".into())
    })?;
    let (data_hash, data_key_len) = check(&d.key_data)?;
    let (hash, key_len) = check(&pk.params)?;
    if pk.spin_count > MAX_SPIN_COUNT {
        return Err(bad("spinCount above the limit"));
    }
    let salt = &pk.params.salt;
    let iv = fit(salt.clone(), 16);
    let h = hash.spin(salt, &utf16le(password), pk.spin_count);

    let input = decrypt_field(
        &h,
        hash,
        key_len,
        &iv,
        &BLOCK_VERIFIER_INPUT,
        &pk.verifier_input,
    )
    .ok_or_else(|| bad("encryptedVerifierHashInput is not whole blocks"))?;
    let input = input.get(..salt.len()).unwrap_or(&input);
    let value = decrypt_field(
        &h,
        hash,
        key_len,
        &iv,
        &BLOCK_VERIFIER_VALUE,
        &pk.verifier_value,
    )
    .ok_or_else(|| bad("encryptedVerifierHashValue is not whole blocks"))?;
    let expected = hash.hash(&[input]);
    if !value.get(..hash.size()).is_some_and(|v| same(v, &expected)) {
        return Err(DecryptError::WrongPassword);
    }
    let secret = decrypt_field(&h, hash, key_len, &iv, &BLOCK_KEY_VALUE, &pk.key_value)
        .ok_or_else(|| bad("encryptedKeyValue is not whole blocks"))?;
    let secret = secret
        .get(..data_key_len)
        .ok_or_else(|| bad("encryptedKeyValue too short"))?;
    let aes = AesKey::new(secret).ok_or_else(|| bad("intermediate key length"))?;

    let (size, data) = plain_size(package)?;
    let needed = size.div_ceil(16) * 16;
    let mut out = data.get(..needed.min(data.len())).unwrap_or(&[]).to_vec();
    for (n, segment) in out.chunks_mut(SEGMENT).enumerate() {
        let index = u32::try_from(n).unwrap_or(u32::MAX);
        let seg_iv = fit(
            data_hash.hash(&[&d.key_data.salt, &index.to_le_bytes()]),
            16,
        );
        aes.cbc_decrypt(&seg_iv, segment);
    }
    out.truncate(size);
    Ok(out)
}
