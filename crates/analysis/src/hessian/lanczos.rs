//! Lanczos tridiagonalisation with full reorthogonalisation: extreme eigenpairs (top-k, λmin)
//! and the nodes/weights of stochastic Lanczos quadrature.

use nalgebra::{DMatrix, SymmetricEigen};
use serde::{Deserialize, Serialize};

use super::power::start_vector;
use crate::error::{Error, Result};
use crate::operator::LinearOperator;
use crate::vector::{axpy, dot, norm, normalize, orthogonalize};

/// β below this fraction of max‖Aq_j‖ means the Krylov space is (numerically) invariant.
const BREAKDOWN_REL: f64 = 1e-12;

/// Settings of [`lanczos`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LanczosConfig {
    /// Lanczos steps m (operator applications); capped at the operator's dimension
    /// (PyHessian's `iter`, default 80 here).
    pub steps: usize,
    /// Seed of the start vector.
    pub seed: u64,
    /// Stop before `steps` once the top Ritz values settle; `None`: take every step (what
    /// quadrature needs).
    #[serde(default)]
    pub settle: Option<Settle>,
}

impl Default for LanczosConfig {
    fn default() -> Self {
        Self {
            steps: 80,
            seed: 0,
            settle: None,
        }
    }
}

/// When top-k Lanczos may stop early: after a step in which each of the `k` largest Ritz values
/// moved by less than `tol` relative (|θᵢ⁽ʲ⁾ − θᵢ⁽ʲ⁻¹⁾| ≤ tol·|θᵢ⁽ʲ⁻¹⁾|). This is the rule
/// power iteration (and PyHessian) applies to its Rayleigh quotient, applied to Ritz values,
/// which converge to the extreme eigenvalues faster (Kaniel–Paige) and, since they only grow
/// from below, never overshoot. A rule on relative change, like PyHessian's, does not bound
/// the error itself; the report's residual ‖Ay − θy‖ does (|λ − θ| ≤ residual).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settle {
    /// Number of top Ritz values that must settle.
    pub k: usize,
    /// Relative change allowed in the last step.
    pub tol: f64,
}

/// Why a Lanczos run stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LanczosStop {
    /// All `steps` (or n) steps were taken.
    StepLimit,
    /// β_j fell below 1e-12·max‖Aq_i‖: the Krylov space of the start vector is invariant, so
    /// its Ritz values are exact eigenvalues and further steps would add only rounding noise.
    InvariantSubspace,
    /// The top Ritz values settled ([`Settle`]).
    Settled,
}

/// A Ritz pair mapped back to R^n.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RitzPair {
    /// Ritz value θ (signed).
    pub value: f64,
    /// Unit Ritz vector y = Q s in R^n.
    #[serde(skip)]
    pub vector: Vec<f64>,
    /// ‖Ay − θy‖ as the Lanczos relation gives it, β_m·|s_m| (exact up to the loss of
    /// orthogonality, which full reorthogonalisation keeps at rounding level).
    pub residual: f64,
}

/// The outcome of [`lanczos`]: T = tridiag(β, α, β) with AQ = QT + β_m q_{m+1} e_mᵀ.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LanczosResult {
    /// Diagonal α_j = q_jᵀAq_j of T (length m).
    pub alphas: Vec<f64>,
    /// Off-diagonal β_j of T (length m − 1).
    pub betas: Vec<f64>,
    /// β_m = ‖r_m‖, the norm of the residual left after the last step (rounding level on breakdown).
    pub residual_norm: f64,
    /// Eigenvalues of T, ascending.
    pub ritz_values: Vec<f64>,
    /// Squared first components s_{1,i}² of T's unit eigenvectors, aligned with
    /// `ritz_values`; they sum to 1 and are the Gauss quadrature weights of the start
    /// vector's spectral measure (anchors.md §2.2, PyHessian).
    pub weights: Vec<f64>,
    /// Operator applications spent (m).
    pub applications: usize,
    /// Why it stopped.
    pub stop: LanczosStop,
    /// Lanczos vectors q_1..q_m (n×m floats: dropped from reports).
    #[serde(skip)]
    pub basis: Vec<Vec<f64>>,
    /// T's unit eigenvectors s_i (coordinates in the Lanczos basis), aligned with
    /// `ritz_values`.
    #[serde(skip)]
    pub ritz_coordinates: Vec<Vec<f64>>,
}

