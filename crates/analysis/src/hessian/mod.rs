//! Hessian spectra: finite-difference Hessian-vector products and eigen-solvers that only see
//! a [`LinearOperator`](crate::operator::LinearOperator).

mod density;
mod hvp;
mod lanczos;
mod power;
mod trace;

pub use density::{DensityConfig, SpectralDensity, spectral_density};
pub use hvp::FiniteDifferenceHessian;
pub use lanczos::{LanczosConfig, LanczosResult, LanczosStop, RitzPair, Settle, lanczos};
pub use power::{
    EigenEstimate, PowerIterationConfig, StopReason, top_eigenpairs, top_eigenpairs_blocks,
};
pub use trace::{TraceConfig, TraceEstimate, hutchinson_trace};
