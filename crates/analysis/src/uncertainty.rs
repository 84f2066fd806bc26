//! Sampling uncertainty of the κ probes: quantiles over directions, percentile-bootstrap
//! intervals (directions resampled with replacement from a seeded stream), and the scaling of
//! κ with the radius — the small-r behaviour that tells a jump (κ ∝ 1/r) from a plateau.

use advland_data::derive_seed;
use advland_data::random::SplitMix64;
use advland_schema::{KappaScaling, KappaSummary, RadiusProbe};

/// Bootstrap resamples of every interval.
pub const RESAMPLES: usize = 1000;

/// The `q` quantile of `values` (0 ≤ q ≤ 1) by linear interpolation between order statistics
/// (numpy's default, Hyndman–Fan type 7); NaN for no values.
pub fn quantile(values: &[f64], q: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted_quantile(&sorted, q)
}

fn sorted_quantile(sorted: &[f64], q: f64) -> f64 {
    let Some(last) = sorted.len().checked_sub(1) else {
        return f64::NAN;
    };
    let h = q.clamp(0.0, 1.0) * last as f64;
    let i = h.floor() as usize;
    let j = (i + 1).min(last);
    sorted[i] + (h - i as f64) * (sorted[j] - sorted[i])
}

/// Draws of indices into `n` items with replacement, `RESAMPLES` rows of `n`.
fn resamples(n: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut rng = SplitMix64::new(seed);
    (0..RESAMPLES)
        .map(|_| {
            (0..n)
                .map(|_| ((rng.uniform() * n as f64) as usize).min(n - 1))
                .collect()
        })
        .collect()
}

fn interval(mut stats: Vec<f64>) -> [f64; 2] {
    stats.sort_by(f64::total_cmp);
    [
        sorted_quantile(&stats, 0.025),
        sorted_quantile(&stats, 0.975),
    ]
}

/// κ per direction at each radius of `probes`.
fn kappas(probe: &RadiusProbe) -> Vec<f64> {
    probe.secants.iter().map(|s| s.kappa).collect()
}

/// Fills each probe's `summary` (two or more directions), resampling from `seed`.
pub fn summarize(probes: &mut [RadiusProbe], seed: u64) {
    for (i, probe) in probes.iter_mut().enumerate() {
        let k = kappas(probe);
        if k.len() < 2 {
            continue;
        }
        let medians = resamples(k.len(), derive_seed(seed, "kappa-bootstrap", i as u64))
            .iter()
            .map(|draw| quantile(&draw.iter().map(|&j| k[j]).collect::<Vec<_>>(), 0.5))
            .collect();
        probe.summary = Some(KappaSummary {
            median: quantile(&k, 0.5),
            q10: quantile(&k, 0.1),
            q90: quantile(&k, 0.9),
            median_ci: interval(medians),
            resamples: RESAMPLES,
        });
    }
}

/// Least-squares slope of `y` on `x`.
fn slope(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let sxy: f64 = x.iter().zip(y).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = x.iter().map(|a| (a - mx) * (a - mx)).sum();
    sxy / sxx
}

/// The scaling of median κ with r over `probes` (the same directions at every radius), with a
/// bootstrap interval that resamples directions jointly across radii. `None` with fewer than
/// two radii or directions, or a κ of 0 (no logarithm).
pub fn scaling(probes: &[RadiusProbe], seed: u64) -> Option<KappaScaling> {
    let table: Vec<Vec<f64>> = probes.iter().map(kappas).collect();
    let n = table.first()?.len();
    if probes.len() < 2 || n < 2 || table.iter().flatten().any(|&k| !(k > 0.0 && k.is_finite())) {
        return None;
    }
    if table.iter().any(|row| row.len() != n) {
        return None;
    }
    let log_r: Vec<f64> = probes.iter().map(|p| p.radius.ln()).collect();
    let fit = |rows: &[Vec<f64>]| -> f64 {
        let log_k: Vec<f64> = rows.iter().map(|row| quantile(row, 0.5).ln()).collect();
        slope(&log_r, &log_k)
    };
    let slopes = resamples(n, derive_seed(seed, "kappa-scaling-bootstrap", 0))
        .iter()
        .map(|draw| {
            let rows: Vec<Vec<f64>> = table
                .iter()
                .map(|row| draw.iter().map(|&j| row[j]).collect())
                .collect();
            fit(&rows)
        })
        .collect();
    Some(KappaScaling {
        slope: fit(&table),
        slope_ci: interval(slopes),
        radii: probes.len(),
    })
}

