//! Hessian-vector products by central differences of gradients.
//!
//! burn has no double backward, so Hv = (∇f(θ + hv) − ∇f(θ − hv)) / 2h, costing exactly two
//! gradient evaluations. The truncation error is O(h²‖∇³f‖); rounding error is
//! O(ε_mach·‖∇f‖/h), so h is chosen for the dtype the gradients are computed in.

use crate::error::{Error, Result};
use crate::objective::Objective;
use crate::operator::LinearOperator;
use crate::vector::{axpy, norm};

/// H(θ₀) of an [`Objective`] as a [`LinearOperator`], by central differences with step `h`
/// along the unit direction v/‖v‖ (the result is rescaled by ‖v‖, so h is a distance in
/// parameter space whatever the scale of v).
pub struct FiniteDifferenceHessian<'a, O: Objective + ?Sized> {
    objective: &'a O,
    theta: Vec<f64>,
    h: f64,
}

impl<'a, O: Objective + ?Sized> FiniteDifferenceHessian<'a, O> {
    /// The Hessian of `objective` at `theta` with step `h`.
    ///
    /// # Errors
    /// `h` not finite and positive, or `theta` of the wrong length.
    pub fn new(objective: &'a O, theta: Vec<f64>, h: f64) -> Result<Self> {
        if !(h.is_finite() && h > 0.0) {
            return Err(Error::InvalidConfig {
                field: "h",
                reason: format!("must be finite and > 0, got {h}"),
            });
        }
        if theta.len() != objective.dim() {
            return Err(Error::Dimension {
                expected: objective.dim(),
                got: theta.len(),
            });
        }
        Ok(Self {
            objective,
            theta,
            h,
        })
    }
}

impl<O: Objective + ?Sized> LinearOperator for FiniteDifferenceHessian<'_, O> {
    fn dim(&self) -> usize {
        self.theta.len()
    }

    fn apply(&self, v: &[f64]) -> Result<Vec<f64>> {
        let scale = norm(v);
        if scale == 0.0 {
            return Ok(vec![0.0; v.len()]);
        }
        let step = self.h / scale;
        let mut plus = self.theta.clone();
        axpy(step, v, &mut plus);
        let mut minus = self.theta.clone();
        axpy(-step, v, &mut minus);
        let (_, g_plus) = self.objective.loss_and_gradient(&plus)?;
        let (_, g_minus) = self.objective.loss_and_gradient(&minus)?;
        Ok(g_plus
            .iter()
            .zip(&g_minus)
            .map(|(a, b)| (a - b) / (2.0 * step))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objective::Quadratic;

    #[test]
    fn fd_hvp_equals_av_on_a_quadratic() {
        let q = Quadratic {
            a: vec![2.0, -1.0, 0.5, -1.0, 3.0, 0.0, 0.5, 0.0, -4.0],
            b: vec![0.3, -0.2, 1.0],
        };
        let op = FiniteDifferenceHessian::new(&q, vec![0.1, 0.2, -0.3], 1e-3).unwrap();
        let v = [1.0, -2.0, 0.5];
        let hv = op.apply(&v).unwrap();
        let av = [2.0 + 2.0 + 0.25, -1.0 - 6.0, 0.5 - 2.0];
        for (x, y) in hv.iter().zip(av) {
            assert!((x - y).abs() < 1e-9, "{hv:?}");
        }
    }
}
