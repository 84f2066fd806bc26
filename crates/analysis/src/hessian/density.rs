//! Eigenvalue spectral density by stochastic Lanczos quadrature (SLQ).

use serde::{Deserialize, Serialize};

use super::lanczos::{LanczosConfig, lanczos};
use crate::error::{Error, Result};
use crate::operator::LinearOperator;

/// Half-width of the padding around the nodes, in Gaussian widths: the mass of a Gaussian
/// beyond 5σ is 6e-7, so the normalisation barely rescales the interior.
const PAD_SIGMAS: f64 = 5.0;

/// Settings of [`spectral_density`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DensityConfig {
    /// Lanczos steps per probe, capped at the operator's dimension (PyHessian's `iter`;
    /// default 80).
    pub steps: usize,
    /// Independent start vectors (PyHessian's `n_v`; default 1).
    pub probes: usize,
    /// Gaussian width relative to the node range: σ = `sigma_rel`·(θ_max − θ_min)
    /// (default 1e-2). PyHessian's plot uses σ² = 1e-5·(θ_max − θ_min) instead, which is
    /// not scale-invariant.
    pub sigma_rel: f64,
    /// Number of evenly spaced grid points (default 1000).
    pub grid: usize,
    /// Seed; probe p uses Lanczos seed `seed + p`.
    pub seed: u64,
}

impl Default for DensityConfig {
    fn default() -> Self {
        Self {
            steps: 80,
            probes: 1,
            sigma_rel: 1e-2,
            grid: 1000,
            seed: 0,
        }
    }
}

/// The outcome of [`spectral_density`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpectralDensity {
    /// Ritz values θ_{p,i} of each probe p, ascending.
    pub nodes: Vec<Vec<f64>>,
    /// Quadrature weights w_{p,i} of each probe (each row sums to 1).
    pub weights: Vec<Vec<f64>>,
    /// Grid points t_g, evenly spaced over [min θ − 5σ, max θ + 5σ].
    pub grid: Vec<f64>,
    /// ρ(t_g), integrating to 1 by the trapezoid rule on `grid`.
    pub density: Vec<f64>,
    /// The Gaussian width σ used.
    pub sigma: f64,
    /// Operator applications over all probes.
    pub applications: usize,
}

impl SpectralDensity {
    /// The quadrature estimate of the fraction of eigenvalues below `t`,
    /// (1/P) Σ_p Σ_{θ_{p,i} < t} w_{p,i}, without the broadening (e.g. t = 0: the share of
    /// negative curvature).
    pub fn fraction_below(&self, t: f64) -> f64 {
        let total: f64 = self
            .nodes
            .iter()
            .zip(&self.weights)
            .flat_map(|(n, w)| n.iter().zip(w))
            .filter(|(theta, _)| **theta < t)
            .map(|(_, w)| w)
            .sum();
        total / self.nodes.len().max(1) as f64
    }
}

