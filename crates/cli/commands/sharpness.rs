//! `advland sharpness`: parameter-space smoothness and sharpness of a checkpoint's loss
//! (paper.md §3.2 E-B): Hessian eigenvalues, gradient-Lipschitz probes, gradient jumps.

use std::path::Path;
use std::time::Instant;

use advland_analysis::hessian::{
    DensityConfig, FiniteDifferenceHessian, LanczosConfig, LanczosStop, PowerIterationConfig,
    Settle, TraceConfig, hutchinson_trace, lanczos, spectral_density, top_eigenpairs,
};
use advland_analysis::lipschitz::{
    Anchor, gradient_jumps, probe_directions, random_directions, worst_case_ascent,
};
use advland_analysis::local_entropy::{LocalEntropyObjective, local_entropy_kappa};
use advland_analysis::model_objective::{ModelObjective, ObjectiveSpec};
use advland_analysis::vector::{norm, normalize};
use advland_analysis::{Objective, ObjectiveKind};
use advland_schema::{
    Cost, DensityResult, EigenMethod, Eigenvalue, EntropySgdSettings, HessianResult,
    LipschitzResult, LocalEntropyKappa, ObjectiveInfo, Precision, Report, SharpnessEstimate,
    SharpnessReport, SmoothnessEstimates, StopReason, TraceResult, write_json,
};
use advland_train::checkpoint::load_checkpoint;
use advland_train::data::{checkpoint_test_set, describe, subset};
use anyhow::{Context, Result, bail};
use burn::tensor::Device;

use crate::args::{Estimator, SharpnessArgs};
use crate::meta::meta;

/// Runs `advland sharpness`.
pub fn run(args: &SharpnessArgs, device: &Device, device_name: &str, quiet: bool) -> Result<()> {
    let out = match &args.out {
        Some(out) => out.clone(),
        None => default_out(args)?,
    };
    advland_schema::check_output(&out)?;
    // The estimators report no intermediate progress, so a ticking spinner with the elapsed
    // time shows the run is alive.
    let spinner = indicatif::ProgressBar::hidden();
    if !quiet {
        spinner.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {msg} {elapsed}") {
            spinner.set_style(style);
        }
        spinner.set_message(format!(
            "sharpness {} ({})",
            args.estimator.as_str(),
            args.objective.as_str()
        ));
        spinner.enable_steady_tick(std::time::Duration::from_millis(200));
    }
    let report = measure(args, device, device_name);
    spinner.finish_and_clear();
    let report = report?;
    write_json(&out, &report)?;
    print_summary(&report.data, &out);
    Ok(())
}

/// Where a report goes without `--out`: next to the (first) checkpoint.
pub fn default_out(args: &SharpnessArgs) -> Result<std::path::PathBuf> {
    let checkpoint = args
        .checkpoint
        .first()
        .context("--checkpoint is required")?;
    Ok(checkpoint.join(format!(
        "sharpness-{}-{}.json",
        args.estimator.as_str(),
        args.objective.as_str()
    )))
}

