//! `fumidai report`: statistics of the organisations notified by springboard alerts, per JST month, by kind and
//! by industry, as a table, CSV, JSON or a self-contained HTML page. Thin over `fumidai_alerts::report`.

use anyhow::Context;
use clap::{Args, ValueEnum};
use fumidai_alerts::report::{Lang, Month};
use fumidai_core::unix_now;
use fumidai_engine::Config;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::LangArg;

#[derive(Args)]
pub struct ReportArgs {
    /// First month (JST), YYYY-MM. Default: the month of the first notice.
    #[arg(long, value_name = "YYYY-MM", value_parser = parse_month)]
    since: Option<Month>,
    /// Last month (JST), YYYY-MM, included. Default: this month.
    #[arg(long, value_name = "YYYY-MM", value_parser = parse_month)]
    until: Option<Month>,
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// The language of table and HTML headings.
    #[arg(long, value_enum, default_value = "en")]
    lang: LangArg,
    /// Write to this file instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Csv,
    Json,
    Html,
}

fn parse_month(text: &str) -> Result<Month, String> {
    Month::parse(text).map_err(|e| e.to_string())
}

pub fn run(config: &Config, args: &ReportArgs) -> anyhow::Result<ExitCode> {
    let rt = crate::runtime()?;
    let report = rt.block_on(async {
        let store = fumidai_store::open(&config.store.location()).await?;
        let report =
            fumidai_server::views::statistics(store.as_ref(), args.since, args.until, unix_now())
                .await?;
        anyhow::Ok(report)
    })?;
    let lang = match args.lang {
        LangArg::En => Lang::En,
        LangArg::Ja => Lang::Ja,
    };
    let text = match args.format {
        Format::Table => report.table(lang),
        Format::Csv => report.csv(),
        Format::Json => report.json() + "\n",
        Format::Html => report.html(lang),
    };
    match &args.output {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?
        }
        None => print!("{text}"),
    }
    Ok(ExitCode::SUCCESS)
}
