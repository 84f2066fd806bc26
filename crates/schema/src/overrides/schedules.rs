//! Schedule overrides over a training file's schedules: a kind given starts from the file's
//! values of that kind (else the defaults), and a parameter needs a schedule of its kind,
//! given or in the file.

use serde::{Deserialize, Serialize};

use super::{overrides, set};
use crate::error::Result;
use crate::settings::{EpsSchedule, LrSchedule, TrainingSettings};

/// Learning-rate schedules by kind (`--schedule`; `advland_schema::schedule` has the formulas
/// and sources).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum LrScheduleKind {
    /// Constant rate.
    Constant,
    /// Multiply by --lr-factor at each of --milestones (epochs, from 0), PyTorch's MultiStepLR.
    Piecewise,
    /// Cosine decay to 0, one rate per epoch.
    Cosine,
    /// robust_overfitting's one cycle, per minibatch: 0 up to --lr at 2/5 of the run, down to 0.
    Cyclic,
}

/// ε schedules of the training attack by kind (`--eps-schedule`); the PGD step size follows
/// ε (α/ε kept).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum EpsScheduleKind {
    /// --eps throughout.
    Constant,
    /// Linear from --eps-start to --eps over --eps-warmup-epochs, per minibatch.
    Linear,
    /// Liu et al. 2020's periodic adversarial scheduling: in each of --eps-periods periods a
    /// cosine from --eps-start towards --eps-peak·ε, capped at ε.
    Periodic,
}

impl LrScheduleKind {
    /// The kind as flags and files spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Constant => "constant",
            Self::Piecewise => "piecewise",
            Self::Cosine => "cosine",
            Self::Cyclic => "cyclic",
        }
    }
}

impl EpsScheduleKind {
    /// The kind as flags and files spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Constant => "constant",
            Self::Linear => "linear",
            Self::Periodic => "periodic",
        }
    }
}

/// Learning-rate and ε schedule overrides (`--schedule`, `--milestones`, …); unset fields
/// keep the training file's values (or the defaults).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
#[serde(default, deny_unknown_fields)]
pub struct ScheduleOverrides {
    /// Learning-rate schedule [cosine].
    #[cfg_attr(feature = "clap", arg(long, value_enum))]
    pub schedule: Option<LrScheduleKind>,
    /// Epochs at which the piecewise schedule multiplies the rate, e.g. 50,75 (needed by
    /// --schedule piecewise).
    #[cfg_attr(
        feature = "clap",
        arg(long, value_delimiter = ',', value_name = "EPOCHS")
    )]
    pub milestones: Option<Vec<usize>>,
    /// The piecewise schedule's multiplier [0.1].
    #[cfg_attr(feature = "clap", arg(long, value_parser = crate::flag_values::positive_number))]
    pub lr_factor: Option<f64>,
    /// Linear learning-rate warm-up over this many epochs in front of the schedule, which then
    /// runs over the remaining epochs (PyTorch's LinearLR + SequentialLR) [0].
    #[cfg_attr(feature = "clap", arg(long))]
    pub warmup_epochs: Option<usize>,
    /// Schedule of the training attack's radius [constant].
    #[cfg_attr(feature = "clap", arg(long, value_enum))]
    pub eps_schedule: Option<EpsScheduleKind>,
    /// Epochs of the linear ε warm-up (needed by --eps-schedule linear).
    #[cfg_attr(feature = "clap", arg(long, value_parser = crate::flag_values::at_least_one))]
    pub eps_warmup_epochs: Option<usize>,
    /// Radius the linear and periodic ε schedules start from, e.g. 0 or 2/255 [0].
    #[cfg_attr(feature = "clap", arg(long, value_parser = crate::flag_values::parse_eps))]
    pub eps_start: Option<f64>,
    /// Periods of the periodic ε schedule [1].
    #[cfg_attr(feature = "clap", arg(long, value_parser = crate::flag_values::at_least_one))]
    pub eps_periods: Option<usize>,
    /// The periodic ε schedule's cosine target as a multiple of --eps, capped at --eps [1.5].
    #[cfg_attr(feature = "clap", arg(long, value_parser = crate::flag_values::positive_number))]
    pub eps_peak: Option<f64>,
}

