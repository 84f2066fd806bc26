//! The figure layout every drawing function fills in: a title, a grid of charts and at most
//! one colour bar shared by all heat maps of the figure.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::boxes::BoxChart;
use crate::figure::{Drawing, Drawn};
use crate::heatmap::{HeatmapChart, SurfaceChart};
use crate::line::LineChart;
use crate::scale::{ColourScale, viridis};
use crate::theme;

/// One chart of a figure.
#[derive(Clone, Debug)]
pub enum Chart {
    /// Curves and scatter points.
    Lines(LineChart),
    /// Box-and-whisker summaries of distributions.
    Boxes(BoxChart),
    /// A 2-D field as a filled heat map with contour lines.
    Heatmap(HeatmapChart),
    /// A 2-D field as a 3-D surface.
    Surface(SurfaceChart),
}

/// A figure before rendering: its name within a report (`spectrum`, `loss-2d`) and layout.
#[derive(Clone, Debug)]
pub struct FigureSpec {
    /// Short name, unique within one report; file names are `<report slug>--<name>`.
    pub name: String,
    /// The layout.
    pub plot: Plot,
}

impl FigureSpec {
    /// Names a layout.
    pub fn new(name: impl Into<String>, plot: Plot) -> Self {
        FigureSpec {
            name: name.into(),
            plot,
        }
    }

    /// Draws it as `<prefix>--<name>`.
    ///
    /// # Errors
    /// See [`crate::Figure::render`].
    pub fn render(&self, prefix: &str) -> crate::Result<crate::Figure> {
        let name = if prefix.is_empty() {
            self.name.clone()
        } else {
            format!("{prefix}--{}", self.name)
        };
        crate::Figure::render(&name, &self.plot.title, &self.plot)
    }
}

/// The colour bar of a figure: one scale for every heat map in it.
#[derive(Clone, Debug)]
pub struct ColourBar {
    /// The scale.
    pub scale: ColourScale,
    /// What the colour means, with units (`loss (nats)`).
    pub label: String,
}

/// A whole figure: title, charts laid out row by row in `cols` columns, optional colour bar.
#[derive(Clone, Debug)]
pub struct Plot {
    /// Figure title (drawn at the top).
    pub title: String,
    /// Number of columns of the chart grid.
    pub cols: usize,
    /// Pixel size of one grid cell.
    pub cell: (u32, u32),
    /// The charts, row by row.
    pub charts: Vec<Chart>,
    /// The shared colour bar (heat maps and surfaces use it; it is drawn at the right).
    pub colour_bar: Option<ColourBar>,
}

impl Plot {
    /// A figure of one chart at the single-figure size.
    pub fn single(title: impl Into<String>, chart: Chart) -> Plot {
        Plot {
            title: title.into(),
            cols: 1,
            cell: (theme::WIDTH, theme::HEIGHT - theme::TITLE_BAND),
            charts: vec![chart],
            colour_bar: None,
        }
    }

    /// A grid of panels, `cols` per row.
    pub fn grid(title: impl Into<String>, cols: usize, charts: Vec<Chart>) -> Plot {
        Plot {
            title: title.into(),
            cols: cols.max(1),
            cell: (theme::PANEL_WIDTH, theme::PANEL_HEIGHT),
            charts,
            colour_bar: None,
        }
    }

    /// Adds a colour bar.
    pub fn with_colour_bar(mut self, scale: ColourScale, label: impl Into<String>) -> Plot {
        self.colour_bar = Some(ColourBar {
            scale,
            label: label.into(),
        });
        self
    }

    fn rows(&self) -> usize {
        self.charts.len().div_ceil(self.cols).max(1)
    }
}

