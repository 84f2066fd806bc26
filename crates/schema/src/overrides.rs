//! Overrides of a training file: what `advland train`'s flags (or another program) change in
//! [`TrainSettings`], and the rules for applying them.
//!
//! [`TrainOverrides`] has one `Option` field per flag, named like the flag (`--eps-peak` is
//! `schedules.eps_peak`), grouped like the flags' help headings; `None` keeps the file's value
//! (or the default). [`TrainOverrides::apply`] applies them to a base (a training file's
//! settings or the defaults) and checks the result; its errors name the flags involved, as
//! the overrides are named after them.
//!
//! ```
//! use advland_schema::{Norm, TrainOverrides, TrainSettings};
//! let overrides = TrainOverrides {
//!     norm: Some(Norm::Linf),
//!     eps: Some(0.1),
//!     ..TrainOverrides::default()
//! };
//! let settings = overrides.apply(TrainSettings::default()).unwrap();
//! assert_eq!(settings.adversarial.unwrap().steps, 10);
//! let alone = TrainOverrides { eps: Some(0.1), ..TrainOverrides::default() };
//! let err = alone.apply(TrainSettings::default()).unwrap_err();
//! assert_eq!(err.to_string(), "--eps needs --norm (linf or l2)");
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::settings::{
    Activation, AwpSettings, DEFAULT_EVAL_STEPS, DEFAULT_TRAIN_STEPS, DatasetName,
    EntropySgdSettings, ModelKind, ModelSpec, NoiseConvention, Normalize, OptimizerSettings,
    OuterConvention, Scoping, ThreatSpec, TrainObjective, TrainSettings,
};
use crate::threat::{Norm, PgdSettings, default_step_size};

#[cfg(feature = "clap")]
mod flags;
mod schedules;
mod subset_size;

#[cfg(feature = "clap")]
pub use flags::{ModelArgs, ModelName, TrainFlags, parse_model};
pub use schedules::{EpsScheduleKind, LrScheduleKind, ScheduleOverrides};
pub use subset_size::SubsetSize;

