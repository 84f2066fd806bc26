//! Smoothness of the local-entropy objective that EntropySGD descends (paper.md §2.5).
//!
//! EntropySGD replaces ∇f(θ) by γ(θ − μ(θ)), μ the running mean of its Langevin chain
//! ([`run_langevin_chain`]). The claim that EnSGD smooths a non-smooth adversarial loss is a
//! claim about the map θ ↦ γ(θ − μ(θ)), so [`LocalEntropyObjective`] presents that map as a
//! gradient and the probes of [`crate::lipschitz`] measure its κ unchanged.

use advland_schema::{EntropySgdSettings, RadiusProbe};
use advland_train::optim::{ChainOutcome, run_langevin_chain};
use advland_train::params::from_host;
use burn::tensor::{Device, Tensor};

use crate::error::{Error, Result};
use crate::lipschitz::{Anchor, probe_directions};
use crate::model_objective::to_host_f64;
use crate::objective::Objective;
use crate::vector::norm;

/// `base` seen through EntropySGD's chain: the gradient at θ is γ(θ − μ(θ)), with μ from
/// `settings` (L, η', ε, mean weight, inner momentum and weight decay; the outer-step
/// settings play no part) and the chain's gradients being `base`'s full gradients. The loss
/// is `base`'s f(θ): the local entropy itself would need the partition function.
///
/// Every evaluation reuses the noise of `seed` (common random numbers), so secants measure
/// how μ moves with θ, not the chain's sampling noise; on a quadratic the map is then exactly
/// linear, noise or not.
pub struct LocalEntropyObjective<'a> {
    base: &'a dyn Objective,
    settings: EntropySgdSettings,
    gamma: f64,
    seed: u64,
    device: Device,
}

impl<'a> LocalEntropyObjective<'a> {
    /// The local-entropy view of `base` at scope `gamma`; the chain runs on `device`.
    ///
    /// # Errors
    /// `gamma` not finite and positive, or settings that [`EntropySgdSettings::problems`]
    /// rejects.
    pub fn new(
        base: &'a dyn Objective,
        settings: EntropySgdSettings,
        gamma: f64,
        seed: u64,
        device: &Device,
    ) -> Result<Self> {
        if !(gamma.is_finite() && gamma > 0.0) {
            return Err(Error::InvalidConfig {
                field: "gamma",
                reason: format!("must be finite and > 0, got {gamma}"),
            });
        }
        if let Some(problem) = settings.problems("entropy_sgd").into_iter().next() {
            return Err(Error::InvalidConfig {
                field: "entropy_sgd",
                reason: problem.to_string(),
            });
        }
        Ok(Self {
            base,
            settings,
            gamma,
            seed,
            device: device.clone(),
        })
    }

    /// μ(θ), the chain's running mean from θ.
    ///
    /// # Errors
    /// From the base objective.
    pub fn chain_mean(&self, theta: &[f64]) -> Result<Vec<f64>> {
        let anchor = from_host(theta.iter().map(|&v| v as f32).collect(), &self.device);
        let mut failure = None;
        let mut grad_at = |x: &Tensor<1>| -> advland_train::Result<Option<Tensor<1>>> {
            match self.base.loss_and_gradient(&to_host_f64(x)) {
                Ok((_, g)) => Ok(Some(from_host(
                    g.iter().map(|&v| v as f32).collect(),
                    &self.device,
                ))),
                Err(e) => {
                    // The chain speaks the training crate's errors; keep ours to return it.
                    failure = Some(e);
                    Ok(None)
                }
            }
        };
        let outcome =
            run_langevin_chain(&self.settings, &anchor, self.gamma, self.seed, &mut grad_at)?;
        if let Some(e) = failure {
            return Err(e);
        }
        match outcome {
            ChainOutcome::Complete(chain) => Ok(to_host_f64(&chain.mean)),
            ChainOutcome::CutShort(_) => Err(Error::InvalidConfig {
                field: "entropy_sgd",
                reason: "the Langevin chain stopped early".to_owned(),
            }),
        }
    }
}

