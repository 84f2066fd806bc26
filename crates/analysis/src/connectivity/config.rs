//! The configuration of a mode-connectivity run, recorded whole in each report's
//! `meta.config`.

use advland_schema::{ObjectiveKind, PgdSettings, Precision};
use serde::{Deserialize, Serialize};

#[cfg(feature = "clap")]
use advland_schema::flag_values::{at_least_one, positive_number};

/// Training a Bézier curve between two models and scanning it next to the line. With the
/// `clap` feature these are the flags of `advland connect` but the attack's (defaults:
/// [`ConnectConfig::default`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
#[serde(deny_unknown_fields)]
pub struct ConnectConfig {
    /// The training loss of the curve: clean, or adversarial (PGD re-solved at each sampled
    /// θ(t), Danskin's gradient).
    #[cfg_attr(feature = "clap", arg(long, value_enum, default_value_t = defaults().objective))]
    pub objective: ObjectiveKind,
    /// The attack of adversarial training and of the adversarial scan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "clap", arg(skip))]
    pub attack: Option<PgdSettings>,
    /// Also scan the adversarial loss and accuracy along both paths (needs the attack).
    #[cfg_attr(feature = "clap", arg(long))]
    pub scan_adversarial: bool,
    /// Passes over the training examples (0: the control point φ stays at the midpoint and the
    /// curve is the line).
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().epochs))]
    pub epochs: usize,
    /// SGD step size on φ.
    #[cfg_attr(feature = "clap", arg(long, value_parser = positive_number, default_value_t = defaults().lr))]
    pub lr: f64,
    /// Examples per minibatch (training) and per batch (scans).
    #[cfg_attr(feature = "clap", arg(long, value_parser = at_least_one, default_value_t = defaults().batch_size))]
    pub batch_size: usize,
    /// Train on this many training examples, evenly spaced (default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "clap", arg(long, value_parser = at_least_one))]
    pub train_subset: Option<usize>,
    /// Points t = i/(N − 1) scanned on each path, at least 2.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().points, value_name = "N"))]
    pub points: usize,
    /// Test examples (evenly spaced) of the scans.
    #[cfg_attr(feature = "clap", arg(long, value_parser = at_least_one, default_value_t = defaults().subset))]
    pub subset: usize,
    /// Training examples batch-norm statistics are re-estimated on at each scanned t (models
    /// with batch norm only; they train with batch statistics).
    #[cfg_attr(feature = "clap", arg(long, value_parser = at_least_one, default_value_t = defaults().bn_recompute))]
    pub bn_recompute: usize,
    /// Precision of training and scans.
    #[cfg_attr(feature = "clap", arg(long, value_enum, default_value_t = defaults().precision))]
    pub precision: Precision,
    /// Seed of the shuffles, the sampled t and the attacks' starts.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = defaults().seed))]
    pub seed: u64,
}

/// The flags' defaults.
#[cfg(feature = "clap")]
fn defaults() -> ConnectConfig {
    ConnectConfig::default()
}

impl Default for ConnectConfig {
    /// The command line's defaults: a clean curve trained for 5 epochs at step 0.05 in
    /// minibatches of 128 on the whole training split, 11 points on 1,000 test examples,
    /// statistics on 1,000 training examples, f32.
    fn default() -> Self {
        Self {
            objective: ObjectiveKind::Clean,
            attack: None,
            scan_adversarial: false,
            epochs: 5,
            lr: 0.05,
            batch_size: 128,
            train_subset: None,
            points: 11,
            subset: 1000,
            bn_recompute: 1000,
            precision: Precision::F32,
            seed: 0,
        }
    }
}
