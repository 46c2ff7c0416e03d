//! RC4, with the per-block re-keying the binary Office formats use.
//!
//! Written out here (it is twenty lines) because the `rc4` crate fixes the key length in the type,
//! while Office keys are 5 to 16 bytes chosen by the header.

/// Plain RC4 state.
#[derive(Clone)]
pub struct Rc4 {
    s: [u8; 256],
    i: u8,
    j: u8,
}

impl Rc4 {
    /// A fresh keystream; an empty key is treated as a single zero byte (never happens with derived keys).
    pub fn new(key: &[u8]) -> Self {
        let key: &[u8] = if key.is_empty() { &[0] } else { key };
        let mut s = [0u8; 256];
        for (n, v) in s.iter_mut().enumerate() {
            *v = n as u8;
        }
        let mut j: u8 = 0;
        for n in 0..256usize {
            let k = key.get(n % key.len()).copied().unwrap_or(0);
            j = j.wrapping_add(s[n]).wrapping_add(k);
            s.swap(n, usize::from(j));
        }
        Rc4 { s, i: 0, j: 0 }
    }

    #[inline]
    fn next(&mut self) -> u8 {
        self.i = self.i.wrapping_add(1);
        let si = self.s[usize::from(self.i)];
        self.j = self.j.wrapping_add(si);
        self.s.swap(usize::from(self.i), usize::from(self.j));
        let t = si.wrapping_add(self.s[usize::from(self.i)]);
        self.s[usize::from(t)]
    }

    /// XORs the keystream into `buf`.
    pub fn apply(&mut self, buf: &mut [u8]) {
        for b in buf {
            *b ^= self.next();
        }
    }

    /// Discards `n` keystream bytes.
    pub fn skip(&mut self, n: usize) {
        for _ in 0..n {
            self.next();
        }
    }
}

/// Size of the re-keying block of the binary formats (MS-XLS 2.2.10, MS-OFFCRYPTO 2.3.5.2/2.3.6.2).
pub const BLOCK: usize = 1024;

/// An RC4 keystream addressed by stream offset: block `n` (offset / 1024) uses the key for `n`.
pub struct BlockRc4<F: Fn(u32) -> Vec<u8>> {
    key_for_block: F,
    block: Option<usize>,
    pos: usize,
    rc4: Rc4,
}

impl<F: Fn(u32) -> Vec<u8>> BlockRc4<F> {
    pub fn new(key_for_block: F) -> Self {
        BlockRc4 {
            key_for_block,
            block: None,
            pos: 0,
            rc4: Rc4::new(&[0]),
        }
    }

    /// XORs the keystream for stream offsets `offset..offset + buf.len()` into `buf`.
    /// Offsets should grow between calls (going back re-keys the block, which is correct but slower).
    pub fn apply_at(&mut self, offset: usize, buf: &mut [u8]) {
        let mut off = offset;
        let mut rest = buf;
        while !rest.is_empty() {
            let block = off / BLOCK;
            let within = off % BLOCK;
            if self.block != Some(block) || self.pos > within {
                let n = u32::try_from(block).unwrap_or(u32::MAX);
                self.rc4 = Rc4::new(&(self.key_for_block)(n));
                self.block = Some(block);
                self.pos = 0;
            }
            self.rc4.skip(within - self.pos);
            let n = rest.len().min(BLOCK - within);
            let (now, later) = rest.split_at_mut(n);
            self.rc4.apply(now);
            self.pos = within + n;
            off += n;
            rest = later;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rc4_known_answer() {
        // RFC 6229-style classic vector: key "Key", plaintext "Plaintext".
        let mut buf = *b"Plaintext";
        Rc4::new(b"Key").apply(&mut buf);
        assert_eq!(buf, [0xBB, 0xF3, 0x16, 0xE8, 0xD9, 0x40, 0xAF, 0x0A, 0xD3]);
    }

    #[test]
    fn block_addressing_matches_linear_stream() {
        let key = |b: u32| vec![1, 2, 3, b as u8];
        // Reference: whole blocks applied linearly.
        let mut reference = vec![0u8; 3000];
        for (n, chunk) in reference.chunks_mut(BLOCK).enumerate() {
            Rc4::new(&key(n as u32)).apply(chunk);
        }
        let mut ks = BlockRc4::new(key);
        let mut got = vec![0u8; 3000];
        // Apply in uneven pieces with gaps left at zero, then fill the gaps.
        let (a, b) = got.split_at_mut(1500);
        ks.apply_at(10, &mut a[10..1100]);
        ks.apply_at(1200, &mut a[1200..]);
        ks.apply_at(1500, b);
        ks.apply_at(0, &mut a[..10]);
        ks.apply_at(1100, &mut a[1100..1200]);
        assert_eq!(got, reference);
    }
}
