//! Dense f64 vectors on the host: parameter points, directions and eigenvectors.
//!
//! Analysis keeps its vectors in f64 on the host: iteration logic (power iteration,
//! Lanczos, Gram–Schmidt) then needs no device, is testable against nalgebra, and does not
//! lose the digits finite-difference curvature estimates need. m = 12,810 for the demo CNN;
//! a ResNet-18's 11M parameters still fit a few such vectors comfortably.

use advland_data::random::{SplitMix64, box_muller};

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

#[cfg(test)]
mod tests {
    use super::*;

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
