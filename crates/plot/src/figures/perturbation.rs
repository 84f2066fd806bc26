//! Perturbation statistics: the attack's progress per PGD step.

use advland_schema::perturbation::PerturbationReport;

use crate::label;
use crate::line::{LineChart, Series, Style};
use crate::plot::{Chart, FigureSpec, Plot};

/// Mean loss and attack success rate against the PGD step, one line per restart.
pub fn perturbation_figures(r: &PerturbationReport) -> Vec<FigureSpec> {
    let restarts = r.steps.iter().map(|s| s.restart + 1).max().unwrap_or(0);
    let per_restart = |pick: fn(&advland_schema::perturbation::AttackStep) -> f64| {
        (0..restarts)
            .map(|k| {
                let points = r
                    .steps
                    .iter()
                    .filter(|s| s.restart == k)
                    .map(|s| (s.step as f64, pick(s)))
                    .collect();
                Series::new(format!("restart {}", k + 1), points, k, Style::LineMarkers)
            })
            .collect::<Vec<_>>()
    };
    if restarts == 0 {
        return Vec::new();
    }
    let charts = vec![
        Chart::Lines(
            LineChart::new(
                "mean loss",
                "PGD step",
                "cross-entropy (nats)",
                per_restart(|s| s.mean_loss),
            )
            .integer_x(),
        ),
        Chart::Lines(
            LineChart::new(
                "attack success",
                "PGD step",
                "fraction of clean-correct examples flipped",
                per_restart(|s| s.success_rate),
            )
            .integer_x(),
        ),
    ];
    vec![FigureSpec::new(
        "attack-steps",
        Plot::grid(
            format!(
                "PGD progress on {} examples, {} (cos δ {:+.3}, cos ∇θℓ at x+δ {:+.3}, at x {:+.3})",
                r.examples,
                label::attack(&r.attack),
                r.perturbations.mean,
                r.adversarial_gradients.mean,
                r.clean_gradients.mean
            ),
            2,
            charts,
        ),
    )]
}
