//! `advland sharpness`: parameter-space smoothness and sharpness of a checkpoint's loss
//! (paper.md §3.2 E-B): Hessian eigenvalues, gradient-Lipschitz probes, gradient jumps.

use std::path::{Path, PathBuf};
use std::time::Instant;

use advland_analysis::sharpness::{self, SharpnessConfig, WeightPerturbationConfig};
use advland_schema::{
    EigenMethod, Estimator, Norm, ObjectiveKind, PerturbedParams, PgdSettings, Precision,
    SharpnessEstimate, SharpnessReport, WeightBall, WeightSharpnessResult, write_json,
};
use anyhow::Result;
use burn::tensor::Device;
use clap::Args;

use crate::args::{at_least_one, flag_error, parse_eps, positive_number, resolve_attack};
use crate::meta::report;
use crate::model_source::ModelSource;

/// `advland sharpness`.
#[derive(Debug, Args)]
pub struct SharpnessArgs {
    /// What to estimate.
    #[arg(value_enum)]
    pub estimator: Estimator,
    /// The model(s).
    #[command(flatten)]
    pub source: ModelSource,
    /// The loss measured.
    #[arg(long, value_enum, default_value = "adversarial")]
    pub objective: ObjectiveKind,
    /// Attack norm of the adversarial objectives (default: the checkpoint's training norm).
    #[arg(long, value_enum)]
    pub norm: Option<Norm>,
    /// Attack radius (default: the checkpoint's training radius).
    #[arg(long, value_parser = parse_eps)]
    pub eps: Option<f64>,
    /// PGD steps of the objective's attack.
    #[arg(long, default_value_t = 10)]
    pub steps: usize,
    /// Number of test examples (evenly spaced) the objective averages over.
    #[arg(long, value_parser = at_least_one, default_value_t = 256)]
    pub subset: usize,
    /// Examples per batch.
    #[arg(long, value_parser = at_least_one, default_value_t = 256)]
    pub batch_size: usize,
    /// Precision of the computation.
    #[arg(long, value_enum, default_value = "f64")]
    pub precision: Precision,
    /// Eigen-solver (hessian): power iteration (largest |λ|) or Lanczos (largest λ and λmin;
    /// --max-iter caps its steps, and it stops once the top k Ritz values moved by less than
    /// --tol in one step).
    #[arg(long, value_enum, default_value = "power")]
    pub method: EigenMethod,
    /// Number of eigenvalues (hessian).
    #[arg(long, value_parser = at_least_one, default_value_t = 5)]
    pub k: usize,
    /// Relative tolerance on the change of the Rayleigh quotient (hessian, power) or of the top
    /// k Ritz values (hessian, Lanczos) in one step.
    #[arg(long, default_value_t = 1e-3)]
    pub tol: f64,
    /// Iteration cap per eigenvalue (hessian), probe cap (trace), Lanczos steps (density).
    #[arg(long, default_value_t = 100)]
    pub max_iter: usize,
    /// Lanczos runs averaged (density).
    #[arg(long, value_parser = at_least_one, default_value_t = 1)]
    pub probes: usize,
    /// Finite-difference step of the Hessian-vector products (default 1e-7 in f64, forward
    /// differences; 1e-2 in f32, central differences).
    #[arg(long)]
    pub fd_step: Option<f64>,
    /// Hessian of the live network instead of θ₀'s linear piece (ReLU/pool gates frozen, the
    /// default for clean and adversarial-frozen; the adversarial objective is always live).
    #[arg(long)]
    pub live_activations: bool,
    /// Probe radii as fractions of ‖θ‖ (lipschitz; the largest is the half-width for kinks).
    #[arg(long, value_delimiter = ',', value_parser = positive_number, default_value = "1e-4,1e-3,1e-2")]
    pub radii: Vec<f64>,
    /// Random directions per radius (lipschitz).
    #[arg(long, default_value_t = 3)]
    pub directions: usize,
    /// Ascent steps of the worst-case probe (lipschitz).
    #[arg(long, default_value_t = 3)]
    pub ascent_steps: usize,
    /// Grid points along the line (kinks).
    #[arg(long, default_value_t = 41)]
    pub points: usize,
    /// Also probe EntropySGD's local-entropy map θ ↦ γ(θ − μ(θ)) of the objective at this scope γ
    /// (lipschitz; paper.md §2.5, claim C8). Each of its gradients runs a Langevin chain.
    #[arg(long)]
    pub local_entropy_gamma: Option<f64>,
    /// Langevin steps of that chain (full-subset gradients, the same noise at every θ).
    #[arg(long, default_value_t = 5)]
    pub local_entropy_steps: usize,
    /// Inner learning rate η' of that chain.
    #[arg(long, default_value_t = 0.1)]
    pub local_entropy_lr: f64,
    /// Thermal noise ε of that chain.
    #[arg(long, default_value_t = 1e-4)]
    pub local_entropy_noise: f64,
    /// Radius ρ of the weight ball (worst-case; average-case: the scale of its noise).
    #[arg(long, value_parser = positive_number, default_value_t = 0.1)]
    pub rho: f64,
    /// The weight ball (worst-case, average-case): the adaptive balls give each weight room
    /// in proportion to |θ₀ᵢ|; layerwise is AWP's ‖δ_l‖ ≤ ρ‖θ₀_l‖ (worst-case only).
    #[arg(long, value_enum, default_value = "adaptive-l2")]
    pub ball: WeightBall,
    /// Examples per batch of m-sharpness (worst-case, average-case, awp): each batch is
    /// measured on its own, and the report gives their mean ± s.e. It must divide --subset.
    #[arg(long, value_parser = at_least_one, default_value_t = 128)]
    pub m: usize,
    /// Ascent iterations per batch (worst-case, awp).
    #[arg(long, value_parser = at_least_one, default_value_t = 20)]
    pub iterations: usize,
    /// The first ascent step is 2ρ times this (worst-case, awp: 2γ).
    #[arg(long, value_parser = positive_number, default_value_t = 1.0)]
    pub step_size_mult: f64,
    /// Start the worst-case ascent from a random point of the ball (needed at a minimum,
    /// where the gradient vanishes).
    #[arg(long)]
    pub rand_init: bool,
    /// Noise draws per batch (average-case).
    #[arg(long, value_parser = at_least_one, default_value_t = 100)]
    pub samples: usize,
    /// Which tensors the weight perturbations move: `weights` leaves biases and batch norm
    /// fixed (AWP), `all` moves every parameter (tml-epfl).
    #[arg(long, value_enum, default_value = "weights")]
    pub perturbed: PerturbedParams,
    /// AWP's relative radius γ: ‖v_l‖ ≤ γ‖θ₀_l‖ per perturbed tensor (awp).
    #[arg(long, value_parser = positive_number, default_value_t = 0.01)]
    pub gamma: f64,
    /// Seed of the directions, start vectors, noise and attack starts.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Report path (default: next to the checkpoint).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

impl SharpnessArgs {
    /// The configuration these arguments ask for; `trained` is the checkpoint's training
    /// attack, the default of whichever of --norm/--eps is not given.
    fn config(&self, trained: Option<&PgdSettings>) -> Result<SharpnessConfig> {
        let Self {
            estimator,
            source: _,
            objective,
            norm,
            eps,
            steps,
            subset,
            batch_size,
            precision,
            method,
            k,
            tol,
            max_iter,
            probes,
            fd_step,
            live_activations,
            radii,
            directions,
            ascent_steps,
            points,
            local_entropy_gamma,
            local_entropy_steps,
            local_entropy_lr,
            local_entropy_noise,
            rho,
            ball,
            m,
            iterations,
            step_size_mult,
            rand_init,
            samples,
            perturbed,
            gamma,
            seed,
            out: _,
        } = self;
        let attack = match objective {
            ObjectiveKind::Clean => None,
            kind => Some(
                resolve_attack(
                    *norm,
                    *eps,
                    *steps,
                    trained,
                    &format!("--objective {}", kind.as_str()),
                )?
                .settings()
                .clone(),
            ),
        };
        Ok(SharpnessConfig {
            estimator: *estimator,
            objective: *objective,
            attack,
            subset: *subset,
            batch_size: *batch_size,
            precision: *precision,
            method: *method,
            k: *k,
            tol: *tol,
            max_iter: *max_iter,
            probes: *probes,
            fd_step: *fd_step,
            live_activations: *live_activations,
            radii: radii.clone(),
            directions: *directions,
            ascent_steps: *ascent_steps,
            points: *points,
            local_entropy_gamma: *local_entropy_gamma,
            local_entropy_steps: *local_entropy_steps,
            local_entropy_lr: *local_entropy_lr,
            local_entropy_noise: *local_entropy_noise,
            perturbation: WeightPerturbationConfig {
                rho: *rho,
                ball: *ball,
                m: *m,
                iterations: *iterations,
                step_size_mult: *step_size_mult,
                rand_init: *rand_init,
                samples: *samples,
                perturbed: *perturbed,
                gamma: *gamma,
            },
            seed: *seed,
        })
    }
}

/// Runs `advland sharpness`.
pub fn run(args: &SharpnessArgs, device: &Device, device_name: &str, quiet: bool) -> Result<()> {
    let start = Instant::now();
    let out = match &args.out {
        Some(out) => out.clone(),
        None => default_out(args)?,
    };
    advland_schema::check_output(&out)?;
    let (subject, later) = args.source.trajectory(device)?;
    subject
        .check_subset(args.subset, "subset")
        .map_err(flag_error)?;
    let config = args.config(subject.trained_with.as_ref())?;
    // The estimators report no intermediate progress, so a ticking spinner with the elapsed
    // time shows the run is alive.
    let spinner = crate::progress::spinner(
        &format!(
            "sharpness {} ({})",
            args.estimator.as_str(),
            args.objective.as_str()
        ),
        quiet,
    );
    let measured = sharpness::measure(
        &subject,
        &later,
        &config,
        device,
        &mut advland_train::Silent,
    );
    spinner.finish_and_clear();
    let mut report = report(
        measured.map_err(flag_error)?,
        &config,
        config.seed,
        device_name,
        start,
    );
    report.meta.weights = args.source.provenance();
    write_json(&out, &report)?;
    print_summary(&report.data, &out);
    Ok(())
}

/// Where a report goes without `--out`: with the (first) checkpoint or weights file.
fn default_out(args: &SharpnessArgs) -> Result<PathBuf> {
    args.source.default_out(&format!(
        "sharpness-{}-{}.json",
        args.estimator.as_str(),
        args.objective.as_str()
    ))
}

fn print_summary(r: &SharpnessReport, out: &Path) {
    println!(
        "objective {} on {} examples, loss {:.5}, |theta| {:.4}",
        r.objective.kind.as_str(),
        r.objective.examples,
        r.objective.loss,
        r.objective.theta_norm
    );
    match &r.estimate {
        SharpnessEstimate::Hessian(h) => {
            if let Some(min) = h.lambda_min {
                println!("lambda_min = {min:+.6e}");
            }
            for (i, e) in h.eigenvalues.iter().enumerate() {
                println!(
                    "lambda_{} = {:+.6e}  ({} HVPs, {:?}, residual {:.2e})",
                    i + 1,
                    e.value,
                    e.hvps,
                    e.stop,
                    e.residual
                );
            }
        }
        SharpnessEstimate::Lipschitz(l) => {
            if let Some(e) = &l.local_entropy {
                println!(
                    "local-entropy map (gamma {}, L = {}): kappa_max {:.6e}",
                    e.gamma, e.inner_steps, e.kappa_max
                );
            }
            for o in &l.objectives {
                println!("{}: kappa_max {:.6e}", o.kind.as_str(), o.kappa_max);
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
                    println!(
                        "  r = {:.3e}: kappa max {:.6e} mean {:.6e} | max |d delta|/|d theta| {:.3e} | max sign flips {:.2e}",
                        p.radius, p.kappa_max, p.kappa_mean, ratio, flips
                    );
                }
                println!(
                    "  worst case (r = {:.3e}): {:.6e}",
                    o.worst_case.radius, o.worst_case.kappa
                );
            }
            for (i, s) in l.trajectory.iter().enumerate() {
                println!(
                    "trajectory secant {}->{}: kappa {:.6e}",
                    i + 1,
                    i + 2,
                    s.kappa
                );
            }
        }
        SharpnessEstimate::Trace(t) => {
            println!(
                "trace(H) = {:.6e} ± {:.2e} (95% CI [{:.6e}, {:.6e}], {} probes, {:?})",
                t.mean, t.std_error, t.ci95_low, t.ci95_high, t.samples, t.stop
            );
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
            println!(
                "spectrum in [{lo:.6e}, {hi:.6e}], {} probes, sigma {:.2e}",
                d.nodes.len(),
                d.sigma
            );
        }
        SharpnessEstimate::WorstCase(w) => print_weight_sharpness("worst-case", w),
        SharpnessEstimate::AverageCase(w) => print_weight_sharpness("average-case", w),
        SharpnessEstimate::Awp(w) => print_weight_sharpness("awp", w),
        SharpnessEstimate::Kinks(k) => {
            println!(
                "largest gradient jump {:.6e} at t = {:.4e} (median jump {:.6e}, {} points)",
                k.max_jump,
                k.max_jump_at,
                k.median_jump,
                k.t.len()
            );
        }
    }
    println!("gradient evaluations: {}", r.gradient_evaluations);
    println!("report: {}", out.display());
}