/// The spectral density ρ(t) = (1/n) Σ_k δ(t − λ_k) of a symmetric operator by SLQ
/// (anchors.md §2.2, PyHessian `density`; paper.md §3.2 E-B item 5).
///
/// For a unit start vector q, qᵀ f(A) q = Σ_k (qᵀu_k)² f(λ_k) is a Stieltjes integral whose
/// m-point Gauss quadrature has as nodes the Ritz values θ_i of m Lanczos steps from q and as
/// weights the squared first components s_{1,i}² of T's eigenvectors. For a random q,
/// E[(qᵀu_k)²] = 1/n, so averaging P probes estimates ρ. Each node is broadened into a
/// Gaussian:
///
/// ρ(t) ≈ (1/P) Σ_p Σ_i w_{p,i} · exp(−(t − θ_{p,i})²/2σ²) / (σ√(2π)),
/// σ = `sigma_rel`·(θ_max − θ_min) over all probes (the range is replaced by max(|θ|, 1)
/// when all nodes coincide), then rescaled so its trapezoid integral on the grid is 1.
///
/// # Errors
/// `steps`, `probes` = 0, `grid` < 2, `sigma_rel` not finite and > 0, and whatever
/// [`lanczos`] returns.
pub fn spectral_density(
    op: &dyn LinearOperator,
    config: &DensityConfig,
) -> Result<SpectralDensity> {
    let invalid = |field: &'static str, reason: String| Error::InvalidConfig { field, reason };
    if config.steps == 0 {
        return Err(invalid("steps", "must be >= 1, got 0".to_owned()));
    }
    if config.probes == 0 {
        return Err(invalid("probes", "must be >= 1, got 0".to_owned()));
    }
    if config.grid < 2 {
        return Err(invalid(
            "grid",
            format!("must be >= 2, got {}", config.grid),
        ));
    }
    if !(config.sigma_rel.is_finite() && config.sigma_rel > 0.0) {
        return Err(invalid(
            "sigma_rel",
            format!("must be finite and > 0, got {}", config.sigma_rel),
        ));
    }
    let mut nodes = Vec::with_capacity(config.probes);
    let mut weights = Vec::with_capacity(config.probes);
    let mut applications = 0;
    for p in 0..config.probes {
        let run = lanczos(
            op,
            &LanczosConfig {
                steps: config.steps,
                seed: config.seed.wrapping_add(p as u64),
                settle: None,
            },
        )?;
        applications += run.applications;
        nodes.push(run.ritz_values);
        weights.push(run.weights);
    }
    let all = nodes.iter().flatten().copied();
    let lo = all.clone().fold(f64::INFINITY, f64::min);
    let hi = all.fold(f64::NEG_INFINITY, f64::max);
    let range = if hi > lo { hi - lo } else { hi.abs().max(1.0) };
    let sigma = config.sigma_rel * range;
    let (start, end) = (lo - PAD_SIGMAS * sigma, hi + PAD_SIGMAS * sigma);
    let dt = (end - start) / (config.grid - 1) as f64;
    let grid: Vec<f64> = (0..config.grid).map(|g| start + g as f64 * dt).collect();
    let norm_const = 1.0 / (sigma * (2.0 * std::f64::consts::PI).sqrt() * config.probes as f64);
    let mut density: Vec<f64> = grid
        .iter()
        .map(|&t| {
            nodes
                .iter()
                .zip(&weights)
                .flat_map(|(n, w)| n.iter().zip(w))
                .map(|(theta, w)| {
                    let z = (t - theta) / sigma;
                    w * (-0.5 * z * z).exp()
                })
                .sum::<f64>()
                * norm_const
        })
        .collect();
    // The analytic mass is already ≈ 1; the trapezoid rescaling makes ρ an exact probability
    // density on this grid even when σ is too narrow for the grid to resolve.
    let mass = trapezoid(&density, dt);
    if !(mass.is_finite() && mass > 0.0) {
        return Err(Error::NonFinite {
            what: "spectral density mass",
            step: config.probes,
        });
    }
    crate::vector::scale(1.0 / mass, &mut density);
    Ok(SpectralDensity {
        nodes,
        weights,
        grid,
        density,
        sigma,
        applications,
    })
}