impl LanczosResult {
    /// The `k` largest Ritz values, signed, descending (fewer if m < k).
    pub fn largest(&self, k: usize) -> Vec<f64> {
        self.ritz_values.iter().rev().take(k).copied().collect()
    }

    /// The smallest Ritz value, an upper bound on λmin(A) that converges from above.
    pub fn smallest(&self) -> f64 {
        // m ≥ 1 is guaranteed by `lanczos`, so the vector is never empty.
        self.ritz_values.first().copied().unwrap_or(f64::NAN)
    }

    /// The Ritz pair with index `i` in ascending order, the vector mapped back as y = Q s_i.
    ///
    /// # Panics
    /// If `i` is out of range.
    pub fn pair(&self, i: usize) -> RitzPair {
        let s = &self.ritz_coordinates[i];
        let n = self.basis.first().map_or(0, Vec::len);
        let mut y = vec![0.0; n];
        for (sj, qj) in s.iter().zip(&self.basis) {
            axpy(*sj, qj, &mut y);
        }
        // Q is orthonormal only to rounding, so renormalise.
        normalize(&mut y);
        let last = s.last().copied().unwrap_or(0.0);
        RitzPair {
            value: self.ritz_values[i],
            vector: y,
            residual: self.residual_norm * last.abs(),
        }
    }

    /// The `k` algebraically largest Ritz pairs, descending (fewer if m < k).
    pub fn top_k(&self, k: usize) -> Vec<RitzPair> {
        let m = self.ritz_values.len();
        (0..k.min(m)).map(|j| self.pair(m - 1 - j)).collect()
    }

    /// The Ritz pair of the smallest Ritz value (the most negative curvature direction).
    pub fn smallest_pair(&self) -> RitzPair {
        self.pair(0)
    }
}

