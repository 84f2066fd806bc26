//! Payloads of input-space flatness reports (`advland flatness`), paper.md §2.4, §3.2 E-C.

use serde::{Deserialize, Serialize};

use crate::sharpness::Precision;
use crate::threat::PgdSettings;

/// Distribution of one per-example measure.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Distribution {
    /// Mean.
    pub mean: f64,
    /// Median.
    pub median: f64,
    /// 10th percentile.
    pub q10: f64,
    /// 90th percentile.
    pub q90: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
}

/// Where in the input space the measures were taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InputPoint {
    /// At the data points x.
    Clean,
    /// At the adversarial points x + δ*.
    Adversarial,
}

/// Per-example input-space measures at one kind of point, aggregated over the subset.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlatnessAtPoint {
    /// Clean or adversarial points.
    pub point: InputPoint,
    /// ℓ.
    pub loss: Distribution,
    /// ‖∇ₓℓ‖₂.
    pub grad_l2: Distribution,
    /// ‖∇ₓℓ‖₁.
    pub grad_l1: Distribution,
    /// Top input-Hessian eigenvalue (signed, largest |λ|).
    pub hessian_top: Distribution,
    /// The k input-Hessian eigenvalues of largest |λ| (`--top-k`): entry j is the distribution
    /// over examples of each example's j-th eigenvalue, signed, ranked by |λ| per example, so
    /// entry 0 equals `hessian_top`. Absent when k = 1.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hessian_top_k: Vec<Distribution>,
    /// Curvature along the input gradient gᵀHg/‖g‖².
    pub curvature_along_gradient: Distribution,
    /// Input-Hessian trace (Hutchinson).
    pub hessian_trace: Distribution,
    /// KKT multiplier λ = ‖∇ₓℓ(x+δ*)‖_*/ε of the attack's constraint, ‖·‖_* its dual norm:
    /// ‖·‖₂ for L2 (the sphere's curvature bonus of paper.md §2.4 Prop. B), ‖·‖₁ for L∞ (flat
    /// faces, no curvature bonus: Prop. C). At adversarial points only; reports written before
    /// it covered L∞ have it for L2 attacks only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kkt_multiplier: Option<Distribution>,
}

/// Mean loss along a 1-D line ℓ(x + t·v) in input space.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LossCurve {
    /// `gradient` (normalised input gradient) or `random-K`.
    pub direction: String,
    /// Offsets t (pixel units, L2 length of the step).
    pub t: Vec<f64>,
    /// Mean loss over the subset at each t.
    pub mean_loss: Vec<f64>,
}

/// Payload of a `flatness` report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlatnessReport {
    /// Checkpoint measured.
    pub checkpoint: String,
    /// Its epoch.
    pub epoch: usize,
    /// The attack giving the adversarial points.
    pub attack: PgdSettings,
    /// Precision of the computation.
    pub precision: Precision,
    /// Examples in the subset.
    pub examples: usize,
    /// Whether input Hessians were taken through the activation pattern at each point.
    pub frozen_activations: bool,
    /// Measures at clean and at adversarial points.
    pub points: Vec<FlatnessAtPoint>,
    /// 1-D loss curves around the clean points, t ∈ [−2ε, 2ε].
    pub curves: Vec<LossCurve>,
    /// 2-D loss surface around one example (absent when not asked for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub surface: Option<InputSurface>,
    /// Local Lipschitz constant of the logits in the ε-ball (absent when not asked for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logit_lipschitz: Option<LogitLipschitz>,
}

/// The loss ℓ(x + a·u + b·v) of one example on a grid of (a, b): u the normalised input
/// gradient at x, v a seeded random direction orthogonal to u (unit L2 norm).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSurface {
    /// Index of the example in the subset.
    pub example: usize,
    /// Its label.
    pub label: usize,
    /// Names of the two directions (`gradient`, `random`).
    pub directions: [String; 2],
    /// Offsets a along u (pixel units, L2 length).
    pub x: crate::surface::Axis,
    /// Offsets b along v.
    pub y: crate::surface::Axis,
    /// ℓ on the grid, row-major (b outer, a inner).
    pub loss: Vec<f64>,
    /// Predicted class on the grid, same order.
    pub predicted: Vec<usize>,
}

