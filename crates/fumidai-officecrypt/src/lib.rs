//! Office encryption: which scheme a document uses, and decryption with a candidate password
//! (the Excel default `VelvetSweatshop` first) so the plain document can be inspected like any other.

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

/// Decrypts an ECMA-376 encrypted OOXML package from the `EncryptionInfo` and `EncryptedPackage`
/// streams of its OLE2 wrapper. Returns the plain ZIP package.
pub fn decrypt_package(
    encryption_info: &[u8],
    encrypted_package: &[u8],
    password: &str,
) -> Result<Vec<u8>, DecryptError> {
    let _ = (encryption_info, encrypted_package, password);
    Err(DecryptError::Unsupported("not yet".into()))
}
