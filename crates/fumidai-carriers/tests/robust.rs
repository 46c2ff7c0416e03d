//! Every inspector on every sample of the other formats, and on mutated samples: never a panic.
mod common;
use common::*;
use fumidai_core::Inspector;

const INSPECTORS: &[Inspector] = &[
    fumidai_carriers::inspect_lnk,
    fumidai_carriers::inspect_onenote,
    fumidai_carriers::inspect_rtf,
    fumidai_carriers::inspect_pdf,
    fumidai_carriers::inspect_executable,
    fumidai_carriers::inspect_script,
];

fn samples() -> Vec<Vec<u8>> {
    let mut v = vec![
        lnk_sample("padded_cli_arguments"),
        lnk_sample("network_info"),
    ];
    for rel in [
        "carriers/onenote/testOneNoteEmbeddedWordDoc.one",
        "carriers/rtf/issue_251.rtf",
        "carriers/rtf/testRTF.rtf",
        "carriers/pdf/testPDF_multiFormatEmbFiles.pdf",
        "carriers/pdf/issue15590.pdf",
        "carriers/eicar/eicar.com",
    ] {
        v.push(corpus(rel));
    }
    v
}

#[test]
fn mutated_samples_never_panic() {
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for s in samples() {
        for inspector in INSPECTORS {
            let _ = run(*inspector, "s", &s);
        }
        for _ in 0..60 {
            let mut m = s.clone();
            for _ in 0..8 {
                let at = (next() as usize) % m.len();
                m[at] = next() as u8;
            }
            let cut = (next() as usize) % (m.len() + 1);
            for inspector in INSPECTORS {
                let _ = run(*inspector, "m", &m);
                let _ = run(*inspector, "c", &m[..cut]);
            }
        }
    }
}
