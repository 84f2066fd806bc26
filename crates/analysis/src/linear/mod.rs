//! The binary linear case in closed form (paper.md §2.3 \[DERIVED\], §3.2 E-A, claims C1/C2).
//!
//! For a score wᵀx + b, a label y = ±1 and the logistic margin loss ℓ, the inner maximisation
//! over an ε-ball is solved exactly by Hölder's inequality:
//!
//! max_{‖δ‖_p ≤ ε} ℓ(y(wᵀ(x+δ) + b)) = ℓ(y(wᵀx + b) − ε‖w‖_q),  1/p + 1/q = 1,
//!
//! attained at δ* = −yε·s(w) with s(w) = sign(w) (p = ∞, q = 1) or w/‖w‖₂ (p = q = 2).
//! [`AdversarialLinearLoss`] is this robust loss as an [`Objective`] over θ = (w, b), with its
//! exact Hessian where one exists, the predicted and measured L∞ gradient jumps on the
//! hyper-planes w_i = 0, and the L2 smoothness bound that blows up like ε/‖w‖. It is the
//! oracle against which PGD-based estimates of the same quantities are checked.
//!
//! The box constraint x + δ ∈ `[0,1]^d` is ignored throughout: this is the unconstrained-input
//! case of §2.3, and it equals the PGD problem only on inputs where the box is inactive.
//!
//! ```
//! use advland_analysis::Objective;
//! use advland_analysis::linear::{AdversarialLinearLoss, BinaryLinearData};
//! use advland_schema::Norm;
//!
//! let data = BinaryLinearData::new(vec![1.0, 0.0, 0.0, 1.0], vec![1.0, -1.0], 2).unwrap();
//! let loss = AdversarialLinearLoss::new(data, Norm::Linf, 0.1, false).unwrap();
//! // Both margins are 1 − 0.1·‖w‖₁ = 0.8 at w = (1, −1).
//! let l = loss.loss(&[1.0, -1.0]).unwrap();
//! assert!((l - (1.0 + (-0.8f64).exp()).ln()).abs() < 1e-15);
//! // L∞: crossing w₁ = 0 moves ∂L/∂w₁ by 2ε·mean|ℓ'(m)| (claim C2).
//! assert!(loss.linf_jump(&[1.0, -1.0], 0).unwrap() > 0.0);
//! ```

mod bundled;
mod model;
mod run;

pub use bundled::{BundledSplit, bundled};
pub use model::*;
pub use run::{LinearConfig, run};
