//! `fumidai feeds`: threat feeds imported from files (URLhaus CSV exports, Feodo Tracker IP blocklists, as CSV or
//! plain text, gzipped or not) into the store, where the engine's feed check reads them. Never fetched here: the
//! operator (or a cron job) downloads the files.
//!
//! The format is told from the header comment: URLhaus's `# id,dateadded,url,url_status,...` and Feodo Tracker's
//! `# first_seen_utc,dst_ip,dst_port,...` column lists (columns are found by name, so older exports with other
//! columns work), or a comment naming Feodo Tracker above lines of bare addresses. Every file is read and checked
//! before anything is written: a file that is neither format, or a row that does not fit its format, is an error
//! naming the file and line, and nothing is imported.

use anyhow::{bail, Context};
use clap::Subcommand;
use fumidai_engine::feeds::normalize_url;
use fumidai_engine::Config;
use fumidai_history::import::time::{format_utc, parse_rfc3339};
use fumidai_store::{Indicator, IndicatorKind};
use serde::Serialize;
use std::io::Read;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[derive(Subcommand)]
pub enum FeedsCommand {
    /// Import URLhaus CSV exports (csv_recent, csv_online) and Feodo Tracker IP blocklists (ipblocklist.csv or
    /// the plain-text list), `.gz` too. Nothing is written unless every file reads cleanly.
    Import {
        /// The exported files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The files are full snapshots: each source's indicators not in them are deleted.
        #[arg(long)]
        replace: bool,
        /// Print the counts as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Indicators held and last import, per source.
    Status {
        #[arg(long)]
        json: bool,
    },
}

pub fn run(config: &Config, cmd: &FeedsCommand) -> anyhow::Result<ExitCode> {
    let rt = crate::runtime()?;
    match cmd {
        FeedsCommand::Import {
            files,
            replace,
            json,
        } => rt.block_on(import(config, files, *replace, *json)),
        FeedsCommand::Status { json } => rt.block_on(status(config, *json)),
    }
}

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
enum Format {
    UrlhausCsv,
    FeodoCsv,
    FeodoText,
}

impl Format {
    fn source(self) -> &'static str {
        match self {
            Format::UrlhausCsv => "urlhaus",
            Format::FeodoCsv | Format::FeodoText => "feodo",
        }
    }
}

/// One file read.
#[derive(Debug, Serialize)]
struct ParsedFile {
    path: String,
    format: Format,
    indicators: usize,
    /// Rows whose URL has no host (URLhaus lists a few odd ones): left out.
    skipped: usize,
    #[serde(skip)]
    rows: Vec<Indicator>,
}

#[derive(Serialize)]
struct Written {
    source: &'static str,
    indicators: u64,
}