/// Changes to a training file's settings, one field per flag of `advland train` (named like
/// it); unset fields keep the file's values.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
#[serde(default, deny_unknown_fields)]
pub struct TrainOverrides {
    /// Seed of every random choice (init, shuffling, attack starts).
    #[cfg_attr(feature = "clap", arg(long))]
    pub seed: Option<u64>,
    /// Data.
    #[cfg_attr(feature = "clap", command(flatten))]
    pub data: DataOverrides,
    /// Architecture.
    #[cfg_attr(feature = "clap", arg(skip))]
    pub model: ModelOverrides,
    /// Epochs.
    #[cfg_attr(feature = "clap", arg(long))]
    pub epochs: Option<usize>,
    /// Minibatch size.
    #[cfg_attr(feature = "clap", arg(long, value_parser = crate::flag_values::at_least_one))]
    pub batch_size: Option<usize>,
    /// Base learning rate.
    #[cfg_attr(feature = "clap", arg(long))]
    pub lr: Option<f64>,
    /// Learning-rate and ε schedules.
    #[cfg_attr(feature = "clap", command(flatten, next_help_heading = "Schedules"))]
    pub schedules: ScheduleOverrides,
    /// Update rule (default: the training file's, else sgd). Switching kind starts from the
    /// new kind's defaults.
    #[cfg_attr(feature = "clap", arg(long, value_enum))]
    pub optimizer: Option<OptimizerKind>,
    /// Momentum [sgd: 0.9; entropy-sgd: 0.9, both loops, as the reference code shares it].
    #[cfg_attr(feature = "clap", arg(long))]
    pub momentum: Option<f64>,
    /// Weight decay [sgd: 5e-4; entropy-sgd: 0, both loops].
    #[cfg_attr(feature = "clap", arg(long))]
    pub weight_decay: Option<f64>,
    /// Nesterov momentum [sgd: false; entropy-sgd: true, both loops].
    #[cfg_attr(feature = "clap", arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL"))]
    pub nesterov: Option<bool>,
    /// Stop once this many minibatch gradients of the training objective (adversarial under
    /// AT) have been computed, to compare update rules at equal gradient budget.
    #[cfg_attr(feature = "clap", arg(long))]
    pub gradient_budget: Option<u64>,
    /// EntropySGD.
    #[cfg_attr(
        feature = "clap",
        command(flatten, next_help_heading = "EntropySGD (--optimizer entropy-sgd)")
    )]
    pub entropy: EntropySgdOverrides,
    /// Adversarial training under this norm (omit for standard training).
    #[cfg_attr(feature = "clap", arg(long, value_enum))]
    pub norm: Option<Norm>,
    /// Attack radius in pixel units, e.g. 0.1 or 8/255 (required with --norm).
    #[cfg_attr(feature = "clap", arg(long, value_parser = crate::flag_values::parse_eps))]
    pub eps: Option<f64>,
    /// PGD steps of the training attack.
    #[cfg_attr(feature = "clap", arg(long))]
    pub steps: Option<usize>,
    /// PGD step size (default 2.5·eps/steps).
    #[cfg_attr(feature = "clap", arg(long, value_parser = crate::flag_values::parse_eps))]
    pub step_size: Option<f64>,
    /// Objective and weight perturbation.
    #[cfg_attr(
        feature = "clap",
        command(flatten, next_help_heading = "TRADES and AWP (with --norm and --eps)")
    )]
    pub robust: RobustOverrides,
    /// Evaluate after every epoch under this attack (`NORM:EPS[:STEPS]`); repeatable. Default: the
    /// training attack with 20 steps.
    #[cfg_attr(feature = "clap", arg(long = "eval-attack", value_parser = crate::flag_values::parse_threat))]
    pub eval_attacks: Vec<ThreatSpec>,
    /// Evaluate on this many test examples after every epoch.
    #[cfg_attr(feature = "clap", arg(long, value_parser = crate::flag_values::at_least_one))]
    pub eval_subset: Option<usize>,
    /// Hold out this many training examples (evenly spaced, before --train-subset takes its
    /// share of the rest) as a validation split: evaluated after every epoch under the same
    /// attacks as the test set, and what RUN/best picks the epoch on.
    #[cfg_attr(feature = "clap", arg(long, visible_alias = "val-subset", value_parser = crate::flag_values::at_least_one))]
    pub validation_subset: Option<usize>,
    /// Save a checkpoint every N epochs (the last is always saved).
    #[cfg_attr(feature = "clap", arg(long))]
    pub checkpoint_every: Option<usize>,
}

/// Data overrides (`--dataset`, `--data-dir`, `--train-subset`, `--test-subset`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
#[serde(default, deny_unknown_fields)]
pub struct DataOverrides {
    /// Data set (`fashion-mnist` is the bundled subset; `fashion-mnist-full` reads the Debian
    /// package dataset-fashion-mnist or --data-dir).
    #[cfg_attr(feature = "clap", arg(long, visible_alias = "data", value_enum))]
    pub dataset: Option<DatasetName>,
    /// Directory with the data files (full Fashion-MNIST defaults to the Debian package's).
    #[cfg_attr(feature = "clap", arg(long))]
    pub data_dir: Option<PathBuf>,
    /// Train on this many examples, evenly spaced (indices i*N/n); `all`: every one (what a
    /// validation hold-out leaves), whatever the training file says.
    #[cfg_attr(feature = "clap", arg(long, value_name = "N|all", value_parser = crate::flag_values::subset_size))]
    pub train_subset: Option<SubsetSize>,
    /// Evaluate on this many test examples, evenly spaced; `all`: the whole test split.
    #[cfg_attr(feature = "clap", arg(long, value_name = "N|all", value_parser = crate::flag_values::subset_size, visible_alias = "subset"))]
    pub test_subset: Option<SubsetSize>,
}

