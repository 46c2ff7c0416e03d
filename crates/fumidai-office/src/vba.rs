//! VBA projects (MS-OVBA): the `dir` stream, module sources, and what the code does
//! (auto-exec procedures, ActiveX event handlers, suspicious calls, stomped source).

use crate::findings;
use crate::ovba_decompress::decompress;
use fumidai_core::Scan;

/// Decompressed bytes kept for one `dir` stream or one module's source.
const MAX_SOURCE: usize = 8 << 20;
/// Modules read per project (a real project has a handful; a hostile `dir` may list thousands).
const MAX_MODULES: usize = 500;

/// A module as the `dir` stream describes it.
#[derive(Debug, Default, Clone)]
pub(crate) struct ModuleRef {
    pub name: String,
    pub stream: String,
    pub offset: u32,
}

/// The streams of one `VBA` storage, by name.
pub(crate) struct VbaStreams<'s> {
    /// Where the project sits, for details: `Macros/VBA`.
    pub location: String,
    pub streams: Vec<(String, &'s [u8])>,
}

impl VbaStreams<'_> {
    fn get(&self, name: &str) -> Option<&[u8]> {
        self.streams
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, d)| *d)
    }
}

/// Reads the module list from a decompressed `dir` stream (MS-OVBA 2.3.4.2).
/// Every record is id/size/data except PROJECTVERSION, whose size field lies by two bytes.
pub(crate) fn parse_dir(dir: &[u8]) -> Vec<ModuleRef> {
    let mut modules: Vec<ModuleRef> = Vec::new();
    let mut pos = 0usize;
    let mut current: Option<ModuleRef> = None;
    while let Some(head) = dir.get(pos..pos.saturating_add(6)) {
        let id = u16::from_le_bytes([head[0], head[1]]);
        let size = u32::from_le_bytes([head[2], head[3], head[4], head[5]]) as usize;
        let size = if id == 0x0009 { 6 } else { size };
        let start = pos + 6;
        let end = start.saturating_add(size);
        let body = dir.get(start..end.min(dir.len())).unwrap_or(&[]);
        match id {
            0x0019 => {
                if let Some(m) = current.take() {
                    modules.push(m);
                }
                if modules.len() >= MAX_MODULES {
                    break;
                }
                current = Some(ModuleRef {
                    name: latin(body),
                    ..Default::default()
                });
            }
            0x0047 => {
                if let Some(m) = current.as_mut() {
                    let n = utf16(body);
                    if !n.is_empty() {
                        m.name = n;
                    }
                }
            }
            0x001A => {
                if let Some(m) = current.as_mut() {
                    m.stream = latin(body);
                }
            }
            0x0032 => {
                if let Some(m) = current.as_mut() {
                    let n = utf16(body);
                    if !n.is_empty() {
                        m.stream = n;
                    }
                }
            }
            0x0031 => {
                if let (Some(m), Some(b)) = (current.as_mut(), body.get(..4)) {
                    m.offset = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                }
            }
            0x002B => {
                if let Some(m) = current.take() {
                    modules.push(m);
                }
            }
            0x0010 => break,
            _ => {}
        }
        pos = end;
    }
    if let Some(m) = current.take() {
        modules.push(m);
    }
    modules
}

fn latin(b: &[u8]) -> String {
    b.iter().map(|&c| char::from(c)).collect()
}

fn utf16(b: &[u8]) -> String {
    let units: Vec<u16> = b
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    String::from_utf16_lossy(&units)
}

/// One module's decompressed source and the size of the compiled p-code before it.
pub(crate) struct Module {
    pub name: String,
    pub source: String,
    pub pcode_len: usize,
}