impl Objective for LocalEntropyObjective<'_> {
    fn dim(&self) -> usize {
        self.base.dim()
    }

    fn loss_and_gradient(&self, theta: &[f64]) -> Result<(f64, Vec<f64>)> {
        let mean = self.chain_mean(theta)?;
        let grad = theta
            .iter()
            .zip(&mean)
            .map(|(t, m)| self.gamma * (t - m))
            .collect();
        Ok((self.base.loss(theta)?, grad))
    }
}

/// κ(r) of the local-entropy map θ ↦ γ(θ − μ(θ)) of `objective` around `theta`, along unit
/// `directions` at each radius (the probes of [`probe_directions`]). For f = ½θᵀAθ and a
/// converged chain the map is A(I + A/γ)⁻¹θ, so κ ≤ max aγ/(a + γ) < min(‖A‖, γ): the
/// smoothing that paper.md §2.5 attributes to EntropySGD.
///
/// Returns the probes and ‖γ(θ − μ(θ))‖ at `theta`, the map's size there.
///
/// # Errors
/// From the objective and the probes.
pub fn local_entropy_kappa(
    objective: &LocalEntropyObjective<'_>,
    theta: Vec<f64>,
    directions: &[Vec<f64>],
    radii: &[f64],
) -> Result<(Vec<RadiusProbe>, f64)> {
    let center = Anchor::at(objective, theta)?;
    let probes = probe_directions(objective, &center, directions, radii)?;
    Ok((probes, norm(&center.grad)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lipschitz::random_directions;
    use crate::objective::Quadratic;

    #[test]
    fn local_entropy_kappa_on_a_quadratic_is_a_gamma_over_a_plus_gamma() {
        // A = diag(4, 1, 0.25), γ = 1: the map's eigenvalues are aγ/(a+γ) = 0.8, 0.5, 0.2,
        // so κ along e₁ is 0.8 (f's own κ there is 4) and no direction exceeds it. The chain
        // (η' = 0.1, L = 200, no momentum) converges to (1 − h)^L < 1e-11, and the noise is
        // common to all points, so the only error is f32 rounding: 1e-3 relative.
        let q = Quadratic {
            a: vec![4.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.25],
            b: vec![0.0; 3],
        };
        let settings = EntropySgdSettings {
            inner_steps: 200,
            noise: 0.05,
            momentum: 0.0,
            ..EntropySgdSettings::default()
        };
        let device = Device::flex();
        let theta = vec![1.0, -2.0, 0.5];
        let mut directions = vec![vec![1.0, 0.0, 0.0]];
        directions.extend(random_directions(3, 8, 4));
        let objective = LocalEntropyObjective::new(&q, settings, 1.0, 2, &device).unwrap();
        let (probes, map_norm) =
            local_entropy_kappa(&objective, theta.clone(), &directions, &[0.1, 0.5]).unwrap();
        // A converged chain: the map is A(I + A/γ)⁻¹θ = (0.8, −1, 0.1), up to the thermal
        // noise's pull on μ(θ) itself (which κ's differences cancel): 1e-2 relative.
        let want = (0.8f64.powi(2) + 1.0 + 0.1f64.powi(2)).sqrt();
        assert!((map_norm - want).abs() < 1e-2 * want, "‖map‖ = {map_norm}");
        for p in &probes {
            let along_top = p.secants[0].kappa;
            assert!((along_top - 0.8).abs() < 1e-3 * 0.8, "κ(e₁) = {along_top}");
            assert!(p.kappa_max <= 0.8 * (1.0 + 1e-3), "κ_max = {}", p.kappa_max);
            assert!(p.kappa_mean > 0.2, "κ_mean = {}", p.kappa_mean);
        }
    }
}