/// Architecture overrides (`--model`, `--hidden`, …), each replacing the file's value. With
/// the `clap` feature the size flags are derived here; `--model` itself, with the published
/// wide-ResNet names, is [`ModelArgs`]'s.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
#[serde(default, deny_unknown_fields)]
pub struct ModelOverrides {
    /// `--model`: the architecture (a published name's sizes go in `depth`/`widen`).
    #[cfg_attr(feature = "clap", arg(skip))]
    pub kind: Option<ModelKind>,
    /// MLP hidden widths, comma separated.
    #[cfg_attr(feature = "clap", arg(long, value_delimiter = ','))]
    pub hidden: Option<Vec<usize>>,
    /// ResNet blocks per stage, comma separated (2,2,2,2 is ResNet-18's layout).
    #[cfg_attr(feature = "clap", arg(long, value_delimiter = ','))]
    pub blocks: Option<Vec<usize>>,
    /// ResNet channels of the first stage (doubled at each later stage; ResNet-18: 64).
    #[cfg_attr(feature = "clap", arg(long))]
    pub width: Option<usize>,
    /// Depth of `wide-resnet`, 6n+4 (WRN-34-10: 34, WRN-28-10: 28).
    #[cfg_attr(feature = "clap", arg(long))]
    pub depth: Option<usize>,
    /// Widening factor of `wide-resnet` (10 for WRN-34-10 and WRN-28-10).
    #[cfg_attr(feature = "clap", arg(long))]
    pub widen: Option<usize>,
    /// Base channels of the batch-norm models (`preact-resnet18`: 64, `wide-resnet`: 16);
    /// smaller gives a narrow copy of the same structure.
    #[cfg_attr(feature = "clap", arg(long))]
    pub base_width: Option<usize>,
    /// Per-channel input normalisation inside the model, so ε stays in pixel units: `cifar10`
    /// (robust_overfitting's mean and std) or `MEAN,MEAN,MEAN/STD,STD,STD`.
    #[cfg_attr(feature = "clap", arg(long, value_parser = crate::flag_values::parse_normalize))]
    pub normalize: Option<Normalize>,
    /// The MLP's hidden nonlinearity: relu (the default), or softplus / gelu, smooth ones whose
    /// input Hessian is not positive semi-definite by construction.
    #[cfg_attr(feature = "clap", arg(long, value_enum))]
    pub activation: Option<Activation>,
}

/// `--trades-beta` and the AWP flags (`objective` and `[awp]` in training files).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
#[serde(default, deny_unknown_fields)]
pub struct RobustOverrides {
    /// Train with TRADES (Zhang et al. 2019) at this β: CE(f(x), y) + β·KL(p(x) ‖ p(x′)), x′
    /// maximising the KL over the training attack's ball from x + 0.001·N(0, I). TRADES'
    /// CIFAR-10 runs use 6.
    #[cfg_attr(feature = "clap", arg(long, value_parser = crate::flag_values::non_negative_number, value_name = "BETA"))]
    pub trades_beta: Option<f64>,
    /// Adversarial weight perturbation (Wu et al. 2020) on top of PGD-AT or TRADES: each
    /// minibatch's gradient is taken at weights moved by γ·‖w‖ per weight tensor along one
    /// ascent step of the loss [AWP's: 0.01 for PGD-AT, 0.005 for TRADES].
    #[cfg_attr(feature = "clap", arg(long, value_parser = crate::flag_values::non_negative_number, value_name = "GAMMA"))]
    pub awp_gamma: Option<f64>,
    /// Epochs trained without the weight perturbation before it starts [0].
    #[cfg_attr(feature = "clap", arg(long, value_name = "EPOCHS"))]
    pub awp_warmup: Option<usize>,
}

/// Update rules by kind (`--optimizer`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum OptimizerKind {
    /// SGD with momentum and weight decay (PyTorch's update).
    Sgd,
    /// EntropySGD (research/paper.md §4.1): per outer step, a Langevin chain of L minibatch
    /// steps coupled to θ, then a step towards its running mean. One epoch is one pass of
    /// minibatch gradients, so it has ⌊batches/L⌋ outer steps and costs what an SGD epoch
    /// costs. Set --lr (outer rate; the paper's CIFAR-10 run: 1).
    EntropySgd,
}

