//! Differentiable scalar objectives of the parameters θ ∈ R^m.
//!
//! The parameter-space analyses (Hessian spectra, gradient-Lipschitz probes, surfaces) see a
//! model only through this trait, so the same estimator runs on the clean loss, the
//! adversarial loss with δ*(θ) re-solved at every θ, the frozen-attack ablation, a closed-form
//! linear model or a test quadratic (paper.md §3.2 E-B).

pub use advland_schema::ObjectiveKind;

use crate::error::Result;

/// A scalar function of θ with its gradient, evaluated on a fixed data subset.
pub trait Objective {
    /// m, the number of parameters.
    fn dim(&self) -> usize;

    /// f(θ) and ∇f(θ).
    ///
    /// # Errors
    /// Non-finite values or model failures.
    fn loss_and_gradient(&self, theta: &[f64]) -> Result<(f64, Vec<f64>)>;

    /// f(θ); by default through [`Objective::loss_and_gradient`].
    ///
    /// # Errors
    /// As [`Objective::loss_and_gradient`].
    fn loss(&self, theta: &[f64]) -> Result<f64> {
        self.loss_and_gradient(theta).map(|(l, _)| l)
    }

    /// f(θ) and, for objectives that classify, the accuracy on the (attacked) inputs the loss
    /// is evaluated at; `None` for closed-form test functions.
    ///
    /// # Errors
    /// As [`Objective::loss_and_gradient`].
    fn loss_and_accuracy(&self, theta: &[f64]) -> Result<(f64, Option<f64>)> {
        Ok((self.loss(theta)?, None))
    }

    /// The input perturbations the loss is evaluated at, flattened over the data subset, for
    /// objectives that have them (δ*(θ) of an adversarial objective); `None` otherwise.
    ///
    /// # Errors
    /// As [`Objective::loss_and_gradient`].
    fn perturbation(&self, theta: &[f64]) -> Result<Option<Vec<f64>>> {
        let _ = theta;
        Ok(None)
    }
}

/// f(θ) = ½ θᵀAθ + bᵀθ: the oracle for curvature and smoothness estimators (Hessian A,
/// gradient Lipschitz constant ‖A‖₂).
#[derive(Clone, Debug)]
pub struct Quadratic {
    /// Symmetric A, row-major n×n.
    pub a: Vec<f64>,
    /// b.
    pub b: Vec<f64>,
}

impl Objective for Quadratic {
    fn dim(&self) -> usize {
        self.b.len()
    }
    fn loss_and_gradient(&self, theta: &[f64]) -> Result<(f64, Vec<f64>)> {
        let n = self.dim();
        let at: Vec<f64> = self
            .a
            .chunks_exact(n)
            .map(|row| crate::vector::dot(row, theta))
            .collect();
        let loss = 0.5 * crate::vector::dot(theta, &at) + crate::vector::dot(&self.b, theta);
        let grad = at.iter().zip(&self.b).map(|(x, y)| x + y).collect();
        Ok((loss, grad))
    }
}
