//! The MS-OVBA 2.4.1 decompression algorithm (VBA source and `dir` streams), with a bounded output.

/// Decompresses a CompressedContainer. Returns what was decoded before any corruption (possibly empty)
/// and never more than `max_out` bytes. `None` when the signature byte is wrong.
pub(crate) fn decompress(data: &[u8], max_out: usize) -> Option<Vec<u8>> {
    if *data.first()? != 0x01 {
        return None;
    }
    let mut out: Vec<u8> = Vec::with_capacity(data.len().saturating_mul(2).min(max_out));
    let mut pos = 1usize;
    while pos.saturating_add(2) <= data.len() && out.len() < max_out {
        let header = u16::from_le_bytes([data[pos], data[pos + 1]]);
        let chunk_size = usize::from(header & 0x0FFF) + 3;
        let compressed = header & 0x8000 != 0;
        let chunk_end = pos.saturating_add(chunk_size).min(data.len());
        pos += 2;
        let chunk_start = out.len();
        if !compressed {
            // A raw chunk always holds 4096 bytes (fewer at a truncated end).
            let end = pos.saturating_add(4096).min(data.len());
            let raw = data.get(pos..end)?;
            let room = max_out.saturating_sub(out.len());
            out.extend_from_slice(raw.get(..raw.len().min(room))?);
            pos = end;
            continue;
        }
        while pos < chunk_end {
            let flags = data[pos];
            pos += 1;
            for bit in 0..8 {
                if pos >= chunk_end || out.len() >= max_out {
                    break;
                }
                if flags & (1 << bit) == 0 {
                    out.push(data[pos]);
                    pos += 1;
                    continue;
                }
                let Some(token) = data.get(pos..pos + 2) else {
                    return Some(out);
                };
                let token = u16::from_le_bytes([token[0], token[1]]);
                pos += 2;
                let difference = out.len() - chunk_start;
                let bit_count = copy_token_bits(difference);
                let length_mask: u16 = 0xFFFF >> bit_count;
                let length = usize::from(token & length_mask) + 3;
                let offset = usize::from((token & !length_mask) >> (16 - bit_count)) + 1;
                if offset > difference {
                    return Some(out); // corrupt: points before the chunk
                }
                let src = out.len() - offset;
                for i in 0..length {
                    if out.len() >= max_out {
                        break;
                    }
                    let b = out[src + i];
                    out.push(b);
                }
            }
        }
        pos = chunk_end;
    }
    Some(out)
}

/// Bits used by the offset part of a CopyToken, from how far into the chunk we are (MS-OVBA 2.4.1.3.19.1).
fn copy_token_bits(difference: usize) -> u32 {
    let mut bits = 4;
    while bits < 12 && (1usize << bits) < difference {
        bits += 1;
    }
    bits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_example_round_trip() {
        // MS-OVBA 3.2.3: "#aaabcdefaaaaghijaaaaaklaaamnopqaaaaaaaaaaaarstuvwxyzaaa"
        let compressed: &[u8] = &[
            0x01, 0x2F, 0xB0, 0x00, 0x23, 0x61, 0x61, 0x61, 0x62, 0x63, 0x64, 0x65, 0x82, 0x66,
            0x00, 0x70, 0x61, 0x67, 0x68, 0x69, 0x6A, 0x01, 0x38, 0x08, 0x61, 0x6B, 0x6C, 0x00,
            0x30, 0x6D, 0x6E, 0x6F, 0x70, 0x06, 0x71, 0x02, 0x70, 0x04, 0x10, 0x72, 0x73, 0x74,
            0x75, 0x76, 0x10, 0x77, 0x78, 0x79, 0x7A, 0x00, 0x3C,
        ];
        let out = decompress(compressed, 1 << 20).unwrap();
        assert_eq!(
            out,
            b"#aaabcdefaaaaghijaaaaaklaaamnopqaaaaaaaaaaaarstuvwxyzaaa"
        );
    }

    #[test]
    fn bounded_and_total() {
        let mut data = vec![0x01];
        data.extend(std::iter::repeat_n(0xFFu8, 5000));
        assert!(decompress(&data, 100).unwrap().len() <= 100);
        assert!(decompress(&[0x02, 1, 2], 100).is_none());
        for n in 0..data.len().min(64) {
            let _ = decompress(&data[..n], 1000);
        }
    }
}
