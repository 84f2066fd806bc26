//! Learning-rate and ε schedules: the rate and the attack radius of every minibatch of a run,
//! as pure functions of where the minibatch falls ([`BatchPosition`]), so that a run resumed
//! at an epoch boundary sees the same values as the uninterrupted one.
//!
//! Sources, each oracle-tested by `bench/make_schedule_fixtures.py`:
//! - `constant`, `piecewise`, `cosine`: one rate per epoch, as PyTorch's `MultiStepLR` and
//!   `CosineAnnealingLR` (`T_max` = epochs, `eta_min` = 0) stepped once per epoch;
//! - `cyclic`: robust_overfitting's `superconverge` schedule (`train_cifar.py`, the one the
//!   fast-adversarial-training code calls `cyclic`), `np.interp(t, [0, ⌊2E/5⌋, E], [0, lr, 0])`
//!   at t = epoch + (i+1)/n for minibatch i of n, so the rate changes every minibatch;
//! - warm-up (`training.warmup_epochs` = W): PyTorch's `LinearLR(start_factor = 1/(W+1),
//!   total_iters = W)` followed by the schedule through `SequentialLR(milestones = [W])`: the
//!   rate is lr·(t+1)/(W+1) for t < W, then the schedule runs as if the run started at epoch W
//!   and lasted E − W epochs (piecewise milestones count from the warm-up's end). t is the
//!   schedule's own clock: whole epochs, or fractional ones for `cyclic`;
//! - ε: Liu et al. 2020 (liuchen11/AdversaryLossLandscape, `util/seq_parser.py` `cycle_cos` and
//!   `util/train.py` with `schedule_update_mode = batch`): ε is set per minibatch at
//!   t = epoch + i/n, and the PGD step size follows it, α(t) = α·ε(t)/ε (their
//!   `adjust_threshold`), so α/ε stays as configured.

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::threat::PgdSettings;

/// Where a minibatch falls in a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchPosition {
    /// Epoch, from 0.
    pub epoch: usize,
    /// Minibatch within the epoch, from 0.
    pub batch: usize,
    /// Minibatches per epoch.
    pub batches: usize,
    /// Epochs of the run.
    pub epochs: usize,
}

impl BatchPosition {
    /// Epochs done once this minibatch is done, t = epoch + (i+1)/n (robust_overfitting's
    /// clock).
    fn after(self) -> f64 {
        self.epoch as f64 + (self.batch + 1) as f64 / self.batches.max(1) as f64
    }

    /// Epochs done when this minibatch starts, t = epoch + i/n (Liu et al.'s clock).
    fn before(self) -> f64 {
        self.epoch as f64 + self.batch as f64 / self.batches.max(1) as f64
    }
}

/// Learning-rate schedule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum LrSchedule {
    /// The base rate throughout.
    Constant,
    /// Multiply by `factor` at each epoch listed in `milestones` (0-based epoch index).
    Piecewise {
        /// Epochs at which the rate drops.
        milestones: Vec<usize>,
        /// Multiplier applied at each milestone.
        factor: f64,
    },
    /// Cosine decay from the base rate to 0 over the run, evaluated per epoch.
    Cosine,
    /// One cycle, per minibatch: linear from 0 up to the base rate at epoch ⌊2E/5⌋, then
    /// linear down to 0 at the run's end (robust_overfitting's `superconverge`).
    Cyclic,
}

impl LrSchedule {
    /// The learning rate of `epoch` (0-based) out of `epochs`, at the epoch's start.
    pub fn lr(&self, base: f64, epoch: usize, epochs: usize) -> f64 {
        match self {
            LrSchedule::Constant => base,
            LrSchedule::Piecewise { milestones, factor } => {
                let drops = milestones.iter().filter(|&&m| epoch >= m).count();
                base * factor.powi(i32::try_from(drops).unwrap_or(i32::MAX))
            }
            LrSchedule::Cosine => {
                let t = epoch as f64 / epochs.max(1) as f64;
                0.5 * base * (1.0 + (std::f64::consts::PI * t).cos())
            }
            LrSchedule::Cyclic => one_cycle(base, epoch as f64, epochs),
        }
    }

    /// Whether the rate changes within an epoch.
    pub fn per_minibatch(&self) -> bool {
        matches!(self, LrSchedule::Cyclic)
    }

