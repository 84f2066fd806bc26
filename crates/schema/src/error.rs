//! Errors of the schema crate: config validation, file IO and (de)serialisation.

use std::path::PathBuf;

/// Everything that can go wrong while reading settings or writing reports.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A setting broke a rule; `field` is its dotted path (`training.lr`).
    #[error("{field}: {reason}")]
    InvalidConfig {
        /// Dotted path of the offending setting.
        field: String,
        /// The rule that was broken.
        reason: String,
    },
    /// Several settings broke rules; all are listed so a user fixes them in one go.
    #[error("{} invalid settings:\n  {}", .0.len(), .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  "))]
    InvalidSettings(Vec<Error>),
    /// Overrides of a training file (the flags of `advland train`, whose names they carry)
    /// that need another one or set something the settings do not use.
    #[error("{message}")]
    Overrides {
        /// The overrides involved, as flags (`--eps`).
        flags: Vec<String>,
        /// The rule broken, naming the flags.
        message: String,
    },
    /// Settings given to resume a run that differ from the run's own: a run continues only
    /// with the settings it was started with.
    #[error(
        "resuming {}: the settings given differ from the run's (stored in {}), and a run \
         continues only with its own settings; drop the settings flags to use them, or train \
         afresh with --overwrite:\n  {}",
        run_dir.display(),
        checkpoint.display(),
        differences.join("\n  ")
    )]
    SettingsDiffer {
        /// The run directory.
        run_dir: PathBuf,
        /// The checkpoint whose settings were compared.
        checkpoint: PathBuf,
        /// `field: stored → given` lines.
        differences: Vec<String>,
    },
    /// An experiment plan that cannot run (boxed: it would make every result larger).
    #[error(transparent)]
    Plan(Box<crate::experiment::PlanError>),
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A TOML file (a training file, an experiment plan) did not parse (unknown keys are
    /// errors too).
    #[error("{}: {source}", path.display())]
    Toml {
        /// The file.
        path: PathBuf,
        /// What the parser said, with line and column.
        source: toml::de::Error,
    },
    /// A JSON file did not parse or a value did not serialise.
    #[error("{}: {source}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// What serde_json said.
        source: serde_json::Error,
    },
    /// An output path that cannot take a report (a directory, a device, a FIFO, a parent that
    /// is a file).
    #[error("{}: {reason}", path.display())]
    Output {
        /// The output path as given.
        path: PathBuf,
        /// The rule it breaks.
        reason: String,
    },
    /// A file that parsed but is not what was asked for (another report kind or schema
    /// version, inconsistent contents).
    #[error("{}: {reason}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// The rule it breaks.
        reason: String,
    },
    /// A number that must be finite was NaN or infinite; reports never carry such values.
    #[error("{what} is not finite ({value})")]
    NonFinite {
        /// What the number is.
        what: String,
        /// The offending value.
        value: f64,
    },
}

impl From<crate::experiment::PlanError> for Error {
    fn from(e: crate::experiment::PlanError) -> Self {
        Self::Plan(Box::new(e))
    }
}

/// Result with the schema [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Shorthand for [`Error::Format`].
    pub fn format(path: &std::path::Path, reason: impl Into<String>) -> Self {
        Self::Format {
            path: path.to_owned(),
            reason: reason.into(),
        }
    }

    /// Shorthand for [`Error::Output`].
    pub fn output(path: &std::path::Path, reason: impl Into<String>) -> Self {
        Self::Output {
            path: path.to_owned(),
            reason: reason.into(),
        }
    }

    /// Shorthand for [`Error::InvalidConfig`].
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidConfig {
            field: field.into(),
            reason: reason.into(),
        }
    }
}
