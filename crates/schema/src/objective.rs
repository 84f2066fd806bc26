//! What a training minibatch gradient is the gradient of: the cross-entropy at the training
//! inputs (clean, or PGD-AT's x + δ*) or TRADES' loss, either optionally under an adversarial
//! weight perturbation (AWP), as written in a settings file (`objective = …`, `[awp]`).

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// The training loss of one minibatch.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub enum TrainObjective {
    /// Mean cross-entropy at the training inputs: the clean ones, or under `adversarial` the
    /// PGD points x + δ* (PGD-AT, Madry et al. 2018).
    #[default]
    CrossEntropy,
    /// TRADES (Zhang et al. 2019): CE(f(x), y) + β·KL(p(x) ‖ p(x′)), the KL summed over classes
    /// and averaged over the batch (PyTorch's `batchmean`), x′ the maximiser of that KL over
    /// `adversarial`'s ball, found by its PGD from x + 0.001·N(0, I).
    Trades {
        /// β, the weight of the robust (KL) term; TRADES' CIFAR-10 runs use 6.
        beta: f64,
    },
}

impl TrainObjective {
    /// Whether this is the cross-entropy objective (the default, not written to files).
    pub fn is_cross_entropy(&self) -> bool {
        *self == TrainObjective::CrossEntropy
    }
}

/// Adversarial weight perturbation (Wu et al. 2020, csdongxian/AWP's `AdvWeightPerturb`): per
/// minibatch, after the attack, one gradient-ascent step of the training loss on a copy of the
/// weights gives each weight tensor of more than one dimension (conv and linear weights; not
/// biases or batch norm) a perturbation of norm `gamma`·‖w‖; the gradient at the perturbed
/// weights updates the unperturbed ones.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwpSettings {
    /// γ, the perturbation's size relative to each weight tensor's norm (AWP: 0.01 for PGD-AT,
    /// 0.005 for TRADES).
    pub gamma: f64,
    /// Epochs trained without the perturbation before it starts (AWP's `--awp-warmup`).
    #[serde(default)]
    pub warmup_epochs: usize,
}

impl Default for AwpSettings {
    /// AWP's defaults for PGD-AT.
    fn default() -> Self {
        Self {
            gamma: 0.01,
            warmup_epochs: 0,
        }
    }
}

impl AwpSettings {
    /// Whether the perturbation applies in `epoch` (0-based): after the warm-up.
    pub fn active_in(&self, epoch: usize) -> bool {
        epoch >= self.warmup_epochs
    }
}

/// The broken rules of an objective and its AWP, for [`crate::TrainSettings::check`];
/// `adversarial` says whether the run has a training attack.
pub(crate) fn objective_problems(
    objective: &TrainObjective,
    awp: Option<&AwpSettings>,
    adversarial: bool,
) -> Vec<Error> {
    let mut problems = Vec::new();
    if let TrainObjective::Trades { beta } = objective {
        if !(beta.is_finite() && *beta >= 0.0) {
            problems.push(Error::invalid(
                "objective.trades.beta",
                format!("must be finite and >= 0, got {beta}"),
            ));
        }
        if !adversarial {
            problems.push(Error::invalid(
                "objective",
                "TRADES maximises its KL term over the training attack's ball: set \
                 `adversarial` (--norm and --eps)",
            ));
        }
    }
    if let Some(awp) = awp {
        if !(awp.gamma.is_finite() && awp.gamma >= 0.0) {
            problems.push(Error::invalid(
                "awp.gamma",
                format!("must be finite and >= 0, got {}", awp.gamma),
            ));
        }
        if !adversarial {
            problems.push(Error::invalid(
                "awp",
                "AWP perturbs the weights against the adversarial loss: set `adversarial` \
                 (--norm and --eps)",
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Norm, PgdSettings, TrainSettings};

    fn parse(text: &str) -> Result<TrainSettings, toml::de::Error> {
        toml::from_str(text)
    }

    #[test]
    fn objective_and_awp_read_from_toml_and_round_trip_through_json() {
        let s = parse(
            "objective = { trades = { beta = 6 } }\n[awp]\ngamma = 0.005\nwarmup_epochs = 2\n",
        )
        .unwrap();
        assert_eq!(s.objective, TrainObjective::Trades { beta: 6.0 });
        let awp = s.awp.clone().unwrap();
        assert_eq!((awp.gamma, awp.warmup_epochs), (0.005, 2));
        assert!(!awp.active_in(1) && awp.active_in(2));
        let json = serde_json::to_string(&s).unwrap();
        assert!(
            json.contains(r#""objective":{"trades":{"beta":6.0}}"#),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<TrainSettings>(&json).unwrap(), s);
        let s = parse("objective = \"cross-entropy\"\n[awp]\ngamma = 0.01\n").unwrap();
        assert_eq!(s.objective, TrainObjective::CrossEntropy);
        assert_eq!(s.awp, Some(AwpSettings::default()));
    }

    #[test]
    fn defaults_are_not_written_so_existing_settings_files_stay_the_same() {
        let json = serde_json::to_string(&TrainSettings::default()).unwrap();
        assert!(
            !json.contains("objective") && !json.contains("awp"),
            "{json}"
        );
    }

    #[test]
    fn unknown_keys_and_objectives_are_refused() {
        for text in [
            "objective = { trades = { beta = 6, gamma = 1 } }",
            "objective = \"mart\"",
            "[awp]\ngamma = 0.01\nwarmup = 3\n",
        ] {
            assert!(parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn check_names_each_broken_rule() {
        let mut s = TrainSettings {
            objective: TrainObjective::Trades { beta: -1.0 },
            awp: Some(AwpSettings {
                gamma: f64::NAN,
                warmup_epochs: 0,
            }),
            ..TrainSettings::default()
        };
        let err = s.check().unwrap_err().to_string();
        for field in ["objective.trades.beta", "awp.gamma", "objective:", "awp:"] {
            assert!(err.contains(field), "{field} missing from {err}");
        }
        s.adversarial = Some(PgdSettings::new(Norm::Linf, 0.1, 2));
        s.objective = TrainObjective::Trades { beta: 0.0 };
        s.awp = Some(AwpSettings {
            gamma: 0.0,
            warmup_epochs: 5,
        });
        s.check().unwrap();
    }
}
