//! Plain-text summaries of reports, as `advland` prints them after each command: `Display` of
//! each payload (Markdown tables where the numbers are tabular). The report files hold every
//! number; these are the few a reader looks at first.

use std::fmt;

mod tables;

use crate::calibrate::{CalibrateReport, MatchOn};
use crate::connectivity::ConnectivityReport;
use crate::flatness::FlatnessReport;
use crate::linear::LinearReport;
use crate::perturbation::PerturbationReport;
use crate::{SharpnessEstimate, SharpnessReport, SurfaceReport, TrainLog, WeightSharpnessResult};

/// The objective, then the estimate: eigenvalues, κ per radius, trace, spectrum range, weight
/// sharpness per batch or the largest gradient jump.
impl fmt::Display for SharpnessReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self;
        writeln!(
            f,
            "objective {} on {} examples, loss {:.5}, |theta| {:.4}",
            r.objective.kind.as_str(),
            r.objective.examples,
            r.objective.loss,
            r.objective.theta_norm
        )?;
        match &r.estimate {
            SharpnessEstimate::Hessian(h) => {
                if let Some(min) = h.lambda_min {
                    writeln!(f, "lambda_min = {min:+.6e}")?;
                }
                for (i, e) in h.eigenvalues.iter().enumerate() {
                    writeln!(
                        f,
                        "lambda_{} = {:+.6e}  ({} HVPs, {:?}, residual {:.2e})",
                        i + 1,
                        e.value,
                        e.hvps,
                        e.stop,
                        e.residual
                    )?;
                }
            }
            SharpnessEstimate::Lipschitz(l) => {
                if let Some(e) = &l.local_entropy {
                    writeln!(
                        f,
                        "local-entropy map (gamma {}, L = {}): kappa_max {:.6e}",
                        e.gamma, e.inner_steps, e.kappa_max
                    )?;
                }
                for o in &l.objectives {
                    writeln!(f, "{}: kappa_max {:.6e}", o.kind.as_str(), o.kappa_max)?;
                    for p in &o.random {
                        let ratio = p
                            .secants
                            .iter()
                            .filter_map(|s| s.delta_ratio)
                            .fold(0.0, f64::max);
                        let flips = p
                            .secants
                            .iter()
                            .filter_map(|s| s.sign_flip_fraction)
                            .fold(0.0, f64::max);
                        writeln!(
                            f,
                            "  r = {:.3e}: kappa max {:.6e} mean {:.6e} | max |d delta|/|d theta| {:.3e} | max sign flips {:.2e}",
                            p.radius, p.kappa_max, p.kappa_mean, ratio, flips
                        )?;
                    }
                    writeln!(
                        f,
                        "  worst case (r = {:.3e}): {:.6e}",
                        o.worst_case.radius, o.worst_case.kappa
                    )?;
                }
                for (i, s) in l.trajectory.iter().enumerate() {
                    writeln!(
                        f,
                        "trajectory secant {}->{}: kappa {:.6e}",
                        i + 1,
                        i + 2,
                        s.kappa
                    )?;
                }
            }
            SharpnessEstimate::Trace(t) => {
                writeln!(
                    f,
                    "trace(H) = {:.6e} ± {:.2e} (95% CI [{:.6e}, {:.6e}], {} probes, {:?})",
                    t.mean, t.std_error, t.ci95_low, t.ci95_high, t.samples, t.stop
                )?;
            }
            SharpnessEstimate::Density(d) => {
                let lo = d
                    .nodes
                    .iter()
                    .flatten()
                    .copied()
                    .fold(f64::INFINITY, f64::min);
                let hi = d
                    .nodes
                    .iter()
                    .flatten()
                    .copied()
                    .fold(f64::NEG_INFINITY, f64::max);
                writeln!(
                    f,
                    "spectrum in [{lo:.6e}, {hi:.6e}], {} probes, sigma {:.2e}",
                    d.nodes.len(),
                    d.sigma
                )?;
            }
            SharpnessEstimate::WorstCase(w) => weight_sharpness(f, "worst-case", w)?,
            SharpnessEstimate::AverageCase(w) => weight_sharpness(f, "average-case", w)?,
            SharpnessEstimate::Awp(w) => weight_sharpness(f, "awp", w)?,
            SharpnessEstimate::Kinks(k) => {
                writeln!(
                    f,
                    "largest gradient jump {:.6e} at t = {:.4e} (median jump {:.6e}, {} points)",
                    k.max_jump,
                    k.max_jump_at,
                    k.median_jump,
                    k.t.len()
                )?;
            }
        }
        writeln!(f, "gradient evaluations: {}", r.gradient_evaluations)?;

        Ok(())
    }
}

