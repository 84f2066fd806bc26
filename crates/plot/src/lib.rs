//! Figures and the HTML report of advland, drawn from report JSON alone (no burn).
#![deny(missing_docs)]

pub mod contour;
pub mod error;
pub mod figure;
pub mod scale;
pub mod theme;

pub use error::{Error, Result};
pub use figure::{Drawing, Figure};
pub use scale::ColourScale;
