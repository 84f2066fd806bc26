//! Hutchinson's stochastic trace estimator with Rademacher probes.

use serde::{Deserialize, Serialize};

use super::power::{StopReason, start_vector};
use crate::error::{Error, Result};
use crate::operator::LinearOperator;
use crate::vector::dot;

/// Two-sided 95% quantile of the standard normal.
const Z95: f64 = 1.959_963_984_540_054;

/// Settings of [`hutchinson_trace`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceConfig {
    /// Sample cap (PyHessian's `maxIter`, default 100).
    pub max_samples: usize,
    /// Stop when the running mean changes by less than `tol` relative to its previous value
    /// (PyHessian's rule, default 1e-3).
    pub tol: f64,
    /// Samples drawn before the stopping rule is consulted (default 10, at least 2 so that a
    /// standard error exists).
    pub min_samples: usize,
    /// Seed of the probe vectors.
    pub seed: u64,
}

impl Default for TraceConfig {
    fn default() -> Self {
        Self {
            max_samples: 100,
            tol: 1e-3,
            min_samples: 10,
            seed: 0,
        }
    }
}

/// The outcome of [`hutchinson_trace`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TraceEstimate {
    /// The estimate tr(A) ≈ (1/k) Σ vᵢᵀAvᵢ.
    pub mean: f64,
    /// s/√k with s the sample standard deviation of the vᵢᵀAvᵢ.
    pub std_error: f64,
    /// mean ∓ 1.96·std_error (normal approximation).
    pub ci95: (f64, f64),
    /// k, the number of probes (= operator applications).
    pub samples: usize,
    /// The running mean after each sample.
    pub trace_of_running_mean: Vec<f64>,
    /// Why it stopped.
    pub stop: StopReason,
}

/// Rademacher probe number `index`: entries ±1 with equal probability, from the same
/// splitmix64 stream as the power-iteration start vectors (sign of a uniform(−1, 1) draw).
fn rademacher(n: usize, seed: u64, index: usize) -> Vec<f64> {
    start_vector(n, seed.wrapping_add(index as u64))
        .into_iter()
        .map(|u| if u < 0.0 { -1.0 } else { 1.0 })
        .collect()
}