#[cfg(test)]
mod tests {
    use advland_schema::Secant;

    use super::*;

    fn probe(radius: f64, kappas: &[f64]) -> RadiusProbe {
        RadiusProbe {
            radius,
            kappa_max: kappas.iter().copied().fold(0.0, f64::max),
            kappa_mean: kappas.iter().sum::<f64>() / kappas.len() as f64,
            secants: kappas
                .iter()
                .map(|&kappa| Secant {
                    distance: radius,
                    kappa,
                    delta_ratio: None,
                    sign_flip_fraction: None,
                })
                .collect(),
            summary: None,
        }
    }

    #[test]
    fn quantiles_interpolate_as_numpy_does() {
        // numpy.quantile([1, 2, 4, 8], [0, .1, .5, .9, 1]) = [1, 1.3, 3, 6.8, 8].
        let v = [8.0, 1.0, 4.0, 2.0];
        for (q, want) in [(0.0, 1.0), (0.1, 1.3), (0.5, 3.0), (0.9, 6.8), (1.0, 8.0)] {
            assert!((quantile(&v, q) - want).abs() < 1e-12, "q{q}");
        }
        assert!(quantile(&[], 0.5).is_nan());
    }

    #[test]
    fn summaries_bracket_the_median_and_need_two_directions() {
        let mut probes = vec![
            probe(0.1, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]),
            probe(0.2, &[3.0]),
        ];
        summarize(&mut probes, 0);
        let s = probes[0].summary.as_ref().unwrap();
        assert_eq!((s.median, s.resamples), (4.0, RESAMPLES));
        assert!(s.median_ci[0] <= 4.0 && 4.0 <= s.median_ci[1] && s.median_ci[0] < s.median_ci[1]);
        assert!((s.q10 - 1.6).abs() < 1e-12 && (s.q90 - 6.4).abs() < 1e-12);
        assert!(probes[1].summary.is_none());
        // Seeded: the same seed gives the same interval.
        let mut again = probes.clone();
        summarize(&mut again, 0);
        assert_eq!(again, probes);
    }

    #[test]
    fn a_jump_scales_like_one_over_r_and_a_plateau_not_at_all() {
        // κ = c/r per direction (a gradient jump of size c): slope −1, every resample too.
        let radii = [1e-4, 1e-3, 1e-2, 1e-1];
        let jump: Vec<RadiusProbe> = radii
            .iter()
            .map(|&r| probe(r, &[1.0 / r, 2.0 / r, 3.0 / r]))
            .collect();
        let s = scaling(&jump, 0).unwrap();
        assert!((s.slope + 1.0).abs() < 1e-9, "{s:?}");
        assert!((s.slope_ci[0] + 1.0).abs() < 1e-9 && (s.slope_ci[1] + 1.0).abs() < 1e-9);
        assert_eq!(s.radii, 4);
        let plateau: Vec<RadiusProbe> = radii.iter().map(|&r| probe(r, &[5.0, 6.0, 7.0])).collect();
        assert!(scaling(&plateau, 0).unwrap().slope.abs() < 1e-12);
        assert!(scaling(&jump[..1], 0).is_none());
        assert!(scaling(&[probe(0.1, &[0.0, 1.0]), probe(0.2, &[1.0, 1.0])], 0).is_none());
    }
}
