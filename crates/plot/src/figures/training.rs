//! Training curves and the demo's summary figures.

use advland_schema::{DemoSummary, EpochRecord, Metrics, TrainLog};

use crate::label;
use crate::line::{Legend, LineChart, Series, Style};
use crate::plot::{Chart, FigureSpec, Plot};

/// Loss and accuracy per epoch: the training objective, clean train, then per evaluated split
/// (test, and validation when the run held one out) its clean inputs and every attack.
pub fn train_figures(log: &TrainLog) -> Vec<FigureSpec> {
    let Some(first) = log.epochs.first() else {
        return Vec::new();
    };
    let ep = |f: &dyn Fn(&EpochRecord) -> f64| -> Vec<(f64, f64)> {
        log.epochs.iter().map(|e| (e.epoch as f64, f(e))).collect()
    };
    // Per series: legend, the epoch's metrics, style.
    type Pick = Box<dyn Fn(&EpochRecord) -> Option<Metrics>>;
    let mut curves: Vec<(String, Pick, Style)> = vec![
        (
            "training objective".to_owned(),
            Box::new(|e| Some(e.train_objective)),
            Style::LineMarkers,
        ),
        (
            "train, clean".to_owned(),
            Box::new(|e| Some(e.train_clean)),
            Style::LineMarkers,
        ),
    ];
    for (k, (split, result)) in first.evaluations().enumerate() {
        curves.push((
            format!("{split}, clean"),
            Box::new(move |e| e.evaluations().nth(k).map(|(_, r)| r.clean)),
            Style::LineMarkers,
        ));
        for (a, attack) in result.robust.iter().enumerate() {
            curves.push((
                format!("{split}, {}", label::attack(&attack.attack)),
                Box::new(move |e| {
                    let (_, r) = e.evaluations().nth(k)?;
                    Some(r.robust.get(a)?.metrics)
                }),
                Style::Dashed,
            ));
        }
    }
    let series = |value: fn(&Metrics) -> f64| -> Vec<Series> {
        curves
            .iter()
            .enumerate()
            .map(|(colour, (name, pick, style))| {
                let points = ep(&|e| pick(e).as_ref().map_or(f64::NAN, value));
                Series::new(name, points, colour, *style)
            })
            .collect()
    };
    let (loss, acc) = (series(|m| m.loss), series(|m| m.accuracy));
    vec![FigureSpec::new(
        "training",
        Plot::grid(
            format!("Training curves ({} parameters)", log.parameters),
            2,
            vec![
                Chart::Lines(
                    LineChart::new("loss", "epoch", "mean cross-entropy (nats)", loss).integer_x(),
                ),
                Chart::Lines(
                    LineChart::new("accuracy", "epoch", "accuracy (fraction)", acc)
                        .legend(Legend::LowerRight)
                        .integer_x(),
                ),
            ],
        ),
    )]
}

/// The demo's κ(r) curves: one panel per attack, one colour per model, solid for the
/// adversarial loss and dashed for the frozen ablation.
pub fn demo_figures(d: &DemoSummary) -> Vec<FigureSpec> {
    let mut attacks = Vec::new();
    for m in &d.models {
        for s in &m.sharpness {
            let name = label::attack(&s.attack);
            if !attacks.contains(&name) {
                attacks.push(name);
            }
        }
    }
    let charts: Vec<Chart> = attacks
        .iter()
        .map(|at| {
            let mut series = Vec::new();
            for (i, m) in d.models.iter().enumerate() {
                if let Some(s) = m.sharpness.iter().find(|s| &label::attack(&s.attack) == at) {
                    series.push(Series::new(
                        format!("{}: adversarial", m.name),
                        s.kappa_curve_adversarial.clone(),
                        i,
                        Style::LineMarkers,
                    ));
                    series.push(Series::new(
                        format!("{}: frozen δ", m.name),
                        s.kappa_curve_frozen.clone(),
                        i,
                        Style::Dashed,
                    ));
                }
            }
            Chart::Lines(
                LineChart::new(
                    format!("attack {at}"),
                    "radius r (log scale)",
                    "max κ over directions",
                    series,
                )
                .log(true, false),
            )
        })
        .collect();
    let mut out = Vec::new();
    if !charts.is_empty() {
        out.push(FigureSpec::new(
            "kappa",
            Plot::grid("κ(r) of the final checkpoints", charts.len().min(2), charts),
        ));
    }
    out.extend(super::relation_figures(&d.relation));
    out
}
