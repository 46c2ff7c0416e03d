//! The operator's organisation directory, a CSV file in one of two shapes told apart by the header:
//!
//! - `domain,name,industry,contact`: one organisation a row (`industry`, a JSIC division letter, and `contact`,
//!   an address for notices, may be left out as columns or left empty);
//! - `industry,enterprises`: how many enterprises each JSIC division has, for rates in the statistics.
//!
//! Columns may come in any order; a UTF-8 byte-order mark and Shift_JIS (what Excel writes in Japan) are
//! accepted; lines starting with `#` are comments. Every error names its line.

use std::collections::HashMap;
use std::io::Read;

use crate::jsic;
use crate::{IndustryEnterprises, Organisation};

/// What a directory file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Directory {
    Organisations(Vec<Organisation>),
    Enterprises(Vec<IndustryEnterprises>),
}

#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error("reading the directory: {0}")]
    Io(#[from] std::io::Error),
    #[error("the directory is empty")]
    Empty,
    #[error("line {line}: {message}")]
    Line { line: u64, message: String },
}

fn line_error(line: u64, message: impl Into<String>) -> DirectoryError {
    DirectoryError::Line {
        line,
        message: message.into(),
    }
}

pub fn parse_directory(mut reader: impl Read) -> Result<Directory, DirectoryError> {
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes)?;
    let text = decode(&bytes);
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .comment(Some(b'#'))
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut records = csv.records();
    let header = match records.next() {
        Some(record) => record.map_err(csv_error)?,
        None => return Err(DirectoryError::Empty),
    };
    let header_line = line_of(&header);
    let names: Vec<String> = header.iter().map(|h| h.to_ascii_lowercase()).collect();
    let column = |name: &str| names.iter().position(|n| n == name);
    let rows = records.map(|r| r.map_err(csv_error));
    if let Some(domain) = column("domain") {
        let name = column("name")
            .ok_or_else(|| line_error(header_line, "a `domain` header needs a `name` column"))?;
        let columns = OrganisationColumns {
            domain,
            name,
            industry: column("industry"),
            contact: column("contact"),
        };
        check_known(
            &names,
            &["domain", "name", "industry", "contact"],
            header_line,
        )?;
        organisations(rows, &columns).map(Directory::Organisations)
    } else if let (Some(industry), Some(enterprises)) = (column("industry"), column("enterprises"))
    {
        check_known(&names, &["industry", "enterprises"], header_line)?;
        enterprise_counts(rows, industry, enterprises).map(Directory::Enterprises)
    } else {
        Err(line_error(
            header_line,
            "the header must be `domain,name,industry,contact` (organisations) or `industry,enterprises` (enterprise counts)",
        ))
    }
}

/// UTF-8 (a byte-order mark dropped), else Shift_JIS as Windows writes it.
fn decode(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(_) => encoding_rs::SHIFT_JIS.decode(bytes).0.into_owned(),
    }
}

fn csv_error(e: csv::Error) -> DirectoryError {
    let line = e.position().map_or(0, |p| p.line());
    let message = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("{len} fields where the header has {expected_len}"),
        _ => e.to_string(),
    };
    line_error(line, message)
}

fn line_of(record: &csv::StringRecord) -> u64 {
    record.position().map_or(0, |p| p.line())
}

fn check_known(names: &[String], known: &[&str], line: u64) -> Result<(), DirectoryError> {
    if let Some(unknown) = names.iter().find(|n| !known.contains(&n.as_str())) {
        return Err(line_error(
            line,
            format!("unknown column {unknown:?} (expected {})", known.join(", ")),
        ));
    }
    let mut seen = Vec::new();
    for n in names {
        if seen.contains(&n) {
            return Err(line_error(line, format!("column {n:?} appears twice")));
        }
        seen.push(n);
    }
    Ok(())
}

struct OrganisationColumns {
    domain: usize,
    name: usize,
    industry: Option<usize>,
    contact: Option<usize>,
}

