//! Update rules over the flat parameter vector.
//!
//! burn's per-tensor `Optimizer::step` receives one gradient and cannot ask for more, but
//! EntropySGD's outer step needs L fresh minibatch gradients at points of its own choosing
//! (paper.md §4.1). So an [`UpdateRule`] is handed a [`GradientOracle`] and draws as many
//! minibatch gradients, at as many parameter points, as it needs; the training loop only
//! says "step until the epoch's batches run out". SGD draws one. The objective (clean or
//! adversarial, any norm) lives in the oracle, so rules and objectives combine freely.

mod entropy_sgd;
mod sgd;

pub use entropy_sgd::{ChainOutcome, EntropySgd, LangevinChain, run_langevin_chain};
pub use sgd::Sgd;

use advland_schema::OptimizerSettings;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::Model;

/// Loss and parameter gradient of the training objective on one minibatch.
#[derive(Clone, Debug)]
pub struct MinibatchGradient {
    /// ∇θ of the mean minibatch loss, flat ([`crate::params::flatten`] order).
    pub grad: Tensor<1>,
    /// Mean minibatch loss.
    pub loss: f64,
}

/// Source of fresh minibatch gradients of the training objective.
pub trait GradientOracle {
    /// The next minibatch's loss and gradient at `model`, or `None` once the epoch's batches
    /// are used up. `model` must live on an autodiff device.
    ///
    /// # Errors
    /// A non-finite loss or gradient.
    fn next_gradient(&mut self, model: &Model) -> Result<Option<MinibatchGradient>>;
}

/// What one call of [`UpdateRule::step`] did.
#[derive(Debug)]
pub enum StepOutcome {
    /// The parameters were updated.
    Stepped(Model),
    /// The oracle ran out of batches before a full step; the model is returned unchanged.
    Exhausted(Model),
}

/// The work an update rule has done since it was built.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleCounts {
    /// Parameter updates (EntropySGD: outer steps).
    pub outer_steps: u64,
    /// Langevin steps, a chain cut short included.
    pub inner_steps: u64,
    /// Gradients drawn from the oracle that moved no parameter.
    pub discarded_gradients: u64,
}

/// Everything an update rule carries from one step to the next, so that a run stopped between
/// epochs continues exactly as if it had not stopped.
///
/// At an epoch's end no step is in flight: EntropySGD discards a chain the end cuts short, and
/// its inner momentum restarts with every chain, so the state is the counters plus one buffer.
#[derive(Clone, Debug, Default)]
pub struct RuleState {
    /// Totals so far; EntropySGD's scope γ_t follows `outer_steps`.
    pub counts: RuleCounts,
    /// EntropySGD: chains started, the index of the next chain's noise stream (0 for SGD).
    pub chains: u64,
    /// The (outer) momentum buffer, flat; `None` without momentum or before the first step.
    pub momentum: Option<Tensor<1>>,
}

impl RuleState {
    /// Checks that `momentum` is present exactly when a rule with momentum coefficient
    /// `coefficient` has stepped, and fits `params` parameters.
    fn check_momentum(&self, coefficient: f64, params: usize) -> Result<()> {
        let expected = coefficient != 0.0 && self.counts.outer_steps > 0;
        match &self.momentum {
            Some(m) if m.dims() != [params] => Err(Error::invalid(
                "optimizer state",
                format!(
                    "the momentum buffer has {} values but the model {params} parameters",
                    m.dims()[0]
                ),
            )),
            Some(_) if !expected => Err(Error::invalid(
                "optimizer state",
                "holds a momentum buffer the update rule does not use",
            )),
            None if expected => Err(Error::invalid(
                "optimizer state",
                "lacks the momentum buffer of a rule that has stepped with momentum",
            )),
            _ => Ok(()),
        }
    }
}

/// A parameter update rule.
pub trait UpdateRule {
    /// One (outer) step at learning rate `lr`.
    ///
    /// # Errors
    /// From the oracle.
    fn step(
        &mut self,
        model: Model,
        lr: f64,
        oracle: &mut dyn GradientOracle,
    ) -> Result<StepOutcome>;

    /// Totals since the rule was built.
    fn counts(&self) -> RuleCounts;

    /// Minibatch gradients one full step draws from the oracle.
    fn gradients_per_step(&self) -> usize {
        1
    }

    /// The state to save between epochs ([`RuleState`]).
    fn state(&self) -> RuleState;

    /// Continues from `state`, saved by [`UpdateRule::state`] of a rule with the same settings
    /// on a model with `params` parameters.
    ///
    /// # Errors
    /// A state that does not fit this rule or model.
    fn restore(&mut self, state: RuleState, params: usize) -> Result<()>;
}

/// The update rule of `settings` — the one `match` over optimizer kinds. Random streams
/// (EntropySGD's noise) derive from the run `seed`.
pub fn build_update_rule(settings: &OptimizerSettings, seed: u64) -> Box<dyn UpdateRule> {
    match settings {
        OptimizerSettings::Sgd {
            momentum,
            weight_decay,
            nesterov,
        } => Box::new(Sgd::new(*momentum, *weight_decay, *nesterov)),
        OptimizerSettings::EntropySgd(e) => Box::new(EntropySgd::new(e.clone(), seed)),
    }
}
