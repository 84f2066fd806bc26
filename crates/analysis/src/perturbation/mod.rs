//! The adversarial perturbations of one model and the parameter gradients at the points
//! they reach (Liu et al. 2020, "On the Loss Landscape of Adversarial Training", §4).
//!
//! For n test examples PGD finds δᵢ; the report gives the mean pairwise cosine similarity of
//! the flattened δᵢ, and, for the first k ≤ n examples, of the per-example parameter
//! gradients gᵢ = ∇θ ℓ(xᵢ + δᵢ) next to their clean counterparts ∇θ ℓ(xᵢ). Liu et al. find
//! the adversarial gradients "scattered": less aligned than the clean ones, which makes the
//! adversarial loss landscape harder to descend. Per PGD step the report keeps the mean loss,
//! accuracy and attack success rate, read through PGD's per-step observer
//! ([`advland_train::attack::pgd_attack_observed`]).
//!
//! Per-example gradients are batches of one: the exact gradient of each example's loss,
//! whatever the architecture (batch norm in eval mode makes the examples independent).

mod config;
mod cosine;
mod measure;

pub use config::PerturbationConfig;
pub use cosine::cosine_stats;
pub use measure::{measure, per_example_gradients};
