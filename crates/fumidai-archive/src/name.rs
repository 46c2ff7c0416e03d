//! Name and declared-type checks: the tricks attack mail plays with attachment names.

use crate::findings::*;
use fumidai_core::{FileKind, Risk, Scan};

/// Extensions Windows runs, installs, mounts or opens as code (lower case, no dot).
pub const DANGEROUS_EXTENSIONS: &[&str] = &[
    "exe",
    "scr",
    "com",
    "pif",
    "cpl",
    "dll",
    "sys",
    "ocx",
    "xll",
    "lnk",
    "url",
    "website",
    "js",
    "jse",
    "mjs",
    "vbs",
    "vbe",
    "wsf",
    "wsh",
    "wsc",
    "sct",
    "hta",
    "ps1",
    "psm1",
    "psd1",
    "bat",
    "cmd",
    "iso",
    "img",
    "vhd",
    "vhdx",
    "udf",
    "one",
    "onepkg",
    "msi",
    "msp",
    "mst",
    "jar",
    "jnlp",
    "reg",
    "chm",
    "hlp",
    "inf",
    "scf",
    "msc",
    "application",
    "appref-ms",
    "gadget",
    "appx",
    "appxbundle",
    "msix",
    "msixbundle",
    "settingcontent-ms",
    "library-ms",
    "search-ms",
    "searchconnector-ms",
    "diagcab",
    "xbap",
    "shs",
    "shb",
    "ins",
    "isp",
    "mde",
    "accde",
    "iqy",
    "slk",
];

/// Extensions of documents and media a user expects to open safely (the decoy half of a double extension).
const DOCUMENT_EXTENSIONS: &[&str] = &[
    "pdf", "doc", "docx", "docm", "xls", "xlsx", "xlsm", "xlsb", "ppt", "pptx", "rtf", "txt",
    "csv", "jpg", "jpeg", "png", "gif", "bmp", "tif", "tiff", "zip", "rar", "7z", "htm", "html",
    "odt", "ods", "mp3", "mp4", "wav", "avi", "eml", "msg",
];

/// Bidi and invisible format characters that make a name display differently from what Windows runs.
fn is_format_control(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}' | '\u{00AD}' | '\u{061C}')
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{061C}')
}

/// The name as Windows would treat it: full-width ASCII folded, format controls removed, trailing dots and
/// spaces dropped, only the last path component kept, lower case.
pub fn normalize_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let folded: String = base
        .chars()
        .filter(|c| !is_format_control(*c))
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' | '\u{00A0}' => ' ',
            '\u{FE52}' | '\u{2024}' => '.',
            _ => c,
        })
        .collect();
    folded.trim_end_matches(['.', ' ']).to_lowercase()
}

/// The extension of a normalized name (after the last dot), if any.
pub fn extension(normalized: &str) -> Option<&str> {
    let (stem, ext) = normalized.rsplit_once('.')?;
    if ext.is_empty() || stem.trim().is_empty() && !stem.is_empty() {
        return None;
    }
    Some(ext)
}

fn kind_of_extension(ext: &str) -> Option<FileKind> {
    FileKind::ALL
        .iter()
        .copied()
        .find(|k| k.fits_extension(ext))
}

fn is_image(k: FileKind) -> bool {
    matches!(
        k,
        FileKind::Png
            | FileKind::Jpeg
            | FileKind::Gif
            | FileKind::Bmp
            | FileKind::Tiff
            | FileKind::Webp
    )
}

fn is_textual(k: FileKind) -> bool {
    matches!(
        k,
        FileKind::Text
            | FileKind::Html
            | FileKind::Xml
            | FileKind::Message
            | FileKind::JavaScript
            | FileKind::VbScript
            | FileKind::PowerShell
            | FileKind::Batch
            | FileKind::Hta
            | FileKind::Wsf
            | FileKind::Slk
    )
}

fn is_disk_image(k: FileKind) -> bool {
    matches!(k, FileKind::Iso | FileKind::Udf | FileKind::Vhd)
}

