//! The configuration of a flatness measurement, recorded whole in each report's `meta.config`.

use advland_schema::{Axis, PgdSettings, Precision};
use serde::{Deserialize, Serialize};

#[cfg(feature = "clap")]
use advland_schema::flag_values::at_least_one;

/// An input-flatness measurement of one model at clean and adversarial points (paper.md §2.4,
/// §3.2 E-C). With the `clap` feature these are the flags of `advland flatness` but the
/// attack's (their defaults are [`FlatnessConfig::new`]'s).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
#[serde(deny_unknown_fields)]
pub struct FlatnessConfig {
    /// The attack giving the adversarial points (its ε also scales the curves and surface).
    #[cfg_attr(feature = "clap", arg(skip = defaults().attack))]
    pub attack: PgdSettings,
    /// Number of test examples (evenly spaced).
    #[cfg_attr(feature = "clap", arg(long, value_parser = at_least_one, default_value_t = defaults().subset))]
    pub subset: usize,
    /// Precision of the computation.
    #[cfg_attr(feature = "clap", arg(long, value_enum, default_value_t = defaults().precision))]
    pub precision: Precision,
    /// Power-iteration steps per input-Hessian eigenvalue.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().power_iterations))]
    pub power_iterations: usize,
    /// Number k of input-Hessian eigenvalues of largest |λ| per example (power iteration with
    /// deflation, all examples in lockstep; costs k times the power iterations). k > 1 adds
    /// `hessian_top_k` to each point of the report.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().top_k, value_name = "K"))]
    pub top_k: usize,
    /// Rademacher probes of the input-Hessian trace.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().trace_samples))]
    pub trace_samples: usize,
    /// Input Hessians of the live network instead of through each point's activation pattern.
    #[cfg_attr(feature = "clap", arg(long))]
    pub live_activations: bool,
    /// Points of each 1-D loss curve over t ∈ [−2ε, 2ε] (0: no curves).
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().curve_points))]
    pub curve_points: usize,
    /// Random directions for loss curves (besides the gradient direction).
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().random_directions))]
    pub random_directions: usize,
    /// Index (in the evaluated subset) of an example whose 2-D input-space loss surface
    /// ℓ(x + a·u + b·v) to record: u its normalised input gradient, v a seeded random unit
    /// direction orthogonal to u, at the clean point x, with the predicted class per grid
    /// point. Absent: no surface.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "clap", arg(long, value_name = "I"))]
    pub surface_example: Option<usize>,
    /// Grid of the surface, MIN:MAX:POINTS, used for both a and b; offsets are L2 lengths in
    /// pixel units (default: -2ε:2ε:21, with ε the attack's radius taken as an L2 length, as
    /// for the 1-D curves).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(
        feature = "clap",
        arg(
            long,
            value_name = "MIN:MAX:POINTS",
            allow_hyphen_values = true,
            requires = "surface_example"
        )
    )]
    pub surface_grid: Option<Axis>,
    /// Ascent steps of the logit local Lipschitz estimate (0: skip it). Per example, projected
    /// gradient ascent of ‖f(x') − f(x)‖₂ / ‖x' − x‖ over x' in the attack's ε-ball around the
    /// clean x (input norm = the attack's norm, step 2.5·ε/steps, PGD's projections and random
    /// starts) gives a lower bound of the local Lipschitz constant of the logits f.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().lipschitz_steps, value_name = "N"))]
    pub lipschitz_steps: usize,
    /// Restarts of the Lipschitz ascent (the largest ratio per example is kept).
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().lipschitz_restarts, value_name = "R"))]
    pub lipschitz_restarts: usize,
    /// Seed of the attack starts, probes and directions.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().seed))]
    pub seed: u64,
}

/// The flags' defaults, under the attack that stands in for a missing one.
#[cfg(feature = "clap")]
fn defaults() -> FlatnessConfig {
    FlatnessConfig::new(<advland_schema::AttackRequest>::default().or_standard(None))
}

impl FlatnessConfig {
    /// The command line's defaults under `attack`: 256 examples in f64, top-1 eigenvalue by
    /// 20 power iterations, 10 trace probes, 21-point curves along the gradient and two
    /// random directions, no surface, no Lipschitz estimate.
    pub fn new(attack: PgdSettings) -> Self {
        Self {
            attack,
            subset: 256,
            precision: Precision::F64,
            power_iterations: 20,
            top_k: 1,
            trace_samples: 10,
            live_activations: false,
            curve_points: 21,
            random_directions: 2,
            surface_example: None,
            surface_grid: None,
            lipschitz_steps: 0,
            lipschitz_restarts: 1,
            seed: 0,
        }
    }
}