/// Medians over the examples per point (clean, adversarial), with the top-k eigenvalues, the
/// surface and the logit Lipschitz bound when measured.
impl fmt::Display for FlatnessReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self;
        writeln!(
            f,
            "{} examples, attack {} eps={} PGD-{}",
            r.examples, r.attack.norm, r.attack.eps, r.attack.steps
        )?;
        writeln!(
            f,
            "| point | loss | |grad|_2 | |grad|_1 | lambda_top | g'Hg/|g|^2 | trace | KKT |"
        )?;
        writeln!(f, "|---|---|---|---|---|---|---|---|")?;
        for p in &r.points {
            writeln!(
                f,
                "| {:?} | {:.4} | {:.4e} | {:.4e} | {:+.4e} | {:+.4e} | {:+.4e} | {} |",
                p.point,
                p.loss.median,
                p.grad_l2.median,
                p.grad_l1.median,
                p.hessian_top.median,
                p.curvature_along_gradient.median,
                p.hessian_trace.median,
                p.kkt_multiplier
                    .map_or("-".to_owned(), |k| format!("{:.4e}", k.median))
            )?;
        }
        for p in r.points.iter().filter(|p| !p.hessian_top_k.is_empty()) {
            let medians: Vec<String> = p
                .hessian_top_k
                .iter()
                .map(|d| format!("{:+.4e}", d.median))
                .collect();
            writeln!(
                f,
                "{:?} top-{} eigenvalues: {}",
                p.point,
                medians.len(),
                medians.join(", ")
            )?;
        }
        if let Some(s) = &r.surface {
            let (lo, hi) = s
                .loss
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &l| {
                    (a.min(l), b.max(l))
                });
            writeln!(
                f,
                "surface around example {} (label {}): {}x{} grid, loss {lo:.4} to {hi:.4}",
                s.example, s.label, s.x.points, s.y.points
            )?;
        }
        if let Some(l) = &r.logit_lipschitz {
            writeln!(
                f,
                "logit Lipschitz (lower bound, {} steps x {} restarts): median {:.4e}, max {:.4e}",
                l.steps, l.restarts, l.estimate.median, l.estimate.max
            )?;
        }
        writeln!(f, "(medians over examples)")?;

        Ok(())
    }
}

/// Cosine similarities of the perturbations and gradients, and the attack after its last step.
impl fmt::Display for PerturbationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self;
        writeln!(
            f,
            "{} examples, attack {} eps={} PGD-{}, clean accuracy {:.4}",
            r.examples, r.attack.norm, r.attack.eps, r.attack.steps, r.clean_accuracy
        )?;
        writeln!(f, "| vectors | n | mean cos | median cos | mean norm |")?;
        writeln!(f, "|---|---|---|---|---|")?;
        for (name, c) in [
            ("perturbations", &r.perturbations),
            ("adversarial gradients", &r.adversarial_gradients),
            ("clean gradients", &r.clean_gradients),
        ] {
            writeln!(
                f,
                "| {name} | {} | {:+.4} | {:+.4} | {:.4e} |",
                c.vectors, c.mean, c.pairwise.median, c.mean_norm
            )?;
        }
        if let Some(last) = r.steps.last() {
            writeln!(
                f,
                "after {} steps (restart {}): loss {:.4}, accuracy {:.4}, success rate {:.4}",
                last.step, last.restart, last.mean_loss, last.accuracy, last.success_rate
            )?;
        }

        Ok(())
    }
}

