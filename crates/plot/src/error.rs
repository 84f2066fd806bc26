//! Errors of the plot crate: reading reports, drawing figures, writing files.

use std::path::PathBuf;

/// Everything that can go wrong while redrawing figures from reports.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file or directory could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A report of a known kind did not parse into its schema type.
    #[error("{}: a `{kind}` report that does not match its schema: {source}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The report kind named in the file.
        kind: String,
        /// What serde said (field and line).
        source: serde_json::Error,
    },
    /// A report parsed but its numbers cannot be drawn (lengths that disagree, an empty grid).
    #[error("{what}: {reason}")]
    InvalidData {
        /// The report and field concerned.
        what: String,
        /// The rule broken.
        reason: String,
    },
    /// plotters failed while drawing a figure.
    #[error("figure `{figure}`: drawing failed: {message}")]
    Draw {
        /// The figure's name.
        figure: String,
        /// What plotters said.
        message: String,
    },
    /// The bundled font could not be registered with plotters.
    #[error("the bundled font assets/DejaVuSans.ttf could not be loaded: {0}")]
    Font(String),
    /// Writing through the schema crate failed (atomic writes).
    #[error(transparent)]
    Schema(#[from] advland_schema::Error),
}

/// Result with the plot [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
