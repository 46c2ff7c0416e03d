//! Statistics of organisations notified (../shared/BRIEF.md section 4): per JST month, by kind and by industry,
//! with rates per 10,000 enterprises where the operator gave enterprise counts.
//!
//! An organisation counts once, in the JST month of its first notice: per kind for the springboard and
//! impersonation columns, and by its first notice of any kind for the total (so a month's total can be less than
//! the sum of its kinds). The notifications given must therefore reach back before the period: an organisation
//! first notified before it does not count in it, however often it is notified again.

use std::collections::{BTreeMap, HashMap};
use std::fmt::{self, Write as _};

use serde::Serialize;

use crate::jsic;
use crate::machine::{csv_document, no_formula};
use crate::notice::JST_OFFSET;
use crate::{EventKind, IndustryEnterprises, Notification, Organisation};
use fumidai_history::import::time::{civil_from_days, days_from_civil};

/// Longest period a report covers, in months (a typo such as `--since 0202-01` should not build 22,000 rows).
const MAX_MONTHS: usize = 1200;

/// The key of organisations not in the directory (or without an industry there).
pub const UNKNOWN_INDUSTRY: &str = "unknown";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReportError {
    #[error("{0:?} is not a month (expected YYYY-MM)")]
    Month(String),
    #[error("the period {0} to {1} is empty or longer than {MAX_MONTHS} months")]
    Period(Month, Month),
}

/// The language of a table or page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Ja,
    En,
}

/// A calendar month in Japan Standard Time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    pub year: i64,
    /// 1 to 12.
    pub month: u32,
}

impl Month {
    /// `2022-03`.
    pub fn parse(text: &str) -> Result<Month, ReportError> {
        let error = || ReportError::Month(text.to_owned());
        let (y, m) = text.trim().split_once('-').ok_or_else(error)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(error());
        }
        let year: i64 = y.parse().map_err(|_| error())?;
        let month: u32 = m.parse().map_err(|_| error())?;
        if !(1..=12).contains(&month) || year < 1970 {
            return Err(error());
        }
        Ok(Month { year, month })
    }

    /// The JST month of a Unix time.
    pub fn of(secs: i64) -> Month {
        let (year, month, _) = civil_from_days(secs.saturating_add(JST_OFFSET).div_euclid(86_400));
        Month { year, month }
    }

    /// Unix seconds of its first moment (00:00 JST on the 1st).
    pub fn start(self) -> i64 {
        days_from_civil(self.year, self.month, 1) * 86_400 - JST_OFFSET
    }

    pub fn next(self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// JST months `first` to `last`, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    first: Month,
    last: Month,
}

impl Period {
    pub fn new(first: Month, last: Month) -> Result<Period, ReportError> {
        let span = (last.year - first.year) * 12 + i64::from(last.month) - i64::from(first.month);
        if span < 0 || span >= MAX_MONTHS as i64 {
            return Err(ReportError::Period(first, last));
        }
        Ok(Period { first, last })
    }

    pub fn first(&self) -> Month {
        self.first
    }

    pub fn last(&self) -> Month {
        self.last
    }

    /// Unix seconds of its first moment.
    pub fn start(&self) -> i64 {
        self.first.start()
    }

    /// Unix seconds just after it (the start of the month after `last`).
    pub fn end(&self) -> i64 {
        self.last.next().start()
    }

    fn months(&self) -> Vec<Month> {
        std::iter::successors(Some(self.first), |m| Some(m.next()))
            .take_while(|m| *m <= self.last)
            .collect()
    }
}

/// Organisations counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub springboard: u64,
    pub impersonation: u64,
    /// Distinct organisations by their first notice of any kind.
    pub total: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MonthCount {
    /// `2022-03` (JST).
    pub month: String,
    #[serde(flatten)]
    pub counts: Counts,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndustryCount {
    /// JSIC division letter, or [`UNKNOWN_INDUSTRY`].
    pub industry: String,
    pub name_ja: String,
    pub name_en: String,
    #[serde(flatten)]
    pub counts: Counts,
    /// Of all organisations counted in the period (total column).
    pub share_percent: f64,
    /// Enterprises in the industry, when the operator gave the number.
    pub enterprises: Option<u64>,
    /// Organisations counted (total) per 10,000 enterprises of the industry.
    pub per_10000_enterprises: Option<f64>,
}

/// The statistics of one period.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub since: String,
    pub until: String,
    pub months: Vec<MonthCount>,
    pub total: Counts,
    /// Largest total first; unknown last.
    pub industries: Vec<IndustryCount>,
}

