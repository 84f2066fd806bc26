//! Paper.md §2.4 Propositions A/B measured on a model (claims C5 per example and C7): at the
//! attack's point x + δ*, each example's inner problem on the face of the constraint set δ*
//! lies on (the L∞ ball's pinned coordinates, L2's sphere, the pixel box), with
//!
//! - the KKT multiplier λ of a curved boundary and how far PGD's point is from stationary;
//! - μ = λ − λmax(P∇²ₓℓP), the strong concavity of the Lagrangian on the tangent space that
//!   the propositions assume, and ‖A‖ = λ − λmin(P∇²ₓℓP);
//! - ‖P ∂²ℓ/∂x∂θ‖ (their L_xθ = L_θx), and so the implicit-function bound ‖Dδ*‖ ≤ L_xθ/μ and
//!   the bound L_θθ + (1/n)Σᵢ L²_xθ,ᵢ/μᵢ on the adversarial loss's gradient-Lipschitz constant;
//!
//! then, along random unit directions u of θ, what PGD's δ and the adversarial gradient
//! actually do at θ + ρu: the motion ‖Δδ‖/ρ against the bracket ‖PH_xθu‖/‖A‖ ≤ ‖Dδ*u‖ ≤
//! ‖PH_xθu‖/μ, whether the face changed (Prop. C's sign flips), and κ against the bound.
//! Second derivatives are central differences of first derivatives along unit directions;
//! the operators on the tangent space ([`Face`]) go to Lanczos.

mod config;
mod face;
mod measure;
mod operators;

pub use config::BoundConfig;
pub use face::Face;
pub use measure::measure;