fn organisations(
    rows: impl Iterator<Item = Result<csv::StringRecord, DirectoryError>>,
    columns: &OrganisationColumns,
) -> Result<Vec<Organisation>, DirectoryError> {
    let mut out: Vec<Organisation> = Vec::new();
    let mut lines: HashMap<String, u64> = HashMap::new();
    for row in rows {
        let row = row?;
        let line = line_of(&row);
        let cell = |i: Option<usize>| i.and_then(|i| row.get(i)).filter(|c| !c.is_empty());
        let domain = cell(Some(columns.domain))
            .ok_or_else(|| line_error(line, "the domain is empty"))
            .and_then(|d| domain_name(d).map_err(|m| line_error(line, m)))?;
        let name = cell(Some(columns.name))
            .ok_or_else(|| line_error(line, format!("{domain}: the name is empty")))?;
        if name.chars().any(char::is_control) {
            return Err(line_error(line, "the name holds control characters"));
        }
        let industry = match cell(columns.industry) {
            Some(letter) => Some(
                jsic::division(letter)
                    .ok_or_else(|| {
                        line_error(
                            line,
                            format!("industry {letter:?} is not a JSIC division letter (A to T)"),
                        )
                    })?
                    .letter
                    .to_string(),
            ),
            None => None,
        };
        let contact = match cell(columns.contact) {
            Some(address) if is_address(address) => Some(address.to_owned()),
            Some(address) => {
                return Err(line_error(
                    line,
                    format!("contact {address:?} is not a mail address"),
                ))
            }
            None => None,
        };
        if let Some(first) = lines.insert(domain.clone(), line) {
            return Err(line_error(
                line,
                format!("{domain} is already on line {first}"),
            ));
        }
        out.push(Organisation {
            domain,
            name: name.to_owned(),
            industry,
            contact,
        });
    }
    Ok(out)
}

fn enterprise_counts(
    rows: impl Iterator<Item = Result<csv::StringRecord, DirectoryError>>,
    industry: usize,
    enterprises: usize,
) -> Result<Vec<IndustryEnterprises>, DirectoryError> {
    let mut out: Vec<IndustryEnterprises> = Vec::new();
    let mut lines: HashMap<char, u64> = HashMap::new();
    for row in rows {
        let row = row?;
        let line = line_of(&row);
        let letter = row.get(industry).unwrap_or_default();
        let division = jsic::division(letter).ok_or_else(|| {
            line_error(
                line,
                format!("industry {letter:?} is not a JSIC division letter (A to T)"),
            )
        })?;
        let count = row.get(enterprises).unwrap_or_default();
        let count: u64 = count.parse().map_err(|_| {
            line_error(line, format!("enterprises {count:?} is not a whole number"))
        })?;
        if let Some(first) = lines.insert(division.letter, line) {
            return Err(line_error(
                line,
                format!("industry {} is already on line {first}", division.letter),
            ));
        }
        out.push(IndustryEnterprises {
            industry: division.letter.to_string(),
            enterprises: count,
        });
    }
    Ok(out)
}

/// A registrable domain as the store keeps it: lower-case, IDNA-encoded, with at least one dot.
fn domain_name(text: &str) -> Result<String, String> {
    let ascii = idna::domain_to_ascii(text.trim_end_matches('.'))
        .map_err(|_| format!("{text:?} is not a domain name"))?;
    let labels_ok = ascii.split('.').all(|l| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    });
    if !labels_ok || !ascii.contains('.') || ascii.len() > 253 {
        return Err(format!("{text:?} is not a domain name"));
    }
    Ok(ascii)
}

