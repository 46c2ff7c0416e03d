//! Macro-stripping throughput on the corpus's macro documents (.docm/.xlsm/.pptm/.xltm under
//! testdata/corpus/{office_macros,xlm_macros}), against a baseline measured in the same run: re-writing each
//! package unchanged with the same zip crate and settings (inflate every part, deflate it into a new ZIP), the
//! least any rewriting sanitiser does. Run: `cargo bench -p fumidai-sanitize --bench strip`.

use fumidai_sanitize::{strip_ooxml_macros, StripLimits};
use std::io::{Cursor, Read, Write};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

const ROUNDS: usize = 20;

fn documents() -> Vec<(String, Vec<u8>)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/corpus");
    let mut docs = Vec::new();
    for dir in ["office_macros", "xlm_macros"] {
        for entry in walkdir::WalkDir::new(root.join(dir)).sort_by_file_name() {
            let Ok(entry) = entry else { continue };
            let name = entry.file_name().to_string_lossy().to_lowercase();
            if [".docm", ".xlsm", ".pptm", ".xltm"]
                .iter()
                .any(|ext| name.ends_with(ext))
            {
                // Only packages the baseline can re-write, so both sides do the same files.
                match std::fs::read(entry.path()) {
                    Ok(data) if rezip(&data).is_some() => docs.push((name, data)),
                    _ => {}
                }
            }
        }
    }
    docs
}

/// The baseline: the same package written again, part by part.
/// `None` for what is not a readable ZIP (the corpus's encrypted documents are OLE files).
fn rezip(data: &[u8]) -> Option<Vec<u8>> {
    let mut archive = ZipArchive::new(Cursor::new(data)).ok()?;
    let mut out = ZipWriter::new(Cursor::new(Vec::with_capacity(data.len())));
    let mut buf = Vec::new();
    for i in 0..archive.len() {
        let mut part = archive.by_index(i).ok()?;
        // As the stripper: stored parts stay stored, the rest is deflated.
        let method = match part.compression() {
            CompressionMethod::Stored => CompressionMethod::Stored,
            _ => CompressionMethod::Deflated,
        };
        let options = SimpleFileOptions::default().compression_method(method);
        buf.clear();
        part.read_to_end(&mut buf).ok()?;
        out.start_file(part.name(), options).ok()?;
        out.write_all(&buf).ok()?;
    }
    Some(out.finish().ok()?.into_inner())
}

fn time(docs: &[(String, Vec<u8>)], mut f: impl FnMut(&str, &[u8]) -> usize) -> (Duration, usize) {
    let started = Instant::now();
    let mut produced = 0;
    for _ in 0..ROUNDS {
        for (name, data) in docs {
            produced += f(name, data);
        }
    }
    (started.elapsed(), produced)
}

fn main() {
    let docs = documents();
    let bytes: usize = docs.iter().map(|(_, d)| d.len()).sum();
    let limits = StripLimits::default();
    let mut refused = 0;
    let (strip, _) = time(&docs, |name, data| {
        match strip_ooxml_macros(data, name, &limits) {
            Ok(s) => s.data.len(),
            Err(_) => {
                refused += 1;
                0
            }
        }
    });
    let (base, _) = time(&docs, |_, data| rezip(data).map_or(0, |d| d.len()));
    let per_s = |d: Duration| (docs.len() * ROUNDS) as f64 / d.as_secs_f64();
    let mb_s = |d: Duration| (bytes * ROUNDS) as f64 / 1e6 / d.as_secs_f64();
    println!(
        "{} macro documents ({:.1} MB), {ROUNDS} rounds; {} refused per round (must be removed whole)",
        docs.len(),
        bytes as f64 / 1e6,
        refused / ROUNDS
    );
    println!("| what | documents/s | MB/s | time vs baseline |\n|---|---|---|---|");
    println!(
        "| re-zip unchanged (baseline) | {:.0} | {:.1} | 1.00x |",
        per_s(base),
        mb_s(base)
    );
    println!(
        "| strip_ooxml_macros | {:.0} | {:.1} | {:.2}x |",
        per_s(strip),
        mb_s(strip),
        strip.as_secs_f64() / base.as_secs_f64()
    );
}
