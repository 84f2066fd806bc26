//! Measurement of advland models: the maths of paper.md §2–§3 as estimators over two
//! abstractions.
//!
//! - [`Objective`]: a scalar f(θ) with its gradient on a fixed data subset
//!   ([`ObjectiveKind`]: clean, adversarial with δ*(θ) re-solved at every θ, or the
//!   frozen-attack ablation), plus closed-form cases ([`objective::Quadratic`]);
//! - [`LinearOperator`]: v ↦ Av, e.g. the [`hessian::FiniteDifferenceHessian`] of an
//!   objective. Eigen-solvers ([`hessian::top_eigenpairs`]) only see this trait, so they are
//!   tested on dense matrices against nalgebra.
//!
//! Vectors are host `f64` slices ([`vector`]); analysis never mutates a caller's model.
//!
//! ```
//! use advland_analysis::hessian::{FiniteDifferenceHessian, PowerIterationConfig, top_eigenpairs};
//! use advland_analysis::objective::Quadratic;
//!
//! let q = Quadratic { a: vec![3.0, 1.0, 1.0, 2.0], b: vec![0.0, 0.0] };
//! let h = FiniteDifferenceHessian::new(&q, vec![0.0, 0.0], 1e-3).unwrap();
//! let cfg = PowerIterationConfig { k: 1, tol: 1e-10, max_iter: 500, seed: 0 };
//! let top = &top_eigenpairs(&h, &cfg).unwrap()[0];
//! assert!((top.value - (2.5 + 1.25f64.sqrt())).abs() < 1e-6);
//! ```
// Library code never prints: progress goes through observers, data into return values.
#![deny(clippy::print_stdout, clippy::print_stderr)]
// Files are read and written through std: every I/O error becomes a typed error that names the
// path (`Error::Io { path, source }`), which fs-err's own path would repeat (clippy.toml).
#![allow(clippy::disallowed_methods)]

pub mod attack_analysis;
pub mod bound;
pub mod calibrate;
pub mod connectivity;
pub mod demo;
pub mod device;
pub mod error;
pub mod eval;
pub mod flatness;
pub mod hessian;
pub mod linear;
pub mod lipschitz;
pub mod load;
pub mod local_entropy;
pub mod model_objective;
pub mod objective;
pub mod operator;
pub mod perturbation;
pub mod precision;
pub mod relate;
pub mod sharpness;
pub mod subject;
pub mod surface;
pub mod uncertainty;
pub mod vector;

pub use error::{Error, Result};

/// burn's version, pinned exactly in the workspace manifest (reports record it).
pub const BURN_VERSION: &str = "0.22.1";
pub use objective::{Objective, ObjectiveKind};
pub use operator::{BlockOperator, LinearOperator};
pub use subject::{Measured, Subject};
