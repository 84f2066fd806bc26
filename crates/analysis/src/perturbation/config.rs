//! The configuration of a perturbation-statistics measurement, recorded whole in each
//! report's `meta.config`.

use advland_schema::{PgdSettings, Precision};
use serde::{Deserialize, Serialize};

/// Perturbation statistics of one model under one attack.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerturbationConfig {
    /// The attack.
    pub attack: PgdSettings,
    /// Test examples attacked (evenly spaced), at least 2.
    pub subset: usize,
    /// Examples (the first of the subset) whose per-example parameter gradients are compared:
    /// each costs a backward pass and keeps an m-vector, hence the cap. At least 2; a smaller
    /// subset compares all its examples.
    pub gradient_examples: usize,
    /// Precision of the computation.
    pub precision: Precision,
    /// Seed of the attack's random starts.
    pub seed: u64,
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
