//! Parameter-space sharpness and smoothness of a model's loss (paper.md §3.2 E-B): one
//! [`measure`] per [`SharpnessConfig`], returning a [`SharpnessReport`] payload.
//!
//! [`SharpnessReport`]: advland_schema::SharpnessReport

mod ascent;
mod ball;
mod config;
mod estimators;
mod measure;
mod weight;

pub use advland_schema::Estimator;
pub use config::{SharpnessConfig, WeightPerturbationConfig};
pub use measure::measure;

#[cfg(test)]
mod oracle_tests;