/// Whether `kind` may legitimately carry extension `ext`.
fn fits(kind: FileKind, ext: &str) -> bool {
    if kind.fits_extension(ext) {
        return true;
    }
    let ek = kind_of_extension(ext);
    match kind {
        // Text is what many extensions hold; only a binary format's extension on plain text is odd.
        k if is_textual(k) => {
            ek.is_none_or(is_textual) || matches!(ext, "mht" | "mhtml" | "eml" | "msg")
        }
        k if is_image(k) => ek.is_none_or(is_image),
        // The Office crate refines OLE2; any OLE-based Office extension fits until then.
        FileKind::Ole2 => matches!(
            ext,
            "doc"
                | "xls"
                | "ppt"
                | "dot"
                | "xlt"
                | "pot"
                | "pps"
                | "msg"
                | "msi"
                | "msp"
                | "vsd"
                | "pub"
                | "xla"
                | "wps"
                | "mpp"
        ),
        FileKind::Eicar => true,
        FileKind::Zip => matches!(
            ext,
            "zip"
                | "zipx"
                | "xpi"
                | "apk"
                | "epub"
                | "nupkg"
                | "vsix"
                | "xps"
                | "oxps"
                | "kmz"
                | "vsdx"
        ),
        FileKind::Docx | FileKind::Docm => matches!(ext, "docx" | "docm" | "dotx" | "dotm"),
        FileKind::Xlsx | FileKind::Xlsm | FileKind::Xlsb => {
            matches!(ext, "xlsx" | "xlsm" | "xltx" | "xltm" | "xlam" | "xlsb")
        }
        FileKind::Pptx | FileKind::Pptm => {
            matches!(ext, "pptx" | "pptm" | "ppsx" | "ppsm" | "potx" | "potm")
        }
        FileKind::Odf => ext.starts_with("od") || ext.starts_with("ot"),
        FileKind::Pe => matches!(ext, "efi" | "drv" | "mui" | "cpl" | "ax" | "xll" | "node"),
        _ => false,
    }
}

/// Whether a declared MIME type agrees with the real kind; `None` when it says nothing (generic or unknown).
fn declared_fits(kind: FileKind, declared: &str) -> Option<bool> {
    let d = declared
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if d.is_empty()
        || matches!(
            d.as_str(),
            "application/octet-stream"
                | "binary/octet-stream"
                | "application/unknown"
                | "application/force-download"
                | "application/x-download"
                | "application/download"
                | "application/binary"
        )
        || kind == FileKind::Unknown
    {
        return None;
    }
    if d == kind.mime() {
        return Some(true);
    }
    #[derive(PartialEq)]
    enum Fam {
        Text,
        Image,
        Pdf,
        Office,
        Archive,
        Exec,
    }
    let declared_fam = if d.starts_with("text/")
        || d == "message/rfc822"
        || d.ends_with("+xml")
        || d.ends_with("/xml")
        || d.contains("javascript")
    {
        Fam::Text
    } else if d.starts_with("image/") {
        Fam::Image
    } else if d.contains("pdf") {
        Fam::Pdf
    } else if d.contains("msword")
        || d.contains("ms-excel")
        || d.contains("ms-powerpoint")
        || d.contains("officedocument")
        || d.contains("opendocument")
        || d.contains("rtf")
        || d.contains("ms-office")
        || d.contains("onenote")
        || d.contains("ms-outlook")
    {
        Fam::Office
    } else if d.contains("zip")
        || d.contains("compressed")
        || d.contains("rar")
        || d.contains("7z")
        || d.contains("tar")
        || d.contains("gzip")
        || d.contains("iso9660")
        || d.contains("disk-image")
        || d.contains("java-archive")
        || d.contains("cab")
    {
        Fam::Archive
    } else if d.contains("msdownload")
        || d.contains("dosexec")
        || d.contains("executable")
        || d.contains("ms-shortcut")
        || d.contains("msi")
        || d.contains("hta")
    {
        Fam::Exec
    } else {
        return None;
    };
    let kind_fam = match kind {
        k if is_textual(k) => Fam::Text,
        FileKind::Rtf => Fam::Office,
        k if is_image(k) => Fam::Image,
        FileKind::Pdf => Fam::Pdf,
        FileKind::Zip
        | FileKind::SevenZip
        | FileKind::Rar
        | FileKind::Tar
        | FileKind::Gzip
        | FileKind::Bzip2
        | FileKind::Xz
        | FileKind::Cab
        | FileKind::Lzh
        | FileKind::Iso
        | FileKind::Udf
        | FileKind::Vhd
        | FileKind::Jar => Fam::Archive,
        k if k.risk() == Risk::Executable && k != FileKind::OneNote && k != FileKind::Eicar => {
            Fam::Exec
        }
        FileKind::Eicar => return None,
        _ => Fam::Office,
    };
    let ok = kind_fam == declared_fam
        // OOXML/ODF are ZIPs, RTF and flat XML are text: senders label either way.
        || (kind_fam == Fam::Office && declared_fam == Fam::Archive && matches!(kind, FileKind::Docx | FileKind::Docm | FileKind::Xlsx | FileKind::Xlsm | FileKind::Xlsb | FileKind::Pptx | FileKind::Pptm | FileKind::Odf))
        || (kind == FileKind::Rtf && declared_fam == Fam::Text)
        || (kind_fam == Fam::Text && declared_fam == Fam::Office)
        || (kind_fam == Fam::Archive && declared_fam == Fam::Office && kind == FileKind::Zip);
    Some(ok)
}

