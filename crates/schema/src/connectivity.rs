//! Payload of `connectivity` reports: a quadratic Bézier curve between two checkpoints,
//! trained so that the loss stays low along it, next to the straight line (Garipov et al.
//! 2018, "Loss Surfaces, Mode Connectivity, and Fast Ensembling of DNNs").

use serde::{Deserialize, Serialize};

use crate::ObjectiveKind;
use crate::threat::PgdSettings;

/// One path θ(t), t ∈ [0, 1], scanned at evenly spaced t.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathScan {
    /// The path: `bezier` (the trained curve) or `line` ((1 − t)·θ_A + t·θ_B).
    pub path: String,
    /// The values of t.
    pub t: Vec<f64>,
    /// Mean clean cross-entropy on the test subset at each t.
    pub clean_loss: Vec<f64>,
    /// Clean accuracy at each t.
    pub clean_accuracy: Vec<f64>,
    /// Mean adversarial cross-entropy (PGD re-solved at each t), when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adversarial_loss: Option<Vec<f64>>,
    /// Adversarial accuracy at each t, when asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adversarial_accuracy: Option<Vec<f64>>,
    /// max_t clean loss − the larger clean loss of the two ends (the loss barrier; ≤ 0: none).
    pub clean_barrier: f64,
}

/// Payload of a `connectivity` report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectivityReport {
    /// θ_A, the start (checkpoint or weights file, as given).
    pub checkpoint: String,
    /// θ_A's epoch (0 for imported weights): where `compare` lists the report.
    pub epoch: usize,
    /// θ_B, the end.
    pub to: String,
    /// The loss the curve was trained on: clean or adversarial.
    pub objective: ObjectiveKind,
    /// The attack of adversarial training and the adversarial scan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attack: Option<PgdSettings>,
    /// Training examples the curve was trained on.
    pub train_examples: usize,
    /// Test examples each point of the scans averages over.
    pub examples: usize,
    /// SGD steps taken (one t per step).
    pub steps: usize,
    /// Mean training loss at the sampled t over each epoch.
    pub train_loss: Vec<f64>,
    /// How batch norm was treated, for models with it: `train-mode` during training,
    /// statistics re-estimated at every scanned t on `bn_recompute` training examples.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bn_recompute: Option<usize>,
    /// ‖θ_B − θ_A‖₂.
    pub endpoint_distance: f64,
    /// ‖φ − (θ_A + θ_B)/2‖₂: how far training moved the control point from the midpoint.
    pub control_offset: f64,
    /// The trained curve.
    pub curve: PathScan,
    /// The straight line.
    pub line: PathScan,
}

impl ConnectivityReport {
    /// The measures `compare` lists at θ_A's epoch: both paths' clean loss barriers (and the
    /// largest adversarial loss along each, when scanned).
    pub fn compare_measures(&self) -> Vec<(String, f64)> {
        let to = &self.to;
        let mut out = Vec::new();
        for scan in [&self.curve, &self.line] {
            let path = &scan.path;
            out.push((format!("{path} clean barrier to {to}"), scan.clean_barrier));
            if let Some(losses) = &scan.adversarial_loss {
                let max = losses.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                out.push((format!("{path} max adversarial loss to {to}"), max));
            }
        }
        out
    }
}

impl crate::report::Payload for ConnectivityReport {
    const KIND: &'static str = "connectivity";
}