/// ∫ y dt on an evenly spaced grid with spacing `dt`.
fn trapezoid(y: &[f64], dt: f64) -> f64 {
    let inner: f64 = y.iter().sum();
    let ends = y.first().copied().unwrap_or(0.0) + y.last().copied().unwrap_or(0.0);
    dt * (inner - 0.5 * ends)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hessian::power::start_vector;
    use crate::operator::DenseOperator;
    use nalgebra::{DMatrix, DVector};

    fn operator_with_spectrum(eigenvalues: &[f64], seed: u64) -> DenseOperator {
        let n = eigenvalues.len();
        let q = DMatrix::from_row_slice(n, n, &start_vector(n * n, seed))
            .qr()
            .q();
        let m = &q * DMatrix::from_diagonal(&DVector::from_row_slice(eigenvalues)) * q.transpose();
        DenseOperator::new(n, m.transpose().as_slice().to_vec()).unwrap()
    }

    #[test]
    fn density_puts_quarter_of_mass_on_the_minority_eigenvalue() {
        // Spectrum {−1 ×10, 2 ×30}: ρ = ¼δ(t+1) + ¾δ(t−2), so the mass left of 0.5 is ¼.
        let spectrum: Vec<f64> = (0..40).map(|i| if i < 10 { -1.0 } else { 2.0 }).collect();
        let op = operator_with_spectrum(&spectrum, 9);
        let cfg = DensityConfig {
            steps: 40,
            probes: 20,
            ..DensityConfig::default()
        };
        let d = spectral_density(&op, &cfg).unwrap();
        let dt = d.grid[1] - d.grid[0];
        assert!((trapezoid(&d.density, dt) - 1.0).abs() < 1e-12);
        let left = d.grid.iter().take_while(|t| **t < 0.5).count();
        let mass_left = trapezoid(&d.density[..left], dt);
        assert!(
            (mass_left - 0.25).abs() < 0.05,
            "mass left of 0.5: {mass_left}"
        );
        assert!((d.fraction_below(0.5) - 0.25).abs() < 0.05);
        // Two distinct eigenvalues: every probe's Krylov space is 2-dimensional.
        for (n, w) in d.nodes.iter().zip(&d.weights) {
            assert_eq!(n.len(), 2);
            assert!(
                (n[0] + 1.0).abs() < 1e-10 && (n[1] - 2.0).abs() < 1e-10,
                "{n:?}"
            );
            assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
        assert!((d.sigma - 0.03).abs() < 1e-9);
        assert_eq!(d.grid.len(), 1000);
        assert_eq!(d.applications, 40);
    }

    #[test]
    fn density_peaks_at_the_eigenvalues() {
        let op = operator_with_spectrum(&[-3.0, -3.0, 0.5, 4.0, 4.0, 4.0], 1);
        let d = spectral_density(&op, &DensityConfig::default()).unwrap();
        let at = |t: f64| {
            let i = d.grid.iter().position(|g| *g >= t).unwrap();
            d.density[i]
        };
        for (peak, gap) in [(-3.0, -1.25), (0.5, 2.25), (4.0, 2.25)] {
            assert!(
                at(peak) > 100.0 * at(gap),
                "ρ({peak}) = {} vs ρ({gap}) = {}",
                at(peak),
                at(gap)
            );
        }
    }

    #[test]
    fn density_rejects_zero_steps_and_probes_naming_the_field() {
        let op = DenseOperator::new(2, vec![1.0, 0.0, 0.0, 1.0]).unwrap();
        for (cfg, field) in [
            (
                DensityConfig {
                    steps: 0,
                    ..DensityConfig::default()
                },
                "steps:",
            ),
            (
                DensityConfig {
                    probes: 0,
                    ..DensityConfig::default()
                },
                "probes:",
            ),
            (
                DensityConfig {
                    grid: 1,
                    ..DensityConfig::default()
                },
                "grid:",
            ),
            (
                DensityConfig {
                    sigma_rel: 0.0,
                    ..DensityConfig::default()
                },
                "sigma_rel:",
            ),
        ] {
            let err = spectral_density(&op, &cfg).unwrap_err().to_string();
            assert!(err.starts_with(field), "{err}");
        }
    }

    #[test]
    fn density_of_a_multiple_of_identity_is_one_centred_bump() {
        let op = DenseOperator::new(2, vec![3.0, 0.0, 0.0, 3.0]).unwrap();
        let d = spectral_density(&op, &DensityConfig::default()).unwrap();
        assert_eq!(d.nodes[0].len(), 1);
        assert!((d.sigma - 0.03).abs() < 1e-12);
        // The first moment of a symmetric bump on a symmetric grid is its centre.
        let t_rho: Vec<f64> = d.grid.iter().zip(&d.density).map(|(t, r)| t * r).collect();
        let mean = trapezoid(&t_rho, d.grid[1] - d.grid[0]);
        assert!((mean - 3.0).abs() < 1e-9, "{mean}");
    }
}