/// m = min(`steps`, n) steps of the Lanczos three-term recurrence from a seeded unit start
/// q_1:
///
/// w = Aq_j − α_j q_j − β_{j−1} q_{j−1},  α_j = q_jᵀAq_j,  β_j = ‖w‖,  q_{j+1} = w/β_j,
///
/// with w orthogonalised against all previous q_i (full reorthogonalisation, as PyHessian's
/// density; anchors.md §2.2, paper.md §3.2 E-B item 5). Without it the q_j lose
/// orthogonality once a Ritz value converges and T acquires spurious copies ("ghosts") of
/// it, which would bias both top-k and the quadrature weights. The price is O(nm) memory.
///
/// Ritz values are the eigenvalues of T; the extreme ones converge first, so a few dozen
/// steps usually pin λmax and λmin even for large n. With m = n they are A's spectrum.
///
/// # Errors
/// `steps` = 0, an operator of dimension 0 or returning vectors of the wrong length,
/// non-finite α/β, or operator failures.
pub fn lanczos(op: &dyn LinearOperator, config: &LanczosConfig) -> Result<LanczosResult> {
    let n = op.dim();
    if config.steps == 0 {
        return Err(Error::InvalidConfig {
            field: "steps",
            reason: "must be >= 1, got 0".to_owned(),
        });
    }
    if n == 0 {
        return Err(Error::InvalidConfig {
            field: "dim",
            reason: "the operator has dimension 0".to_owned(),
        });
    }
    if let Some(settle) = &config.settle
        && (settle.k == 0 || settle.k > n)
    {
        // The same rule as power iteration's: an operator of dimension n has n eigenvalues.
        return Err(Error::InvalidConfig {
            field: "k",
            reason: format!("must be in 1..={n}, got {}", settle.k),
        });
    }
    let m = config.steps.min(n);
    let mut q = start_vector(n, config.seed);
    if normalize(&mut q) == 0.0 {
        // Only possible for n = 1 with an unlucky draw; any unit vector will do.
        q = vec![1.0; n];
        normalize(&mut q);
    }
    let mut basis: Vec<Vec<f64>> = Vec::with_capacity(m);
    let mut alphas = Vec::with_capacity(m);
    let mut betas: Vec<f64> = Vec::with_capacity(m);
    let mut scale = 0.0f64;
    let mut residual_norm = 0.0;
    let mut stop = LanczosStop::StepLimit;
    let mut previous_top: Vec<f64> = Vec::new();
    for j in 0..m {
        let mut w = op.apply(&q)?;
        if w.len() != n {
            return Err(Error::Dimension {
                expected: n,
                got: w.len(),
            });
        }
        scale = scale.max(norm(&w));
        let alpha = dot(&q, &w);
        if !alpha.is_finite() {
            return Err(Error::NonFinite {
                what: "Lanczos alpha",
                step: j,
            });
        }
        axpy(-alpha, &q, &mut w);
        if let (Some(&beta_prev), Some(q_prev)) = (betas.last(), basis.last()) {
            axpy(-beta_prev, q_prev, &mut w);
        }
        basis.push(q);
        alphas.push(alpha);
        // The recurrence already removed q_j, q_{j−1}; this pass removes the rounding
        // drift towards every earlier q_i (and the two latest ones again).
        orthogonalize(&mut w, &basis);
        let beta = norm(&w);
        if !beta.is_finite() {
            return Err(Error::NonFinite {
                what: "Lanczos beta",
                step: j,
            });
        }
        residual_norm = beta;
        if beta <= BREAKDOWN_REL * scale {
            if j + 1 < m {
                stop = LanczosStop::InvariantSubspace;
            }
            break;
        }
        if j + 1 == m {
            break;
        }
        if let Some(rule) = config.settle {
            let top = top_ritz_values(&alphas, &betas, rule.k);
            let moved =
                |(now, before): (&f64, &f64)| (now - before).abs() > rule.tol * before.abs();
            let settled = previous_top.len() == rule.k && !top.iter().zip(&previous_top).any(moved);
            if settled {
                stop = LanczosStop::Settled;
                break;
            }
            previous_top = top;
        }
        betas.push(beta);
        crate::vector::scale(1.0 / beta, &mut w);
        q = w;
    }
    let k = alphas.len();
    let eig = SymmetricEigen::new(tridiagonal(&alphas, &betas));
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&a, &b| eig.eigenvalues[a].total_cmp(&eig.eigenvalues[b]));
    let ritz_values: Vec<f64> = order.iter().map(|&i| eig.eigenvalues[i]).collect();
    let ritz_coordinates: Vec<Vec<f64>> = order
        .iter()
        .map(|&i| eig.eigenvectors.column(i).iter().copied().collect())
        .collect();
    if let Some(step) = ritz_values.iter().position(|v| !v.is_finite()) {
        return Err(Error::NonFinite {
            what: "Ritz value",
            step,
        });
    }
    let weights = ritz_coordinates.iter().map(|s| s[0] * s[0]).collect();
    Ok(LanczosResult {
        alphas,
        betas,
        residual_norm,
        ritz_values,
        weights,
        applications: k,
        stop,
        basis,
        ritz_coordinates,
    })
}

/// The `k` largest eigenvalues of tridiag(β, α, β), descending (fewer if T is smaller).
fn top_ritz_values(alphas: &[f64], betas: &[f64], k: usize) -> Vec<f64> {
    let t = tridiagonal(alphas, betas);
    let mut values: Vec<f64> = t.symmetric_eigenvalues().iter().copied().collect();
    values.sort_by(|a, b| b.total_cmp(a));
    values.truncate(k);
    values
}

