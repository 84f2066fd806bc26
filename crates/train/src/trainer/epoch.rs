//! One epoch's supply of minibatch gradients: the training objective lives here.

use advland_data::{Dataset, derive_seed};
use advland_schema::Cost;
use burn::tensor::Device;

use super::Observer;
use super::eval::Tally;
use super::schedule::RunSchedule;
use crate::attack::pgd_attack;
use crate::batch::Batch;
use crate::error::{Error, Result};
use crate::loss::{correct, cross_entropy};
use crate::model::{BnMode, Model};
use crate::optim::{GradientOracle, MinibatchGradient};
use crate::params::flat_gradient;

/// Serves the minibatches of one epoch, in order, as gradients of the training objective:
/// the clean loss, or — under PGD-AT — the loss at x + δ* with δ* recomputed for the model
/// the gradient is asked at (so EntropySGD's inner iterates get their own attacks).
pub(crate) struct EpochOracle<'a> {
    pub(crate) data: &'a Dataset,
    pub(crate) batches: Vec<Vec<usize>>,
    pub(crate) next: usize,
    /// The training attack of each minibatch (`training.eps_schedule`).
    pub(crate) schedule: &'a RunSchedule,
    /// Batch-norm mode of the attack's forwards (`training.attack_bn_mode`).
    pub(crate) attack_bn_mode: BnMode,
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
        let inputs = match attack.as_ref() {
            Some(attack) => {
                let seed = derive_seed(self.seed, "train-attack", self.step);
                let out = match (self.attack_bn_mode, model.bn_mode()) {
                    (BnMode::Eval, Some(BnMode::Train)) => {
                        let eval = model.clone().with_bn_mode(BnMode::Eval);
                        pgd_attack(&eval, &batch, attack, seed)
                    }
                    _ => pgd_attack(model, &batch, attack, seed),
                };
                self.cost += out.cost;
                out.adversarial
            }
            None => batch.images,
        };
        let logits = model.forward(inputs);
        let per_example = cross_entropy(logits.clone(), batch.labels.clone());
        let loss_sum = f64::from(per_example.clone().detach().sum().into_scalar::<f32>());
        if !loss_sum.is_finite() {
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
        let grads = per_example.mean().backward();
        let grad = flat_gradient(model, &grads);
        self.tally
            .add(loss_sum, correct(logits.detach(), batch.labels), n);
        self.cost += Cost {
            forward: n as u64,
            backward: n as u64,
        };
        self.gradients += 1;
        self.observer
            .progress("train", self.next, self.batches.len());
        Ok(Some(MinibatchGradient {
            grad,
            loss: loss_sum / n as f64,
        }))
    }
}
