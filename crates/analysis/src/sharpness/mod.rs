//! Parameter-space sharpness and smoothness of a model's loss (paper.md §3.2 E-B): one
//! [`measure`] per [`SharpnessConfig`], returning a [`SharpnessReport`] payload.
//!
//! [`SharpnessReport`]: advland_schema::SharpnessReport

mod config;
mod estimators;
mod measure;

pub use advland_schema::Estimator;
pub use config::SharpnessConfig;
pub use measure::measure;
