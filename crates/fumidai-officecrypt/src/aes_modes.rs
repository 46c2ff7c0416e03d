//! AES in the two modes Office uses (ECB for Standard encryption, CBC for Agile), any key size.

use aes::{Aes128, Aes192, Aes256};
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockDecryptMut, InnerIvInit, KeyInit};
use ecb::cipher::crypto_common::InnerInit;

/// An expanded AES key (128, 192 or 256 bits).
#[derive(Clone)]
pub enum AesKey {
    K128(Aes128),
    K192(Aes192),
    K256(Aes256),
}

impl AesKey {
    /// `None` unless the key is 16, 24 or 32 bytes long.
    pub fn new(key: &[u8]) -> Option<Self> {
        match key.len() {
            16 => Aes128::new_from_slice(key).ok().map(Self::K128),
            24 => Aes192::new_from_slice(key).ok().map(Self::K192),
            32 => Aes256::new_from_slice(key).ok().map(Self::K256),
            _ => None,
        }
    }

    /// Decrypts whole blocks in place with CBC; a trailing partial block is left as is.
    pub fn cbc_decrypt(&self, iv: &[u8], buf: &mut [u8]) {
        let whole = buf.len() - buf.len() % 16;
        let Some(buf) = buf.get_mut(..whole) else {
            return;
        };
        // Errors are impossible (IV length checked by callers, whole blocks): ignore them rather than panic.
        let _ = match self {
            Self::K128(c) => cbc::Decryptor::<Aes128>::inner_iv_slice_init(c.clone(), iv)
                .map(|d| d.decrypt_padded_mut::<NoPadding>(buf).map(|_| ())),
            Self::K192(c) => cbc::Decryptor::<Aes192>::inner_iv_slice_init(c.clone(), iv)
                .map(|d| d.decrypt_padded_mut::<NoPadding>(buf).map(|_| ())),
            Self::K256(c) => cbc::Decryptor::<Aes256>::inner_iv_slice_init(c.clone(), iv)
                .map(|d| d.decrypt_padded_mut::<NoPadding>(buf).map(|_| ())),
        };
    }

    /// Decrypts whole blocks in place with ECB; a trailing partial block is left as is.
    pub fn ecb_decrypt(&self, buf: &mut [u8]) {
        let whole = buf.len() - buf.len() % 16;
        let Some(buf) = buf.get_mut(..whole) else {
            return;
        };
        let _ = match self {
            Self::K128(c) => ecb::Decryptor::<Aes128>::inner_init(c.clone())
                .decrypt_padded_mut::<NoPadding>(buf)
                .map(|_| ()),
            Self::K192(c) => ecb::Decryptor::<Aes192>::inner_init(c.clone())
                .decrypt_padded_mut::<NoPadding>(buf)
                .map(|_| ()),
            Self::K256(c) => ecb::Decryptor::<Aes256>::inner_init(c.clone())
                .decrypt_padded_mut::<NoPadding>(buf)
                .map(|_| ()),
        };
    }
}
