//! The configuration of a sharpness measurement, recorded whole in each report's
//! `meta.config`.

use advland_schema::{
    EigenMethod, Estimator, ObjectiveKind, PerturbedParams, PgdSettings, Precision, WeightBall,
};
use serde::{Deserialize, Serialize};

#[cfg(feature = "clap")]
use advland_schema::flag_values::{at_least_one, positive_number};

use crate::error::{Error, Result};
use crate::precision::central_difference_step;

/// A sharpness measurement of one model (paper.md §3.2 E-B). Each estimator reads the fields
/// it needs; the others are recorded as given. With the `clap` feature these are the flags of
/// `advland sharpness` (their defaults are [`SharpnessConfig::default`]'s).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
#[serde(deny_unknown_fields)]
pub struct SharpnessConfig {
    /// What to estimate.
    #[cfg_attr(feature = "clap", arg(value_enum))]
    pub estimator: Estimator,
    /// The loss measured.
    #[cfg_attr(feature = "clap", arg(long, value_enum, default_value_t = defaults().objective))]
    pub objective: ObjectiveKind,
    /// The attack of the adversarial objectives (none for the clean one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "clap", arg(skip))]
    pub attack: Option<PgdSettings>,
    /// Number of test examples (evenly spaced) the objective averages over.
    #[cfg_attr(feature = "clap", arg(long, value_parser = at_least_one, default_value_t = defaults().subset))]
    pub subset: usize,
    /// Examples per batch.
    #[cfg_attr(feature = "clap", arg(long, value_parser = at_least_one, default_value_t = defaults().batch_size))]
    pub batch_size: usize,
    /// Precision of the computation.
    #[cfg_attr(feature = "clap", arg(long, value_enum, default_value_t = defaults().precision))]
    pub precision: Precision,
    /// Eigen-solver (hessian): power iteration (largest |λ|) or Lanczos (largest λ and λmin;
    /// --max-iter caps its steps, and it stops once the top k Ritz values moved by less than
    /// --tol in one step).
    #[cfg_attr(feature = "clap", arg(long, value_enum, default_value_t = defaults().method))]
    pub method: EigenMethod,
    /// Number of eigenvalues (hessian).
    #[cfg_attr(feature = "clap", arg(long, value_parser = at_least_one, default_value_t = defaults().k))]
    pub k: usize,
    /// Relative tolerance on the change of the Rayleigh quotient (hessian, power) or of the top
    /// k Ritz values (hessian, Lanczos) in one step, and the trace's stopping rule.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().tol))]
    pub tol: f64,
    /// Iteration cap per eigenvalue (hessian), probe cap (trace), Lanczos steps (density).
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().max_iter))]
    pub max_iter: usize,
    /// Lanczos runs averaged (density).
    #[cfg_attr(feature = "clap", arg(long, value_parser = at_least_one, default_value_t = defaults().probes))]
    pub probes: usize,
    /// Finite-difference step of the Hessian-vector products (default 1e-7 in f64, forward
    /// differences; 1e-2 in f32, central differences: [`Self::fd_step`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "clap", arg(long))]
    pub fd_step: Option<f64>,
    /// Hessian of the live network instead of θ₀'s linear piece (ReLU/pool gates frozen, the
    /// default for clean and adversarial-frozen; the adversarial objective is always live).
    #[cfg_attr(feature = "clap", arg(long))]
    pub live_activations: bool,
    /// Probe radii as fractions of ‖θ‖ (lipschitz; the largest is the half-width for kinks).
    #[cfg_attr(feature = "clap", arg(long, value_delimiter = ',', value_parser = positive_number, default_value = "1e-4,1e-3,1e-2"))]
    pub radii: Vec<f64>,
    /// Random directions per radius (lipschitz).
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().directions))]
    pub directions: usize,
    /// Ascent steps of the worst-case probe (lipschitz).
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().ascent_steps))]
    pub ascent_steps: usize,
    /// Grid points along the line (kinks).
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().points))]
    pub points: usize,
    /// Also probe EntropySGD's local-entropy map θ ↦ γ(θ − μ(θ)) of the objective at this scope γ
    /// (lipschitz; paper.md §2.5, claim C8). Each of its gradients runs a Langevin chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "clap", arg(long))]
    pub local_entropy_gamma: Option<f64>,
    /// Langevin steps of that chain (full-subset gradients, the same noise at every θ).
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().local_entropy_steps))]
    pub local_entropy_steps: usize,
    /// Inner learning rate η' of that chain.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().local_entropy_lr))]
    pub local_entropy_lr: f64,
    /// Thermal noise ε of that chain.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().local_entropy_noise))]
    pub local_entropy_noise: f64,
    /// The weight perturbations of the worst-case, average-case and awp estimators (absent
    /// in configurations written before they existed: their defaults).
    #[serde(default)]
    #[cfg_attr(feature = "clap", command(flatten))]
    pub perturbation: WeightPerturbationConfig,
    /// Seed of the directions, start vectors, noise and attack starts.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().seed))]
    pub seed: u64,
}

