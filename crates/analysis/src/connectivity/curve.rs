//! Points of the quadratic Bézier curve and the line, and the gradient of a loss along the
//! curve with respect to the control point.

use crate::error::Result;
use crate::objective::Objective;

/// θ(t) = (1 − t)²·a + 2t(1 − t)·φ + t²·b.
pub fn bezier_point(a: &[f64], phi: &[f64], b: &[f64], t: f64) -> Vec<f64> {
    let (wa, wphi, wb) = ((1.0 - t) * (1.0 - t), 2.0 * t * (1.0 - t), t * t);
    a.iter()
        .zip(phi)
        .zip(b)
        .map(|((a, p), b)| wa * a + wphi * p + wb * b)
        .collect()
}

/// (1 − t)·a + t·b.
pub fn line_point(a: &[f64], b: &[f64], t: f64) -> Vec<f64> {
    a.iter()
        .zip(b)
        .map(|(a, b)| (1.0 - t) * a + t * b)
        .collect()
}

/// L(θ(t)) and ∂L(θ(t))/∂φ = 2t(1 − t)·∇L(θ(t)) (the chain rule through the one term of
/// θ(t) that holds φ).
///
/// # Errors
/// As the objective's [`Objective::loss_and_gradient`].
pub fn control_gradient(
    objective: &dyn Objective,
    a: &[f64],
    phi: &[f64],
    b: &[f64],
    t: f64,
) -> Result<(f64, Vec<f64>)> {
    let (loss, grad) = objective.loss_and_gradient(&bezier_point(a, phi, b, t))?;
    let weight = 2.0 * t * (1.0 - t);
    Ok((loss, grad.into_iter().map(|g| weight * g).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objective::Quadratic;

    fn points() -> (Vec<f64>, Vec<f64>) {
        (vec![0.3, -1.2, 2.0, 0.0], vec![-0.7, 0.4, 1.5, 3.25])
    }

    #[test]
    fn a_midpoint_control_point_gives_the_line() {
        let (a, b) = points();
        let mid: Vec<f64> = a.iter().zip(&b).map(|(x, y)| 0.5 * (x + y)).collect();
        for i in 0..=10 {
            let t = f64::from(i) / 10.0;
            let curve = bezier_point(&a, &mid, &b, t);
            let line = line_point(&a, &b, t);
            for (c, l) in curve.iter().zip(&line) {
                assert!(
                    (c - l).abs() <= 1e-15 * l.abs().max(1.0),
                    "t = {t}: {c} vs {l}"
                );
            }
        }
        assert_eq!(bezier_point(&a, &mid, &b, 0.0), a);
        assert_eq!(bezier_point(&a, &mid, &b, 1.0), b);
    }

    #[test]
    fn control_gradient_matches_finite_differences() {
        let (a, b) = points();
        // A positive-definite quadratic that couples every coordinate.
        let n = a.len();
        let q = Quadratic {
            a: (0..n * n)
                .map(|k| {
                    let (i, j) = (k / n, k % n);
                    if i == j {
                        3.0 + i as f64
                    } else {
                        0.5 / (1.0 + (i + j) as f64)
                    }
                })
                .collect(),
            b: vec![0.1, -0.2, 0.3, -0.4],
        };
        let phi = vec![1.0, 0.5, -0.25, 2.0];
        let t = 0.3;
        let (_, grad) = control_gradient(&q, &a, &phi, &b, t).unwrap();
        let h = 1e-6;
        for k in 0..n {
            let mut up = phi.clone();
            let mut down = phi.clone();
            up[k] += h;
            down[k] -= h;
            let fd = (q.loss(&bezier_point(&a, &up, &b, t)).unwrap()
                - q.loss(&bezier_point(&a, &down, &b, t)).unwrap())
                / (2.0 * h);
            assert!(
                (fd - grad[k]).abs() < 1e-7,
                "coordinate {k}: {fd} vs {}",
                grad[k]
            );
        }
    }
}
