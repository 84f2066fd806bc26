//! Payloads of training and evaluation reports.

use serde::{Deserialize, Serialize};

use crate::attack::{AttackResult, RobustWorstCase};
use crate::report::Cost;
use crate::threat::PgdSettings;

/// Mean loss and accuracy over a set of examples.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metrics {
    /// Mean cross-entropy.
    pub loss: f64,
    /// Fraction classified correctly.
    pub accuracy: f64,
    /// Number of examples.
    pub examples: usize,
}

/// Loss and accuracy under one attack.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RobustMetrics {
    /// The attack.
    pub attack: PgdSettings,
    /// Loss and accuracy on the attacked inputs.
    pub metrics: Metrics,
}

/// Clean and attacked performance of one model on one data subset.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalResult {
    /// On unmodified inputs.
    pub clean: Metrics,
    /// One entry per PGD attack.
    pub robust: Vec<RobustMetrics>,
    /// Evaluations with attack specifications (`evaluate_attacks`): every attack asked for,
    /// PGD included, in order, with per-example flags; empty elsewhere (training logs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attacks: Vec<AttackResult>,
    /// The per-example worst case over the clean inputs and `attacks`; absent where
    /// `attacks` is empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worst_case: Option<RobustWorstCase>,
}

/// One line of the per-epoch training log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EpochRecord {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Learning rate of the epoch's first step (of the whole epoch under per-epoch schedules).
    pub lr: f64,
    /// Learning rate of the epoch's last step; absent in logs written before per-minibatch
    /// schedules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lr_last: Option<f64>,
    /// Smallest and largest radius of the epoch's training attacks (`training.eps_schedule`);
    /// absent under standard training and in logs written before ε schedules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eps: Option<EpsRange>,
    /// Mean loss/accuracy of the objective actually minimised (adversarial under PGD-AT;
    /// TRADES' loss, with the accuracy at x′, under TRADES; at the perturbed weights under
    /// AWP), accumulated over the epoch's minibatches while training.
    pub train_objective: Metrics,
    /// Clean loss/accuracy on the (evaluation subset of the) training split after the epoch.
    pub train_clean: Metrics,
    /// Clean and robust test performance after the epoch.
    pub test: EvalResult,
    /// Clean and robust performance on the validation split (`data.validation_subset`) after
    /// the epoch, under the test's attacks; absent when the run holds none out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<EvalResult>,
    /// Wall-clock seconds of the epoch, evaluation included.
    pub duration_s: f64,
    /// Work done in the epoch, evaluation included.
    pub cost: Cost,
    /// What the update rule did and spent in the epoch (evaluation excluded).
    #[serde(default)]
    pub updates: UpdateCost,
}

impl EpochRecord {
    /// The epoch's evaluations by split name: `test`, then `validation` when the run holds one
    /// out.
    pub fn evaluations(&self) -> impl Iterator<Item = (&'static str, &EvalResult)> {
        std::iter::once(("test", &self.test))
            .chain(self.validation.iter().map(|v| ("validation", v)))
    }
}

/// The radii a scheduled training attack took within an epoch (0: clean minibatches).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EpsRange {
    /// Smallest radius.
    pub min: f64,
    /// Largest radius.
    pub max: f64,
}

/// The optimizer's side of the cost, so that update rules compare at equal gradient budget:
/// SGD spends one minibatch gradient per step, EntropySGD L (+1 with `anchor_gradient`) per
/// outer step.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateCost {
    /// Parameter updates (EntropySGD: outer steps).
    pub outer_steps: u64,
    /// Langevin steps (0 for SGD), those of a chain cut short by the end of the epoch included.
    pub inner_steps: u64,
    /// Minibatch gradients of the training objective computed; under AT each is an
    /// adversarial gradient with its own PGD attack at the point it was asked at.
    pub gradient_evaluations: u64,
    /// Of those, the ones that moved no parameter: a Langevin chain the epoch's end cut
    /// short, or EntropySGD's anchor gradient.
    pub discarded_gradient_evaluations: u64,
    /// Examples passed forward/backward for them, attack steps included.
    pub examples: Cost,
}

