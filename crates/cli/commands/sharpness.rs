//! `advland sharpness`: parameter-space smoothness and sharpness of a checkpoint's loss
//! (paper.md §3.2 E-B): Hessian eigenvalues, gradient-Lipschitz probes, gradient jumps.

use std::path::{Path, PathBuf};
use std::time::Instant;

use advland_analysis::sharpness::{self, SharpnessConfig};
use advland_schema::{
    Norm, ObjectiveKind, PgdSettings, SharpnessEstimate, SharpnessReport, WeightSharpnessResult,
    write_json,
};
use anyhow::Result;
use burn::tensor::Device;
use clap::Args;

use crate::args::{flag_error, parse_eps, resolve_attack};
use crate::meta::report;
use advland_analysis::load::ModelSource;

/// `advland sharpness`.
#[derive(Debug, Args)]
pub struct SharpnessArgs {
    /// The model(s).
    #[command(flatten)]
    pub source: ModelSource,
    /// Attack norm of the adversarial objectives (default: the checkpoint's training norm).
    #[arg(long, value_enum)]
    pub norm: Option<Norm>,
    /// Attack radius (default: the checkpoint's training radius).
    #[arg(long, value_parser = parse_eps)]
    pub eps: Option<f64>,
    /// PGD steps of the objective's attack.
    #[arg(long, default_value_t = 10)]
    pub steps: usize,
    /// What to measure and how.
    #[command(flatten)]
    pub config: SharpnessConfig,
    /// Report path (default: next to the checkpoint).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

impl SharpnessArgs {
    /// The configuration these arguments ask for; `trained` is the checkpoint's training
    /// attack, the default of whichever of --norm/--eps is not given.
    fn config(&self, trained: Option<&PgdSettings>) -> Result<SharpnessConfig> {
        let attack = match self.config.objective {
            ObjectiveKind::Clean => None,
            kind => Some(
                resolve_attack(
                    self.norm,
                    self.eps,
                    self.steps,
                    trained,
                    &format!("--objective {}", kind.as_str()),
                )?
                .settings()
                .clone(),
            ),
        };
        Ok(SharpnessConfig {
            attack,
            ..self.config.clone()
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
        .check_subset(args.config.subset, "subset")
        .map_err(flag_error)?;
    let config = args.config(subject.trained_with.as_ref())?;
    // The estimators report no intermediate progress, so a ticking spinner with the elapsed
    // time shows the run is alive.
    let spinner = crate::progress::spinner(
        &format!(
            "sharpness {} ({})",
            args.config.estimator.as_str(),
            args.config.objective.as_str()
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
    Ok(args.source.default_out(&format!(
        "sharpness-{}-{}.json",
        args.config.estimator.as_str(),
        args.config.objective.as_str()
    ))?)
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
