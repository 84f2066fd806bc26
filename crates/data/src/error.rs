//! The error type of this crate.
//!
//! Every variant names where the problem is (a file path, or a dataset name for in-memory
//! operations) and the rule that was broken, so a message alone is enough to act on.

use std::path::PathBuf;

/// Result alias used throughout this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong while reading, writing or reshaping datasets.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An operating-system error while touching a file.
    // The io error is part of the message (not a `#[source]`) so that a plain `{}` print is
    // complete; otherwise the reason would only show up with chain-aware printers.
    #[error("{}: {action}: {error}", path.display())]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// What was being attempted, e.g. "cannot read file".
        action: &'static str,
        /// The underlying error.
        error: std::io::Error,
    },

    /// A required file or directory does not exist.
    #[error("{}: not found; {hint}", path.display())]
    Missing {
        /// The path that was looked for.
        path: PathBuf,
        /// How to obtain the data.
        hint: String,
    },

    /// The file does not start with the magic number of the expected format.
    #[error(
        "{}: bad magic number 0x{found:08x}, expected 0x{expected:08x} ({what})",
        path.display()
    )]
    BadMagic {
        /// The offending file.
        path: PathBuf,
        /// The magic number read from the file.
        found: u32,
        /// The magic number the format requires.
        expected: u32,
        /// Human description of the expected format.
        what: &'static str,
    },

    /// The file is shorter than its header (or format) says it must be.
    #[error("{}: truncated: {what} needs {expected} bytes, found {actual}", path.display())]
    Truncated {
        /// The offending file.
        path: PathBuf,
        /// What part of the file was being read.
        what: &'static str,
        /// Bytes required.
        expected: u64,
        /// Bytes present.
        actual: u64,
    },

    /// A label is not smaller than the number of classes.
    #[error(
        "{}: label {label} of example {index} is out of range (labels must be < {num_classes})",
        path.display()
    )]
    LabelOutOfRange {
        /// The offending file.
        path: PathBuf,
        /// Index of the example (counted across the file).
        index: usize,
        /// The label found.
        label: u8,
        /// Number of classes of the format.
        num_classes: usize,
    },

    /// An images file and its labels file disagree on the number of examples.
    #[error(
        "{}: holds {n_images} images but {} holds {n_labels} labels; the counts must match",
        images.display(),
        labels.display()
    )]
    CountMismatch {
        /// The images file.
        images: PathBuf,
        /// The labels file.
        labels: PathBuf,
        /// Number of images.
        n_images: usize,
        /// Number of labels.
        n_labels: usize,
    },

    /// Any other violation of a file format.
    #[error("{}: {rule}", path.display())]
    Format {
        /// The offending file.
        path: PathBuf,
        /// The rule that was broken.
        rule: String,
    },

    /// An invalid request on an in-memory dataset (bad subset size, unknown class, ...).
    #[error("{dataset}: {rule}")]
    Invalid {
        /// Name of the dataset involved.
        dataset: String,
        /// The rule that was broken.
        rule: String,
    },
}

impl Error {
    pub(crate) fn io(
        path: impl Into<PathBuf>,
        action: &'static str,
        error: std::io::Error,
    ) -> Self {
        Self::Io {
            path: path.into(),
            action,
            error,
        }
    }

    pub(crate) fn format(path: impl Into<PathBuf>, rule: impl Into<String>) -> Self {
        Self::Format {
            path: path.into(),
            rule: rule.into(),
        }
    }

    pub(crate) fn invalid(dataset: impl Into<String>, rule: impl Into<String>) -> Self {
        Self::Invalid {
            dataset: dataset.into(),
            rule: rule.into(),
        }
    }
}