/// The reference, each radius tried, the match and a warning where the search did not settle.
impl fmt::Display for CalibrateReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self;
        let on = match r.matched_on {
            MatchOn::Accuracy => "accuracy",
            MatchOn::Loss => "loss",
        };
        writeln!(
            f,
            "reference {} eps={} PGD-{}: accuracy {:.4}, loss {:.4}",
            r.reference.norm,
            r.reference.eps,
            r.reference.steps,
            r.reference_metrics.accuracy,
            r.reference_metrics.loss
        )?;
        writeln!(f, "| {} eps | accuracy | loss |", r.norm)?;
        writeln!(f, "|---|---|---|")?;
        for s in &r.steps {
            writeln!(
                f,
                "| {:.6} | {:.4} | {:.4} |",
                s.eps, s.metrics.accuracy, s.metrics.loss
            )?;
        }
        writeln!(
            f,
            "matched {on}: {} eps = {:.6} ({:.3} x the reference radius; bracket [{:.4}, {:.4}] from d = {}), \
         accuracy {:.4}, loss {:.4}",
            r.norm,
            r.eps,
            r.ratio,
            r.bracket[0],
            r.bracket[1],
            r.dimension,
            r.metrics.accuracy,
            r.metrics.loss
        )?;
        if !r.bracketed {
            writeln!(
                f,
                "warning: the attacks at the bracket's ends do not enclose the target (PGD is not \
             exact; try more --steps): the radius is the nearer end"
            )?;
        } else if !r.converged {
            writeln!(
                f,
                "warning: --max-evaluations ran out before the bracket was --relative-width narrow"
            )?;
        }

        Ok(())
    }
}

/// Loss and accuracy along the curve and the line, and their barriers.
impl fmt::Display for ConnectivityReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self;
        writeln!(
            f,
            "{} -> {}: {} SGD steps on {} training examples ({} loss), ||B - A|| = {:.4}, \
         ||phi - midpoint|| = {:.4}",
            r.checkpoint,
            r.to,
            r.steps,
            r.train_examples,
            r.objective.as_str(),
            r.endpoint_distance,
            r.control_offset
        )?;
        writeln!(f, "| t | curve loss | curve acc | line loss | line acc |")?;
        writeln!(f, "|---|---|---|---|---|")?;
        for (i, t) in r.curve.t.iter().enumerate() {
            writeln!(
                f,
                "| {t:.3} | {:.4} | {:.4} | {:.4} | {:.4} |",
                r.curve.clean_loss[i],
                r.curve.clean_accuracy[i],
                r.line.clean_loss[i],
                r.line.clean_accuracy[i]
            )?;
        }
        writeln!(
            f,
            "clean loss barrier: curve {:+.4}, line {:+.4} (on {} test examples)",
            r.curve.clean_barrier, r.line.clean_barrier, r.examples
        )?;

        Ok(())
    }
}

/// Each objective's loss range (and its value at θ₀ when the grid holds it), and the directions.
impl fmt::Display for SurfaceReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self;
        let centre = (0..r.grid_len()).find(|&k| {
            let nx = r.x.points;
            r.x.values()[k % nx] == 0.0 && r.y.is_none_or(|y| y.values()[k / nx] == 0.0)
        });
        for v in &r.values {
            let (lo, hi) = v
                .loss
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
                    (lo.min(x), hi.max(x))
                });
            let at_origin = centre
                .and_then(|c| r.points.iter().position(|&k| k == c))
                .map(|i| format!(", at θ₀ {:.4}", v.loss[i]))
                .unwrap_or_default();
            writeln!(
                f,
                "{:<20} loss {lo:.4} … {hi:.4}{at_origin} ({} points)",
                v.objective.as_str(),
                r.points.len()
            )?;
        }
        writeln!(
            f,
            "directions {} ({})",
            r.directions.hash,
            r.directions.kind.as_str()
        )?;

        Ok(())
    }
}

