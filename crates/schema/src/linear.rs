//! Payloads of `advland linear` reports: the closed-form binary linear model of paper.md §2.3
//! trained on two classes, with its L∞ gradient jumps (claim C2) and its L2 smoothness growing
//! like ε/‖w‖ (claim C1); the teaching case E-A of paper.md §3.2.

use serde::{Deserialize, Serialize};

use crate::threat::Norm;

/// The whole `linear` payload: the data, then one result per attack norm, then the L2
/// scaling sweep.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinearReport {
    /// Data set and split the two classes come from (e.g. `fashion-mnist-bundled/train`).
    pub dataset: String,
    /// The original labels `[negative, positive]`: the first becomes y = −1, the second y = +1.
    pub classes: [u8; 2],
    /// Their class names, in the same order.
    pub class_names: [String; 2],
    /// N, examples used (evenly spaced among the two classes' examples).
    pub examples: usize,
    /// Examples with y = +1.
    pub positives: usize,
    /// d, input features (pixels in `[0, 1]`, flattened `[c, h, w]`).
    pub features: usize,
    /// max_n ‖x_n‖₂, the data term of the L2 bound.
    pub max_input_norm: f64,
    /// ‖w₀‖₂ of the seeded random start shared by both norms (b₀ = 0).
    pub init_weight_norm: f64,
    /// One result per attack norm, L∞ first.
    pub norms: Vec<LinearNormResult>,
    /// κ of the L2 loss at (s·w, b) for shrinking s, with the trained L2 weights (claim C1).
    pub l2_scaling: Vec<LinearScalingProbe>,
}

/// Training and final-point analysis of the adversarial loss under one norm.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinearNormResult {
    /// The attack norm p (the weights are penalised by the dual norm q).
    pub norm: Norm,
    /// The radius ε, in pixel units.
    pub eps: f64,
    /// Plain gradient descent: one record for θ₀ and one after every step.
    pub trajectory: Vec<LinearStep>,
    /// Sum of [`LinearStep::sign_changes`] over training.
    pub total_sign_changes: usize,
    /// Steps after which at least one weight had changed sign.
    pub steps_with_sign_changes: usize,
    /// The final point's loss, accuracies, Hessian and smoothness estimates.
    pub last: LinearFinal,
}

/// The state after one gradient-descent step (step 0: the start).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinearStep {
    /// Steps taken so far.
    pub step: usize,
    /// Adversarial loss L(θ) = mean ℓ(y(wᵀx + b) − ε‖w‖_q).
    pub loss: f64,
    /// ‖w‖₂.
    pub w_norm: f64,
    /// minᵢ |wᵢ|, the distance to the nearest L∞ kink hyper-plane.
    pub min_abs_weight: f64,
    /// Weights whose sign (with sign(0) = 0) differs from the previous step's: crossings of
    /// the hyper-planes wᵢ = 0. 0 at step 0.
    pub sign_changes: usize,
    /// ‖∇L(θ_t) − ∇L(θ_{t−1})‖ / ‖θ_t − θ_{t−1}‖, the trajectory secant (absent at step 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secant_kappa: Option<f64>,
}

/// The final point θ = (w, b) of one norm's training.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinearFinal {
    /// Adversarial loss L(θ).
    pub loss: f64,
    /// ‖∇L(θ)‖₂.
    pub gradient_norm: f64,
    /// Fraction of examples with y(wᵀx + b) > 0.
    pub clean_accuracy: f64,
    /// Fraction of examples with a positive adversarial margin y(wᵀx + b) − ε‖w‖_q (exact
    /// robust accuracy: the inner maximum is closed-form).
    pub robust_accuracy: f64,
    /// ‖w‖₂.
    pub w_norm: f64,
    /// The bias b.
    pub bias: f64,
    /// mean |ℓ'(m)| over the adversarial margins m.
    pub mean_abs_slope: f64,
    /// Largest eigenvalue of the exact Hessian ∇²L(θ) (absent where no Hessian exists).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hessian_max_eigenvalue: Option<f64>,
    /// Smallest eigenvalue of the exact Hessian (≥ 0 up to rounding: L is convex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hessian_min_eigenvalue: Option<f64>,
    /// Why there is no Hessian (L∞ with some wᵢ = 0, L2 at w = 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hessian_error: Option<String>,
    /// ε·mean|ℓ'(m)|/‖w‖, the norm of the L2 loss's curvature term (L2 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub curvature_term: Option<f64>,
    /// ((max‖x‖ + ε)² + 1)/4 + ε/‖w‖, the bound on ‖∇²L‖ (the + 1 is the bias coordinate;
    /// L2 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub l2_bound: Option<f64>,
    /// κ(θ, r) = max over random unit u of ‖∇L(θ + ru) − ∇L(θ)‖/r at each radius.
    pub lipschitz: Vec<LinearLipschitzProbe>,
    /// The gradient jump across the hyper-plane of the smallest weight.
    pub jump: LinearJump,
}

/// κ at one radius.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinearLipschitzProbe {
    /// The radius r (absolute, in parameter units).
    pub radius: f64,
    /// The largest secant ratio over the random directions.
    pub kappa: f64,
}

/// Predicted and measured gradient jump when wᵢ crosses 0 (paper.md §3.2 E-A (i)).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinearJump {
    /// i, the coordinate with the smallest |wᵢ|.
    pub index: usize,
    /// wᵢ at the final point.
    pub weight: f64,
    /// The half-width t: the gradients compared are at wᵢ = +t and wᵢ = −t.
    pub t: f64,
    /// The closed form: 2ε·mean|ℓ'(m⁰)| for L∞, 0 for L2 (m⁰: margins with wᵢ = 0).
    pub predicted: f64,
    /// ‖∇L(wᵢ = +t) − ∇L(wᵢ = −t)‖₂.
    pub measured: f64,
}

/// κ of the L2 loss at weights scaled towards 0 (claim C1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinearScalingProbe {
    /// s: the point is (s·w, b) with (w, b) the trained L2 weights.
    pub scale: f64,
    /// ‖s·w‖₂.
    pub w_norm: f64,
    /// The probe radius r (a fixed fraction of ‖s·w‖, so the ball never reaches w = 0).
    pub radius: f64,
    /// κ((s·w, b), r) over random unit directions.
    pub kappa: f64,
    /// Largest eigenvalue of the exact Hessian there (absent if it could not be formed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hessian_max_eigenvalue: Option<f64>,
    /// ε·mean|ℓ'(m)|/‖s·w‖ with m the margins at (s·w, b): the curvature term, which grows
    /// like 1/s.
    pub curvature_term: f64,
    /// The bound ((max‖x‖ + ε)² + 1)/4 + ε/‖s·w‖.
    pub bound: f64,
}

impl crate::report::Payload for LinearReport {
    const KIND: &'static str = "linear";
}