/// Sharpness as a loss increase under weight perturbations (tml-epfl's `sharpness.py`,
/// AWP's `utils_awp.py`): the subset is cut into consecutive batches of `m` examples, and
/// each batch is measured on its own (m-sharpness) and reported with the mean ± s.e.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
#[serde(deny_unknown_fields)]
pub struct WeightPerturbationConfig {
    /// Radius ρ of the weight ball (worst-case; average-case: the scale of its noise).
    #[cfg_attr(feature = "clap", arg(long, value_parser = positive_number, default_value_t = perturbation().rho))]
    pub rho: f64,
    /// The weight ball (worst-case, average-case): the adaptive balls give each weight room
    /// in proportion to |θ₀ᵢ|; layerwise is AWP's ‖δ_l‖ ≤ ρ‖θ₀_l‖ (worst-case only).
    #[cfg_attr(feature = "clap", arg(long, value_enum, default_value_t = perturbation().ball))]
    pub ball: WeightBall,
    /// Examples per batch of m-sharpness (worst-case, average-case, awp): each batch is
    /// measured on its own, and the report gives their mean ± s.e. It must divide --subset.
    #[cfg_attr(feature = "clap", arg(long, value_parser = at_least_one, default_value_t = perturbation().m))]
    pub m: usize,
    /// Ascent iterations per batch (worst-case, awp).
    #[cfg_attr(feature = "clap", arg(long, value_parser = at_least_one, default_value_t = perturbation().iterations))]
    pub iterations: usize,
    /// The first ascent step is 2ρ times this (worst-case, awp: 2γ; tml-epfl's
    /// `--step_size_mult`).
    #[cfg_attr(feature = "clap", arg(long, value_parser = positive_number, default_value_t = perturbation().step_size_mult))]
    pub step_size_mult: f64,
    /// Start the worst-case ascent from a random point of the ball (tml-epfl's
    /// `--sharpness_rand_init`; needed at a minimum, where the gradient vanishes).
    #[cfg_attr(feature = "clap", arg(long))]
    pub rand_init: bool,
    /// Noise draws per batch (average-case).
    #[cfg_attr(feature = "clap", arg(long, value_parser = at_least_one, default_value_t = perturbation().samples))]
    pub samples: usize,
    /// Which tensors the weight perturbations move: `weights` leaves biases and batch norm
    /// fixed (AWP), `all` moves every parameter (tml-epfl).
    #[cfg_attr(feature = "clap", arg(long, value_enum, default_value_t = perturbation().perturbed))]
    pub perturbed: PerturbedParams,
    /// AWP's relative radius γ: ‖v_l‖ ≤ γ‖θ₀_l‖ per perturbed tensor (awp).
    #[cfg_attr(feature = "clap", arg(long, value_parser = positive_number, default_value_t = perturbation().gamma))]
    pub gamma: f64,
}

/// The flags' defaults.
#[cfg(feature = "clap")]
fn defaults() -> SharpnessConfig {
    SharpnessConfig::default()
}

#[cfg(feature = "clap")]
fn perturbation() -> WeightPerturbationConfig {
    WeightPerturbationConfig::default()
}

