//! Update-rule settings: SGD and EntropySGD (`research/paper.md` §4), as written in the
//! `[optimizer]` table of a settings file.

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// The parameter update rule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum OptimizerSettings {
    /// Stochastic gradient descent with heavy-ball or Nesterov momentum and L2 weight decay
    /// (PyTorch's `torch.optim.SGD` update: v ← μv + (g + λθ); θ ← θ − η·v).
    Sgd {
        /// Momentum μ (0 disables it).
        #[serde(default = "default_momentum")]
        momentum: f64,
        /// Weight decay λ added to the gradient.
        #[serde(default = "default_weight_decay")]
        weight_decay: f64,
        /// Nesterov momentum.
        #[serde(default)]
        nesterov: bool,
    },
    /// EntropySGD (Chaudhari et al.; `research/paper.md` §4.1): each outer step runs a Langevin
    /// chain of `inner_steps` minibatch steps from θ, coupled to θ with strength γ, and moves θ
    /// towards the chain's running mean μ.
    EntropySgd(EntropySgdSettings),
}

/// How the outer step scales the local-entropy direction θ − μ (`research/paper.md` §4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum OuterConvention {
    /// θ ← θ − η·(θ − μ), as the reference code (PyTorch and Lua) does [VERIFIED, E1].
    Code,
    /// θ ← θ − η·γ·(θ − μ), Algorithm 1 of the Entropy-SGD paper (recalled, not re-read).
    Algorithm,
}

/// The standard deviation of the Langevin noise for thermal noise ε and inner rate η'.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum NoiseConvention {
    /// ε·√(2η') (the code adds η'·ε/√(η'/2)·ξ) [VERIFIED, E1]: samples exp(−U/ε²).
    Code,
    /// ε·√η', Algorithm 1 of the Entropy-SGD paper (recalled, not re-read): samples exp(−2U/ε²).
    Algorithm,
}

/// When the scope γ_t = γ0·(1 + γ1)^t advances.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum Scoping {
    /// t counts outer steps (the Lua code used for the paper, and the E2 reproduction).
    OuterStep,
    /// t stays 0, so γ = γ0 throughout: what the reference PyTorch code does, because it never
    /// increments its counter (`research/paper.md` §4.1, the bug noted there).
    Frozen,
}

/// EntropySGD's settings. Defaults are the reference code's (`research/paper.md` §4.1–4.2,
/// ucla-vision/entropy-sgd, CIFAR-10 recipe). Kanai et al.'s values for AT are all
/// [UNKNOWN] (§4.3), so none of these is theirs. The outer learning rate is
/// `training.lr` (the paper's CIFAR-10 run uses 1 with the code convention).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EntropySgdSettings {
    /// L, Langevin steps per outer step, each on a fresh minibatch. 20 [VERIFIED §4.2].
    pub inner_steps: usize,
    /// γ0, initial scope (coupling strength). 0.03, the CIFAR-10 recipe [VERIFIED §4.2]; the
    /// MNIST recipe uses 1e-4.
    pub gamma0: f64,
    /// γ1, scoping rate: γ_t = γ0·(1 + γ1)^t. 1e-3 [VERIFIED §4.2].
    pub gamma1: f64,
    /// What t counts. `outer-step` (the Lua code) [VERIFIED §4.1].
    pub scoping: Scoping,
    /// η', the Langevin learning rate, fixed (not scheduled). 0.1 [VERIFIED §4.1].
    pub inner_lr: f64,
    /// ε, thermal noise. 1e-4 [VERIFIED §4.2].
    pub noise: f64,
    /// How ε becomes a noise standard deviation. `code` [VERIFIED §4.1].
    pub noise_convention: NoiseConvention,
    /// Weight of the old mean in μ ← w·μ + (1 − w)·θ'. 0.75 [VERIFIED §4.1, code `beta1`].
    pub mean_weight: f64,
    /// How the outer step scales θ − μ. `code` [VERIFIED §4.1].
    pub outer_convention: OuterConvention,
    /// Momentum on the Langevin minibatch gradient (buffer reset every outer step).
    /// 0.9 [VERIFIED §4.2, PyTorch CLI default].
    pub momentum: f64,
    /// Nesterov form of the inner momentum. true [VERIFIED §4.1].
    pub nesterov: bool,
    /// Weight decay added to the Langevin minibatch gradient. 0 [VERIFIED §4.2, PyTorch CLI
    /// default; the CIFAR-10 recipe uses 1e-3].
    pub weight_decay: f64,
    /// Momentum of the outer step on θ − μ (buffer kept across outer steps). 0.9: the
    /// PyTorch code shares one momentum between both loops [VERIFIED §4.1]; the Lua code
    /// uses none (0).
    pub outer_momentum: f64,
    /// Nesterov form of the outer momentum. true [VERIFIED §4.1].
    pub outer_nesterov: bool,
    /// Weight decay added to θ − μ in the outer step. 0, shared with the inner loop in the
    /// PyTorch code [VERIFIED §4.1]; the Lua code uses none.
    pub outer_weight_decay: f64,
    /// Spend one extra minibatch gradient at θ before the chain, as the reference PyTorch
    /// code does (its result only feeds the logged loss, so an outer step costs L + 1
    /// gradients there; our reading of E1). false: it changes no parameter.
    pub anchor_gradient: bool,
}

