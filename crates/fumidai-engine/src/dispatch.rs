//! The dispatcher: from a file's real type to the checker that understands it.

use fumidai_core::{child_part, FileInput, FileKind, FileReport, Inspector, Scan};

/// Sniffs `input`, runs the checker for its kind (which may recurse through [`Scan::inspect_child`]),
/// then compares the real kind with the name the sender gave it.
pub(crate) fn dispatch(scan: &mut Scan<'_>, input: FileInput<'_>) -> FileReport {
    let declared_message = input
        .declared_type
        .is_some_and(|t| t.eq_ignore_ascii_case("message/rfc822"));
    let kind = match fumidai_archive::sniff(input.data) {
        FileKind::Text | FileKind::Unknown if declared_message => FileKind::Message,
        FileKind::Text | FileKind::Unknown => {
            script_kind_by_name(input.name).unwrap_or(fumidai_archive::sniff(input.data))
        }
        k => k,
    };
    let mut report = FileReport::new(input.name, input.declared_type, kind, input.data);
    if let Some(whole) = &input.whole {
        report.size = whole.size;
        report.sha256.clone_from(&whole.sha256);
    }
    if let Some(inspect) = inspector_for(kind) {
        inspect(scan, &input, &mut report);
    }
    fumidai_archive::check_name(
        scan,
        &input.part,
        input.name,
        input.declared_type,
        report.detected_type,
    );
    report
}

fn inspector_for(kind: FileKind) -> Option<Inspector> {
    use FileKind::*;
    Some(match kind {
        Message => inspect_message,
        Zip | Jar => fumidai_archive::inspect_zip,
        SevenZip | Rar | Tar | Gzip | Bzip2 | Xz | Cab | Lzh | Iso | Udf | Vhd => {
            fumidai_archive::inspect_archive
        }
        Ole2 | Doc | Xls | Ppt | OutlookMsg | Msi | EncryptedOffice => fumidai_office::inspect_ole,
        Docx | Docm | Xlsx | Xlsm | Xlsb | Pptx | Pptm => fumidai_office::inspect_ooxml,
        Odf => fumidai_office::inspect_odf,
        Slk => fumidai_xlm::inspect_slk,
        Lnk => fumidai_carriers::inspect_lnk,
        OneNote => fumidai_carriers::inspect_onenote,
        Rtf => fumidai_carriers::inspect_rtf,
        Pdf => fumidai_carriers::inspect_pdf,
        Pe | Elf | MachO | DosCom | Eicar => fumidai_carriers::inspect_executable,
        JavaScript | VbScript | PowerShell | Batch | Hta | Wsf | Url => {
            fumidai_carriers::inspect_script
        }
        Html => fumidai_text::inspect_html,
        Unknown | Text | Xml | Png | Jpeg | Gif | Bmp | Tiff | Webp => return None,
    })
}

/// Scripts are text: their bytes rarely say what they are, so a script extension on text decides.
fn script_kind_by_name(name: &str) -> Option<FileKind> {
    let ext = name.trim_end_matches(['.', ' ']).rsplit_once('.')?.1;
    use FileKind::*;
    [JavaScript, VbScript, PowerShell, Batch, Hta, Wsf, Url]
        .into_iter()
        .find(|k| k.fits_extension(ext))
}

/// What the body checks saw.
pub(crate) struct BodySummary {
    pub links: usize,
    pub risky_links: usize,
}

/// Body-level checks shared by the top-level message and attached ones: passwords first (the
/// attachments they open come later), then links, matched against `feed` when there is one.
pub(crate) fn inspect_body(
    scan: &mut Scan<'_>,
    part: &str,
    msg: &fumidai_mime::Message<'_>,
    feed: Option<&crate::ThreatFeed>,
) -> BodySummary {
    let html_text = if msg.html.is_empty() {
        String::new()
    } else {
        fumidai_text::html_to_text(&msg.html)
    };
    for text in [msg.text.as_str(), html_text.as_str()] {
        for p in fumidai_text::harvest_passwords(text) {
            scan.add_password(p);
        }
    }
    let links = fumidai_text::body_links(&msg.text, &msg.html);
    if let Some(feed) = feed {
        feed.check_links(scan, part, links.urls());
    }
    let links = links.flush(scan, part);
    BodySummary {
        links: links.links,
        risky_links: links.risky,
    }
}

/// An attached message (message/rfc822, or an .eml inside an archive): its body and attachments are
/// inspected like the outer message's.
fn inspect_message(scan: &mut Scan<'_>, input: &FileInput<'_>, report: &mut FileReport) {
    let msg = fumidai_mime::parse(scan, input.data);
    // The dispatcher has no engine, so no feed: an attached message's links are not matched.
    inspect_body(scan, &input.part, &msg, None);
    for att in &msg.attachments {
        let child = FileInput {
            name: &att.name,
            declared_type: att.declared_type.as_deref(),
            data: &att.data,
            part: child_part(&input.part, &att.part),
            whole: None,
        };
        report.children.push(scan.inspect(child));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_extensions_pick_script_kinds() {
        assert_eq!(
            script_kind_by_name("invoice.js"),
            Some(FileKind::JavaScript)
        );
        assert_eq!(script_kind_by_name("run.VBS. "), Some(FileKind::VbScript));
        assert_eq!(script_kind_by_name("notes.txt"), None);
        assert_eq!(script_kind_by_name("README"), None);
    }
}