impl Default for WeightPerturbationConfig {
    /// tml-epfl's `eval_sharpness.py` (adaptive ℓ2 ρ = 0.1, m = 128, 20 iterations, no random
    /// start; 100 draws for the average case) and AWP's γ = 0.01.
    fn default() -> Self {
        Self {
            rho: 0.1,
            ball: WeightBall::AdaptiveL2,
            m: 128,
            iterations: 20,
            step_size_mult: 1.0,
            rand_init: false,
            samples: 100,
            perturbed: PerturbedParams::Weights,
            gamma: 0.01,
        }
    }
}

impl WeightPerturbationConfig {
    /// Refuses settings the weight-perturbation estimators cannot run with.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the setting.
    pub fn check(&self, estimator: Estimator, subset: usize) -> Result<()> {
        let invalid =
            |field: &'static str, reason: String| Err(Error::InvalidConfig { field, reason });
        let positive = |x: f64| x.is_finite() && x > 0.0;
        if !positive(self.rho) {
            return invalid("rho", format!("must be finite and > 0, got {}", self.rho));
        }
        if !positive(self.gamma) {
            return invalid(
                "gamma",
                format!("must be finite and > 0, got {}", self.gamma),
            );
        }
        if !positive(self.step_size_mult) {
            return invalid(
                "step_size_mult",
                format!("must be finite and > 0, got {}", self.step_size_mult),
            );
        }
        if self.m == 0 || !subset.is_multiple_of(self.m) {
            return invalid(
                "m",
                format!(
                    "the batches of m = {} examples must divide the subset of {subset}",
                    self.m
                ),
            );
        }
        match estimator {
            Estimator::WorstCase | Estimator::Awp if self.iterations == 0 => {
                invalid("iterations", "the ascent needs at least 1".to_owned())
            }
            Estimator::AverageCase if self.samples == 0 => {
                invalid("samples", "the average needs at least 1 draw".to_owned())
            }
            Estimator::AverageCase if self.ball == WeightBall::Layerwise => invalid(
                "ball",
                "average-case noise is drawn per coordinate; use adaptive-l2, l2, linf or \
                 adaptive-linf"
                    .to_owned(),
            ),
            Estimator::Awp if self.rand_init => invalid(
                "rand_init",
                "AWP's ascent starts from θ₀ (its one-step perturbation); random starts \
                 belong to worst-case"
                    .to_owned(),
            ),
            _ => Ok(()),
        }
    }
}

impl Default for SharpnessConfig {
    /// The command line's defaults: Hessian top-5 by power iteration of the adversarial loss
    /// (the attack must still be set) on 256 examples in f64.
    fn default() -> Self {
        Self {
            estimator: Estimator::Hessian,
            objective: ObjectiveKind::Adversarial,
            attack: None,
            subset: 256,
            batch_size: 256,
            precision: Precision::F64,
            method: EigenMethod::Power,
            k: 5,
            tol: 1e-3,
            max_iter: 100,
            probes: 1,
            fd_step: None,
            live_activations: false,
            radii: vec![1e-4, 1e-3, 1e-2],
            directions: 3,
            ascent_steps: 3,
            points: 41,
            local_entropy_gamma: None,
            local_entropy_steps: 5,
            local_entropy_lr: 0.1,
            local_entropy_noise: 1e-4,
            perturbation: WeightPerturbationConfig::default(),
            seed: 0,
        }
    }
}

/// The smallest relative radius the lipschitz estimator takes in f32 ([`SharpnessConfig::check`]).
pub const F32_SMALLEST_RADIUS: f64 = 1e-5;

impl SharpnessConfig {
    /// The HVP step: f64 runs forward differences whose error at 1e-7 is ~1e-7 relative
    /// (O(h) truncation over ~1e-16/h rounding); f32 runs central differences, whose optimum
    /// is near 1e-2 (both measured in the `hessian_oracle` test).
    pub fn fd_step(&self) -> f64 {
        self.fd_step.unwrap_or(match self.precision {
            Precision::F64 => 1e-7,
            Precision::F32 => central_difference_step(Precision::F32),
        })
    }

