//! Resolved run settings, and the hand-written training files they are read from.
//!
//! One set of types serves both: a settings file (TOML, e.g. `analysis/<exp>/train.toml`)
//! deserialises straight into [`TrainSettings`] with every missing key taken from
//! [`Default`] and every unknown key rejected (`deny_unknown_fields`), then the flags the user
//! passed override fields ([`TrainOverrides`](crate::TrainOverrides), one `Option` per flag,
//! which only changes settings). This keeps one definition of each setting in files, at the
//! price that "was this set in the file?" is not recorded; the resolved values are, next to
//! every result.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{Error, Result};
pub use crate::objective::{AwpSettings, TrainObjective};
use crate::threat::{Norm, PgdSettings, collect, default_step_size, parse_fraction};

pub use crate::model::{
    Activation, BnMode, ModelKind, ModelSpec, Normalize, WRN_DEFAULT_DEPTH, WRN_DEFAULT_WIDEN,
};
pub use crate::optimizer::{
    EntropySgdSettings, NoiseConvention, OptimizerSettings, OuterConvention, Scoping,
};
pub use crate::schedule::{EpsSchedule, LrSchedule};

/// The current version of every JSON document advland writes.
pub const SCHEMA_VERSION: u32 = 1;

/// Which data set to train and evaluate on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum DatasetName {
    /// The Fashion-MNIST subset bundled in the binary (8,000 train / 2,000 test).
    FashionMnist,
    /// The full Fashion-MNIST (60,000 / 10,000) from `--data-dir` or the Debian package.
    FashionMnistFull,
    /// MNIST IDX files from `--data-dir`.
    Mnist,
    /// CIFAR-10 binary batches from `--data-dir`.
    Cifar10,
    /// CIFAR-100 binary files (fine labels) from `--data-dir`.
    Cifar100,
}

impl DatasetName {
    /// The name used in files and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            DatasetName::FashionMnist => "fashion-mnist",
            DatasetName::FashionMnistFull => "fashion-mnist-full",
            DatasetName::Mnist => "mnist",
            DatasetName::Cifar10 => "cifar10",
            DatasetName::Cifar100 => "cifar100",
        }
    }
}

/// Where the data comes from and which part of it is used.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataSettings {
    /// The data set.
    pub dataset: DatasetName,
    /// Directory holding the files of a non-bundled data set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// Use only this many training examples, evenly spaced (indices `i*N/n`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub train_subset: Option<usize>,
    /// Use only this many test examples, evenly spaced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test_subset: Option<usize>,
    /// Hold out this many training examples, evenly spaced and before `train_subset` is
    /// taken from the rest, as a validation split: never trained on, evaluated after every
    /// epoch like the test set, and what a run's best checkpoint is chosen on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub validation_subset: Option<usize>,
}

impl Default for DataSettings {
    fn default() -> Self {
        Self {
            dataset: DatasetName::FashionMnist,
            data_dir: None,
            train_subset: None,
            test_subset: None,
            validation_subset: None,
        }
    }
}

/// An attack as written by a person: only `norm` and `eps` are required.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThreatSpec {
    /// Norm of the ball.
    pub norm: Norm,
    /// Radius, a number or a fraction string such as `"8/255"`.
    #[serde(deserialize_with = "deserialize_fraction")]
    pub eps: f64,
    /// PGD iterations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<usize>,
    /// Step size; default 2.5·ε/steps.
    #[serde(
        default,
        deserialize_with = "deserialize_opt_fraction",
        skip_serializing_if = "Option::is_none"
    )]
    pub step_size: Option<f64>,
    /// Random start (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub random_start: Option<bool>,
    /// Restarts (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restarts: Option<usize>,
}

impl ThreatSpec {
    /// Fills the unset fields; `default_steps` depends on use (training vs evaluation).
    pub fn resolve(&self, default_steps: usize) -> PgdSettings {
        let steps = self.steps.unwrap_or(default_steps);
        PgdSettings {
            norm: self.norm,
            eps: self.eps,
            step_size: self
                .step_size
                .unwrap_or_else(|| default_step_size(self.eps, steps)),
            steps,
            random_start: self.random_start.unwrap_or(true),
            restarts: self.restarts.unwrap_or(1),
        }
    }
}

