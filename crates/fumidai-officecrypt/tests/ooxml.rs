//! Encrypted OOXML packages from the corpus, decrypted and checked as ZIP files.

use std::io::{Cursor, Read};
use std::time::Instant;

use fumidai_officecrypt::{decrypt_package, ooxml_encryption, DecryptError, OoxmlEncryption};

fn corpus(rel: &str) -> Vec<u8> {
    let path = format!("{}/../../testdata/corpus/{rel}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// (EncryptionInfo, EncryptedPackage) of an OLE2-wrapped OOXML file.
fn streams(rel: &str) -> (Vec<u8>, Vec<u8>) {
    let mut ole = cfb::CompoundFile::open(Cursor::new(corpus(rel))).expect("OLE2");
    let mut read = |name: &str| {
        let mut v = Vec::new();
        ole.open_stream(name)
            .expect(name)
            .read_to_end(&mut v)
            .expect(name);
        v
    };
    (read("/EncryptionInfo"), read("/EncryptedPackage"))
}

fn zip_names(plain: &[u8]) -> Vec<String> {
    assert!(
        plain.starts_with(b"PK\x03\x04"),
        "not a ZIP: {:02X?}",
        plain.get(..8)
    );
    let zip = zip::ZipArchive::new(Cursor::new(plain)).expect("central directory");
    zip.file_names().map(str::to_string).collect()
}

fn decrypts(rel: &str, password: &str, must_contain: &str) -> Vec<u8> {
    let (info, pkg) = streams(rel);
    let t = Instant::now();
    let plain = decrypt_package(&info, &pkg, password).unwrap_or_else(|e| panic!("{rel}: {e}"));
    println!(
        "{rel}: {:?} decrypted in {:?} ({} bytes)",
        ooxml_encryption(&info),
        t.elapsed(),
        plain.len()
    );
    let names = zip_names(&plain);
    assert!(
        names.iter().any(|n| n.ends_with(must_contain)),
        "{rel}: no {must_contain} in {names:?}"
    );
    // A wrong password is refused before any package byte is decrypted.
    assert_eq!(
        decrypt_package(&info, &pkg, "not-the-password"),
        Err(DecryptError::WrongPassword)
    );
    info
}

#[test]
fn velvet_sweatshop_xlsm_has_vba() {
    decrypts(
        "office_macros/oletools/encrypted/autostart-encrypt-standardpassword.xlsm",
        "VelvetSweatshop",
        "vbaProject.bin",
    );
}

#[test]
fn velvet_sweatshop_xlsb_has_vba() {
    decrypts(
        "office_macros/oletools/encrypted/autostart-encrypt-standardpassword.xlsb",
        "VelvetSweatshop",
        "vbaProject.bin",
    );
}

#[test]
fn poi_docx_password_pass() {
    decrypts(
        "office_nomacros/poi/document/bug53475-password-is-pass.docx",
        "pass",
        "[Content_Types].xml",
    );
}

#[test]
fn tika_protected_files() {
    for f in [
        "testEXCEL_protected_passtika.xlsx",
        "testPPT_protected_passtika.pptx",
        "testWORD_protected_passtika.docx",
    ] {
        decrypts(
            &format!("office_nomacros/tika/{f}"),
            "tika",
            "[Content_Types].xml",
        );
    }
}

#[test]
fn unknown_passwords_are_wrong_passwords() {
    for rel in [
        "office_nomacros/oletools/encrypted/encrypted.docx",
        "office_nomacros/oletools/encrypted/encrypted.xlsx",
        "carriers/encrypted_office/encrypted.docm",
        "carriers/encrypted_office/encrypted.xlsm",
        "carriers/encrypted_office/encrypted.pptm",
    ] {
        let (info, pkg) = streams(rel);
        assert_eq!(
            decrypt_package(&info, &pkg, "VelvetSweatshop"),
            Err(DecryptError::WrongPassword),
            "{rel}"
        );
    }
}

/// Times one agile decryption of a real file (100,000 SHA-1 rounds).
#[test]
fn agile_timing() {
    let rel = "office_nomacros/poi/document/bug53475-password-is-pass.docx";
    let (info, pkg) = streams(rel);
    let Some(OoxmlEncryption::Agile(summary)) = ooxml_encryption(&info) else {
        panic!("{rel} is not agile")
    };
    assert!(summary.contains("spinCount 100000"), "{summary}");
    let t = Instant::now();
    let plain = decrypt_package(&info, &pkg, "pass").expect("decrypts");
    let took = t.elapsed();
    assert!(plain.starts_with(b"PK"));
    println!("TIMING agile ({summary}), {} bytes: {took:?}", pkg.len());
    let t = Instant::now();
    assert_eq!(
        decrypt_package(&info, &pkg, "wrong"),
        Err(DecryptError::WrongPassword)
    );
    println!("TIMING agile wrong password: {:?}", t.elapsed());
}

/// Truncated and bit-flipped headers give errors, never panics or bogus output.
#[test]
fn damaged_headers_never_panic() {
    for rel in [
        "office_nomacros/tika/testEXCEL_protected_passtika.xlsx",
        "office_macros/oletools/encrypted/autostart-encrypt-standardpassword.xlsm",
    ] {
        let (info, pkg) = streams(rel);
        let password = if rel.contains("tika") {
            "tika"
        } else {
            "VelvetSweatshop"
        };
        let mut malformed = 0;
        // Truncations: every length for the binary part, coarser steps through the XML.
        let cuts: Vec<usize> = (0..info.len().min(64))
            .chain((64..info.len()).step_by(97))
            .collect();
        for cut in cuts {
            let r = decrypt_package(&info[..cut], &pkg, password);
            assert!(r.is_err(), "{rel}: truncated at {cut} still decrypted");
            malformed += usize::from(matches!(r, Err(DecryptError::Malformed(_))));
        }
        assert!(malformed > 0, "{rel}: no truncation reported as Malformed");
        // Bit flips: errors or (when an unchecked field such as the keyData salt changed) bounded output.
        let good = decrypt_package(&info, &pkg, password).expect("decrypts");
        let mut refused = 0;
        for at in (0..info.len()).step_by(7) {
            let mut bad = info.clone();
            bad[at] ^= 0x41;
            match decrypt_package(&bad, &pkg, password) {
                Ok(plain) => assert!(plain.len() <= pkg.len()),
                Err(_) => refused += 1,
            }
        }
        assert!(refused > 0, "{rel}: no flipped header was refused");
        // A short or lying package.
        assert!(matches!(
            decrypt_package(&info, &pkg[..4], password),
            Err(DecryptError::Malformed(_))
        ));
        let mut lying = pkg.clone();
        lying[..8].copy_from_slice(&u64::MAX.to_le_bytes());
        let plain = decrypt_package(&info, &lying, password).expect("size is capped");
        assert!(plain.len() <= pkg.len() && plain.len() >= good.len());
    }
}