/// tr(A) by Hutchinson's estimator, tr(A) = 𝔼 vᵀAv for v with i.i.d. Rademacher entries
/// (anchors.md §2.2, PyHessian `trace`; paper.md §3.2 E-B item 5 for the curvature it
/// summarises).
///
/// Probes are drawn until the running mean μ_k changes by at most `tol`·|μ_{k−1}| once
/// k ≥ `min_samples`, or until `max_samples`. That rule is PyHessian's; it only says the
/// mean has stopped moving (the change of μ_k shrinks like 1/k whatever the variance), so
/// `std_error` and `ci95` are the honest uncertainty. The Rademacher variance is
/// 2 Σ_{i≠j} A_ij², the smallest of any i.i.d. probe distribution, and zero for a diagonal A.
///
/// # Errors
/// `min_samples` < 2, `max_samples` < `min_samples`, `tol` not finite and ≥ 0, an operator
/// returning vectors of the wrong length, a non-finite vᵀAv, or operator failures.
pub fn hutchinson_trace(op: &dyn LinearOperator, config: &TraceConfig) -> Result<TraceEstimate> {
    if config.min_samples < 2 {
        return Err(Error::InvalidConfig {
            field: "min_samples",
            reason: format!(
                "must be >= 2 for a standard error, got {}",
                config.min_samples
            ),
        });
    }
    if config.max_samples < config.min_samples {
        return Err(Error::InvalidConfig {
            field: "max_samples",
            reason: format!(
                "must be >= min_samples = {}, got {}",
                config.min_samples, config.max_samples
            ),
        });
    }
    if !(config.tol.is_finite() && config.tol >= 0.0) {
        return Err(Error::InvalidConfig {
            field: "tol",
            reason: format!("must be finite and >= 0, got {}", config.tol),
        });
    }
    let n = op.dim();
    let mut running = Vec::with_capacity(config.max_samples);
    // Welford's update keeps the variance accurate when the samples share a large offset.
    let (mut mean, mut m2) = (0.0f64, 0.0f64);
    let mut stop = StopReason::MaxIter;
    for i in 0..config.max_samples {
        let v = rademacher(n, config.seed, i);
        let av = op.apply(&v)?;
        if av.len() != n {
            return Err(Error::Dimension {
                expected: n,
                got: av.len(),
            });
        }
        let z = dot(&v, &av);
        if !z.is_finite() {
            return Err(Error::NonFinite {
                what: "Hutchinson sample v^T A v",
                step: i,
            });
        }
        let previous = mean;
        let k = (i + 1) as f64;
        let delta = z - mean;
        mean += delta / k;
        m2 += delta * (z - mean);
        running.push(mean);
        if i + 1 >= config.min_samples && (mean - previous).abs() <= config.tol * previous.abs() {
            stop = StopReason::Converged;
            break;
        }
    }
    let samples = running.len();
    let k = samples as f64;
    let std_error = (m2 / (k - 1.0)).max(0.0).sqrt() / k.sqrt();
    if !(mean.is_finite() && std_error.is_finite()) {
        return Err(Error::NonFinite {
            what: "Hutchinson mean / standard error",
            step: samples,
        });
    }
    Ok(TraceEstimate {
        mean,
        std_error,
        ci95: (mean - Z95 * std_error, mean + Z95 * std_error),
        samples,
        trace_of_running_mean: running,
        stop,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operator::DenseOperator;

    fn diagonal(d: &[f64]) -> DenseOperator {
        let n = d.len();
        let mut a = vec![0.0; n * n];
        for (i, di) in d.iter().enumerate() {
            a[i * n + i] = *di;
        }
        DenseOperator::new(n, a).unwrap()
    }

    #[test]
    fn hutchinson_is_exact_on_a_diagonal_operator() {
        // vᵀDv = Σ d_i v_i² = Σ d_i = tr D for every ±1 vector.
        let d: Vec<f64> = (0..25).map(|i| f64::from(i) * 0.37 - 3.0).collect();
        let exact: f64 = d.iter().sum();
        for seed in 0..5 {
            let cfg = TraceConfig {
                seed,
                ..TraceConfig::default()
            };
            let est = hutchinson_trace(&diagonal(&d), &cfg).unwrap();
            assert!((est.mean - exact).abs() < 1e-12, "{} vs {exact}", est.mean);
            assert!(est.std_error < 1e-12);
            assert_eq!(est.samples, cfg.min_samples);
            assert_eq!(est.stop, StopReason::Converged);
        }
    }

    #[test]
    fn hutchinson_mean_within_four_std_errors_on_a_dense_matrix() {
        let n = 30;
        let r = start_vector(n * n, 11);
        // Symmetrise a random matrix and add a diagonal shift so tr A is far from 0.
        let a: Vec<f64> = (0..n * n)
            .map(|idx| {
                let (i, j) = (idx / n, idx % n);
                0.5 * (r[i * n + j] + r[j * n + i]) + if i == j { 2.0 } else { 0.0 }
            })
            .collect();
        let exact: f64 = (0..n).map(|i| a[i * n + i]).sum();
        let op = DenseOperator::new(n, a).unwrap();
        for seed in 0..4 {
            let cfg = TraceConfig {
                max_samples: 400,
                tol: 1e-4,
                min_samples: 50,
                seed,
            };
            let est = hutchinson_trace(&op, &cfg).unwrap();
            assert!(est.std_error > 0.0);
            assert!(
                (est.mean - exact).abs() <= 4.0 * est.std_error,
                "seed {seed}: {} ± {} vs {exact}",
                est.mean,
                est.std_error
            );
            assert!(est.ci95.0 < est.mean && est.mean < est.ci95.1);
            assert_eq!(est.trace_of_running_mean.len(), est.samples);
        }
    }

    #[test]
    fn hutchinson_stops_at_max_samples_and_says_so() {
        let op = DenseOperator::new(2, vec![1.0, 3.0, 3.0, -2.0]).unwrap();
        let cfg = TraceConfig {
            max_samples: 7,
            tol: 0.0,
            min_samples: 2,
            seed: 0,
        };
        let est = hutchinson_trace(&op, &cfg).unwrap();
        assert_eq!(est.stop, StopReason::MaxIter);
        assert_eq!(est.samples, 7);
    }

    struct NanOperator;
    impl LinearOperator for NanOperator {
        fn dim(&self) -> usize {
            3
        }
        fn apply(&self, v: &[f64]) -> Result<Vec<f64>> {
            Ok(vec![f64::NAN; v.len()])
        }
    }

    #[test]
    fn hutchinson_rejects_non_finite_samples() {
        let err = hutchinson_trace(&NanOperator, &TraceConfig::default()).unwrap_err();
        assert!(matches!(err, Error::NonFinite { step: 0, .. }), "{err}");
    }

    #[test]
    fn hutchinson_rejects_bad_sample_counts_naming_the_field() {
        let op = diagonal(&[1.0, 2.0]);
        let few = TraceConfig {
            min_samples: 1,
            ..TraceConfig::default()
        };
        let err = hutchinson_trace(&op, &few).unwrap_err().to_string();
        assert!(err.starts_with("min_samples:"), "{err}");
        let capped = TraceConfig {
            max_samples: 5,
            ..TraceConfig::default()
        };
        let err = hutchinson_trace(&op, &capped).unwrap_err().to_string();
        assert!(err.starts_with("max_samples:"), "{err}");
    }
}
