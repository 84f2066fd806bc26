//! Figures and the HTML report of advland, drawn from report JSON alone (no burn).
#![deny(missing_docs)]

pub mod boxes;
pub mod contour;
pub mod error;
pub mod figure;
pub mod figures;
pub mod heatmap;
pub mod html;
pub mod label;
pub mod line;
pub mod plot;
pub mod report;
pub mod scale;
pub mod theme;

pub use error::{Error, Result};
pub use figure::{Drawing, Figure};
pub use figures::LogScale;
pub use report::{RenderOptions, RenderSummary, Skipped, render, render_with};
pub use scale::ColourScale;
