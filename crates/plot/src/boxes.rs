//! Box-and-whisker summaries of per-example distributions (input flatness).

use advland_schema::flatness::Distribution;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::figure::Drawn;
use crate::plot::{fmt_tick, padded_range};
use crate::theme;

/// One box: whiskers from min to max, box from q10 to q90, a bar at the median, a dot at the
/// mean. (Reports keep q10/q90, not quartiles, so the box spans the central 80 %.)
#[derive(Clone, Debug)]
pub struct BoxItem {
    /// Category name under the box.
    pub label: String,
    /// The summary.
    pub dist: Distribution,
    /// Palette index.
    pub colour: usize,
}

/// A chart of boxes side by side.
#[derive(Clone, Debug)]
pub struct BoxChart {
    /// Caption (the measure).
    pub caption: String,
    /// Vertical axis description with units.
    pub y_label: String,
    /// The boxes, left to right.
    pub items: Vec<BoxItem>,
}

impl BoxChart {
    pub(crate) fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
    ) -> Result<(), String> {
        let n = self.items.len().max(1);
        let (y0, y1) = padded_range(
            self.items
                .iter()
                .flat_map(|b| [b.dist.min, b.dist.max, b.dist.q10, b.dist.q90]),
        );
        let mut chart = ChartBuilder::on(area)
            .caption(&self.caption, (theme::FONT, theme::CAPTION_PX))
            .margin(14)
            .x_label_area_size(40)
            .y_label_area_size(82)
            .build_cartesian_2d(-0.5..(n as f64 - 0.5), y0..y1)
            .drawn()?;
        let labels: Vec<String> = self.items.iter().map(|b| b.label.clone()).collect();
        // Only integer positions carry a box; other ticks stay blank.
        let fx = |v: &f64| {
            let i = v.round();
            if (v - i).abs() < 1e-9 && i >= 0.0 {
                labels.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(2 * n + 1)
            .y_labels(7)
            .x_label_formatter(&fx)
            .y_label_formatter(&|v| fmt_tick(*v))
            .y_desc(&self.y_label)
            .label_style((theme::FONT, theme::TICK_PX))
            .axis_desc_style((theme::FONT, theme::LABEL_PX))
            .light_line_style(RGBColor(240, 240, 240))
            .bold_line_style(RGBColor(215, 215, 215))
            .draw()
            .drawn()?;
        for (i, item) in self.items.iter().enumerate() {
            let x = i as f64;
            let c = theme::colour(item.colour);
            let d = item.dist;
            let w = 0.28;
            chart
                .draw_series([
                    PathElement::new(vec![(x, d.min), (x, d.q10)], BLACK.stroke_width(1)),
                    PathElement::new(vec![(x, d.q90), (x, d.max)], BLACK.stroke_width(1)),
                    PathElement::new(
                        vec![(x - w / 2.0, d.min), (x + w / 2.0, d.min)],
                        BLACK.stroke_width(1),
                    ),
                    PathElement::new(
                        vec![(x - w / 2.0, d.max), (x + w / 2.0, d.max)],
                        BLACK.stroke_width(1),
                    ),
                ])
                .drawn()?;
            chart
                .draw_series([
                    Rectangle::new([(x - w, d.q10), (x + w, d.q90)], c.mix(0.35).filled()),
                    Rectangle::new([(x - w, d.q10), (x + w, d.q90)], c.stroke_width(2)),
                ])
                .drawn()?;
            chart
                .draw_series([PathElement::new(
                    vec![(x - w, d.median), (x + w, d.median)],
                    BLACK.stroke_width(3),
                )])
                .drawn()?;
            chart
                .draw_series([Circle::new((x, d.mean), 5, WHITE.filled())])
                .drawn()?;
            chart
                .draw_series([Circle::new((x, d.mean), 5, BLACK.stroke_width(2))])
                .drawn()?;
        }
        Ok(())
    }
}
