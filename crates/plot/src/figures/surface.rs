//! Parameter-space loss surfaces: 1-D curves, 2-D heat maps, 3-D views, L∞-next-to-L2 panels.

use advland_schema::{DirectionKind, ObjectiveKind, SurfaceReport};

use crate::error::{Error, Result};
use crate::heatmap::{Field, HeatmapChart, SurfaceChart};
use crate::label;
use crate::line::{Legend, LineChart, Series, Style};
use crate::plot::{Chart, FigureSpec, Plot};
use crate::scale::ColourScale;

/// Whether heat-map colours follow log10 of the loss.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogScale {
    /// Log when the finite positive losses span more than two decades (the usual shape of
    /// adversarial surfaces far from θ₀), linear otherwise.
    #[default]
    Auto,
    /// Always log10.
    Always,
    /// Never.
    Never,
}

impl LogScale {
    fn decide(self, values: &[f64]) -> bool {
        match self {
            LogScale::Always => true,
            LogScale::Never => false,
            LogScale::Auto => {
                let pos = values.iter().copied().filter(|v| v.is_finite() && *v > 0.0);
                let (lo, hi) = pos.fold((f64::INFINITY, 0.0f64), |(a, b), v| (a.min(v), b.max(v)));
                lo.is_finite() && hi / lo > 100.0
            }
        }
    }
}

/// The report's attack, as a legend/caption fragment (`L∞ ε=8/255`), or `no attack`.
fn attack_of(r: &SurfaceReport) -> String {
    r.attack
        .as_ref()
        .map_or("no attack".to_owned(), label::attack)
}

/// Axis descriptions: what a coordinate of 1 means for these directions.
fn axis_labels(r: &SurfaceReport) -> (String, String) {
    let norm = |i: usize| {
        r.directions
            .norms
            .get(i)
            .map(|n| format!(", ‖d{}‖={}", i + 1, crate::plot::fmt_tick(*n)))
            .unwrap_or_default()
    };
    match r.directions.kind {
        DirectionKind::Interpolation => ("α (θ = A + α(B − A))".to_owned(), String::new()),
        DirectionKind::Plane => ("α along B − A".to_owned(), "β along C − A".to_owned()),
        DirectionKind::Hessian => (
            format!("α along Hessian eigenvector 1{}", norm(0)),
            format!("β along Hessian eigenvector 2{}", norm(1)),
        ),
        DirectionKind::Random => (
            format!("α along d1{}", norm(0)),
            format!("β along d2{}", norm(1)),
        ),
    }
}

fn check(r: &SurfaceReport, what: &str) -> Result<()> {
    let bad = |reason: String| {
        Err(Error::InvalidData {
            what: what.to_owned(),
            reason,
        })
    };
    if r.points.iter().any(|&k| k >= r.grid_len()) {
        return bad(format!(
            "a point index is outside the {}-point grid",
            r.grid_len()
        ));
    }
    for v in &r.values {
        if v.loss.len() != r.points.len() || v.accuracy.len() != r.points.len() {
            return bad(format!(
                "`{}` has {} losses and {} accuracies for {} points",
                v.objective.as_str(),
                v.loss.len(),
                v.accuracy.len(),
                r.points.len()
            ));
        }
    }
    Ok(())
}

fn objectives(r: &SurfaceReport) -> Vec<ObjectiveKind> {
    r.values.iter().map(|v| v.objective).collect()
}

fn field(r: &SurfaceReport, o: ObjectiveKind, accuracy: bool) -> Option<Field> {
    let y = r.y?;
    Some(Field {
        x: r.x.values(),
        y: y.values(),
        z: r.dense(o, accuracy)?,
    })
}

fn curve(r: &SurfaceReport, o: ObjectiveKind, accuracy: bool) -> Vec<(f64, f64)> {
    let z = r.dense(o, accuracy).unwrap_or_default();
    r.x.values().into_iter().zip(z).collect()
}