impl Default for EntropySgdSettings {
    fn default() -> Self {
        Self {
            inner_steps: 20,
            gamma0: 0.03,
            gamma1: 1e-3,
            scoping: Scoping::OuterStep,
            inner_lr: 0.1,
            noise: 1e-4,
            noise_convention: NoiseConvention::Code,
            mean_weight: 0.75,
            outer_convention: OuterConvention::Code,
            momentum: 0.9,
            nesterov: true,
            weight_decay: 0.0,
            outer_momentum: 0.9,
            outer_nesterov: true,
            outer_weight_decay: 0.0,
            anchor_gradient: false,
        }
    }
}

impl EntropySgdSettings {
    /// Every broken rule, each naming its field under `prefix` (e.g. `optimizer`).
    pub fn problems(&self, prefix: &str) -> Vec<Error> {
        let mut problems = Vec::new();
        let field = |name: &str| format!("{prefix}.{name}");
        if self.inner_steps == 0 {
            problems.push(Error::invalid(field("inner_steps"), "must be >= 1"));
        }
        let positive = [("gamma0", self.gamma0), ("inner_lr", self.inner_lr)];
        for (name, v) in positive {
            if !(v.is_finite() && v > 0.0) {
                problems.push(Error::invalid(
                    field(name),
                    format!("must be finite and > 0, got {v}"),
                ));
            }
        }
        let non_negative = [
            ("gamma1", self.gamma1),
            ("noise", self.noise),
            ("weight_decay", self.weight_decay),
            ("outer_weight_decay", self.outer_weight_decay),
        ];
        for (name, v) in non_negative {
            if !(v.is_finite() && v >= 0.0) {
                problems.push(Error::invalid(
                    field(name),
                    format!("must be finite and >= 0, got {v}"),
                ));
            }
        }
        for (name, v) in [
            ("mean_weight", self.mean_weight),
            ("momentum", self.momentum),
            ("outer_momentum", self.outer_momentum),
        ] {
            if !(0.0..1.0).contains(&v) {
                problems.push(Error::invalid(
                    field(name),
                    format!("must be in [0, 1), got {v}"),
                ));
            }
        }
        problems
    }
}

fn default_momentum() -> f64 {
    0.9
}
fn default_weight_decay() -> f64 {
    5e-4
}

impl Default for OptimizerSettings {
    fn default() -> Self {
        OptimizerSettings::Sgd {
            momentum: default_momentum(),
            weight_decay: default_weight_decay(),
            nesterov: false,
        }
    }
}
