//! The only code in advland that differs between L∞ and L2 attacks (paper.md §1.3).
//!
//! PGD, training, evaluation, tests and reports are written once against [`Constraint`]
//! (through [`Attack`](super::Attack), which pairs it with its PGD settings); adding a norm
//! means one struct here and one arm in [`ball`].

use std::sync::Arc;

use advland_schema::Norm;
use burn::tensor::Tensor;
use rand::Rng;

/// A perturbation ball B(ε) as seen by projected gradient ascent. `Send + Sync` so that
/// analyses can evaluate grid points on several threads with one shared constraint.
pub trait Constraint: Send + Sync + std::fmt::Debug {
    /// The radius ε.
    fn eps(&self) -> f64;

    /// The steepest-ascent direction of unit norm (in this norm) for gradient `grad`:
    /// sign(g) for L∞, g/‖g‖₂ per example for L2. Zero gradients give a zero direction.
    ///
    /// # Shapes
    /// `[b, c, h, w]` → `[b, c, h, w]`
    fn ascent_direction(&self, grad: Tensor<4>) -> Tensor<4>;

    /// Euclidean projection onto the ball, per example.
    ///
    /// # Shapes
    /// `[b, c, h, w]` → `[b, c, h, w]`
    fn project(&self, delta: Tensor<4>) -> Tensor<4>;

    /// Per-example size of `delta` in this norm (‖δ‖∞ or ‖δ‖₂), differentiable almost
    /// everywhere, for objectives measured in the attack's norm (e.g. a Lipschitz ratio).
    ///
    /// # Shapes
    /// `[b, c, h, w]` → `[b]`
    fn norm(&self, delta: Tensor<4>) -> Tensor<1>;

    /// A random starting point in the ball for one example of `dim` values, drawn on the host
    /// so that a seed gives the same start on every backend.
    fn random_start(&self, dim: usize, rng: &mut dyn rand::RngCore) -> Vec<f32>;
}

/// L∞ ball: max_i |δ_i| ≤ ε.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Linf {
    /// Radius.
    pub eps: f64,
}

/// L2 ball: ‖δ‖₂ ≤ ε per example.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct L2 {
    /// Radius.
    pub eps: f64,
}

impl Constraint for Linf {
    fn eps(&self) -> f64 {
        self.eps
    }
    fn ascent_direction(&self, grad: Tensor<4>) -> Tensor<4> {
        grad.sign()
    }
    fn project(&self, delta: Tensor<4>) -> Tensor<4> {
        delta.clamp(-self.eps, self.eps)
    }
    fn norm(&self, delta: Tensor<4>) -> Tensor<1> {
        let [b, c, h, w] = delta.dims();
        delta.abs().reshape([b, c * h * w]).max_dim(1).reshape([b])
    }
    fn random_start(&self, dim: usize, rng: &mut dyn rand::RngCore) -> Vec<f32> {
        (0..dim)
            .map(|_| ((rng.random::<f64>() * 2.0 - 1.0) * self.eps) as f32)
            .collect()
    }
}

/// Per-example Euclidean norms, broadcastable against the batch.
///
/// # Shapes
/// `[b, c, h, w]` → `[b, 1, 1, 1]`
fn example_norms(t: Tensor<4>) -> Tensor<4> {
    t.powi_scalar(2).sum_dim(1).sum_dim(2).sum_dim(3).sqrt()
}

impl Constraint for L2 {
    fn eps(&self) -> f64 {
        self.eps
    }
    fn ascent_direction(&self, grad: Tensor<4>) -> Tensor<4> {
        // The floor keeps an all-zero gradient at a zero step instead of 0/0 = NaN.
        let norms = example_norms(grad.clone()).clamp_min(1e-12);
        grad / norms
    }
    fn project(&self, delta: Tensor<4>) -> Tensor<4> {
        // ε / max(‖δ‖, ε) is min(1, ε/‖δ‖) without dividing by zero.
        let norms = example_norms(delta.clone()).clamp_min(self.eps);
        delta * norms.recip().mul_scalar(self.eps)
    }
    fn norm(&self, delta: Tensor<4>) -> Tensor<1> {
        let [b, _, _, _] = delta.dims();
        example_norms(delta).reshape([b])
    }
    fn random_start(&self, dim: usize, rng: &mut dyn rand::RngCore) -> Vec<f32> {
        // torchattacks' PGDL2 start: a Gaussian direction scaled to a radius uniform in
        // [0, ε], kept for comparability with the PyTorch tools.
        let direction: Vec<f64> = (0..dim).map(|_| standard_normal(rng)).collect();
        let norm = direction
            .iter()
            .map(|v| v * v)
            .sum::<f64>()
            .sqrt()
            .max(1e-12);
        let radius = rng.random::<f64>() * self.eps;
        direction
            .into_iter()
            .map(|v| (v / norm * radius) as f32)
            .collect()
    }
}

