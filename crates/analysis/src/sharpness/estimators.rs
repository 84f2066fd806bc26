//! The five estimators of [`measure`](super::measure), each turning the objective at θ₀
//! into its part of the report.

use advland_schema::{
    DensityResult, DiameterComparison, EigenMethod, Eigenvalue, EntropySgdSettings, HessianResult,
    KinkProfile, LocalEntropyKappa, ObjectiveKind, Precision, RadiusProbe, SmoothnessEstimates,
    StopReason, TraceResult,
};
use burn::tensor::Device;

use super::config::SharpnessConfig;
use crate::error::{Error, Result};
use crate::hessian::{
    DensityConfig, FiniteDifferenceHessian, LanczosConfig, LanczosStop, PowerIterationConfig,
    Settle, TraceConfig, hutchinson_trace, lanczos, spectral_density, top_eigenpairs,
};
use crate::lipschitz::{
    Anchor, gradient_jumps, probe_directions, random_directions, worst_case_ascent,
};
use crate::local_entropy::{LocalEntropyObjective, local_entropy_kappa};
use crate::model_objective::ModelObjective;
use crate::uncertainty::{scaling, summarize};
use crate::vector::{norm, normalize};

/// The Hessian at θ₀ as the estimators see it. In f64, forward differences from a cached
/// ∇f(θ₀): one gradient per product instead of two, at ~1e-7 relative error. In f32, central
/// differences: a forward difference there cannot get below ~1e-3.
fn hessian_operator<'a>(
    config: &SharpnessConfig,
    objective: &'a ModelObjective,
    theta: &[f64],
) -> Result<FiniteDifferenceHessian<'a, ModelObjective>> {
    let fd_step = config.fd_step();
    match config.precision {
        Precision::F64 => FiniteDifferenceHessian::forward(objective, theta.to_vec(), fd_step),
        Precision::F32 => FiniteDifferenceHessian::new(objective, theta.to_vec(), fd_step),
    }
}

