//! SGD with momentum and weight decay, PyTorch's update.

use burn::tensor::Tensor;

use super::{GradientOracle, RuleCounts, RuleState, StepOutcome, UpdateRule};
use crate::error::{Error, Result};
use crate::model::Model;
use crate::params::{flatten, load_flat};

/// `torch.optim.SGD`: d = g + λθ; v ← μv + d (v = d on the first step);
/// θ ← θ − η·(d + μv if Nesterov else v).
#[derive(Debug)]
pub struct Sgd {
    momentum: f64,
    weight_decay: f64,
    nesterov: bool,
    velocity: Option<Tensor<1>>,
    steps: u64,
}

impl Sgd {
    /// A fresh optimizer (no velocity yet).
    pub fn new(momentum: f64, weight_decay: f64, nesterov: bool) -> Self {
        Self {
            momentum,
            weight_decay,
            nesterov,
            velocity: None,
            steps: 0,
        }
    }

    /// The update direction for gradient `grad` at parameters `theta`, advancing momentum.
    pub fn direction(&mut self, theta: &Tensor<1>, grad: Tensor<1>) -> Tensor<1> {
        let mut d = grad;
        if self.weight_decay != 0.0 {
            d = d + theta.clone().mul_scalar(self.weight_decay);
        }
        if self.momentum == 0.0 {
            return d;
        }
        let v = match self.velocity.take() {
            Some(v) => v.mul_scalar(self.momentum) + d.clone(),
            None => d.clone(),
        };
        self.velocity = Some(v.clone());
        if self.nesterov {
            d + v.mul_scalar(self.momentum)
        } else {
            v
        }
    }

    /// The momentum buffer (`None` without momentum or before the first direction).
    pub fn velocity(&self) -> Option<&Tensor<1>> {
        self.velocity.as_ref()
    }

    /// Continues with momentum buffer `velocity`, as if the directions that built it had been
    /// taken by this optimizer.
    pub fn set_velocity(&mut self, velocity: Option<Tensor<1>>) {
        self.velocity = velocity;
    }
}

impl UpdateRule for Sgd {
    fn step(
        &mut self,
        model: Model,
        lr: f64,
        oracle: &mut dyn GradientOracle,
    ) -> Result<StepOutcome> {
        let Some(g) = oracle.next_gradient(&model)? else {
            return Ok(StepOutcome::Exhausted(model));
        };
        let theta = flatten(&model);
        let d = self.direction(&theta, g.grad);
        let updated = load_flat(model, theta - d.mul_scalar(lr))?;
        self.steps += 1;
        Ok(StepOutcome::Stepped(updated))
    }

    fn counts(&self) -> RuleCounts {
        RuleCounts {
            outer_steps: self.steps,
            ..RuleCounts::default()
        }
    }

    fn state(&self) -> RuleState {
        RuleState {
            counts: self.counts(),
            chains: 0,
            momentum: self.velocity.clone(),
        }
    }

    fn restore(&mut self, state: RuleState, params: usize) -> Result<()> {
        let c = state.counts;
        if state.chains != 0 || c.inner_steps != 0 || c.discarded_gradients != 0 {
            return Err(Error::invalid(
                "optimizer state",
                "records Langevin chains, so it was saved by EntropySGD, not SGD",
            ));
        }
        state.check_momentum(self.momentum, params)?;
        self.steps = c.outer_steps;
        self.velocity = state.momentum;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::{from_host, to_host};
    use burn::tensor::Device;

    #[test]
    fn momentum_matches_pytorch_recurrence() {
        // torch: v1 = g1 + wd*θ; v2 = μ v1 + (g2 + wd*θ)
        let d = Device::flex();
        let theta = from_host(vec![1.0, -2.0], &d);
        let mut sgd = Sgd::new(0.9, 0.1, false);
        let d1 = to_host(&sgd.direction(&theta, from_host(vec![0.5, 0.5], &d)));
        assert_eq!(d1, vec![0.6, 0.3]);
        let d2 = to_host(&sgd.direction(&theta, from_host(vec![0.0, 1.0], &d)));
        let want = [0.9 * 0.6 + 0.1, 0.9 * 0.3 + 0.8];
        assert!(
            (d2[0] - want[0]).abs() < 1e-6 && (d2[1] - want[1]).abs() < 1e-6,
            "{d2:?}"
        );
        let mut nesterov = Sgd::new(0.5, 0.0, true);
        let n1 = to_host(&nesterov.direction(&theta, from_host(vec![2.0, 0.0], &d)));
        assert_eq!(n1, vec![3.0, 0.0]);
    }
}
