//! 2-D fields: filled heat maps with contour lines, and 3-D surface views.

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::contour::isolines;
use crate::figure::Drawn;
use crate::plot::fmt_tick;
use crate::scale::ColourScale;
use crate::theme;

/// Contour lines per heat map: enough to read the shape, few enough to stay legible.
const CONTOUR_LEVELS: usize = 9;

/// A gridded field `z[j·nx + i]` at `(x[i], y[j])`; NaN marks a point that was not computed.
#[derive(Clone, Debug)]
pub struct Field {
    /// Coordinates along the horizontal axis, increasing.
    pub x: Vec<f64>,
    /// Coordinates along the vertical axis, increasing.
    pub y: Vec<f64>,
    /// Values, row-major (y outer, x inner).
    pub z: Vec<f64>,
}

impl Field {
    /// A linear scale over the field's own values (the unit interval for an empty field), for
    /// charts drawn without a shared colour bar.
    pub fn own_scale(&self) -> ColourScale {
        ColourScale::fit(self.z.iter().copied(), false).unwrap_or(ColourScale {
            min: 0.0,
            max: 1.0,
            log: false,
        })
    }

    /// Checks that the lengths agree: `z.len() == x.len() · y.len()`, both axes non-empty.
    pub fn is_consistent(&self) -> bool {
        !self.x.is_empty() && !self.y.is_empty() && self.z.len() == self.x.len() * self.y.len()
    }

    /// Edges of the cell around grid coordinate `k` of `axis`: half-way to its neighbours
    /// (one unit wide for a one-point axis).
    fn cell(axis: &[f64], k: usize) -> (f64, f64) {
        let n = axis.len();
        if n == 1 {
            return (axis[0] - 0.5, axis[0] + 0.5);
        }
        let lo = if k == 0 {
            axis[0] - (axis[1] - axis[0]) / 2.0
        } else {
            (axis[k - 1] + axis[k]) / 2.0
        };
        let hi = if k + 1 == n {
            axis[n - 1] + (axis[n - 1] - axis[n - 2]) / 2.0
        } else {
            (axis[k] + axis[k + 1]) / 2.0
        };
        (lo, hi)
    }
}

/// A filled heat map with contour lines and θ₀ marked.
#[derive(Clone, Debug)]
pub struct HeatmapChart {
    /// Caption (objective and norm, for panels).
    pub caption: String,
    /// Horizontal axis description.
    pub x_label: String,
    /// Vertical axis description.
    pub y_label: String,
    /// The field.
    pub field: Field,
    /// Where to put a cross (the origin θ₀), if inside the grid.
    pub marker: Option<(f64, f64)>,
}

impl HeatmapChart {
    pub(crate) fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        scale: Option<ColourScale>,
    ) -> Result<(), String> {
        let f = &self.field;
        if !f.is_consistent() {
            return Err(format!(
                "heat map `{}`: grid and values disagree",
                self.caption
            ));
        }
        let scale = scale.unwrap_or_else(|| f.own_scale());
        let (x0, x1) = (Field::cell(&f.x, 0).0, Field::cell(&f.x, f.x.len() - 1).1);
        let (y0, y1) = (Field::cell(&f.y, 0).0, Field::cell(&f.y, f.y.len() - 1).1);
        let mut builder = ChartBuilder::on(area);
        if !self.caption.is_empty() {
            builder.caption(&self.caption, (theme::FONT, theme::CAPTION_PX));
        }
        let mut chart = builder
            .margin(14)
            .x_label_area_size(58)
            .y_label_area_size(74)
            .build_cartesian_2d(x0..x1, y0..y1)
            .drawn()?;
        chart
            .configure_mesh()
            .disable_mesh()
            .x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .x_labels(6)
            .y_labels(6)
            .x_label_formatter(&|v| fmt_tick(*v))
            .y_label_formatter(&|v| fmt_tick(*v))
            .label_style((theme::FONT, theme::TICK_PX))
            .axis_desc_style((theme::FONT, theme::LABEL_PX))
            .draw()
            .drawn()?;
        let nx = f.x.len();
        // Missing points (NaN) get no rectangle: the white background shows through.
        chart
            .draw_series(f.z.iter().enumerate().filter_map(|(k, &v)| {
                let colour = scale.colour(v)?;
                let (i, j) = (k % nx, k / nx);
                let (a0, a1) = Field::cell(&f.x, i);
                let (b0, b1) = Field::cell(&f.y, j);
                Some(Rectangle::new([(a0, b0), (a1, b1)], colour.filled()))
            }))
            .drawn()?;
        for level in scale.levels(CONTOUR_LEVELS) {
            let segments = isolines(&f.x, &f.y, &f.z, level);
            chart
                .draw_series(
                    segments.into_iter().map(|[p, q]| {
                        PathElement::new(vec![p, q], WHITE.mix(0.75).stroke_width(1))
                    }),
                )
                .drawn()?;
        }
        if let Some((mx, my)) = self.marker
            && (x0..=x1).contains(&mx)
            && (y0..=y1).contains(&my)
        {
            chart
                .draw_series([
                    Cross::new((mx, my), 8, WHITE.stroke_width(5)),
                    Cross::new((mx, my), 8, RED.stroke_width(2)),
                ])
                .drawn()?;
        }
        Ok(())
    }
}