impl std::ops::AddAssign for UpdateCost {
    fn add_assign(&mut self, rhs: Self) {
        self.outer_steps += rhs.outer_steps;
        self.inner_steps += rhs.inner_steps;
        self.gradient_evaluations += rhs.gradient_evaluations;
        self.discarded_gradient_evaluations += rhs.discarded_gradient_evaluations;
        self.examples += rhs.examples;
    }
}

/// A saved checkpoint.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointEntry {
    /// Epoch after which it was saved.
    pub epoch: usize,
    /// Directory, relative to the run directory.
    pub path: String,
}

/// Payload of a `train` report: the whole log of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainLog {
    /// Number of trainable parameters.
    pub parameters: usize,
    /// One record per finished epoch.
    pub epochs: Vec<EpochRecord>,
    /// Saved checkpoints.
    pub checkpoints: Vec<CheckpointEntry>,
    /// The epochs' [`EpochRecord::updates`] summed.
    #[serde(default)]
    pub updates: UpdateCost,
}

/// Payload of an `eval` report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalReport {
    /// The checkpoint or weights file evaluated.
    pub model_path: String,
    /// Epochs the model was trained for (0 when unknown).
    pub epoch: usize,
    /// Clean and robust results.
    pub result: EvalResult,
}

/// One model of the demo.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoModel {
    /// Short name (`standard`, `linf`, `l2`).
    pub name: String,
    /// Run directory, relative to the demo directory.
    pub run_dir: String,
    /// The training attack; absent for standard training.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adversarial: Option<PgdSettings>,
    /// Epochs trained.
    pub epochs: usize,
    /// Seconds spent training (per-epoch evaluation included).
    pub train_duration_s: f64,
    /// Final evaluation on the test subset under every demo attack (PGD).
    pub eval: EvalResult,
    /// Per demo attack's norm and radius, on the same examples: PGD and autoattack-lite with
    /// per-example flags and their worst case. Absent in demos made before it existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub robustness: Vec<EvalResult>,
    /// Parameter-space sharpness and smoothness of the final checkpoint, one entry per attack.
    pub sharpness: Vec<DemoSharpness>,
    /// Input-space flatness of the final checkpoint at clean and adversarial points, one entry
    /// per attack.
    pub flatness: Vec<DemoFlatness>,
}

/// Input-space flatness of one demo model under one attack.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoFlatness {
    /// The attack giving the adversarial points.
    pub attack: PgdSettings,
    /// Measures at clean and at adversarial points.
    pub points: Vec<crate::flatness::FlatnessAtPoint>,
    /// The full report, relative to the demo directory.
    pub report: String,
}

/// Sharpness and smoothness of one demo model under one attack.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoSharpness {
    /// The attack of the objectives.
    pub attack: PgdSettings,
    /// Top Hessian eigenvalues (signed, largest |λ| first) of the adversarial-frozen loss.
    pub eigenvalues: Vec<f64>,
    /// Largest gradient-Lipschitz estimate κ of the adversarial loss (attack re-solved).
    pub kappa_adversarial: f64,
    /// The same for the adversarial-frozen loss.
    pub kappa_frozen: f64,
    /// κ(r) of the adversarial loss: (radius, max κ over directions).
    pub kappa_curve_adversarial: Vec<(f64, f64)>,
    /// κ(r) of the adversarial-frozen loss.
    pub kappa_curve_frozen: Vec<(f64, f64)>,
    /// The two full reports, relative to the demo directory.
    pub reports: Vec<String>,
}

/// Payload of the `demo` report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoSummary {
    /// Whether `--quick` was used.
    pub quick: bool,
    /// The models, standard first.
    pub models: Vec<DemoModel>,
    /// Input flatness next to κ across the demo's checkpoints (several epochs, both norms).
    pub relation: crate::flatness::RelationReport,
    /// Surface reports (relative paths): L∞ and L2 models on shared directions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub surfaces: Vec<String>,
    /// The HTML report (relative path of its `index.html`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<String>,
}

impl crate::report::Payload for DemoSummary {
    const KIND: &'static str = "demo";
}

impl crate::report::Payload for EvalReport {
    const KIND: &'static str = "eval";
}

impl crate::report::Payload for TrainLog {
    const KIND: &'static str = "train";
}