/// One weight-sharpness estimate and its batches.
fn weight_sharpness(
    f: &mut fmt::Formatter<'_>,
    name: &str,
    w: &WeightSharpnessResult,
) -> fmt::Result {
    let pm = |s: &crate::MeanStdError| match s.std_error {
        Some(se) => format!("{:.6e} ± {se:.2e}", s.mean),
        None => format!("{:.6e}", s.mean),
    };
    writeln!(
        f,
        "{name} sharpness ({} ball, rho {}, m {}, {} batches, {} perturbed scalars, batch norm: {}): loss increase {}",
        w.ball.as_str(),
        w.rho,
        w.m,
        w.batches.len(),
        w.perturbed_scalars,
        w.batch_norm,
        pm(&w.increase)
    )?;
    if let Some(e) = &w.error_increase {
        writeln!(f, "  error increase {}", pm(e))?;
    }
    if let Some(o) = &w.one_step_increase {
        writeln!(f, "  AWP one-step increase {}", pm(o))?;
    }
    for (i, b) in w.batches.iter().enumerate() {
        writeln!(
            f,
            "  batch {}: loss {:.6e} -> {:.6e} (+{:.6e}), |delta| {:.4e}",
            i + 1,
            b.loss,
            b.perturbed_loss,
            b.increase,
            b.delta_norm
        )?;
    }

    Ok(())
}

/// The data, each norm's final point (loss, accuracies, ‖w‖, sign changes, curvature, the
/// predicted and measured gradient jump), κ per radius, and the L2 scaling sweep (claim C1).
impl fmt::Display for LinearReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self;
        writeln!(
            f,
            "linear: {} classes {} ({}, y = -1) vs {} ({}, y = +1), N = {} ({} positive), d = {}",
            r.dataset,
            r.classes[0],
            r.class_names[0],
            r.classes[1],
            r.class_names[1],
            r.examples,
            r.positives,
            r.features
        )?;
        writeln!(
            f,
            "| norm | eps | loss | clean acc | robust acc | ‖w‖ | min abs w_i | sign changes (steps) \
         | λmax(∇²L) | L2 bound | jump predicted | jump measured |"
        )?;
        writeln!(f, "|---|---|---|---|---|---|---|---|---|---|---|---|")?;
        let opt = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.4e}"));
        for n in &r.norms {
            let l = &n.last;
            let min_abs = l.jump.weight.abs();
            writeln!(
                f,
                "| {} | {} | {:.4} | {:.3} | {:.3} | {:.4} | {:.2e} | {} ({}) | {} | {} | {:.4e} | {:.4e} |",
                n.norm,
                n.eps,
                l.loss,
                l.clean_accuracy,
                l.robust_accuracy,
                l.w_norm,
                min_abs,
                n.total_sign_changes,
                n.steps_with_sign_changes,
                l.hessian_max_eigenvalue.map_or_else(
                    || l.hessian_error.clone().unwrap_or_default(),
                    |v| format!("{v:.4e}")
                ),
                opt(l.l2_bound),
                l.jump.predicted,
                l.jump.measured,
            )?;
        }
        writeln!(f, "\nκ(θ, r) at the final points:")?;
        let names: Vec<&str> = r.norms.iter().map(|n| n.norm.as_str()).collect();
        writeln!(f, "| r | {} |", names.join(" | "))?;
        writeln!(f, "|---|{}", "---|".repeat(names.len()))?;
        let radii = r
            .norms
            .first()
            .map(|n| n.last.lipschitz.as_slice())
            .unwrap_or_default();
        for (k, radius) in radii.iter().map(|p| p.radius).enumerate() {
            let kappas: Vec<String> = r
                .norms
                .iter()
                .map(|n| opt(n.last.lipschitz.get(k).map(|p| p.kappa)))
                .collect();
            writeln!(f, "| {radius:.0e} | {} |", kappas.join(" | "))?;
        }
        writeln!(
            f,
            "\nL2 loss at (s·w, b): κ grows like ε·mean(abs ℓ')/‖s·w‖ under the bound (C1):"
        )?;
        writeln!(
            f,
            "| s | ‖s·w‖ | r | κ | λmax(∇²L) | ε·mean(abs ℓ')/‖s·w‖ | bound |"
        )?;
        writeln!(f, "|---|---|---|---|---|---|---|")?;
        for p in &r.l2_scaling {
            writeln!(
                f,
                "| {} | {:.4e} | {:.2e} | {:.4e} | {} | {:.4e} | {:.4e} |",
                p.scale,
                p.w_norm,
                p.radius,
                p.kappa,
                opt(p.hessian_max_eigenvalue),
                p.curvature_term,
                p.bound
            )?;
        }

        Ok(())
    }
}

