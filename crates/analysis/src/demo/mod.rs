//! The demo as a library call: train a standard, an L∞-adversarial and an L2-adversarial CNN
//! on the bundled Fashion-MNIST subset, evaluate all three under both attacks (PGD and
//! autoattack-lite), measure their sharpness and input flatness, relate the two across
//! epochs, and draw loss surfaces of the adversarial models on shared directions.
//!
//! [`run`] composes the library's calls as [`DemoConfig`] says, writes every run directory
//! and report into the output directory it is given, and returns the summary report
//! (`demo.json`'s contents) for the caller to write, draw and print. Metadata the library
//! cannot know (command line, device name, provenance) comes from the caller's [`MetaOf`];
//! progress goes to a [`DemoObserver`].

mod config;
mod run;

pub use config::{DemoConfig, L2_EPS, LINF_EPS, RUNS, threats};
pub use run::run;

use std::path::PathBuf;

use advland_schema::{DataSubset, Meta};
use advland_train::{Observer, Silent};

/// Builds the metadata of a record the demo writes (each run's `train.json`, each
/// measurement's report, the summary) from its seed, its configuration (recorded whole as
/// `meta.config`) and the data it used: the caller adds what only it knows (command line,
/// device, versions, provenance); the demo fills in the duration and cost.
pub type MetaOf<'a> = dyn Fn(u64, &serde_json::Value, DataSubset) -> Meta + 'a;

/// What the demo is doing (see [`DemoObserver::begin`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stage {
    /// Training a model (epochs and their evaluation).
    Train,
    /// The final evaluation of a trained model under every attack.
    Evaluate,
    /// A model's Hessian eigenvalues and κ under one attack.
    Sharpness,
    /// A model's input flatness under one attack.
    Flatness,
    /// Input flatness against κ across the models' checkpoints.
    Relate,
    /// A model's loss surface.
    Surface,
}

/// Hears the demo's progress: the [`Observer`] calls of the work under way (a run's epochs,
/// the evaluation's batches), bracketed by which model and stage that work is.
pub trait DemoObserver: Observer {
    /// `stage` starts for `model` (a name of [`RUNS`]; `all` for [`Stage::Relate`]); the
    /// observer calls until [`DemoObserver::end`] belong to it.
    fn begin(&mut self, model: &str, stage: Stage) {
        let _ = (model, stage);
    }
    /// The stage begun last ended (also when it failed).
    fn end(&mut self) {}
}

impl DemoObserver for Silent {}

/// What can stop the demo.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DemoError {
    /// A step failed: `step` names it (the model and the measurement, or the file).
    #[error("{step}")]
    Step {
        /// The model and the step, in words.
        step: String,
        /// Why it failed.
        #[source]
        source: Box<crate::Error>,
    },
    /// A training run ended without a checkpoint to measure.
    #[error("{}: training saved no checkpoint", run_dir.display())]
    NoCheckpoint {
        /// The run directory.
        run_dir: PathBuf,
    },
    /// A library call failed where its error names what went wrong (the configuration, a run
    /// directory refused).
    #[error(transparent)]
    Analysis(#[from] crate::Error),
}

impl From<advland_train::Error> for DemoError {
    fn from(e: advland_train::Error) -> Self {
        Self::Analysis(e.into())
    }
}

impl From<advland_schema::Error> for DemoError {
    fn from(e: advland_schema::Error) -> Self {
        Self::Analysis(advland_train::Error::from(e).into())
    }
}

/// Result with the [`DemoError`].
pub type DemoResult<T> = std::result::Result<T, DemoError>;
