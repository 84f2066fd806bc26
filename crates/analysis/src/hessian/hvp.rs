//! Hessian-vector products by finite differences of gradients.
//!
//! burn has no double backward, so either Hv = (∇f(θ + hv) − ∇f(θ − hv)) / 2h (central: two
//! gradient evaluations, truncation error O(h²‖∇³f‖)) or Hv = (∇f(θ + hv) − ∇f(θ)) / h with
//! ∇f(θ) computed once (forward: one gradient evaluation, truncation error O(h‖∇³f‖)). Rounding
//! error is O(ε_mach·‖∇f‖/h) in both, so h is chosen for the scheme and the dtype the gradients
//! are computed in: the forward scheme suits f64 (ε_mach ≈ 1e-16 leaves room for h ≈ 1e-7,
//! about 1e-7 relative error), not f32 (its best error is near 1e-3).

use crate::error::{Error, Result};
use crate::objective::Objective;
use crate::operator::LinearOperator;
use crate::vector::{axpy, norm};

/// H(θ₀) of an [`Objective`] as a [`LinearOperator`], by central (or forward) differences with
/// step `h` along the unit direction v/‖v‖ (the result is rescaled by ‖v‖, so h is a distance
/// in parameter space whatever the scale of v).
pub struct FiniteDifferenceHessian<'a, O: Objective + ?Sized> {
    objective: &'a O,
    theta: Vec<f64>,
    h: f64,
    /// ∇f(θ₀) for the forward scheme; `None` for central differences.
    base_gradient: Option<Vec<f64>>,
}

impl<'a, O: Objective + ?Sized> FiniteDifferenceHessian<'a, O> {
    /// The Hessian of `objective` at `theta` by central differences with step `h`.
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
            base_gradient: None,
        })
    }

    /// The Hessian of `objective` at `theta` by forward differences with step `h`: ∇f(θ₀) is
    /// evaluated here, once, and every product then costs one gradient instead of two.
    ///
    /// # Errors
    /// As [`FiniteDifferenceHessian::new`], and whatever evaluating ∇f(θ₀) fails with.
    pub fn forward(objective: &'a O, theta: Vec<f64>, h: f64) -> Result<Self> {
        let mut op = Self::new(objective, theta, h)?;
        op.base_gradient = Some(objective.loss_and_gradient(&op.theta)?.1);
        Ok(op)
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
        if let Some(base) = &self.base_gradient {
            let (_, g_plus) = self.objective.loss_and_gradient(&plus)?;
            return Ok(g_plus
                .iter()
                .zip(base)
                .map(|(a, b)| (a - b) / step)
                .collect());
        }
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

    #[test]
    fn forward_hvp_equals_av_on_a_quadratic_with_one_gradient_per_product() {
        struct Counting(Quadratic, std::cell::Cell<usize>);
        impl Objective for Counting {
            fn dim(&self) -> usize {
                self.0.dim()
            }
            fn loss_and_gradient(&self, theta: &[f64]) -> Result<(f64, Vec<f64>)> {
                self.1.set(self.1.get() + 1);
                self.0.loss_and_gradient(theta)
            }
        }
        let q = Counting(
            Quadratic {
                a: vec![2.0, -1.0, 0.5, -1.0, 3.0, 0.0, 0.5, 0.0, -4.0],
                b: vec![0.3, -0.2, 1.0],
            },
            std::cell::Cell::new(0),
        );
        let op = FiniteDifferenceHessian::forward(&q, vec![0.1, 0.2, -0.3], 1e-3).unwrap();
        let v = [1.0, -2.0, 0.5];
        for _ in 0..3 {
            let hv = op.apply(&v).unwrap();
            let av = [2.0 + 2.0 + 0.25, -1.0 - 6.0, 0.5 - 2.0];
            for (x, y) in hv.iter().zip(av) {
                // Exact up to rounding: a quadratic has no third derivative.
                assert!((x - y).abs() < 1e-9, "{hv:?}");
            }
        }
        assert_eq!(
            q.1.get(),
            1 + 3,
            "∇f(θ₀) once, then one gradient per product"
        );
    }
}
