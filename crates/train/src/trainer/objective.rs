//! The training objective of one minibatch: its inputs (clean, PGD-AT's x + δ*, or TRADES'
//! KL maximiser), its loss (cross-entropy or TRADES') and, with AWP, the weights it is taken
//! at. The epoch's oracle asks it for gradients at whatever θ the update rule chooses, so every
//! objective works with every rule.

use advland_schema::{Cost, TrainObjective, TrainSettings};
use burn::module::Module;
use burn::tensor::Tensor;

use crate::attack::{Attack, AttackOutput, Start, pgd_attack, projected_ascent_from};
use crate::batch::Batch;
use crate::error::Result;
use crate::loss::{correct, cross_entropy, kl_divergence};
use crate::model::{BnMode, Model};
use crate::params::{ParamLayout, flat_gradient, flatten, from_host, load_flat, to_host};

/// σ of TRADES' start x + σ·N(0, I) (`trades.py`: `0.001 * torch.randn`).
pub(crate) const TRADES_START_SD: f64 = 0.001;
/// Learning rate of AWP's proxy step (`proxy_optim = SGD(lr=0.01)`); the perturbation is
/// rescaled afterwards, so the rate only matters next to [`AWP_EPS`].
pub(crate) const AWP_PROXY_LR: f64 = 0.01;
/// AWP's guard in ‖w‖/(‖d‖ + EPS) (`utils_awp.py`: `EPS = 1E-20`).
pub(crate) const AWP_EPS: f64 = 1e-20;

/// What one epoch's minibatch gradients are gradients of.
#[derive(Clone, Debug)]
pub(crate) struct TrainingObjective<'a> {
    /// The training attack; `None` trains on clean inputs.
    pub(crate) attack: Option<&'a Attack>,
    /// Batch-norm mode of the attack's forwards (`training.attack_bn_mode`).
    pub(crate) attack_bn_mode: BnMode,
    /// Cross-entropy or TRADES.
    pub(crate) loss: &'a TrainObjective,
    /// AWP's γ, when the perturbation applies in this epoch.
    pub(crate) awp_gamma: Option<f64>,
}

/// The loss and gradient of one minibatch, and what they cost.
pub(crate) struct BatchGradient {
    /// ∇θ of the mean loss, flat.
    pub(crate) grad: Tensor<1>,
    /// Σ over the batch of the per-example losses.
    pub(crate) loss_sum: f64,
    /// Examples the training forward classified correctly (at the adversarial inputs under AT
    /// and TRADES, as the loss sees them).
    pub(crate) correct: usize,
    /// Forward and backward passes, in examples, the attack and AWP's proxy step included.
    pub(crate) cost: Cost,
}

impl<'a> TrainingObjective<'a> {
    /// The objective of `settings` in `epoch` (0-based; AWP starts after its warm-up), without
    /// its attack, which the ε schedule sets per minibatch ([`Self::with_attack`]).
    pub(crate) fn of(settings: &'a TrainSettings, epoch: usize) -> Self {
        Self {
            attack: None,
            attack_bn_mode: settings.training.attack_bn_mode,
            loss: &settings.objective,
            awp_gamma: settings
                .awp
                .as_ref()
                .filter(|a| a.active_in(epoch))
                .map(|a| a.gamma),
        }
    }

