//! Bar charts as SVG drawn on the server: rectangles and labels from the numbers, so the page needs no script
//! and the template only places what is computed here (every value still goes through escaping).

use serde::Serialize;

const WIDTH: i64 = 720;
const HEIGHT: i64 = 220;
const LEFT: i64 = 44;
const BOTTOM: i64 = 24;
const TOP: i64 = 12;

#[derive(Debug, Serialize)]
pub struct Chart {
    pub width: i64,
    pub height: i64,
    pub bars: Vec<Bar>,
    pub labels: Vec<Label>,
    pub legend: Vec<Legend>,
}

#[derive(Debug, Serialize)]
pub struct Bar {
    pub x: i64,
    pub y: i64,
    pub w: i64,
    pub h: i64,
    /// The series' CSS class (its colour).
    pub class: &'static str,
    /// The tooltip: column, series, value.
    pub label: String,
}

#[derive(Debug, Serialize)]
pub struct Label {
    pub x: i64,
    pub y: i64,
    pub text: String,
}

#[derive(Debug, Serialize)]
pub struct Legend {
    pub name: &'static str,
    pub class: &'static str,
}

/// One series: its name (also its CSS class) and a value per column.
pub struct Series {
    pub name: &'static str,
    pub values: Vec<i64>,
}

/// Columns of stacked bars, one segment per series, scaled to the largest column.
pub fn stacked(columns: &[String], series: &[Series]) -> Chart {
    let totals: Vec<i64> = (0..columns.len())
        .map(|c| {
            series
                .iter()
                .map(|s| s.values.get(c).copied().unwrap_or(0).max(0))
                .sum()
        })
        .collect();
    let max = totals.iter().copied().max().unwrap_or(0).max(1);
    let plot_height = HEIGHT - BOTTOM - TOP;
    let slot = (WIDTH - LEFT) / i64::try_from(columns.len().max(1)).unwrap_or(1);
    let bar_width = (slot * 7 / 10).max(1);
    let mut bars = Vec::new();
    let mut labels = vec![
        Label {
            x: 0,
            y: TOP + 10,
            text: max.to_string(),
        },
        Label {
            x: 0,
            y: HEIGHT - BOTTOM,
            text: "0".into(),
        },
    ];
    for (c, column) in columns.iter().enumerate() {
        let x = LEFT + slot * i64::try_from(c).unwrap_or(0) + (slot - bar_width) / 2;
        let mut base = HEIGHT - BOTTOM;
        for s in series {
            let value = s.values.get(c).copied().unwrap_or(0).max(0);
            if value == 0 {
                continue;
            }
            let h = (value * plot_height / max).max(1);
            base -= h;
            bars.push(Bar {
                x,
                y: base,
                w: bar_width,
                h,
                class: s.name,
                label: format!("{column} {}: {value}", s.name),
            });
        }
        labels.push(Label {
            x,
            y: HEIGHT - 6,
            text: column.clone(),
        });
    }
    Chart {
        width: WIDTH,
        height: HEIGHT,
        bars,
        labels,
        legend: series
            .iter()
            .map(|s| Legend {
                name: s.name,
                class: s.name,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_stack_their_series_scaled_to_the_largest() {
        let chart = stacked(
            &["a".into(), "b".into()],
            &[
                Series {
                    name: "clean",
                    values: vec![10, 0],
                },
                Series {
                    name: "malicious",
                    values: vec![10, 5],
                },
            ],
        );
        let plot = HEIGHT - BOTTOM - TOP;
        assert_eq!(chart.bars.len(), 3);
        // Column a is the largest (20): its two segments fill the plot exactly, stacked.
        assert_eq!(chart.bars[0].h + chart.bars[1].h, plot);
        assert_eq!(chart.bars[1].y + chart.bars[1].h, chart.bars[0].y);
        assert_eq!(chart.bars[2].h, plot / 4);
        assert_eq!(chart.labels[0].text, "20");
        assert_eq!(chart.bars[2].label, "b malicious: 5");
    }

    #[test]
    fn no_data_draws_nothing_and_does_not_divide_by_zero() {
        let chart = stacked(
            &[],
            &[Series {
                name: "clean",
                values: vec![],
            }],
        );
        assert!(chart.bars.is_empty());
    }
}
