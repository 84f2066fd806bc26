//! One epoch's supply of minibatch gradients of the training objective (`objective.rs`).

use advland_data::{Dataset, derive_seed};
use advland_schema::Cost;
use burn::tensor::Device;

use super::Observer;
use super::eval::Tally;
use super::objective::TrainingObjective;
use super::schedule::RunSchedule;
use crate::batch::Batch;
use crate::error::{Error, Result};
use crate::model::Model;
use crate::optim::{GradientOracle, MinibatchGradient};

/// Serves the minibatches of one epoch, in order, as gradients of the training objective
/// ([`TrainingObjective`]: clean, PGD-AT or TRADES, optionally with AWP), its attack and weight
/// perturbation recomputed for the model the gradient is asked at (so EntropySGD's inner
/// iterates get their own).
pub(crate) struct EpochOracle<'a> {
    pub(crate) data: &'a Dataset,
    pub(crate) batches: Vec<Vec<usize>>,
    pub(crate) next: usize,
    /// The training attack of each minibatch (`training.eps_schedule`).
    pub(crate) schedule: &'a RunSchedule,
    /// What the gradients are gradients of (loss, AWP; the attack comes from `schedule`).
    pub(crate) objective: TrainingObjective<'a>,
    pub(crate) seed: u64,
    /// Global minibatch counter, so every attack in the run gets its own random start.
    pub(crate) step: u64,
    /// The epoch, from 1 (for messages).
    pub(crate) epoch: usize,
    pub(crate) device: &'a Device,
    pub(crate) tally: Tally,
    /// Examples passed for the training gradients, attacks included.
    pub(crate) cost: Cost,
    /// Gradients served this epoch.
    pub(crate) gradients: u64,
    /// Gradients this epoch may still serve under `training.gradient_budget`.
    pub(crate) budget: Option<u64>,
    pub(crate) observer: &'a mut dyn Observer,
}

impl GradientOracle for EpochOracle<'_> {
    fn next_gradient(&mut self, model: &Model) -> Result<Option<MinibatchGradient>> {
        if self.budget.is_some_and(|b| self.gradients >= b) {
            return Ok(None);
        }
        let Some(indices) = self.batches.get(self.next) else {
            return Ok(None);
        };
        self.next += 1;
        self.step += 1;
        let n = indices.len();
        let batch = Batch::gather(self.data, indices, self.device);
        let attack = self.schedule.attack(self.epoch - 1, self.next - 1);
        let seed = derive_seed(self.seed, "train-attack", self.step);
        let out = self
            .objective
            .with_attack(attack.as_ref())
            .gradient(model, &batch, seed)?;
        if !out.loss_sum.is_finite() {
            // On the run's first batch no update has happened yet, so the learning rate
            // cannot be the cause.
            let hint = if self.step == 1 {
                "before any parameter update: check the data, the model and the attack radius"
            } else {
                "the parameters diverged: try a smaller learning rate"
            };
            return Err(Error::NonFinite {
                what: "training loss",
                epoch: self.epoch,
                batch: self.next,
                hint,
            });
        }
        self.tally.add(out.loss_sum, out.correct, n);
        self.cost += out.cost;
        self.gradients += 1;
        self.observer
            .progress("train", self.next, self.batches.len());
        Ok(Some(MinibatchGradient {
            grad: out.grad,
            loss: out.loss_sum / n as f64,
        }))
    }
}
