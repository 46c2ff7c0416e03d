//! Encrypted BIFF8 Workbook streams from the corpus.

use std::io::{Cursor, Read};

use fumidai_officecrypt::{biff_encryption, decrypt_biff, BiffEncryption, DecryptError};

fn workbook(rel: &str) -> Vec<u8> {
    let path = format!("{}/../../testdata/corpus/{rel}", env!("CARGO_MANIFEST_DIR"));
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut ole = cfb::CompoundFile::open(Cursor::new(data)).expect("OLE2");
    let mut v = Vec::new();
    ole.open_stream("/Workbook")
        .expect("Workbook")
        .read_to_end(&mut v)
        .expect("read");
    v
}

/// (type, offset, data) of every record.
fn records(s: &[u8]) -> Vec<(u16, usize, &[u8])> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos + 4 <= s.len() {
        let t = u16::from_le_bytes([s[pos], s[pos + 1]]);
        let len = usize::from(u16::from_le_bytes([s[pos + 2], s[pos + 3]]));
        let end = (pos + 4 + len).min(s.len());
        out.push((t, pos, &s[pos + 4..end]));
        pos += 4 + len;
    }
    out
}

/// A ShortXLUnicodeString (cch, fHighByte, chars) as text.
fn short_string(d: &[u8]) -> Option<String> {
    let cch = usize::from(*d.first()?);
    let high = *d.get(1)? & 1 == 1;
    let chars = d.get(2..)?;
    if high {
        let units: Vec<u16> = chars
            .get(..cch * 2)?
            .chunks(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        String::from_utf16(&units).ok()
    } else {
        Some(chars.get(..cch)?.iter().map(|&b| char::from(b)).collect())
    }
}

fn readable(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_alphanumeric() || " _-.()".contains(c))
}

/// Sheet names and font names read from the stream (these are encrypted data in the original).
fn names(stream: &[u8]) -> (Vec<String>, Vec<String>) {
    let recs = records(stream);
    let mut sheets = Vec::new();
    let mut fonts = Vec::new();
    for &(t, _, d) in &recs {
        if t == 0x0085 {
            let pos = u32::from_le_bytes(d[..4].try_into().unwrap()) as usize;
            // lbPlyPos is never encrypted: the sheet's BOF is there in both streams.
            assert!(
                recs.iter().any(|&(t, p, _)| t == 0x0809 && p == pos),
                "no BOF at lbPlyPos {pos}"
            );
            sheets.push(short_string(&d[6..]).unwrap_or_default());
        }
        if t == 0x0031 {
            fonts.push(short_string(d.get(14..).unwrap_or(&[])).unwrap_or_default());
        }
    }
    (sheets, fonts)
}

fn check(rel: &str, password: &str, expected: BiffEncryption) {
    let enc = workbook(rel);
    assert_eq!(biff_encryption(&enc), Some(expected), "{rel}");
    let plain = decrypt_biff(&enc, password).unwrap_or_else(|e| panic!("{rel}: {e}"));
    assert_eq!(plain.len(), enc.len());
    let (sheets, fonts) = names(&plain);
    println!("{rel}: sheets {sheets:?}, fonts {fonts:?}");
    assert!(
        !sheets.is_empty() && sheets.iter().all(|s| readable(s)),
        "{rel}: {sheets:?}"
    );
    assert!(
        !fonts.is_empty() && fonts.iter().all(|s| readable(s)),
        "{rel}: {fonts:?}"
    );
    // The same names are unreadable before decryption.
    let (enc_sheets, enc_fonts) = names(&enc);
    assert!(enc_sheets != sheets && enc_fonts != fonts);
    // The FILEPASS record is still there, unchanged, so callers can skip it.
    let fp = records(&plain)
        .into_iter()
        .find(|r| r.0 == 0x002F)
        .expect("FILEPASS kept");
    assert_eq!(Some(fp), records(&enc).into_iter().find(|r| r.0 == 0x002F));
    assert_eq!(
        decrypt_biff(&enc, "wrong password"),
        Err(DecryptError::WrongPassword)
    );
}