/// Computes the report `args` asks for, without writing it.
pub fn measure(
    args: &SharpnessArgs,
    device: &Device,
    device_name: &str,
) -> Result<Report<SharpnessReport>> {
    let start = Instant::now();
    if let Some(gamma) = args.local_entropy_gamma {
        if args.estimator != Estimator::Lipschitz {
            bail!("--local-entropy-gamma belongs to the lipschitz estimator");
        }
        if !(gamma.is_finite() && gamma > 0.0) {
            bail!("--local-entropy-gamma: the scope γ must be finite and > 0, got {gamma}");
        }
    }
    let checkpoint = args
        .checkpoint
        .first()
        .context("--checkpoint is required")?;
    let (model, info) = load_checkpoint(checkpoint, device)
        .with_context(|| format!("loading checkpoint {}", checkpoint.display()))?;
    let test = checkpoint_test_set(&info, checkpoint).context("loading the data")?;
    let total = test.len();
    let test = subset(test, Some(args.subset), "--subset")?;
    let attack = args.attack(info.settings.adversarial.as_ref())?;
    // Hessians are taken on θ₀'s linear piece (what double-backward reports); smoothness probes
    // and kinks look at the live network, whose gate switches are part of what they measure.
    let freeze = matches!(
        args.estimator,
        Estimator::Hessian | Estimator::Trace | Estimator::Density
    ) && !args.live_activations
        && args.objective != ObjectiveKind::Adversarial;
    let build = |kind: ObjectiveKind, model: &advland_train::Model| {
        let spec = ObjectiveSpec {
            kind,
            attack: attack.clone(),
            precision: args.precision,
            batch_size: args.batch_size,
            seed: args.seed,
            freeze_activations: freeze,
        };
        ModelObjective::new(model, &test, &spec, device)
    };
    let objective = build(args.objective, &model)?;
    let theta = objective.reference();
    let loss = objective.loss(&theta)?;
    let mut evaluations = 0;
    let mut cost = Cost::default();
    let estimate = match args.estimator {
        Estimator::Hessian => SharpnessEstimate::Hessian(hessian(args, &objective, &theta)?),
        Estimator::Lipschitz => {
            let mut objectives = vec![smoothness(args, &objective, &theta)?];
            if args.objective == ObjectiveKind::Adversarial {
                let frozen = build(ObjectiveKind::AdversarialFrozen, &model)?;
                objectives.push(smoothness(args, &frozen, &theta)?);
                evaluations += frozen.evaluations();
                cost += frozen.cost();
            }
            let mut trajectory = Vec::new();
            let mut previous = Anchor::at(&objective, theta.clone())?;
            for path in &args.checkpoint[1..] {
                let (next, _) = load_checkpoint(path, device)
                    .with_context(|| format!("loading checkpoint {}", path.display()))?;
                let theta_next = build(ObjectiveKind::Clean, &next)?.reference();
                let anchor = Anchor::at(&objective, theta_next)?;
                trajectory.push(anchor.secant(&previous)?);
                previous = anchor;
            }
            let local_entropy = match args.local_entropy_gamma {
                Some(gamma) => Some(local_entropy(args, &objective, &theta, gamma, device)?),
                None => None,
            };
            SharpnessEstimate::Lipschitz(LipschitzResult {
                relative_radii: args.radii.clone(),
                objectives,
                trajectory,
                local_entropy,
            })
        }
        Estimator::Trace => {
            let fd_step = fd_step(args);
            let op = hessian_operator(args, &objective, &theta)?;
            let config = TraceConfig {
                max_samples: args.max_iter,
                tol: args.tol,
                seed: args.seed,
                ..TraceConfig::default()
            };
            let t = hutchinson_trace(&op, &config)?;
            SharpnessEstimate::Trace(TraceResult {
                fd_step,
                mean: t.mean,
                std_error: t.std_error,
                ci95_low: t.ci95.0,
                ci95_high: t.ci95.1,
                samples: t.samples,
                running_mean: t.trace_of_running_mean,
                stop: t.stop,
            })
        }
        Estimator::Density => {
            let fd_step = fd_step(args);
            let op = hessian_operator(args, &objective, &theta)?;
            let config = DensityConfig {
                steps: args.max_iter,
                probes: args.probes,
                seed: args.seed,
                ..DensityConfig::default()
            };
            let d = spectral_density(&op, &config)?;
            SharpnessEstimate::Density(DensityResult {
                fd_step,
                nodes: d.nodes,
                weights: d.weights,
                sigma: d.sigma,
                grid: d.grid,
                density: d.density,
            })
        }
        Estimator::Kinks => {
            let direction = random_directions(theta.len(), 1, args.seed).remove(0);
            let t_max = args.radii.iter().copied().fold(0.0, f64::max) * norm(&theta);
            SharpnessEstimate::Kinks(gradient_jumps(
                &objective,
                &theta,
                &direction,
                t_max,
                args.points,
            )?)
        }
    };
    evaluations += objective.evaluations();
    cost += objective.cost();
    let report = SharpnessReport {
        objective: ObjectiveInfo {
            kind: args.objective,
            attack: attack.as_ref().map(|a| a.settings().clone()),
            precision: args.precision,
            model_mode: "eval".to_owned(),
            frozen_activations: freeze,
            examples: objective.examples(),
            checkpoint: checkpoint.display().to_string(),
            epoch: info.epoch,
            theta_norm: norm(&theta),
            parameters: theta.len(),
            loss,
        },
        estimate,
        gradient_evaluations: evaluations,
    };
    // No `null` for an absent attack: reports never hold nulls (they mark non-finite numbers).
    let mut config = serde_json::json!({ "args": crate::meta::args_config(args) });
    if let Some(a) = &attack {
        config["attack"] = serde_json::to_value(a.settings())?;
    }
    let mut meta = meta(device_name, args.seed, &config, describe(&test, total));
    meta.duration_s = start.elapsed().as_secs_f64();
    meta.cost = cost;
    Ok(Report::new("sharpness", meta, report))
}

/// The HVP step: f64 runs forward differences (see [`hessian_operator`]) whose error at 1e-7 is
/// ~1e-7 relative (O(h) truncation over ~1e-16/h rounding); f32 runs central differences, whose
/// optimum is near 1e-2 (both measured in the analysis crate's `hessian_oracle` test).
fn fd_step(args: &SharpnessArgs) -> f64 {
    args.fd_step.unwrap_or(match args.precision {
        Precision::F64 => 1e-7,
        Precision::F32 => 1e-2,
    })
}

