//! LibreOffice (headless) opens every macro-free document made from the corpus's macro documents and
//! finds the same text in it as in the original: stripping the macros did not break the document or
//! lose its content.
//!
//! Each corpus document under `office_macros/` and `xlm_macros/` that [`strip_ooxml_macros`] accepts
//! is stripped and written under its new name; LibreOffice converts the original and the stripped
//! copy the same way and the outputs must be equal: Word documents to UTF-8 text, workbooks to one
//! UTF-8 CSV file per sheet (sheets that were Excel 4.0 macro sheets excepted), presentations to flat
//! ODF XML whose slide text is compared (Impress has no text export).
//!
//! Needs `soffice` on the PATH (Debian: `apt-get install --no-install-recommends
//! libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui`; `.ci/run` installs it).
//! Without it the tests fail, unless `FUMIDAI_SKIP_LIBREOFFICE=1` says to skip them.

use fumidai_sanitize::{strip_ooxml_macros, StripLimits, Stripped};
use quick_xml::events::Event;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use zip::ZipArchive;

const INSTALL_HINT: &str = "apt-get install -y --no-install-recommends \
     libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui";

/// One conversion run of LibreOffice may take this long (a few seconds in practice).
const CONVERSION_TIMEOUT: Duration = Duration::from_secs(300);

/// What kind of document a package is, by its main part, and how LibreOffice turns it into text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Word,
    Excel,
    PowerPoint,
}

impl Kind {
    fn of(package: &[u8]) -> Option<Kind> {
        let names = part_names(package);
        [
            ("word/document.xml", Kind::Word),
            ("xl/workbook.xml", Kind::Excel),
            ("ppt/presentation.xml", Kind::PowerPoint),
        ]
        .into_iter()
        .find(|(main, _)| names.contains(*main))
        .map(|(_, kind)| kind)
    }

    /// The `--convert-to` argument.
    fn target(self) -> &'static str {
        match self {
            Kind::Word => "txt:Text (encoded):UTF8",
            // Comma, double quote, UTF-8, from line 1; the last token (-1) writes every sheet to
            // `<name>-<sheet>.csv`.
            Kind::Excel => {
                "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"
            }
            Kind::PowerPoint => "fodp",
        }
    }

    /// The text of one output file.
    fn text(self, output: &[u8]) -> String {
        match self {
            Kind::Word | Kind::Excel => String::from_utf8(output.to_vec()).expect("UTF-8 output"),
            Kind::PowerPoint => odf_paragraphs(output),
        }
    }
}

/// A corpus document and its macro-free copy.
struct Case {
    path: String,
    original: Vec<u8>,
    stripped: Stripped,
}

/// The corpus documents of one kind that the sanitiser accepts, in path order.
fn cases(kind: Kind) -> Vec<Case> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/corpus");
    let mut cases = Vec::new();
    for dir in ["office_macros", "xlm_macros"] {
        for entry in walkdir::WalkDir::new(root.join(dir)).sort_by_file_name() {
            let entry = entry.expect("corpus entry");
            if !entry.file_type().is_file() {
                continue;
            }
            let original = std::fs::read(entry.path()).expect("read corpus file");
            let name = entry.file_name().to_string_lossy();
            // Refusals (binary formats, encrypted packages, ...) are tests/ooxml.rs's business.
            let Ok(stripped) = strip_ooxml_macros(&original, &name, &StripLimits::default()) else {
                continue;
            };
            if Kind::of(&stripped.data) == Some(kind) {
                let path = entry.path().strip_prefix(&root).expect("under the corpus");
                cases.push(Case {
                    path: path.display().to_string(),
                    original,
                    stripped,
                });
            }
        }
    }
    cases
}

fn part_names(package: &[u8]) -> BTreeSet<String> {
    let archive = ZipArchive::new(Cursor::new(package)).expect("a ZIP package");
    archive.file_names().map(str::to_owned).collect()
}

fn part(package: &[u8], name: &str) -> Vec<u8> {
    let mut archive = ZipArchive::new(Cursor::new(package)).expect("a ZIP package");
    let mut data = Vec::new();
    archive
        .by_name(name)
        .expect("part present")
        .read_to_end(&mut data)
        .expect("part inflates");
    data
}

/// The values of attribute `attribute` on the elements with local name `element`.
fn attribute_values(xml: &[u8], element: &[u8], attribute: &[u8]) -> BTreeSet<String> {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let mut values = BTreeSet::new();
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == element => {
                for a in e.attributes() {
                    let a = a.expect("attribute");
                    if a.key.local_name().as_ref() == attribute {
                        values.insert(a.unescape_value().expect("value").into_owned());
                    }
                }
            }
            Event::Eof => return values,
            _ => {}
        }
    }
}