#[derive(Debug, Clone, Copy)]
enum Column {
    Springboard,
    Impersonation,
    Total,
}

impl Counts {
    fn add(&mut self, column: Column) {
        let count = match column {
            Column::Springboard => &mut self.springboard,
            Column::Impersonation => &mut self.impersonation,
            Column::Total => &mut self.total,
        };
        *count += 1;
    }
}

/// When an organisation was first notified, per kind and of any kind.
#[derive(Default)]
struct FirstNotified {
    springboard: Option<i64>,
    impersonation: Option<i64>,
}

impl FirstNotified {
    fn any(&self) -> Option<i64> {
        match (self.springboard, self.impersonation) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

fn earliest(slot: &mut Option<i64>, at: i64) {
    *slot = Some(slot.map_or(at, |s| s.min(at)));
}

/// Counts the organisations first notified in `period`. `notifications` should reach back to the first notice
/// ever sent (see the module doc).
pub fn build(
    notifications: &[Notification],
    directory: &[Organisation],
    enterprises: &[IndustryEnterprises],
    period: Period,
) -> Report {
    let mut first: HashMap<String, FirstNotified> = HashMap::new();
    for n in notifications {
        let entry = first
            .entry(n.organisation.trim().to_ascii_lowercase())
            .or_default();
        match n.kind {
            EventKind::Springboard => earliest(&mut entry.springboard, n.sent_at),
            EventKind::Impersonation => earliest(&mut entry.impersonation, n.sent_at),
        }
    }
    let industry_of: HashMap<String, &str> = directory
        .iter()
        .filter_map(|o| Some((o.domain.to_ascii_lowercase(), o.industry.as_deref()?)))
        .collect();
    let (start, end) = (period.start(), period.end());
    let in_period = |at: Option<i64>| at.filter(|t| (start..end).contains(t));

    let mut months: BTreeMap<Month, Counts> = period
        .months()
        .into_iter()
        .map(|m| (m, Counts::default()))
        .collect();
    let mut industries: BTreeMap<String, Counts> = BTreeMap::new();
    let mut total = Counts::default();
    for (organisation, when) in &first {
        let industry = industry_of
            .get(organisation)
            .and_then(|l| jsic::division(l))
            .map_or(UNKNOWN_INDUSTRY.to_owned(), |d| d.letter.to_string());
        let columns = [
            (when.springboard, Column::Springboard),
            (when.impersonation, Column::Impersonation),
            (when.any(), Column::Total),
        ];
        for (at, column) in columns {
            let Some(at) = in_period(at) else { continue };
            months.entry(Month::of(at)).or_default().add(column);
            industries.entry(industry.clone()).or_default().add(column);
            total.add(column);
        }
    }

    let enterprises_of: HashMap<char, u64> = enterprises
        .iter()
        .filter_map(|e| Some((jsic::division(&e.industry)?.letter, e.enterprises)))
        .collect();
    let mut industries: Vec<IndustryCount> = industries
        .into_iter()
        .map(|(key, counts)| {
            let division = jsic::division(&key);
            let enterprises = division.and_then(|d| enterprises_of.get(&d.letter).copied());
            IndustryCount {
                name_ja: division.map_or("不明", |d| d.ja).to_owned(),
                name_en: division.map_or("Unknown", |d| d.en).to_owned(),
                industry: key,
                share_percent: percent(counts.total, total.total),
                per_10000_enterprises: enterprises
                    .filter(|e| *e > 0)
                    .map(|e| counts.total as f64 * 10_000.0 / e as f64),
                enterprises,
                counts,
            }
        })
        .collect();
    industries.sort_by(|a, b| {
        (a.industry == UNKNOWN_INDUSTRY)
            .cmp(&(b.industry == UNKNOWN_INDUSTRY))
            .then(b.counts.total.cmp(&a.counts.total))
            .then(a.industry.cmp(&b.industry))
    });
    Report {
        since: period.first.to_string(),
        until: period.last.to_string(),
        months: months
            .into_iter()
            .map(|(m, counts)| MonthCount {
                month: m.to_string(),
                counts,
            })
            .collect(),
        total,
        industries,
    }
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

/// Headings in both languages.
struct Words {
    title: &'static str,
    note: &'static str,
    month: &'static str,
    springboard: &'static str,
    impersonation: &'static str,
    total: &'static str,
    industry: &'static str,
    share: &'static str,
    enterprises: &'static str,
    per_10000: &'static str,
    by_month: &'static str,
    by_industry: &'static str,
}

const JA: Words = Words {
    title: "通知した組織の数",
    note:
        "各組織は最初に通知した月（日本時間）に一度だけ数えます。合計は種別を問わない組織の数です。",
    month: "月",
    springboard: "踏み台",
    impersonation: "なりすまし",
    total: "合計",
    industry: "業種（日本標準産業分類）",
    share: "割合",
    enterprises: "企業数",
    per_10000: "1万社あたり",
    by_month: "月別",
    by_industry: "業種別",
};

const EN: Words = Words {
    title: "Organisations notified",
    note: "Each organisation counts once, in the month (JST) it was first notified; the total counts organisations of either kind.",
    month: "Month",
    springboard: "Springboard",
    impersonation: "Impersonation",
    total: "Total",
    industry: "Industry (JSIC)",
    share: "Share",
    enterprises: "Enterprises",
    per_10000: "Per 10,000",
    by_month: "By month",
    by_industry: "By industry",
};

fn words(lang: Lang) -> &'static Words {
    match lang {
        Lang::Ja => &JA,
        Lang::En => &EN,
    }
}

impl IndustryCount {
    fn label(&self, lang: Lang) -> String {
        let name = match lang {
            Lang::Ja => &self.name_ja,
            Lang::En => &self.name_en,
        };
        if self.industry == UNKNOWN_INDUSTRY {
            name.clone()
        } else {
            format!("{} {name}", self.industry)
        }
    }
}

fn optional<T: fmt::Display>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

impl Report {
    /// A plain-text table: numbers first and labels last, so columns line up whatever the script of the labels.
    pub fn table(&self, lang: Lang) -> String {
        let w = words(lang);
        let mut out = String::new();
        let _ = writeln!(out, "{} ({} .. {})", w.title, self.since, self.until);
        let _ = writeln!(out, "{}\n", w.note);
        let _ = writeln!(
            out,
            "{:>14} {:>14} {:>8}  {}",
            w.springboard, w.impersonation, w.total, w.month
        );
        for m in &self.months {
            let c = m.counts;
            let _ = writeln!(
                out,
                "{:>14} {:>14} {:>8}  {}",
                c.springboard, c.impersonation, c.total, m.month
            );
        }
        let c = self.total;
        let _ = writeln!(
            out,
            "{:>14} {:>14} {:>8}  {}\n",
            c.springboard, c.impersonation, c.total, w.total
        );
        let _ = writeln!(
            out,
            "{:>14} {:>14} {:>8} {:>7} {:>12} {:>11}  {}",
            w.springboard,
            w.impersonation,
            w.total,
            w.share,
            w.enterprises,
            w.per_10000,
            w.industry
        );
        for i in &self.industries {
            let c = i.counts;
            let _ = writeln!(
                out,
                "{:>14} {:>14} {:>8} {:>6.1}% {:>12} {:>11}  {}",
                c.springboard,
                c.impersonation,
                c.total,
                i.share_percent,
                optional(i.enterprises),
                optional(i.per_10000_enterprises.map(|r| format!("{r:.2}"))),
                i.label(lang)
            );
        }
        out
    }

    /// CSV, one row per month, the period's total and one per industry:
    /// `section,key,springboard,impersonation,total,share_percent,enterprises,per_10000_enterprises,name_ja,name_en`.
    pub fn csv(&self) -> String {
        let mut rows: Vec<[String; 10]> = vec![[
            "section",
            "key",
            "springboard",
            "impersonation",
            "total",
            "share_percent",
            "enterprises",
            "per_10000_enterprises",
            "name_ja",
            "name_en",
        ]
        .map(str::to_owned)];
        let counts = |c: Counts| [c.springboard, c.impersonation, c.total].map(|n| n.to_string());
        for m in &self.months {
            let [s, i, t] = counts(m.counts);
            rows.push([
                "month".into(),
                m.month.clone(),
                s,
                i,
                t,
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ]);
        }
        let [s, i, t] = counts(self.total);
        rows.push([
            "total".into(),
            format!("{}..{}", self.since, self.until),
            s,
            i,
            t,
            "100.0".into(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
        ]);
        for row in &self.industries {
            let [s, i, t] = counts(row.counts);
            rows.push([
                "industry".into(),
                row.industry.clone(),
                s,
                i,
                t,
                format!("{:.1}", row.share_percent),
                row.enterprises.map(|e| e.to_string()).unwrap_or_default(),
                row.per_10000_enterprises
                    .map(|r| format!("{r:.4}"))
                    .unwrap_or_default(),
                no_formula(&row.name_ja),
                no_formula(&row.name_en),
            ]);
        }
        csv_document(rows)
    }

    pub fn json(&self) -> String {
        // Plain data (strings, integers, finite floats) always serialises.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// A self-contained page: inline CSS and SVG charts (monthly bars stacked by kind, industry bars) and the
    /// tables; no scripts, no external resources, every text escaped.
    pub fn html(&self, lang: Lang) -> String {
        let w = words(lang);
        let title = format!("{} ({} – {})", w.title, self.since, self.until);
        let mut out = String::new();
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>\n{}</style>\n</head>\n<body>\n<h1>{}</h1>\n<p>{}</p>\n",
            match lang { Lang::Ja => "ja", Lang::En => "en" },
            escape(&title),
            STYLE,
            escape(&title),
            escape(w.note)
        );
        let _ = writeln!(out, "<h2>{}</h2>", escape(w.by_month));
        out.push_str(&self.month_chart(w));
        let _ = write!(
            out,
            "<table>\n<tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>\n",
            escape(w.month),
            escape(w.springboard),
            escape(w.impersonation),
            escape(w.total)
        );
        for m in &self.months {
            let c = m.counts;
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&m.month),
                c.springboard,
                c.impersonation,
                c.total
            );
        }
        let c = self.total;
        let _ = writeln!(
            out,
            "<tr class=\"total\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n</table>",
            escape(w.total),
            c.springboard,
            c.impersonation,
            c.total
        );
        let _ = writeln!(out, "<h2>{}</h2>", escape(w.by_industry));
        out.push_str(&self.industry_chart(lang));
        let _ = write!(
            out,
            "<table>\n<tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>\n",
            escape(w.industry), escape(w.springboard), escape(w.impersonation), escape(w.total),
            escape(w.share), escape(w.enterprises), escape(w.per_10000)
        );
        for i in &self.industries {
            let c = i.counts;
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.1}%</td><td>{}</td><td>{}</td></tr>",
                escape(&i.label(lang)),
                c.springboard,
                c.impersonation,
                c.total,
                i.share_percent,
                optional(i.enterprises),
                optional(i.per_10000_enterprises.map(|r| format!("{r:.2}")))
            );
        }
        out.push_str("</table>\n</body>\n</html>\n");
        out
    }

    /// Bars per month, springboard below impersonation, the month's total of organisations above.
    fn month_chart(&self, w: &Words) -> String {
        const SLOT: usize = 56;
        const BAR: usize = 36;
        const PLOT: f64 = 200.0;
        const TOP: usize = 40;
        let width = 40 + SLOT * self.months.len().max(1);
        let height = TOP + PLOT as usize + 40;
        let max = self
            .months
            .iter()
            .map(|m| m.counts.springboard + m.counts.impersonation)
            .max()
            .unwrap_or(0)
            .max(1) as f64;
        let mut svg = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" role=\"img\" aria-label=\"{}\">\n",
            escape(w.by_month)
        );
        let _ = writeln!(
            svg,
            "<rect x=\"20\" y=\"8\" width=\"12\" height=\"12\" class=\"springboard\"/><text x=\"36\" y=\"19\">{}</text><rect x=\"160\" y=\"8\" width=\"12\" height=\"12\" class=\"impersonation\"/><text x=\"176\" y=\"19\">{}</text>",
            escape(w.springboard), escape(w.impersonation)
        );
        let base = TOP as f64 + PLOT;
        for (n, m) in self.months.iter().enumerate() {
            let x = 40 + SLOT * n;
            let springboard = m.counts.springboard as f64 * PLOT / max;
            let impersonation = m.counts.impersonation as f64 * PLOT / max;
            let _ = writeln!(
                svg,
                "<rect x=\"{x}\" y=\"{:.1}\" width=\"{BAR}\" height=\"{springboard:.1}\" class=\"springboard\"><title>{} {}: {}</title></rect>",
                base - springboard, escape(&m.month), escape(w.springboard), m.counts.springboard
            );
            let _ = writeln!(
                svg,
                "<rect x=\"{x}\" y=\"{:.1}\" width=\"{BAR}\" height=\"{impersonation:.1}\" class=\"impersonation\"><title>{} {}: {}</title></rect>",
                base - springboard - impersonation, escape(&m.month), escape(w.impersonation), m.counts.impersonation
            );
            let _ = writeln!(
                svg,
                "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text><text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                x + BAR / 2, base - springboard - impersonation - 4.0, m.counts.total,
                x + BAR / 2, height - 18, escape(&m.month)
            );
        }
        svg.push_str("</svg>\n");
        svg
    }

    /// A horizontal bar per industry, by organisations counted (total).
    fn industry_chart(&self, lang: Lang) -> String {
        const ROW: usize = 24;
        const LABEL: usize = 300;
        const PLOT: f64 = 400.0;
        let height = 10 + ROW * self.industries.len().max(1);
        let max = self
            .industries
            .iter()
            .map(|i| i.counts.total)
            .max()
            .unwrap_or(0)
            .max(1) as f64;
        let mut svg = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{height}\" role=\"img\" aria-label=\"{}\">\n",
            LABEL + PLOT as usize + 120,
            escape(words(lang).by_industry)
        );
        for (n, i) in self.industries.iter().enumerate() {
            let y = 5 + ROW * n;
            let bar = i.counts.total as f64 * PLOT / max;
            let _ = writeln!(
                svg,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text><rect x=\"{LABEL}\" y=\"{y}\" width=\"{bar:.1}\" height=\"{}\" class=\"industry\"/><text x=\"{:.1}\" y=\"{}\">{} ({:.1}%)</text>",
                LABEL - 6, y + 15, escape(&i.label(lang)), ROW - 6,
                LABEL as f64 + bar + 6.0, y + 15, i.counts.total, i.share_percent
            );
        }
        svg.push_str("</svg>\n");
        svg
    }
}

