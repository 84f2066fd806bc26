//! Input-space flatness: distributions at clean vs adversarial points, 1-D loss curves, the
//! 2-D loss surface around one example.

use advland_schema::flatness::{Distribution, FlatnessReport, InputPoint};

use crate::boxes::{BoxChart, BoxItem};
use crate::heatmap::{Field, HeatmapChart};
use crate::label;
use crate::line::{LineChart, Series, Style};
use crate::plot::{Chart, FigureSpec, Plot};
use crate::scale::ColourScale;

/// The figures of one flatness report.
pub fn flatness_figures(r: &FlatnessReport) -> Vec<FigureSpec> {
    let at = label::attack(&r.attack);
    let mut out = Vec::new();
    type Pick = fn(&advland_schema::flatness::FlatnessAtPoint) -> Option<Distribution>;
    let measures: [(&str, &str, Pick); 7] = [
        ("loss ℓ", "nats", |p| Some(p.loss)),
        ("‖∇ₓℓ‖₂", "per pixel unit", |p| Some(p.grad_l2)),
        ("‖∇ₓℓ‖₁", "per pixel unit", |p| Some(p.grad_l1)),
        ("input-Hessian λmax", "signed", |p| Some(p.hessian_top)),
        ("gᵀHg/‖g‖²", "curvature along ∇ₓℓ", |p| {
            Some(p.curvature_along_gradient)
        }),
        ("tr ∇²ₓℓ", "Hutchinson", |p| Some(p.hessian_trace)),
        (
            "KKT multiplier λ",
            "‖∇ₓℓ(x+δ*)‖_*/ε (dual norm)",
            |p| p.kkt_multiplier,
        ),
    ];
    let charts: Vec<Chart> = measures
        .iter()
        .filter_map(|(name, unit, pick)| {
            let items: Vec<BoxItem> = r
                .points
                .iter()
                .filter_map(|p| {
                    let (label, colour) = match p.point {
                        InputPoint::Clean => ("at x", 0),
                        InputPoint::Adversarial => ("at x+δ*", 1),
                    };
                    pick(p).map(|dist| BoxItem {
                        label: label.to_owned(),
                        dist,
                        colour,
                    })
                })
                .collect();
            (!items.is_empty()).then(|| {
                Chart::Boxes(BoxChart {
                    caption: (*name).to_owned(),
                    y_label: (*unit).to_owned(),
                    items,
                })
            })
        })
        .collect();
    if !charts.is_empty() {
        out.push(FigureSpec::new(
            "distributions",
            Plot::grid(
                format!(
                    "Input flatness over {} examples, {at} (box q10–q90, bar median, ○ mean)",
                    r.examples
                ),
                4,
                charts,
            ),
        ));
    }
    if !r.curves.is_empty() {
        let series = r
            .curves
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let style = if c.direction == "gradient" {
                    Style::Line
                } else {
                    Style::Dashed
                };
                let pts =
                    c.t.iter()
                        .copied()
                        .zip(c.mean_loss.iter().copied())
                        .collect();
                Series::new(c.direction.clone(), pts, i, style)
            })
            .collect();
        out.push(FigureSpec::new(
            "input-curves",
            Plot::single(
                format!("Input-space loss along lines through x, {at}"),
                Chart::Lines(LineChart::new(
                    "",
                    "t (offset in pixel units, L2 length of the step)",
                    "mean loss ℓ(x + t·v) (nats)",
                    series,
                )),
            ),
        ));
    }
    if let Some(s) = &r.surface
        && s.loss.len() == s.x.points * s.y.points
    {
        let f = Field {
            x: s.x.values(),
            y: s.y.values(),
            z: s.loss.clone(),
        };
        if let Some(scale) = ColourScale::fit(f.z.iter().copied(), false) {
            out.push(FigureSpec::new(
                "input-surface",
                Plot::single(
                    format!(
                        "Loss around example {} (label {}), {at}",
                        s.example, s.label
                    ),
                    Chart::Heatmap(HeatmapChart {
                        caption: String::new(),
                        x_label: format!("a along {} (pixel units)", s.directions[0]),
                        y_label: format!("b along {} (pixel units)", s.directions[1]),
                        field: f,
                        marker: Some((0.0, 0.0)),
                    }),
                )
                .with_colour_bar(scale, "loss (nats)"),
            ));
        }
    }
    out
}
