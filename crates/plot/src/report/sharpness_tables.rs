//! The tables of `advland sharpness` reports.

use advland_schema::{MeanStdError, SharpnessEstimate, SharpnessReport, WeightSharpnessResult};

use crate::html::{Table, num};
use crate::label;

fn s(v: impl ToString) -> String {
    v.to_string()
}

/// "mean ± s.e." (the mean alone for one batch).
fn pm(m: &MeanStdError) -> String {
    match m.std_error {
        Some(se) => format!("{} ± {}", num(m.mean), num(se)),
        None => num(m.mean),
    }
}

/// The tables of a sharpness report: what was measured, then the estimate's numbers.
pub(super) fn sharpness(r: &SharpnessReport) -> Vec<Table> {
    let o = &r.objective;
    let mut info = Table::new("objective", &["field", "value"]);
    for (k, v) in [
        ("objective", label::objective(o.kind).to_owned()),
        (
            "attack",
            o.attack.as_ref().map_or("–".to_owned(), label::attack_long),
        ),
        ("precision", format!("{:?}", o.precision).to_lowercase()),
        ("frozen activations", s(o.frozen_activations)),
        ("checkpoint", o.checkpoint.clone()),
        ("epoch", s(o.epoch)),
        ("examples", s(o.examples)),
        ("parameters", s(o.parameters)),
        ("‖θ₀‖₂", num(o.theta_norm)),
        ("loss f(θ₀)", num(o.loss)),
        ("gradient evaluations", s(r.gradient_evaluations)),
    ] {
        info.row(vec![k.to_owned(), v]);
    }
    let mut out = vec![info];
    match &r.estimate {
        SharpnessEstimate::Hessian(h) => {
            let mut t = Table::new(
                &format!(
                    "Hessian eigenvalues ({:?}, fd step {})",
                    h.method,
                    num(h.fd_step)
                ),
                &["k", "λ", "residual ‖Hv − λv‖", "HVPs", "stop"],
            );
            for (i, e) in h.eigenvalues.iter().enumerate() {
                t.row(vec![
                    s(i + 1),
                    num(e.value),
                    num(e.residual),
                    s(e.hvps),
                    format!("{:?}", e.stop).to_lowercase(),
                ]);
            }
            if let Some(m) = h.lambda_min {
                t.row(vec![
                    "min".into(),
                    num(m),
                    String::new(),
                    String::new(),
                    String::new(),
                ]);
            }
            out.push(t);
        }
        SharpnessEstimate::Lipschitz(l) => {
            let mut sum = Table::new(
                "κ summary",
                &[
                    "objective",
                    "max κ (all probes)",
                    "worst-case κ",
                    "worst-case radius",
                    "‖map(θ₀)‖",
                    "max κ / ‖map(θ₀)‖",
                ],
            );
            let mut probes = Table::new(
                "κ(r) over random directions",
                &[
                    "objective",
                    "radius r",
                    "relative r/‖θ₀‖",
                    "max κ",
                    "mean κ",
                    "directions",
                ],
            );
            for e in &l.objectives {
                sum.row(vec![
                    label::objective(e.kind).into(),
                    num(e.kappa_max),
                    num(e.worst_case.kappa),
                    num(e.worst_case.radius),
                    e.gradient_norm.map_or("–".into(), num),
                    e.gradient_norm.map_or("–".into(), |g| num(e.kappa_max / g)),
                ]);
                for (i, p) in e.random.iter().enumerate() {
                    probes.row(vec![
                        label::objective(e.kind).into(),
                        num(p.radius),
                        l.relative_radii.get(i).map_or("–".into(), |&v| num(v)),
                        num(p.kappa_max),
                        num(p.kappa_mean),
                        s(p.secants.len()),
                    ]);
                }
            }
            // The local-entropy map γ(θ − μ(θ)) next to the gradient maps: its κ over its own
            // size is what separates EntropySGD's smoothing from its rescaling (claim C8).
            if let Some(le) = &l.local_entropy {
                sum.row(vec![
                    format!("local entropy (γ = {})", num(le.gamma)),
                    num(le.kappa_max),
                    "–".into(),
                    "–".into(),
                    le.map_norm.map_or("–".into(), num),
                    le.map_norm.map_or("–".into(), |m| num(le.kappa_max / m)),
                ]);
            }
            let mut traj = Table::new("trajectory secants", &["pair", "distance", "κ"]);
            for (i, sec) in l.trajectory.iter().enumerate() {
                traj.row(vec![s(i + 1), num(sec.distance), num(sec.kappa)]);
            }
            out.extend([sum, probes, traj]);
        }
        SharpnessEstimate::Kinks(k) => {
            let mut t = Table::new("kinks", &["max jump", "at t", "median jump", "grid points"]);
            t.row(vec![
                num(k.max_jump),
                num(k.max_jump_at),
                num(k.median_jump),
                s(k.t.len()),
            ]);
            out.push(t);
        }
        SharpnessEstimate::Trace(tr) => {
            let mut t = Table::new(
                "Hessian trace",
                &["mean", "std. error", "95 % CI", "probes", "stop"],
            );
            t.row(vec![
                num(tr.mean),
                num(tr.std_error),
                format!("[{}, {}]", num(tr.ci95_low), num(tr.ci95_high)),
                s(tr.samples),
                format!("{:?}", tr.stop).to_lowercase(),
            ]);
            out.push(t);
        }
        SharpnessEstimate::WorstCase(w) => out.extend(weight_sharpness("worst-case", w)),
        SharpnessEstimate::AverageCase(w) => out.extend(weight_sharpness("average-case", w)),
        SharpnessEstimate::Awp(w) => out.extend(weight_sharpness("AWP", w)),
        SharpnessEstimate::Density(d) => {
            let mut t = Table::new(
                "spectral density",
                &["probes", "σ", "grid points", "fd step"],
            );
            t.row(vec![
                s(d.nodes.len()),
                num(d.sigma),
                s(d.grid.len()),
                num(d.fd_step),
            ]);
            out.push(t);
        }
    }
    out
}

/// The summary of a weight-perturbation sharpness and its batches.
fn weight_sharpness(name: &str, w: &WeightSharpnessResult) -> Vec<Table> {
    let mut summary = Table::new(
        &format!("{name} sharpness (mean ± s.e. over batches of m examples)"),
        &[
            "ball",
            "ρ",
            "m",
            "batches",
            "perturbed",
            "scalars",
            "iterations / draws",
            "random start",
            "batch norm",
            "loss increase",
            "error increase",
            "AWP one-step increase",
        ],
    );
    let dash = || "–".to_owned();
    summary.row(vec![
        w.ball.as_str().to_owned(),
        num(w.rho),
        s(w.m),
        s(w.batches.len()),
        w.perturbed.as_str().to_owned(),
        s(w.perturbed_scalars),
        s(w.iterations),
        s(w.rand_init),
        w.batch_norm.clone(),
        pm(&w.increase),
        w.error_increase.as_ref().map_or_else(dash, pm),
        w.one_step_increase.as_ref().map_or_else(dash, pm),
    ]);
    let mut batches = Table::new(
        &format!("{name} sharpness per batch"),
        &[
            "batch",
            "examples",
            "L(θ₀)",
            "perturbed loss",
            "increase",
            "error increase",
            "‖δ‖₂",
        ],
    );
    for (i, b) in w.batches.iter().enumerate() {
        batches.row(vec![
            s(i + 1),
            s(b.examples),
            num(b.loss),
            num(b.perturbed_loss),
            num(b.increase),
            b.error_increase.map_or_else(dash, num),
            num(b.delta_norm),
        ]);
    }
    vec![summary, batches]
}