impl ScheduleOverrides {
    /// Applies the overrides to `t`'s schedules.
    ///
    /// # Errors
    /// [`Error::Overrides`](crate::Error::Overrides) for a parameter without a schedule of its kind, or a kind without
    /// its required parameter.
    pub fn apply(&self, t: &mut TrainingSettings) -> Result<()> {
        let Self {
            schedule,
            milestones,
            lr_factor,
            warmup_epochs,
            eps_schedule,
            eps_warmup_epochs,
            eps_start,
            eps_periods,
            eps_peak,
        } = self;
        set(&mut t.warmup_epochs, *warmup_epochs);
        let piecewise = |file: Option<(&Vec<usize>, f64)>| -> Result<LrSchedule> {
            let Some(milestones) = milestones.clone().or_else(|| file.map(|f| f.0.clone())) else {
                return Err(overrides(
                    &["--schedule", "--milestones"],
                    "--schedule piecewise needs --milestones (epochs at which the rate drops)",
                ));
            };
            let factor = lr_factor.or(file.map(|f| f.1)).unwrap_or(0.1);
            Ok(LrSchedule::Piecewise { milestones, factor })
        };
        let file_piecewise = match &t.schedule {
            LrSchedule::Piecewise { milestones, factor } => Some((milestones, *factor)),
            _ => None,
        };
        let piecewise_flags = ["--milestones", "--lr-factor"];
        t.schedule = match (schedule, file_piecewise) {
            (Some(LrScheduleKind::Piecewise), file) | (None, file @ Some(_)) => piecewise(file)?,
            (Some(other), _) if milestones.is_some() || lr_factor.is_some() => {
                return Err(overrides(
                    &piecewise_flags,
                    format!(
                        "--milestones/--lr-factor set the piecewise schedule, not --schedule {}",
                        other.as_str()
                    ),
                ));
            }
            (Some(LrScheduleKind::Constant), _) => LrSchedule::Constant,
            (Some(LrScheduleKind::Cosine), _) => LrSchedule::Cosine,
            (Some(LrScheduleKind::Cyclic), _) => LrSchedule::Cyclic,
            (None, None) if milestones.is_some() || lr_factor.is_some() => {
                return Err(overrides(
                    &piecewise_flags,
                    "--milestones/--lr-factor set the piecewise schedule: add --schedule \
                     piecewise",
                ));
            }
            (None, None) => t.schedule.clone(),
        };
        let kind = eps_schedule.unwrap_or(match t.eps_schedule {
            EpsSchedule::Constant => EpsScheduleKind::Constant,
            EpsSchedule::Linear { .. } => EpsScheduleKind::Linear,
            EpsSchedule::Periodic { .. } => EpsScheduleKind::Periodic,
        });
        // The file's values of the same kind, else the kind's defaults.
        let (file_epochs, file_start, file_periods, file_peak) = match &t.eps_schedule {
            EpsSchedule::Constant => (None, None, None, None),
            EpsSchedule::Linear { epochs, start } => (Some(*epochs), Some(*start), None, None),
            EpsSchedule::Periodic {
                periods,
                start,
                peak,
            } => (None, Some(*start), Some(*periods), Some(*peak)),
        };
        let unused = |flags: &[(&str, bool)]| -> Result<()> {
            let given: Vec<&str> = flags.iter().filter(|f| f.1).map(|f| f.0).collect();
            if given.is_empty() {
                Ok(())
            } else {
                Err(overrides(
                    &given,
                    format!(
                        "{}: not used by the ε schedule {}; set --eps-schedule",
                        given.join(", "),
                        kind.as_str()
                    ),
                ))
            }
        };
        t.eps_schedule = match kind {
            EpsScheduleKind::Constant => {
                unused(&[
                    ("--eps-warmup-epochs", eps_warmup_epochs.is_some()),
                    ("--eps-start", eps_start.is_some()),
                    ("--eps-periods", eps_periods.is_some()),
                    ("--eps-peak", eps_peak.is_some()),
                ])?;
                EpsSchedule::Constant
            }
            EpsScheduleKind::Linear => {
                unused(&[
                    ("--eps-periods", eps_periods.is_some()),
                    ("--eps-peak", eps_peak.is_some()),
                ])?;
                let Some(epochs) = eps_warmup_epochs.or(file_epochs) else {
                    return Err(overrides(
                        &["--eps-schedule", "--eps-warmup-epochs"],
                        "--eps-schedule linear needs --eps-warmup-epochs (epochs of the ramp)",
                    ));
                };
                EpsSchedule::Linear {
                    epochs,
                    start: eps_start.or(file_start).unwrap_or(0.0),
                }
            }
            EpsScheduleKind::Periodic => {
                unused(&[("--eps-warmup-epochs", eps_warmup_epochs.is_some())])?;
                EpsSchedule::Periodic {
                    periods: eps_periods.or(file_periods).unwrap_or(1),
                    start: eps_start.or(file_start).unwrap_or(0.0),
                    peak: eps_peak.or(file_peak).unwrap_or(1.5),
                }
            }
        };
        Ok(())
    }
}