/// A 2-D field drawn as a 3-D surface (cells coloured by the figure's colour scale).
#[derive(Clone, Debug)]
pub struct SurfaceChart {
    /// Caption; 3-D axes carry no descriptions in plotters, so it names all three.
    pub caption: String,
    /// The field.
    pub field: Field,
}

impl SurfaceChart {
    pub(crate) fn draw<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        scale: Option<ColourScale>,
    ) -> Result<(), String> {
        let f = &self.field;
        if !f.is_consistent() || f.x.len() < 2 || f.y.len() < 2 {
            return Err(format!(
                "surface `{}`: needs a 2-D grid of at least 2×2",
                self.caption
            ));
        }
        let scale = scale.unwrap_or_else(|| f.own_scale());
        // Heights in scale space, so a log colour scale also gives a log height axis.
        let h = |v: f64| scale.transform(v);
        let (zlo, zhi) = crate::plot::padded_range(f.z.iter().map(|&v| h(v)));
        let (x0, x1) = (f.x[0], f.x[f.x.len() - 1]);
        let (y0, y1) = (f.y[0], f.y[f.y.len() - 1]);
        let mut chart = ChartBuilder::on(area)
            .caption(&self.caption, (theme::FONT, theme::CAPTION_PX))
            .margin(20)
            .build_cartesian_3d(x0..x1, zlo..zhi, y0..y1)
            .drawn()?;
        chart.with_projection(|mut p| {
            p.yaw = 0.7;
            p.pitch = 0.45;
            p.scale = 0.85;
            p.into_matrix()
        });
        let log = scale.log;
        let fz = move |v: &f64| fmt_tick(if log { 10f64.powf(*v) } else { *v });
        chart
            .configure_axes()
            .label_style((theme::FONT, theme::TICK_PX))
            .x_formatter(&|v| fmt_tick(*v))
            .y_formatter(&fz)
            .z_formatter(&|v| fmt_tick(*v))
            .light_grid_style(BLACK.mix(0.1))
            .max_light_lines(3)
            .draw()
            .drawn()?;
        let nx = f.x.len();
        let mut quads = Vec::new();
        for j in 0..f.y.len() - 1 {
            for i in 0..nx - 1 {
                let ks = [
                    j * nx + i,
                    j * nx + i + 1,
                    (j + 1) * nx + i + 1,
                    (j + 1) * nx + i,
                ];
                let zs = ks.map(|k| h(f.z[k]));
                if zs.iter().any(|z| !z.is_finite()) {
                    continue;
                }
                let pts: Vec<(f64, f64, f64)> = [(i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1)]
                    .iter()
                    .zip(zs)
                    .map(|(&(a, b), z)| (f.x[a], z, f.y[b]))
                    .collect();
                let mean = ks.iter().map(|&k| f.z[k]).sum::<f64>() / 4.0;
                let centre = (
                    (f.x[i] + f.x[i + 1]) / 2.0,
                    zs.iter().sum::<f64>() / 4.0,
                    (f.y[j] + f.y[j + 1]) / 2.0,
                );
                let depth = chart
                    .as_coord_spec()
                    .projected_depth(&centre.0, &centre.1, &centre.2);
                quads.push((depth, pts, mean));
            }
        }
        // Painter's algorithm: far cells first, so near ones cover them. Ties keep grid
        // order (stable sort), which keeps the output deterministic.
        quads.sort_by_key(|q| std::cmp::Reverse(q.0));
        // Each face is painted with its outline before the next nearer one, so near faces
        // hide far edges.
        for (_, pts, mean) in &quads {
            if let Some(colour) = scale.colour(*mean) {
                chart
                    .draw_series([Polygon::new(pts.clone(), colour.filled())])
                    .drawn()?;
            }
            let mut ring = pts.clone();
            ring.push(pts[0]);
            chart
                .draw_series([PathElement::new(ring, BLACK.mix(0.25))])
                .drawn()?;
        }
        Ok(())
    }
}