    /// This objective under `attack` (`None`: clean inputs).
    pub(crate) fn with_attack<'b>(&self, attack: Option<&'b Attack>) -> TrainingObjective<'b>
    where
        'a: 'b,
    {
        TrainingObjective {
            attack,
            ..self.clone()
        }
    }

    /// The minibatch gradient at `model` (autodiff device): the attack at θ (its random start
    /// from `seed`), then ∇θ of the mean loss at θ, or with AWP at θ + v (v from
    /// [`TrainingObjective::awp_perturbation`]). The gradient at θ + v is returned as the
    /// gradient at θ, so the update moves θ and the perturbation is gone afterwards (AWP's
    /// `restore`); `model` itself is never changed.
    ///
    /// Under AWP the update rule then sees only the gradient: SGD's weight decay acts on θ,
    /// where AWP's optimizer steps the perturbed weights and decays θ + v.
    ///
    /// # Errors
    /// A model whose parameters cannot take θ + v (an internal invariant).
    pub(crate) fn gradient(
        &self,
        model: &Model,
        batch: &Batch,
        seed: u64,
    ) -> Result<BatchGradient> {
        let mut cost = Cost::default();
        let inputs = match self.attack {
            Some(attack) => {
                let eval;
                let attacker = match (self.attack_bn_mode, model.bn_mode()) {
                    (BnMode::Eval, Some(BnMode::Train)) => {
                        eval = model.clone().with_bn_mode(BnMode::Eval);
                        &eval
                    }
                    _ => model,
                };
                let out = self.attack_inputs(attacker, batch, attack, seed);
                cost += out.cost;
                out.adversarial
            }
            None => batch.images.clone(),
        };
        let perturbed;
        let at = match self.awp_gamma {
            Some(gamma) => {
                let (v, proxy_cost) = self.awp_perturbation(model, batch, &inputs, gamma);
                cost += proxy_cost;
                perturbed = load_flat(model.clone(), flatten(model) + v)?;
                &perturbed
            }
            None => model,
        };
        let (per_example, logits, passes) = self.losses(at, batch, inputs);
        let loss_sum = f64::from(per_example.clone().detach().sum().into_scalar::<f32>());
        let grads = per_example.mean().backward();
        let grad = flat_gradient(at, &grads);
        cost += passes;
        Ok(BatchGradient {
            grad,
            loss_sum,
            correct: correct(logits.detach(), batch.labels.clone()),
            cost,
        })
    }

    /// The training inputs under `attack`: PGD on the cross-entropy, or TRADES' maximiser of
    /// KL(p(x) ‖ p(x′)) from x + 0.001·N(0, I) by the same projected ascent (steps, step size
    /// and ball from the attack's settings; `restarts` > 1 keeps each example's highest KL).
    ///
    /// TRADES' own code differs in two details: its first gradient is taken at the unclipped
    /// start (here x + δ is clipped to `[0,1]` first), and its L2 attack runs SGD on δ at rate
    /// 2ε/steps with the gradient renormalised per example and δ renormed to ε, where here L2
    /// takes the ball's normalised-gradient steps of the attack's step size with projection.
    fn attack_inputs(
        &self,
        attacker: &Model,
        batch: &Batch,
        attack: &Attack,
        seed: u64,
    ) -> AttackOutput {
        match self.loss {
            TrainObjective::CrossEntropy => pgd_attack(attacker, batch, attack, seed),
            TrainObjective::Trades { .. } => {
                // Parameters are not tracked (only ∇ₓ), and p(x) is a constant of the ascent.
                let attacker = attacker.clone().no_grad();
                let clean = attacker.forward(batch.images.clone()).detach();
                let mut out = projected_ascent_from(
                    &batch.images,
                    attack,
                    Start::Gaussian(TRADES_START_SD),
                    seed,
                    |x_adv| kl_divergence(clean.clone(), attacker.forward(x_adv)),
                );
                out.cost.forward += batch.len() as u64;
                out
            }
        }
    }

    /// Per-example losses at `model` for the training `inputs`, the logits accuracy is read
    /// from, and the passes spent: CE(f(inputs), y); or TRADES' CE(f(x), y) + β·KL(p(x) ‖
    /// p(inputs)), gradients flowing through both forwards as in TRADES (whose `batchmean` KL
    /// is this term's batch mean).
    fn losses(
        &self,
        model: &Model,
        batch: &Batch,
        inputs: Tensor<4>,
    ) -> (Tensor<1>, Tensor<2>, Cost) {
        let n = batch.len() as u64;
        match self.loss {
            TrainObjective::CrossEntropy => {
                let logits = model.forward(inputs);
                let per_example = cross_entropy(logits.clone(), batch.labels.clone());
                (
                    per_example,
                    logits,
                    Cost {
                        forward: n,
                        backward: n,
                    },
                )
            }
            TrainObjective::Trades { beta } => {
                let clean = model.forward(batch.images.clone());
                let adversarial = model.forward(inputs);
                let natural = cross_entropy(clean.clone(), batch.labels.clone());
                let robust = kl_divergence(clean, adversarial.clone());
                (
                    natural + robust.mul_scalar(*beta),
                    adversarial,
                    Cost {
                        forward: 2 * n,
                        backward: 2 * n,
                    },
                )
            }
        }
    }

    /// AWP's weight perturbation v at θ = `model` for the training `inputs` (csdongxian/AWP,
    /// `AdvWeightPerturb.calc_awp` and `diff_in_weights`): one SGD step of rate
    /// [`AWP_PROXY_LR`] that increases this objective's mean loss on a proxy copy of the
    /// network (in the model's batch-norm mode, with running statistics of its own), then for
    /// each weight tensor w_l of more than one dimension, with d_l = w_l′ − w_l its move,
    /// v_l = γ·‖w_l‖·d_l / (‖d_l‖ + 1e-20), so ‖v_l‖ = γ‖w_l‖; biases and batch norm's
    /// weights are not perturbed. Returns v (flat, on the model's device, without autodiff)
    /// and the proxy pass's cost.
    pub(crate) fn awp_perturbation(
        &self,
        model: &Model,
        batch: &Batch,
        inputs: &Tensor<4>,
        gamma: f64,
    ) -> (Tensor<1>, Cost) {
        let proxy = model.with_own_statistics();
        let (per_example, _, cost) = self.losses(&proxy, batch, inputs.clone());
        let grad = to_host(&flat_gradient(&proxy, &per_example.mean().backward()));
        let theta_flat = flatten(model);
        let device = theta_flat.device();
        let theta = to_host(&theta_flat);
        let lr = AWP_PROXY_LR as f32;
        let mut v = vec![0.0f32; theta.len()];
        for entry in ParamLayout::of(model).entries {
            if entry.is_vector() {
                continue;
            }
            let range = entry.offset..entry.offset + entry.len;
            // The proxy's step and its difference in f32, rounded as AWP's tensors are.
            let diff: Vec<f32> = theta[range.clone()]
                .iter()
                .zip(&grad[range.clone()])
                .map(|(&w, &g)| (w + lr * g) - w)
                .collect();
            let norm = |values: &[f32]| {
                values
                    .iter()
                    .map(|&x| f64::from(x) * f64::from(x))
                    .sum::<f64>()
                    .sqrt()
            };
            let scale = gamma * norm(&theta[range.clone()]) / (norm(&diff) + AWP_EPS);
            for (slot, d) in v[range].iter_mut().zip(diff) {
                *slot = (scale * f64::from(d)) as f32;
            }
        }
        (from_host(v, &device), cost)
    }
}

#[cfg(test)]
mod tests;
