//! How results are shown: a line per message for people (coloured on a terminal), JSON Lines for scripts.

use fumidai_engine::{registry, MessageReport, Verdict};
use serde::Serialize;
use std::io::{IsTerminal, Write};

/// One output line: a report, or a message that could not be scanned.
pub enum Line {
    /// A judged message, and what `--apply` did with it.
    Report(Box<MessageReport>, Option<Applied>),
    Error {
        path: String,
        error: String,
    },
}

pub struct Printer {
    json: bool,
    only_findings: bool,
    colour: bool,
    out: std::io::BufWriter<std::io::Stdout>,
}

/// What `scan --apply` did with a message.
#[derive(Debug, Serialize)]
pub struct Applied {
    pub action: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quarantine_id: Option<String>,
    /// The file holding what the recipients would get.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// The SMTP reply for reject and tempfail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply: Option<String>,
    /// Why the action differs from the policy's decision.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Applied {
    /// ` => ACTION [quarantine ID] -> FILE (note)`.
    fn human(&self) -> String {
        let mut s = format!(" => {}", self.action.to_uppercase());
        if let Some(id) = &self.quarantine_id {
            s.push_str(&format!(" [quarantine {id}]"));
        }
        if let Some(reply) = &self.reply {
            s.push_str(&format!(" \"{reply}\""));
        }
        if let Some(out) = &self.output {
            s.push_str(&format!(" -> {out}"));
        }
        if let Some(note) = &self.note {
            s.push_str(&format!(" ({note})"));
        }
        s
    }
}

/// A report's JSON line: the report's fields, then `applied` when `--apply` ran.
#[derive(Serialize)]
struct ReportLine<'a> {
    #[serde(flatten)]
    report: &'a MessageReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    applied: Option<&'a Applied>,
}

#[derive(Serialize)]
struct ErrorLine<'a> {
    path: &'a str,
    error: &'a str,
}

impl Printer {
    pub fn new(json: bool, only_findings: bool) -> Self {
        let colour =
            !json && std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        Printer {
            json,
            only_findings,
            colour,
            out: std::io::BufWriter::new(std::io::stdout()),
        }
    }

    pub fn print(&mut self, line: &Line) -> std::io::Result<()> {
        match line {
            Line::Report(r, _) if self.only_findings && r.verdict == Verdict::Clean => Ok(()),
            Line::Report(r, applied) if self.json => {
                serde_json::to_writer(
                    &mut self.out,
                    &ReportLine {
                        report: r,
                        applied: applied.as_ref(),
                    },
                )?;
                self.out.write_all(b"\n")
            }
            Line::Report(r, applied) => {
                let mut text = human_line(r);
                if let Some(a) = applied {
                    text.push_str(&a.human());
                }
                let (on, off) = match (self.colour, r.verdict) {
                    (false, _) | (true, Verdict::Clean) => ("", ""),
                    (true, Verdict::Suspicious) => ("\x1b[33m", "\x1b[0m"),
                    (true, Verdict::Malicious) => ("\x1b[1;31m", "\x1b[0m"),
                };
                writeln!(self.out, "{on}{text}{off}")
            }
            Line::Error { path, error } if self.json => {
                serde_json::to_writer(&mut self.out, &ErrorLine { path, error })?;
                self.out.write_all(b"\n")
            }
            Line::Error { path, error } => writeln!(self.out, "{path}: ERROR {error}"),
        }
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// `path: VERDICT (score) ID(score) ID(score) ...`, each id once, highest score first.
fn human_line(r: &MessageReport) -> String {
    let mut ids = fumidai_core::strongest(&r.findings);
    ids.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut line = format!(
        "{}: {} ({})",
        r.path.as_deref().unwrap_or("-"),
        r.verdict.as_str().to_uppercase(),
        r.score
    );
    for (id, score) in ids {
        line.push_str(&format!(" {id}({score})"));
    }
    line
}

#[derive(Serialize)]
struct FindingRow {
    id: &'static str,
    score: f64,
    summary: &'static str,
}

/// `fumidai findings`: every finding id, as a table, Markdown or JSON.
pub fn print_findings(json: bool, markdown: bool) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        let rows: Vec<FindingRow> = registry::all()
            .map(|d| FindingRow {
                id: d.id,
                score: d.score,
                summary: d.summary,
            })
            .collect();
        serde_json::to_writer_pretty(&mut out, &rows)?;
        writeln!(out)
    } else if markdown {
        write!(out, "{}", registry::markdown_table())
    } else {
        for d in registry::all() {
            writeln!(out, "{:<34} {:>5}  {}", d.id, d.score, d.summary)?;
        }
        Ok(())
    }
}
