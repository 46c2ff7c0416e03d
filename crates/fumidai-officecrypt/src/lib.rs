//! Office encryption: which scheme a document uses, and decryption with a candidate password
//! (the Excel default `VelvetSweatshop` first) so the plain document can be inspected like any other.
//!
//! Pure computation on byte slices, no I/O:
//! - [`decrypt_package`]: ECMA-376 encrypted OOXML (the `EncryptionInfo` and `EncryptedPackage`
//!   streams of the OLE2 wrapper): Agile (4.4, AES-CBC, SHA-1/SHA-2/MD5 spin hash) and Standard
//!   (2.2/3.2/4.2, AES-ECB, SHA-1). Extensible encryption, certificate-only agile files, and agile
//!   ciphers other than AES-CBC are reported as [`DecryptError::Unsupported`]. The data-integrity
//!   HMAC of agile packages is not checked (we inspect, we do not trust).
//! - [`decrypt_biff`]: a BIFF8 Workbook stream with FILEPASS: RC4 (Office 97), RC4 CryptoAPI and
//!   XOR obfuscation (method 1).
//!
//! Limits: the agile spin count is capped at [`MAX_SPIN_COUNT`]; output never exceeds the input
//! length; Word/PowerPoint binary (.doc/.ppt) encryption is not handled here.

mod aes_modes;
mod agile;
mod biff;
mod digest_alg;
mod rc4_stream;
mod standard;
mod xor_obfuscation;

pub use agile::MAX_SPIN_COUNT;
pub use biff::{biff_encryption, decrypt_biff, BiffEncryption};

/// Passwords tried on every encrypted Office document before the ones harvested from the body.
pub const DEFAULT_PASSWORDS: &[&str] = &["VelvetSweatshop"];

/// Why a document could not be decrypted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecryptError {
    /// No candidate password fits.
    WrongPassword,
    /// A scheme this crate does not implement (named).
    Unsupported(String),
    /// The encryption headers are damaged.
    Malformed(String),
}

impl std::fmt::Display for DecryptError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecryptError::WrongPassword => f.write_str("wrong password"),
            DecryptError::Unsupported(s) => write!(f, "unsupported encryption: {s}"),
            DecryptError::Malformed(s) => write!(f, "malformed encryption header: {s}"),
        }
    }
}

impl std::error::Error for DecryptError {}

/// The scheme of an OOXML `EncryptionInfo` stream, for reporting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OoxmlEncryption {
    /// Agile (4.4); the text names cipher, key size, chaining, hash and spin count.
    Agile(String),
    /// Standard (x.2) with the cipher AlgID and key size in bits.
    Standard { alg_id: u32, key_bits: u32 },
    /// Extensible (x.3), which needs a third-party provider.
    Extensible,
    /// Anything else (version major.minor).
    Unknown(u16, u16),
}

/// Names the encryption scheme of an `EncryptionInfo` stream without trying any password.
pub fn ooxml_encryption(encryption_info: &[u8]) -> Option<OoxmlEncryption> {
    let major = le_u16(encryption_info, 0)?;
    let minor = le_u16(encryption_info, 2)?;
    Some(match (major, minor) {
        (4, 4) => match agile::parse(encryption_info.get(8..)?) {
            Ok(d) => OoxmlEncryption::Agile(d.summary()),
            Err(_) => OoxmlEncryption::Unknown(major, minor),
        },
        (2..=4, 2) => match standard::parse_binary_header(encryption_info) {
            Ok(h) => OoxmlEncryption::Standard {
                alg_id: h.alg_id,
                key_bits: h.key_bits,
            },
            Err(_) => OoxmlEncryption::Unknown(major, minor),
        },
        (3 | 4, 3) => OoxmlEncryption::Extensible,
        _ => OoxmlEncryption::Unknown(major, minor),
    })
}

/// Decrypts an ECMA-376 encrypted OOXML package from the `EncryptionInfo` and `EncryptedPackage`
/// streams of its OLE2 wrapper. Returns the plain ZIP package.
pub fn decrypt_package(
    encryption_info: &[u8],
    encrypted_package: &[u8],
    password: &str,
) -> Result<Vec<u8>, DecryptError> {
    let major = le_u16(encryption_info, 0)
        .ok_or_else(|| DecryptError::Malformed("EncryptionInfo too short".into()))?;
    let minor = le_u16(encryption_info, 2)
        .ok_or_else(|| DecryptError::Malformed("EncryptionInfo too short".into()))?;
    match (major, minor) {
        (4, 4) => {
            let xml = encryption_info
                .get(8..)
                .ok_or_else(|| DecryptError::Malformed("agile EncryptionInfo too short".into()))?;
            agile::decrypt(xml, encrypted_package, password)
        }
        (2..=4, 2) => standard::decrypt(encryption_info, encrypted_package, password),
        (3 | 4, 3) => Err(DecryptError::Unsupported("extensible encryption".into())),
        _ => Err(DecryptError::Unsupported(format!(
            "EncryptionInfo version {major}.{minor}"
        ))),
    }
}

/// Tries each password in turn (stopping at the first that is not [`DecryptError::WrongPassword`]);
/// on success returns the plain package and the index of the password that fit.
pub fn decrypt_package_with<S: AsRef<str>>(
    encryption_info: &[u8],
    encrypted_package: &[u8],
    passwords: &[S],
) -> Result<(Vec<u8>, usize), DecryptError> {
    for (i, p) in passwords.iter().enumerate() {
        match decrypt_package(encryption_info, encrypted_package, p.as_ref()) {
            Ok(plain) => return Ok((plain, i)),
            Err(DecryptError::WrongPassword) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(DecryptError::WrongPassword)
}

pub(crate) fn le_u16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([*s.first()?, *s.get(1)?]))
}

pub(crate) fn le_u32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes(s.try_into().ok()?))
}

/// The 8-byte plain size that opens an EncryptedPackage, capped by the encrypted bytes that follow,
/// and those bytes.
pub(crate) fn plain_size(package: &[u8]) -> Result<(usize, &[u8]), DecryptError> {
    let head = package.get(..8).ok_or_else(|| {
        DecryptError::Malformed("EncryptedPackage shorter than its size field".into())
    })?;
    let size = u64::from_le_bytes(head.try_into().unwrap_or([0; 8]));
    let data = package.get(8..).unwrap_or(&[]);
    let whole = data.len() - data.len() % 16;
    let size = usize::try_from(size).unwrap_or(usize::MAX).min(whole);
    Ok((size, data))
}
