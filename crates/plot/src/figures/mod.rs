//! From report payloads to figure layouts, one module per report family. Each function only
//! arranges numbers into [`crate::plot::Plot`]s; drawing lives in the chart modules.

mod compare;
mod connectivity;
mod flatness;
mod linear;
mod perturbation;
mod relation;
mod sharpness;
mod surface;
mod training;

pub use compare::compare_figures;
pub use connectivity::connectivity_figures;
pub use flatness::flatness_figures;
pub use linear::linear_figures;
pub use perturbation::perturbation_figures;
pub use relation::relation_figures;
pub use sharpness::sharpness_figures;
pub use surface::{LogScale, surface_comparison_figures, surface_figures};
pub use training::{demo_figures, train_figures};