fn deserialize_fraction<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<f64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumOrText {
        Num(f64),
        Text(String),
    }
    match NumOrText::deserialize(d)? {
        NumOrText::Num(v) if v.is_finite() && v >= 0.0 => Ok(v),
        NumOrText::Num(v) => Err(serde::de::Error::custom(format!(
            "{v}: must be finite and non-negative"
        ))),
        NumOrText::Text(t) => parse_fraction(&t).map_err(serde::de::Error::custom),
    }
}

fn deserialize_opt_fraction<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<f64>, D::Error> {
    deserialize_fraction(d).map(Some)
}

/// Everything about a training run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainSettings {
    /// The one seed every random choice of the run derives from.
    pub seed: u64,
    /// Data set and subsets.
    pub data: DataSettings,
    /// Architecture.
    pub model: ModelSpec,
    /// Epochs, batches, learning rate, checkpoints.
    pub training: TrainingSettings,
    /// Update rule.
    pub optimizer: OptimizerSettings,
    /// PGD adversarial training; absent means standard training.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adversarial: Option<PgdSettings>,
    /// The training loss: cross-entropy (at `adversarial`'s points under AT) or TRADES.
    #[serde(skip_serializing_if = "TrainObjective::is_cross_entropy")]
    pub objective: TrainObjective,
    /// Adversarial weight perturbation on top of the objective; absent means none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub awp: Option<AwpSettings>,
    /// The robustness evaluation run at the end of every epoch.
    pub eval: EvalSettings,
}

/// Epochs, batches, learning rate and checkpointing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainingSettings {
    /// Passes over the training set.
    pub epochs: usize,
    /// Examples per minibatch.
    pub batch_size: usize,
    /// Base learning rate.
    pub lr: f64,
    /// Learning-rate schedule.
    pub schedule: LrSchedule,
    /// Epochs of linear learning-rate warm-up in front of `schedule` (`schedule.rs`); 0: none.
    #[serde(skip_serializing_if = "is_zero")]
    pub warmup_epochs: usize,
    /// Radius of the training attack over the run (`adversarial.eps` throughout by default).
    #[serde(skip_serializing_if = "EpsSchedule::is_constant")]
    pub eps_schedule: EpsSchedule,
    /// Save a checkpoint every this many epochs (the last epoch is always saved).
    pub checkpoint_every: usize,
    /// Stop once this many minibatch gradients of the training objective (adversarial ones
    /// under AT, attack recomputed for each) have been computed, so that update rules are
    /// compared at equal gradient budget; the epoch in progress ends early and is the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gradient_budget: Option<u64>,
    /// Batch-norm mode of the training attack's forwards (batch-norm models only): `train`
    /// (the default) as robust_overfitting and AWP attack, on batch statistics, each attack
    /// step updating the running statistics too; `eval` attacks the running-statistics network
    /// and writes nothing. The outer loss is always in train mode.
    #[serde(skip_serializing_if = "BnMode::is_train")]
    pub attack_bn_mode: BnMode,
}