impl Drawing for Plot {
    fn size(&self) -> (u32, u32) {
        let bar = if self.colour_bar.is_some() {
            theme::COLOUR_BAR_BAND
        } else {
            0
        };
        let cols = self.cols.min(self.charts.len().max(1)) as u32;
        (
            cols * self.cell.0 + bar,
            self.rows() as u32 * self.cell.1 + theme::TITLE_BAND,
        )
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).drawn()?;
        let (title, body) = root.split_vertically(theme::TITLE_BAND);
        title
            .draw(&Text::new(
                self.title.clone(),
                (theme::WIDTH as i32 / 50, 10),
                (theme::FONT, theme::TITLE_PX).into_font(),
            ))
            .drawn()?;
        let (main, bar) = match &self.colour_bar {
            Some(bar) => {
                let width = body.dim_in_pixel().0;
                let (main, band) = body.split_horizontally(width - theme::COLOUR_BAR_BAND);
                (main, Some((band, bar)))
            }
            None => (body, None),
        };
        let cols = self.cols.min(self.charts.len().max(1));
        let cells = main.split_evenly((self.rows(), cols));
        let scale = self.colour_bar.as_ref().map(|b| b.scale);
        for (chart, area) in self.charts.iter().zip(&cells) {
            match chart {
                Chart::Lines(c) => c.draw(area)?,
                Chart::Boxes(c) => c.draw(area)?,
                Chart::Heatmap(c) => c.draw(area, scale)?,
                Chart::Surface(c) => c.draw(area, scale)?,
            }
        }
        if let Some((band, bar)) = bar {
            draw_colour_bar(&band, bar)?;
        }
        Ok(())
    }
}

/// A vertical gradient with tick labels in data units (on a log scale the ticks are evenly
/// spaced decades or fractions of decades, labelled with the loss itself).
fn draw_colour_bar<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    bar: &ColourBar,
) -> Result<(), String> {
    let s = bar.scale;
    let (a, b) = (s.transform(s.min), s.transform(s.max));
    let mut chart = ChartBuilder::on(area)
        .caption(&bar.label, (theme::FONT, theme::TICK_PX))
        .margin_top(24)
        .margin_bottom(70)
        .margin_left(8)
        .margin_right(4)
        // Labels right of the bar: drawn on the left, ab_glyph-measured text ran into the bar.
        .right_y_label_area_size(72)
        .build_cartesian_2d(0.0..1.0, a..b)
        .drawn()?;
    let fmt = |t: &f64| fmt_tick(s.untransform(*t));
    chart
        .configure_mesh()
        .disable_x_mesh()
        .disable_y_mesh()
        .x_labels(0)
        .y_labels(8)
        .y_label_formatter(&fmt)
        .label_style((theme::FONT, theme::TICK_PX))
        .draw()
        .drawn()?;
    const STEPS: usize = 128;
    chart
        .draw_series((0..STEPS).map(|i| {
            let lo = a + (b - a) * i as f64 / STEPS as f64;
            let hi = a + (b - a) * (i + 1) as f64 / STEPS as f64;
            let p = (i as f64 + 0.5) / STEPS as f64;
            Rectangle::new([(0.0, lo), (1.0, hi)], viridis(p).filled())
        }))
        .drawn()?;
    Ok(())
}

/// Short tick labels: about three significant digits, scientific notation outside
/// [10⁻³, 10⁴).
pub fn fmt_tick(v: f64) -> String {
    if !v.is_finite() {
        return String::new();
    }
    // Tick positions computed as sums of steps land at ±1e-17 instead of 0.
    if v.abs() < 1e-12 {
        return "0".to_owned();
    }
    let a = v.abs();
    if !(1e-3..1e4).contains(&a) {
        let s = format!("{v:.1e}");
        return s.replace(".0e", "e");
    }
    let decimals = (2 - a.log10().floor() as i32).clamp(0, 5) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

/// A padded axis range holding every finite value; a fixed range around a lone value.
pub fn padded_range(values: impl IntoIterator<Item = f64>) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values.into_iter().filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if lo > hi {
        return (0.0, 1.0);
    }
    if lo == hi {
        let pad = if lo == 0.0 { 0.5 } else { lo.abs() * 0.1 };
        return (lo - pad, hi + pad);
    }
    let pad = (hi - lo) * 0.05;
    (lo - pad, hi + pad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_labels_are_short() {
        assert_eq!(fmt_tick(0.0), "0");
        assert_eq!(fmt_tick(0.5), "0.5");
        assert_eq!(fmt_tick(1.23456), "1.23");
        assert_eq!(fmt_tick(123.456), "123");
        assert_eq!(fmt_tick(-0.0123), "-0.0123");
        assert_eq!(fmt_tick(2.5e-5), "2.5e-5");
        assert_eq!(fmt_tick(1e6), "1e6");
    }

    #[test]
    fn padded_range_survives_constant_and_empty_data() {
        assert_eq!(padded_range([f64::NAN]), (0.0, 1.0));
        assert_eq!(padded_range([0.0]), (-0.5, 0.5));
        let (lo, hi) = padded_range([0.0, 10.0]);
        assert!(lo < 0.0 && hi > 10.0);
    }
}