fn print_weight_sharpness(name: &str, w: &WeightSharpnessResult) {
    let pm = |s: &advland_schema::MeanStdError| match s.std_error {
        Some(se) => format!("{:.6e} ± {se:.2e}", s.mean),
        None => format!("{:.6e}", s.mean),
    };
    println!(
        "{name} sharpness ({} ball, rho {}, m {}, {} batches, {} perturbed scalars, batch norm: {}): loss increase {}",
        w.ball.as_str(),
        w.rho,
        w.m,
        w.batches.len(),
        w.perturbed_scalars,
        w.batch_norm,
        pm(&w.increase)
    );
    if let Some(e) = &w.error_increase {
        println!("  error increase {}", pm(e));
    }
    if let Some(o) = &w.one_step_increase {
        println!("  AWP one-step increase {}", pm(o));
    }
    for (i, b) in w.batches.iter().enumerate() {
        println!(
            "  batch {}: loss {:.6e} -> {:.6e} (+{:.6e}), |delta| {:.4e}",
            i + 1,
            b.loss,
            b.perturbed_loss,
            b.increase,
            b.delta_norm
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{Command, parse_command};
    use advland_schema::{Norm, PgdSettings};

    /// The flags' defaults are the library's, so a report from the command line and one from
    /// `SharpnessConfig::default()` mean the same measurement.
    #[test]
    fn default_flags_give_the_library_defaults() {
        let Command::Sharpness(args) =
            parse_command(&["sharpness", "hessian", "--checkpoint", "c"])
        else {
            panic!("not sharpness")
        };
        let trained = PgdSettings::new(Norm::L2, 0.5, 7);
        let config = args.config(Some(&trained)).expect("resolves");
        assert_eq!(
            config,
            SharpnessConfig {
                attack: Some(PgdSettings::new(Norm::L2, 0.5, 10)),
                ..SharpnessConfig::default()
            }
        );
    }
}