/// EntropySGD's settings (`--inner-steps`, …; fields of [`EntropySgdSettings`]).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
#[serde(default, deny_unknown_fields)]
pub struct EntropySgdOverrides {
    /// L, Langevin steps (fresh minibatches) per outer step [20].
    #[cfg_attr(feature = "clap", arg(long))]
    pub inner_steps: Option<usize>,
    /// γ0, initial scope (coupling strength) [0.03].
    #[cfg_attr(feature = "clap", arg(long))]
    pub gamma0: Option<f64>,
    /// γ1, scoping rate: γ_t = γ0·(1+γ1)^t [1e-3].
    #[cfg_attr(feature = "clap", arg(long))]
    pub gamma1: Option<f64>,
    /// What t counts [outer-step]; frozen keeps γ = γ0 like the reference PyTorch code.
    #[cfg_attr(feature = "clap", arg(long, value_enum))]
    pub scoping: Option<Scoping>,
    /// η', Langevin learning rate, not scheduled [0.1].
    #[cfg_attr(feature = "clap", arg(long))]
    pub inner_lr: Option<f64>,
    /// ε, thermal noise [1e-4].
    #[cfg_attr(feature = "clap", arg(long))]
    pub noise: Option<f64>,
    /// Noise sd: code = ε·√(2η'), algorithm = ε·√η' [code].
    #[cfg_attr(feature = "clap", arg(long, value_enum))]
    pub noise_convention: Option<NoiseConvention>,
    /// Weight of the old mean in μ ← w·μ + (1−w)·x' [0.75].
    #[cfg_attr(feature = "clap", arg(long))]
    pub mean_weight: Option<f64>,
    /// Outer step: code = η·(θ−μ), algorithm = η·γ·(θ−μ) [code].
    #[cfg_attr(feature = "clap", arg(long, value_enum))]
    pub outer_convention: Option<OuterConvention>,
    /// Momentum of the outer step only (after --momentum) [0.9].
    #[cfg_attr(feature = "clap", arg(long))]
    pub outer_momentum: Option<f64>,
    /// Nesterov form of the outer momentum only (after --nesterov) [true].
    #[cfg_attr(feature = "clap", arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL"))]
    pub outer_nesterov: Option<bool>,
    /// Weight decay of the outer step only (after --weight-decay) [0].
    #[cfg_attr(feature = "clap", arg(long))]
    pub outer_weight_decay: Option<f64>,
    /// Spend one extra, unused gradient at θ per outer step, as the reference code does [false].
    #[cfg_attr(feature = "clap", arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL"))]
    pub anchor_gradient: Option<bool>,
}

impl EntropySgdOverrides {
    /// The flags given, for "needs --optimizer entropy-sgd" messages: the fields set, each
    /// named like its flag (as every field here is), in alphabetical order.
    pub fn given(&self) -> Vec<String> {
        let fields = serde_json::to_value(self).unwrap_or_default();
        let fields = fields.as_object().into_iter().flatten();
        fields
            .filter(|(_, value)| !value.is_null())
            .map(|(name, _)| format!("--{}", name.replace('_', "-")))
            .collect()
    }

    /// Sets the EntropySGD-only fields given.
    fn apply(&self, e: &mut EntropySgdSettings) {
        let Self {
            inner_steps,
            gamma0,
            gamma1,
            scoping,
            inner_lr,
            noise,
            noise_convention,
            mean_weight,
            outer_convention,
            outer_momentum,
            outer_nesterov,
            outer_weight_decay,
            anchor_gradient,
        } = self;
        set(&mut e.inner_steps, *inner_steps);
        set(&mut e.gamma0, *gamma0);
        set(&mut e.gamma1, *gamma1);
        set(&mut e.scoping, *scoping);
        set(&mut e.inner_lr, *inner_lr);
        set(&mut e.noise, *noise);
        set(&mut e.noise_convention, *noise_convention);
        set(&mut e.mean_weight, *mean_weight);
        set(&mut e.outer_convention, *outer_convention);
        set(&mut e.outer_momentum, *outer_momentum);
        set(&mut e.outer_nesterov, *outer_nesterov);
        set(&mut e.outer_weight_decay, *outer_weight_decay);
        set(&mut e.anchor_gradient, *anchor_gradient);
    }
}

