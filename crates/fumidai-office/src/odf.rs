//! OpenDocument: StarBasic macro libraries and the document events that run them on open.

use crate::{findings, zipread};
use fumidai_core::findings::UNINSPECTABLE;
use fumidai_core::{FileInput, FileReport, Scan};

const MAX_XML: u64 = 32 << 20;
/// Document events that fire when the file is opened.
const OPEN_EVENTS: &[&str] = &[
    "dom:load",
    "office:load",
    "onload",
    "onnew",
    "office:new",
    "onfocus",
    "onviewcreated",
];

pub(crate) fn inspect(scan: &mut Scan<'_>, input: &FileInput<'_>, report: &mut FileReport) {
    let _ = report;
    let part = input.part.as_str();
    let mut archive = match zipread::open(input.data) {
        Ok(a) => a,
        Err(e) => {
            scan.add(&UNINSPECTABLE, part, e);
            return;
        }
    };
    let names = zipread::names(&archive, 20_000);
    let mut modules: Vec<String> = Vec::new();
    for (i, name) in names.iter().enumerate() {
        if scan.exhausted() {
            break;
        }
        let lower = name.to_ascii_lowercase();
        if !lower.ends_with(".xml") {
            continue;
        }
        let in_basic = lower.starts_with("basic/");
        let is_event_host = matches!(
            lower.as_str(),
            "content.xml" | "styles.xml" | "settings.xml" | "meta.xml"
        );
        if !in_basic && !is_event_host {
            continue;
        }
        let Some(xml) = zipread::read(scan, part, &mut archive, i, MAX_XML) else {
            continue;
        };
        let text = String::from_utf8_lossy(&xml);
        let lower_text = text.to_ascii_lowercase();
        if in_basic && lower_text.contains("<script:module") && module_code_len(&text) > 0 {
            modules.push(name.clone());
        }
        if lower_text.contains("event-listener") {
            for (event, target) in event_listeners(&text) {
                let ev = event.to_ascii_lowercase();
                let is_macro = target.to_ascii_lowercase().contains("vnd.sun.star.script:")
                    || target.to_ascii_lowercase().starts_with("macro:");
                if is_macro && OPEN_EVENTS.contains(&ev.as_str()) {
                    scan.add(
                        &findings::ODF_AUTOEXEC,
                        part,
                        format!("{event} runs {} ({name})", short(&target)),
                    );
                }
            }
        }
    }
    if !modules.is_empty() {
        scan.add(
            &findings::ODF_BASIC_MACRO,
            part,
            format!("Basic modules: {}", modules.join(", ")),
        );
    }
}

fn short(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(200).collect()
}

/// Characters of code (not whitespace) inside the `<script:module>` element.
fn module_code_len(text: &str) -> usize {
    let Some(start) = text.find("<script:module") else {
        return 0;
    };
    let after = &text[start..];
    let Some(open_end) = after.find('>') else {
        return 0;
    };
    if after[..open_end].ends_with('/') {
        return 0;
    }
    let body = &after[open_end + 1..];
    let body = body.split("</script:module>").next().unwrap_or("");
    body.chars().filter(|c| !c.is_whitespace()).count()
}

/// (event name, macro target) of every `script:event-listener` element (attribute order free).
fn event_listeners(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for chunk in text.split("<script:event-listener").skip(1).take(10_000) {
        let tag = chunk.split('>').next().unwrap_or("");
        let event = attr_value(tag, "script:event-name").unwrap_or_default();
        let target = attr_value(tag, "xlink:href")
            .or_else(|| attr_value(tag, "script:macro-name"))
            .unwrap_or_default();
        out.push((event, target));
    }
    out
}

fn attr_value(tag: &str, name: &str) -> Option<String> {
    let at = tag.find(&format!("{name}=\""))? + name.len() + 2;
    let rest = tag.get(at..)?;
    let end = rest.find('"')?;
    Some(rest.get(..end)?.replace("&amp;", "&"))
}
