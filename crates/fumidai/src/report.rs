//! `fumidai report`: statistics of the organisations notified by springboard alerts, per JST month, by kind and
//! by industry, as a table, CSV, JSON or a self-contained HTML page. Thin over `fumidai_alerts::report`.

use anyhow::Context;
use clap::{Args, ValueEnum};
use fumidai_alerts::report::{build, Lang, Month, Period};
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
        let until = args.until.unwrap_or_else(|| Month::of(unix_now()));
        // Every notice from the first ever: an organisation first notified before the period must not count in it.
        let notifications = store.notifications(0, until.next().start()).await?;
        let since = args
            .since
            .or_else(|| notifications.first().map(|n| Month::of(n.sent_at)))
            .unwrap_or(until);
        let period = Period::new(since, until)?;
        let directory = store.directory().await?;
        let enterprises = store.industry_enterprises().await?;
        anyhow::Ok(build(&notifications, &directory, &enterprises, period))
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