    /// Whether Hessians are taken on θ₀'s linear piece (what double-backward reports).
    /// Smoothness probes and kinks look at the live network, whose gate switches are part of
    /// what they measure, and the adversarial objective's inputs move with θ.
    pub fn freezes_activations(&self) -> bool {
        self.takes_hessian_products()
            && !self.live_activations
            && self.objective != ObjectiveKind::Adversarial
    }

    /// Whether the estimator works through finite-difference Hessian-vector products.
    fn takes_hessian_products(&self) -> bool {
        matches!(
            self.estimator,
            Estimator::Hessian | Estimator::Trace | Estimator::Density
        )
    }

    /// Refuses settings no estimator can run with.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the setting.
    pub fn check(&self) -> Result<()> {
        let invalid =
            |field: &'static str, reason: String| Err(Error::InvalidConfig { field, reason });
        if let Some(gamma) = self.local_entropy_gamma {
            if self.estimator != Estimator::Lipschitz {
                return invalid(
                    "local_entropy_gamma",
                    "belongs to the lipschitz estimator".to_owned(),
                );
            }
            if !(gamma.is_finite() && gamma > 0.0) {
                return invalid(
                    "local_entropy_gamma",
                    format!("the scope γ must be finite and > 0, got {gamma}"),
                );
            }
        }
        if (self.objective == ObjectiveKind::Clean) == self.attack.is_some() {
            return invalid(
                "attack",
                format!(
                    "the {} objective needs {} attack",
                    self.objective.as_str(),
                    if self.attack.is_some() { "no" } else { "an" }
                ),
            );
        }
        if let Some(attack) = &self.attack {
            attack
                .check("attack")
                .map_err(|e| Error::rule("attack", e))?;
        }
        // A product of the re-solved adversarial loss differences two gradients whose attacks
        // were solved at θ ± h·v. In f64 at h = 1e-7 both attacks make the same discrete
        // choices (L∞ sign steps, clipped pixels, ReLU gates) and the difference is the local
        // Hessian's; f32's rounding wants h near 1e-2, where they differ, and the quotient is
        // noise (power iteration wanders between 2 and 6 where f64 converges to 3.17, and
        // smaller steps make it worse: bench/RESULTS.md).
        if self.takes_hessian_products()
            && self.objective == ObjectiveKind::Adversarial
            && self.precision == Precision::F32
        {
            return invalid(
                "precision",
                format!(
                    "f32 cannot take the {} of the adversarial objective: its finite \
                     differences need a step at which the attack re-solved at θ ± h·v makes \
                     other discrete choices, so the products are not a Hessian's; use f64 \
                     (cpu, cuda), or --objective adversarial-frozen (attacks solved once at \
                     θ₀: under L∞ the same local Hessian, since PGD's δ is piecewise \
                     constant in θ)",
                    self.estimator.as_str()
                ),
            );
        }
        // A step of r·‖θ‖ along a random unit direction moves each parameter by about r of its
        // own size, so f32 (ulp 6e-8 relative) resolves it only from r ≈ 1e-5 (~170 ulps) on.
        // On the CNN the clean loss's median κ in f32 was 87 % off f64's at r = 1e-7, 2 % at
        // 1e-6 and equal from 1e-5 on.
        if self.estimator == Estimator::Lipschitz
            && self.precision == Precision::F32
            && let Some(r) = self
                .radii
                .iter()
                .copied()
                .find(|r| *r < F32_SMALLEST_RADIUS)
        {
            return invalid(
                "radii",
                format!(
                    "{r:e} is below what f32 resolves: a step of r·‖θ‖ moves each parameter \
                     by about r of its size, and below {F32_SMALLEST_RADIUS:e} rounding enters κ \
                     (on a CNN 2 % off f64's at 1e-6, 87 % at 1e-7); use radii ≥ \
                     {F32_SMALLEST_RADIUS:e} or f64 (cpu, cuda)"
                ),
            );
        }
        if matches!(
            self.estimator,
            Estimator::WorstCase | Estimator::AverageCase | Estimator::Awp
        ) {
            self.perturbation.check(self.estimator, self.subset)?;
        }
        Ok(())
    }
}