/// `local@domain` with nothing in it that could break a header (spaces, commas, angle brackets, controls).
pub(crate) fn is_address(text: &str) -> bool {
    let Some((local, domain)) = text.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && text.len() <= 254
        && domain_name(domain).is_ok()
        && !text
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || "<>,;\"()[]\\".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Directory, DirectoryError> {
        parse_directory(text.as_bytes())
    }

    fn organisations_of(text: &str) -> Vec<Organisation> {
        match parse(text) {
            Ok(Directory::Organisations(o)) => o,
            other => panic!("expected organisations, got {other:?}"),
        }
    }

    fn error_of(text: &str) -> String {
        match parse(text) {
            Err(e) => e.to_string(),
            Ok(d) => panic!("expected an error, got {d:?}"),
        }
    }

    #[test]
    fn organisations_with_optional_cells() {
        let orgs = organisations_of(
            "\u{feff}domain,name,industry,contact\n\
             Example.CO.JP,株式会社例,e,csirt@example.co.jp\n\
             # a comment\n\
             build.example,\"Build, Inc.\",,\n\
             例え.jp,例え商事,I,\n",
        );
        assert_eq!(orgs.len(), 3);
        assert_eq!(orgs[0].domain, "example.co.jp");
        assert_eq!(orgs[0].industry.as_deref(), Some("E"));
        assert_eq!(orgs[0].contact.as_deref(), Some("csirt@example.co.jp"));
        assert_eq!(orgs[1].name, "Build, Inc.");
        assert_eq!(orgs[1].industry, None);
        assert_eq!(orgs[1].contact, None);
        assert_eq!(orgs[2].domain, "xn--r8jz45g.jp");
    }

    #[test]
    fn optional_columns_may_be_missing_and_reordered() {
        let orgs = organisations_of("name,domain\nA社,a.example\n");
        assert_eq!(orgs[0].domain, "a.example");
        assert_eq!(orgs[0].name, "A社");
    }

    #[test]
    fn shift_jis_is_decoded() {
        let (bytes, _, _) =
            encoding_rs::SHIFT_JIS.encode("domain,name,industry\nb.example,建設株式会社,D\n");
        match parse_directory(&bytes[..]) {
            Ok(Directory::Organisations(o)) => assert_eq!(o[0].name, "建設株式会社"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn enterprise_counts_by_header() {
        match parse("industry,enterprises\nE,384495\nd,430727\n") {
            Ok(Directory::Enterprises(rows)) => {
                assert_eq!(rows[1].industry, "D");
                assert_eq!(rows[0].enterprises, 384_495);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn errors_name_their_line() {
        let bad_industry = error_of("domain,name,industry\na.example,A,E\nb.example,B,Z\n");
        assert!(bad_industry.starts_with("line 3:"), "{bad_industry}");
        assert!(bad_industry.contains("\"Z\""), "{bad_industry}");
        let duplicate = error_of("domain,name\na.example,A\nb.example,B\nA.example,A2\n");
        assert_eq!(duplicate, "line 4: a.example is already on line 2");
        let short = error_of("domain,name,contact\na.example,A\n");
        assert!(
            short.starts_with("line 2: 2 fields where the header has 3"),
            "{short}"
        );
        let contact = error_of("domain,name,contact\na.example,A,\"x@a.example, y@a.example\"\n");
        assert!(contact.starts_with("line 2: contact"), "{contact}");
        let domain = error_of("domain,name\nnot a domain,A\n");
        assert!(domain.starts_with("line 2:"), "{domain}");
        let no_dot = error_of("domain,name\nlocalhost,A\n");
        assert!(no_dot.starts_with("line 2:"), "{no_dot}");
        let count = error_of("industry,enterprises\nE,many\n");
        assert!(count.starts_with("line 2: enterprises \"many\""), "{count}");
        let header = error_of("org,label\n");
        assert!(header.starts_with("line 1: the header must be"), "{header}");
        let unknown = error_of("domain,name,phone\n");
        assert!(unknown.contains("unknown column \"phone\""), "{unknown}");
        assert_eq!(error_of(""), "the directory is empty");
        assert_eq!(error_of("# only a comment\n"), "the directory is empty");
    }
}
