//! Settings, training files (`train.toml`) and report types of advland. No burn: this crate compiles in
//! seconds, so `advland report` and the plot crate can read every result without a tensor
//! library.
//!
//! - [`attack`]: attack specifications ([`AttackSpec`]: PGD, APGD, autoattack-lite, parsed
//!   from `apgd-ce:linf:8/255`) and their per-attack results with per-example flags;
//! - [`threat`]: the attack norm ([`Norm`]), ε parsing ([`parse_fraction`]) and
//!   [`PgdSettings`];
//! - [`settings`]: [`TrainSettings`], read from hand-written TOML training files (unknown
//!   keys rejected);
//! - [`overrides`]: [`TrainOverrides`], the changes `advland train`'s flags make to a training
//!   file, and the rules for applying them; with `run_settings.rs`, the default run directory
//!   ([`TrainSettings::default_run_dir`]) and what a resume may not change
//!   ([`TrainSettings::differences`]);
//! - [`experiment`]: experiment plans ([`ExperimentPlan`], `analysis/<name>/experiment.toml`),
//!   the advland commands of a committed analysis with their `[vars]`;
//! - [`schedule`]: learning-rate and ε schedules ([`LrSchedule`], [`EpsSchedule`]), per
//!   minibatch ([`BatchPosition`]);
//! - [`objective`]: the training loss ([`TrainObjective`]: cross-entropy or TRADES) and
//!   adversarial weight perturbation ([`AwpSettings`]);
//! - [`report`]: the JSON envelope [`Report`] with its [`Meta`] (seed, resolved config,
//!   versions, device, data subset, duration, [`Cost`]), written atomically by
//!   [`write_json`], which refuses NaN/∞;
//! - [`metrics`]: payloads of training and evaluation reports;
//! - [`sharpness`]: payloads of parameter-space analysis reports;
//! - [`calibrate`]: the radius of one norm's attack matching another's strength;
//! - [`flatness`]: payloads of input-space flatness reports;
//! - [`surface`]: payloads of loss-surface reports (grids, shards, directions);
//! - [`perturbation`]: payloads of perturbation-statistics reports;
//! - [`bound`]: payloads of implicit-function bound reports (paper.md Props. A/B on a model);
//! - [`connectivity`]: payloads of mode-connectivity reports (Bézier curve and line);
//! - [`grid`], [`grid_export`]: a complete surface's arrays, their NPY/CSV encodings, and
//!   their export into files with a sidecar ([`grid_export::export_grid`]).
//!
//! ```
//! use advland_schema::{Norm, PgdSettings, parse_fraction};
//! let eps = parse_fraction("8/255").unwrap();
//! let pgd = PgdSettings::new(Norm::Linf, eps, 10);
//! assert!(pgd.check("attack").is_ok());
//! ```
// Library code never prints: progress goes through observers, data into return values.
#![deny(clippy::print_stdout, clippy::print_stderr)]
// Files are read and written through std: every I/O error becomes a typed error that names the
// path (`Error::Io { path, source }`), which fs-err's own path would repeat (clippy.toml).
#![allow(clippy::disallowed_methods)]
#![deny(missing_docs)]

pub mod attack;
pub mod bound;
pub mod calibrate;
pub mod compare;
pub mod connectivity;
pub mod error;
pub mod eval_attacks;
pub mod experiment;
pub mod flag_values;
pub mod flatness;
pub mod grid;
pub mod grid_export;
pub mod hash;
pub mod host;
pub mod linear;
pub mod merge;
pub mod metrics;
pub mod model;
pub mod objective;
pub mod optimizer;
pub mod output;
pub mod overrides;
pub mod perturbation;
pub mod report;
mod run_settings;
pub mod schedule;
pub mod settings;
pub mod sharpness;
pub mod summary;
pub mod surface;
pub mod threat;
pub mod weight_sharpness;

pub use attack::{
    ApgdLoss, ApgdSettings, AttackResult, AttackSpec, AutoattackLiteSettings, DEFAULT_APGD_STEPS,
    DEFAULT_APGD_TARGETS, RobustWorstCase,
};
pub use calibrate::{CalibrateReport, CalibrationStep, MatchOn};
pub use compare::{CompareReport, CompareRow};
pub use error::{Error, Result};
pub use eval_attacks::{EvalAttack, EvalAttacks};
pub use experiment::{ExperimentPlan, PlanError, PlanStep};
pub use hash::{file_sha256, sha256_f32, sha256_hex};
pub use host::Host;
pub use metrics::{
    CheckpointEntry, DemoFlatness, DemoModel, DemoSharpness, DemoSummary, EpochRecord, EpsRange,
    EvalReport, EvalResult, Metrics, RobustMetrics, TrainLog, UpdateCost,
};
pub use output::{LockFile, check_output, create_dir, resolve_output, write_atomic};
pub use overrides::{
    DataOverrides, EntropySgdOverrides, EpsScheduleKind, LrScheduleKind, ModelOverrides,
    OptimizerKind, RobustOverrides, ScheduleOverrides, SubsetSize, TrainOverrides,
};
pub use report::{
    Cost, DataSubset, Meta, Payload, Provenance, Report, WeightsSource, finite, peak_rss_mib,
    read_json, read_report, to_json_bytes, write_json,
};
pub use schedule::BatchPosition;
pub use settings::{
    Activation, AwpSettings, BnMode, DEFAULT_EVAL_STEPS, DEFAULT_TRAIN_STEPS, DataSettings,
    DatasetName, EntropySgdSettings, EpsSchedule, EvalSettings, LrSchedule, ModelKind, ModelSpec,
    NoiseConvention, Normalize, OptimizerSettings, OuterConvention, SCHEMA_VERSION, Scoping,
    ThreatSpec, TrainObjective, TrainSettings, TrainingSettings,
};
pub use sharpness::{
    DensityResult, DiameterComparison, EigenMethod, Eigenvalue, Estimator, HessianResult,
    KappaScaling, KappaSummary, KinkProfile, LipschitzResult, LocalEntropyKappa, ObjectiveInfo,
    ObjectiveKind, Precision, RadiusProbe, Secant, SharpnessEstimate, SharpnessReport,
    SmoothnessEstimates, StopReason, TraceResult, WorstCase,
};
pub use surface::{
    Axis, DirectionKind, DirectionsInfo, IgnoreParams, Normalization, Shard, SurfaceReport,
    SurfaceValues,
};
pub use threat::{
    AttackRequest, Norm, OptionalAttack, PgdSettings, STANDARD_ATTACK, default_step_size,
    parse_fraction,
};
pub use weight_sharpness::{
    BatchSharpness, MeanStdError, PerturbedParams, WeightBall, WeightSharpnessResult,
};