/// Analyses one VBA project and records its findings. Returns the decoded modules.
pub(crate) fn analyze_project(
    scan: &mut Scan<'_>,
    part: &str,
    project: &VbaStreams<'_>,
) -> Vec<Module> {
    let mut modules = Vec::new();
    let dir = project.get("dir").and_then(|d| decompress(d, MAX_SOURCE));
    let refs = dir.as_deref().map(parse_dir).unwrap_or_default();
    for r in &refs {
        let stream = project.get(&r.stream).or_else(|| project.get(&r.name));
        let Some(stream) = stream else { continue };
        let offset = r.offset as usize;
        let source = stream
            .get(offset..)
            .and_then(|s| decompress(s, MAX_SOURCE))
            .unwrap_or_default();
        if !scan.charge_inflated(part, source.len() as u64) {
            break;
        }
        modules.push(Module {
            name: r.name.clone(),
            source: String::from_utf8_lossy(&source).into_owned(),
            pcode_len: offset.min(stream.len()),
        });
    }
    let names: Vec<&str> = modules.iter().map(|m| m.name.as_str()).collect();
    let listed = if dir.is_none() {
        "dir stream unreadable".to_owned()
    } else {
        format!("modules: {}", shorten_list(&names))
    };
    scan.add(
        &findings::VBA_MACRO,
        part,
        format!("VBA project in {} ({listed})", project.location),
    );
    report_code(scan, part, &modules);
    modules
}

fn shorten_list(items: &[&str]) -> String {
    const SHOW: usize = 12;
    let mut s = items
        .iter()
        .take(SHOW)
        .copied()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > SHOW {
        s.push_str(&format!(" and {} more", items.len() - SHOW));
    }
    if s.is_empty() {
        s.push_str("none readable");
    }
    s
}

/// Procedures that Office runs by itself (olevba's AUTOEXEC_KEYWORDS, plus PowerPoint add-in hooks).
const AUTOEXEC: &[&str] = &[
    "AutoExec",
    "AutoOpen",
    "DocumentOpen",
    "AutoExit",
    "AutoClose",
    "Document_Close",
    "DocumentBeforeClose",
    "DocumentChange",
    "AutoNew",
    "Document_New",
    "NewDocument",
    "Document_Open",
    "Document_BeforeClose",
    "Document_ContentControlOnEnter",
    "Document_ContentControlOnExit",
    "Auto_Open",
    "Workbook_Open",
    "Workbook_Activate",
    "Auto_Close",
    "Workbook_Close",
    "Workbook_BeforeClose",
    "Workbook_Deactivate",
    "Worksheet_Calculate",
    "Presentation_Open",
    "OnSlideShowPageChange",
    "OnSlideShowTerminate",
];

/// Suffixes of ActiveX control event handlers (olevba's AUTOEXEC_KEYWORDS_REGEX): they run when the
/// user touches (or merely opens) a control, so they are reported, but not as auto-exec.
const ACTIVEX_EVENTS: &[&str] = &[
    "_Painted",
    "_Painting",
    "_GotFocus",
    "_LostFocus",
    "_MouseHover",
    "_Click",
    "_DblClick",
    "_Change",
    "_Resize",
    "_BeforeNavigate2",
    "_BeforeScriptExecute",
    "_DocumentComplete",
    "_DownloadBegin",
    "_DownloadComplete",
    "_FileDownload",
    "_NavigateComplete2",
    "_NavigateError",
    "_ProgressChange",
    "_PropertyChange",
    "_SetSecureLockIcon",
    "_StatusTextChange",
    "_TitleChange",
    "_MouseMove",
    "_MouseEnter",
    "_MouseLeave",
    "_OnConnecting",
    "_Layout",
    "_Initialize",
];

