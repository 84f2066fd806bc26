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

/// b independent symmetric linear maps on R^d applied together to a block-major vector
/// `[v_1; …; v_b]` (`[b·d]`): the per-example input Hessians of a batch, where one batched model
/// pass serves every example. Block eigen-solvers
/// ([`top_eigenpairs_blocks`](crate::hessian::top_eigenpairs_blocks)) see only this trait.
pub trait BlockOperator {
    /// b.
    fn blocks(&self) -> usize;
    /// d.
    fn block_dim(&self) -> usize;
    /// `[A_1 v_1; …; A_b v_b]`; `step` labels a failure (e.g. which iteration went non-finite).
    ///
    /// # Errors
    /// Whatever evaluating the operators can fail with.
    fn apply_blocks(&self, v: &[f64], step: usize) -> Result<Vec<f64>>;
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
