//! Minimal XML edits by splicing: elements are dropped or their start tag rewritten, and every
//! other byte of the part is copied unchanged (declaration, namespaces, whitespace, attribute order).

use crate::SanitizeError;
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, Writer};

/// What to do with one element.
pub(crate) enum Edit {
    Keep,
    /// Remove the element with its content.
    Drop,
    /// Replace the start (or empty) tag; the content, if any, is kept.
    Retag(BytesStart<'static>),
}

/// Element nesting allowed: package XML (relationships, content types, the workbook) is a few levels
/// deep, and the bound keeps hostile nesting from costing memory.
const MAX_DEPTH: usize = 256;

fn too_deep(part: &str) -> SanitizeError {
    xml_error(
        part,
        format_args!("elements nested more than {MAX_DEPTH} deep"),
    )
}

fn xml_error(part: &str, err: impl std::fmt::Display) -> SanitizeError {
    SanitizeError::Xml {
        part: part.to_owned(),
        detail: err.to_string(),
    }
}

fn position(reader: &Reader<&[u8]>) -> usize {
    usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX)
}

/// Walks every element of `xml` (a part named `part`, for errors) and applies `decide` to its start tag.
/// Returns None when nothing changed, so callers keep the original bytes.
pub(crate) fn edit(
    part: &str,
    xml: &[u8],
    mut decide: impl FnMut(&BytesStart<'_>) -> Result<Edit, SanitizeError>,
) -> Result<Option<Vec<u8>>, SanitizeError> {
    let mut reader = Reader::from_reader(xml);
    let mut out: Vec<u8> = Vec::new();
    let mut copied = 0usize;
    let mut changed = false;
    let mut depth = 0usize;
    loop {
        let before = position(&reader);
        let event = reader.read_event().map_err(|e| xml_error(part, e))?;
        let (start, empty) = match &event {
            Event::Start(s) => (s, false),
            Event::Empty(s) => (s, true),
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let decision = decide(start)?;
        if !empty {
            depth += 1;
            if depth > MAX_DEPTH {
                return Err(too_deep(part));
            }
        }
        let replacement = match decision {
            Edit::Keep => continue,
            Edit::Drop => {
                if !empty {
                    reader
                        .read_to_end(start.name())
                        .map_err(|e| xml_error(part, e))?;
                    depth -= 1;
                }
                Vec::new()
            }
            Edit::Retag(tag) => {
                let mut writer = Writer::new(Vec::new());
                let event = if empty {
                    Event::Empty(tag)
                } else {
                    Event::Start(tag)
                };
                writer.write_event(event).map_err(|e| xml_error(part, e))?;
                writer.into_inner()
            }
        };
        let after = position(&reader);
        out.extend_from_slice(xml.get(copied..before).unwrap_or_default());
        out.extend_from_slice(&replacement);
        copied = after;
        changed = true;
    }
    if !changed {
        return Ok(None);
    }
    out.extend_from_slice(xml.get(copied..).unwrap_or_default());
    Ok(Some(out))
}

/// Reads every element (start or empty) with the text directly inside it; for gathering facts
/// before an [`edit`].
pub(crate) fn for_each_element(
    part: &str,
    xml: &[u8],
    mut visit: impl FnMut(&BytesStart<'_>, &str),
) -> Result<(), SanitizeError> {
    let mut reader = Reader::from_reader(xml);
    let mut open: Vec<(BytesStart<'_>, String)> = Vec::new();
    loop {
        match reader.read_event().map_err(|e| xml_error(part, e))? {
            Event::Start(s) => {
                if open.len() >= MAX_DEPTH {
                    return Err(too_deep(part));
                }
                open.push((s, String::new()));
            }
            Event::Empty(s) => visit(&s, ""),
            Event::Text(t) => {
                if let Some((_, text)) = open.last_mut() {
                    text.push_str(&t.unescape().map_err(|e| xml_error(part, e))?);
                }
            }
            Event::CData(t) => {
                if let Some((_, text)) = open.last_mut() {
                    text.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Event::End(_) => {
                if let Some((s, text)) = open.pop() {
                    visit(&s, &text);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(())
}

/// The unescaped value of the attribute whose local name is `name` (any prefix).
pub(crate) fn attr(start: &BytesStart<'_>, name: &str) -> Option<String> {
    start
        .attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == name.as_bytes())
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

/// The value of a relationship id attribute (`r:id`, whatever the prefix is).
pub(crate) fn rel_id(start: &BytesStart<'_>) -> Option<String> {
    start
        .attributes()
        .flatten()
        .find(|a| a.key.prefix().is_some() && a.key.local_name().as_ref() == b"id")
        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
}

/// A copy of `start` with attribute `name` (local name) set to `value`, other attributes in order.
pub(crate) fn with_attr(start: &BytesStart<'_>, name: &str, value: &str) -> BytesStart<'static> {
    let mut tag = BytesStart::new(String::from_utf8_lossy(start.name().as_ref()).into_owned());
    for a in start.attributes().flatten() {
        if a.key.local_name().as_ref() == name.as_bytes() {
            let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
            tag.push_attribute((key.as_str(), value));
        } else {
            tag.push_attribute(a);
        }
    }
    tag
}
