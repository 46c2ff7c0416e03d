//! An agile package with SHA-512 and AES-256 (Office 2013+ defaults), encrypted here by a small
//! independent encryptor written from MS-OFFCRYPTO 2.3.4.11-2.3.4.15, then decrypted by the crate.

use std::time::Instant;

use aes::Aes256;
use base64::Engine;
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockEncryptMut, KeyIvInit};
use fumidai_officecrypt::{decrypt_package, ooxml_encryption, DecryptError, OoxmlEncryption};
use sha2::{Digest, Sha512};

fn sha512(parts: &[&[u8]]) -> Vec<u8> {
    let mut d = Sha512::new();
    for p in parts {
        d.update(p);
    }
    d.finalize().to_vec()
}

fn cbc_encrypt(key: &[u8], iv: &[u8], data: &[u8]) -> Vec<u8> {
    let mut buf = data.to_vec();
    buf.resize(data.len().div_ceil(16) * 16, 0);
    let n = buf.len();
    cbc::Encryptor::<Aes256>::new_from_slices(key, &iv[..16])
        .unwrap()
        .encrypt_padded_mut::<NoPadding>(&mut buf, n)
        .unwrap();
    buf
}

/// Builds (EncryptionInfo, EncryptedPackage) for `plain`.
fn encrypt(plain: &[u8], password: &str, spin: u32) -> (Vec<u8>, Vec<u8>) {
    let b64 = |v: &[u8]| base64::engine::general_purpose::STANDARD.encode(v);
    let key_salt: Vec<u8> = (0u8..16).map(|i| i.wrapping_mul(37) ^ 0x5a).collect();
    let data_salt: Vec<u8> = (0u8..16).map(|i| i.wrapping_mul(11) ^ 0xa5).collect();
    let secret: Vec<u8> = (0u8..32)
        .map(|i| i.wrapping_mul(73).wrapping_add(1))
        .collect();
    let pw: Vec<u8> = password.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let mut h = sha512(&[&key_salt, &pw]);
    for i in 0..spin {
        h = sha512(&[&i.to_le_bytes(), &h]);
    }
    let key = |block: [u8; 8]| sha512(&[&h, &block])[..32].to_vec();
    let verifier_input = b"0123456789abcdef".to_vec();
    let enc_input = cbc_encrypt(
        &key([0xfe, 0xa7, 0xd2, 0x76, 0x3b, 0x4b, 0x9e, 0x79]),
        &key_salt,
        &verifier_input,
    );
    let enc_value = cbc_encrypt(
        &key([0xd7, 0xaa, 0x0f, 0x6d, 0x30, 0x61, 0x34, 0x4e]),
        &key_salt,
        &sha512(&[&verifier_input]),
    );
    let enc_key = cbc_encrypt(
        &key([0x14, 0x6e, 0x0b, 0xe7, 0xab, 0xac, 0xd0, 0xd6]),
        &key_salt,
        &secret,
    );
    let xml = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<encryption xmlns="http://schemas.microsoft.com/office/2006/encryption" xmlns:p="http://schemas.microsoft.com/office/2006/keyEncryptor/password"><keyData saltSize="16" blockSize="16" keyBits="256" hashSize="64" cipherAlgorithm="AES" cipherChaining="ChainingModeCBC" hashAlgorithm="SHA512" saltValue="{}"/><dataIntegrity encryptedHmacKey="" encryptedHmacValue=""/><keyEncryptors><keyEncryptor uri="http://schemas.microsoft.com/office/2006/keyEncryptor/password"><p:encryptedKey spinCount="{spin}" saltSize="16" blockSize="16" keyBits="256" hashSize="64" cipherAlgorithm="AES" cipherChaining="ChainingModeCBC" hashAlgorithm="SHA512" saltValue="{}" encryptedVerifierHashInput="{}" encryptedVerifierHashValue="{}" encryptedKeyValue="{}"/></keyEncryptor></keyEncryptors></encryption>"#,
        b64(&data_salt),
        b64(&key_salt),
        b64(&enc_input),
        b64(&enc_value),
        b64(&enc_key)
    );
    let mut info = vec![4, 0, 4, 0, 0x40, 0, 0, 0];
    info.extend_from_slice(xml.as_bytes());
    let mut pkg = (plain.len() as u64).to_le_bytes().to_vec();
    for (i, seg) in plain.chunks(4096).enumerate() {
        let iv = sha512(&[&data_salt, &(i as u32).to_le_bytes()]);
        pkg.extend(cbc_encrypt(&secret, &iv, seg));
    }
    (info, pkg)
}

#[test]
fn sha512_aes256_round_trip_and_timing() {
    let plain: Vec<u8> = (0..20_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let (info, pkg) = encrypt(&plain, "Pässwort", 100_000);
    let Some(OoxmlEncryption::Agile(summary)) = ooxml_encryption(&info) else {
        panic!("not agile")
    };
    assert!(
        summary.contains("SHA512") && summary.contains("256"),
        "{summary}"
    );
    let t = Instant::now();
    let got = decrypt_package(&info, &pkg, "Pässwort").expect("decrypts");
    println!(
        "TIMING agile SHA-512 spinCount 100000, {} bytes: {:?}",
        pkg.len(),
        t.elapsed()
    );
    assert_eq!(got, plain);
    assert_eq!(
        decrypt_package(&info, &pkg, "Passwort"),
        Err(DecryptError::WrongPassword)
    );
}

#[test]
fn spin_count_is_capped() {
    let (info, pkg) = encrypt(b"PK\x03\x04", "x", 0);
    assert_eq!(
        decrypt_package(&info, &pkg, "x").as_deref(),
        Ok(&b"PK\x03\x04"[..])
    );
    let xml = String::from_utf8(info[8..].to_vec())
        .unwrap()
        .replace("spinCount=\"0\"", "spinCount=\"4000000000\"");
    let mut hostile = info[..8].to_vec();
    hostile.extend_from_slice(xml.as_bytes());
    let t = Instant::now();
    assert!(matches!(
        decrypt_package(&hostile, &pkg, "x"),
        Err(DecryptError::Malformed(_))
    ));
    assert!(t.elapsed().as_millis() < 1000);
}
