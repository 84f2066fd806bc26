//! The configuration of a bound measurement, recorded whole in each report's `meta.config`.

use advland_schema::PgdSettings;
use serde::{Deserialize, Serialize};

#[cfg(feature = "clap")]
use advland_schema::flag_values::at_least_one;

/// Paper.md §2.4 Props. A/B measured on one model under one attack, in f64. With the `clap`
/// feature these are the flags of `advland bound` but the attack's (their defaults are
/// [`BoundConfig::new`]'s).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
#[serde(deny_unknown_fields)]
pub struct BoundConfig {
    /// The attack giving δ*. Its steps decide how close PGD's point is to the maximiser the
    /// propositions speak of (the report's stationarity residual says how close).
    #[cfg_attr(feature = "clap", arg(skip = defaults().attack))]
    pub attack: PgdSettings,
    /// Number of test examples (evenly spaced).
    #[cfg_attr(feature = "clap", arg(long, value_parser = at_least_one, default_value_t = defaults().subset))]
    pub subset: usize,
    /// Lanczos steps per example for the curvature and the mixed Hessian on the face, and
    /// for the parameter Hessian's L_θθ.
    #[cfg_attr(feature = "clap", arg(long, value_parser = at_least_one, default_value_t = defaults().lanczos_steps))]
    pub lanczos_steps: usize,
    /// Random unit directions u in parameter space along which δ and ∇L are re-measured at
    /// θ + ρu.
    #[cfg_attr(feature = "clap", arg(long, value_parser = at_least_one, default_value_t = defaults().directions))]
    pub directions: usize,
    /// The probe step ρ relative to ‖θ‖.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().radius))]
    pub radius: f64,
    /// A constraint counts as active within this relative distance of its boundary (PGD's
    /// last box clipping leaves an L2 point slightly inside the sphere).
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().face_tol))]
    pub face_tol: f64,
    /// Central-difference step of the second derivatives, along unit directions in input and
    /// in parameter space.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().fd_step))]
    pub fd_step: f64,
    /// Seed of the attack's start, the Lanczos starts and the directions.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().seed))]
    pub seed: u64,
}

/// The flags' defaults, under the attack that stands in for a missing one.
#[cfg(feature = "clap")]
fn defaults() -> BoundConfig {
    BoundConfig::new(<advland_schema::AttackRequest>::default().or_standard(None))
}

impl BoundConfig {
    /// The command line's defaults under `attack`: 64 examples, 20 Lanczos steps, 4
    /// directions at ρ = 1e-4·‖θ‖, faces within 1 % of the boundary, steps of 1e-4, seed 0.
    pub fn new(attack: PgdSettings) -> Self {
        Self {
            attack,
            subset: 64,
            lanczos_steps: 20,
            directions: 4,
            radius: 1e-4,
            face_tol: 1e-2,
            fd_step: 1e-4,
            seed: 0,
        }
    }
}
