//! `\x01Ole10Native` streams: the "OLE Package" object that wraps any file (often a script or a shortcut)
//! inside a document (MS-OLEDS 2.3.6 and the Packager format as oletools reads it).

/// An embedded file from a package object.
#[derive(Debug)]
pub(crate) struct Package<'d> {
    pub label: String,
    pub source_path: String,
    pub temp_path: String,
    pub data: &'d [u8],
    /// A link to a file (`source_path`) rather than an embedded copy.
    pub link: bool,
}

impl Package<'_> {
    /// The best name for the embedded file: the base name of its paths, else the label.
    pub fn file_name(&self) -> String {
        for p in [&self.source_path, &self.temp_path, &self.label] {
            let base = p.rsplit(['\\', '/']).next().unwrap_or("").trim();
            if !base.is_empty() {
                return base.to_owned();
            }
        }
        String::new()
    }
}

fn read_u32(d: &[u8], pos: &mut usize) -> Option<u32> {
    let b = d.get(*pos..pos.checked_add(4)?)?;
    *pos += 4;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

fn read_cstr(d: &[u8], pos: &mut usize, max: usize) -> Option<String> {
    let rest = d.get(*pos..)?;
    let end = memchr::memchr(0, rest.get(..rest.len().min(max))?)?;
    *pos += end + 1;
    Some(rest.get(..end)?.iter().map(|&c| char::from(c)).collect())
}

/// The Packager's object type for a link to a file (3 is an embedded file).
const LINK: u32 = 1;

/// Parses a `\x01Ole10Native` stream. Without a package header (some objects store raw data here),
/// the whole stream after the size is the payload.
pub(crate) fn parse(stream: &[u8]) -> Option<Package<'_>> {
    let mut pos = 0usize;
    let total = read_u32(stream, &mut pos)? as usize;
    let body_end = 4usize.saturating_add(total).min(stream.len());
    let body = stream.get(..body_end)?;
    let packaged = (|| {
        let mut p = pos + 2; // flags
        let label = read_cstr(body, &mut p, 4096)?;
        let source_path = read_cstr(body, &mut p, 4096)?;
        let reserved_and_type = read_u32(body, &mut p)?;
        if reserved_and_type >> 16 == LINK {
            // A link package embeds no file, only where it points (`calc.exe` → C:\Windows\System32\calc.exe):
            // what it would run is in its names.
            return Some(Package {
                label,
                source_path,
                temp_path: String::new(),
                data: &[],
                link: true,
            });
        }
        let _ = read_u32(body, &mut p)?; // temp path length
        let temp_path = read_cstr(body, &mut p, 4096)?;
        let size = read_u32(body, &mut p)? as usize;
        let data = body.get(p..p.saturating_add(size).min(body.len()))?;
        Some(Package {
            label,
            source_path,
            temp_path,
            data,
            link: false,
        })
    })();
    packaged.or_else(|| {
        Some(Package {
            label: String::new(),
            source_path: String::new(),
            temp_path: String::new(),
            data: body.get(4..)?,
            link: false,
        })
    })
}

/// Extensions of files that run code when opened.
pub(crate) const EXECUTABLE_EXTENSIONS: &[&str] = &[
    "lnk", "exe", "js", "jse", "vbs", "vbe", "bat", "cmd", "ps1", "psm1", "hta", "scr", "pif",
    "com", "cpl", "wsf", "wsh", "wsc", "msi", "jar", "dll", "reg", "url", "inf", "sct", "chm",
    "iso", "img", "vhd", "one",
];

/// Whether a file name ends in an executable extension.
pub(crate) fn is_executable_name(name: &str) -> bool {
    let name = name.trim_end_matches([' ', '.', '\0']);
    match name.rsplit_once('.') {
        Some((_, ext)) => EXECUTABLE_EXTENSIONS
            .iter()
            .any(|e| e.eq_ignore_ascii_case(ext)),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_package() {
        let mut body = vec![2u8, 0];
        body.extend(b"a.lnk\0C:\\x\\a.lnk\0");
        body.extend([0, 0, 3, 0]);
        body.extend(12u32.to_le_bytes());
        body.extend(b"C:\\t\\a.lnk\0");
        body.extend(3u32.to_le_bytes());
        body.extend(b"LNK");
        let mut s = (body.len() as u32).to_le_bytes().to_vec();
        s.extend(&body);
        let p = parse(&s).unwrap();
        assert_eq!(p.file_name(), "a.lnk");
        assert_eq!(p.data, b"LNK");
        assert!(is_executable_name(&p.file_name()));
        assert!(!is_executable_name("report.pdf"));
        for n in 0..s.len() {
            let _ = parse(&s[..n]);
        }
    }

    /// The stream of oletools' sample_with_lnk_to_calc.doc: a link package, no embedded file.
    #[test]
    fn parses_link_package() {
        let s = b"K\x00\x00\x00\x02\x00calc.exe\x00C:\\Windows\\System32\\calc.exe\x00\x00\x00\x01\x00\x01\x00C:\\Windows\\System32\\calc.exe\x00";
        let p = parse(s).unwrap();
        assert_eq!(p.file_name(), "calc.exe");
        assert_eq!(p.source_path, "C:\\Windows\\System32\\calc.exe");
        assert!(p.link && p.data.is_empty());
        assert!(is_executable_name(&p.file_name()));
    }
}
