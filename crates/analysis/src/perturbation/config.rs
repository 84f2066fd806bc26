//! The configuration of a perturbation-statistics measurement, recorded whole in each
//! report's `meta.config`.

use advland_schema::{PgdSettings, Precision};
use serde::{Deserialize, Serialize};

/// Perturbation statistics of one model under one attack. With the `clap` feature these are
/// the flags of `advland perturbation` but the attack's (defaults: [`PerturbationConfig::new`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
#[serde(deny_unknown_fields)]
pub struct PerturbationConfig {
    /// The attack.
    #[cfg_attr(feature = "clap", arg(skip = defaults().attack))]
    pub attack: PgdSettings,
    /// Test examples attacked (evenly spaced), at least 2.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().subset))]
    pub subset: usize,
    /// Examples (the first of the subset) whose per-example parameter gradients are compared,
    /// at least 2 (a smaller subset compares all its examples): each costs a backward pass
    /// and keeps one parameter-sized vector, hence the cap.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().gradient_examples, value_name = "K"))]
    pub gradient_examples: usize,
    /// Precision of the computation.
    #[cfg_attr(feature = "clap", arg(long, value_enum, default_value_t = defaults().precision))]
    pub precision: Precision,
    /// Seed of the attack's random starts.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().seed))]
    pub seed: u64,
}

/// The flags' defaults, under the attack that stands in for a missing one.
#[cfg(feature = "clap")]
fn defaults() -> PerturbationConfig {
    PerturbationConfig::new(<advland_schema::AttackRequest>::default().or_standard(None))
}

impl PerturbationConfig {
    /// The command line's defaults under `attack`: 256 examples, gradients of the first 32,
    /// f64, seed 0.
    pub fn new(attack: PgdSettings) -> Self {
        Self {
            attack,
            subset: 256,
            gradient_examples: 32,
            precision: Precision::F64,
            seed: 0,
        }
    }
}
