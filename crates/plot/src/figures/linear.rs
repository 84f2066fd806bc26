//! The binary linear model (paper.md §3.2 E-A): training, κ(r) per norm, the L2 scaling law.

use advland_schema::linear::LinearReport;

use crate::label;
use crate::line::{LineChart, Series, Style};
use crate::plot::{Chart, FigureSpec, Plot};

/// Adversarial loss during training and κ(r) at the final point, per norm; and κ of the L2
/// loss against ‖s·w‖ with the curvature term and the bound (claim C1).
pub fn linear_figures(r: &LinearReport) -> Vec<FigureSpec> {
    let mut loss = Vec::new();
    let mut kappa = Vec::new();
    for (i, n) in r.norms.iter().enumerate() {
        let name = format!("{} ε={}", label::norm(n.norm), label::eps(n.eps));
        loss.push(Series::new(
            &name,
            n.trajectory
                .iter()
                .map(|s| (s.step as f64, s.loss))
                .collect(),
            i,
            Style::Line,
        ));
        kappa.push(Series::new(
            &name,
            n.last
                .lipschitz
                .iter()
                .map(|p| (p.radius, p.kappa))
                .collect(),
            i,
            Style::LineMarkers,
        ));
    }
    let mut out = vec![FigureSpec::new(
        "linear",
        Plot::grid(
            format!(
                "Binary linear model, {} vs {}",
                r.class_names[0], r.class_names[1]
            ),
            2,
            vec![
                Chart::Lines(
                    LineChart::new("training", "gradient step", "adversarial loss (nats)", loss)
                        .integer_x(),
                ),
                Chart::Lines(
                    LineChart::new(
                        "κ(r) at the final point",
                        "radius r (log scale)",
                        "κ (log scale)",
                        kappa,
                    )
                    .log(true, true),
                ),
            ],
        ),
    )];
    if !r.l2_scaling.is_empty() {
        let s = &r.l2_scaling;
        let series = vec![
            Series::new(
                "κ measured",
                s.iter().map(|p| (p.w_norm, p.kappa)).collect(),
                0,
                Style::LineMarkers,
            ),
            Series::new(
                "curvature term ε·mean|ℓ'|/‖w‖",
                s.iter().map(|p| (p.w_norm, p.curvature_term)).collect(),
                1,
                Style::Dashed,
            ),
            Series::new(
                "bound",
                s.iter().map(|p| (p.w_norm, p.bound)).collect(),
                2,
                Style::Dashed,
            ),
        ];
        out.push(FigureSpec::new(
            "l2-scaling",
            Plot::single(
                "L2 smoothness grows like ε/‖w‖ as the weights shrink",
                Chart::Lines(
                    LineChart::new("", "‖s·w‖₂ (log scale)", "κ (log scale)", series)
                        .log(true, true),
                ),
            ),
        ));
    }
    out
}
