//! Gradient-Lipschitz (smoothness) estimates κ = ‖g(θ₁) − g(θ₂)‖ / ‖θ₁ − θ₂‖ of an objective
//! (paper.md §2.1 D1, §3.2 E-B items 1–4).
//!
//! Every estimate is a lower bound on the local Lipschitz constant of ∇f near θ: a finite
//! set of secants. For the adversarial objective (δ*(θ) re-solved at each point) the secants
//! also report how far the attack moved, ‖δ*(θ₁) − δ*(θ₂)‖ / ‖θ₁ − θ₂‖, and for L∞ the
//! fraction of input coordinates whose sign flipped — the mechanism of paper.md §2.4 Prop. C.

use advland_schema::{KinkProfile, RadiusProbe, Secant, WorstCase};

use crate::error::{Error, Result};
use crate::objective::Objective;
use crate::vector::{axpy, gaussian, norm, normalize};

/// The objective's gradient (and perturbation) at one point, kept to form secants from.
pub struct Anchor {
    /// The point.
    pub theta: Vec<f64>,
    /// f(θ).
    pub loss: f64,
    /// ∇f(θ).
    pub grad: Vec<f64>,
    /// δ(θ), if any.
    pub delta: Option<Vec<f64>>,
}

impl Anchor {
    /// Evaluates `objective` at `theta`.
    ///
    /// # Errors
    /// From the objective.
    pub fn at(objective: &dyn Objective, theta: Vec<f64>) -> Result<Self> {
        let (loss, grad) = objective.loss_and_gradient(&theta)?;
        let delta = objective.perturbation(&theta)?;
        Ok(Self {
            theta,
            loss,
            grad,
            delta,
        })
    }

    /// The secant between `self` and `other`.
    ///
    /// # Errors
    /// Coincident points or a non-finite ratio.
    pub fn secant(&self, other: &Anchor) -> Result<Secant> {
        let diff: Vec<f64> = self
            .theta
            .iter()
            .zip(&other.theta)
            .map(|(a, b)| a - b)
            .collect();
        let distance = norm(&diff);
        if distance == 0.0 {
            return Err(Error::InvalidConfig {
                field: "radius",
                reason: "the two points coincide".to_owned(),
            });
        }
        let dg: Vec<f64> = self
            .grad
            .iter()
            .zip(&other.grad)
            .map(|(a, b)| a - b)
            .collect();
        let kappa = norm(&dg) / distance;
        if !kappa.is_finite() {
            return Err(Error::NonFinite {
                what: "gradient-Lipschitz ratio",
                step: 0,
            });
        }
        let (delta_ratio, sign_flip_fraction) = match (&self.delta, &other.delta) {
            (Some(a), Some(b)) if a.len() == b.len() && !a.is_empty() => {
                let dd: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
                let flips = a
                    .iter()
                    .zip(b)
                    .filter(|(x, y)| sign(**x) != sign(**y))
                    .count();
                (
                    Some(norm(&dd) / distance),
                    Some(flips as f64 / a.len() as f64),
                )
            }
            _ => (None, None),
        };
        Ok(Secant {
            distance,
            kappa,
            delta_ratio,
            sign_flip_fraction,
        })
    }
}

/// Sign with a dead zone: PGD's clipped coordinates are exactly ±ε, interior ones are small.
fn sign(x: f64) -> i8 {
    if x > 1e-12 {
        1
    } else if x < -1e-12 {
        -1
    } else {
        0
    }
}

/// κ(r) along the given unit `directions` for each radius: the curve whose growth as r → 0
/// separates smooth (κ(r) levels off at the curvature) from non-smooth (κ(r) ~ jump / r)
/// objectives.
///
/// # Errors
/// From the objective; empty radii/directions.
pub fn probe_directions(
    objective: &dyn Objective,
    center: &Anchor,
    directions: &[Vec<f64>],
    radii: &[f64],
) -> Result<Vec<RadiusProbe>> {
    if directions.is_empty() || radii.is_empty() {
        return Err(Error::InvalidConfig {
            field: "directions/radii",
            reason: "need at least one direction and one radius".to_owned(),
        });
    }
    let mut out = Vec::with_capacity(radii.len());
    for &r in radii {
        if !(r.is_finite() && r > 0.0) {
            return Err(Error::InvalidConfig {
                field: "radii",
                reason: format!("must be finite and > 0, got {r}"),
            });
        }
        let mut secants = Vec::with_capacity(directions.len());
        for u in directions {
            let mut theta = center.theta.clone();
            axpy(r, u, &mut theta);
            secants.push(Anchor::at(objective, theta)?.secant(center)?);
        }
        let kappas: Vec<f64> = secants.iter().map(|s| s.kappa).collect();
        out.push(RadiusProbe {
            radius: r,
            kappa_max: kappas.iter().copied().fold(0.0, f64::max),
            kappa_mean: kappas.iter().sum::<f64>() / kappas.len() as f64,
            secants,
            summary: None,
        });
    }
    Ok(out)
}

