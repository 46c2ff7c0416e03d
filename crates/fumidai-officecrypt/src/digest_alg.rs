//! The hash algorithms named by Office encryption headers, and the iterated ("spin") password hash.

use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha384, Sha512};

/// A hash algorithm an encryption header may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlg {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
    Md5,
}

impl HashAlg {
    /// The algorithm for an agile descriptor's `hashAlgorithm` attribute.
    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim().to_ascii_uppercase().as_str() {
            "SHA1" | "SHA-1" => Some(Self::Sha1),
            "SHA256" | "SHA-256" => Some(Self::Sha256),
            "SHA384" | "SHA-384" => Some(Self::Sha384),
            "SHA512" | "SHA-512" => Some(Self::Sha512),
            "MD5" => Some(Self::Md5),
            _ => None,
        }
    }

    /// Digest length in bytes.
    pub fn size(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
            Self::Md5 => 16,
        }
    }

    /// Hash of the concatenation of `parts`.
    pub fn hash(self, parts: &[&[u8]]) -> Vec<u8> {
        fn run<D: Digest>(parts: &[&[u8]]) -> Vec<u8> {
            let mut d = D::new();
            for p in parts {
                d.update(p);
            }
            d.finalize().to_vec()
        }
        match self {
            Self::Sha1 => run::<Sha1>(parts),
            Self::Sha256 => run::<Sha256>(parts),
            Self::Sha384 => run::<Sha384>(parts),
            Self::Sha512 => run::<Sha512>(parts),
            Self::Md5 => run::<Md5>(parts),
        }
    }

    /// `H0 = H(salt + password)`, then `Hn = H(LE u32 n + Hn-1)` for `spin` rounds (MS-OFFCRYPTO 2.3.4.7/2.3.4.11).
    pub fn spin(self, salt: &[u8], password: &[u8], spin: u32) -> Vec<u8> {
        fn run<D: Digest>(salt: &[u8], password: &[u8], spin: u32) -> Vec<u8> {
            let mut h = D::new()
                .chain_update(salt)
                .chain_update(password)
                .finalize();
            for i in 0..spin {
                h = D::new()
                    .chain_update(i.to_le_bytes())
                    .chain_update(&h)
                    .finalize();
            }
            h.to_vec()
        }
        match self {
            Self::Sha1 => run::<Sha1>(salt, password, spin),
            Self::Sha256 => run::<Sha256>(salt, password, spin),
            Self::Sha384 => run::<Sha384>(salt, password, spin),
            Self::Sha512 => run::<Sha512>(salt, password, spin),
            Self::Md5 => run::<Md5>(salt, password, spin),
        }
    }
}

/// UTF-16LE bytes of a password, as every Office scheme hashes it.
pub fn utf16le(password: &str) -> Vec<u8> {
    password.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// Byte equality; constant time is not needed (nothing secret is compared against an online attacker).
pub fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a == b
}
