//! XOR obfuscation, method 1 (MS-OFFCRYPTO 2.3.7.1-2.3.7.4), as Excel applies it to BIFF8 records
//! (MS-XLS 2.2.10). Weak by design: the key and verifier are stored in FILEPASS.

const PAD: [u8; 15] = [
    0xBB, 0xFF, 0xFF, 0xBA, 0xFF, 0xFF, 0xB9, 0x80, 0x00, 0xBE, 0x0F, 0x00, 0xBF, 0x0F, 0x00,
];

const INITIAL_CODE: [u16; 15] = [
    0xE1F0, 0x1D0F, 0xCC9C, 0x84C0, 0x110C, 0x0E10, 0xF1CE, 0x313E, 0x1872, 0xE139, 0xD40F, 0x84F9,
    0x280C, 0xA96A, 0x4EC3,
];

const XOR_MATRIX: [u16; 105] = [
    0xAEFC, 0x4DD9, 0x9BB2, 0x2745, 0x4E8A, 0x9D14, 0x2A09, 0x7B61, 0xF6C2, 0xFDA5, 0xEB6B, 0xC6F7,
    0x9DCF, 0x2BBF, 0x4563, 0x8AC6, 0x05AD, 0x0B5A, 0x16B4, 0x2D68, 0x5AD0, 0x0375, 0x06EA, 0x0DD4,
    0x1BA8, 0x3750, 0x6EA0, 0xDD40, 0xD849, 0xA0B3, 0x5147, 0xA28E, 0x553D, 0xAA7A, 0x44D5, 0x6F45,
    0xDE8A, 0xAD35, 0x4A4B, 0x9496, 0x390D, 0x721A, 0xEB23, 0xC667, 0x9CEF, 0x29FF, 0x53FE, 0xA7FC,
    0x5FD9, 0x47D3, 0x8FA6, 0x0F6D, 0x1EDA, 0x3DB4, 0x7B68, 0xF6D0, 0xB861, 0x60E3, 0xC1C6, 0x93AD,
    0x377B, 0x6EF6, 0xDDEC, 0x45A0, 0x8B40, 0x06A1, 0x0D42, 0x1A84, 0x3508, 0x6A10, 0xAA51, 0x4483,
    0x8906, 0x022D, 0x045A, 0x08B4, 0x1168, 0x76B4, 0xED68, 0xCAF1, 0x85C3, 0x1BA7, 0x374E, 0x6E9C,
    0x3730, 0x6E60, 0xDCC0, 0xA9A1, 0x4363, 0x86C6, 0x1DAD, 0x3331, 0x6662, 0xCCC4, 0x89A9, 0x0373,
    0x06E6, 0x0DCC, 0x1021, 0x2042, 0x4084, 0x8108, 0x1231, 0x2462, 0x48C4,
];

/// The single-byte password (at most 15 bytes) the method works on.
pub fn password_bytes(password: &str) -> Vec<u8> {
    password
        .chars()
        .take(15)
        .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
        .collect()
}

/// 2.3.7.1: the 16-bit verifier stored in FILEPASS.
pub fn verifier(pw: &[u8]) -> u16 {
    let mut v: u16 = 0;
    let len = pw.len() as u8;
    for &b in pw.iter().rev().chain(std::iter::once(&len)) {
        let carry = (v >> 14) & 1;
        v = (carry | ((v << 1) & 0x7FFF)) ^ u16::from(b);
    }
    v ^ 0xCE4B
}

/// 2.3.7.2: the 16-bit XOR key stored in FILEPASS. `pw` must be 1..=15 bytes.
pub fn key(pw: &[u8]) -> u16 {
    let Some(&start) = pw.len().checked_sub(1).and_then(|i| INITIAL_CODE.get(i)) else {
        return 0;
    };
    let mut key = start;
    let mut element = XOR_MATRIX.len();
    for &b in pw.iter().rev() {
        let mut ch = b;
        for _ in 0..7 {
            element = element.saturating_sub(1);
            if ch & 0x40 != 0 {
                key ^= XOR_MATRIX.get(element).copied().unwrap_or(0);
            }
            ch <<= 1;
        }
    }
    key
}

/// 2.3.7.3: the 16-byte array XORed into the data.
pub fn xor_array(pw: &[u8]) -> [u8; 16] {
    let pw = pw.get(..pw.len().min(15)).unwrap_or(&[]);
    let k = key(pw);
    let [lo, hi] = k.to_le_bytes();
    let mix = |b: u8, k: u8| (b ^ k).rotate_right(1);
    let mut out = [0u8; 16];
    let mut index = pw.len();
    let at = |i: usize| pw.get(i).copied().unwrap_or(0);
    if index % 2 == 1 {
        if let Some(o) = out.get_mut(index) {
            *o = mix(PAD[0], hi);
        }
        index -= 1;
        if let Some(o) = out.get_mut(index) {
            *o = mix(at(pw.len() - 1), lo);
        }
    }
    while index > 0 {
        index -= 1;
        out[index] = mix(at(index), hi);
        index = index.saturating_sub(1);
        out[index] = mix(at(index), lo);
    }
    let mut index = 15usize;
    let mut pad = 15 - pw.len().min(15);
    while pad > 0 {
        out[index] = mix(PAD.get(pad).copied().unwrap_or(0), hi);
        index -= 1;
        pad -= 1;
        out[index] = mix(PAD.get(pad).copied().unwrap_or(0), lo);
        index = index.saturating_sub(1);
        pad = pad.saturating_sub(1);
    }
    out
}

/// Deobfuscates one record's data in place. `data_start` is its stream offset and `record_len`
/// the full data length; `skip` leading bytes are clear but still advance the array index.
pub fn deobfuscate(
    array: &[u8; 16],
    data_start: usize,
    record_len: usize,
    skip: usize,
    data: &mut [u8],
) {
    let base = data_start.wrapping_add(record_len);
    for (j, b) in data.iter_mut().enumerate() {
        let x = array[base.wrapping_add(skip).wrapping_add(j) % 16];
        *b = (*b ^ x).rotate_right(5);
    }
}