/// The text of the `<text:p>` paragraphs in the body of a flat ODF document, one a line: what the
/// slides show, without the master pages' placeholders.
fn odf_paragraphs(xml: &[u8]) -> String {
    let mut reader = quick_xml::Reader::from_reader(xml);
    let (mut in_body, mut paragraph_depth) = (false, 0usize);
    let mut text = String::new();
    loop {
        match reader.read_event().expect("well-formed flat ODF") {
            Event::Start(e) => match e.name().as_ref() {
                b"office:body" => in_body = true,
                b"text:p" if in_body => paragraph_depth += 1,
                _ => {}
            },
            Event::End(e) => match e.name().as_ref() {
                b"office:body" => in_body = false,
                b"text:p" if in_body => {
                    paragraph_depth = paragraph_depth.saturating_sub(1);
                    text.push('\n');
                }
                _ => {}
            },
            Event::Text(t) if paragraph_depth > 0 => {
                text.push_str(&t.unescape().expect("text"));
            }
            Event::Eof => return text,
            _ => {}
        }
    }
}

/// Output names that the original has and the stripped copy rightly lacks: the CSV files of the
/// sheets that were removed (Excel 4.0 macro sheets).
fn removed_outputs(kind: Kind, case: &Case) -> BTreeSet<String> {
    if kind != Kind::Excel {
        return BTreeSet::new();
    }
    let sheets =
        |package: &[u8]| attribute_values(&part(package, "xl/workbook.xml"), b"sheet", b"name");
    let kept = sheets(&case.stripped.data);
    sheets(&case.original)
        .difference(&kept)
        .map(|sheet| format!("-{sheet}.csv"))
        .collect()
}

fn soffice() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("soffice"))
        .find(|candidate| candidate.is_file())
}

/// `soffice` when it is installed; `None` (after saying so) when it is not and
/// `FUMIDAI_SKIP_LIBREOFFICE=1` allows skipping; a failure otherwise.
fn soffice_or_skip() -> Option<PathBuf> {
    if let Some(soffice) = soffice() {
        return Some(soffice);
    }
    if std::env::var("FUMIDAI_SKIP_LIBREOFFICE").as_deref() == Ok("1") {
        eprintln!(
            "skipped: soffice (LibreOffice) is not on the PATH and FUMIDAI_SKIP_LIBREOFFICE=1"
        );
        return None;
    }
    panic!(
        "soffice (LibreOffice) is not on the PATH. These tests need it: on Debian/Ubuntu run `{INSTALL_HINT}` \
         (as root), or set FUMIDAI_SKIP_LIBREOFFICE=1 to skip them"
    );
}

/// A `file://` URL for an absolute path (LibreOffice's `-env:UserInstallation` wants one).
fn file_url(path: &Path) -> String {
    let mut url = String::from("file://");
    for byte in path.to_str().expect("UTF-8 temp path").bytes() {
        if byte.is_ascii_alphanumeric() || b"/-._~".contains(&byte) {
            url.push(byte as char);
        } else {
            url.push_str(&format!("%{byte:02X}"));
        }
    }
    url
}

/// Converts `inputs` into `out_dir` with one LibreOffice run. The profile (and HOME) lives in
/// `work_dir`, so tests running at the same time do not share a LibreOffice instance.
fn convert(soffice: &Path, work_dir: &Path, target: &str, inputs: &[PathBuf], out_dir: &Path) {
    let profile = work_dir.join("profile");
    let log_path = work_dir.join("soffice.log");
    let log = File::create(&log_path).expect("create log");
    let mut child = Command::new(soffice)
        .arg(format!("-env:UserInstallation={}", file_url(&profile)))
        .args([
            "--headless",
            "--norestore",
            "--convert-to",
            target,
            "--outdir",
        ])
        .arg(out_dir)
        .args(inputs)
        .env("HOME", work_dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log handle"))
        .stderr(log)
        .spawn()
        .expect("start soffice");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for soffice") {
            break status;
        }
        if started.elapsed() > CONVERSION_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "soffice took more than {CONVERSION_TIMEOUT:?}; log: {}",
                log_path.display()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    assert!(status.success(), "soffice failed ({status}):\n{log}");
}