/// The gradient budget spent and the last epoch's test accuracies.
impl fmt::Display for TrainLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let u = &self.updates;
        writeln!(
            f,
            "training gradients: {} ({} discarded), outer steps: {}, inner steps: {}",
            u.gradient_evaluations, u.discarded_gradient_evaluations, u.outer_steps, u.inner_steps
        )?;
        let Some(last) = self.epochs.last() else {
            return Ok(());
        };
        for (split, result) in last.evaluations() {
            writeln!(f, "{split} clean accuracy: {:.4}", result.clean.accuracy)?;
            for r in &result.robust {
                writeln!(
                    f,
                    "{split} robust accuracy ({} eps={} PGD-{}): {:.4}",
                    r.attack.norm, r.attack.eps, r.attack.steps, r.metrics.accuracy
                )?;
            }
        }
        Ok(())
    }
}

/// Prop. A/B's quantities (medians over examples), the bound against the measured κ, and the
/// measured motion of δ* against its bracket.
impl fmt::Display for crate::bound::BoundReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self;
        writeln!(
            f,
            "{} examples, attack {} eps={} PGD-{}, probe step {:.3e} (|theta| {:.4})",
            r.examples, r.attack.norm, r.attack.eps, r.attack.steps, r.probe_step, r.theta_norm
        )?;
        writeln!(f, "| per example | median | q10 | q90 |")?;
        writeln!(f, "|---|---|---|---|")?;
        for (name, d) in [
            ("mu (Lagrangian concavity on the face)", r.mu.as_ref()),
            ("mixed Hessian norm", Some(&r.mixed)),
            ("KKT stationarity residual", Some(&r.stationarity)),
            (
                "measured |D delta*| (largest over directions)",
                Some(&r.motion),
            ),
        ] {
            let Some(d) = d else {
                writeln!(f, "| {name} | – | – | – |")?;
                continue;
            };
            writeln!(
                f,
                "| {name} | {:.4e} | {:.4e} | {:.4e} |",
                d.median, d.q10, d.q90
            )?;
        }
        let bound = r
            .kappa_bound
            .map_or_else(|| "none (some mu <= 0)".to_owned(), |b| format!("{b:.4e}"));
        writeln!(
            f,
            "concave examples (mu > 0): {}/{}; L_thth {:.4e}; kappa bound {bound} \
             (concave examples only: {:.4e}); measured kappa median {:.4e}, max {:.4e}",
            r.concave,
            r.examples,
            r.hessian_norm,
            r.kappa_bound_concave,
            r.kappa.median,
            r.kappa.max
        )?;
        let c = &r.motion_check;
        writeln!(
            f,
            "motion of delta* in its bracket: {:.3} within, {:.3} above ({:.3} of those with a \
             face change), {:.3} below, over {} pairs; measured/upper median {}",
            c.within,
            c.above,
            c.above_with_face_change,
            c.below,
            c.pairs,
            c.ratio_to_upper
                .as_ref()
                .map_or_else(|| "–".to_owned(), |d| format!("{:.3}", d.median))
        )?;
        let rho = |v: Option<f64>| v.map_or_else(|| "–".to_owned(), |v| format!("{v:+.3}"));
        writeln!(
            f,
            "Spearman with the motion: mu {}, |grad_x| {}, curvature max {}, bound {}",
            rho(r.correlations.mu),
            rho(r.correlations.gradient_norm),
            rho(r.correlations.curvature_max),
            rho(r.correlations.motion_bound)
        )
    }
}
