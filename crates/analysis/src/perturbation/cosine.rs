//! Pairwise cosine similarities of per-example vectors.

use advland_schema::perturbation::CosineStats;

use super::super::flatness::summarize;
use crate::error::{Error, Result};
use crate::vector::{dot, norm};

/// cos(vᵢ, vⱼ) = ⟨vᵢ, vⱼ⟩ / (‖vᵢ‖‖vⱼ‖) over all pairs i < j of the rows of `rows` (each
/// `dim` long), summarised; rows of zero norm have no direction and are left out (counted).
///
/// # Errors
/// Fewer than two rows of nonzero norm (named as the setting `field` that decides the rows),
/// non-finite values.
pub fn cosine_stats(rows: &[f64], dim: usize, field: &'static str) -> Result<CosineStats> {
    let vectors: Vec<&[f64]> = rows.chunks_exact(dim.max(1)).collect();
    let norms: Vec<f64> = vectors.iter().map(|v| norm(v)).collect();
    let kept: Vec<(&[f64], f64)> = vectors
        .iter()
        .zip(&norms)
        .filter(|(_, n)| **n > 0.0)
        .map(|(v, n)| (*v, *n))
        .collect();
    if kept.len() < 2 {
        return Err(Error::InvalidConfig {
            field,
            reason: format!(
                "cosine similarities need two vectors of nonzero norm, got {}",
                kept.len()
            ),
        });
    }
    let mut cosines = Vec::with_capacity(kept.len() * (kept.len() - 1) / 2);
    for (i, (a, na)) in kept.iter().enumerate() {
        for (b, nb) in &kept[i + 1..] {
            cosines.push(dot(a, b) / (na * nb));
        }
    }
    let pairwise = summarize(&cosines)?;
    Ok(CosineStats {
        vectors: kept.len(),
        zero_vectors: vectors.len() - kept.len(),
        mean: pairwise.mean,
        pairwise,
        mean_norm: norms.iter().sum::<f64>() / norms.len() as f64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::DMatrix;

    /// The cosine matrix VVᵀ of the row-normalised V, averaged off the diagonal.
    fn dense_mean(rows: &[f64], n: usize, dim: usize) -> f64 {
        let mut v = DMatrix::from_row_slice(n, dim, rows);
        for mut row in v.row_iter_mut() {
            let norm = row.norm();
            row /= norm;
        }
        let gram = &v * v.transpose();
        let off: f64 = gram.sum() - gram.trace();
        off / (n * (n - 1)) as f64
    }

    #[test]
    fn cosine_mean_matches_a_dense_gram_matrix() {
        let (n, dim) = (7, 5);
        let rows: Vec<f64> = (0..n * dim)
            .map(|i| ((i * 37 % 11) as f64 - 5.0) / 3.0)
            .collect();
        let stats = cosine_stats(&rows, dim, "rows").unwrap();
        assert_eq!(stats.vectors, n);
        assert!((stats.mean - dense_mean(&rows, n, dim)).abs() < 1e-12);
        assert!(stats.pairwise.min >= -1.0 && stats.pairwise.max <= 1.0);
    }

    #[test]
    fn zero_rows_are_left_out_and_parallel_rows_give_one() {
        let rows = [1.0, 2.0, 0.0, 0.0, 2.0, 4.0, -3.0, -6.0];
        let stats = cosine_stats(&rows, 2, "rows").unwrap();
        assert_eq!((stats.vectors, stats.zero_vectors), (3, 1));
        // Pairs: (a, 2a) = 1, (a, −3a) = −1, (2a, −3a) = −1.
        assert!((stats.mean + 1.0 / 3.0).abs() < 1e-12);
        assert!(cosine_stats(&rows[..4], 2, "rows").is_err());
    }
}
