//! Training curves and the demo's summary figures.

use advland_schema::{DemoSummary, TrainLog};

use crate::label;
use crate::line::{Legend, LineChart, Series, Style};
use crate::plot::{Chart, FigureSpec, Plot};

/// Loss and accuracy per epoch: the training objective, clean train, clean test and every
/// robust test attack.
pub fn train_figures(log: &TrainLog) -> Vec<FigureSpec> {
    if log.epochs.is_empty() {
        return Vec::new();
    }
    let ep = |f: &dyn Fn(&advland_schema::EpochRecord) -> f64| -> Vec<(f64, f64)> {
        log.epochs.iter().map(|e| (e.epoch as f64, f(e))).collect()
    };
    let mut loss = vec![
        Series::new(
            "training objective",
            ep(&|e| e.train_objective.loss),
            0,
            Style::LineMarkers,
        ),
        Series::new(
            "train, clean",
            ep(&|e| e.train_clean.loss),
            1,
            Style::LineMarkers,
        ),
        Series::new(
            "test, clean",
            ep(&|e| e.test.clean.loss),
            2,
            Style::LineMarkers,
        ),
    ];
    let mut acc = vec![
        Series::new(
            "training objective",
            ep(&|e| e.train_objective.accuracy),
            0,
            Style::LineMarkers,
        ),
        Series::new(
            "train, clean",
            ep(&|e| e.train_clean.accuracy),
            1,
            Style::LineMarkers,
        ),
        Series::new(
            "test, clean",
            ep(&|e| e.test.clean.accuracy),
            2,
            Style::LineMarkers,
        ),
    ];
    let attacks = log.epochs[0].test.robust.len();
    for a in 0..attacks {
        let name = format!(
            "test, {}",
            label::attack(&log.epochs[0].test.robust[a].attack)
        );
        let get = |e: &advland_schema::EpochRecord, accuracy: bool| {
            e.test.robust.get(a).map_or(f64::NAN, |r| {
                if accuracy {
                    r.metrics.accuracy
                } else {
                    r.metrics.loss
                }
            })
        };
        loss.push(Series::new(
            &name,
            ep(&|e| get(e, false)),
            3 + a,
            Style::Dashed,
        ));
        acc.push(Series::new(
            &name,
            ep(&|e| get(e, true)),
            3 + a,
            Style::Dashed,
        ));
    }
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