/// T = tridiag(β, α, β) as a dense matrix (at most a few hundred rows here).
fn tridiagonal(alphas: &[f64], betas: &[f64]) -> DMatrix<f64> {
    let k = alphas.len();
    DMatrix::from_fn(k, k, |r, c| {
        if r == c {
            alphas[r]
        } else if r + 1 == c {
            betas[r]
        } else if c + 1 == r {
            betas[c]
        } else {
            0.0
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operator::DenseOperator;
    use nalgebra::DVector;

    /// Q·diag(λ)·Qᵀ with a random orthogonal Q (QR of a seeded random matrix).
    fn matrix_with_spectrum(eigenvalues: &[f64], seed: u64) -> DMatrix<f64> {
        let n = eigenvalues.len();
        let q = DMatrix::from_row_slice(n, n, &start_vector(n * n, seed))
            .qr()
            .q();
        &q * DMatrix::from_diagonal(&DVector::from_row_slice(eigenvalues)) * q.transpose()
    }

    fn operator(m: &DMatrix<f64>) -> DenseOperator {
        DenseOperator::new(m.nrows(), m.transpose().as_slice().to_vec()).unwrap()
    }

    fn check_extremes_match_nalgebra(spectrum: &[f64]) {
        let n = spectrum.len();
        let m = matrix_with_spectrum(spectrum, 42);
        let cfg = LanczosConfig {
            steps: n,
            seed: 3,
            settle: None,
        };
        let res = lanczos(&operator(&m), &cfg).unwrap();
        let mut exact: Vec<f64> = SymmetricEigen::new(m.clone())
            .eigenvalues
            .iter()
            .copied()
            .collect();
        exact.sort_by(|a, b| b.total_cmp(a));
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-6 * b.abs().max(1e-12);
        for (got, want) in res.largest(5).iter().zip(&exact) {
            assert!(close(*got, *want), "Lanczos {got} vs nalgebra {want}");
        }
        let lmin = exact[n - 1];
        assert!(close(res.smallest(), lmin), "{} vs {lmin}", res.smallest());
        assert!((res.weights.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        // Ritz vectors are eigenvectors of A: ‖Ay − θy‖ small, and the reported bound agrees.
        let op = operator(&m);
        for pair in res.top_k(5).iter().chain([&res.smallest_pair()]) {
            let ay = op.apply(&pair.vector).unwrap();
            let r: Vec<f64> = ay
                .iter()
                .zip(&pair.vector)
                .map(|(a, y)| a - pair.value * y)
                .collect();
            assert!(
                norm(&r) < 1e-8 * exact[0].abs().max(lmin.abs()),
                "residual {}",
                norm(&r)
            );
            assert!(pair.residual < 1e-8);
        }
    }

    #[test]
    fn lanczos_top5_and_min_match_nalgebra() {
        let spectrum: Vec<f64> = (0..40)
            .map(|i| 10.0 * 0.85f64.powi(i) - 0.1 * f64::from(i))
            .collect();
        check_extremes_match_nalgebra(&spectrum);
    }

    #[test]
    fn lanczos_finds_dominant_negative_eigenvalue_as_min() {
        let mut spectrum: Vec<f64> = (0..40).map(|i| 2.0 / f64::from(i + 1)).collect();
        spectrum[17] = -9.0;
        spectrum[5] = -0.5;
        check_extremes_match_nalgebra(&spectrum);
        let res = lanczos(
            &operator(&matrix_with_spectrum(&spectrum, 42)),
            &LanczosConfig {
                steps: 40,
                seed: 0,
                settle: None,
            },
        )
        .unwrap();
        assert!((res.smallest() + 9.0).abs() < 1e-9);
        assert!((res.largest(1)[0] - 2.0).abs() < 1e-9);
    }

    #[test]
    fn lanczos_settles_on_the_top_k_before_its_step_limit() {
        // A spectrum with a gap at the top, as trained networks' Hessians have: 40 eigenvalues
        // decaying from 10, on a 200-dimensional operator.
        let spectrum: Vec<f64> = (0..200)
            .map(|i| 10.0 * 0.8f64.powi(i) + 0.01 * f64::from(i % 7))
            .collect();
        let m = matrix_with_spectrum(&spectrum, 5);
        let mut exact: Vec<f64> = spectrum.clone();
        exact.sort_by(|a, b| b.total_cmp(a));
        for (k, tol) in [(1, 1e-3), (1, 1e-8), (3, 1e-6)] {
            let settle = Some(Settle { k, tol });
            let cfg = LanczosConfig {
                steps: 200,
                seed: 1,
                settle,
            };
            let res = lanczos(&operator(&m), &cfg).unwrap();
            assert_eq!(res.stop, LanczosStop::Settled, "k {k} tol {tol}");
            assert!(res.applications < 60, "{} steps", res.applications);
            // Every top Ritz value is below its eigenvalue, within the tolerance times a
            // small factor (the last step's change bounds the error only loosely).
            for (got, want) in res.largest(k).iter().zip(&exact) {
                assert!(*got <= want + 1e-9, "{got} above {want}");
                assert!(
                    want - got <= 10.0 * tol * want,
                    "k {k} tol {tol}: {got} vs {want}"
                );
            }
            // Without the rule the same run takes every step.
            let all = lanczos(
                &operator(&m),
                &LanczosConfig {
                    settle: None,
                    ..cfg
                },
            )
            .unwrap();
            assert_eq!(all.applications, 200);
            // Stopping early is the same recurrence cut short.
            assert_eq!(res.alphas[..], all.alphas[..res.applications]);
        }
    }

    #[test]
    fn lanczos_extremes_converge_before_n_steps() {
        // Well-separated extremes: 25 of 60 steps suffice for λmax and λmin.
        let mut spectrum: Vec<f64> = (0..60).map(|i| f64::from(i) / 60.0).collect();
        spectrum[0] = -3.0;
        spectrum[59] = 5.0;
        let m = matrix_with_spectrum(&spectrum, 7);
        let res = lanczos(
            &operator(&m),
            &LanczosConfig {
                steps: 25,
                seed: 1,
                settle: None,
            },
        )
        .unwrap();
        assert_eq!(res.applications, 25);
        assert_eq!(res.stop, LanczosStop::StepLimit);
        assert!((res.largest(1)[0] - 5.0).abs() < 1e-6);
        assert!((res.smallest() + 3.0).abs() < 1e-6);
        // Ritz values interlace inside [λmin, λmax] (Cauchy).
        assert!(
            res.ritz_values
                .iter()
                .all(|&v| (-3.0 - 1e-9..=5.0 + 1e-9).contains(&v))
        );
    }

    #[test]
    fn lanczos_stops_on_invariant_subspace() {
        // Three distinct eigenvalues: the Krylov space of any start is 3-dimensional.
        let diag: Vec<f64> = (0..10).map(|i| [1.0, -2.0, 4.0][i % 3]).collect();
        let m = DMatrix::from_diagonal(&DVector::from_row_slice(&diag));
        let res = lanczos(
            &operator(&m),
            &LanczosConfig {
                steps: 10,
                seed: 5,
                settle: None,
            },
        )
        .unwrap();
        assert_eq!(res.stop, LanczosStop::InvariantSubspace);
        assert_eq!(res.applications, 3);
        assert_eq!(res.betas.len(), 2);
        for (got, want) in res.ritz_values.iter().zip([-2.0, 1.0, 4.0]) {
            assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        }
        assert!((res.weights.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn lanczos_caps_steps_at_dim() {
        let m = matrix_with_spectrum(&[3.0, 1.0, -1.0, 0.5], 2);
        let res = lanczos(
            &operator(&m),
            &LanczosConfig {
                steps: 80,
                seed: 0,
                settle: None,
            },
        )
        .unwrap();
        assert_eq!(res.applications, 4);
        assert_eq!(res.alphas.len(), 4);
        assert_eq!(res.largest(10).len(), 4);
    }

    #[test]
    fn lanczos_rejects_zero_steps_naming_the_field() {
        let op = DenseOperator::new(2, vec![1.0, 0.0, 0.0, 1.0]).unwrap();
        let err = lanczos(
            &op,
            &LanczosConfig {
                steps: 0,
                seed: 0,
                settle: None,
            },
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("steps:"), "{err}");
    }

    #[test]
    fn lanczos_rejects_k_beyond_the_dimension() {
        let op = DenseOperator::new(2, vec![1.0, 0.0, 0.0, 1.0]).unwrap();
        for k in [0, 3] {
            let err = lanczos(
                &op,
                &LanczosConfig {
                    steps: 2,
                    seed: 0,
                    settle: Some(Settle { k, tol: 1e-3 }),
                },
            )
            .unwrap_err();
            assert!(err.to_string().starts_with("k: must be in 1..=2"), "{err}");
        }
    }
}
