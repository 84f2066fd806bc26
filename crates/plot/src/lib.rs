//! Figures and the HTML report of advland, drawn from report JSON alone (no burn), so
//! `advland report` redraws everything in seconds.
//!
//! Data flows one way:
//!
//! - [`report`] finds `*.json` files, keeps those with the report envelope and parses them
//!   into [`report::AnyReport`] (schema types of `advland-schema`);
//! - [`figures`] turns each payload into [`plot::FigureSpec`]s: a title and a grid of
//!   [`plot::Chart`]s ([`line`](mod@line) curves and scatters, [`boxes`] distributions, [`heatmap`]
//!   filled contours and 3-D views) with at most one shared colour bar ([`scale`]);
//! - [`figure::Figure::render`] draws a layout once into an SVG and once into a PNG (same
//!   code, any plotters backend, the bundled DejaVu Sans of [`theme`] for every glyph);
//! - [`render()`] writes the figures and a self-contained `index.html` ([`html`]).
//!
//! Output is deterministic: the same JSON gives the same bytes.
//!
//! ```
//! use advland_plot::line::{LineChart, Series, Style};
//! use advland_plot::plot::{Chart, Plot};
//! use advland_plot::Figure;
//!
//! let parabola = (0..21).map(|i| { let a = i as f64 / 10.0 - 1.0; (a, a * a) }).collect();
//! let chart = LineChart::new("", "α", "loss (nats)", vec![Series::new("clean", parabola, 0, Style::Line)]);
//! let fig = Figure::render("parabola", "A parabola", &Plot::single("A parabola", Chart::Lines(chart)))?;
//! assert!(fig.svg.starts_with("<svg"));
//! assert_eq!(&fig.png[1..4], b"PNG");
//! # Ok::<(), advland_plot::Error>(())
//! ```
// Library code never prints: progress goes through observers, data into return values.
#![deny(clippy::print_stdout, clippy::print_stderr)]
// Files are read and written through std: every I/O error becomes a typed error that names the
// path (`Error::Io { path, source }`), which fs-err's own path would repeat (clippy.toml).
#![allow(clippy::disallowed_methods)]
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
