//! Macro removal from OOXML packages (Word, Excel, PowerPoint; documents and templates).
//!
//! A part is a macro part when its content type, the type of a relationship pointing at it, or its
//! name (`vbaProject.bin`) says so; a Ribbon customisation (`customUI`) goes too when it names
//! callbacks, which are VBA procedures. Relationships of a removed part go with it, and so do the
//! parts only they point at (the Ribbon's images). Every part is inflated within [`StripLimits`] and
//! written anew, so the result is a plain, well-formed ZIP whatever tricks the input's structure played;
//! the parts that need no edit keep their exact bytes.

use crate::xml::{self, Edit};
use crate::SanitizeError;
use std::collections::{HashMap, HashSet};
use std::io::{Cursor, Read, Write};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

/// Bounds on what a package may inflate to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StripLimits {
    /// Inflated bytes of one part.
    pub max_part_bytes: u64,
    /// Inflated bytes of all parts together.
    pub max_inflated_bytes: u64,
    /// ZIP entries.
    pub max_parts: usize,
}

impl Default for StripLimits {
    fn default() -> Self {
        StripLimits {
            max_part_bytes: 64 << 20,
            max_inflated_bytes: 256 << 20,
            max_parts: 10_000,
        }
    }
}

/// A macro-free package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stripped {
    /// The new package.
    pub data: Vec<u8>,
    /// The file name to deliver it under (`.docm` → `.docx` and so on; other names unchanged).
    pub name: String,
    /// Names of the parts removed, in package order.
    pub removed: Vec<String>,
}

const CONTENT_TYPES: &str = "[content_types].xml";
const ROOT_RELS: &str = "_rels/.rels";
const OFFICE_DOCUMENT_REL: &str =
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument";

/// Content types of parts that hold or describe macros.
const MACRO_CONTENT_TYPES: &[&str] = &[
    "application/vnd.ms-office.vbaproject",
    "application/vnd.ms-office.vbaprojectsignature",
    "application/vnd.ms-office.vbaprojectsignatureagile",
    "application/vnd.ms-office.vbaprojectsignaturev3",
    "application/vnd.ms-word.vbadata+xml",
    "application/vnd.ms-word.attachedtoolbars",
    "application/vnd.ms-excel.macrosheet+xml",
    "application/vnd.ms-excel.intlmacrosheet+xml",
    "application/vnd.ms-excel.macrosheet",
    "application/vnd.ms-excel.intlmacrosheet",
];

const MACRO_REL_PREFIX: &str = "http://schemas.microsoft.com/office/2006/relationships/";
/// Relationship types (after [`MACRO_REL_PREFIX`]) that point at macro parts.
const MACRO_REL_TYPES: &[&str] = &[
    "vbaproject",
    "vbaprojectsignature",
    "vbaprojectsignatureagile",
    "vbaprojectsignaturev3",
    "wordvbadata",
    "attachedtoolbars",
    "xlmacrosheet",
    "xlintlmacrosheet",
];
/// Relationship types (after [`MACRO_REL_PREFIX`]) of Excel 4.0 macro sheets, which the workbook lists.
const MACRO_SHEET_REL_TYPES: &[&str] = &["xlmacrosheet", "xlintlmacrosheet"];

/// Ribbon customisations (Office 2007 and 2010 schemas).
const CUSTOM_UI_REL_TYPES: &[&str] = &[
    "http://schemas.microsoft.com/office/2006/relationships/ui/extensibility",
    "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility",
];

