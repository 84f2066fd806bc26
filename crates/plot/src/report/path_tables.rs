//! The numbers of perturbation, connectivity and calibration reports as HTML tables.

use advland_schema::connectivity::ConnectivityReport;
use advland_schema::perturbation::{CosineStats, PerturbationReport};
use advland_schema::{CalibrateReport, MatchOn};

use crate::html::{Table, num};
use crate::label;

/// The cosine statistics and the attack's progress per step.
pub fn perturbation(r: &PerturbationReport) -> Vec<Table> {
    let mut cosines = Table::new(
        &format!(
            "pairwise cosine similarities, {} ({} examples, gradients of the first {})",
            label::attack_long(&r.attack),
            r.examples,
            r.gradient_examples
        ),
        &[
            "vectors",
            "n",
            "zero",
            "mean cos",
            "median",
            "q10",
            "q90",
            "mean ‖v‖₂",
        ],
    );
    let row = |name: &str, c: &CosineStats| {
        vec![
            name.to_owned(),
            c.vectors.to_string(),
            c.zero_vectors.to_string(),
            num(c.mean),
            num(c.pairwise.median),
            num(c.pairwise.q10),
            num(c.pairwise.q90),
            num(c.mean_norm),
        ]
    };
    cosines.row(row("perturbations δ", &r.perturbations));
    cosines.row(row("∇θℓ at x+δ", &r.adversarial_gradients));
    cosines.row(row("∇θℓ at x", &r.clean_gradients));
    let mut steps = Table::new(
        &format!("PGD per step (clean accuracy {})", num(r.clean_accuracy)),
        &["restart", "step", "mean loss", "accuracy", "success rate"],
    );
    for s in &r.steps {
        steps.row(vec![
            (s.restart + 1).to_string(),
            s.step.to_string(),
            num(s.mean_loss),
            num(s.accuracy),
            num(s.success_rate),
        ]);
    }
    vec![cosines, steps]
}

/// Loss and accuracy per t on both paths.
pub fn connectivity(r: &ConnectivityReport) -> Vec<Table> {
    let adversarial = r.curve.adversarial_loss.is_some();
    let mut head = vec!["t", "curve loss", "curve acc", "line loss", "line acc"];
    if adversarial {
        head.extend([
            "curve adv loss",
            "curve adv acc",
            "line adv loss",
            "line adv acc",
        ]);
    }
    let mut t = Table::new(
        &format!(
            "{} → {}: curve trained {} steps on {} examples ({} loss), ‖φ − midpoint‖ = {}, \
             barrier curve {} vs line {}",
            r.checkpoint,
            r.to,
            r.steps,
            r.train_examples,
            r.objective.as_str(),
            num(r.control_offset),
            num(r.curve.clean_barrier),
            num(r.line.clean_barrier)
        ),
        &head,
    );
    let at = |v: &Option<Vec<f64>>, i: usize| v.as_ref().map_or(f64::NAN, |v| v[i]);
    for (i, time) in r.curve.t.iter().enumerate() {
        let mut row = vec![
            num(*time),
            num(r.curve.clean_loss[i]),
            num(r.curve.clean_accuracy[i]),
            num(r.line.clean_loss[i]),
            num(r.line.clean_accuracy[i]),
        ];
        if adversarial {
            row.extend([
                num(at(&r.curve.adversarial_loss, i)),
                num(at(&r.curve.adversarial_accuracy, i)),
                num(at(&r.line.adversarial_loss, i)),
                num(at(&r.line.adversarial_accuracy, i)),
            ]);
        }
        t.row(row);
    }
    vec![t]
}

/// The matched radius and every radius the search tried.
pub fn calibrate(r: &CalibrateReport) -> Vec<Table> {
    let on = match r.matched_on {
        MatchOn::Accuracy => "accuracy",
        MatchOn::Loss => "loss",
    };
    let mut summary = Table::new(
        &format!(
            "{} radius matching {} by {on}",
            label::norm(r.norm),
            label::attack_long(&r.reference)
        ),
        &["field", "value"],
    );
    for (k, v) in [
        ("reference accuracy", num(r.reference_metrics.accuracy)),
        ("reference loss", num(r.reference_metrics.loss)),
        ("matched ε", num(r.eps)),
        ("ε / reference ε", num(r.ratio)),
        ("accuracy at ε", num(r.metrics.accuracy)),
        ("loss at ε", num(r.metrics.loss)),
        (
            "bracket (inscribed, circumscribed ball)",
            format!(
                "{} – {} (d = {})",
                num(r.bracket[0]),
                num(r.bracket[1]),
                r.dimension
            ),
        ),
        ("bracketed", r.bracketed.to_string()),
        ("converged", r.converged.to_string()),
    ] {
        summary.row(vec![k.to_owned(), v]);
    }
    let mut steps = Table::new("radii tried, in order", &["ε", "accuracy", "loss"]);
    for s in &r.steps {
        steps.row(vec![
            num(s.eps),
            num(s.metrics.accuracy),
            num(s.metrics.loss),
        ]);
    }
    vec![summary, steps]
}
