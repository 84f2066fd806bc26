//! `compare`: each measure against the epoch, one line per run (robust overfitting shows as a
//! test robust accuracy that peaks and falls).

use advland_schema::CompareReport;

use crate::line::{LineChart, Series, Style};
use crate::plot::{Chart, FigureSpec, Plot};

/// Measures per figure: more panels than this stop being legible at paper size.
const PER_FIGURE: usize = 6;

/// One panel per measure in figures of up to six panels.
pub fn compare_figures(r: &CompareReport) -> Vec<FigureSpec> {
    let charts: Vec<Chart> = r
        .measures
        .iter()
        .map(|m| {
            let series = r
                .runs
                .iter()
                .enumerate()
                .filter_map(|(i, run)| {
                    let points: Vec<(f64, f64)> = r
                        .rows
                        .iter()
                        .filter(|row| &row.run == run)
                        .filter_map(|row| row.values.get(m).map(|&v| (row.epoch as f64, v)))
                        .collect();
                    (!points.is_empty())
                        .then(|| Series::new(run.as_str(), points, i, Style::LineMarkers))
                })
                .collect();
            Chart::Lines(LineChart::new(m.as_str(), "epoch", m.as_str(), series).integer_x())
        })
        .collect();
    let total = charts.len().div_ceil(PER_FIGURE);
    let mut charts = charts.into_iter();
    (0..total)
        .map(|i| {
            let chunk: Vec<Chart> = charts.by_ref().take(PER_FIGURE).collect();
            FigureSpec::new(
                format!("compare-{}", i + 1),
                Plot::grid(
                    format!("Measures per checkpoint ({} of {total})", i + 1),
                    2,
                    chunk,
                ),
            )
        })
        .collect()
}
