//! Windows shortcuts (MS-SHLLINK): header, LinkTargetIDList, LinkInfo, StringData and the
//! environment-variable ExtraData block, parsed with bounds checks only.

use crate::bytes::{ansi, ansi_z, clip, u16le, u32le, utf16, utf16_z};
use crate::findings::{LNK_FILE, LNK_SUSPICIOUS_COMMAND};
use crate::sniff::LNK_MAGIC;
use fumidai_core::{FileInput, FileKind, FileReport, Scan};

const HAS_ID_LIST: u32 = 0x1;
const HAS_LINK_INFO: u32 = 0x2;
const HAS_NAME: u32 = 0x4;
const HAS_RELATIVE_PATH: u32 = 0x8;
const HAS_WORKING_DIR: u32 = 0x10;
const HAS_ARGUMENTS: u32 = 0x20;
const HAS_ICON_LOCATION: u32 = 0x40;
const IS_UNICODE: u32 = 0x80;

/// Items walked in a LinkTargetIDList and ExtraData blocks read: more is not a shortcut.
const MAX_ITEMS: usize = 256;
const MAX_PATH: u16 = 260;

/// What a shortcut points at and how it runs it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Lnk {
    pub flags: u32,
    /// Primary (short) names of the file-entry items of the LinkTargetIDList, in order.
    pub id_names: Vec<String>,
    /// The path built from the ID list (volume, then long names where present).
    pub id_path: Option<String>,
    pub local_base_path: Option<String>,
    pub net_name: Option<String>,
    pub device_name: Option<String>,
    pub common_path_suffix: Option<String>,
    pub name: Option<String>,
    pub relative_path: Option<String>,
    pub working_dir: Option<String>,
    pub arguments: Option<String>,
    pub icon_location: Option<String>,
    /// Target of the EnvironmentVariableDataBlock (Unicode when present, else ANSI).
    pub env_target: Option<String>,
    /// Structures that were truncated or inconsistent.
    pub problems: Vec<&'static str>,
}

impl Lnk {
    /// The best guess of what runs: LinkInfo path, environment target, ID-list path, relative path.
    pub fn target(&self) -> Option<String> {
        if let Some(base) = self.local_base_path.as_deref().filter(|s| !s.is_empty()) {
            let suffix = self.common_path_suffix.as_deref().unwrap_or("");
            return Some(format!("{base}{suffix}"));
        }
        if let Some(net) = self.net_name.as_deref().filter(|s| !s.is_empty()) {
            let suffix = self.common_path_suffix.as_deref().unwrap_or("");
            return Some(if suffix.is_empty() {
                net.to_owned()
            } else {
                format!("{net}\\{suffix}")
            });
        }
        self.env_target
            .clone()
            .filter(|s| !s.is_empty())
            .or_else(|| self.id_path.clone())
            .or_else(|| self.relative_path.clone())
    }
}

/// Where a StringData field is stored in [`Lnk`].
type StringField = fn(&mut Lnk) -> &mut Option<String>;

/// Whether `d` starts like a shortcut.
pub fn is_lnk(d: &[u8]) -> bool {
    d.starts_with(&LNK_MAGIC)
}

/// Parses a shortcut. `None` when the header is not a shell link; otherwise whatever could be read.
pub fn parse(d: &[u8]) -> Option<Lnk> {
    if !is_lnk(d) {
        return None;
    }
    let mut l = Lnk {
        flags: u32le(d, 20)?,
        ..Lnk::default()
    };
    let mut off: usize = 0x4C;
    if l.flags & HAS_ID_LIST != 0 {
        let Some(size) = u16le(d, off) else {
            l.problems.push("truncated LinkTargetIDList");
            return Some(l);
        };
        let list = d
            .get(off + 2..(off + 2 + size as usize).min(d.len()))
            .unwrap_or(&[]);
        if list.len() < size as usize {
            l.problems.push("truncated LinkTargetIDList");
        }
        walk_id_list(list, &mut l);
        off = off + 2 + size as usize;
    }
    if l.flags & HAS_LINK_INFO != 0 {
        match u32le(d, off) {
            Some(size) if size >= 0x1C => {
                let end = off.saturating_add(size as usize).min(d.len());
                let info = d.get(off..end).unwrap_or(&[]);
                if info.len() < size as usize {
                    l.problems.push("truncated LinkInfo");
                }
                read_link_info(info, &mut l);
                off = off.saturating_add(size as usize);
            }
            Some(size) => {
                l.problems.push("broken LinkInfo size");
                off = off.saturating_add(size.max(4) as usize);
            }
            None => l.problems.push("truncated LinkInfo"),
        }
    }
    let unicode = l.flags & IS_UNICODE != 0;
    let fields: [(u32, StringField); 5] = [
        (HAS_NAME, |l| &mut l.name),
        (HAS_RELATIVE_PATH, |l| &mut l.relative_path),
        (HAS_WORKING_DIR, |l| &mut l.working_dir),
        (HAS_ARGUMENTS, |l| &mut l.arguments),
        (HAS_ICON_LOCATION, |l| &mut l.icon_location),
    ];
    for (flag, field) in fields {
        if l.flags & flag == 0 {
            continue;
        }
        let Some(count) = u16le(d, off) else {
            l.problems.push("truncated StringData");
            return Some(l);
        };
        // Windows reads path fields as at most MAX_PATH characters whatever the count says; droppers
        // overstate the count of a whitespace-padded working directory to hide the arguments after it.
        let count = if flag != HAS_ARGUMENTS && flag != HAS_NAME && count > MAX_PATH {
            l.problems.push("oversized StringData count");
            MAX_PATH
        } else {
            count
        };
        let bytes = count as usize * if unicode { 2 } else { 1 };
        let start = off + 2;
        let raw = d.get(start..(start + bytes).min(d.len())).unwrap_or(&[]);
        if raw.len() < bytes {
            l.problems.push("truncated StringData");
        }
        *field(&mut l) = Some(if unicode { utf16(raw) } else { ansi(raw) });
        off = start + bytes;
    }
    read_extra_data(d.get(off..).unwrap_or(&[]), &mut l);
    Some(l)
}

