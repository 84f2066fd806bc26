//! The weight balls of the worst- and average-case estimators as geometry on host vectors.
//!
//! Every ball is written as δ = s ⊙ u with a plain ball on u: s = |θ₀| (adaptive), 1 (plain)
//! or ‖θ₀_l‖ on tensor l (layerwise), and 0 on coordinates that are not perturbed. The ascent
//! runs in u, where the adaptive balls are round: steepest ascent and projection are taken in
//! the ball's own norm (ASAM's reparametrisation). tml-epfl's `sharpness.py` instead steps along
//! |θ₀| ⊙ g/‖g‖ and projects δ onto the ellipsoid in the Euclidean metric by bisection; both
//! stay inside the same ball, and the maximum they approach is the same.

use std::ops::Range;

use advland_data::random::{SplitMix64, box_muller};
use advland_schema::WeightBall;

/// A ball {s ⊙ u : ‖u‖ ≤ ρ} in the norm of its kind.
#[derive(Clone, Debug)]
pub(crate) struct Ball {
    kind: WeightBall,
    radius: f64,
    scale: Vec<f64>,
    /// The perturbed tensors, for the layerwise ball's per-tensor norms.
    layers: Vec<Range<usize>>,
}

impl Ball {
    /// The ball of `kind` and radius `radius` around `theta0`, moving only the coordinates of
    /// `layers` (the perturbed tensors, as ranges of θ).
    pub(crate) fn new(
        kind: WeightBall,
        radius: f64,
        theta0: &[f64],
        layers: &[Range<usize>],
    ) -> Self {
        let mut scale = vec![0.0; theta0.len()];
        for r in layers {
            let layer_norm = theta0[r.clone()].iter().map(|x| x * x).sum::<f64>().sqrt();
            for i in r.clone() {
                scale[i] = match kind {
                    WeightBall::AdaptiveL2 | WeightBall::AdaptiveLinf => theta0[i].abs(),
                    WeightBall::L2 | WeightBall::Linf => 1.0,
                    WeightBall::Layerwise => layer_norm,
                };
            }
        }
        Self {
            kind,
            radius,
            scale,
            layers: layers.to_vec(),
        }
    }

    /// The radius ρ.
    pub(crate) fn radius(&self) -> f64 {
        self.radius
    }

    /// δ = s ⊙ u.
    pub(crate) fn delta(&self, u: &[f64]) -> Vec<f64> {
        u.iter().zip(&self.scale).map(|(u, s)| u * s).collect()
    }

    /// The gradient in u of L(θ₀ + s ⊙ u): s ⊙ ∇L.
    pub(crate) fn pull_back(&self, grad: &[f64]) -> Vec<f64> {
        self.delta(grad)
    }

    /// The unit ascent direction for a u-gradient: g/‖g‖₂ (ℓ2 balls), sign g (ℓ∞ balls),
    /// g_l/‖g_l‖₂ per tensor (layerwise). A zero gradient (or tensor gradient) gives no move.
    pub(crate) fn ascent_direction(&self, g: &[f64]) -> Vec<f64> {
        match self.kind {
            WeightBall::AdaptiveL2 | WeightBall::L2 => {
                let n = l2(g);
                g.iter()
                    .map(|x| if n > 0.0 { x / n } else { 0.0 })
                    .collect()
            }
            WeightBall::Linf | WeightBall::AdaptiveLinf => g
                .iter()
                .map(|x| if *x == 0.0 { 0.0 } else { x.signum() })
                .collect(),
            WeightBall::Layerwise => {
                let mut d = vec![0.0; g.len()];
                for r in &self.layers {
                    let n = l2(&g[r.clone()]);
                    if n > 0.0 {
                        for i in r.clone() {
                            d[i] = g[i] / n;
                        }
                    }
                }
                d
            }
        }
    }

    /// The Euclidean projection of u onto the ball in u (exact for every kind).
    pub(crate) fn project(&self, u: &mut [f64]) {
        let rho = self.radius;
        match self.kind {
            WeightBall::AdaptiveL2 | WeightBall::L2 => shrink(u, rho),
            WeightBall::Linf | WeightBall::AdaptiveLinf => {
                for x in u.iter_mut() {
                    *x = x.clamp(-rho, rho);
                }
            }
            WeightBall::Layerwise => {
                for r in &self.layers {
                    shrink(&mut u[r.clone()], rho);
                }
            }
        }
        // Coordinates that do not move carry no u either, so ‖u‖ is the ball's norm of δ.
        for (x, s) in u.iter_mut().zip(&self.scale) {
            if *s == 0.0 {
                *x = 0.0;
            }
        }
    }