/// Macro-enabled main-part content types and their macro-free equivalents.
const MAIN_TYPES: &[(&str, &str)] = &[
    (
        "application/vnd.ms-word.document.macroEnabled.main+xml",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    ),
    (
        "application/vnd.ms-word.template.macroEnabledTemplate.main+xml",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml",
    ),
    (
        "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    ),
    (
        "application/vnd.ms-excel.template.macroEnabled.main+xml",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
    ),
    (
        "application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
    ),
    (
        "application/vnd.ms-powerpoint.slideshow.macroEnabled.main+xml",
        "application/vnd.openxmlformats-officedocument.presentationml.slideshow.main+xml",
    ),
    (
        "application/vnd.ms-powerpoint.template.macroEnabled.main+xml",
        "application/vnd.openxmlformats-officedocument.presentationml.template.main+xml",
    ),
];

/// Extensions of macro-enabled files whose macro-free form ends in `x` instead of `m`.
const MACRO_EXTENSIONS: &[&str] = &["docm", "dotm", "xlsm", "xltm", "pptm", "potm", "ppsm"];

const OLE_MAGIC: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";

/// Removes the macros from an OOXML package named `name` (the name only decides the new name).
///
/// Errors: not a ZIP or not OOXML, damaged, encrypted (a password-protected document is an OLE2
/// `EncryptedPackage`, not a ZIP), over `limits`, or macros that cannot go without breaking the
/// document ([`SanitizeError::MustRemoveWhole`]).
pub fn strip_ooxml_macros(
    data: &[u8],
    name: &str,
    limits: &StripLimits,
) -> Result<Stripped, SanitizeError> {
    if data.starts_with(OLE_MAGIC) {
        return Err(if has_encrypted_package_stream(data) {
            SanitizeError::Encrypted("a password-protected Office document (EncryptedPackage)")
        } else {
            SanitizeError::NotOoxml("an OLE2 compound file (binary Office format)".to_owned())
        });
    }
    let parts = read_parts(data, limits)?;
    let package = Package::new(&parts)?;
    let removed = package.macro_parts()?;

    let mut edited: HashMap<String, Vec<u8>> = HashMap::new();
    for (key, new) in package.edit_relationships(&removed)? {
        edited.insert(key, new);
    }
    for (workbook, sheet_ids) in package.removed_macro_sheets(&removed) {
        let part = package.part(&workbook).ok_or_else(|| {
            SanitizeError::MustRemoveWhole(format!(
                "macro sheets listed by a missing part {workbook}"
            ))
        })?;
        if !workbook.ends_with(".xml") {
            return Err(SanitizeError::MustRemoveWhole(format!(
                "macro sheets in a binary workbook ({})",
                part.name
            )));
        }
        if let Some(new) = remove_sheets(&part.name, &part.data, &sheet_ids)? {
            edited.insert(workbook, new);
        }
    }
    if let Some(new) = package.edit_content_types(&removed)? {
        edited.insert(CONTENT_TYPES.to_owned(), new);
    }

    let data = write_parts(&parts, &removed, &edited)?;
    Ok(Stripped {
        data,
        name: macro_free_name(name),
        removed: parts
            .iter()
            .filter(|p| removed.contains(&p.key))
            .map(|p| p.name.clone())
            .collect(),
    })
}

/// Whether an OLE2 file has a stream named `EncryptedPackage` (its directory holds names in UTF-16LE).
fn has_encrypted_package_stream(data: &[u8]) -> bool {
    let name: Vec<u8> = "EncryptedPackage"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    memchr::memmem::find(data, &name).is_some()
}

/// `.docm` → `.docx` and the other macro-enabled extensions likewise, keeping the letter case.
fn macro_free_name(name: &str) -> String {
    let Some((stem, ext)) = name.rsplit_once('.') else {
        return name.to_owned();
    };
    if !MACRO_EXTENSIONS.iter().any(|m| m.eq_ignore_ascii_case(ext)) {
        return name.to_owned();
    }
    let mut ext = ext.to_owned();
    ext.pop();
    ext.push(if ext.chars().all(|c| c.is_ascii_uppercase()) {
        'X'
    } else {
        'x'
    });
    format!("{stem}.{ext}")
}

/// One ZIP entry, inflated.
struct Part {
    name: String,
    /// The part name as compared: percent-decoded, ASCII lower case, no leading `/` (OPC part names
    /// are case-insensitive).
    key: String,
    data: Vec<u8>,
    method: CompressionMethod,
    modified: Option<zip::DateTime>,
    is_dir: bool,
}

fn corrupt(err: impl std::fmt::Display) -> SanitizeError {
    SanitizeError::Corrupt(err.to_string())
}

fn read_parts(data: &[u8], limits: &StripLimits) -> Result<Vec<Part>, SanitizeError> {
    let mut archive = ZipArchive::new(Cursor::new(data)).map_err(corrupt)?;
    if archive.len() > limits.max_parts {
        return Err(SanitizeError::TooManyParts {
            limit: limits.max_parts,
        });
    }
    let mut parts = Vec::with_capacity(archive.len());
    let mut total = 0u64;
    let mut keys = HashSet::new();
    for i in 0..archive.len() {
        if archive.by_index_raw(i).map_err(corrupt)?.encrypted() {
            return Err(SanitizeError::Encrypted("encrypted ZIP entries"));
        }
        let mut file = archive.by_index(i).map_err(corrupt)?;
        let name = file.name().to_owned();
        let cap = limits
            .max_part_bytes
            .min(limits.max_inflated_bytes.saturating_sub(total));
        // The declared size is only a hint: the bound is enforced on what actually inflates.
        let hint = file.size().min(cap).min(1 << 20);
        let mut buf = Vec::with_capacity(usize::try_from(hint).unwrap_or(0));
        (&mut file)
            .take(cap.saturating_add(1))
            .read_to_end(&mut buf)
            .map_err(|e| SanitizeError::Corrupt(format!("{name}: {e}")))?;
        let len = buf.len() as u64;
        if len > limits.max_part_bytes {
            return Err(SanitizeError::PartTooLarge {
                part: name,
                limit: limits.max_part_bytes,
            });
        }
        total += len;
        if total > limits.max_inflated_bytes {
            return Err(SanitizeError::TooLarge {
                limit: limits.max_inflated_bytes,
            });
        }
        let key = part_key(&name);
        // Two entries for one part: which one Office reads is not ours to guess.
        if !keys.insert(key.clone()) {
            return Err(SanitizeError::Corrupt(format!("part {name} appears twice")));
        }
        parts.push(Part {
            key,
            data: buf,
            method: file.compression(),
            modified: file.last_modified(),
            is_dir: file.is_dir(),
            name,
        });
    }
    Ok(parts)
}

fn write_parts(
    parts: &[Part],
    removed: &HashSet<String>,
    edited: &HashMap<String, Vec<u8>>,
) -> Result<Vec<u8>, SanitizeError> {
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    for part in parts.iter().filter(|p| !removed.contains(&p.key)) {
        let data = edited.get(&part.key).unwrap_or(&part.data);
        let method = if part.method == CompressionMethod::Stored {
            CompressionMethod::Stored
        } else {
            CompressionMethod::Deflated
        };
        let mut options = SimpleFileOptions::default()
            .compression_method(method)
            .large_file(data.len() as u64 >= u64::from(u32::MAX));
        if let Some(modified) = part.modified {
            options = options.last_modified_time(modified);
        }
        if part.is_dir {
            writer
                .add_directory(part.name.as_str(), options)
                .map_err(corrupt)?;
            continue;
        }
        writer
            .start_file(part.name.as_str(), options)
            .map_err(corrupt)?;
        writer.write_all(data).map_err(corrupt)?;
    }
    Ok(writer.finish().map_err(corrupt)?.into_inner())
}

/// A part name or resolved target as compared: percent-decoded, ASCII lower case, no leading `/`.
fn part_key(name: &str) -> String {
    fumidai_text::url::percent_decode(name.trim_start_matches('/')).to_ascii_lowercase()
}

/// One relationship of a `.rels` part.
struct Relationship {
    id: String,
    /// Lower case.
    kind: String,
    /// The key of the part it points at; None for external targets.
    target: Option<String>,
}

impl Relationship {
    fn is_macro(&self) -> bool {
        self.kind
            .strip_prefix(MACRO_REL_PREFIX)
            .is_some_and(|k| MACRO_REL_TYPES.contains(&k))
    }

    fn is_macro_sheet(&self) -> bool {
        self.kind
            .strip_prefix(MACRO_REL_PREFIX)
            .is_some_and(|k| MACRO_SHEET_REL_TYPES.contains(&k))
    }
}

/// The key of the part a `.rels` part describes (`word/_rels/document.xml.rels` → `word/document.xml`;
/// `_rels/.rels` → the package, "").
fn rels_source(rels_key: &str) -> Option<String> {
    let file = rels_key.strip_suffix(".rels")?;
    let (dir, source) = match file.rsplit_once('/') {
        Some((dir, source)) => (dir, source),
        None => return None,
    };
    let parent = if dir == "_rels" {
        ""
    } else {
        dir.strip_suffix("/_rels")?
    };
    Some(if parent.is_empty() {
        source.to_owned()
    } else {
        format!("{parent}/{source}")
    })
}

/// The key of the `.rels` part of the part with key `source`.
fn rels_of(source: &str) -> String {
    match source.rsplit_once('/') {
        Some((dir, file)) => format!("{dir}/_rels/{file}.rels"),
        None => format!("_rels/{source}.rels"),
    }
}

/// Resolves a relationship target against the part that holds the relationship.
fn resolve(source: &str, target: &str) -> String {
    let target = target.split('#').next().unwrap_or("");
    let joined = if target.starts_with('/') {
        target.to_owned()
    } else {
        match source.rsplit_once('/') {
            Some((dir, _)) => format!("{dir}/{target}"),
            None => target.to_owned(),
        }
    };
    let mut segments: Vec<&str> = Vec::new();
    for segment in joined.split(['/', '\\']) {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    part_key(&segments.join("/"))
}

fn parse_relationships(part: &Part) -> Result<Vec<Relationship>, SanitizeError> {
    let source = rels_source(&part.key).unwrap_or_default();
    let mut rels = Vec::new();
    xml::for_each_element(&part.name, &part.data, |start, _| {
        if start.local_name().as_ref() != b"Relationship" {
            return;
        }
        rels.push(relationship(&source, start));
    })?;
    Ok(rels)
}

fn relationship(source: &str, start: &quick_xml::events::BytesStart<'_>) -> Relationship {
    let external =
        xml::attr(start, "TargetMode").is_some_and(|m| m.eq_ignore_ascii_case("External"));
    Relationship {
        id: xml::attr(start, "Id").unwrap_or_default(),
        kind: xml::attr(start, "Type")
            .unwrap_or_default()
            .to_ascii_lowercase(),
        target: (!external)
            .then(|| xml::attr(start, "Target").map(|t| resolve(source, &t)))
            .flatten(),
    }
}

/// The package: parts by key, content types and relationships.
struct Package<'p> {
    parts: HashMap<&'p str, &'p Part>,
    order: Vec<&'p Part>,
    /// Override part key → content type (lower case).
    overrides: HashMap<String, String>,
    /// Extension (lower case) → content type (lower case).
    defaults: HashMap<String, String>,
    /// `.rels` part key → its relationships.
    rels: HashMap<&'p str, Vec<Relationship>>,
}

impl<'p> Package<'p> {
    fn new(parts: &'p [Part]) -> Result<Package<'p>, SanitizeError> {
        let map: HashMap<&str, &Part> = parts.iter().map(|p| (p.key.as_str(), p)).collect();
        let content_types = map.get(CONTENT_TYPES).ok_or_else(|| {
            SanitizeError::NotOoxml("a ZIP without [Content_Types].xml".to_owned())
        })?;
        if !map.contains_key(ROOT_RELS) {
            return Err(SanitizeError::NotOoxml(
                "a ZIP without _rels/.rels".to_owned(),
            ));
        }
        let mut overrides = HashMap::new();
        let mut defaults = HashMap::new();
        xml::for_each_element(&content_types.name, &content_types.data, |start, _| {
            let content_type = xml::attr(start, "ContentType")
                .unwrap_or_default()
                .to_ascii_lowercase();
            match start.local_name().as_ref() {
                b"Override" => {
                    if let Some(name) = xml::attr(start, "PartName") {
                        overrides.insert(part_key(&name), content_type);
                    }
                }
                b"Default" => {
                    if let Some(ext) = xml::attr(start, "Extension") {
                        defaults.insert(ext.to_ascii_lowercase(), content_type);
                    }
                }
                _ => {}
            }
        })?;
        let mut rels = HashMap::new();
        for part in parts.iter().filter(|p| rels_source(&p.key).is_some()) {
            rels.insert(part.key.as_str(), parse_relationships(part)?);
        }
        Ok(Package {
            parts: map,
            order: parts.iter().collect(),
            overrides,
            defaults,
            rels,
        })
    }

    fn part(&self, key: &str) -> Option<&'p Part> {
        self.parts.get(key).copied()
    }

    fn content_type(&self, key: &str) -> Option<&str> {
        self.overrides.get(key).map(String::as_str).or_else(|| {
            let ext = key.rsplit_once('.').map(|(_, e)| e)?;
            self.defaults.get(ext).map(String::as_str)
        })
    }

    /// The keys of the parts to remove.
    fn macro_parts(&self) -> Result<HashSet<String>, SanitizeError> {
        let mut removed = HashSet::new();
        for part in &self.order {
            let is_vba_name = part
                .key
                .rsplit('/')
                .next()
                .is_some_and(|f| f == "vbaproject.bin");
            let is_macro_type = self
                .content_type(&part.key)
                .is_some_and(|t| MACRO_CONTENT_TYPES.contains(&t));
            if is_vba_name || is_macro_type {
                removed.insert(part.key.clone());
            }
        }
        for rel in self.rels.values().flatten() {
            let Some(target) = &rel.target else { continue };
            let is_callback_ui = CUSTOM_UI_REL_TYPES.contains(&rel.kind.as_str())
                && self
                    .part(target)
                    .is_some_and(|p| custom_ui_has_callbacks(&p.name, &p.data));
            if (rel.is_macro() || is_callback_ui) && self.parts.contains_key(target.as_str()) {
                removed.insert(target.clone());
            }
        }
        // A removed part's relationships go with it, and the parts only they point at.
        loop {
            let orphaned_rels: Vec<String> = removed
                .iter()
                .map(|key| rels_of(key))
                .filter(|rels| self.rels.contains_key(rels.as_str()) && !removed.contains(rels))
                .collect();
            removed.extend(orphaned_rels);
            let still_used: HashSet<&str> = self
                .rels
                .iter()
                .filter(|(holder, _)| !removed.contains(**holder))
                .flat_map(|(_, rels)| rels.iter().filter_map(|r| r.target.as_deref()))
                .collect();
            let orphaned_parts: Vec<String> = self
                .rels
                .iter()
                .filter(|(holder, _)| removed.contains(**holder))
                .flat_map(|(_, rels)| rels.iter().filter_map(|r| r.target.as_ref()))
                .filter(|t| {
                    !still_used.contains(t.as_str())
                        && !removed.contains(*t)
                        && self.parts.contains_key(t.as_str())
                })
                .cloned()
                .collect();
            if orphaned_parts.is_empty() {
                break;
            }
            removed.extend(orphaned_parts);
        }
        // The package's own bookkeeping and its main document are never removed: when they would
        // be, there is no macro-free document to deliver.
        removed.remove(CONTENT_TYPES);
        removed.remove(ROOT_RELS);
        let main = self
            .rels
            .get(ROOT_RELS)
            .into_iter()
            .flatten()
            .filter(|r| r.kind.eq_ignore_ascii_case(OFFICE_DOCUMENT_REL))
            .filter_map(|r| r.target.as_ref());
        for target in main {
            if removed.contains(target) {
                return Err(SanitizeError::MustRemoveWhole(format!(
                    "the main document part {target} is itself a macro part"
                )));
            }
        }
        Ok(removed)
    }

    /// New bytes for every kept `.rels` part that pointed at removed parts or held macro relationships.
    fn edit_relationships(
        &self,
        removed: &HashSet<String>,
    ) -> Result<Vec<(String, Vec<u8>)>, SanitizeError> {
        let mut out = Vec::new();
        for part in &self.order {
            if removed.contains(&part.key) {
                continue;
            }
            let Some(source) = rels_source(&part.key) else {
                continue;
            };
            let edit = xml::edit(&part.name, &part.data, |start| {
                if start.local_name().as_ref() != b"Relationship" {
                    return Ok(Edit::Keep);
                }
                let rel = relationship(&source, start);
                let points_at_removed = rel.target.as_ref().is_some_and(|t| removed.contains(t));
                Ok(if rel.is_macro() || points_at_removed {
                    Edit::Drop
                } else {
                    Edit::Keep
                })
            })?;
            if let Some(new) = edit {
                out.push((part.key.clone(), new));
            }
        }
        Ok(out)
    }

    /// Per workbook (the part whose relationships listed removed Excel 4.0 macro sheets), the
    /// relationship ids of those sheets.
    fn removed_macro_sheets(&self, removed: &HashSet<String>) -> Vec<(String, HashSet<String>)> {
        let mut out = Vec::new();
        for (rels_key, rels) in &self.rels {
            if removed.contains(*rels_key) {
                continue;
            }
            let ids: HashSet<String> = rels
                .iter()
                .filter(|r| {
                    r.is_macro_sheet()
                        || r.target
                            .as_ref()
                            .is_some_and(|t| removed.contains(t) && self.is_macro_sheet_part(t))
                })
                .map(|r| r.id.clone())
                .collect();
            if let (false, Some(source)) = (ids.is_empty(), rels_source(rels_key)) {
                out.push((source, ids));
            }
        }
        out
    }

    fn is_macro_sheet_part(&self, key: &str) -> bool {
        self.content_type(key)
            .is_some_and(|t| t.contains("macrosheet"))
    }

    /// `[Content_Types].xml` without the removed parts' entries and with the macro-free main type.
    fn edit_content_types(
        &self,
        removed: &HashSet<String>,
    ) -> Result<Option<Vec<u8>>, SanitizeError> {
        let Some(part) = self.part(CONTENT_TYPES) else {
            return Ok(None);
        };
        xml::edit(&part.name, &part.data, |start| {
            let content_type = xml::attr(start, "ContentType").unwrap_or_default();
            match start.local_name().as_ref() {
                b"Override" => {
                    let name = xml::attr(start, "PartName").unwrap_or_default();
                    if removed.contains(&part_key(&name)) {
                        return Ok(Edit::Drop);
                    }
                    let plain = MAIN_TYPES.iter().find(|(macro_type, _)| {
                        macro_type.eq_ignore_ascii_case(content_type.trim())
                    });
                    Ok(match plain {
                        Some((_, plain)) => {
                            Edit::Retag(xml::with_attr(start, "ContentType", plain))
                        }
                        None => Edit::Keep,
                    })
                }
                b"Default" => {
                    let lower = content_type.trim().to_ascii_lowercase();
                    Ok(if MACRO_CONTENT_TYPES.contains(&lower.as_str()) {
                        Edit::Drop
                    } else {
                        Edit::Keep
                    })
                }
                _ => Ok(Edit::Keep),
            }
        })
    }
}

/// Whether a Ribbon customisation names callbacks (`onAction`, `getLabel`, `loadImage`, ...),
/// which are macros. Unreadable XML counts as having them.
fn custom_ui_has_callbacks(name: &str, data: &[u8]) -> bool {
    let mut callbacks = false;
    let readable = xml::for_each_element(name, data, |start, _| {
        callbacks |= start.attributes().flatten().any(|a| {
            let key = a.key.local_name();
            let key = key.as_ref();
            key.starts_with(b"on") || key.starts_with(b"get") || key == b"loadImage"
        });
    });
    callbacks || readable.is_err()
}

/// A workbook's `<sheet>` as listed.
struct SheetEntry {
    name: String,
    removed: bool,
}

/// What to do with one `<definedName>`, in document order.
struct NameEdit {
    drop: bool,
    /// The new `localSheetId`, when it changes.
    local_sheet: Option<usize>,
}

/// Removes the `<sheet>` entries with relationship ids `ids` from `xl/workbook.xml`, the defined names
/// scoped to them, pointing at them or declaring macro functions (Auto_Open and friends), and renumbers
/// the sheet indexes that follow.
fn remove_sheets(
    part: &str,
    xml_bytes: &[u8],
    ids: &HashSet<String>,
) -> Result<Option<Vec<u8>>, SanitizeError> {
    let mut sheets: Vec<SheetEntry> = Vec::new();
    let mut names: Vec<(Option<usize>, bool, String)> = Vec::new();
    xml::for_each_element(part, xml_bytes, |start, text| {
        match start.local_name().as_ref() {
            b"sheet" => sheets.push(SheetEntry {
                name: xml::attr(start, "name").unwrap_or_default(),
                removed: xml::rel_id(start).is_some_and(|id| ids.contains(&id)),
            }),
            b"definedName" => {
                let local = xml::attr(start, "localSheetId").and_then(|v| v.trim().parse().ok());
                let macro_name = ["function", "vbProcedure", "xlm"]
                    .iter()
                    .any(|a| xml::attr(start, a).is_some_and(|v| v == "1" || v == "true"));
                names.push((local, macro_name, text.to_owned()));
            }
            _ => {}
        }
    })?;
    let kept = sheets.iter().filter(|s| !s.removed).count();
    if kept == 0 {
        return Err(SanitizeError::MustRemoveWhole(
            "every sheet of the workbook is a macro sheet".to_owned(),
        ));
    }
    // The new index of the sheet at old index i, if it stays.
    let new_index = |old: usize| -> Option<usize> {
        let sheet = sheets.get(old)?;
        (!sheet.removed).then(|| sheets.iter().take(old).filter(|s| !s.removed).count())
    };
    let removed_refs: Vec<(String, String)> = sheets
        .iter()
        .filter(|s| s.removed)
        .map(|s| {
            let lower = s.name.to_lowercase();
            (
                format!("{lower}!"),
                format!("'{}'!", lower.replace('\'', "''")),
            )
        })
        .collect();
    let name_edits: Vec<NameEdit> = names
        .iter()
        .map(|(local, macro_name, formula)| {
            let formula = formula.to_lowercase();
            let points_at_removed = removed_refs.iter().any(|(plain, quoted)| {
                mentions_sheet(&formula, plain) || mentions_sheet(&formula, quoted)
            });
            let scope = local.map(new_index);
            NameEdit {
                drop: *macro_name || points_at_removed || scope == Some(None),
                local_sheet: scope.flatten().filter(|n| Some(*n) != *local),
            }
        })
        .collect();

    // An empty <definedNames/> is left out rather than written empty.
    let all_names_dropped = name_edits.iter().all(|e| e.drop);
    let mut name_index = 0usize;
    xml::edit(part, xml_bytes, |start| {
        Ok(match start.local_name().as_ref() {
            b"sheet" if xml::rel_id(start).is_some_and(|id| ids.contains(&id)) => Edit::Drop,
            b"definedNames" if all_names_dropped => Edit::Drop,
            b"definedName" => {
                let edit = name_edits.get(name_index);
                name_index += 1;
                match edit {
                    Some(NameEdit { drop: true, .. }) => Edit::Drop,
                    Some(NameEdit {
                        local_sheet: Some(n),
                        ..
                    }) => Edit::Retag(xml::with_attr(start, "localSheetId", &n.to_string())),
                    _ => Edit::Keep,
                }
            }
            b"workbookView" => {
                let mut tag = None;
                for attr in ["activeTab", "firstSheet"] {
                    let Some(old) =
                        xml::attr(start, attr).and_then(|v| v.trim().parse::<usize>().ok())
                    else {
                        continue;
                    };
                    // A removed sheet's view falls to the nearest kept sheet before it (or the first).
                    let new = (0..=old.min(sheets.len().saturating_sub(1)))
                        .rev()
                        .find_map(new_index)
                        .unwrap_or(0);
                    if new != old {
                        let current = tag.take().unwrap_or_else(|| start.to_owned());
                        tag = Some(xml::with_attr(&current, attr, &new.to_string()));
                    }
                }
                tag.map_or(Edit::Keep, Edit::Retag)
            }
            _ => Edit::Keep,
        })
    })
}

/// Whether `formula` holds the sheet reference `reference` (`name!` or `'name'!`) as a whole name:
/// `Macro1!` is not in `OtherMacro1!A1`.
fn mentions_sheet(formula: &str, reference: &str) -> bool {
    formula.match_indices(reference).any(|(at, _)| {
        formula
            .get(..at)
            .and_then(|before| before.chars().next_back())
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '.'))
    })
}

