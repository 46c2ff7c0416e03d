//! Names of the built-in functions (Ftab, MS-XLS 2.5.198.17) and macro commands (Cetab,
//! 2.5.198.5) that matter for XLM triage. Ids not listed here are reported by number only when
//! needed; the table is deliberately partial (spreadsheet maths is of no interest).

/// Built-in function ids (`PtgFunc`/`PtgFuncVar` with fCeFunc clear).
const FTAB: &[(u16, &str)] = &[
    (0x0001, "IF"),
    (0x0004, "SUM"),
    (0x001D, "INDEX"),
    (0x001F, "MID"),
    (0x0035, "GOTO"),
    (0x0036, "HALT"),
    (0x0037, "RETURN"),
    (0x0054, "ERROR"),
    (0x0058, "SET.NAME"),
    (0x005E, "ACTIVE.CELL"),
    (0x0068, "INPUT"),
    (0x006A, "GET.FORMULA"),
    (0x006B, "GET.NAME"),
    (0x006C, "SET.VALUE"),
    (0x006E, "EXEC"),
    (0x006F, "CHAR"),
    (0x0073, "LEFT"),
    (0x0074, "RIGHT"),
    (0x0078, "SUBSTITUTE"),
    (0x0079, "CODE"),
    (0x007B, "DIRECTORY"),
    (0x0084, "FOPEN"),
    (0x0085, "FCLOSE"),
    (0x0086, "FSIZE"),
    (0x0087, "FREADLN"),
    (0x0088, "FREAD"),
    (0x0089, "FWRITELN"),
    (0x008A, "FWRITE"),
    (0x0094, "INDIRECT"),
    (0x0095, "REGISTER"),
    (0x0096, "CALL"),
    (0x00A6, "FILES"),
    (0x00AB, "FOR"),
    (0x00AC, "WHILE"),
    (0x00AE, "NEXT"),
    (0x00AF, "INITIATE"),
    (0x00B0, "REQUEST"),
    (0x00B1, "POKE"),
    (0x00B2, "EXECUTE"),
    (0x00B3, "TERMINATE"),
    (0x00B9, "GET.CELL"),
    (0x00BA, "GET.WORKSPACE"),
    (0x00BB, "GET.WINDOW"),
    (0x00BC, "GET.DOCUMENT"),
    (0x00C9, "UNREGISTER"),
    (0x00DF, "ELSE"),
    (0x00E0, "ELSE.IF"),
    (0x00E1, "END.IF"),
    (0x00E2, "FOR.CELL"),
    (0x00EC, "CREATE.OBJECT"),
    (0x00F6, "GET.OBJECT"),
    (0x0101, "EVALUATE"),
    (0x010B, "REGISTER.ID"),
    (0x010C, "GET.WORKBOOK"),
    (0x0150, "CONCATENATE"),
];

/// Command-equivalent ids (`PtgFuncVar` with fCeFunc set).
const CETAB: &[(u16, &str)] = &[
    (0x0001, "OPEN"),
    (0x0005, "SAVE.AS"),
    (0x0006, "FILE.DELETE"),
    (0x000A, "QUIT"),
    (0x0010, "CLOSE"),
    (0x0011, "RUN"),
    (0x003D, "DEFINE.NAME"),
    (0x005D, "HIDE"),
    (0x005E, "UNHIDE"),
    (0x0060, "FORMULA"),
    (0x0061, "FORMULA.FILL"),
    (0x0062, "FORMULA.ARRAY"),
    (0x006D, "SELECT"),
    (0x0076, "ALERT"),
    (0x007A, "MESSAGE"),
    (0x007D, "APP.ACTIVATE"),
    (0x0083, "SEND.KEYS"),
    (0x0094, "ON.TIME"),
    (0x0095, "WAIT"),
    (0x00A8, "ON.KEY"),
    (0x00AC, "APP.MINIMIZE"),
    (0x00AD, "APP.MAXIMIZE"),
    (0x0117, "ON.DOUBLECLICK"),
    (0x0118, "ON.ENTRY"),
    (0x017F, "WORKBOOK.HIDE"),
    (0x0180, "WORKBOOK.UNHIDE"),
    (0x01C8, "SAVE.COPY.AS"),
    (0x01D7, "ON.SHEET"),
];

/// The name of function `id` (`ce` for command equivalents), if it is one we track.
pub(crate) fn name(id: u16, ce: bool) -> Option<&'static str> {
    let table = if ce { CETAB } else { FTAB };
    table
        .binary_search_by_key(&id, |(k, _)| *k)
        .ok()
        .and_then(|i| table.get(i))
        .map(|(_, n)| *n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_and_known_ids_resolve() {
        assert!(FTAB.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(CETAB.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(name(110, false), Some("EXEC"));
        assert_eq!(name(150, false), Some("CALL"));
        assert_eq!(name(149, false), Some("REGISTER"));
        assert_eq!(name(0x76, true), Some("ALERT"));
        assert_eq!(name(0x11, true), Some("RUN"));
        assert_eq!(name(0x2000, false), None);
    }
}