    /// The learning rate of the step that starts at minibatch `at`, after a linear warm-up of
    /// `warmup_epochs` (module docs).
    pub fn lr_at(&self, base: f64, warmup_epochs: usize, at: BatchPosition) -> f64 {
        let w = warmup_epochs;
        if self.per_minibatch() {
            let t = at.after();
            if t < w as f64 {
                base * (t + 1.0) / (w as f64 + 1.0)
            } else {
                one_cycle(base, t - w as f64, at.epochs.saturating_sub(w))
            }
        } else if at.epoch < w {
            base * (at.epoch + 1) as f64 / (w + 1) as f64
        } else {
            // With no warm-up this is `lr(base, epoch, epochs)` itself, so runs of the
            // per-epoch schedules keep their numbers.
            self.lr(base, at.epoch - w, at.epochs.saturating_sub(w))
        }
    }
}

/// `np.interp(t, [0, ⌊2E/5⌋, E], [0, base, 0])`, in NumPy's own arithmetic (slope times
/// distance from the segment's left end).
fn one_cycle(base: f64, t: f64, epochs: usize) -> f64 {
    let end = epochs as f64;
    let peak = (epochs * 2 / 5) as f64;
    if t <= 0.0 || t >= end {
        0.0
    } else if t < peak {
        base / peak * t
    } else {
        (0.0 - base) / (end - peak) * (t - peak) + base
    }
}

/// How the training attack's radius moves over the run; the step size follows it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum EpsSchedule {
    /// The configured ε throughout.
    #[default]
    Constant,
    /// Linear from `start` to ε over the first `epochs` epochs, per minibatch, then ε.
    Linear {
        /// Epochs of the ramp.
        epochs: usize,
        /// Radius at the run's first minibatch (pixel units).
        #[serde(default)]
        start: f64,
    },
    /// Liu et al. 2020's periodic adversarial scheduling (their `cycle_cos`): the run is cut
    /// into `periods` equal periods; within each, at fraction r of it,
    /// ε(r) = min(ε, start + (peak·ε − start)·(1 − cos πr)/2). This is the ε side of their
    /// scheduling as their code computes it; the paper's per-experiment settings (and
    /// whether its learning rate restarts with each period) were not checked against the
    /// paper's text. The defaults follow the code's README example
    /// (`eps_min=0,eps_max=0.6,max=0.4`: peak 1.5, one period); set `periods` and `peak` to
    /// the experiment being reproduced.
    Periodic {
        /// Periods in the run.
        #[serde(default = "one_period")]
        periods: usize,
        /// Radius at each period's start (pixel units).
        #[serde(default)]
        start: f64,
        /// The cosine's target as a multiple of ε; the radius is capped at ε.
        #[serde(default = "default_peak")]
        peak: f64,
    },
}

fn one_period() -> usize {
    1
}

fn default_peak() -> f64 {
    1.5
}

impl EpsSchedule {
    /// Whether ε stays as configured (serde skips the default).
    pub fn is_constant(&self) -> bool {
        *self == EpsSchedule::Constant
    }

    /// The radius of minibatch `at` when the configured one is `eps`.
    pub fn eps_at(&self, eps: f64, at: BatchPosition) -> f64 {
        let t = at.before();
        match self {
            EpsSchedule::Constant => eps,
            EpsSchedule::Linear { epochs, start } => {
                let ramp = *epochs as f64;
                if t >= ramp {
                    eps
                } else {
                    start + (eps - start) * t / ramp
                }
            }
            EpsSchedule::Periodic {
                periods,
                start,
                peak,
            } => {
                let length = at.epochs as f64 / (*periods).max(1) as f64;
                // The last period is closed on the right, as in Liu et al.'s code.
                let k = ((t / length).floor() as usize).min(periods.saturating_sub(1));
                let ratio = (t - k as f64 * length) / length;
                let target = peak * eps;
                let value =
                    start + 0.5 * (target - start) * (1.0 - (ratio * std::f64::consts::PI).cos());
                value.min(eps)
            }
        }
    }

    /// The training attack of minibatch `at`: `base` with the scheduled radius and its step
    /// size scaled alike (α/ε kept), or `None` where the radius is 0 (a clean minibatch, as
    /// Liu et al.'s attacker returns the clean batch below ε = 1e-6).
    pub fn attack_at(&self, base: &PgdSettings, at: BatchPosition) -> Option<PgdSettings> {
        let eps = self.eps_at(base.eps, at);
        if eps <= 0.0 {
            return None;
        }
        if eps == base.eps {
            return Some(base.clone());
        }
        Some(PgdSettings {
            eps,
            step_size: base.step_size * eps / base.eps,
            ..base.clone()
        })
    }
}

