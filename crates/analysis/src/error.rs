//! Errors of the analysis crate.

/// What can go wrong while measuring a model.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A setting broke a rule.
    #[error("{field}: {reason}")]
    InvalidConfig {
        /// The setting.
        field: &'static str,
        /// The rule broken.
        reason: String,
    },
    /// An estimate became NaN/∞.
    #[error("{what} is not finite at iteration {step}")]
    NonFinite {
        /// The quantity.
        what: &'static str,
        /// Iteration where it happened.
        step: usize,
    },
    /// Vectors of different dimension met.
    #[error("dimension mismatch: expected {expected}, got {got}")]
    Dimension {
        /// Expected length.
        expected: usize,
        /// Actual length.
        got: usize,
    },
    /// A file (e.g. saved surface directions) is missing, malformed or does not fit.
    #[error("{}: {reason}", path.display())]
    File {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A model could not be loaded: a checkpoint or weights file that is missing, malformed
    /// or does not match its architecture (the cause says which).
    #[error("loading {kind} {}", path.display())]
    LoadModel {
        /// `checkpoint` or `weights`.
        kind: &'static str,
        /// The path as given.
        path: std::path::PathBuf,
        /// What went wrong (boxed: the variant stays small).
        #[source]
        source: Box<advland_train::Error>,
    },
    /// A model's data could not be loaded or does not fit the model.
    #[error("loading the data")]
    LoadData {
        /// What went wrong (boxed: the variant stays small).
        #[source]
        source: Box<advland_train::Error>,
    },
    /// From the training crate (models, attacks, data).
    #[error(transparent)]
    Train(#[from] advland_train::Error),
}

impl Error {
    /// A schema rule broken by the setting `field` (e.g. an attack or grid axis inside a
    /// configuration), named by that setting rather than by the schema's own path.
    pub(crate) fn rule(field: &'static str, err: advland_schema::Error) -> Self {
        let reason = match err {
            advland_schema::Error::InvalidConfig { reason, .. } => reason,
            other => other.to_string(),
        };
        Self::InvalidConfig { field, reason }
    }
}

/// Result with the analysis [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