impl Default for TrainingSettings {
    fn default() -> Self {
        Self {
            epochs: 10,
            batch_size: 128,
            lr: 0.05,
            schedule: LrSchedule::Cosine,
            warmup_epochs: 0,
            eps_schedule: EpsSchedule::Constant,
            checkpoint_every: 1,
            gradient_budget: None,
            attack_bn_mode: BnMode::Train,
        }
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Per-epoch evaluation on the test split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvalSettings {
    /// Evaluate on this many test examples (evenly spaced); all when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subset: Option<usize>,
    /// Attacks to evaluate robust loss/accuracy under; empty = clean only.
    pub attacks: Vec<PgdSettings>,
    /// Examples per evaluation batch.
    pub batch_size: usize,
}

impl Default for EvalSettings {
    fn default() -> Self {
        Self {
            subset: None,
            attacks: Vec::new(),
            batch_size: 500,
        }
    }
}

impl TrainSettings {
    /// Reads a training file; missing keys take defaults, unknown keys are errors.
    ///
    /// # Errors
    /// IO and parse errors name the file; TOML errors carry line and column.
    pub fn from_toml_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
        let file: TrainFile = toml::from_str(&text).map_err(|source| Error::Toml {
            path: path.to_owned(),
            source,
        })?;
        if let Some(v) = file.schema_version
            && v != SCHEMA_VERSION
        {
            return Err(Error::invalid(
                format!("{}: schema_version", path.display()),
                format!("is {v}; this advland reads training files of version {SCHEMA_VERSION}"),
            ));
        }
        Ok(file.into_settings())
    }

    /// Checks every rule and reports all broken ones at once.
    ///
    /// # Errors
    /// [`Error::InvalidSettings`] (or a single [`Error::InvalidConfig`]).
    pub fn check(&self) -> Result<()> {
        let mut problems = Vec::new();
        let t = &self.training;
        if t.epochs == 0 {
            problems.push(Error::invalid("training.epochs", "must be >= 1"));
        }
        if t.batch_size == 0 {
            problems.push(Error::invalid("training.batch_size", "must be >= 1"));
        }
        if !(t.lr.is_finite() && t.lr > 0.0) {
            problems.push(Error::invalid(
                "training.lr",
                format!("must be finite and > 0, got {}", t.lr),
            ));
        }
        if t.checkpoint_every == 0 {
            problems.push(Error::invalid("training.checkpoint_every", "must be >= 1"));
        }
        problems.extend(crate::schedule::schedule_problems(
            &t.schedule,
            t.warmup_epochs,
            &t.eps_schedule,
            t.epochs,
            self.adversarial.as_ref(),
        ));
        match &self.optimizer {
            OptimizerSettings::Sgd {
                momentum,
                weight_decay,
                ..
            } => {
                if !(0.0..1.0).contains(momentum) {
                    problems.push(Error::invalid(
                        "optimizer.momentum",
                        format!("must be in [0, 1), got {momentum}"),
                    ));
                }
                if !(weight_decay.is_finite() && *weight_decay >= 0.0) {
                    problems.push(Error::invalid(
                        "optimizer.weight_decay",
                        format!("must be finite and >= 0, got {weight_decay}"),
                    ));
                }
            }
            OptimizerSettings::EntropySgd(e) => problems.extend(e.problems("optimizer")),
        }
        if t.gradient_budget == Some(0) {
            problems.push(Error::invalid(
                "training.gradient_budget",
                "must be >= 1 when given",
            ));
        }
        problems.extend(self.model.problems("model"));
        for (name, n) in [
            ("data.train_subset", self.data.train_subset),
            ("data.test_subset", self.data.test_subset),
            ("data.validation_subset", self.data.validation_subset),
            ("eval.subset", self.eval.subset),
        ] {
            if n == Some(0) {
                problems.push(Error::invalid(name, "must be >= 1 when given"));
            }
        }
        if self.eval.batch_size == 0 {
            problems.push(Error::invalid("eval.batch_size", "must be >= 1"));
        }
        if let Some(adv) = &self.adversarial
            && let Err(e) = adv.check("adversarial")
        {
            problems.push(e);
        }
        problems.extend(crate::objective::objective_problems(
            &self.objective,
            self.awp.as_ref(),
            self.adversarial.is_some(),
        ));
        for (i, a) in self.eval.attacks.iter().enumerate() {
            if let Err(e) = a.check(&format!("eval.attacks[{i}]")) {
                problems.push(e);
            }
        }
        collect(problems)
    }
}

/// The on-disk shape of a training file. Attacks are written as [`ThreatSpec`] (step size
/// optional, ε as a fraction string allowed) and resolved here.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct TrainFile {
    schema_version: Option<u32>,
    seed: Option<u64>,
    data: DataSettings,
    model: ModelSpec,
    training: TrainingSettings,
    optimizer: OptimizerSettings,
    adversarial: Option<ThreatSpec>,
    objective: TrainObjective,
    awp: Option<AwpSettings>,
    eval: TrainEvalFile,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct TrainEvalFile {
    subset: Option<usize>,
    attacks: Vec<ThreatSpec>,
    batch_size: Option<usize>,
}

/// PGD steps used for training attacks unless set.
pub const DEFAULT_TRAIN_STEPS: usize = 10;
/// PGD steps used for evaluation attacks unless set.
pub const DEFAULT_EVAL_STEPS: usize = 20;

impl TrainFile {
    fn into_settings(self) -> TrainSettings {
        let defaults = TrainSettings::default();
        TrainSettings {
            seed: self.seed.unwrap_or(defaults.seed),
            data: self.data,
            model: self.model,
            training: self.training,
            optimizer: self.optimizer,
            adversarial: self.adversarial.map(|t| t.resolve(DEFAULT_TRAIN_STEPS)),
            objective: self.objective,
            awp: self.awp,
            eval: EvalSettings {
                subset: self.eval.subset,
                attacks: self
                    .eval
                    .attacks
                    .iter()
                    .map(|t| t.resolve(DEFAULT_EVAL_STEPS))
                    .collect(),
                batch_size: self.eval.batch_size.unwrap_or(defaults.eval.batch_size),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<TrainSettings> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("experiment.toml");
        std::fs::write(&path, text).unwrap();
        TrainSettings::from_toml_file(&path)
    }

    #[test]
    fn experiment_file_of_another_schema_version_is_refused() {
        assert!(parse("schema_version = 1\n").is_ok());
        let err = parse("schema_version = 99\n").unwrap_err().to_string();
        assert!(
            err.contains("schema_version") && err.contains("99"),
            "{err}"
        );
    }

    #[test]
    fn experiment_file_fills_defaults_and_resolves_attacks() {
        let s = parse(
            r#"
            seed = 7
            [model]
            kind = "mlp"
            [adversarial]
            norm = "linf"
            eps = "8/255"
            steps = 7
            [[eval.attacks]]
            norm = "l2"
            eps = 1.0
            "#,
        )
        .unwrap();
        assert_eq!(s.seed, 7);
        assert_eq!(s.model.kind, ModelKind::Mlp);
        assert_eq!(s.model.hidden, vec![128]);
        let adv = s.adversarial.unwrap();
        assert!((adv.eps - 8.0 / 255.0).abs() < 1e-15);
        assert!((adv.step_size - 2.5 * adv.eps / 7.0).abs() < 1e-15);
        assert_eq!(s.eval.attacks[0].steps, DEFAULT_EVAL_STEPS);
        assert_eq!(s.training, TrainingSettings::default());
    }

    #[test]
    fn experiment_file_rejects_unknown_keys_naming_file_and_key() {
        let err = parse("[training]\nepochz = 3\n").unwrap_err().to_string();
        assert!(
            err.contains("experiment.toml") && err.contains("epochz"),
            "{err}"
        );
        let err = parse("[adversarial]\nnorm = \"l3\"\neps = 0.1\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("l3"), "{err}");
    }

    #[test]
    fn check_lists_all_problems() {
        let mut s = TrainSettings::default();
        s.training.epochs = 0;
        s.training.lr = f64::NAN;
        let err = s.check().unwrap_err().to_string();
        assert!(
            err.contains("training.epochs") && err.contains("training.lr"),
            "{err}"
        );
    }

    #[test]
    fn settings_round_trip_through_json() {
        let s = TrainSettings {
            adversarial: Some(PgdSettings::new(Norm::L2, 1.0, 10)),
            ..TrainSettings::default()
        };
        let text = serde_json::to_string(&s).unwrap();
        let back: TrainSettings = serde_json::from_str(&text).unwrap();
        assert_eq!(s, back);
    }

    #[test]
    fn entropy_sgd_reads_from_toml_with_reference_defaults() {
        let s = parse(
            r#"
            [optimizer]
            kind = "entropy-sgd"
            inner_steps = 5
            outer_convention = "algorithm"
            scoping = "frozen"
            "#,
        )
        .unwrap();
        let OptimizerSettings::EntropySgd(e) = &s.optimizer else {
            panic!("{:?}", s.optimizer);
        };
        assert_eq!(e.inner_steps, 5);
        assert_eq!(e.outer_convention, OuterConvention::Algorithm);
        assert_eq!(e.scoping, Scoping::Frozen);
        assert_eq!(e.mean_weight, 0.75);
        assert_eq!(e.gamma0, 0.03);
        s.check().unwrap();
        let back: TrainSettings =
            serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(s, back);
        let err = parse("[optimizer]\nkind = \"entropy-sgd\"\ngama0 = 1\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("gama0"), "{err}");
    }

    #[test]
    fn entropy_sgd_check_names_each_broken_field() {
        let s = TrainSettings {
            optimizer: OptimizerSettings::EntropySgd(EntropySgdSettings {
                inner_steps: 0,
                gamma0: -1.0,
                mean_weight: 1.0,
                noise: f64::NAN,
                ..EntropySgdSettings::default()
            }),
            ..TrainSettings::default()
        };
        let err = s.check().unwrap_err().to_string();
        for f in [
            "optimizer.inner_steps",
            "optimizer.gamma0",
            "optimizer.mean_weight",
            "optimizer.noise",
        ] {
            assert!(err.contains(f), "{f} missing from {err}");
        }
        assert!(!err.contains("optimizer.gamma1"), "{err}");
    }
}
