//! The only code in advland that differs between L∞ and L2 attacks (paper.md §1.3).
//!
//! PGD, training, evaluation, tests and reports are written once against [`Constraint`]
//! (through [`Attack`](super::Attack), which pairs it with its PGD settings); so are the
//! analyses that need the ball's dual norm ‖·‖_* (the worst-case margin of a linear model, the
//! KKT multiplier of an active constraint). Adding a norm means one struct here and one arm in
//! [`ball`].

use std::sync::Arc;

use advland_schema::Norm;
use burn::tensor::Tensor;
use rand::Rng;

/// A perturbation ball B(ε) as seen by projected gradient ascent, and its dual norm
/// ‖g‖_* = max_{‖δ‖ ≤ 1} ⟨g, δ⟩ as seen by the closed forms built on it. `Send + Sync` so that
/// analyses can evaluate grid points on several threads with one shared constraint.
///
/// The dual-norm methods take host f64 vectors: their callers (closed-form linear models,
/// per-example input gradients of the flatness analysis) hold their numbers on the host.
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

    /// The ball's diameter measured in the L2 norm for inputs of `dimension` values: 2ε for
    /// L2, 2ε√d for L∞ (corner to corner). Bounding ‖δ*(θ₁) − δ*(θ₂)‖ by it is the earlier
    /// analyses' step that paper.md §2.2 calls loose.
    fn l2_diameter(&self, dimension: usize) -> f64;

    /// Per-example size of `delta` in this norm (‖δ‖∞ or ‖δ‖₂), differentiable almost
    /// everywhere, for objectives measured in the attack's norm (e.g. a Lipschitz ratio).
    ///
    /// # Shapes
    /// `[b, c, h, w]` → `[b]`
    fn norm(&self, delta: Tensor<4>) -> Tensor<1>;

    /// A random starting point in the ball for one example of `dim` values, drawn on the host
    /// so that a seed gives the same start on every backend.
    fn random_start(&self, dim: usize, rng: &mut dyn rand::RngCore) -> Vec<f32>;

    /// A random point on the boundary of the ball, as auto-attack starts APGD: L∞ a uniform
    /// draw in [−1,1]^d scaled so that its largest coordinate is ε, L2 a Gaussian direction of
    /// length ε (each divided by its norm + 1e-12, as auto-attack's `normalize`). Drawn on the
    /// host like [`Self::random_start`].
    fn random_boundary_start(&self, dim: usize, rng: &mut dyn rand::RngCore) -> Vec<f32>;

    /// The dual norm ‖v‖_*: ‖v‖₁ for L∞, ‖v‖₂ for L2 (Hölder). A linear score wᵀx loses at
    /// most ε‖w‖_* over the ball (paper.md §2.3), and a gradient g at an active constraint
    /// has KKT multiplier ‖g‖_*/ε (§2.4 Prop. B).
    fn dual_norm(&self, v: &[f64]) -> f64;

    /// s(v) = ∇‖v‖_*, the unit-ball point attaining ⟨v, s⟩ = ‖v‖_*: sign(v) for L∞,
    /// v/‖v‖₂ for L2 (the host twin of [`Self::ascent_direction`]). At a kink (see
    /// [`Self::dual_norm_kink`]) the centre of the subdifferential: sign(0) = 0, s(0) = 0.
    fn dual_norm_gradient(&self, v: &[f64]) -> Vec<f64>;

    /// Why ‖·‖_* has no gradient at v (L∞: "a coordinate is 0", L2: "the vector is 0"), or
    /// `None` where it has one — and then a Hessian as well.
    fn dual_norm_kink(&self, v: &[f64]) -> Option<&'static str>;

    /// The radius of curvature of ‖·‖_* at v: ‖v‖₂ for L2, whose Hessian (I − v̂v̂ᵀ)/‖v‖₂
    /// has the one non-zero eigenvalue 1/‖v‖₂ (0 at v = 0, where the curvature is unbounded).
    /// `None` for L∞: ‖·‖₁ is piecewise linear, its Hessian 0 between the kinks, and all its
    /// bending is in the gradient's jumps across them.
    fn dual_norm_curvature_radius(&self, v: &[f64]) -> Option<f64>;

    /// h ← h + c·∇²‖v‖_* on the leading d×d block (d = `v.len()`) of the row-major matrix `h`
    /// with rows of `stride` values. Where ‖·‖_* has a kink (see [`Self::dual_norm_kink`])
    /// there is no Hessian and `h` is not meaningful.
    ///
    /// # Panics
    /// If `h` has fewer than (d − 1)·stride + d values.
    fn add_dual_norm_hessian(&self, v: &[f64], c: f64, h: &mut [f64], stride: usize);

    /// The ball's constraints active at δ (one example), within relative tolerance `tol`:
    /// the coordinates it pins and whether a curved boundary with normal δ is active. The
    /// second-order analysis of an attack's optimum (paper.md §2.4 Props. B, C) works on the
    /// face this names: L∞ pins |δ_j| ≥ (1 − tol)ε and bends nowhere, L2 pins nothing and its
    /// sphere is active where ‖δ‖₂ ≥ (1 − tol)ε.
    fn active_face(&self, delta: &[f64], tol: f64) -> ActiveFace;
}