/// Tests of the helpers; whole packages are tested in tests/ooxml.rs.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_the_macro_extension() {
        assert_eq!(macro_free_name("report.docm"), "report.docx");
        assert_eq!(macro_free_name("BOOK.XLSM"), "BOOK.XLSX");
        assert_eq!(macro_free_name("deck.PpTm"), "deck.PpTx");
        assert_eq!(macro_free_name("show.ppsm"), "show.ppsx");
        assert_eq!(macro_free_name("t.dotm"), "t.dotx");
        assert_eq!(macro_free_name("t.xltm"), "t.xltx");
        assert_eq!(macro_free_name("t.potm"), "t.potx");
        assert_eq!(macro_free_name("invoice.xlsx"), "invoice.xlsx");
        assert_eq!(macro_free_name("noext"), "noext");
    }

    #[test]
    fn sheet_indexes_after_a_removed_sheet_are_renumbered() {
        let workbook = concat!(
            r#"<workbook xmlns:r="r"><bookViews><workbookView activeTab="1" firstSheet="2"/></bookViews>"#,
            r#"<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/><sheet name="Macro1" sheetId="2" r:id="rId2"/>"#,
            r#"<sheet name="Sheet2" sheetId="3" r:id="rId3"/></sheets><definedNames>"#,
            r#"<definedName name="_xlnm.Print_Area" localSheetId="2">Sheet2!$A$1:$B$2</definedName>"#,
            r#"<definedName name="Scoped" localSheetId="1">1</definedName>"#,
            r#"<definedName name="_xlnm.Auto_Open">Macro1!$A$1</definedName>"#,
            r#"<definedName name="Fn" function="1">Sheet1!$A$1</definedName>"#,
            r#"<definedName name="Total">SUM(Sheet1!A1,OtherMacro1!A1)</definedName>"#,
            r#"</definedNames></workbook>"#,
        );
        let ids = HashSet::from(["rId2".to_owned()]);
        let out = remove_sheets("xl/workbook.xml", workbook.as_bytes(), &ids)
            .expect("edits")
            .expect("changed");
        let expected = concat!(
            r#"<workbook xmlns:r="r"><bookViews><workbookView activeTab="0" firstSheet="1"/></bookViews>"#,
            r#"<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/>"#,
            r#"<sheet name="Sheet2" sheetId="3" r:id="rId3"/></sheets><definedNames>"#,
            r#"<definedName name="_xlnm.Print_Area" localSheetId="1">Sheet2!$A$1:$B$2</definedName>"#,
            r#"<definedName name="Total">SUM(Sheet1!A1,OtherMacro1!A1)</definedName>"#,
            r#"</definedNames></workbook>"#,
        );
        assert_eq!(String::from_utf8_lossy(&out), expected);
    }

    #[test]
    fn sheet_references_match_whole_names_only() {
        assert!(mentions_sheet("macro1!$a$1", "macro1!"));
        assert!(mentions_sheet("=sum(macro1!a1,b2)", "macro1!"));
        assert!(mentions_sheet("'my sheet'!$a$1", "'my sheet'!"));
        assert!(!mentions_sheet("othermacro1!$a$1", "macro1!"));
        assert!(!mentions_sheet("sheet1!$a$1", "macro1!"));
    }

    #[test]
    fn relationship_targets_resolve_against_their_source() {
        assert_eq!(
            rels_source("word/_rels/document.xml.rels").as_deref(),
            Some("word/document.xml")
        );
        assert_eq!(rels_source("_rels/.rels").as_deref(), Some(""));
        assert_eq!(
            rels_of("word/vbaproject.bin"),
            "word/_rels/vbaproject.bin.rels"
        );
        assert_eq!(
            resolve("word/document.xml", "vbaProject.bin"),
            "word/vbaproject.bin"
        );
        assert_eq!(
            resolve("ppt/slides/slide1.xml", "../media/a%20b.png"),
            "ppt/media/a b.png"
        );
        assert_eq!(resolve("", "/xl/workbook.xml"), "xl/workbook.xml");
        assert_eq!(resolve("", "word/document.xml"), "word/document.xml");
    }
}
