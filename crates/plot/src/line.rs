//! Curves and scatter plots: 1-D surfaces, κ(r), spectra, training curves, relations.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::figure::Drawn;
use crate::plot::{fmt_tick, padded_range};
use crate::theme;

/// How a series is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// A solid line.
    Line,
    /// A dashed line (a second family of series on the same axes, e.g. accuracy next to
    /// loss or the frozen ablation next to the live objective).
    Dashed,
    /// Markers only (scatter plots, eigenvalues).
    Markers,
    /// A solid line with a marker at every point (few points: κ(r), epochs).
    LineMarkers,
}

/// One labelled series.
#[derive(Clone, Debug)]
pub struct Series {
    /// Legend text.
    pub label: String,
    /// Points in data coordinates; a non-finite coordinate breaks the line.
    pub points: Vec<(f64, f64)>,
    /// Palette index ([`theme::colour`]).
    pub colour: usize,
    /// Line or markers.
    pub style: Style,
}

impl Series {
    /// A series with a palette colour and style.
    pub fn new(
        label: impl Into<String>,
        points: Vec<(f64, f64)>,
        colour: usize,
        style: Style,
    ) -> Self {
        Series {
            label: label.into(),
            points,
            colour,
            style,
        }
    }
}

/// Where the legend goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Legend {
    /// Top right corner (default).
    UpperRight,
    /// Top centre (U-shaped curves: loss surfaces around a minimum).
    UpperMiddle,
    /// Top left corner.
    UpperLeft,
    /// Bottom right corner.
    LowerRight,
    /// Bottom left corner.
    LowerLeft,
    /// No legend (one series, named by the caption).
    Hidden,
}

/// A chart of curves and points.
#[derive(Clone, Debug)]
pub struct LineChart {
    /// Caption above the chart (empty: none, when the figure title says it all).
    pub caption: String,
    /// Horizontal axis description with units.
    pub x_label: String,
    /// Vertical axis description with units.
    pub y_label: String,
    /// The series, drawn in order.
    pub series: Vec<Series>,
    /// log10 horizontal axis (values ≤ 0 are left out).
    pub log_x: bool,
    /// log10 vertical axis (values ≤ 0 are left out).
    pub log_y: bool,
    /// Legend position.
    pub legend: Legend,
    /// A horizontal reference line (e.g. 0 for signed eigenvalues).
    pub reference_y: Option<f64>,
    /// The horizontal axis counts things (epochs, indices): label whole numbers only.
    pub integer_x: bool,
}

impl LineChart {
    /// A linear-axes chart with the legend at the top right.
    pub fn new(
        caption: impl Into<String>,
        x_label: impl Into<String>,
        y_label: impl Into<String>,
        series: Vec<Series>,
    ) -> Self {
        LineChart {
            caption: caption.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            series,
            log_x: false,
            log_y: false,
            legend: Legend::UpperRight,
            reference_y: None,
            integer_x: false,
        }
    }

    /// Sets the log axes.
    pub fn log(mut self, log_x: bool, log_y: bool) -> Self {
        self.log_x = log_x;
        self.log_y = log_y;
        self
    }

    /// Labels only whole numbers on the horizontal axis.
    pub fn integer_x(mut self) -> Self {
        self.integer_x = true;
        self
    }

    /// Sets the legend position.
    pub fn legend(mut self, legend: Legend) -> Self {
        self.legend = legend;
        self
    }

    /// Log axes are drawn in log10 space; this maps a point there (NaN when not drawable).
    fn map(&self, (x, y): (f64, f64)) -> (f64, f64) {
        let t = |v: f64, log: bool| {
            if !log {
                v
            } else if v > 0.0 {
                v.log10()
            } else {
                f64::NAN
            }
        };
        (t(x, self.log_x), t(y, self.log_y))
    }

