//! EntropySGD (Chaudhari et al., ICLR 2017) as in `research/paper.md` §4.1.
//!
//! One outer step at θ = x runs a Langevin chain x' (started at x) for L steps, each on a fresh
//! minibatch drawn from the oracle at x' (under PGD-AT the attack is recomputed at x', as the
//! smoothing argument of paper.md §2.5 needs):
//!
//! ```text
//! d  ← ∇f_B(x') + λ'·x'                         inner weight decay
//! b  ← m'·b + d;  d ← d + m'·b (Nesterov) or b   inner momentum, b = 0 at every outer step
//! x' ← x' − η'·(d − γ_t·(x − x')) + σ·ξ          σ = ε·√(2η') (code) or ε·√η' (Algorithm 1)
//! μ  ← w·μ + (1 − w)·x'                          μ = x before the chain
//! ```
//!
//! then moves x along G = x − μ (code) or γ_t·(x − μ) (Algorithm 1) with PyTorch's SGD
//! recurrence (outer momentum and weight decay, [`Sgd::direction`]): x ← x − η·direction(G).
//! The scope is γ_t = γ0·(1 + γ1)^t with t the number of outer steps taken (or 0 throughout
//! under [`Scoping::Frozen`], the reference PyTorch behaviour). As t counts outer steps, γ grows
//! once per parameter update, as in the CIFAR-10 recipe "×1.001 per parameter update".
//!
//! For p(x') ∝ exp(−f(x') − γ/2·‖x − x'‖²) the chain is a sampler at temperature ε² (code
//! noise), and γ(x − μ) estimates γ(x − E[x']) = −∇ of the local entropy (paper.md §2.5).

use advland_data::derive_seed;
use advland_schema::{EntropySgdSettings, NoiseConvention, OuterConvention, Scoping};
use burn::tensor::Tensor;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::{GradientOracle, RuleCounts, RuleState, StepOutcome, UpdateRule};
use crate::attack::standard_normal;
use crate::error::Result;
use crate::model::Model;
use crate::optim::Sgd;
use crate::params::{flatten, from_host, load_flat};

/// The end state of one Langevin chain.
#[derive(Clone, Debug)]
pub struct LangevinChain {
    /// μ, the running mean of the iterates.
    pub mean: Tensor<1>,
    /// The last iterate x'.
    pub last: Tensor<1>,
}

/// How a chain ended.
#[derive(Clone, Debug)]
pub enum ChainOutcome {
    /// All L steps were taken.
    Complete(Box<LangevinChain>),
    /// The gradient source ran dry after this many steps.
    CutShort(usize),
}

/// Runs EntropySGD's Langevin chain from `anchor` (= x) at scope `gamma`: `settings.inner_steps`
/// steps, each calling `grad_at(x')` for a fresh minibatch gradient at the current iterate.
/// Noise is drawn on the host from ChaCha8 seeded with `seed`, so a seed gives the same chain
/// on every backend; with `noise = 0` nothing is drawn.
///
/// # Errors
/// From `grad_at`.
pub fn run_langevin_chain(
    settings: &EntropySgdSettings,
    anchor: &Tensor<1>,
    gamma: f64,
    seed: u64,
    grad_at: &mut dyn FnMut(&Tensor<1>) -> Result<Option<Tensor<1>>>,
) -> Result<ChainOutcome> {
    let s = settings;
    let device = anchor.device();
    let [n] = anchor.dims();
    let noise_std = match s.noise_convention {
        NoiseConvention::Code => s.noise * (2.0 * s.inner_lr).sqrt(),
        NoiseConvention::Algorithm => s.noise * s.inner_lr.sqrt(),
    };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut x = anchor.clone();
    let mut mean = anchor.clone();
    let mut buffer: Option<Tensor<1>> = None;
    for step in 0..s.inner_steps {
        let Some(grad) = grad_at(&x)? else {
            return Ok(ChainOutcome::CutShort(step));
        };
        let mut d = grad;
        if s.weight_decay != 0.0 {
            d = d + x.clone().mul_scalar(s.weight_decay);
        }
        if s.momentum != 0.0 {
            // The reference zeroes the buffer per outer step, so the first step's buffer is d.
            let b = match buffer.take() {
                Some(b) => b.mul_scalar(s.momentum) + d.clone(),
                None => d.clone(),
            };
            d = if s.nesterov {
                d + b.clone().mul_scalar(s.momentum)
            } else {
                b.clone()
            };
            buffer = Some(b);
        }
        // The coupling and the noise bypass momentum, as in the reference code.
        d = d - (anchor.clone() - x.clone()).mul_scalar(gamma);
        x = x - d.mul_scalar(s.inner_lr);
        if noise_std != 0.0 {
            let xi: Vec<f32> = (0..n)
                .map(|_| (standard_normal(&mut rng) * noise_std) as f32)
                .collect();
            x = x + from_host(xi, &device);
        }
        mean = mean.mul_scalar(s.mean_weight) + x.clone().mul_scalar(1.0 - s.mean_weight);
    }
    Ok(ChainOutcome::Complete(Box::new(LangevinChain {
        mean,
        last: x,
    })))
}