/// Seeded unit Gaussian directions in R^m (consecutive draws of one stream).
pub fn random_directions(m: usize, count: usize, seed: u64) -> Vec<Vec<f64>> {
    gaussian(m * count, seed)
        .chunks_exact(m.max(1))
        .take(count)
        .map(|chunk| {
            let mut v = chunk.to_vec();
            normalize(&mut v);
            v
        })
        .collect()
}

/// The worst-case secant over the sphere of radius ρ, by fixed-point ascent
/// u ← (g(θ + ρu) − g(θ)) / ‖·‖: for a smooth f this is power iteration on the averaged
/// Hessian along the segment, so κ climbs to ‖∇²f‖₂ as ρ → 0; for a non-smooth f it seeks
/// the directions where the gradient jumps. Starts from the unit vector `start` and runs
/// `steps` ascent steps; returns the best κ and its direction.
///
/// # Errors
/// From the objective; ρ not positive.
pub fn worst_case_ascent(
    objective: &dyn Objective,
    center: &Anchor,
    start: Vec<f64>,
    radius: f64,
    steps: usize,
) -> Result<(WorstCase, Vec<f64>)> {
    if !(radius.is_finite() && radius > 0.0) {
        return Err(Error::InvalidConfig {
            field: "radius",
            reason: format!("must be finite and > 0, got {radius}"),
        });
    }
    let mut u = start;
    normalize(&mut u);
    let mut trace = Vec::with_capacity(steps);
    let mut best = (0.0, u.clone());
    for _ in 0..steps.max(1) {
        let mut theta = center.theta.clone();
        axpy(radius, &u, &mut theta);
        let point = Anchor::at(objective, theta)?;
        let kappa = point.secant(center)?.kappa;
        trace.push(kappa);
        if kappa > best.0 {
            best = (kappa, u.clone());
        }
        let mut next: Vec<f64> = point
            .grad
            .iter()
            .zip(&center.grad)
            .map(|(a, b)| a - b)
            .collect();
        if normalize(&mut next) == 0.0 {
            break;
        }
        u = next;
    }
    Ok((
        WorstCase {
            radius,
            kappa: best.0,
            trace,
        },
        best.1,
    ))
}

