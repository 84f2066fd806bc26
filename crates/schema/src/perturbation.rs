//! Payloads of `perturbation` reports (the adversarial perturbations and the parameter
//! gradients at the points they reach, Liu et al. 2020) and `connectivity` reports (a
//! quadratic Bézier curve between two checkpoints next to the straight line, Garipov et al.
//! 2018).

use serde::{Deserialize, Serialize};

use crate::flatness::Distribution;
use crate::threat::PgdSettings;

/// Pairwise cosine similarities cos(vᵢ, vⱼ), i < j, of one family of per-example vectors.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CosineStats {
    /// Vectors compared (those of zero norm, whose cosine is undefined, are left out).
    pub vectors: usize,
    /// Vectors left out for a zero norm.
    pub zero_vectors: usize,
    /// Mean of cos(vᵢ, vⱼ) over the pairs i < j.
    pub mean: f64,
    /// Distribution of those cosines.
    pub pairwise: Distribution,
    /// Mean ‖vᵢ‖₂ (over all vectors, zeros included).
    pub mean_norm: f64,
}

/// The attack's progress after `step` ascent steps of restart `restart`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttackStep {
    /// Restart, from 0.
    pub restart: usize,
    /// Ascent steps taken (0: the random or zero start).
    pub step: usize,
    /// Mean cross-entropy at x + δ.
    pub mean_loss: f64,
    /// Accuracy at x + δ.
    pub accuracy: f64,
    /// Fraction of the examples classified correctly when clean that x + δ misclassifies.
    pub success_rate: f64,
}

/// Payload of a `perturbation` report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerturbationReport {
    /// The checkpoint or weights file, as given.
    pub checkpoint: String,
    /// Epochs trained (0 for imported weights).
    pub epoch: usize,
    /// The attack.
    pub attack: PgdSettings,
    /// Test examples attacked.
    pub examples: usize,
    /// Clean accuracy on them.
    pub clean_accuracy: f64,
    /// Cosines of the perturbations δᵢ = x'ᵢ − xᵢ (flattened), over all examples.
    pub perturbations: CosineStats,
    /// Examples (the first of the subset) whose parameter gradients are compared.
    pub gradient_examples: usize,
    /// Cosines of the per-example parameter gradients ∇θ ℓ(xᵢ + δᵢ) at the adversarial
    /// points (Liu et al.'s scattered gradients).
    pub adversarial_gradients: CosineStats,
    /// The same at the clean points ∇θ ℓ(xᵢ), for reference.
    pub clean_gradients: CosineStats,
    /// Mean loss, accuracy and success rate after each PGD step.
    pub steps: Vec<AttackStep>,
}

impl PerturbationReport {
    /// The measures `compare` lists at the report's epoch: the three mean cosines and the
    /// attack's final success rate.
    pub fn compare_measures(&self) -> Vec<(String, f64)> {
        let attack = self.attack.threat();
        let mut out = vec![
            (format!("cos δ {attack}"), self.perturbations.mean),
            (
                format!("cos ∇θℓ at x+δ {attack}"),
                self.adversarial_gradients.mean,
            ),
            (format!("cos ∇θℓ at x {attack}"), self.clean_gradients.mean),
        ];
        if let Some(last) = self.steps.last() {
            out.push((format!("PGD success rate {attack}"), last.success_rate));
        }
        out
    }
}

impl crate::report::Payload for PerturbationReport {
    const KIND: &'static str = "perturbation";
}
