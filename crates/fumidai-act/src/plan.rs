//! How to sanitise one message: what happens to each attachment, and what the banner gives as the
//! reason. Attachments are judged by the findings located in them (`FileReport::contains_part`).

use fumidai_core::{FileKind, FileReport, Verdict};
use fumidai_engine::{Config, MessageReport};
use fumidai_policy::{AttachmentHandling, SanitizeSettings};
use fumidai_sanitize::{Disposition, Reason};

/// A finding at least this strong makes an attachment risky. Zero-score findings are facts
/// (`ZIP_ENCRYPTED_OPENED` …), not risks.
const RISKY_SCORE: f64 = 1.0;

/// The findings of `report` located in `file` (or anything inside it) with a risky score.
fn risky_findings<'r>(report: &'r MessageReport, file: &FileReport) -> Vec<&'r str> {
    let mut ids: Vec<&str> = report
        .findings
        .iter()
        .filter(|f| f.score >= RISKY_SCORE && file.contains_part(&f.part))
        .map(|f| f.id)
        .collect();
    ids.dedup();
    ids
}

/// OOXML kinds whose macros fumidai-sanitize can take out, leaving the document.
fn macros_strippable(kind: FileKind) -> bool {
    matches!(
        kind,
        FileKind::Docm
            | FileKind::Xlsm
            | FileKind::Pptm
            | FileKind::Docx
            | FileKind::Xlsx
            | FileKind::Pptx
    )
}

/// One disposition per attachment of the report, in its order.
pub(crate) fn dispositions(
    report: &MessageReport,
    settings: &SanitizeSettings,
) -> Vec<Disposition> {
    report
        .attachments
        .iter()
        .map(|file| match settings.attachments {
            AttachmentHandling::RemoveAll => Disposition::Remove {
                why: "all attachments are removed from such mail / このようなメールの添付ファイルはすべて削除されます".to_owned(),
            },
            AttachmentHandling::StripMacros => {
                let risky = risky_findings(report, file);
                if risky.is_empty() {
                    Disposition::Keep
                } else if macros_strippable(file.detected_type) && !file.encrypted {
                    Disposition::StripMacros
                } else {
                    Disposition::Remove { why: risky.join(", ") }
                }
            }
        })
        .collect()
}

/// Attachments the re-scan of a sanitised copy still finds risky, by index into `dispositions`.
/// The copy lists kept attachments in the original order, so they are matched up in turn.
pub(crate) fn risky_kept(rescan: &MessageReport, dispositions: &[Disposition]) -> Vec<usize> {
    let kept = dispositions
        .iter()
        .enumerate()
        .filter(|(_, d)| !matches!(d, Disposition::Remove { .. }))
        .map(|(i, _)| i);
    kept.zip(&rescan.attachments)
        .filter(|(_, file)| !risky_findings(rescan, file).is_empty())
        .map(|(i, _)| i)
        .collect()
}

/// Whether the copy's content (everything but the header checks, which look at fields the copy
/// keeps on purpose) stays below the suspicious threshold.
pub(crate) fn content_is_clean(rescan: &MessageReport, config: &Config) -> bool {
    let content: f64 = rescan
        .findings
        .iter()
        .filter(|f| f.part != "headers")
        .map(|f| f.score)
        .sum();
    content < config.verdict.suspicious
}

/// What the banner says the message was sanitised for, strongest first.
pub(crate) fn reasons(report: &MessageReport, window_days: u32) -> Vec<Reason> {
    let mut out = Vec::new();
    match report.verdict {
        Verdict::Malicious => out.push(Reason::Malicious),
        Verdict::Suspicious => out.push(Reason::Suspicious),
        Verdict::Clean => {}
    }
    if report.has("LOOKALIKE_OF_CORRESPONDENT") {
        out.push(Reason::LookalikeSender);
    }
    if report.has("FIRST_CONTACT") {
        out.push(Reason::FirstContact);
    } else if report.has("NO_RECENT_EXCHANGE") {
        out.push(Reason::NoRecentExchange { days: window_days });
    }
    out
}
