//! Models, the generic PGD attack, update rules and the training loop of advland, on burn.
//!
//! - [`model`]: [`Model`] (an enum over [`model::Mlp`] and [`model::Cnn`]), built from a
//!   [`ModelSpec`](advland_schema::ModelSpec) and a [`ModelShape`];
//! - [`params`]: θ as one flat tensor ([`params::flatten`], [`params::load_flat`],
//!   [`params::flat_gradient`]) with PyTorch names ([`params::ParamLayout`]);
//! - [`checkpoint`]: PyTorch-layout safetensors and checkpoint directories, with the state that
//!   resumes a run exactly ([`checkpoint::load_resume`]);
//! - [`attack`]: [`pgd_attack`] runs an [`Attack`] (PGD settings with their ball, a
//!   [`Constraint`]), [`apgd_attack`] APGD and [`autoattack_lite`] APGD-CE + APGD-T through the
//!   same ball; the norm appears only in [`attack::ball`];
//! - [`optim`]: [`UpdateRule`]s fed by a [`GradientOracle`]: [`optim::Sgd`] and
//!   [`optim::EntropySgd`], whose Langevin chain asks the oracle at its own iterates;
//! - [`trainer`]: [`train`] (from scratch or from a [`checkpoint::Resume`]), [`evaluate`]
//!   (PGD), [`evaluate_attacks`] (attack specifications, per-example flags, worst case), and
//!   [`trainer::RunDir`], the locked run directory a training run writes.
//!
//! Data flows: `Dataset` → [`Batch`] → (attack) → model → loss → flat gradient → update rule
//! → [`params::load_flat`]. All functions that differentiate require an autodiff device
//! (`Device::flex().autodiff()`); evaluation runs clean passes on the inner device.
//!
//! ```
//! use advland_schema::{ModelKind, ModelSpec, Norm, PgdSettings};
//! use advland_train::{Attack, Batch, Model, ModelShape, pgd_attack};
//! use burn::tensor::{Device, Tensor};
//!
//! let device = Device::flex().autodiff();
//! let spec = ModelSpec { kind: ModelKind::Mlp, hidden: vec![8], ..ModelSpec::default() };
//! let model = Model::build(&spec, ModelShape { input: [1, 4, 4], classes: 3 }, &device).unwrap();
//! let batch = Batch {
//!     images: Tensor::ones([2, 1, 4, 4], &device).mul_scalar(0.5),
//!     labels: Tensor::zeros([2], &device),
//! };
//! let attack = Attack::new(PgdSettings::new(Norm::Linf, 0.1, 5));
//! let out = pgd_attack(&model, &batch, &attack, 0);
//! assert_eq!(out.adversarial.dims(), [2, 1, 4, 4]);
//! ```
// Library code never prints: progress goes through observers, data into return values.
#![deny(clippy::print_stdout, clippy::print_stderr)]
// Files are read and written through std: every I/O error becomes a typed error that names the
// path (`Error::Io { path, source }`), which fs-err's own path would repeat (clippy.toml).
#![allow(clippy::disallowed_methods)]

pub mod attack;
pub mod batch;
pub mod checkpoint;
pub mod data;
pub mod error;
pub mod import;
pub mod loss;
pub mod model;
pub mod optim;
pub mod params;
pub mod trainer;

pub use attack::{Attack, Constraint, apgd_attack, autoattack_lite, pgd_attack};
pub use batch::Batch;
pub use error::{Error, Result};
pub use model::{Model, ModelShape};
pub use optim::{GradientOracle, UpdateRule};
pub use trainer::{Observer, Silent, evaluate, evaluate_attacks, train};
