//! Symmetric linear operators v ↦ Av, the only thing eigen-solvers see.

use crate::error::{Error, Result};

/// A symmetric linear map on R^n, applied to host vectors (Hessians, input Hessians, test
/// matrices).
pub trait LinearOperator {
    /// n.
    fn dim(&self) -> usize;
    /// Av.
    ///
    /// # Errors
    /// Whatever evaluating the operator can fail with (a model pass, a non-finite value).
    fn apply(&self, v: &[f64]) -> Result<Vec<f64>>;
}

/// A dense symmetric matrix as an operator (tests and small closed-form cases).
#[derive(Clone, Debug)]
pub struct DenseOperator {
    n: usize,
    /// Row-major entries.
    values: Vec<f64>,
}

impl DenseOperator {
    /// From row-major entries of an n×n matrix.
    ///
    /// # Errors
    /// If `values.len() != n*n`.
    pub fn new(n: usize, values: Vec<f64>) -> Result<Self> {
        if values.len() != n * n {
            return Err(Error::Dimension {
                expected: n * n,
                got: values.len(),
            });
        }
        Ok(Self { n, values })
    }
}

impl LinearOperator for DenseOperator {
    fn dim(&self) -> usize {
        self.n
    }
    fn apply(&self, v: &[f64]) -> Result<Vec<f64>> {
        if v.len() != self.n {
            return Err(Error::Dimension {
                expected: self.n,
                got: v.len(),
            });
        }
        Ok(self
            .values
            .chunks_exact(self.n)
            .map(|row| crate::vector::dot(row, v))
            .collect())
    }
}
