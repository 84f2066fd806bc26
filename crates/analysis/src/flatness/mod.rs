//! Input-space flatness of the per-example loss ℓ(x) = CE(f(x), y) (paper.md §2.4
//! Props. A–C, §3.2 E-C).
//!
//! Per example, at clean or adversarial inputs x:
//! - ‖∇ₓℓ‖₂ and ‖∇ₓℓ‖₁ — the dual norms of the L2 and L∞ balls; Prop. B's KKT multiplier is
//!   λ = ‖∇ₓℓ(x+δ*)‖_*/ε in the attack's dual norm ([`kkt_multiplier`]);
//! - the k eigenvalues of largest |λ| of the input Hessian ∇²ₓℓ (Prop. A's curvature μ
//!   enters the bound β_adv ≤ L_θθ + L_θx·L_xθ/μ), the curvature along the gradient
//!   gᵀHg/‖g‖² and the Hessian trace (Hutchinson);
//! - 1-D loss curves ℓ(x + t·v) ([`loss_curves`]) and the 2-D surface ℓ(x + a·u + b·v) of one
//!   example in the plane of its gradient u and a random direction v ([`input_surface`]);
//! - a lower bound of the local Lipschitz constant of the logits in the ε-ball, by the
//!   attack's projected ascent on ‖f(x') − f(x)‖₂/‖x' − x‖ ([`logit_lipschitz`]).
//!
//! Everything is batched over the examples: the examples of a batch are independent, so the
//! gradient of the summed loss with respect to the batch input is the stack of per-example
//! input gradients, and one batched pass serves all examples at once.
//!
//! **Frozen activations.** A ReLU/max-pool network with its gates (ReLU masks, pooling choices)
//! frozen at x is affine in x, so ℓ is CE∘affine there and its input Hessian is exactly
//! Jᵀ∇²_z CE J (J the network's input Jacobian on x's linear piece). Finite differences of
//! input gradients through the frozen pattern estimate it with O(h²) error; through the live
//! network a gate switching inside ±h adds a gradient jump divided by 2h that swamps the
//! curvature (measured for parameter Hessians; see [`advland_train::model::ActivationPattern`]).
//! Hence [`InputFlatnessConfig::freeze_activations`] defaults to true.
//!
//! The estimators ([`estimate_input_flatness`]) see the loss only through [`InputGradients`]
//! (per-example losses and input gradients at chosen inputs), so they are tested on
//! closed-form losses (a quadratic in x) as well as on models.
//!
//! Vectors are host f64 (`[b·c·h·w]`, example-major); device tensors take the inputs' dtype,
//! so f64 inputs keep the whole computation in f64.

mod config;
mod logit_lipschitz;
mod measure;
mod measures;
mod operator;
mod summary;
mod surface;

pub use config::FlatnessConfig;
pub use logit_lipschitz::{LogitLipschitzEstimate, logit_lipschitz};
pub use measure::measure;
pub use measures::{
    ExampleFlatness, InputFlatnessConfig, estimate_input_flatness, input_flatness, kkt_multiplier,
    loss_curves,
};
pub use operator::{GradientFn, InputGradients, InputHessian, ModelGradients};
pub use summary::{Summary, spearman, summarize};
pub use surface::{InputSurfaceValues, input_surface, surface_directions};
