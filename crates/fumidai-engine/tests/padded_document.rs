//! The 2023 Emotet trick: a ZIP holding a .doc padded with zeros to 600 MB inflated, to slip past scanner
//! size limits. The macro inside must be found, with peak memory under 100 MB. This test is alone in its
//! binary so that the process's peak RSS is its own. (Time is a benchmark matter: see the note and the bench.)

mod common;
use common::{corpus, engine, ids, mail_with_attachment};
use fumidai_engine::Envelope;
use std::io::Write;

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn macro_doc_padded_to_600_mb_is_inspected_in_bounded_memory() {
    let doc = std::fs::read(corpus("office_macros/poi/document/SimpleMacro.doc")).unwrap();
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    w.start_file("請求書.doc", options).unwrap();
    w.write_all(&doc).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..600 {
        w.write_all(&zeros).unwrap();
    }
    let zip = w.finish().unwrap().into_inner();
    drop(zeros);
    let mail = mail_with_attachment("請求書", "ご確認ください。", "seikyu.zip", &zip);

    let before = peak_rss_kib();
    let started = std::time::Instant::now();
    let r = engine().scan(&mail, &Envelope::default()).unwrap();
    let elapsed = started.elapsed();
    let peak = peak_rss_kib();
    eprintln!("padded document: {elapsed:?}, peak RSS {before} KiB before, {peak} KiB after");

    let found = ids(&r);
    assert!(
        found.contains(&"VBA_MACRO") && found.contains(&"PADDED_FILE"),
        "{found:?}"
    );
    let inner = &r.attachments[0].children[0];
    assert_eq!(inner.size, doc.len() as u64 + 600 * (1 << 20));
    assert!(peak < 100 * 1024, "peak RSS {peak} KiB is over 100 MB");
}
