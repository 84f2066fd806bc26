//! Top-k eigenpairs of a symmetric operator by power iteration with deflation, for one operator
//! or for a batch of independent blocks in lockstep.

use advland_data::random::SplitMix64;
pub use advland_schema::StopReason;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::operator::{BlockOperator, LinearOperator};
use crate::vector::{dot, norm, normalize, orthogonalize};

/// Settings of [`top_eigenpairs`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PowerIterationConfig {
    /// Number of eigenpairs.
    pub k: usize,
    /// Stop when the Rayleigh quotient changes by less than `tol` relative to its size
    /// (PyHessian's rule; default 1e-3); 0 runs `max_iter` iterations unless it repeats exactly.
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
    let mut blocks = top_eigenpairs_blocks(&OneBlock(op), config)?;
    Ok(blocks.pop().expect("one block in, one block out"))
}

/// A [`LinearOperator`] as the single block of a [`BlockOperator`].
struct OneBlock<'a>(&'a dyn LinearOperator);

impl BlockOperator for OneBlock<'_> {
    fn blocks(&self) -> usize {
        1
    }
    fn block_dim(&self) -> usize {
        self.0.dim()
    }
    fn apply_blocks(&self, v: &[f64], _step: usize) -> Result<Vec<f64>> {
        self.0.apply(v)
    }
}

/// Power iteration in one block while it runs.
struct BlockState {
    trace: Vec<f64>,
    lambda: f64,
    stop: StopReason,
    running: bool,
    av: Vec<f64>,
}

/// [`top_eigenpairs`] of every block of `op` in lockstep: `out[n]` holds the `k` eigenpairs of
/// largest |λ| of block n, found one after another, each block deflated against its own
/// earlier pairs. All blocks share each application of `op` (one batched model pass for the
/// per-example input Hessians of a batch); a block that has converged keeps its vector while
/// the others go on. Block n starts from its slice of one seeded vector of length b·d, so one
/// block starts exactly as [`top_eigenpairs`] does.
///
/// # Errors
/// Bad settings (`k` outside `1..=d`, a negative or non-finite `tol`, `max_iter` = 0),
/// non-finite Rayleigh quotients, or operator failures.
pub fn top_eigenpairs_blocks(
    op: &dyn BlockOperator,
    config: &PowerIterationConfig,
) -> Result<Vec<Vec<EigenEstimate>>> {
    let (b, d) = (op.blocks(), op.block_dim());
    if config.k == 0 || config.k > d {
        return Err(Error::InvalidConfig {
            field: "k",
            reason: format!("must be in 1..={d}, got {}", config.k),
        });
    }
    if !(config.tol.is_finite() && config.tol >= 0.0) || config.max_iter == 0 {
        return Err(Error::InvalidConfig {
            field: "tol/max_iter",
            reason: "tol must be finite and >= 0, max_iter >= 1".to_owned(),
        });
    }
    let mut found: Vec<Vec<EigenEstimate>> = vec![Vec::with_capacity(config.k); b];
    let mut bases: Vec<Vec<Vec<f64>>> = vec![Vec::with_capacity(config.k); b];
    let mut applications = 0;
    for pair in 0..config.k {
        let mut v = start_vector(b * d, config.seed.wrapping_add(pair as u64));
        for (block, basis) in v.chunks_exact_mut(d).zip(&bases) {
            orthogonalize(block, basis);
            normalize(block);
        }
        let mut states: Vec<BlockState> = (0..b)
            .map(|_| BlockState {
                trace: Vec::new(),
                lambda: f64::NAN,
                stop: StopReason::MaxIter,
                running: true,
                av: Vec::new(),
            })
            .collect();
        for it in 0..config.max_iter {
            if !states.iter().any(|s| s.running) {
                break;
            }
            let av_all = op.apply_blocks(&v, applications)?;
            applications += 1;
            if av_all.len() != b * d {
                return Err(Error::Dimension {
                    expected: b * d,
                    got: av_all.len(),
                });
            }
            for (n, state) in states.iter_mut().enumerate() {
                if !state.running {
                    continue;
                }
                let vn = &mut v[n * d..(n + 1) * d];
                let mut av = av_all[n * d..(n + 1) * d].to_vec();
                orthogonalize(&mut av, &bases[n]);
                let rayleigh = dot(vn, &av);
                if !rayleigh.is_finite() {
                    return Err(Error::NonFinite {
                        what: "Rayleigh quotient",
                        step: it,
                    });
                }
                state.trace.push(rayleigh);
                let converged = it > 0
                    && (rayleigh - state.lambda).abs()
                        <= config.tol * state.lambda.abs().max(1e-300);
                state.lambda = rayleigh;
                let mut next = av.clone();
                state.av = av;
                if converged {
                    state.stop = StopReason::Converged;
                    state.running = false;
                } else if normalize(&mut next) == 0.0 {
                    // v is in the null space: λ = 0 exactly.
                    state.stop = StopReason::Converged;
                    state.running = false;
                } else {
                    vn.copy_from_slice(&next);
                }
            }
        }
        for (n, state) in states.into_iter().enumerate() {
            let vn = v[n * d..(n + 1) * d].to_vec();
            let residual = norm(
                &state
                    .av
                    .iter()
                    .zip(&vn)
                    .map(|(a, x)| a - state.lambda * x)
                    .collect::<Vec<_>>(),
            );
            bases[n].push(vn.clone());
            found[n].push(EigenEstimate {
                value: state.lambda,
                vector: vn,
                applications: state.trace.len(),
                trace: state.trace,
                residual,
                stop: state.stop,
            });
        }
    }
    Ok(found)
}

