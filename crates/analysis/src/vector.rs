//! Dense f64 vectors on the host: parameter points, directions and eigenvectors.
//!
//! Analysis keeps its vectors in f64 on the host: iteration logic (power iteration,
//! Lanczos, Gram–Schmidt) then needs no device, is testable against nalgebra, and does not
//! lose the digits finite-difference curvature estimates need. m = 12,810 for the demo CNN;
//! a ResNet-18's 11M parameters still fit a few such vectors comfortably.

use advland_data::random::{SplitMix64, box_muller};

use crate::error::Result;

/// m independent N(0, 1) draws from `seed` (splitmix64 + Box–Muller): host-side, so the
/// same seed gives the same vector on every backend.
pub fn gaussian(m: usize, seed: u64) -> Vec<f64> {
    let mut rng = SplitMix64::new(seed ^ 0xD1B5_4A32_D192_ED03);
    (0..m)
        .map(|_| {
            let u1 = rng.uniform_open();
            box_muller(u1, rng.uniform_open())
        })
        .collect()
}

/// ⟨a, b⟩.
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    debug_assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// ‖a‖₂.
pub fn norm(a: &[f64]) -> f64 {
    dot(a, a).sqrt()
}

/// y ← y + α·x.
pub fn axpy(alpha: f64, x: &[f64], y: &mut [f64]) {
    debug_assert_eq!(x.len(), y.len());
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += alpha * xi;
    }
}

/// x ← α·x.
pub fn scale(alpha: f64, x: &mut [f64]) {
    for v in x {
        *v *= alpha;
    }
}

/// Scales `x` to unit norm and returns its former norm (0 leaves `x` unchanged).
pub fn normalize(x: &mut [f64]) -> f64 {
    let n = norm(x);
    if n > 0.0 {
        scale(1.0 / n, x);
    }
    n
}

/// Removes from `x` its components along the (orthonormal) `basis` vectors, twice — one
/// pass of classical Gram–Schmidt loses orthogonality in floating point ("twice is enough").
pub fn orthogonalize(x: &mut [f64], basis: &[Vec<f64>]) {
    for _ in 0..2 {
        for b in basis {
            let c = dot(x, b);
            axpy(-c, b, x);
        }
    }
}

/// The central difference of a map `f` along `v`, block by block: `v` is cut into blocks of
/// `block` values, each its own direction, and per block the result is
/// (f(x + h·v̂) − f(x − h·v̂))·‖v‖/(2h) with v̂ = v/‖v‖ (0 for a zero block). `f` receives both
/// points stacked, [x + h·v̂; x − h·v̂], and returns its values there stacked the same way, the
/// same number per block. `None` when `v` is zero: nothing is evaluated.
///
/// # Errors
/// Those of `f`.
pub fn central_difference(
    x: &[f64],
    v: &[f64],
    block: usize,
    h: f64,
    f: impl FnOnce(Vec<f64>) -> Result<Vec<f64>>,
) -> Result<Option<Vec<f64>>> {
    debug_assert_eq!(x.len(), v.len());
    let lengths: Vec<f64> = v.chunks(block).map(norm).collect();
    if lengths.iter().all(|&l| l == 0.0) {
        return Ok(None);
    }
    let mut points = Vec::with_capacity(2 * x.len());
    for sign in [1.0, -1.0] {
        for ((x, v), &length) in x.chunks(block).zip(v.chunks(block)).zip(&lengths) {
            let s = if length > 0.0 { sign * h / length } else { 0.0 };
            points.extend(x.iter().zip(v).map(|(x, v)| x + s * v));
        }
    }
    let values = f(points)?;
    let (plus, minus) = values.split_at(values.len() / 2);
    let out = plus.len() / lengths.len();
    Ok(Some(
        plus.chunks(out)
            .zip(minus.chunks(out))
            .zip(&lengths)
            .flat_map(|((p, m), &length)| {
                let s = length / (2.0 * h);
                p.iter().zip(m).map(move |(p, m)| (p - m) * s)
            })
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn central_difference_of_a_quadratic_is_exact_per_block() {
        // f(x) = (x₀², x₀x₁, x₂³) per block of 3: the derivative along v is exact for the
        // quadratic parts and off by h²·v₂³ for the cubic one.
        let f = |p: Vec<f64>| -> Result<Vec<f64>> {
            Ok(p.chunks(3)
                .flat_map(|b| [b[0] * b[0], b[0] * b[1], b[2].powi(3)])
                .collect())
        };
        let x = [1.0, 2.0, 0.5, -1.0, 0.0, 3.0];
        let v = [0.0, 2.0, 0.0, 0.0, 0.0, 0.0];
        let d = central_difference(&x, &v, 3, 1e-3, f).unwrap().unwrap();
        let expected = [0.0, 2.0, 0.0, 0.0, 0.0, 0.0];
        for (d, e) in d.iter().zip(expected) {
            assert!((d - e).abs() < 1e-12, "{d} vs {e}");
        }
        let v = [1.0, 0.0, 1.0, 0.0, 1.0, -2.0];
        let d = central_difference(&x, &v, 3, 1e-4, f).unwrap().unwrap();
        let expected = [2.0, 2.0, 0.75, 0.0, -1.0, -54.0];
        for (d, e) in d.iter().zip(expected) {
            assert!((d - e).abs() < 1e-6, "{d} vs {e}");
        }
        assert!(
            central_difference(&x, &[0.0; 6], 3, 1e-3, f)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn orthogonalize_removes_basis_components() {
        let basis = vec![vec![1.0, 0.0, 0.0], vec![0.0, 0.6, 0.8]];
        let mut x = vec![3.0, 1.0, -2.0];
        orthogonalize(&mut x, &basis);
        for b in &basis {
            assert!(dot(&x, b).abs() < 1e-15);
        }
        assert!((normalize(&mut x) - (0.8f64 * 1.0 + 0.6 * 2.0)).abs() < 1e-12);
        assert!((norm(&x) - 1.0).abs() < 1e-15);
    }
}