/// See [`crate::check_name`].
pub fn check_name(
    scan: &mut Scan<'_>,
    part: &str,
    name: &str,
    declared_type: Option<&str>,
    kind: FileKind,
) {
    let bidi: Vec<String> = name
        .chars()
        .filter(|c| is_bidi_control(*c))
        .map(|c| format!("U+{:04X}", c as u32))
        .collect();
    if !bidi.is_empty() {
        scan.add(
            &BIDI_CONTROL_IN_NAME,
            part,
            format!(
                "{} in {:?}",
                bidi.join(","),
                name.replace(is_bidi_control, "")
            ),
        );
    }
    let norm = normalize_name(name);
    let ext = extension(&norm);
    let executable_kind = kind.risk() == Risk::Executable && !is_disk_image(kind);

    match ext {
        None if !norm.is_empty() => scan.add(&NO_EXTENSION, part, format!("{norm:?} is {kind}")),
        None => {}
        Some(ext) => {
            if kind == FileKind::Rtf
                && matches!(
                    ext,
                    "doc" | "docx" | "docm" | "dot" | "dotm" | "xls" | "xlsx"
                )
            {
                scan.add(&RTF_AS_DOC, part, format!("RTF named .{ext}"));
            } else if kind != FileKind::Unknown && !fits(kind, ext) {
                scan.add(
                    &EXTENSION_MISMATCH,
                    part,
                    format!("{kind} content named .{ext}"),
                );
            }
            // The decoy extension before the real one, maybe followed by spaces to push the real one out of view.
            if DANGEROUS_EXTENSIONS.contains(&ext) {
                let stem = &norm[..norm.len() - ext.len() - 1];
                if let Some((_, decoy)) = stem.rsplit_once('.') {
                    let d = decoy.trim();
                    if DOCUMENT_EXTENSIONS.contains(&d) {
                        let spaces = decoy.len() - decoy.trim_end().len();
                        let pad = if spaces > 1 {
                            format!(" after {spaces} spaces")
                        } else {
                            String::new()
                        };
                        scan.add(&DOUBLE_EXTENSION, part, format!(".{d} then .{ext}{pad}"));
                    }
                }
                if kind.risk() != Risk::Executable {
                    scan.add(
                        &DANGEROUS_EXTENSION,
                        part,
                        format!(".{ext} ({kind} content)"),
                    );
                }
            }
        }
    }
    if executable_kind {
        scan.add(&DANGEROUS_TYPE, part, format!("{kind} named {norm:?}"));
    }
    if let Some(declared) = declared_type {
        if declared_fits(kind, declared) == Some(false) {
            scan.add(
                &DECLARED_TYPE_MISMATCH,
                part,
                format!("declared {declared}, content is {kind}"),
            );
        }
    }
}