/// The constraints of a ball active at a point (see [`Constraint::active_face`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActiveFace {
    /// Per coordinate: held at the boundary.
    pub pinned: Vec<bool>,
    /// A curved boundary with normal δ is active (its multiplier adds curvature).
    pub curved: bool,
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
    fn random_boundary_start(&self, dim: usize, rng: &mut dyn rand::RngCore) -> Vec<f32> {
        let t: Vec<f64> = (0..dim).map(|_| rng.random::<f64>() * 2.0 - 1.0).collect();
        let largest = t.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        scale_to(t, self.eps / (largest + 1e-12))
    }
    fn dual_norm(&self, v: &[f64]) -> f64 {
        v.iter().map(|x| x.abs()).sum()
    }
    fn l2_diameter(&self, dimension: usize) -> f64 {
        2.0 * self.eps * (dimension as f64).sqrt()
    }
    fn dual_norm_gradient(&self, v: &[f64]) -> Vec<f64> {
        v.iter().map(|&x| sign(x)).collect()
    }
    fn dual_norm_kink(&self, v: &[f64]) -> Option<&'static str> {
        v.contains(&0.0).then_some("a coordinate is 0")
    }
    fn dual_norm_curvature_radius(&self, _v: &[f64]) -> Option<f64> {
        None
    }
    fn add_dual_norm_hessian(&self, _v: &[f64], _c: f64, _h: &mut [f64], _stride: usize) {}
    fn active_face(&self, delta: &[f64], tol: f64) -> ActiveFace {
        let edge = (1.0 - tol) * self.eps;
        ActiveFace {
            pinned: delta.iter().map(|d| d.abs() >= edge).collect(),
            curved: false,
        }
    }
}

