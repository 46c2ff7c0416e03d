//! Streams that made the BIFF walk slow (found while fuzzing), built here record by record.

use fumidai_core::{hash_only, Limits, Scan};
use std::time::{Duration, Instant};

fn rec(rt: u16, data: &[u8]) -> Vec<u8> {
    let mut v = rt.to_le_bytes().to_vec();
    v.extend_from_slice(&(data.len() as u16).to_le_bytes());
    v.extend_from_slice(data);
    v
}

#[test]
fn many_bofs_against_many_sheets_are_linear() {
    // 4096 macro-sheet BOUNDSHEETs, then ~120k empty-bodied worksheet BOFs: every BOF used to scan
    // every sheet (12 s for 1 MB in the fuzz build).
    let mut s = rec(0x0809, &[0x00, 0x06, 0x05, 0x00]);
    for i in 0..4096u32 {
        let mut b = (1_000_000 + i).to_le_bytes().to_vec();
        b.extend_from_slice(&[0, 0x01, 1, 0, b'M']);
        s.extend(rec(0x0085, &b));
    }
    while s.len() < 1_000_000 {
        s.extend(rec(0x0809, &[0x00, 0x06, 0x10, 0x00]));
    }
    let limits = Limits::default();
    let mut scan = Scan::new(&limits, hash_only);
    let t = Instant::now();
    let found = fumidai_xlm::scan_biff(&mut scan, "h.xls", &s);
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    assert!(found, "listed macro sheets are reported");
    let f = scan.into_findings();
    assert!(
        f.iter()
            .any(|x| x.id == "XLM_MACRO" && x.detail.contains("'M'")),
        "{f:?}"
    );
}