/// The output files of one input, by what follows its number (`x.txt`, `x-Sheet1.csv`, ...), as
/// text.
fn outputs(kind: Kind, out_dir: &Path, number: &str) -> BTreeMap<String, String> {
    std::fs::read_dir(out_dir)
        .expect("output dir")
        .map(|entry| entry.expect("output entry"))
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let suffix = name.strip_prefix(number)?.to_owned();
            let data = std::fs::read(entry.path()).expect("read output");
            Some((suffix, kind.text(&data)))
        })
        .collect()
}

fn letters(text: &str) -> usize {
    text.chars().filter(|c| c.is_alphabetic()).count()
}

/// Strips every corpus document of `kind`, converts originals and copies with LibreOffice and
/// compares what it made of them.
fn stripped_documents_convert_like_the_originals(kind: Kind) {
    let Some(soffice) = soffice_or_skip() else {
        return;
    };
    let cases = cases(kind);
    assert!(!cases.is_empty(), "no {kind:?} document in the corpus");

    let work_dir = std::env::temp_dir().join(format!(
        "fumidai-libreoffice-{}-{kind:?}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&work_dir);
    let [original_dir, stripped_dir, original_out, stripped_out] =
        ["original", "stripped", "original-out", "stripped-out"].map(|d| work_dir.join(d));
    for dir in [&original_dir, &stripped_dir, &original_out, &stripped_out] {
        std::fs::create_dir_all(dir).expect("create work dir");
    }

    // Each file under its name (the stripped copy under its new one), behind a number that keeps
    // the output names of documents with the same stem apart (`x.xlsm` and `x.xltm`).
    let mut original_inputs = Vec::new();
    let mut stripped_inputs = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let file_name = case.path.rsplit('/').next().expect("file name");
        let original = original_dir.join(format!("{i:03}-{file_name}"));
        let stripped = stripped_dir.join(format!("{i:03}-{}", case.stripped.name));
        std::fs::write(&original, &case.original).expect("write original");
        std::fs::write(&stripped, &case.stripped.data).expect("write stripped");
        original_inputs.push(original);
        stripped_inputs.push(stripped);

        for name in part_names(&case.stripped.data) {
            let lower = name.to_ascii_lowercase();
            assert!(
                !lower.ends_with("vbaproject.bin") && !lower.contains("macrosheets/"),
                "{}: {name} left in the stripped copy",
                case.path
            );
        }
    }
    convert(
        &soffice,
        &work_dir,
        kind.target(),
        &original_inputs,
        &original_out,
    );
    convert(
        &soffice,
        &work_dir,
        kind.target(),
        &stripped_inputs,
        &stripped_out,
    );

    let mut with_text = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let number = format!("{i:03}-");
        let before = outputs(kind, &original_out, &number);
        let after = outputs(kind, &stripped_out, &number);
        assert!(
            !before.is_empty(),
            "{}: LibreOffice made nothing of the original",
            case.path
        );
        assert!(
            !after.is_empty(),
            "{}: LibreOffice made nothing of the stripped copy",
            case.path
        );

        let removed = removed_outputs(kind, case);
        let expected: BTreeMap<_, _> = before
            .iter()
            .filter(|(suffix, _)| !removed.iter().any(|r| suffix.ends_with(r.as_str())))
            .collect();
        assert_eq!(
            expected.keys().copied().collect::<Vec<_>>(),
            after.keys().collect::<Vec<_>>(),
            "{}: outputs (removed sheets {removed:?})",
            case.path
        );
        for (suffix, text) in &after {
            assert_eq!(
                Some(&text),
                expected.get(suffix),
                "{}: {suffix} differs from the original's",
                case.path
            );
        }
        let text_letters: usize = after.values().map(|t| letters(t)).sum();
        eprintln!(
            "{} -> {}: {} output(s), {text_letters} letters, same as the original's",
            case.path,
            case.stripped.name,
            after.len()
        );
        if text_letters > 0 {
            with_text.push(case.path.as_str());
        }
    }
    assert!(
        !with_text.is_empty(),
        "no {kind:?} document of the corpus yields text, so the comparison proves nothing"
    );
    let _ = std::fs::remove_dir_all(&work_dir);
}

#[test]
fn word_documents_keep_their_text() {
    stripped_documents_convert_like_the_originals(Kind::Word);
}

#[test]
fn workbooks_keep_their_cells() {
    stripped_documents_convert_like_the_originals(Kind::Excel);
}

#[test]
fn presentations_keep_their_slide_text() {
    stripped_documents_convert_like_the_originals(Kind::PowerPoint);
}