/// Local Lipschitz constant of the logits f in the ε-ball, estimated per example by PGD ascent
/// of ‖f(x') − f(x)‖ / ‖x' − x‖ over x' in the ball (as RobustBench does): a lower bound.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogitLipschitz {
    /// Norm of the logit difference (`l2`) and of the input difference (the attack's norm).
    pub output_norm: String,
    /// Ascent steps.
    pub steps: usize,
    /// Restarts per example (the best is kept).
    pub restarts: usize,
    /// The per-example estimates.
    pub estimate: Distribution,
}

/// One checkpoint under one attack: input flatness next to parameter smoothness.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelationRow {
    /// Checkpoint measured.
    pub checkpoint: String,
    /// Its epoch.
    pub epoch: usize,
    /// Its training attack; absent for standard training.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trained_with: Option<PgdSettings>,
    /// The attack of both measurements.
    pub attack: PgdSettings,
    /// Largest κ of the adversarial loss (attack re-solved), over the probes.
    pub kappa_adversarial: f64,
    /// Largest κ of the adversarial-frozen loss.
    pub kappa_frozen: f64,
    /// κ of the adversarial loss over random directions at the smallest radius only: the
    /// largest κ is often set by the probe along −∇L, where the loss's ordinary curvature
    /// dominates, while the small random secants see the non-smoothness the constraint adds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kappa_adversarial_random: Option<f64>,
    /// Median input-Hessian top eigenvalue at the adversarial points.
    pub hessian_top_adversarial: f64,
    /// Median curvature along the input gradient at the adversarial points.
    pub curvature_adversarial: f64,
    /// Median ‖∇ₓℓ‖₂ at the adversarial points.
    pub grad_l2_adversarial: f64,
    /// Median input-Hessian top eigenvalue at the clean points.
    pub hessian_top_clean: f64,
    /// Median ‖∇ₓℓ‖₂ at the clean points.
    pub grad_l2_clean: f64,
}

/// Spearman's rank correlation of one flatness measure with κ across the rows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Correlation {
    /// The flatness measure (a [`RelationRow`] field name).
    pub measure: String,
    /// The smoothness measure it is compared with (`kappa_adversarial`).
    pub with: String,
    /// Spearman's ρ; absent when undefined (fewer than 3 rows or a constant column).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spearman: Option<f64>,
    /// Rows used.
    pub rows: usize,
}

/// Payload of a `relate` report (paper.md §5 C5: flatter input loss ⇒ larger κ, i.e. a
/// negative ρ between input curvature or gradient size and κ).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelationReport {
    /// One row per checkpoint and attack.
    pub rows: Vec<RelationRow>,
    /// ρ of each flatness measure with κ of the adversarial loss.
    pub correlations: Vec<Correlation>,
}

impl crate::report::Payload for FlatnessReport {
    const KIND: &'static str = "flatness";
}

impl RelationRow {
    /// The flatness measures a relation correlates with κ, by the names reports use.
    pub const MEASURES: [&'static str; 5] = [
        "hessian_top_adversarial",
        "curvature_adversarial",
        "grad_l2_adversarial",
        "hessian_top_clean",
        "grad_l2_clean",
    ];

    /// The measure named `name` (one of [`Self::MEASURES`]); `None` for another name.
    pub fn measure(&self, name: &str) -> Option<f64> {
        match name {
            "hessian_top_adversarial" => Some(self.hessian_top_adversarial),
            "curvature_adversarial" => Some(self.curvature_adversarial),
            "grad_l2_adversarial" => Some(self.grad_l2_adversarial),
            "hessian_top_clean" => Some(self.hessian_top_clean),
            "grad_l2_clean" => Some(self.grad_l2_clean),
            _ => None,
        }
    }
}

impl crate::report::Payload for RelationReport {
    const KIND: &'static str = "relate";
}
