//! Payload of `bound` reports: paper.md §2.4 Propositions A/B measured on a model. At the
//! attack's point x + δ* each example's inner problem is examined on the face of the ball (and
//! of the pixel box) δ* lies on: its KKT multiplier, the curvature of the Lagrangian there
//! (μ, the concavity the propositions assume), the mixed Hessian ∂²ℓ/∂x∂θ that moves δ* when θ
//! moves, and from these the implicit-function bounds on ‖Dδ*‖ and on the adversarial loss's
//! gradient-Lipschitz constant, next to what δ* and ∇L actually do under a small step of θ.

use serde::{Deserialize, Serialize};

use crate::flatness::Distribution;
use crate::threat::PgdSettings;

/// One example's inner problem at its attack point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExampleBound {
    /// Dimension of the face's tangent space: the input coordinates neither the ball nor
    /// the pixel box pins, less one where the sphere is active (0: δ* sits at a vertex and
    /// stays there under small changes of θ).
    pub face_dim: usize,
    /// Whether the ball's curved boundary (L2's sphere) is active at δ*.
    pub sphere: bool,
    /// ‖∇ₓℓ(x+δ*)‖₂.
    pub gradient_norm: f64,
    /// The multiplier λ of the curved boundary (⟨g, δ⟩/‖δ‖² over the free coordinates; 0
    /// where no curved boundary is active).
    pub multiplier: f64,
    /// ‖P∇ₓℓ‖/‖∇ₓℓ‖ with P the projection onto the face's tangent space: 0 at a KKT point,
    /// the part of the gradient the active constraints do not explain.
    pub stationarity: f64,
    /// Largest eigenvalue of the input Hessian restricted to the tangent space, P∇²ₓℓP
    /// (absent at a vertex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub curvature_max: Option<f64>,
    /// Smallest eigenvalue of the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub curvature_min: Option<f64>,
    /// μ = λ − curvature_max: the smallest eigenvalue of the Lagrangian's negated Hessian on
    /// the tangent space; μ > 0 is Prop. A/B's strong concavity (absent at a vertex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mu: Option<f64>,
    /// ‖P ∂²ℓ/∂x∂θ‖₂: the largest singular value of the mixed Hessian, restricted to the
    /// tangent space (L_xθ = L_θx of the propositions, per example; 0 at a vertex).
    pub mixed: f64,
    /// The implicit-function bound ‖Dδ*‖ ≤ mixed / μ (0 at a vertex); absent where μ ≤ 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub motion_bound: Option<f64>,
    /// Measured: the largest ‖δ(θ+ρu) − δ(θ)‖/ρ over the probe directions u.
    pub motion: f64,
    /// Probe directions along which the face (the set of pinned coordinates, or whether the
    /// sphere is active) changed.
    pub face_changes: usize,
}

/// The measured motion of δ* along probe directions against the implicit-function bracket
/// ‖P H_xθ u‖/‖A‖ ≤ ‖Dδ* u‖ ≤ ‖P H_xθ u‖/μ (A the Lagrangian's negated Hessian on the tangent
/// space, ‖A‖ = λ − curvature_min), over all (example, direction) pairs with a motion bound
/// (at a vertex both ends are 0).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MotionCheck {
    /// Pairs compared (examples with a motion bound times directions).
    pub pairs: usize,
    /// Fraction of them inside the bracket.
    pub within: f64,
    /// Fraction above the upper end (δ moved more than the bound allows).
    pub above: f64,
    /// Fraction below the lower end.
    pub below: f64,
    /// Of the pairs above, the fraction whose face changed along the direction.
    pub above_with_face_change: f64,
    /// Measured motion over the upper end, per pair with a positive upper end (absent if
    /// none has one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ratio_to_upper: Option<Distribution>,
}

/// Spearman rank correlations over examples between an input-space quantity and the measured
/// motion of δ* (`None` where one side is constant).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MotionCorrelations {
    /// With μ (Prop. A/B: the motion scales like 1/μ, so negative).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mu: Option<f64>,
    /// With ‖∇ₓℓ‖₂ (Prop. B: the multiplier grows with it, so negative under L2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gradient_norm: Option<f64>,
    /// With curvature_max.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub curvature_max: Option<f64>,
    /// With the bound mixed/μ (over examples with μ > 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub motion_bound: Option<f64>,
}

/// Payload of a `bound` report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoundReport {
    /// The checkpoint or weights file, as given.
    pub checkpoint: String,
    /// Epochs trained (0 for imported weights).
    pub epoch: usize,
    /// The attack giving δ*.
    pub attack: PgdSettings,
    /// Test examples.
    pub examples: usize,
    /// ‖θ‖₂.
    pub theta_norm: f64,
    /// Probe step ρ = radius·‖θ‖ of the measured motion and κ.
    pub probe_step: f64,
    /// L_θθ: the largest |eigenvalue| of the parameter Hessian of the loss at the frozen attack
    /// points (Lanczos).
    pub hessian_norm: f64,
    /// Examples with μ > 0 or at a vertex (those with a motion bound).
    pub concave: usize,
    /// Prop. A/B's bound L_θθ + (1/n)Σᵢ mixedᵢ²/μᵢ on the adversarial loss's gradient-Lipschitz
    /// constant; absent unless every example has μ > 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kappa_bound: Option<f64>,
    /// The same sum over the examples with μ > 0 only (a lower value than the bound would be,
    /// not a bound).
    pub kappa_bound_concave: f64,
    /// Measured κ = ‖∇L(θ+ρu) − ∇L(θ)‖/ρ of the adversarial loss (attack re-solved from the
    /// same start) over the probe directions.
    pub kappa: Distribution,
    /// μ over the examples not at a vertex (absent if all are).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mu: Option<Distribution>,
    /// mixed over examples.
    pub mixed: Distribution,
    /// The KKT stationarity residual over examples.
    pub stationarity: Distribution,
    /// Measured motion of δ* over examples (largest over directions).
    pub motion: Distribution,
    /// The measured motion against the implicit-function bracket.
    pub motion_check: MotionCheck,
    /// Correlations of the motion with input-space quantities over examples (C5 per example).
    pub correlations: MotionCorrelations,
    /// Per example, in subset order.
    pub per_example: Vec<ExampleBound>,
}

impl crate::report::Payload for BoundReport {
    const KIND: &'static str = "bound";
}
