//! Mode connectivity: loss and accuracy along the trained Bézier curve and the straight line.

use advland_schema::connectivity::{ConnectivityReport, PathScan};

use crate::line::{LineChart, Series, Style};
use crate::plot::{Chart, FigureSpec, Plot};

/// Loss and accuracy against t, the curve solid and the line dashed (clean and, when
/// scanned, adversarial).
pub fn connectivity_figures(r: &ConnectivityReport) -> Vec<FigureSpec> {
    let paths = [(&r.curve, Style::LineMarkers), (&r.line, Style::Dashed)];
    let series = |loss: bool| {
        let mut out = Vec::new();
        for (path, style) in paths {
            let (clean, adversarial) = if loss {
                (&path.clean_loss, &path.adversarial_loss)
            } else {
                (&path.clean_accuracy, &path.adversarial_accuracy)
            };
            out.push(series_of(path, "clean", clean, 0, style));
            if let Some(values) = adversarial {
                out.push(series_of(path, "adversarial", values, 1, style));
            }
        }
        out
    };
    let charts = vec![
        Chart::Lines(LineChart::new(
            "loss",
            "t",
            "mean cross-entropy (nats)",
            series(true),
        )),
        Chart::Lines(LineChart::new("accuracy", "t", "accuracy", series(false))),
    ];
    vec![FigureSpec::new(
        "connectivity",
        Plot::grid(
            format!(
                "{} → {}: Bézier curve trained on the {} loss vs the line (barrier {:+.3} vs {:+.3})",
                r.checkpoint,
                r.to,
                r.objective.as_str(),
                r.curve.clean_barrier,
                r.line.clean_barrier
            ),
            2,
            charts,
        ),
    )]
}

fn series_of(path: &PathScan, what: &str, values: &[f64], colour: usize, style: Style) -> Series {
    let points = path.t.iter().copied().zip(values.iter().copied()).collect();
    Series::new(format!("{} {what}", path.path), points, colour, style)
}