impl ModelOverrides {
    /// `spec` with the given fields replaced.
    pub fn apply(&self, mut spec: ModelSpec) -> ModelSpec {
        let Self {
            kind,
            hidden,
            blocks,
            width,
            depth,
            widen,
            base_width,
            normalize,
            activation,
        } = self;
        set(&mut spec.kind, *kind);
        set(&mut spec.hidden, hidden.clone());
        set(&mut spec.blocks, blocks.clone());
        set(&mut spec.width, *width);
        spec.depth = depth.or(spec.depth);
        spec.widen = widen.or(spec.widen);
        spec.base_width = base_width.or(spec.base_width);
        spec.normalize = normalize.clone().or(spec.normalize);
        set(&mut spec.activation, *activation);
        spec
    }
}

impl TrainOverrides {
    /// Whether nothing is overridden.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The settings of the training file `config` (or the defaults) with these overrides
    /// applied and checked.
    ///
    /// # Errors
    /// The file's errors (IO, TOML, version), then those of [`TrainOverrides::apply`].
    pub fn resolve(&self, config: Option<&Path>) -> Result<TrainSettings> {
        let base = match config {
            Some(path) => TrainSettings::from_toml_file(path)?,
            None => TrainSettings::default(),
        };
        self.apply(base)
    }

    /// `base` with these overrides applied, then checked ([`TrainSettings::check`]).
    ///
    /// # Errors
    /// [`Error::Overrides`] for overrides that need another one (`--eps` without `--norm`
    /// and no attack in `base`), or that set something the settings do not use (an
    /// EntropySGD setting under SGD); the settings' own rules otherwise.
    pub fn apply(&self, base: TrainSettings) -> Result<TrainSettings> {
        let mut s = base;
        let Self {
            seed,
            data,
            model,
            epochs,
            batch_size,
            lr,
            schedules,
            optimizer,
            momentum,
            weight_decay,
            nesterov,
            gradient_budget,
            entropy,
            norm,
            eps,
            steps,
            step_size,
            robust,
            eval_attacks,
            eval_subset,
            validation_subset,
            checkpoint_every,
        } = self;
        set(&mut s.seed, *seed);
        let DataOverrides {
            dataset,
            data_dir,
            train_subset,
            test_subset,
        } = data;
        set(&mut s.data.dataset, *dataset);
        if data_dir.is_some() {
            s.data.data_dir.clone_from(data_dir);
        }
        s.data.train_subset = SubsetSize::over(*train_subset, s.data.train_subset);
        s.data.test_subset = SubsetSize::over(*test_subset, s.data.test_subset);
        s.data.validation_subset = validation_subset.or(s.data.validation_subset);
        s.model = model.apply(std::mem::take(&mut s.model));
        set(&mut s.training.epochs, *epochs);
        set(&mut s.training.batch_size, *batch_size);
        set(&mut s.training.lr, *lr);
        set(&mut s.training.checkpoint_every, *checkpoint_every);
        schedules.apply(&mut s.training)?;
        if gradient_budget.is_some() {
            s.training.gradient_budget = *gradient_budget;
        }
        apply_optimizer(
            &mut s.optimizer,
            *optimizer,
            [*momentum, *weight_decay],
            *nesterov,
            entropy,
        )?;
        s.adversarial = match (norm, eps, s.adversarial.take()) {
            (Some(n), Some(e), _) => Some(PgdSettings::new(*n, *e, DEFAULT_TRAIN_STEPS)),
            (Some(n), None, Some(file)) => Some(PgdSettings { norm: *n, ..file }),
            (Some(_), None, None) => {
                return Err(overrides(
                    &["--norm"],
                    "--norm needs --eps (the attack radius)",
                ));
            }
            (None, Some(e), Some(file)) => Some(PgdSettings { eps: *e, ..file }),
            (None, Some(_), None) => {
                return Err(overrides(&["--eps"], "--eps needs --norm (linf or l2)"));
            }
            (None, None, file) => file,
        };
        if let Some(adv) = &mut s.adversarial {
            if let Some(n) = steps {
                adv.steps = *n;
            }
            adv.step_size = step_size.unwrap_or_else(|| {
                if norm.is_some() || eps.is_some() || steps.is_some() {
                    default_step_size(adv.eps, adv.steps)
                } else {
                    adv.step_size
                }
            });
        } else if steps.is_some() || step_size.is_some() {
            return Err(overrides(
                &["--steps", "--step-size"],
                "--steps/--step-size set the training attack: add --norm and --eps",
            ));
        }
        robust.apply(&mut s)?;
        if !eval_attacks.is_empty() {
            s.eval.attacks = eval_attacks
                .iter()
                .map(|t| t.resolve(DEFAULT_EVAL_STEPS))
                .collect();
        } else if s.eval.attacks.is_empty()
            && let Some(adv) = &s.adversarial
        {
            s.eval.attacks = vec![
                ThreatSpec {
                    norm: adv.norm,
                    eps: adv.eps,
                    steps: None,
                    step_size: None,
                    random_start: None,
                    restarts: None,
                }
                .resolve(DEFAULT_EVAL_STEPS),
            ];
        }
        s.eval.subset = eval_subset.or(s.eval.subset);
        s.check()?;
        Ok(s)
    }
}