/// sign(v) with sign(0) = 0 (also for −0.0, which `f64::signum` maps to −1), as burn's
/// `sign` does on the device.
fn sign(v: f64) -> f64 {
    if v > 0.0 {
        1.0
    } else if v < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// `factor`·v in f32, the precision attacks run in.
fn scale_to(v: Vec<f64>, factor: f64) -> Vec<f32> {
    v.into_iter().map(|x| (x * factor) as f32).collect()
}

/// ‖v‖₂ of a host vector.
fn euclidean(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
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
    fn random_boundary_start(&self, dim: usize, rng: &mut dyn rand::RngCore) -> Vec<f32> {
        let t: Vec<f64> = (0..dim).map(|_| standard_normal(rng)).collect();
        let length = euclidean(&t);
        scale_to(t, self.eps / (length + 1e-12))
    }
    fn dual_norm(&self, v: &[f64]) -> f64 {
        euclidean(v)
    }
    fn l2_diameter(&self, _dimension: usize) -> f64 {
        2.0 * self.eps
    }
    fn dual_norm_gradient(&self, v: &[f64]) -> Vec<f64> {
        let n = euclidean(v);
        if n > 0.0 {
            let inverse = 1.0 / n;
            v.iter().map(|x| x * inverse).collect()
        } else {
            v.to_vec()
        }
    }
    fn dual_norm_kink(&self, v: &[f64]) -> Option<&'static str> {
        (euclidean(v) == 0.0).then_some("the vector is 0")
    }
    fn dual_norm_curvature_radius(&self, v: &[f64]) -> Option<f64> {
        Some(euclidean(v))
    }
    fn add_dual_norm_hessian(&self, v: &[f64], c: f64, h: &mut [f64], stride: usize) {
        let coef = c / euclidean(v);
        let s = self.dual_norm_gradient(v);
        for (j, &sj) in s.iter().enumerate() {
            let row = &mut h[j * stride..j * stride + s.len()];
            row[j] += coef;
            for (hjk, &sk) in row.iter_mut().zip(&s) {
                *hjk -= coef * sj * sk;
            }
        }
    }
    fn active_face(&self, delta: &[f64], tol: f64) -> ActiveFace {
        ActiveFace {
            pinned: vec![false; delta.len()],
            curved: euclidean(delta) >= (1.0 - tol) * self.eps,
        }
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

    /// Written once, run for both norms: a projected far point lies on the boundary (every
    /// coordinate pinned by L∞, L2's sphere active), half of it inside; the pinned
    /// coordinates of a mixed point are those at ±ε.
    fn check_face<C: Constraint>(c: &C, pins_all: bool) {
        let far: Vec<f32> = (0..6).map(|i| 50.0 - 20.0 * i as f32).collect();
        let p: Vec<f64> = to_host(&c.project(batch(far, 1)).reshape([6]))
            .into_iter()
            .map(f64::from)
            .collect();
        let face = c.active_face(&p, 1e-6);
        assert_eq!(face.pinned, vec![pins_all; 6]);
        assert_eq!(face.curved, !pins_all);
        let half: Vec<f64> = p.iter().map(|v| v / 2.0).collect();
        let inside = c.active_face(&half, 1e-6);
        assert_eq!(inside.pinned, vec![false; 6]);
        assert!(!inside.curved);
    }

    #[test]
    fn the_active_face_is_the_boundary_the_projection_reaches() {
        check_face(&Linf { eps: 0.3 }, true);
        check_face(&L2 { eps: 0.3 }, false);
        let mixed = [0.3, -0.1, -0.3, 0.0];
        assert_eq!(
            Linf { eps: 0.3 }.active_face(&mixed, 1e-6).pinned,
            vec![true, false, true, false]
        );
    }

    /// Written once, run for both norms: two far-apart opposite points project onto the
    /// ball's extreme points, whose L2 distance is the diameter.
    fn check_diameter<C: Constraint>(c: &C) {
        let d = 9;
        let far: Vec<f32> = (0..d).map(|i| 1e3 * (1.0 + i as f32 * 0.1)).collect();
        let ends: Vec<f32> = far.iter().copied().chain(far.iter().map(|v| -v)).collect();
        let p = to_host(&c.project(batch(ends, 2)).reshape([2 * d]));
        let gap: f64 = p[..d]
            .iter()
            .zip(&p[d..])
            .map(|(a, b)| f64::from(a - b).powi(2))
            .sum::<f64>()
            .sqrt();
        assert!(
            (gap - c.l2_diameter(d)).abs() < 1e-5 * gap,
            "{gap} vs {}",
            c.l2_diameter(d)
        );
    }

    #[test]
    fn diameters_are_the_distance_between_extreme_points() {
        check_diameter(&Linf { eps: 0.3 });
        check_diameter(&L2 { eps: 0.3 });
        assert!((Linf { eps: 0.1 }.l2_diameter(784) - 5.6).abs() < 1e-12);
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
        let boundary = c.random_boundary_start(1000, &mut rng);
        let n = f64::from(norms_of(&boundary, 1, linf)[0]);
        assert!(
            (n - c.eps()).abs() <= c.eps() * 1e-6,
            "{n} is not on the sphere"
        );
        assert_ne!(boundary, c.random_boundary_start(1000, &mut rng));
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

    /// Written once, run for both norms: s(v) lies in the unit ball and attains ⟨v, s⟩ = ‖v‖_*
    /// (Hölder's equality), it is the gradient of ‖·‖_* and the Hessian is the Jacobian of s
    /// (central differences away from the kinks), and the radius of curvature is the inverse
    /// of the Hessian's curvature across v.
    fn check_dual_norm<C: Constraint>(c: &C, linf: bool) {
        let v = [0.7, -1.3, 0.4, 2.1];
        let s = c.dual_norm_gradient(&v);
        let inner: f64 = v.iter().zip(&s).map(|(a, b)| a * b).sum();
        assert!((inner - c.dual_norm(&v)).abs() < 1e-12);
        let s32: Vec<f32> = s.iter().map(|&x| x as f32).collect();
        assert!(norms_of(&s32, 1, linf)[0] <= 1.0 + 1e-6);
        assert_eq!(c.dual_norm_kink(&v), None);
        let h = 1e-6;
        let mut hessian = vec![0.0; 16];
        c.add_dual_norm_hessian(&v, 1.0, &mut hessian, 4);
        for i in 0..4 {
            let (mut plus, mut minus) = (v, v);
            plus[i] += h;
            minus[i] -= h;
            let fd = (c.dual_norm(&plus) - c.dual_norm(&minus)) / (2.0 * h);
            assert!((fd - s[i]).abs() < 1e-8, "∂‖v‖_*/∂v_{i}: {fd} vs {}", s[i]);
            let (gp, gm) = (c.dual_norm_gradient(&plus), c.dual_norm_gradient(&minus));
            for k in 0..4 {
                let fd = (gp[k] - gm[k]) / (2.0 * h);
                assert!((fd - hessian[k * 4 + i]).abs() < 1e-7, "H[{k}][{i}]");
            }
        }
        // A norm is 1-homogeneous, so its Hessian maps v to 0; across v it bends by 1/r.
        let apply = |x: &[f64]| -> Vec<f64> {
            hessian
                .chunks(4)
                .map(|row| row.iter().zip(x).map(|(a, b)| a * b).sum())
                .collect()
        };
        assert!(apply(&v).iter().all(|x| x.abs() < 1e-12));
        let along = v[0] / v.iter().map(|x| x * x).sum::<f64>();
        let across: Vec<f64> = (0..4)
            .map(|i| f64::from(u8::from(i == 0)) - along * v[i])
            .collect();
        let bend = c.dual_norm_curvature_radius(&v).map_or(0.0, |r| 1.0 / r);
        for (hu, u) in apply(&across).iter().zip(&across) {
            assert!((hu - bend * u).abs() < 1e-12, "{hu} vs {bend}·{u}");
        }
    }

    #[test]
    fn linf_dual_norm_is_l1_with_sign_gradient() {
        let c = Linf { eps: 0.1 };
        check_dual_norm(&c, true);
        assert_eq!(c.dual_norm(&[3.0, -4.0, 0.0]), 7.0);
        assert_eq!(
            c.dual_norm_gradient(&[-0.0, 0.0, -2.0, 3.0]),
            [0.0, 0.0, -1.0, 1.0],
            "sign(±0) = 0, the centre of the subdifferential"
        );
        assert!(c.dual_norm_kink(&[1.0, -0.0]).is_some());
    }

    #[test]
    fn l2_dual_norm_is_euclidean_and_curves_with_radius_norm() {
        let c = L2 { eps: 0.1 };
        check_dual_norm(&c, false);
        assert_eq!(c.dual_norm(&[3.0, -4.0, 0.0]), 5.0);
        assert_eq!(c.dual_norm_curvature_radius(&[3.0, -4.0]), Some(5.0));
        assert_eq!(c.dual_norm_gradient(&[0.0, 0.0]), [0.0, 0.0]);
        assert!(c.dual_norm_kink(&[0.0, 0.0]).is_some());
        assert!(c.dual_norm_kink(&[1.0, 0.0]).is_none());
    }

    #[test]
    fn ball_follows_the_norm() {
        let v = [3.0, -4.0];
        assert_eq!(ball(Norm::Linf, 0.5).dual_norm(&v), 7.0);
        assert_eq!(ball(Norm::L2, 0.5).dual_norm(&v), 5.0);
        assert_eq!(ball(Norm::L2, 0.5).eps(), 0.5);
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