fn walk_id_list(list: &[u8], l: &mut Lnk) {
    let mut pos = 0usize;
    let mut volume: Option<String> = None;
    let mut parts: Vec<String> = Vec::new();
    for _ in 0..MAX_ITEMS {
        let Some(size) = u16le(list, pos) else { break };
        if size == 0 {
            break;
        }
        let Some(item) = list.get(pos..pos + size as usize) else {
            l.problems.push("truncated ItemID");
            break;
        };
        pos += size as usize;
        let Some(&class) = item.get(2) else { continue };
        match class & 0x70 {
            0x20 => {
                // Volume item: drive letter string such as "C:\".
                if let Some(v) = ansi_z(item, 3).filter(|v| v.len() <= 3 && v.ends_with('\\')) {
                    volume = Some(v);
                }
            }
            0x30 => {
                if let Some((short, long)) = file_entry_names(item, class) {
                    parts.push(long.clone().unwrap_or_else(|| short.clone()));
                    l.id_names.push(short);
                }
            }
            _ => {}
        }
    }
    if !parts.is_empty() {
        l.id_path = Some(format!(
            "{}{}",
            volume.unwrap_or_default(),
            parts.join("\\")
        ));
    }
}

/// Primary name and (from the 0xBEEF0004 extension block) long name of a file-entry shell item.
fn file_entry_names(item: &[u8], class: u8) -> Option<(String, Option<String>)> {
    let unicode = class & 0x04 != 0;
    let (short, mut next) = if unicode {
        let s = utf16_z(item, 14)?;
        (s.clone(), 14 + (s.encode_utf16().count() + 1) * 2)
    } else {
        let rest = item.get(14..)?;
        let n = memchr::memchr(0, rest).unwrap_or(rest.len());
        (ansi(rest.get(..n)?), 14 + n + 1)
    };
    if short.is_empty() {
        return None;
    }
    next += next & 1; // extension blocks are 2-byte aligned
    let long = (|| {
        let size = u16le(item, next)? as usize;
        let version = u16le(item, next + 2)?;
        if u32le(item, next + 4)? != 0xBEEF_0004 {
            return None;
        }
        let block = item.get(next..next + size)?;
        let mut name_off = 18usize;
        if version >= 7 {
            name_off += 18;
        }
        if version >= 3 {
            name_off += 2;
        }
        if version >= 9 {
            name_off += 4;
        }
        if version >= 8 {
            name_off += 4;
        }
        utf16_z(block, name_off).filter(|s| !s.is_empty() && !s.contains('\u{FFFD}'))
    })();
    Some((short, long))
}

fn read_link_info(info: &[u8], l: &mut Lnk) {
    let (Some(header), Some(flags)) = (u32le(info, 4), u32le(info, 8)) else {
        return;
    };
    let at = |field: usize| u32le(info, field).map(|v| v as usize).filter(|&v| v != 0);
    let unicode_fields = header >= 0x24;
    if flags & 1 != 0 {
        let uni = if unicode_fields { at(0x1C) } else { None };
        l.local_base_path = match uni {
            Some(o) => utf16_z(info, o),
            None => at(0x10).and_then(|o| ansi_z(info, o)),
        };
    }
    if flags & 2 != 0 {
        if let Some(cnrl_off) = at(0x14) {
            let cnrl = info.get(cnrl_off..).unwrap_or(&[]);
            let size = u32le(cnrl, 0).unwrap_or(0) as usize;
            let cnrl = cnrl.get(..size.min(cnrl.len())).unwrap_or(&[]);
            let cflags = u32le(cnrl, 4).unwrap_or(0);
            let net_off = u32le(cnrl, 8).unwrap_or(0) as usize;
            let dev_off = u32le(cnrl, 12).unwrap_or(0) as usize;
            let uni = net_off > 0x14;
            l.net_name = match u32le(cnrl, 0x14).filter(|&o| uni && o != 0) {
                Some(o) => utf16_z(cnrl, o as usize),
                None => ansi_z(cnrl, net_off),
            };
            if cflags & 1 != 0 {
                l.device_name = match u32le(cnrl, 0x18).filter(|&o| uni && o != 0) {
                    Some(o) => utf16_z(cnrl, o as usize),
                    None => ansi_z(cnrl, dev_off),
                };
            }
        }
    }
    let uni_suffix = if unicode_fields { at(0x20) } else { None };
    l.common_path_suffix = match uni_suffix {
        Some(o) => utf16_z(info, o),
        None => at(0x18).and_then(|o| ansi_z(info, o)),
    };
}

