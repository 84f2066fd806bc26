//! Hessian spectra: finite-difference Hessian-vector products and eigen-solvers that only see
//! a [`LinearOperator`](crate::operator::LinearOperator).

mod hvp;
mod power;

pub use hvp::FiniteDifferenceHessian;
pub use power::{EigenEstimate, PowerIterationConfig, StopReason, top_eigenpairs};
