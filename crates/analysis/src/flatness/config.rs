//! The configuration of a flatness measurement, recorded whole in each report's `meta.config`.

use advland_schema::{Axis, PgdSettings, Precision};
use serde::{Deserialize, Serialize};

/// An input-flatness measurement of one model at clean and adversarial points (paper.md §2.4,
/// §3.2 E-C).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlatnessConfig {
    /// The attack giving the adversarial points (its ε also scales the curves and surface).
    pub attack: PgdSettings,
    /// Test examples (evenly spaced).
    pub subset: usize,
    /// Precision of the computation.
    pub precision: Precision,
    /// Power-iteration steps per input-Hessian eigenvalue.
    pub power_iterations: usize,
    /// Input-Hessian eigenvalues of largest |λ| per example; k > 1 adds `hessian_top_k` to
    /// each point of the report.
    pub top_k: usize,
    /// Rademacher probes of the input-Hessian trace.
    pub trace_samples: usize,
    /// Input Hessians of the live network instead of through each point's activation pattern.
    pub live_activations: bool,
    /// Points of each 1-D loss curve over t ∈ [−2ε, 2ε] (0: no curves).
    pub curve_points: usize,
    /// Random directions for loss curves (besides the gradient direction).
    pub random_directions: usize,
    /// Index (in the subset) of the example whose 2-D input-space loss surface to record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub surface_example: Option<usize>,
    /// Grid of that surface for both axes (default −2ε:2ε:21).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub surface_grid: Option<Axis>,
    /// Ascent steps of the logit local Lipschitz estimate (0: none).
    pub lipschitz_steps: usize,
    /// Restarts of that ascent (the largest ratio per example is kept).
    pub lipschitz_restarts: usize,
    /// Seed of the attack starts, probes and directions.
    pub seed: u64,
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