fn read_extra_data(mut d: &[u8], l: &mut Lnk) {
    for _ in 0..MAX_ITEMS {
        let Some(size) = u32le(d, 0) else { return };
        if size < 8 {
            return;
        }
        let Some(block) = d.get(..size as usize) else {
            l.problems.push("truncated ExtraData block");
            return;
        };
        if u32le(block, 4) == Some(0xA000_0001) {
            let uni = block
                .get(268..788)
                .and_then(|b| utf16_z(b, 0))
                .filter(|s| !s.is_empty());
            l.env_target = uni.or_else(|| block.get(8..268).and_then(|b| ansi_z(b, 0)));
        }
        d = d.get(size as usize..).unwrap_or(&[]);
    }
}

/// Programs that shortcuts abuse to run code.
const LOLBINS: &[&str] = &[
    "powershell",
    "pwsh",
    "cmd.exe",
    "mshta",
    "wscript",
    "cscript",
    "rundll32",
    "regsvr32",
    "certutil",
    "bitsadmin",
    "curl",
    "msiexec",
    "forfiles",
    "conhost",
    "schtasks",
    "wmic",
    "hh.exe",
    "explorer.exe",
];
/// Argument markers of download, encoded or hidden execution.
const MARKERS: &[&str] = &[
    "-enc",
    "-e ",
    "-ec ",
    "iex",
    "invoke-expression",
    "downloadstring",
    "downloadfile",
    "invoke-webrequest",
    "frombase64string",
    "http:",
    "https:",
    "-w hidden",
    "-windowstyle hidden",
    "-nop",
    "/c ",
    "/k ",
    "\\\\",
    "%temp%",
    "%appdata%",
    "javascript:",
    "vbscript:",
    ".hta",
    ".vbs",
    ".js",
    "-urlcache",
    "/transfer",
];

/// Why a shortcut's command looks malicious, if it does.
pub fn suspicious_reasons(l: &Lnk) -> Vec<String> {
    let target = l.target().unwrap_or_default().to_ascii_lowercase();
    let args = l.arguments.as_deref().unwrap_or("").to_ascii_lowercase();
    let both = format!("{target} {args}");
    let mut reasons = Vec::new();
    let bins: Vec<&str> = LOLBINS
        .iter()
        .copied()
        .filter(|b| both.contains(b))
        .collect();
    let marks: Vec<&str> = MARKERS
        .iter()
        .copied()
        .filter(|m| args.contains(m))
        .collect();
    if !bins.is_empty() && !marks.is_empty() {
        reasons.push(format!(
            "runs {} with {}",
            bins.join("/"),
            marks.join(" ").trim()
        ));
    }
    let padded = |s: Option<&str>| {
        let s = s.unwrap_or("");
        let mut run = 0usize;
        let mut max = 0usize;
        for c in s.chars() {
            if c.is_whitespace() {
                run += 1;
                max = max.max(run);
            } else {
                run = 0;
            }
        }
        max >= 30
    };
    if padded(l.arguments.as_deref()) {
        reasons.push("arguments padded with whitespace".to_owned());
    }
    if padded(l.working_dir.as_deref()) {
        reasons.push(
            "working directory padded with whitespace to push the command out of view".to_owned(),
        );
    }
    if l.arguments.as_deref().is_some_and(|a| a.len() > 1024) {
        reasons.push(format!(
            "{} characters of arguments",
            l.arguments.as_deref().unwrap_or("").len()
        ));
    }
    reasons
}

pub fn inspect(scan: &mut Scan<'_>, input: &FileInput<'_>, report: &mut FileReport) {
    let Some(l) = parse(input.data) else {
        scan.add(
            &fumidai_core::findings::UNINSPECTABLE,
            &input.part,
            "not a shell link header",
        );
        return;
    };
    report.detected_type = FileKind::Lnk;
    let mut detail = format!(
        "target: {}",
        clip(&l.target().unwrap_or_else(|| "(unknown)".into()), 200)
    );
    let opt = |label: &str, v: &Option<String>| match v
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(s) => format!("; {label}: {}", clip(s, 300)),
        None => String::new(),
    };
    detail.push_str(&opt("arguments", &l.arguments));
    detail.push_str(&opt("working dir", &l.working_dir));
    detail.push_str(&opt("icon", &l.icon_location));
    if !l.problems.is_empty() {
        detail.push_str(&format!("; malformed: {}", l.problems.join(", ")));
    }
    scan.add(&LNK_FILE, &input.part, detail);
    let reasons = suspicious_reasons(&l);
    if !reasons.is_empty() {
        scan.add(&LNK_SUSPICIOUS_COMMAND, &input.part, reasons.join("; "));
    }
}