const STYLE: &str = "body { font-family: sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0 2em; }
th, td { border: 1px solid #bbb; padding: 0.2em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
tr.total td { font-weight: bold; }
svg text { font-size: 12px; fill: #222; }
.springboard { fill: #c0392b; }
.impersonation { fill: #2e86c1; }
.industry { fill: #7d3c98; }
";

/// Text for HTML element content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_follow_japan_time() {
        // 2022-01-31 20:00 UTC is 2022-02-01 05:00 JST.
        assert_eq!(Month::of(1_643_659_200).to_string(), "2022-02");
        let march = Month::parse("2022-03").unwrap();
        assert_eq!(march.start(), 1_646_060_400); // 2022-02-28 15:00 UTC
        assert_eq!(Month::of(march.start()), march);
        assert_eq!(Month::of(march.start() - 1).to_string(), "2022-02");
        assert_eq!(
            Month::parse("2021-12").unwrap().next().to_string(),
            "2022-01"
        );
        for bad in ["2022-13", "2022-3", "22-03", "2022/03", "", "1969-12"] {
            assert!(Month::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn periods_are_bounded() {
        let m = |s| Month::parse(s).unwrap();
        assert!(Period::new(m("2022-03"), m("2022-02")).is_err());
        assert!(Period::new(m("1970-01"), m("2200-01")).is_err());
        assert_eq!(
            Period::new(m("2021-12"), m("2022-03"))
                .unwrap()
                .months()
                .len(),
            4
        );
    }

    #[test]
    fn escape_covers_markup() {
        assert_eq!(
            escape("<a href='x'>\"&"),
            "&lt;a href=&#39;x&#39;&gt;&quot;&amp;"
        );
    }
}