/// The rules of the schedules in `training.*` (`adversarial` is the training attack).
pub(crate) fn schedule_problems(
    schedule: &LrSchedule,
    warmup_epochs: usize,
    eps_schedule: &EpsSchedule,
    epochs: usize,
    adversarial: Option<&PgdSettings>,
) -> Vec<Error> {
    let mut problems = Vec::new();
    if let LrSchedule::Piecewise { factor, .. } = schedule
        && !(factor.is_finite() && *factor > 0.0)
    {
        problems.push(Error::invalid(
            "training.schedule.factor",
            format!("must be finite and > 0, got {factor} (--lr-factor)"),
        ));
    }
    if warmup_epochs > 0 && warmup_epochs >= epochs {
        problems.push(Error::invalid(
            "training.warmup_epochs",
            format!(
                "must be below training.epochs ({epochs}), got {warmup_epochs}: the schedule \
                 runs after the warm-up (--warmup-epochs)"
            ),
        ));
    }
    let eps = adversarial.map(|a| a.eps);
    let start = match eps_schedule {
        EpsSchedule::Constant => return problems,
        EpsSchedule::Linear { epochs: 0, .. } => {
            problems.push(Error::invalid(
                "training.eps_schedule.epochs",
                "must be >= 1 (--eps-warmup-epochs)",
            ));
            None
        }
        EpsSchedule::Linear { start, .. } => Some(*start),
        EpsSchedule::Periodic {
            periods,
            start,
            peak,
        } => {
            if *periods == 0 {
                problems.push(Error::invalid(
                    "training.eps_schedule.periods",
                    "must be >= 1 (--eps-periods)",
                ));
            }
            if !(peak.is_finite() && *peak > 0.0) {
                problems.push(Error::invalid(
                    "training.eps_schedule.peak",
                    format!("must be finite and > 0, got {peak} (--eps-peak)"),
                ));
            }
            Some(*start)
        }
    };
    match (eps, start) {
        (None, _) => problems.push(Error::invalid(
            "training.eps_schedule",
            "schedules the training attack's radius: add adversarial training (--norm, --eps)",
        )),
        (Some(eps), Some(start)) if !(start.is_finite() && (0.0..=eps).contains(&start)) => {
            problems.push(Error::invalid(
                "training.eps_schedule.start",
                format!("must be in [0, ε = {eps}], got {start} (--eps-start)"),
            ));
        }
        _ => {}
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::threat::Norm;
    use serde::Deserialize;

    fn at(epoch: usize, batch: usize, batches: usize, epochs: usize) -> BatchPosition {
        BatchPosition {
            epoch,
            batch,
            batches,
            epochs,
        }
    }

    #[test]
    fn schedules_give_expected_rates() {
        let p = LrSchedule::Piecewise {
            milestones: vec![2, 4],
            factor: 0.1,
        };
        assert!((p.lr(1.0, 3, 6) - 0.1).abs() < 1e-12);
        assert!((LrSchedule::Cosine.lr(1.0, 0, 10) - 1.0).abs() < 1e-12);
        assert!(LrSchedule::Cosine.lr(1.0, 9, 10) < 0.05);
    }

    /// Without warm-up, every minibatch of an epoch gets the per-epoch rate itself, bit for
    /// bit, so runs written before per-minibatch schedules keep their numbers.
    #[test]
    fn per_epoch_schedules_without_warmup_equal_their_epoch_rate() {
        let schedules = [
            LrSchedule::Constant,
            LrSchedule::Cosine,
            LrSchedule::Piecewise {
                milestones: vec![1, 3],
                factor: 0.3,
            },
        ];
        for s in &schedules {
            for epoch in 0..5 {
                for batch in [0, 6] {
                    let rate = s.lr_at(0.07, 0, at(epoch, batch, 7, 5));
                    assert_eq!(rate.to_bits(), s.lr(0.07, epoch, 5).to_bits(), "{s:?}");
                }
            }
        }
    }

    #[derive(Deserialize)]
    struct Fixture {
        lr: Vec<LrCase>,
        eps: Vec<EpsCase>,
    }

    #[derive(Deserialize)]
    struct LrCase {
        name: String,
        schedule: LrSchedule,
        warmup_epochs: usize,
        base: f64,
        epochs: usize,
        batches: usize,
        /// One rate per minibatch of the run, in order.
        rates: Vec<f64>,
    }

    #[derive(Deserialize)]
    struct EpsCase {
        name: String,
        schedule: EpsSchedule,
        eps: f64,
        epochs: usize,
        batches: usize,
        radii: Vec<f64>,
    }

    fn fixture() -> Fixture {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/schedules/schedules.json");
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1e-300) || (a - b).abs() < 1e-15
    }

    /// Compares `f` at every minibatch of a run with the fixture's `values`, in order.
    fn check_run(
        name: &str,
        epochs: usize,
        batches: usize,
        values: &[f64],
        f: impl Fn(BatchPosition) -> f64,
    ) {
        assert_eq!(values.len(), epochs * batches, "{name}");
        for (k, want) in values.iter().enumerate() {
            let got = f(at(k / batches, k % batches, batches, epochs));
            assert!(close(got, *want), "{name} minibatch {k}: {got} vs {want}");
        }
    }

    /// Every minibatch's rate against PyTorch's schedulers (`MultiStepLR`,
    /// `CosineAnnealingLR`, `LinearLR` + `SequentialLR`) and robust_overfitting's `np.interp`.
    #[test]
    fn lr_schedules_match_pytorch_and_robust_overfitting() {
        let cases = fixture().lr;
        assert!(cases.len() >= 7);
        for c in cases {
            check_run(&c.name, c.epochs, c.batches, &c.rates, |pos| {
                c.schedule.lr_at(c.base, c.warmup_epochs, pos)
            });
        }
    }

    /// Every minibatch's radius against Liu et al.'s `seq_parser` functions in batch mode.
    #[test]
    fn eps_schedules_match_liu_et_al() {
        let cases = fixture().eps;
        assert!(cases.len() >= 3);
        for c in cases {
            check_run(&c.name, c.epochs, c.batches, &c.radii, |pos| {
                c.schedule.eps_at(c.eps, pos)
            });
        }
    }

    #[test]
    fn scheduled_attacks_keep_the_step_to_radius_ratio() {
        let base = PgdSettings {
            step_size: 0.02,
            ..PgdSettings::new(Norm::Linf, 0.1, 3)
        };
        let ramp = EpsSchedule::Linear {
            epochs: 2,
            start: 0.0,
        };
        assert_eq!(ramp.attack_at(&base, at(0, 0, 4, 3)), None);
        let a = ramp.attack_at(&base, at(0, 2, 4, 3)).unwrap();
        assert!((a.eps - 0.025).abs() < 1e-15 && (a.step_size - 0.005).abs() < 1e-15);
        assert_eq!((a.steps, a.norm), (3, Norm::Linf));
        assert_eq!(ramp.attack_at(&base, at(2, 0, 4, 3)), Some(base.clone()));
        assert_eq!(
            EpsSchedule::Constant.attack_at(&base, at(0, 0, 4, 3)),
            Some(base)
        );
    }

    /// The TOML form of the new keys; settings without them serialise as before (no
    /// `warmup_epochs` or `eps_schedule` key), so older resolved settings compare equal.
    #[test]
    fn training_files_take_schedules_and_old_settings_keep_their_shape() {
        use crate::settings::TrainingSettings;
        let t: TrainingSettings = toml::from_str(
            "schedule = { kind = \"cyclic\" }\nwarmup_epochs = 2\n\
             eps_schedule = { kind = \"periodic\", periods = 2 }\n",
        )
        .unwrap();
        assert_eq!(
            (t.schedule, t.warmup_epochs, t.eps_schedule),
            (
                LrSchedule::Cyclic,
                2,
                EpsSchedule::Periodic {
                    periods: 2,
                    start: 0.0,
                    peak: 1.5
                }
            )
        );
        let json = serde_json::to_value(TrainingSettings::default()).unwrap();
        assert!(json.get("warmup_epochs").is_none() && json.get("eps_schedule").is_none());
        let err = toml::from_str::<TrainingSettings>("eps_schedule = { kind = \"linear\" }\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("epochs"), "{err}");
    }

    #[test]
    fn schedule_rules_name_their_fields() {
        let adv = PgdSettings::new(Norm::Linf, 0.1, 3);
        let names = |problems: Vec<Error>| {
            problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        };
        let all = names(schedule_problems(
            &LrSchedule::Cyclic,
            4,
            &EpsSchedule::Periodic {
                periods: 0,
                start: 0.5,
                peak: f64::NAN,
            },
            4,
            Some(&adv),
        ));
        for field in [
            "training.warmup_epochs",
            "training.eps_schedule.periods",
            "training.eps_schedule.peak",
            "training.eps_schedule.start",
        ] {
            assert!(all.contains(field), "{field} missing from {all}");
        }
        let clean = names(schedule_problems(
            &LrSchedule::Constant,
            0,
            &EpsSchedule::Linear {
                epochs: 2,
                start: 0.0,
            },
            4,
            None,
        ));
        assert!(clean.contains("--norm"), "{clean}");
        assert!(
            schedule_problems(&LrSchedule::Cyclic, 1, &EpsSchedule::Constant, 2, None).is_empty()
        );
    }
}