async fn import(
    config: &Config,
    files: &[PathBuf],
    replace: bool,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let mut parsed = Vec::with_capacity(files.len());
    for path in files {
        let file = parse_file(path)?;
        if !json {
            eprintln!(
                "{}: {} indicators ({}), {} skipped",
                file.path,
                file.indicators,
                file.format.source(),
                file.skipped
            );
        }
        parsed.push(file);
    }
    let store = fumidai_store::open(&config.store.location()).await?;
    let mut written = Vec::new();
    for source in ["urlhaus", "feodo"] {
        let rows: Vec<Indicator> = parsed
            .iter_mut()
            .filter(|f| f.format.source() == source)
            .flat_map(|f| std::mem::take(&mut f.rows))
            .collect();
        if rows.is_empty() && !parsed.iter().any(|f| f.format.source() == source) {
            continue;
        }
        let indicators = store
            .feed_import(source, &rows, replace)
            .await
            .with_context(|| format!("storing the {source} indicators"))?;
        written.push(Written { source, indicators });
    }
    let seconds = started.elapsed().as_secs_f64();
    if json {
        #[derive(Serialize)]
        struct Out<'a> {
            files: &'a [ParsedFile],
            sources: &'a [Written],
            replace: bool,
            seconds: f64,
        }
        let out = Out {
            files: &parsed,
            sources: &written,
            replace,
            seconds,
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        for w in &written {
            println!(
                "{}: {} indicators stored{}",
                w.source,
                w.indicators,
                if replace {
                    " (replacing the previous list)"
                } else {
                    ""
                }
            );
        }
        println!(
            "done in {seconds:.1} s into {}",
            crate::db::redact(&config.store.location())
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn status(config: &Config, json: bool) -> anyhow::Result<ExitCode> {
    let store = fumidai_store::open(&config.store.location()).await?;
    let sources = store.feed_status().await?;
    if json {
        #[derive(Serialize)]
        struct Source<'a> {
            source: &'a str,
            indicators: u64,
            imported_at: i64,
        }
        let out: Vec<Source<'_>> = sources
            .iter()
            .map(|(source, indicators, imported_at)| Source {
                source,
                indicators: *indicators,
                imported_at: *imported_at,
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else if sources.is_empty() {
        println!("no threat feed imported (fumidai feeds import FILE...)");
    } else {
        println!("{:<10} {:>10}  last import", "source", "indicators");
        for (source, indicators, at) in &sources {
            println!("{source:<10} {indicators:>10}  {}", format_utc(*at));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads and checks one file (gunzipped when it is gzip).
fn parse_file(path: &Path) -> anyhow::Result<ParsedFile> {
    let shown = path.display().to_string();
    let mut bytes = Vec::new();
    crate::history::open_input(path)
        .and_then(|mut r| r.read_to_end(&mut bytes))
        .with_context(|| format!("cannot read {shown}"))?;
    let (format, columns) = detect(&bytes).with_context(|| shown.clone())?;
    let mut file = ParsedFile {
        path: shown,
        format,
        indicators: 0,
        skipped: 0,
        rows: Vec::new(),
    };
    let parsed = match format {
        Format::FeodoText => parse_text(&bytes, &mut file),
        Format::UrlhausCsv | Format::FeodoCsv => parse_csv(&bytes, &columns, &mut file),
    };
    parsed.with_context(|| format!("{}: not a valid {}", file.path, describe(format)))?;
    file.indicators = file.rows.len();
    Ok(file)
}

fn describe(format: Format) -> &'static str {
    match format {
        Format::UrlhausCsv => "URLhaus CSV export",
        Format::FeodoCsv => "Feodo Tracker CSV blocklist",
        Format::FeodoText => "Feodo Tracker blocklist",
    }
}

/// The format and the column names, from the comment lines before the first row; the error names the line where
/// a header was still missing.
fn detect(bytes: &[u8]) -> anyhow::Result<(Format, Vec<String>)> {
    let text = String::from_utf8_lossy(bytes.get(..64 * 1024).unwrap_or(bytes));
    let mut names_feodo = false;
    let mut last = 0;
    for (n, line) in text.lines().enumerate() {
        last = n + 1;
        let line = line.trim();
        let Some(comment) = line.strip_prefix('#') else {
            if line.is_empty() {
                continue;
            }
            break;
        };
        let columns: Vec<String> = comment
            .split(',')
            .map(|c| c.trim().trim_matches('"').to_ascii_lowercase())
            .collect();
        let has = |name: &str| columns.iter().any(|c| c == name);
        if has("url") && has("urlhaus_link") {
            return Ok((Format::UrlhausCsv, columns));
        }
        if has("dst_ip") && has("malware") {
            return Ok((Format::FeodoCsv, columns));
        }
        names_feodo |= comment.to_ascii_lowercase().contains("feodo tracker");
    }
    if names_feodo {
        return Ok((Format::FeodoText, Vec::new()));
    }
    bail!("line {last}: no header comment before it says the format: neither a URLhaus CSV export (header comment `# id,dateadded,url,url_status,...`) nor a Feodo Tracker blocklist (header comment `# first_seen_utc,dst_ip,...`, or a comment naming Feodo Tracker above one address a line)")
}

/// abuse.ch stamps (`2024-09-03 10:12:06`, UTC) as Unix seconds.
fn utc_stamp(value: &str) -> Option<i64> {
    parse_rfc3339(format!("{}Z", value.trim()).as_bytes())
}

fn parse_csv(bytes: &[u8], columns: &[String], file: &mut ParsedFile) -> anyhow::Result<()> {
    let column = |name: &str| columns.iter().position(|c| c == name);
    let (value_at, first_seen_at) = match file.format {
        Format::UrlhausCsv => (column("url"), column("dateadded")),
        _ => (column("dst_ip"), column("first_seen_utc")),
    };
    let value_at = value_at.context("no value column")?;
    let (threat_at, tags_at) = match file.format {
        Format::UrlhausCsv => (column("threat"), column("tags")),
        _ => (column("malware"), None),
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .comment(Some(b'#'))
        .flexible(true)
        .from_reader(bytes);
    let mut record = csv::StringRecord::new();
    loop {
        let line = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {}
            Err(e) => bail!("line {line}: {e}"),
        }
        let line = record.position().map_or(line, csv::Position::line);
        if record.len() == 1 && record.get(0).is_some_and(|f| f.trim().is_empty()) {
            continue;
        }
        if record.len() != columns.len() {
            bail!(
                "line {line}: {} fields where the header names {}",
                record.len(),
                columns.len()
            );
        }
        let field = |at: Option<usize>| at.and_then(|i| record.get(i)).unwrap_or("").trim();
        let value = field(Some(value_at));
        let first_seen = first_seen_at
            .and_then(|i| record.get(i))
            .and_then(utc_stamp);
        let (kind, value) = match file.format {
            Format::UrlhausCsv => match normalize_url(value) {
                Some(url) => (IndicatorKind::Url, url),
                None => {
                    file.skipped += 1;
                    continue;
                }
            },
            _ => match value.parse::<IpAddr>() {
                Ok(ip) => (IndicatorKind::Ip, ip.to_string()),
                Err(_) => bail!("line {line}: {value:?} is not an IP address"),
            },
        };
        let threat = match (field(threat_at), field(tags_at)) {
            (threat, "") => threat.to_owned(),
            (threat, tags) => format!("{threat} ({tags})"),
        };
        file.rows.push(Indicator {
            kind,
            value,
            source: file.format.source().to_owned(),
            threat,
            first_seen,
        });
    }
}

/// One address a line (`#` comments and blank lines aside).
fn parse_text(bytes: &[u8], file: &mut ParsedFile) -> anyhow::Result<()> {
    let text = std::str::from_utf8(bytes).context("not UTF-8 text")?;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let ip: IpAddr = line
            .parse()
            .map_err(|_| anyhow::anyhow!("line {}: {line:?} is not an IP address", n + 1))?;
        file.rows.push(Indicator {
            kind: IndicatorKind::Ip,
            value: ip.to_string(),
            source: "feodo".to_owned(),
            threat: "botnet C2".to_owned(),
            first_seen: None,
        });
    }
    Ok(())
}