/// EntropySGD over the flat parameter vector; see the module docs for the update.
#[derive(Debug)]
pub struct EntropySgd {
    settings: EntropySgdSettings,
    seed: u64,
    outer: Sgd,
    /// Chains started, the index of each chain's noise stream (a chain cut short by the end
    /// of an epoch must not hand its noise to the next one).
    chains: u64,
    counts: RuleCounts,
}

impl EntropySgd {
    /// A fresh optimizer (t = 0, no outer momentum yet); noise streams derive from `seed`
    /// (the run seed) as `derive_seed(seed, "entropy-sgd", chain)`.
    pub fn new(settings: EntropySgdSettings, seed: u64) -> Self {
        let outer = Sgd::new(
            settings.outer_momentum,
            settings.outer_weight_decay,
            settings.outer_nesterov,
        );
        Self {
            settings,
            seed,
            outer,
            chains: 0,
            counts: RuleCounts::default(),
        }
    }

    /// The scope of the next outer step, γ_t = γ0·(1 + γ1)^t (γ0 under [`Scoping::Frozen`]).
    pub fn gamma(&self) -> f64 {
        match self.settings.scoping {
            Scoping::OuterStep => {
                let t = self.counts.outer_steps as f64;
                self.settings.gamma0 * (1.0 + self.settings.gamma1).powf(t)
            }
            Scoping::Frozen => self.settings.gamma0,
        }
    }

    /// The outer gradient G for anchor x, chain mean μ and scope γ: x − μ or γ(x − μ).
    fn outer_gradient(&self, anchor: &Tensor<1>, mean: Tensor<1>, gamma: f64) -> Tensor<1> {
        let g = anchor.clone() - mean;
        match self.settings.outer_convention {
            OuterConvention::Code => g,
            OuterConvention::Algorithm => g.mul_scalar(gamma),
        }
    }
}

impl UpdateRule for EntropySgd {
    fn step(
        &mut self,
        model: Model,
        lr: f64,
        oracle: &mut dyn GradientOracle,
    ) -> Result<StepOutcome> {
        if self.settings.anchor_gradient {
            if oracle.next_gradient(&model)?.is_none() {
                return Ok(StepOutcome::Exhausted(model));
            }
            self.counts.discarded_gradients += 1;
        }
        let anchor = flatten(&model);
        let gamma = self.gamma();
        let seed = derive_seed(self.seed, "entropy-sgd", self.chains);
        self.chains += 1;
        let mut grad_at = |theta: &Tensor<1>| -> Result<Option<Tensor<1>>> {
            let at = load_flat(model.clone(), theta.clone())?;
            Ok(oracle.next_gradient(&at)?.map(|g| g.grad))
        };
        let outcome = run_langevin_chain(&self.settings, &anchor, gamma, seed, &mut grad_at)?;
        let chain = match outcome {
            ChainOutcome::Complete(chain) => chain,
            ChainOutcome::CutShort(taken) => {
                self.counts.inner_steps += taken as u64;
                self.counts.discarded_gradients += taken as u64;
                return Ok(StepOutcome::Exhausted(model));
            }
        };
        self.counts.inner_steps += self.settings.inner_steps as u64;
        let g = self.outer_gradient(&anchor, chain.mean, gamma);
        let d = self.outer.direction(&anchor, g);
        let updated = load_flat(model, anchor - d.mul_scalar(lr))?;
        self.counts.outer_steps += 1;
        Ok(StepOutcome::Stepped(updated))
    }

    fn counts(&self) -> RuleCounts {
        self.counts
    }

    fn gradients_per_step(&self) -> usize {
        self.settings.inner_steps + usize::from(self.settings.anchor_gradient)
    }

    fn state(&self) -> RuleState {
        RuleState {
            counts: self.counts,
            chains: self.chains,
            momentum: self.outer.velocity().cloned(),
        }
    }

    fn restore(&mut self, state: RuleState, params: usize) -> Result<()> {
        state.check_momentum(self.settings.outer_momentum, params)?;
        self.counts = state.counts;
        self.chains = state.chains;
        self.outer.set_velocity(state.momentum);
        Ok(())
    }
}

#[cfg(test)]
mod tests;