#[test]
fn velvet_sweatshop_xls() {
    check(
        "office_macros/oletools/encrypted/autostart-encrypt-standardpassword.xls",
        "VelvetSweatshop",
        BiffEncryption::Rc4,
    );
}

#[test]
fn poi_password_xls() {
    check(
        "office_nomacros/poi/spreadsheet/password.xls",
        "password",
        BiffEncryption::Rc4,
    );
}

#[test]
fn poi_xor_obfuscation_abc() {
    check(
        "office_nomacros/poi/spreadsheet/xor-encryption-abc.xls",
        "abc",
        BiffEncryption::Xor,
    );
}

#[test]
fn unknown_password_xls() {
    let wb = workbook("office_nomacros/oletools/encrypted/encrypted.xls");
    assert!(biff_encryption(&wb).is_some());
    assert_eq!(
        decrypt_biff(&wb, "VelvetSweatshop"),
        Err(DecryptError::WrongPassword)
    );
}

#[test]
fn plain_workbook_has_no_encryption() {
    let wb = workbook("office_macros/oletools/encrypted/autostart-encrypt-standardpassword.xls");
    let plain = decrypt_biff(&wb, "VelvetSweatshop").unwrap();
    // Dropping the FILEPASS record (as callers do) leaves an unencrypted workbook.
    let fp = records(&plain).into_iter().find(|r| r.0 == 0x002F).unwrap();
    let mut without = plain[..fp.1].to_vec();
    without.extend_from_slice(&plain[fp.1 + 4 + fp.2.len()..]);
    assert_eq!(biff_encryption(&without), None);
    assert!(matches!(
        decrypt_biff(&without, "x"),
        Err(DecryptError::Malformed(_))
    ));
}

#[test]
fn damaged_filepass_never_panics() {
    let wb = workbook("office_macros/oletools/encrypted/autostart-encrypt-standardpassword.xls");
    let fp = records(&wb).into_iter().find(|r| r.0 == 0x002F).unwrap();
    let (start, len) = (fp.1, fp.2.len());
    let mut refused = 0;
    for at in start..start + 4 + len {
        let mut bad = wb.clone();
        bad[at] ^= 0x5a;
        let _ = biff_encryption(&bad);
        refused += usize::from(decrypt_biff(&bad, "VelvetSweatshop").is_err());
    }
    assert!(refused > len / 2, "{refused} of {len} flips refused");
    for cut in 0..start + 4 + len {
        assert!(decrypt_biff(&wb[..cut], "VelvetSweatshop").is_err());
    }
}