/// Applies `kind` (a new kind starts from its defaults), then the shared overrides (momentum
/// and weight decay, nesterov: both EntropySGD loops, as the reference code shares them), then
/// the EntropySGD-only ones.
fn apply_optimizer(
    settings: &mut OptimizerSettings,
    kind: Option<OptimizerKind>,
    [momentum, weight_decay]: [Option<f64>; 2],
    nesterov: Option<bool>,
    entropy: &EntropySgdOverrides,
) -> Result<()> {
    match (kind, &*settings) {
        (Some(OptimizerKind::Sgd), OptimizerSettings::EntropySgd(_)) => {
            *settings = OptimizerSettings::default();
        }
        (Some(OptimizerKind::EntropySgd), OptimizerSettings::Sgd { .. }) => {
            *settings = OptimizerSettings::EntropySgd(EntropySgdSettings::default());
        }
        _ => {}
    }
    match settings {
        OptimizerSettings::Sgd {
            momentum: m,
            weight_decay: wd,
            nesterov: n,
        } => {
            let given = entropy.given();
            if !given.is_empty() {
                let message = format!(
                    "{} set EntropySGD: add --optimizer entropy-sgd",
                    given.join(", ")
                );
                return Err(Error::Overrides {
                    flags: given,
                    message,
                });
            }
            set(m, momentum);
            set(wd, weight_decay);
            set(n, nesterov);
        }
        OptimizerSettings::EntropySgd(e) => {
            if let Some(v) = momentum {
                e.momentum = v;
                e.outer_momentum = v;
            }
            if let Some(v) = weight_decay {
                e.weight_decay = v;
                e.outer_weight_decay = v;
            }
            if let Some(v) = nesterov {
                e.nesterov = v;
                e.outer_nesterov = v;
            }
            entropy.apply(e);
        }
    }
    Ok(())
}

impl RobustOverrides {
    /// Applies `trades_beta` and the AWP fields; `awp_warmup` alone changes an AWP the base
    /// set up, and is refused without one.
    fn apply(&self, s: &mut TrainSettings) -> Result<()> {
        let Self {
            trades_beta,
            awp_gamma,
            awp_warmup,
        } = self;
        if let Some(beta) = trades_beta {
            s.objective = TrainObjective::Trades { beta: *beta };
        }
        if let Some(gamma) = awp_gamma {
            let awp = s.awp.get_or_insert_with(AwpSettings::default);
            awp.gamma = *gamma;
        }
        match (&mut s.awp, awp_warmup) {
            (Some(awp), Some(epochs)) => awp.warmup_epochs = *epochs,
            (None, Some(_)) => {
                return Err(overrides(
                    &["--awp-warmup"],
                    "--awp-warmup delays AWP: add --awp-gamma",
                ));
            }
            (_, None) => {}
        }
        Ok(())
    }
}

/// [`Error::Overrides`] naming `flags`.
fn overrides(flags: &[&str], message: impl Into<String>) -> Error {
    Error::Overrides {
        flags: flags.iter().map(|f| (*f).to_owned()).collect(),
        message: message.into(),
    }
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

#[cfg(test)]
mod tests;
