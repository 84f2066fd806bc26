//! `advland report`: find the report JSON files under some paths, redraw every figure and
//! write a self-contained `index.html` with the figures, tables of the numbers and the
//! provenance of each report.
//!
//! Data flows one way: [`inputs`] finds and parses files into [`AnyReport`]s,
//! [`crate::figures`] turns payloads into layouts, [`tables`] into HTML tables, [`results`]
//! gathers the numbers read first across reports, and [`render()`] draws, writes and
//! assembles the page.

pub mod inputs;
mod path_tables;
mod render;
pub mod results;
mod sharpness_tables;
pub mod tables;

pub use inputs::AnyReport;
pub use render::{RenderOptions, RenderSummary, Skipped, render, render_with};
