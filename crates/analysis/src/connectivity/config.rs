//! The configuration of a mode-connectivity run, recorded whole in each report's
//! `meta.config`.

use advland_schema::{ObjectiveKind, PgdSettings, Precision};
use serde::{Deserialize, Serialize};

/// Training a Bézier curve between two models and scanning it next to the line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectConfig {
    /// The loss the curve is trained on: clean, or adversarial (PGD re-solved at every
    /// sampled θ(t), Danskin's gradient).
    pub objective: ObjectiveKind,
    /// The attack of adversarial training and of the adversarial scan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attack: Option<PgdSettings>,
    /// Scan the adversarial loss and accuracy too (needs `attack`).
    pub scan_adversarial: bool,
    /// Passes over the training examples (0: the control point stays at the midpoint and the
    /// curve is the line).
    pub epochs: usize,
    /// SGD step size on the control point.
    pub lr: f64,
    /// Examples per minibatch (training) and per batch (scans).
    pub batch_size: usize,
    /// Training examples (evenly spaced); absent: the whole training split.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_subset: Option<usize>,
    /// Points t = i/(points − 1) scanned on each path, at least 2.
    pub points: usize,
    /// Test examples (evenly spaced) of the scans.
    pub subset: usize,
    /// Training examples batch-norm statistics are re-estimated on at every scanned t
    /// (models with batch norm only).
    pub bn_recompute: usize,
    /// Precision of training and scans.
    pub precision: Precision,
    /// Seed of the shuffles, the sampled t and the attacks' starts.
    pub seed: u64,
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