/// The figures of one surface report: 1-D loss and accuracy curves, or for 2-D grids the loss
/// heat maps of all objectives side by side (one colour scale), their accuracy maps and a 3-D
/// view. Missing points (shards) are drawn blank.
///
/// # Errors
/// [`Error::InvalidData`] naming `what` when point indices or value lengths disagree.
pub fn surface_figures(r: &SurfaceReport, what: &str, log: LogScale) -> Result<Vec<FigureSpec>> {
    check(r, what)?;
    let (xl, yl) = axis_labels(r);
    let at = attack_of(r);
    let completeness = if r.is_complete() {
        String::new()
    } else {
        format!(" ({}/{} points)", r.points.len(), r.grid_len())
    };
    if r.y.is_none() {
        let loss = objectives(r)
            .into_iter()
            .enumerate()
            .map(|(i, o)| Series::new(label::objective(o), curve(r, o, false), i, Style::Line))
            .collect();
        let acc = objectives(r)
            .into_iter()
            .enumerate()
            .map(|(i, o)| Series::new(label::objective(o), curve(r, o, true), i, Style::Dashed))
            .collect();
        let plot = Plot::grid(
            format!("Loss surface along one direction, {at}{completeness}"),
            2,
            vec![
                Chart::Lines(
                    LineChart::new("loss", &xl, "mean cross-entropy (nats)", loss)
                        .legend(Legend::UpperMiddle),
                ),
                Chart::Lines(
                    LineChart::new("accuracy", &xl, "accuracy (fraction)", acc)
                        .legend(Legend::LowerRight),
                ),
            ],
        );
        return Ok(vec![FigureSpec::new("surface-1d", plot)]);
    }
    let objs = objectives(r);
    let loss_fields: Vec<Field> = objs.iter().filter_map(|&o| field(r, o, false)).collect();
    let all: Vec<f64> = loss_fields
        .iter()
        .flat_map(|f| f.z.iter().copied())
        .collect();
    let log = log.decide(&all);
    let Some(scale) = ColourScale::fit(all.iter().copied(), log) else {
        return Ok(Vec::new());
    };
    let bar_label = if log { "loss (log)" } else { "loss (nats)" };
    let heat = |f: &Field, caption: String| {
        Chart::Heatmap(HeatmapChart {
            caption,
            x_label: xl.clone(),
            y_label: yl.clone(),
            field: f.clone(),
            marker: Some((0.0, 0.0)),
        })
    };
    let cols = objs.len().min(3);
    let loss_charts = objs
        .iter()
        .zip(&loss_fields)
        .map(|(&o, f)| heat(f, label::objective(o).to_owned()))
        .collect();
    let mut out = vec![FigureSpec::new(
        "surface-2d-loss",
        Plot::grid(
            format!("Loss surface, {at}{completeness}"),
            cols,
            loss_charts,
        )
        .with_colour_bar(scale, bar_label),
    )];
    let acc_fields: Vec<Field> = objs.iter().filter_map(|&o| field(r, o, true)).collect();
    let acc_scale = ColourScale {
        min: 0.0,
        max: 1.0,
        log: false,
    };
    out.push(FigureSpec::new(
        "surface-2d-accuracy",
        Plot::grid(
            format!("Accuracy surface, {at}{completeness}"),
            cols,
            objs.iter()
                .zip(&acc_fields)
                .map(|(&o, f)| heat(f, label::objective(o).to_owned()))
                .collect(),
        )
        .with_colour_bar(acc_scale, "accuracy"),
    ));
    if r.x.points >= 2 && r.y.is_some_and(|y| y.points >= 2) {
        let views = objs
            .iter()
            .zip(&loss_fields)
            .map(|(&o, f)| {
                Chart::Surface(SurfaceChart {
                    caption: format!("{}: height = loss, floor = (α, β)", label::objective(o)),
                    field: f.clone(),
                })
            })
            .collect();
        out.push(FigureSpec::new(
            "surface-3d",
            Plot::grid(
                format!("Loss surface in 3-D, {at}{completeness}"),
                cols,
                views,
            )
            .with_colour_bar(scale, bar_label),
        ));
    }
    Ok(out)
}

/// Cross-report figures for surfaces that share directions (same `directions.hash`) and grid
/// but differ in attack: 2-D loss panels with rows = objectives and columns = attacks on one
/// colour scale, or for 1-D grids one overlay of every objective under every attack. `names`
/// label the reports in the figure titles.
///
/// Returns nothing for fewer than two reports.
pub fn surface_comparison_figures(reports: &[&SurfaceReport], log: LogScale) -> Vec<FigureSpec> {
    let Some(first) = reports.first() else {
        return Vec::new();
    };
    if reports.len() < 2 {
        return Vec::new();
    }
    let (xl, yl) = axis_labels(first);
    let mut objs: Vec<ObjectiveKind> = Vec::new();
    for r in reports {
        for o in objectives(r) {
            if !objs.contains(&o) {
                objs.push(o);
            }
        }
    }
    let attacks: Vec<String> = reports.iter().map(|r| attack_of(r)).collect();
    let joined = attacks.join(" vs ");
    if first.y.is_none() {
        let mut series = Vec::new();
        for (ci, &o) in objs.iter().enumerate() {
            for (ri, r) in reports.iter().enumerate() {
                if r.dense(o, false).is_some() {
                    // Colour = objective, dash = the second and later attacks.
                    let style = if ri == 0 { Style::Line } else { Style::Dashed };
                    let name = format!("{}, {}", label::objective(o), attacks[ri]);
                    series.push(Series::new(name, curve(r, o, false), ci, style));
                }
            }
        }
        let plot = Plot::single(
            format!("Loss along shared direction: {joined}"),
            Chart::Lines(
                LineChart::new("", &xl, "mean cross-entropy (nats)", series)
                    .legend(Legend::UpperMiddle),
            ),
        );
        return vec![FigureSpec::new("compare-1d", plot)];
    }
    let mut charts = Vec::new();
    let mut all = Vec::new();
    for &o in &objs {
        for (ri, r) in reports.iter().enumerate() {
            let f = field(r, o, false).unwrap_or_else(|| Field {
                x: r.x.values(),
                y: r.y.map(|y| y.values()).unwrap_or_default(),
                z: vec![f64::NAN; r.grid_len()],
            });
            all.extend(f.z.iter().copied());
            charts.push(Chart::Heatmap(HeatmapChart {
                caption: format!("{}, {}", label::objective(o), attacks[ri]),
                x_label: xl.clone(),
                y_label: yl.clone(),
                field: f,
                marker: Some((0.0, 0.0)),
            }));
        }
    }
    let log = log.decide(&all);
    let Some(scale) = ColourScale::fit(all, log) else {
        return Vec::new();
    };
    let plot = Plot::grid(
        format!("Loss surfaces on shared directions: {joined}"),
        reports.len(),
        charts,
    )
    .with_colour_bar(scale, if log { "loss (log)" } else { "loss (nats)" });
    vec![FigureSpec::new("compare-2d", plot)]
}
