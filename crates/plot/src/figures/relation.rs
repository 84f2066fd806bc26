//! κ of the adversarial loss against input-space flatness (paper.md §5 C5).

use advland_schema::flatness::{RelationReport, RelationRow};

use crate::label;
use crate::line::{LineChart, Series, Style};
use crate::plot::{Chart, FigureSpec, Plot};

/// The flatness columns of a [`RelationRow`], with their axis descriptions.
const MEASURES: [(&str, &str); 5] = [
    (
        "hessian_top_adversarial",
        "input-Hessian λmax at x+δ* (median)",
    ),
    ("curvature_adversarial", "gᵀHg/‖g‖² at x+δ* (median)"),
    ("grad_l2_adversarial", "‖∇ₓℓ‖₂ at x+δ* (median)"),
    ("hessian_top_clean", "input-Hessian λmax at x (median)"),
    ("grad_l2_clean", "‖∇ₓℓ‖₂ at x (median)"),
];

/// One scatter per flatness measure: κ of the adversarial loss against it, one colour per
/// attack norm, Spearman's ρ in the caption. A second figure uses the small-radius random κ
/// when the rows carry it.
pub fn relation_figures(r: &RelationReport) -> Vec<FigureSpec> {
    if r.rows.is_empty() {
        return Vec::new();
    }
    let mut out = vec![scatter(
        r,
        "relation",
        "kappa_adversarial",
        "κ of the adversarial loss (largest probe)",
        &|row| Some(row.kappa_adversarial),
    )];
    if r.rows
        .iter()
        .all(|row| row.kappa_adversarial_random.is_some())
    {
        out.push(scatter(
            r,
            "relation-random",
            "kappa_adversarial_random",
            "κ of the adversarial loss (random directions, smallest radius)",
            &|row| row.kappa_adversarial_random,
        ));
    }
    out
}

fn scatter(
    r: &RelationReport,
    name: &str,
    with: &str,
    y_label: &str,
    kappa: &dyn Fn(&RelationRow) -> Option<f64>,
) -> FigureSpec {
    let mut norms = Vec::new();
    for row in &r.rows {
        if !norms.contains(&row.attack.norm) {
            norms.push(row.attack.norm);
        }
    }
    let charts = MEASURES
        .iter()
        .map(|(measure_name, desc)| {
            let rho = r
                .correlations
                .iter()
                .find(|c| c.measure == *measure_name && c.with == with)
                .map_or("ρ n/a".to_owned(), |c| match c.spearman {
                    Some(s) => format!("Spearman ρ = {s:.2} (n={})", c.rows),
                    None => format!("ρ undefined (n={})", c.rows),
                });
            let series = norms
                .iter()
                .enumerate()
                .map(|(i, &n)| {
                    let pts = r
                        .rows
                        .iter()
                        .filter(|row| row.attack.norm == n)
                        .filter_map(|row| Some((row.measure(measure_name)?, kappa(row)?)))
                        .collect();
                    Series::new(format!("{} attack", label::norm(n)), pts, i, Style::Markers)
                })
                .collect();
            Chart::Lines(LineChart::new(rho, *desc, y_label, series))
        })
        .collect();
    FigureSpec::new(
        name,
        Plot::grid("Parameter smoothness κ vs input flatness", 3, charts),
    )
}