/// Keywords that mean the macro runs programs, downloads, writes files, calls the Windows API or hides
/// itself (a strict subset of olevba's list: the everyday ones like Open, Write, Chr do not count alone).
const SUSPICIOUS: &[&str] = &[
    "Shell",
    "WScript.Shell",
    "Shell.Application",
    "ShellExecute",
    "ShellExecuteA",
    "ShellExecuteW",
    "shell32",
    "WScript",
    "CreateObject",
    "GetObject",
    "CallByName",
    "MacScript",
    "URLDownloadToFile",
    "URLDownloadToFileA",
    "URLDownloadToFileW",
    "MSXML2.XMLHTTP",
    "Microsoft.XMLHTTP",
    "MSXML2.ServerXMLHTTP",
    "WinHttp.WinHttpRequest",
    "WinHttpRequest",
    "Net.WebClient",
    "DownloadFile",
    "DownloadString",
    "ADODB.Stream",
    "SaveToFile",
    "responseBody",
    "Scripting.FileSystemObject",
    "CreateTextFile",
    "powershell",
    "cmd.exe",
    "cmd /c",
    "mshta",
    "rundll32",
    "regsvr32",
    "certutil",
    "bitsadmin",
    "schtasks",
    "EncodedCommand",
    "Invoke-Expression",
    "IEX",
    "Start-Process",
    "ExecuteExcel4Macro",
    "VirtualAlloc",
    "VirtualAllocEx",
    "VirtualProtect",
    "RtlMoveMemory",
    "WriteProcessMemory",
    "CreateThread",
    "CreateRemoteThread",
    "QueueUserAPC",
    "CallWindowProc",
    "EnumSystemLanguageGroupsW",
    "EnumDateFormatsW",
    "GetProcAddress",
    "LoadLibrary",
    "LoadLibraryA",
    "StrReverse",
    "VBProject",
    "VBComponents",
    "CodeModule",
    "AddFromString",
    "AccessVBOM",
    "VBAWarnings",
    "Environ",
    "SendKeys",
    "Kill",
    "FileCopy",
    "winmgmts",
    "Win32_Process",
];

/// Keywords benign macros use every day: listed when they appear with a stronger one, never enough alone.
const WEAK: &[&str] = &[
    "CreateObject",
    "GetObject",
    "Environ",
    "Kill",
    "FileCopy",
    "SendKeys",
    "CreateTextFile",
];

/// Declarations of Windows API libraries (`Declare Function X Lib "kernel32"`).
const API_LIBS: &[&str] = &[
    "kernel32", "ntdll", "user32", "urlmon", "shell32", "advapi32", "wininet",
];

fn report_code(scan: &mut Scan<'_>, part: &str, modules: &[Module]) {
    let mut autoexec: Vec<String> = Vec::new();
    let mut activex: Vec<String> = Vec::new();
    let mut suspicious: Vec<String> = Vec::new();
    let mut chr_calls = 0usize;
    let mut api_libs: Vec<&str> = Vec::new();
    for m in modules {
        for name in procedure_names(&m.source) {
            if AUTOEXEC.iter().any(|k| k.eq_ignore_ascii_case(name)) {
                push_unique(&mut autoexec, name);
            } else if name.contains('_')
                && ACTIVEX_EVENTS
                    .iter()
                    .any(|s| ends_with_ignore_case(name, s))
            {
                push_unique(&mut activex, name);
            }
        }
        let lower = m.source.to_ascii_lowercase();
        for k in SUSPICIOUS {
            if contains_word(&lower, &k.to_ascii_lowercase()) {
                push_unique(&mut suspicious, k);
            }
        }
        for lib in API_LIBS {
            if lower.contains(&format!("lib \"{lib}")) && !api_libs.contains(lib) {
                api_libs.push(lib);
            }
        }
        chr_calls += ["chr(", "chrw(", "chrb(", "chr$(", "chrw$("]
            .iter()
            .map(|p| count_word(&lower, p))
            .sum::<usize>();
    }
    for lib in api_libs {
        suspicious.push(format!("Lib \"{lib}\""));
    }
    if chr_calls >= 10 {
        suspicious.push(format!("Chr() x{chr_calls}"));
    }
    if !autoexec.is_empty() {
        scan.add(
            &findings::VBA_AUTOEXEC,
            part,
            format!("auto-exec procedures: {}", autoexec.join(", ")),
        );
    }
    if !activex.is_empty() {
        scan.add(
            &findings::VBA_ACTIVEX_EVENT,
            part,
            format!("ActiveX event handlers: {}", activex.join(", ")),
        );
    }
    if suspicious.iter().any(|k| !WEAK.contains(&k.as_str())) {
        scan.add(
            &findings::VBA_SUSPICIOUS,
            part,
            format!("keywords: {}", suspicious.join(", ")),
        );
    }
    // Per module: empty modules compile to 0.7-2.4 KB of p-code in the corpus; several KB with no
    // source line left means the source was wiped (EvilClippy-style stomping).
    let stomped: Vec<String> = modules
        .iter()
        .filter(|m| m.pcode_len >= STOMPED_PCODE_MIN && code_line_count(&m.source) == 0)
        .map(|m| format!("{} ({} bytes of p-code)", m.name, m.pcode_len))
        .collect();
    if !stomped.is_empty() {
        scan.add(
            &findings::VBA_STOMPING,
            part,
            format!("compiled code without source: {}", stomped.join(", ")),
        );
    }
}