    pub(crate) fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
    ) -> Result<(), String> {
        let mapped: Vec<Vec<(f64, f64)>> = self
            .series
            .iter()
            .map(|s| s.points.iter().map(|&p| self.map(p)).collect())
            .collect();
        let all = mapped
            .iter()
            .flatten()
            .filter(|p| p.0.is_finite() && p.1.is_finite());
        let (x0, x1) = padded_range(all.clone().map(|p| p.0));
        let mut ys: Vec<f64> = all.map(|p| p.1).collect();
        ys.extend(self.reference_y.map(|r| self.map((1.0, r)).1));
        let (y0, y1) = padded_range(ys);

        let mut builder = ChartBuilder::on(area);
        if !self.caption.is_empty() {
            builder.caption(&self.caption, (theme::FONT, theme::CAPTION_PX));
        }
        let mut chart = builder
            .margin(14)
            .x_label_area_size(58)
            .y_label_area_size(82)
            .build_cartesian_2d(x0..x1, y0..y1)
            .drawn()?;
        let (lx, ly) = (self.log_x, self.log_y);
        let integer = self.integer_x;
        let fx = move |v: &f64| {
            if integer && (v - v.round()).abs() > 1e-9 {
                String::new()
            } else {
                fmt_tick(if lx { 10f64.powf(*v) } else { *v })
            }
        };
        let fy = move |v: &f64| fmt_tick(if ly { 10f64.powf(*v) } else { *v });
        chart
            .configure_mesh()
            .x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .x_labels(7)
            .y_labels(7)
            .x_label_formatter(&fx)
            .y_label_formatter(&fy)
            .label_style((theme::FONT, theme::TICK_PX))
            .axis_desc_style((theme::FONT, theme::LABEL_PX))
            .light_line_style(RGBColor(240, 240, 240))
            .bold_line_style(RGBColor(215, 215, 215))
            .draw()
            .drawn()?;
        if let Some(r) = self.reference_y {
            let r = self.map((1.0, r)).1;
            chart
                .draw_series(LineSeries::new([(x0, r), (x1, r)], BLACK.mix(0.5)))
                .drawn()?;
        }
        let mut labelled = false;
        for (series, points) in self.series.iter().zip(&mapped) {
            let colour = theme::colour(series.colour);
            let stroke = colour.stroke_width(2);
            let mut first = true;
            let mut legend_done = false;
            for run in finite_runs(points) {
                let annotation = match series.style {
                    Style::Line | Style::LineMarkers => {
                        Some(chart.draw_series(LineSeries::new(run.iter().copied(), stroke)))
                    }
                    Style::Dashed => Some(chart.draw_series(DashedLineSeries::new(
                        run.iter().copied(),
                        9,
                        6,
                        stroke,
                    ))),
                    Style::Markers => None,
                };
                if let Some(annotation) = annotation {
                    let annotation = annotation.drawn()?;
                    if first && !series.label.is_empty() {
                        // A gap in the swatch marks dashed series.
                        let gap = if series.style == Style::Dashed { 5 } else { 0 };
                        annotation
                            .label(series.label.clone())
                            .legend(move |(x, y)| {
                                EmptyElement::at((x, y))
                                    + PathElement::new(vec![(0, 0), (8, 0)], stroke)
                                    + PathElement::new(vec![(8 + gap, 0), (20, 0)], stroke)
                            });
                        legend_done = true;
                        labelled = true;
                    }
                }
                first = false;
            }
            if matches!(series.style, Style::Markers | Style::LineMarkers) {
                let annotation = chart
                    .draw_series(
                        points
                            .iter()
                            .filter(|p| p.0.is_finite() && p.1.is_finite())
                            .map(|&p| Circle::new(p, 4, colour.filled())),
                    )
                    .drawn()?;
                if !legend_done && !series.label.is_empty() {
                    annotation
                        .label(series.label.clone())
                        .legend(move |(x, y)| Circle::new((x + 10, y), 4, colour.filled()));
                    labelled = true;
                }
            }
        }
        if labelled && self.legend != Legend::Hidden {
            let position = match self.legend {
                Legend::UpperLeft => SeriesLabelPosition::UpperLeft,
                Legend::UpperMiddle => SeriesLabelPosition::UpperMiddle,
                Legend::LowerRight => SeriesLabelPosition::LowerRight,
                Legend::LowerLeft => SeriesLabelPosition::LowerLeft,
                _ => SeriesLabelPosition::UpperRight,
            };
            chart
                .configure_series_labels()
                .position(position)
                .margin(8)
                .legend_area_size(28)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK.mix(0.4))
                .label_font((theme::FONT, theme::TICK_PX))
                .draw()
                .drawn()?;
        }
        Ok(())
    }
}

/// The maximal runs of consecutive finite points (a NaN, e.g. a missing grid point, breaks a
/// curve instead of being joined over).
fn finite_runs(points: &[(f64, f64)]) -> Vec<&[(f64, f64)]> {
    points
        .split(|p| !(p.0.is_finite() && p.1.is_finite()))
        .filter(|run| !run.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_breaks_a_curve_into_runs() {
        let n = f64::NAN;
        let pts = [(0.0, 1.0), (1.0, n), (2.0, 2.0), (3.0, 3.0), (n, 0.0)];
        let runs = finite_runs(&pts);
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[1], &[(2.0, 2.0), (3.0, 3.0)]);
    }
}
