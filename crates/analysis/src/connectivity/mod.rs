//! Mode connectivity (Garipov et al. 2018): a quadratic Bézier curve
//! θ(t) = (1 − t)²·θ_A + 2t(1 − t)·φ + t²·θ_B, t ∈ [0, 1], between two models, whose control
//! point φ is trained so that the loss stays low along the whole curve, scanned next to the
//! straight line (1 − t)·θ_A + t·θ_B (what `surface --to` interpolates).
//!
//! Training minimises E_{t∼U(0,1)} L(θ(t)) over φ by SGD, one t per minibatch: the ends are
//! fixed, so ∂L(θ(t))/∂φ = 2t(1 − t)·∇L(θ(t)) ([`control_gradient`]). With φ at the
//! midpoint (θ_A + θ_B)/2, where training starts, the curve is the line.
//!
//! Batch norm: the curve trains with batch statistics (train mode, as Garipov et al.'s curve
//! models do): the running statistics of either end belong to that end only, and a point
//! between them has no statistics of its own until they are estimated there. Every scanned
//! point then gets statistics re-estimated from scratch on training examples
//! ([`advland_train::Model::recompute_bn_statistics`]), for the curve and the line alike.

mod config;
mod curve;
mod measure;
mod save;

pub use config::ConnectConfig;
pub use curve::{bezier_point, control_gradient, line_point};
pub use measure::{TrainedCurve, measure, train_curve};