/// RC4 CryptoAPI: no corpus file uses it, so the VelvetSweatshop workbook (decrypted) is re-encrypted
/// here with an independent encryptor (the `rc4` crate, whole-stream keystream then masked) and a
/// CryptoAPI FILEPASS, for a 128-bit key and for the 40-bit "KeySize 0" quirk.
fn cryptoapi_encrypt(password: &str, key_size_field: u32) -> (Vec<u8>, Vec<u8>) {
    use rc4::{KeyInit, StreamCipher};
    use sha1::{Digest, Sha1};
    let key_len = if key_size_field == 0 || key_size_field == 40 {
        5
    } else {
        key_size_field as usize / 8
    };
    assert!(key_len == 5 || key_len == 16);
    let salt: Vec<u8> = (0u8..16).map(|i| i.wrapping_mul(29) ^ 0x33).collect();
    let pw: Vec<u8> = password.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let h0 = Sha1::new().chain_update(&salt).chain_update(&pw).finalize();
    let key = |block: u32| {
        let mut k = Sha1::new()
            .chain_update(h0)
            .chain_update(block.to_le_bytes())
            .finalize()[..key_len]
            .to_vec();
        k.resize(16, 0);
        rc4::Rc4::<rc4::consts::U16>::new_from_slice(&k).unwrap()
    };
    let mut verifier = *b"fumidai verifier";
    let mut verifier_hash: [u8; 20] = Sha1::digest(verifier).into();
    let mut k0 = key(0);
    k0.apply_keystream(&mut verifier);
    k0.apply_keystream(&mut verifier_hash);
    let mut header = Vec::new();
    for v in [4u32, 0, 0x6801, 0x8004, key_size_field, 1, 0, 0] {
        header.extend(v.to_le_bytes());
    }
    header.extend(
        "Microsoft Enhanced Cryptographic Provider v1.0\0"
            .encode_utf16()
            .flat_map(u16::to_le_bytes),
    );
    let mut fp = vec![1, 0, 4, 0, 2, 0, 4, 0, 0, 0];
    fp.extend((header.len() as u32).to_le_bytes());
    fp.extend(header);
    fp.extend(16u32.to_le_bytes());
    fp.extend(&salt);
    fp.extend(verifier);
    fp.extend(20u32.to_le_bytes());
    fp.extend(verifier_hash);

    // The plain workbook with the new FILEPASS, sheet offsets moved by the size change.
    let wb = workbook("office_macros/oletools/encrypted/autostart-encrypt-standardpassword.xls");
    let clear = decrypt_biff(&wb, "VelvetSweatshop").unwrap();
    let old = records(&clear).into_iter().find(|r| r.0 == 0x002F).unwrap();
    let (at, old_end) = (old.1, old.1 + 4 + old.2.len());
    let delta = fp.len() as i64 - old.2.len() as i64;
    let mut plain = clear[..at].to_vec();
    plain.extend([0x2F, 0, fp.len() as u8, 0]);
    plain.extend(&fp);
    plain.extend(&clear[old_end..]);
    let sheets: Vec<usize> = records(&plain)
        .iter()
        .filter(|r| r.0 == 0x0085)
        .map(|r| r.1 + 4)
        .collect();
    for p in sheets {
        let v = u32::from_le_bytes(plain[p..p + 4].try_into().unwrap()) as i64 + delta;
        plain[p..p + 4].copy_from_slice(&(v as u32).to_le_bytes());
    }
    // Keystream for the whole stream, block by block, then applied only where MS-XLS says.
    let mut stream = vec![0u8; plain.len()];
    for (b, chunk) in stream.chunks_mut(1024).enumerate() {
        key(b as u32).apply_keystream(chunk);
    }
    let mut enc = plain.clone();
    let fp_end = at + 4 + fp.len();
    for (t, pos, d) in records(&plain) {
        if pos < fp_end || [0x0809, 0x002F, 0x0194, 0x0195, 0x00E1, 0x0196, 0x0138].contains(&t) {
            continue;
        }
        let skip = if t == 0x0085 { 4 } else { 0 };
        for o in pos + 4 + skip..pos + 4 + d.len() {
            enc[o] ^= stream[o];
        }
    }
    (plain, enc)
}

#[test]
fn rc4_cryptoapi_round_trip() {
    for (field, bits) in [(128, 128), (0, 40), (40, 40)] {
        let (plain, enc) = cryptoapi_encrypt("Geheim", field);
        assert_ne!(plain, enc);
        assert_eq!(
            biff_encryption(&enc),
            Some(BiffEncryption::Rc4CryptoApi { key_bits: bits })
        );
        assert_eq!(
            decrypt_biff(&enc, "VelvetSweatshop"),
            Err(DecryptError::WrongPassword)
        );
        let got = decrypt_biff(&enc, "Geheim").expect("decrypts");
        assert!(got == plain, "KeySize field {field}: decryption differs");
        let (sheets, _) = names(&got);
        assert!(sheets.iter().all(|s| readable(s)));
    }
}
