//! Errors of the training crate.

use std::path::PathBuf;

/// What can go wrong while building, training, attacking or (de)serialising a model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A setting broke a rule.
    #[error("{field}: {reason}")]
    InvalidConfig {
        /// Dotted path of the setting.
        field: String,
        /// The rule broken.
        reason: String,
    },
    /// A weights file does not match the model (missing, extra or mis-shaped tensor, bad file),
    /// or a checkpoint's `checkpoint.json` describes a model its weights cannot be.
    #[error("{}: {reason}", path.display())]
    Weights {
        /// The file.
        path: PathBuf,
        /// What did not match.
        reason: String,
    },
    /// A loss or gradient became NaN/∞; training cannot continue meaningfully.
    #[error("{what} is not finite at epoch {epoch}, batch {batch} ({hint})")]
    NonFinite {
        /// The quantity.
        what: &'static str,
        /// Epoch, from 1.
        epoch: usize,
        /// Minibatch within the epoch, from 1.
        batch: usize,
        /// The likely cause, in words.
        hint: &'static str,
    },
    /// A run directory cannot be used as asked (see [`crate::trainer::RunDir`]).
    #[error("run directory {}: {reason}", path.display())]
    RunDir {
        /// The run directory.
        path: PathBuf,
        /// Which rule it broke.
        issue: RunDirIssue,
        /// What was found and the rule.
        reason: String,
    },
    /// A checkpoint cannot continue its run exactly.
    #[error("checkpoint {} cannot be resumed exactly: {reason}", path.display())]
    NotResumable {
        /// The checkpoint directory.
        path: PathBuf,
        /// What is missing or inconsistent.
        reason: String,
    },
    /// File IO.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// From the schema crate (reports, settings).
    #[error(transparent)]
    Schema(#[from] advland_schema::Error),
    /// From the data crate.
    #[error(transparent)]
    Data(#[from] advland_data::Error),
}

/// Why a run directory was refused, for callers that suggest a remedy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RunDirIssue {
    /// It holds files, and the run was to start afresh.
    NotEmpty,
    /// It was to be overwritten but does not look like a run directory.
    NotARun,
    /// Another process holds its lock.
    InUse,
    /// It was to be resumed but holds no finished checkpoint (or does not exist).
    NothingToResume,
    /// The path exists but is not a directory.
    NotADirectory,
}

/// Result with the training [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Shorthand for [`Error::InvalidConfig`].
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidConfig {
            field: field.into(),
            reason: reason.into(),
        }
    }
}
