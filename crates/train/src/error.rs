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
    /// A weights file does not match the model (missing, extra or mis-shaped tensor, bad file).
    #[error("{}: {reason}", path.display())]
    Weights {
        /// The file.
        path: PathBuf,
        /// What did not match.
        reason: String,
    },
    /// A loss or gradient became NaN/∞; training cannot continue meaningfully.
    #[error("{what} is not finite at step {step} (try a smaller learning rate)")]
    NonFinite {
        /// The quantity.
        what: &'static str,
        /// Optimizer step (or batch) where it happened.
        step: usize,
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
