//! SYLK (.slk) files: `ID;P` text records. `C;...;E<formula>` cells, `O;...;E` (the sheet is a
//! macro sheet) and `NN;N<name>;E<expr>` names carry XLM as plain text.

use crate::evidence::{clean, is_auto_open_name, Evidence};
use fumidai_core::Scan;

/// Functions that only a macro sheet can run: a SYLK formula calling one is XLM even without `O;E`.
const MACRO_ONLY: &[&str] = &[
    "EXEC",
    "CALL",
    "REGISTER",
    "REGISTER.ID",
    "HALT",
    "ALERT",
    "RUN",
    "FORMULA",
    "FORMULA.FILL",
    "FORMULA.ARRAY",
    "GOTO",
    "RETURN",
    "FOPEN",
    "FWRITE",
    "FWRITELN",
    "FREAD",
    "FCLOSE",
    "SET.VALUE",
    "SET.NAME",
    "GET.WORKSPACE",
    "GET.WINDOW",
    "GET.DOCUMENT",
    "GET.CELL",
    "ON.TIME",
    "WAIT",
    "EXECUTE",
    "INITIATE",
    "SEND.KEYS",
    "FILE.DELETE",
];

/// Splits a SYLK record into fields: `;` separates, `;;` is a literal semicolon.
fn fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c == ';' {
            if chars.peek() == Some(&';') {
                chars.next();
                cur.push(';');
            } else {
                out.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push(c);
        }
        if out.len() > 256 {
            break;
        }
    }
    out.push(cur);
    out
}

/// Reads a SYLK file into evidence.
pub(crate) fn scan_text(scan: &mut Scan<'_>, part: &str, data: &[u8]) -> Evidence {
    let text = String::from_utf8_lossy(data);
    let mut ev = Evidence::default();
    let mut macro_option = false;
    for (n, line) in text.lines().enumerate() {
        if n % 4096 == 4095 && !scan.within_time(part) {
            break;
        }
        let f = fields(line.trim_end_matches('\r'));
        let Some(kind) = f.first() else { continue };
        match kind.as_str() {
            "C" => {
                for field in f.iter().skip(1) {
                    if let Some(formula) = field.strip_prefix('E') {
                        ev.add_formula_text(formula);
                    } else if let Some(value) = field.strip_prefix('K') {
                        ev.add_string(value.trim_matches('"'));
                    }
                }
            }
            "O" => macro_option |= f.iter().skip(1).any(|x| x == "E"),
            "NN" => {
                let name = f
                    .iter()
                    .skip(1)
                    .find_map(|x| x.strip_prefix('N'))
                    .unwrap_or("");
                if is_auto_open_name(name) {
                    ev.add_auto_open(format!("SYLK name '{}'", clean(name)));
                }
            }
            _ => {}
        }
    }
    if macro_option {
        ev.add_marker("SYLK macro sheet (O;E record)");
    }
    let called: Vec<String> = ev
        .functions
        .iter()
        .filter(|f| MACRO_ONLY.contains(&f.as_str()))
        .cloned()
        .collect();
    if !called.is_empty() {
        ev.add_marker(format!(
            "SYLK formulas call macro-sheet functions {}",
            called.join(", ")
        ));
    }
    ev
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_keep_escaped_semicolons() {
        assert_eq!(
            fields("C;Y1;EEXEC(\"a;;b\")"),
            vec!["C", "Y1", "EEXEC(\"a;b\")"]
        );
    }

    #[test]
    fn plain_sylk_table_is_not_xlm() {
        let limits = fumidai_core::Limits::default();
        let mut scan = Scan::new(&limits, fumidai_core::hash_only);
        let ev = scan_text(
            &mut scan,
            "t.slk",
            b"ID;PWXL;N;E\r\nC;Y1;X1;K1\r\nC;Y2;X1;K2;ESUM(R1C1)\r\nE\r\n",
        );
        assert!(!ev.has_macro());
        assert!(ev.auto_open.is_empty());
        let ev = scan_text(&mut scan, "t.slk", b"ID;P\nC;Y1;X1;EEXEC(\"calc\")\nE\n");
        assert!(ev.has_macro());
    }
}