/// One N(0,1) draw (Box–Muller), so every backend sees the same numbers for a seed.
pub fn standard_normal(rng: &mut dyn rand::RngCore) -> f64 {
    let u1 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    advland_data::random::box_muller(u1, rng.random::<f64>())
}

/// The ε-ball of `norm`: the one place a [`Norm`] becomes code. PGD consumers get it inside
/// an [`Attack`](super::Attack); closed forms that need only the ball (and its dual norm) call
/// this directly.
pub fn ball(norm: Norm, eps: f64) -> Arc<dyn Constraint> {
    match norm {
        Norm::Linf => Arc::new(Linf { eps }),
        Norm::L2 => Arc::new(L2 { eps }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::to_host;
    use burn::tensor::{Device, TensorData};
    use rand::SeedableRng;

    fn batch(values: Vec<f32>, b: usize) -> Tensor<4> {
        let n = values.len() / b;
        Tensor::from_data(TensorData::new(values, [b, 1, 1, n]), &Device::flex())
    }

    fn norms_of(t: &[f32], b: usize, linf: bool) -> Vec<f32> {
        t.chunks(t.len() / b)
            .map(|c| {
                if linf {
                    c.iter().fold(0.0f32, |m, v| m.max(v.abs()))
                } else {
                    c.iter().map(|v| v * v).sum::<f32>().sqrt()
                }
            })
            .collect()
    }

    /// Written once, run for both norms: projection never leaves the ball, is idempotent,
    /// and leaves points inside the ball alone; random starts lie in the ball.
    fn check_projection<C: Constraint>(c: &C, linf: bool) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let raw: Vec<f32> = (0..40)
            .map(|_| (standard_normal(&mut rng) * 0.7) as f32)
            .collect();
        let p1 = c.project(batch(raw.clone(), 4));
        let p1h = to_host(&p1.clone().reshape([40]));
        for n in norms_of(&p1h, 4, linf) {
            assert!(f64::from(n) <= c.eps() * (1.0 + 1e-6), "norm {n} > eps");
        }
        let p2h = to_host(&c.project(p1).reshape([40]));
        for (a, b) in p1h.iter().zip(&p2h) {
            assert!((a - b).abs() <= 1e-6, "projection not idempotent");
        }
        let inside: Vec<f32> = raw.iter().map(|v| v * 1e-3).collect();
        let kept = to_host(&c.project(batch(inside.clone(), 4)).reshape([40]));
        for (a, b) in inside.iter().zip(&kept) {
            assert!((a - b).abs() <= 1e-7);
        }
        let start = c.random_start(1000, &mut rng);
        let n = norms_of(&start, 1, linf)[0];
        assert!(f64::from(n) <= c.eps() * (1.0 + 1e-6));
    }

    fn check_zero_gradient_gives_zero_direction<C: Constraint>(c: &C) {
        let d = to_host(&c.ascent_direction(batch(vec![0.0; 8], 2)).reshape([8]));
        assert!(d.iter().all(|v| *v == 0.0), "{d:?}");
    }

    #[test]
    fn project_linf_never_exceeds_eps_and_is_idempotent() {
        check_projection(&Linf { eps: 0.1 }, true);
    }

    #[test]
    fn project_l2_never_exceeds_eps_and_is_idempotent() {
        check_projection(&L2 { eps: 0.5 }, false);
    }

    #[test]
    fn zero_gradient_linf_gives_zero_direction() {
        check_zero_gradient_gives_zero_direction(&Linf { eps: 0.1 });
    }

    #[test]
    fn zero_gradient_l2_gives_zero_direction() {
        check_zero_gradient_gives_zero_direction(&L2 { eps: 0.1 });
    }

    fn check_norm<C: Constraint>(c: &C, want: [f32; 2]) {
        let n = to_host(&c.norm(batch(vec![3.0, -4.0, 0.0, -2.0], 2)));
        assert!(
            (n[0] - want[0]).abs() < 1e-6 && (n[1] - want[1]).abs() < 1e-6,
            "{n:?}"
        );
    }

    #[test]
    fn linf_norm_is_largest_magnitude() {
        check_norm(&Linf { eps: 1.0 }, [4.0, 2.0]);
    }

    #[test]
    fn l2_norm_is_euclidean() {
        check_norm(&L2 { eps: 1.0 }, [5.0, 2.0]);
    }

    #[test]
    fn l2_direction_has_unit_norm() {
        let d = to_host(
            &L2 { eps: 1.0 }
                .ascent_direction(batch(vec![3.0, 4.0, 0.0, 2.0], 2))
                .reshape([4]),
        );
        assert!(
            (d[0] - 0.6).abs() < 1e-6 && (d[1] - 0.8).abs() < 1e-6 && (d[3] - 1.0).abs() < 1e-6
        );
    }
}
