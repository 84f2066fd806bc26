//! Distribution summaries of per-example measures.

/// Distribution summary of a per-example measure: the report type itself, so reports need no
/// conversion.
pub use advland_schema::flatness::Distribution as Summary;

use crate::error::{Error, Result};

/// Mean, min, max and quantiles of `values`. Quantile q of the sorted s₀ ≤ … ≤ s_{n−1} is
/// linear interpolation at position q·(n−1) (NumPy's default, R type 7), so the median of an
/// even count is the mean of the two middle values.
///
/// # Errors
/// Empty input, or a NaN/∞ value.
pub fn summarize(values: &[f64]) -> Result<Summary> {
    if values.is_empty() {
        return Err(Error::InvalidConfig {
            field: "values",
            reason: "cannot summarise an empty list".to_owned(),
        });
    }
    if let Some(i) = values.iter().position(|v| !v.is_finite()) {
        return Err(Error::NonFinite {
            what: "summarised value",
            step: i,
        });
    }
    let mut s = values.to_vec();
    s.sort_by(f64::total_cmp);
    let quantile = |q: f64| {
        let pos = q * (s.len() - 1) as f64;
        let lo = pos.floor() as usize;
        let hi = pos.ceil() as usize;
        s[lo] + (pos - lo as f64) * (s[hi] - s[lo])
    };
    Ok(Summary {
        mean: s.iter().sum::<f64>() / s.len() as f64,
        median: quantile(0.5),
        q10: quantile(0.1),
        q90: quantile(0.9),
        min: s[0],
        max: s[s.len() - 1],
    })
}

/// Ranks 1..n with ties given their average rank.
fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut ranks = vec![0.0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        let average = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            ranks[k] = average;
        }
        i = j + 1;
    }
    ranks
}

/// Spearman's rank correlation ρ of two paired samples: Pearson's correlation of their ranks
/// (ties averaged). `None` with fewer than 3 pairs, different lengths, or a constant sample
/// (ρ undefined), so a report never states a correlation it cannot have.
pub fn spearman(a: &[f64], b: &[f64]) -> Option<f64> {
    if a.len() != b.len() || a.len() < 3 {
        return None;
    }
    let (ra, rb) = (ranks(a), ranks(b));
    let n = ra.len() as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let cov: f64 = ra.iter().zip(&rb).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = ra.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = rb.iter().map(|y| (y - mb).powi(2)).sum();
    if va == 0.0 || vb == 0.0 {
        return None;
    }
    Some(cov / (va * vb).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spearman_matches_known_values() {
        assert_eq!(
            spearman(&[1.0, 2.0, 3.0, 4.0], &[10.0, 20.0, 25.0, 100.0]),
            Some(1.0)
        );
        assert_eq!(spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]), Some(-1.0));
        // Ranks a = [1, 2, 3, 4, 5], b = [2, 1, 4, 3, 5]: ρ = 1 − 6·Σd²/(n(n²−1)) = 1 − 24/120.
        let rho = spearman(&[1.0, 2.0, 3.0, 4.0, 5.0], &[2.0, 1.0, 4.0, 3.0, 5.0]).unwrap();
        assert!((rho - 0.8).abs() < 1e-12);
        // Ties take average ranks; a constant sample has no correlation.
        let tied = spearman(&[1.0, 1.0, 2.0], &[1.0, 2.0, 3.0]).unwrap();
        assert!((tied - 0.866_025_403_784_438_6).abs() < 1e-12);
        assert_eq!(spearman(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]), None);
        assert_eq!(spearman(&[1.0, 2.0], &[1.0, 2.0]), None);
    }

    #[test]
    fn summarize_interpolates_quantiles() {
        let odd = summarize(&[5.0, 1.0, 3.0]).unwrap();
        assert_eq!(odd.median, 3.0);
        assert_eq!((odd.min, odd.max, odd.mean), (1.0, 5.0, 3.0));
        // position 0.1·2 = 0.2 between 1 and 3.
        assert!((odd.q10 - 1.4).abs() < 1e-12, "{odd:?}");
        assert!((odd.q90 - 4.6).abs() < 1e-12, "{odd:?}");
        let even = summarize(&[4.0, 1.0, 3.0, 2.0]).unwrap();
        assert_eq!(even.median, 2.5);
        // position 0.9·3 = 2.7 between 3 and 4.
        assert!((even.q90 - 3.7).abs() < 1e-12, "{even:?}");
        let one = summarize(&[7.0]).unwrap();
        assert_eq!((one.q10, one.median, one.q90), (7.0, 7.0, 7.0));
    }

    #[test]
    fn summarize_rejects_empty_and_nan() {
        assert!(matches!(summarize(&[]), Err(Error::InvalidConfig { .. })));
        assert!(matches!(
            summarize(&[1.0, f64::NAN]),
            Err(Error::NonFinite { step: 1, .. })
        ));
    }
}