/// A deterministic pseudo-random start (splitmix64 → uniform(−1, 1)).
pub(crate) fn start_vector(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = SplitMix64::new(seed ^ 0x9E37_79B9_7F4A_7C15);
    (0..n).map(|_| rng.symmetric()).collect()
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

    /// Dense blocks applied together, as the batched input Hessian is.
    struct DenseBlocks(Vec<DMatrix<f64>>);

    impl BlockOperator for DenseBlocks {
        fn blocks(&self) -> usize {
            self.0.len()
        }
        fn block_dim(&self) -> usize {
            self.0[0].nrows()
        }
        fn apply_blocks(&self, v: &[f64], _step: usize) -> Result<Vec<f64>> {
            let d = self.block_dim();
            Ok(self
                .0
                .iter()
                .zip(v.chunks_exact(d))
                .flat_map(|(m, x)| {
                    (m * nalgebra::DVector::from_column_slice(x))
                        .data
                        .as_vec()
                        .clone()
                })
                .collect())
        }
    }

    #[test]
    fn lockstep_blocks_match_nalgebra_per_block() {
        let spectra: [Vec<f64>; 3] = [
            (0..12).map(|i| 4.0 * 0.7f64.powi(i)).collect(),
            (0..12)
                .map(|i| if i == 5 { -9.0 } else { 1.0 / f64::from(i + 1) })
                .collect(),
            // Rank one: deflation leaves the zero operator, whose pairs stop at once.
            (0..12).map(|i| if i == 0 { 2.5 } else { 0.0 }).collect(),
        ];
        let blocks: Vec<DMatrix<f64>> = spectra
            .iter()
            .enumerate()
            .map(|(n, s)| matrix_with_spectrum(s, 10 + n as u64))
            .collect();
        let config = PowerIterationConfig {
            k: 3,
            tol: 1e-13,
            max_iter: 5_000,
            seed: 4,
        };
        let found = top_eigenpairs_blocks(&DenseBlocks(blocks.clone()), &config).unwrap();
        assert_eq!(found.len(), 3);
        for ((pairs, spectrum), m) in found.iter().zip(&spectra).zip(&blocks) {
            let mut exact = spectrum.clone();
            exact.sort_by(|a, b| b.abs().total_cmp(&a.abs()));
            for (est, want) in pairs.iter().zip(&exact) {
                assert!(
                    (est.value - want).abs() <= 1e-6 * want.abs().max(1e-9),
                    "lockstep {} vs {want}",
                    est.value
                );
            }
            // Each block's vectors are orthonormal eigenvectors of that block.
            let v0 = nalgebra::DVector::from_column_slice(&pairs[0].vector);
            assert!(((m * &v0).norm() - exact[0].abs()).abs() < 1e-5);
        }
        // One block in lockstep is exactly the single-operator solver.
        let single = DenseOperator::new(12, blocks[1].transpose().as_slice().to_vec()).unwrap();
        let one = top_eigenpairs(&single, &config).unwrap();
        let lock = top_eigenpairs_blocks(&DenseBlocks(vec![blocks[1].clone()]), &config).unwrap();
        assert_eq!(one, lock[0]);
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
