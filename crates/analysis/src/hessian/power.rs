//! Top-k eigenpairs of a symmetric operator by power iteration with deflation.

pub use advland_schema::StopReason;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::operator::LinearOperator;
use crate::vector::{dot, norm, normalize, orthogonalize};

/// Settings of [`top_eigenpairs`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PowerIterationConfig {
    /// Number of eigenpairs.
    pub k: usize,
    /// Stop when the Rayleigh quotient changes by less than `tol` relative to its size
    /// (PyHessian's rule; default 1e-3).
    pub tol: f64,
    /// Iteration cap per eigenpair.
    pub max_iter: usize,
    /// Seed of the random start vectors.
    pub seed: u64,
}

impl Default for PowerIterationConfig {
    fn default() -> Self {
        Self {
            k: 1,
            tol: 1e-3,
            max_iter: 100,
            seed: 0,
        }
    }
}

/// One estimated eigenpair.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EigenEstimate {
    /// The signed eigenvalue (Rayleigh quotient vᵀAv at the last iterate). Power iteration
    /// converges to the eigenvalue of largest |λ| in the deflated space, which may be negative.
    pub value: f64,
    /// Unit eigenvector estimate.
    #[serde(skip)]
    pub vector: Vec<f64>,
    /// Rayleigh quotient after each iteration.
    pub trace: Vec<f64>,
    /// ‖Av − λv‖ at the last iterate.
    pub residual: f64,
    /// Operator applications spent on this pair.
    pub applications: usize,
    /// Why it stopped.
    pub stop: StopReason,
}

/// The `k` eigenpairs of largest |λ| of `op`, one after another: each is found by power
/// iteration on the complement of the ones before (Gram–Schmidt deflation, as PyHessian).
///
/// # Errors
/// Bad settings, non-finite values, or operator failures.
pub fn top_eigenpairs(
    op: &dyn LinearOperator,
    config: &PowerIterationConfig,
) -> Result<Vec<EigenEstimate>> {
    let n = op.dim();
    if config.k == 0 || config.k > n {
        return Err(Error::InvalidConfig {
            field: "k",
            reason: format!("must be in 1..={n}, got {}", config.k),
        });
    }
    if !(config.tol.is_finite() && config.tol > 0.0) || config.max_iter == 0 {
        return Err(Error::InvalidConfig {
            field: "tol/max_iter",
            reason: "tol must be finite and > 0, max_iter >= 1".to_owned(),
        });
    }
    let mut found: Vec<EigenEstimate> = Vec::with_capacity(config.k);
    let mut basis: Vec<Vec<f64>> = Vec::with_capacity(config.k);
    for pair in 0..config.k {
        let mut v = start_vector(n, config.seed.wrapping_add(pair as u64));
        orthogonalize(&mut v, &basis);
        normalize(&mut v);
        let mut trace = Vec::new();
        let mut lambda = f64::NAN;
        let mut stop = StopReason::MaxIter;
        let mut av = Vec::new();
        for it in 0..config.max_iter {
            av = op.apply(&v)?;
            orthogonalize(&mut av, &basis);
            let rayleigh = dot(&v, &av);
            if !rayleigh.is_finite() {
                return Err(Error::NonFinite {
                    what: "Rayleigh quotient",
                    step: it,
                });
            }
            trace.push(rayleigh);
            let converged =
                it > 0 && (rayleigh - lambda).abs() <= config.tol * lambda.abs().max(1e-300);
            lambda = rayleigh;
            if converged {
                stop = StopReason::Converged;
                break;
            }
            let mut next = av.clone();
            if normalize(&mut next) == 0.0 {
                // v is in the null space: λ = 0 exactly.
                stop = StopReason::Converged;
                break;
            }
            v = next;
        }
        let residual = norm(
            &av.iter()
                .zip(&v)
                .map(|(a, x)| a - lambda * x)
                .collect::<Vec<_>>(),
        );
        basis.push(v.clone());
        found.push(EigenEstimate {
            value: lambda,
            vector: v,
            applications: trace.len(),
            trace,
            residual,
            stop,
        });
    }
    Ok(found)
}

/// A deterministic pseudo-random start (splitmix64 → uniform(−1, 1)).
pub(crate) fn start_vector(n: usize, seed: u64) -> Vec<f64> {
    let mut state = seed ^ 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|_| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            (z >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operator::DenseOperator;
    use nalgebra::{DMatrix, SymmetricEigen};

    /// Q·diag(λ)·Qᵀ with a random orthogonal Q (QR of a seeded random matrix).
    fn matrix_with_spectrum(eigenvalues: &[f64], seed: u64) -> DMatrix<f64> {
        let n = eigenvalues.len();
        let r = start_vector(n * n, seed);
        let q = DMatrix::from_row_slice(n, n, &r).qr().q();
        &q * DMatrix::from_diagonal(&nalgebra::DVector::from_row_slice(eigenvalues)) * q.transpose()
    }

    fn check_top_k_match_nalgebra(eigenvalues: &[f64], k: usize) {
        let m = matrix_with_spectrum(eigenvalues, 42);
        let n = eigenvalues.len();
        let op = DenseOperator::new(n, m.transpose().as_slice().to_vec()).unwrap();
        let config = PowerIterationConfig {
            k,
            tol: 1e-14,
            max_iter: 20_000,
            seed: 1,
        };
        let found = top_eigenpairs(&op, &config).unwrap();
        let mut exact: Vec<f64> = SymmetricEigen::new(m).eigenvalues.iter().copied().collect();
        exact.sort_by(|a, b| b.abs().total_cmp(&a.abs()));
        for (est, want) in found.iter().zip(&exact) {
            assert!(
                (est.value - want).abs() <= 1e-6 * want.abs(),
                "power iteration {} vs nalgebra {want}",
                est.value
            );
        }
    }

    #[test]
    fn power_iteration_matches_nalgebra_top_k() {
        let spectrum: Vec<f64> = (0..30)
            .map(|i| 10.0 * 0.8f64.powi(i) - 0.05 * f64::from(i))
            .collect();
        check_top_k_match_nalgebra(&spectrum, 5);
    }

    #[test]
    fn power_iteration_reports_negative_dominant_eigenvalue() {
        let mut spectrum: Vec<f64> = (0..20).map(|i| 1.0 / f64::from(i + 1)).collect();
        spectrum[7] = -6.0;
        spectrum[3] = 3.0;
        check_top_k_match_nalgebra(&spectrum, 3);
    }

    #[test]
    fn power_iteration_stops_at_max_iter_and_says_so() {
        let m = matrix_with_spectrum(&[1.0, 0.999, 0.5], 3);
        let op = DenseOperator::new(3, m.as_slice().to_vec()).unwrap();
        let cfg = PowerIterationConfig {
            k: 1,
            tol: 1e-15,
            max_iter: 3,
            seed: 0,
        };
        let found = top_eigenpairs(&op, &cfg).unwrap();
        assert_eq!(found[0].stop, StopReason::MaxIter);
        assert_eq!(found[0].trace.len(), 3);
    }

    #[test]
    fn rejects_bad_k() {
        let op = DenseOperator::new(2, vec![1.0, 0.0, 0.0, 1.0]).unwrap();
        let cfg = PowerIterationConfig {
            k: 3,
            ..PowerIterationConfig::default()
        };
        assert!(
            top_eigenpairs(&op, &cfg)
                .unwrap_err()
                .to_string()
                .contains("1..=2")
        );
    }
}