/// Top-k eigenvalues by power iteration with deflation, or the largest Ritz values and λmin
/// by Lanczos.
pub(super) fn hessian(
    config: &SharpnessConfig,
    objective: &ModelObjective,
    theta: &[f64],
) -> Result<HessianResult> {
    let fd_step = config.fd_step();
    let op = hessian_operator(config, objective, theta)?;
    if config.method == EigenMethod::Lanczos {
        // Fewer steps than k could not produce k Ritz values.
        let steps = config.max_iter.max(config.k);
        let result = lanczos(
            &op,
            &LanczosConfig {
                steps,
                seed: config.seed,
                settle: Some(Settle {
                    k: config.k,
                    tol: config.tol,
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
            tol: config.tol,
            eigenvalues: result
                .top_k(config.k)
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
    let pairs = top_eigenpairs(
        &op,
        &PowerIterationConfig {
            k: config.k,
            tol: config.tol,
            max_iter: config.max_iter,
            seed: config.seed,
        },
    )?;
    Ok(HessianResult {
        method: EigenMethod::Power,
        fd_step,
        tol: config.tol,
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

/// Hutchinson's trace with its 95 % interval.
pub(super) fn trace(
    config: &SharpnessConfig,
    objective: &ModelObjective,
    theta: &[f64],
) -> Result<TraceResult> {
    let op = hessian_operator(config, objective, theta)?;
    let t = hutchinson_trace(
        &op,
        &TraceConfig {
            max_samples: config.max_iter,
            tol: config.tol,
            seed: config.seed,
            ..TraceConfig::default()
        },
    )?;
    Ok(TraceResult {
        fd_step: config.fd_step(),
        mean: t.mean,
        std_error: t.std_error,
        ci95_low: t.ci95.0,
        ci95_high: t.ci95.1,
        samples: t.samples,
        running_mean: t.trace_of_running_mean,
        stop: t.stop,
    })
}

/// The spectral density by stochastic Lanczos quadrature.
pub(super) fn density(
    config: &SharpnessConfig,
    objective: &ModelObjective,
    theta: &[f64],
) -> Result<DensityResult> {
    let op = hessian_operator(config, objective, theta)?;
    let d = spectral_density(
        &op,
        &DensityConfig {
            steps: config.max_iter,
            probes: config.probes,
            seed: config.seed,
            ..DensityConfig::default()
        },
    )?;
    Ok(DensityResult {
        fd_step: config.fd_step(),
        nodes: d.nodes,
        weights: d.weights,
        sigma: d.sigma,
        grid: d.grid,
        density: d.density,
    })
}

/// Gradient jumps along one seeded random line, half-width the largest radius times ‖θ‖.
pub(super) fn kinks(
    config: &SharpnessConfig,
    objective: &ModelObjective,
    theta: &[f64],
) -> Result<KinkProfile> {
    let direction = random_directions(theta.len(), 1, config.seed).remove(0);
    let t_max = config.radii.iter().copied().fold(0.0, f64::max) * norm(theta);
    gradient_jumps(objective, theta, &direction, t_max, config.points)
}

/// κ(r) on random directions, along the descent direction and by worst-case ascent.
pub(super) fn smoothness(
    config: &SharpnessConfig,
    objective: &ModelObjective,
    theta: &[f64],
) -> Result<SmoothnessEstimates> {
    let scale = norm(theta);
    let radii: Vec<f64> = config.radii.iter().map(|r| r * scale).collect();
    let center = Anchor::at(objective, theta.to_vec())?;
    let directions = random_directions(theta.len(), config.directions, config.seed);
    let mut random = probe_directions(objective, &center, &directions, &radii)?;
    summarize(&mut random, config.seed);
    let scaling = scaling(&random, config.seed);
    let mut descent: Vec<f64> = center.grad.iter().map(|g| -g).collect();
    if normalize(&mut descent) == 0.0 {
        return Err(Error::InvalidConfig {
            field: "checkpoint",
            reason: "the gradient is zero at the checkpoint: no gradient direction to probe"
                .to_owned(),
        });
    }
    let gradient_direction = probe_directions(objective, &center, &[descent], &radii)?;
    let smallest = radii.iter().copied().fold(f64::INFINITY, f64::min);
    let start = directions.first().cloned().unwrap_or_default();
    let (worst_case, _) =
        worst_case_ascent(objective, &center, start, smallest, config.ascent_steps)?;
    let diameter = match objective.kind() {
        ObjectiveKind::Adversarial => objective
            .attack_diameter()
            .map(|d| diameter_fractions(&random, d, objective.examples())),
        _ => None,
    };
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
        scaling,
        gradient_norm: Some(norm(&center.grad)),
        diameter,
    })
}

/// The largest per-radius RMS-per-example attack movement of `probes` as a fraction of the
/// ball's `diameter` (the secants record ‖Δδ‖/‖Δθ‖ over the whole subset of `examples`).
fn diameter_fractions(
    probes: &[RadiusProbe],
    diameter: f64,
    examples: usize,
) -> DiameterComparison {
    let per_example = (examples.max(1) as f64).sqrt();
    DiameterComparison {
        diameter,
        fraction: probes
            .iter()
            .map(|p| {
                p.secants
                    .iter()
                    .filter_map(|s| {
                        s.delta_ratio
                            .map(|r| r * s.distance / per_example / diameter)
                    })
                    .fold(0.0, f64::max)
            })
            .collect(),
    }
}

/// κ of the local-entropy map of `objective` on the random directions and radii of
/// [`smoothness`]. The chain keeps no momentum and no weight decay: μ(θ) is then the plain
/// Langevin mean of paper.md §2.5.
pub(super) fn local_entropy(
    config: &SharpnessConfig,
    objective: &ModelObjective,
    theta: &[f64],
    gamma: f64,
    device: &Device,
) -> Result<LocalEntropyKappa> {
    let settings = EntropySgdSettings {
        inner_steps: config.local_entropy_steps,
        inner_lr: config.local_entropy_lr,
        noise: config.local_entropy_noise,
        momentum: 0.0,
        weight_decay: 0.0,
        ..EntropySgdSettings::default()
    };
    let map = LocalEntropyObjective::new(objective, settings.clone(), gamma, config.seed, device)?;
    let scale = norm(theta);
    let radii: Vec<f64> = config.radii.iter().map(|r| r * scale).collect();
    let directions = random_directions(theta.len(), config.directions, config.seed);
    let (mut random, map_norm) = local_entropy_kappa(&map, theta.to_vec(), &directions, &radii)?;
    summarize(&mut random, config.seed);
    let kappa_max = random.iter().map(|p| p.kappa_max).fold(0.0, f64::max);
    Ok(LocalEntropyKappa {
        gamma,
        inner_steps: settings.inner_steps,
        inner_lr: settings.inner_lr,
        noise: settings.noise,
        random,
        kappa_max,
        map_norm: Some(map_norm),
    })
}

#[cfg(test)]
mod tests {
    use advland_schema::Secant;

    use super::*;

    #[test]
    fn diameter_fractions_are_per_example_movements_over_the_diameter() {
        let secant = |distance, ratio| Secant {
            distance,
            kappa: 1.0,
            delta_ratio: Some(ratio),
            sign_flip_fraction: None,
        };
        // ‖Δδ‖ = 0.5·2 = 1 over 4 examples: 0.5 per example (RMS), a tenth of a diameter of 5;
        // the other direction moved half as far.
        let probe = RadiusProbe {
            radius: 0.5,
            kappa_max: 1.0,
            kappa_mean: 1.0,
            secants: vec![secant(0.5, 2.0), secant(0.5, 1.0)],
            summary: None,
        };
        let c = diameter_fractions(&[probe], 5.0, 4);
        assert_eq!(c.diameter, 5.0);
        assert!((c.fraction[0] - 0.1).abs() < 1e-15, "{c:?}");
    }
}