/// The Hessian at θ₀ as the estimators see it. In f64, forward differences from a cached
/// ∇f(θ₀): one gradient per product instead of two, at ~1e-7 relative error. In f32, central
/// differences: a forward difference there cannot get below ~1e-3.
fn hessian_operator<'a>(
    args: &SharpnessArgs,
    objective: &'a ModelObjective,
    theta: &[f64],
) -> Result<FiniteDifferenceHessian<'a, ModelObjective>> {
    let fd_step = fd_step(args);
    Ok(match args.precision {
        Precision::F64 => FiniteDifferenceHessian::forward(objective, theta.to_vec(), fd_step)?,
        Precision::F32 => FiniteDifferenceHessian::new(objective, theta.to_vec(), fd_step)?,
    })
}

fn hessian(
    args: &SharpnessArgs,
    objective: &ModelObjective,
    theta: &[f64],
) -> Result<HessianResult> {
    let fd_step = fd_step(args);
    let op = hessian_operator(args, objective, theta)?;
    if args.method == EigenMethod::Lanczos {
        let steps = args.max_iter.max(args.k);
        let result = lanczos(
            &op,
            &LanczosConfig {
                steps,
                seed: args.seed,
                settle: Some(Settle {
                    k: args.k,
                    tol: args.tol,
                }),
            },
        )?;
        let stop = match result.stop {
            LanczosStop::InvariantSubspace | LanczosStop::Settled => StopReason::Converged,
            LanczosStop::StepLimit => StopReason::MaxIter,
        };
        return Ok(HessianResult {
            method: EigenMethod::Lanczos,
            fd_step,
            tol: args.tol,
            eigenvalues: result
                .top_k(args.k)
                .into_iter()
                .map(|p| Eigenvalue {
                    value: p.value,
                    trace: Vec::new(),
                    residual: p.residual,
                    hvps: result.applications,
                    stop,
                })
                .collect(),
            lambda_min: Some(result.smallest()),
        });
    }
    let config = PowerIterationConfig {
        k: args.k,
        tol: args.tol,
        max_iter: args.max_iter,
        seed: args.seed,
    };
    let pairs = top_eigenpairs(&op, &config)?;
    Ok(HessianResult {
        method: EigenMethod::Power,
        fd_step,
        tol: args.tol,
        eigenvalues: pairs
            .into_iter()
            .map(|p| Eigenvalue {
                value: p.value,
                trace: p.trace,
                residual: p.residual,
                hvps: p.applications,
                stop: p.stop,
            })
            .collect(),
        lambda_min: None,
    })
}

fn smoothness(
    args: &SharpnessArgs,
    objective: &ModelObjective,
    theta: &[f64],
) -> Result<SmoothnessEstimates> {
    let scale = norm(theta);
    let radii: Vec<f64> = args.radii.iter().map(|r| r * scale).collect();
    let center = Anchor::at(objective, theta.to_vec())?;
    let directions = random_directions(theta.len(), args.directions, args.seed);
    let random = probe_directions(objective, &center, &directions, &radii)?;
    let mut descent: Vec<f64> = center.grad.iter().map(|g| -g).collect();
    if normalize(&mut descent) == 0.0 {
        bail!("the gradient is zero at the checkpoint: no gradient direction to probe");
    }
    let gradient_direction = probe_directions(objective, &center, &[descent], &radii)?;
    let smallest = radii.iter().copied().fold(f64::INFINITY, f64::min);
    let start = directions.first().cloned().unwrap_or_default();
    let (worst_case, _) =
        worst_case_ascent(objective, &center, start, smallest, args.ascent_steps)?;
    let kappa_max = random
        .iter()
        .chain(&gradient_direction)
        .map(|p| p.kappa_max)
        .fold(worst_case.kappa, f64::max);
    Ok(SmoothnessEstimates {
        kind: objective.kind(),
        random,
        gradient_direction,
        worst_case,
        kappa_max,
    })
}

/// κ of the local-entropy map of `objective` on the random directions and radii of
/// [`smoothness`]. The chain keeps no momentum and no weight decay: μ(θ) is then the plain
/// Langevin mean of paper.md §2.5.
fn local_entropy(
    args: &SharpnessArgs,
    objective: &ModelObjective,
    theta: &[f64],
    gamma: f64,
    device: &Device,
) -> Result<LocalEntropyKappa> {
    let settings = EntropySgdSettings {
        inner_steps: args.local_entropy_steps,
        inner_lr: args.local_entropy_lr,
        noise: args.local_entropy_noise,
        momentum: 0.0,
        weight_decay: 0.0,
        ..EntropySgdSettings::default()
    };
    let map = LocalEntropyObjective::new(objective, settings.clone(), gamma, args.seed, device)?;
    let scale = norm(theta);
    let radii: Vec<f64> = args.radii.iter().map(|r| r * scale).collect();
    let directions = random_directions(theta.len(), args.directions, args.seed);
    let random = local_entropy_kappa(&map, theta.to_vec(), &directions, &radii)?;
    let kappa_max = random.iter().map(|p| p.kappa_max).fold(0.0, f64::max);
    Ok(LocalEntropyKappa {
        gamma,
        inner_steps: settings.inner_steps,
        inner_lr: settings.inner_lr,
        noise: settings.noise,
        random,
        kappa_max,
    })
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