    /// A noise draw in u (tml-epfl's `random_init_lw`): N(0, ρ²) per coordinate for the ℓ2
    /// and layerwise balls, U[−ρ, ρ] for the ℓ∞ balls; zero where nothing moves. The ℓ2 draw
    /// is not confined to the ball (‖u‖ ≈ ρ√d): it is average-case sharpness's noise, and a
    /// random start projects it.
    pub(crate) fn noise(&self, rng: &mut SplitMix64) -> Vec<f64> {
        let rho = self.radius;
        self.scale
            .iter()
            .map(|s| {
                if *s == 0.0 {
                    return 0.0;
                }
                match self.kind {
                    WeightBall::Linf | WeightBall::AdaptiveLinf => rho * rng.symmetric(),
                    _ => {
                        let u1 = rng.uniform_open();
                        rho * box_muller(u1, rng.uniform_open())
                    }
                }
            })
            .collect()
    }
}

fn l2(x: &[f64]) -> f64 {
    x.iter().map(|v| v * v).sum::<f64>().sqrt()
}

/// u ← u·min(1, ρ/‖u‖₂).
fn shrink(u: &mut [f64], rho: f64) {
    let n = l2(u);
    if n > rho {
        for x in u.iter_mut() {
            *x *= rho / n;
        }
    }
}

#[cfg(test)]
// A single tensor spanning θ is a one-element list of ranges, which is what the lint flags.
#[allow(clippy::single_range_in_vec_init)]
mod tests {
    use super::*;

    fn check_projection_lands_in_the_ball(kind: WeightBall) {
        let theta0 = [0.5, -2.0, 0.0, 1.5, 3.0];
        let ball = Ball::new(kind, 0.3, &theta0, &[0..2, 2..4]);
        let mut rng = SplitMix64::new(7);
        for _ in 0..20 {
            let mut u: Vec<f64> = ball.noise(&mut rng).iter().map(|x| 10.0 * x).collect();
            ball.project(&mut u);
            let inside = match kind {
                WeightBall::AdaptiveL2 | WeightBall::L2 => l2(&u) <= 0.3 * (1.0 + 1e-12),
                WeightBall::Layerwise => {
                    l2(&u[0..2]) <= 0.3 * (1.0 + 1e-12) && l2(&u[2..4]) <= 0.3 * (1.0 + 1e-12)
                }
                _ => u.iter().all(|x| x.abs() <= 0.3),
            };
            assert!(inside, "{kind:?}: {u:?}");
            // The last coordinate is outside every perturbed tensor.
            assert_eq!(ball.delta(&u)[4], 0.0);
            let mut again = u.clone();
            ball.project(&mut again);
            for (a, b) in again.iter().zip(&u) {
                assert!(
                    (a - b).abs() <= 1e-15,
                    "projection is idempotent: {again:?} vs {u:?}"
                );
            }
        }
    }

    #[test]
    fn projection_lands_in_every_ball() {
        for kind in [
            WeightBall::AdaptiveL2,
            WeightBall::L2,
            WeightBall::Linf,
            WeightBall::AdaptiveLinf,
            WeightBall::Layerwise,
        ] {
            check_projection_lands_in_the_ball(kind);
        }
    }

    #[test]
    fn adaptive_delta_scales_with_the_weights() {
        let theta0 = [2.0, -0.5];
        let ball = Ball::new(WeightBall::AdaptiveLinf, 0.1, &theta0, &[0..2]);
        assert_eq!(ball.delta(&[0.1, -0.1]), vec![0.2, -0.05]);
        let layer = Ball::new(WeightBall::Layerwise, 0.1, &[3.0, 4.0], &[0..2]);
        let d = layer.delta(&layer.ascent_direction(&[1.0, 0.0]));
        // One full step of the layerwise ball reaches ‖δ‖ = ‖θ₀‖ along the gradient.
        assert_eq!(d, vec![5.0, 0.0]);
    }
}