/// Gradient jumps along a line: g at θ + tᵢu for an even grid tᵢ ∈ [−t_max, t_max], and the
/// jumps ‖g(tᵢ₊₁) − g(tᵢ)‖ between neighbours. A smooth f gives jumps ~ Δt·‖Hu‖ that shrink
/// with the grid; a kink gives one jump that does not (paper.md §2.3, C2).
///
/// See [`KinkProfile`].
///
/// # Errors
/// From the objective; fewer than 2 points.
pub fn gradient_jumps(
    objective: &dyn Objective,
    theta: &[f64],
    direction: &[f64],
    t_max: f64,
    points: usize,
) -> Result<KinkProfile> {
    if points < 2 || !(t_max.is_finite() && t_max > 0.0) {
        return Err(Error::InvalidConfig {
            field: "points/t_max",
            reason: format!("need >= 2 points and t_max > 0, got {points} and {t_max}"),
        });
    }
    let t: Vec<f64> = (0..points)
        .map(|i| -t_max + 2.0 * t_max * i as f64 / (points - 1) as f64)
        .collect();
    let mut loss = Vec::with_capacity(points);
    let mut grads: Vec<Vec<f64>> = Vec::with_capacity(points);
    for &ti in &t {
        let mut p = theta.to_vec();
        axpy(ti, direction, &mut p);
        let (l, g) = objective.loss_and_gradient(&p)?;
        loss.push(l);
        grads.push(g);
    }
    let jumps: Vec<f64> = grads
        .windows(2)
        .map(|w| {
            norm(
                &w[1]
                    .iter()
                    .zip(&w[0])
                    .map(|(a, b)| a - b)
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    let (imax, max_jump) =
        jumps.iter().copied().enumerate().fold(
            (0, 0.0),
            |best, (i, j)| if j > best.1 { (i, j) } else { best },
        );
    let mut sorted = jumps.clone();
    sorted.sort_by(f64::total_cmp);
    Ok(KinkProfile {
        max_jump_at: 0.5 * (t[imax] + t[imax + 1]),
        median_jump: sorted[sorted.len() / 2],
        t,
        loss,
        jumps,
        max_jump,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objective::Quadratic;
    use crate::vector::dot;

    /// A = diag(5, −2, 1, 0.5) rotated: ‖A‖₂ = 5 along the first rotated axis.
    fn quadratic() -> (Quadratic, Vec<f64>) {
        let c = (0.3f64).cos();
        let s = (0.3f64).sin();
        // Rotation in the (0,1) plane.
        let d = [5.0, -2.0, 1.0, 0.5];
        let mut a = vec![0.0; 16];
        a[0] = c * c * d[0] + s * s * d[1];
        a[1] = c * s * (d[0] - d[1]);
        a[4] = a[1];
        a[5] = s * s * d[0] + c * c * d[1];
        a[10] = d[2];
        a[15] = d[3];
        (
            Quadratic {
                a,
                b: vec![0.1, 0.2, -0.3, 0.4],
            },
            vec![c, s, 0.0, 0.0],
        )
    }

    #[test]
    fn kappa_never_exceeds_operator_norm_and_reaches_it_on_top_eigenvector() {
        let (q, top) = quadratic();
        let center = Anchor::at(&q, vec![0.5, -0.5, 1.0, 2.0]).unwrap();
        let dirs = random_directions(4, 20, 7);
        for probe in probe_directions(&q, &center, &dirs, &[1e-3, 1e-1, 10.0]).unwrap() {
            assert!(probe.kappa_max <= 5.0 * (1.0 + 1e-9), "{}", probe.kappa_max);
        }
        let along = probe_directions(&q, &center, &[top], &[0.1]).unwrap();
        assert!((along[0].kappa_max - 5.0).abs() < 1e-9);
    }

    #[test]
    fn worst_case_ascent_finds_operator_norm() {
        let (q, _) = quadratic();
        let center = Anchor::at(&q, vec![0.0; 4]).unwrap();
        let start = random_directions(4, 1, 3).remove(0);
        let (wc, u) = worst_case_ascent(&q, &center, start, 0.01, 60).unwrap();
        assert!((wc.kappa - 5.0).abs() < 1e-6, "{}", wc.kappa);
        assert!(dot(&u, &[0.3f64.cos(), 0.3f64.sin(), 0.0, 0.0]).abs() > 1.0 - 1e-6);
    }

    /// f(θ) = ε‖θ‖₁: ∇f = ε·sign(θ) jumps by 2ε where a coordinate crosses 0.
    struct ScaledL1(f64);
    impl Objective for ScaledL1 {
        fn dim(&self) -> usize {
            3
        }
        fn loss_and_gradient(&self, t: &[f64]) -> Result<(f64, Vec<f64>)> {
            let g = t.iter().map(|x| self.0 * x.signum()).collect();
            Ok((self.0 * t.iter().map(|x| x.abs()).sum::<f64>(), g))
        }
    }

    #[test]
    fn gradient_jumps_locate_a_kink_and_ignore_smooth_curvature() {
        let eps = 0.1;
        let theta = [0.013, 1.0, -1.0];
        let profile = gradient_jumps(&ScaledL1(eps), &theta, &[1.0, 0.0, 0.0], 0.05, 41).unwrap();
        assert!((profile.max_jump - 2.0 * eps).abs() < 1e-12);
        assert!((profile.max_jump_at + 0.013).abs() <= 0.05 / 40.0 + 1e-12);
        assert_eq!(profile.median_jump, 0.0);
        let (q, _) = quadratic();
        let smooth = gradient_jumps(&q, &[0.0; 4], &[1.0, 0.0, 0.0, 0.0], 0.05, 41).unwrap();
        assert!(smooth.max_jump <= 5.0 * 0.1 / 40.0 + 1e-12);
    }

    #[test]
    fn secant_rejects_coincident_points() {
        let (q, _) = quadratic();
        let a = Anchor::at(&q, vec![0.0; 4]).unwrap();
        let b = Anchor::at(&q, vec![0.0; 4]).unwrap();
        assert!(a.secant(&b).is_err());
    }
}