/// P-code bytes above which empty source means the source was removed (empty modules compile to less).
const STOMPED_PCODE_MIN: usize = 4096;

fn push_unique(v: &mut Vec<String>, s: &str) {
    if !v.iter().any(|x| x.eq_ignore_ascii_case(s)) {
        v.push(s.to_owned());
    }
}

fn ends_with_ignore_case(s: &str, suffix: &str) -> bool {
    s.len() >= suffix.len()
        && s.is_char_boundary(s.len() - suffix.len())
        && s[s.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
}

/// Names of the Sub/Function procedures declared in `source`.
pub(crate) fn procedure_names(source: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for line in source.lines() {
        let mut rest = line.trim_start();
        loop {
            let mut stripped = false;
            for kw in ["Public ", "Private ", "Friend ", "Static "] {
                if let Some(r) = strip_prefix_ignore_case(rest, kw) {
                    rest = r.trim_start();
                    stripped = true;
                }
            }
            if !stripped {
                break;
            }
        }
        let Some(after) = strip_prefix_ignore_case(rest, "Sub ")
            .or_else(|| strip_prefix_ignore_case(rest, "Function "))
        else {
            continue;
        };
        let name = after.trim_start();
        let end = name
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(name.len());
        if end > 0 {
            out.push(&name[..end]);
        }
    }
    out
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Whether `needle` (lower case) occurs in `hay` (lower case) as a whole word.
fn contains_word(hay: &str, needle: &str) -> bool {
    count_word_limit(hay, needle, 1) > 0
}

fn count_word(hay: &str, needle: &str) -> usize {
    count_word_limit(hay, needle, usize::MAX)
}

fn count_word_limit(hay: &str, needle: &str, limit: usize) -> usize {
    let h = hay.as_bytes();
    let n = needle.as_bytes();
    let (Some(&first), Some(&last)) = (n.first(), n.last()) else {
        return 0;
    };
    let mut count = 0;
    for at in memchr::memmem::find_iter(h, n) {
        let before_ok =
            !is_word_byte(first) || at == 0 || h.get(at - 1).is_none_or(|&b| !is_word_byte(b));
        let after_ok = !is_word_byte(last) || h.get(at + n.len()).is_none_or(|&b| !is_word_byte(b));
        if before_ok && after_ok {
            count += 1;
            if count >= limit {
                break;
            }
        }
    }
    count
}

/// Lines that are code: neither blank, nor comments, nor the `Attribute` lines every module starts with.
fn code_line_count(source: &str) -> usize {
    source
        .lines()
        .map(str::trim)
        .filter(|l| {
            !l.is_empty()
                && !l.starts_with('\'')
                && strip_prefix_ignore_case(l, "Attribute ").is_none()
                && strip_prefix_ignore_case(l, "Option ").is_none()
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn procedures_and_words() {
        let src = "Attribute VB_Name = \"x\"\r\nPrivate Sub Workbook_Open()\r\n  Shell \"calc\"\r\nEnd Sub\r\nPublic Function  helper_Click(a)\r\nEnd Function\r\n' Sub AutoOpen\r\n";
        assert_eq!(procedure_names(src), vec!["Workbook_Open", "helper_Click"]);
        let lower = src.to_ascii_lowercase();
        assert!(contains_word(&lower, "shell"));
        assert!(!contains_word(&lower, "she"));
        assert!(!contains_word("myshell x", "shell"));
        assert!(contains_word("x = chr(65)", "chr("));
        assert_eq!(code_line_count(src), 5);
    }
}
