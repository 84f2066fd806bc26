//! `advland train`'s settings: the flags on top of the experiment file (or the defaults), the
//! default run directory, and what a `--resume` was given that differs from the stored run.

use std::path::PathBuf;

use advland_schema::{
    AwpSettings, DEFAULT_EVAL_STEPS, EntropySgdSettings, EpsSchedule, LrSchedule,
    OptimizerSettings, PgdSettings, ThreatSpec, TrainObjective, TrainSettings, TrainingSettings,
    default_step_size,
};
use anyhow::{Result, bail};
use clap::ValueEnum;
use serde_json::Value;

use crate::args::{DataArgs, ModelArgs};
use crate::commands::train::{
    EntropySgdArgs, EpsScheduleArg, OptimizerArg, RobustArgs, ScheduleArg, ScheduleArgs, TrainArgs,
};

/// Applies the flags on top of the experiment file (or the defaults) and validates.
pub fn resolve(args: &TrainArgs) -> Result<TrainSettings> {
    let mut s = match &args.config {
        Some(path) => TrainSettings::from_toml_file(path)?,
        None => TrainSettings::default(),
    };
    let TrainArgs {
        config: _,
        out: _,
        resume: _,
        overwrite: _,
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
        checkpoint_every,
    } = args;
    set(&mut s.seed, *seed);
    if let Some(d) = data.dataset {
        s.data.dataset = d;
    }
    if data.data_dir.is_some() {
        s.data.data_dir.clone_from(&data.data_dir);
    }
    s.data.train_subset = data.train_subset.or(s.data.train_subset);
    s.data.test_subset = data.test_subset.or(s.data.test_subset);
    s.model = model.apply(std::mem::take(&mut s.model));
    set(&mut s.training.epochs, *epochs);
    set(&mut s.training.batch_size, *batch_size);
    set(&mut s.training.lr, *lr);
    set(&mut s.training.checkpoint_every, *checkpoint_every);
    resolve_schedules(&mut s.training, schedules)?;
    if gradient_budget.is_some() {
        s.training.gradient_budget = *gradient_budget;
    }
    resolve_optimizer(
        &mut s.optimizer,
        *optimizer,
        *momentum,
        *weight_decay,
        *nesterov,
        entropy,
    )?;
    s.adversarial = match (norm, eps, s.adversarial.take()) {
        (Some(n), Some(e), _) => Some(PgdSettings::new(
            *n,
            *e,
            advland_schema::DEFAULT_TRAIN_STEPS,
        )),
        (Some(n), None, Some(file)) => Some(PgdSettings { norm: *n, ..file }),
        (Some(_), None, None) => bail!("--norm needs --eps (the attack radius)"),
        (None, Some(e), Some(file)) => Some(PgdSettings { eps: *e, ..file }),
        (None, Some(_), None) => bail!("--eps needs --norm (linf or l2)"),
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
        bail!("--steps/--step-size set the training attack: add --norm and --eps");
    }
    resolve_robust(&mut s, robust)?;
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

/// Applies `--trades-beta` and the AWP flags; `--awp-warmup` alone changes an AWP the file
/// set up, and is refused without one.
fn resolve_robust(s: &mut TrainSettings, args: &RobustArgs) -> Result<()> {
    let RobustArgs {
        trades_beta,
        awp_gamma,
        awp_warmup,
    } = args;
    if let Some(beta) = trades_beta {
        s.objective = TrainObjective::Trades { beta: *beta };
    }
    if let Some(gamma) = awp_gamma {
        let awp = s.awp.get_or_insert_with(AwpSettings::default);
        awp.gamma = *gamma;
    }
    match (&mut s.awp, awp_warmup) {
        (Some(awp), Some(epochs)) => awp.warmup_epochs = *epochs,
        (None, Some(_)) => bail!("--awp-warmup delays AWP: add --awp-gamma"),
        (_, None) => {}
    }
    Ok(())
}

/// Applies `--optimizer` (a new kind starts from its defaults), then the shared flags (both
/// EntropySGD loops, as the reference code shares them), then the EntropySGD-only ones.
fn resolve_optimizer(
    settings: &mut OptimizerSettings,
    kind: Option<OptimizerArg>,
    momentum: Option<f64>,
    weight_decay: Option<f64>,
    nesterov: Option<bool>,
    entropy: &EntropySgdArgs,
) -> Result<()> {
    match (kind, &*settings) {
        (Some(OptimizerArg::Sgd), OptimizerSettings::EntropySgd(_)) => {
            *settings = OptimizerSettings::default();
        }
        (Some(OptimizerArg::EntropySgd), OptimizerSettings::Sgd { .. }) => {
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
                bail!(
                    "{} set EntropySGD: add --optimizer entropy-sgd",
                    given.join(", ")
                );
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
            let EntropySgdArgs {
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
            } = entropy;
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
    Ok(())
}

/// Applies the schedule flags: a kind given starts from the file's values of that kind (else
/// the defaults), and a parameter flag needs a schedule of its kind, given or in the file.
fn resolve_schedules(t: &mut TrainingSettings, args: &ScheduleArgs) -> Result<()> {
    let ScheduleArgs {
        schedule,
        milestones,
        lr_factor,
        warmup_epochs,
        eps_schedule,
        eps_warmup_epochs,
        eps_start,
        eps_periods,
        eps_peak,
    } = args;
    set(&mut t.warmup_epochs, *warmup_epochs);
    let piecewise = |file: Option<(&Vec<usize>, f64)>| -> Result<LrSchedule> {
        let Some(milestones) = milestones.clone().or_else(|| file.map(|f| f.0.clone())) else {
            bail!("--schedule piecewise needs --milestones (epochs at which the rate drops)");
        };
        let factor = lr_factor.or(file.map(|f| f.1)).unwrap_or(0.1);
        Ok(LrSchedule::Piecewise { milestones, factor })
    };
    let file_piecewise = match &t.schedule {
        LrSchedule::Piecewise { milestones, factor } => Some((milestones, *factor)),
        _ => None,
    };
    t.schedule = match (schedule, file_piecewise) {
        (Some(ScheduleArg::Piecewise), file) | (None, file @ Some(_)) => piecewise(file)?,
        (Some(other), _) if milestones.is_some() || lr_factor.is_some() => bail!(
            "--milestones/--lr-factor set the piecewise schedule, not --schedule {}",
            flag_value(other)
        ),
        (Some(ScheduleArg::Constant), _) => LrSchedule::Constant,
        (Some(ScheduleArg::Cosine), _) => LrSchedule::Cosine,
        (Some(ScheduleArg::Cyclic), _) => LrSchedule::Cyclic,
        (None, None) if milestones.is_some() || lr_factor.is_some() => {
            bail!("--milestones/--lr-factor set the piecewise schedule: add --schedule piecewise")
        }
        (None, None) => t.schedule.clone(),
    };
    let kind = eps_schedule.unwrap_or(match t.eps_schedule {
        EpsSchedule::Constant => EpsScheduleArg::Constant,
        EpsSchedule::Linear { .. } => EpsScheduleArg::Linear,
        EpsSchedule::Periodic { .. } => EpsScheduleArg::Periodic,
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
    let unused = |flags: &[(&str, bool)]| {
        let given: Vec<&str> = flags.iter().filter(|f| f.1).map(|f| f.0).collect();
        if given.is_empty() {
            Ok(())
        } else {
            Err(anyhow::anyhow!(
                "{}: not used by the ε schedule {}; set --eps-schedule",
                given.join(", "),
                flag_value(&kind)
            ))
        }
    };
    t.eps_schedule = match kind {
        EpsScheduleArg::Constant => {
            unused(&[
                ("--eps-warmup-epochs", eps_warmup_epochs.is_some()),
                ("--eps-start", eps_start.is_some()),
                ("--eps-periods", eps_periods.is_some()),
                ("--eps-peak", eps_peak.is_some()),
            ])?;
            EpsSchedule::Constant
        }
        EpsScheduleArg::Linear => {
            unused(&[
                ("--eps-periods", eps_periods.is_some()),
                ("--eps-peak", eps_peak.is_some()),
            ])?;
            let Some(epochs) = eps_warmup_epochs.or(file_epochs) else {
                bail!("--eps-schedule linear needs --eps-warmup-epochs (epochs of the ramp)");
            };
            EpsSchedule::Linear {
                epochs,
                start: eps_start.or(file_start).unwrap_or(0.0),
            }
        }
        EpsScheduleArg::Periodic => {
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

/// A value as its flag spells it.
fn flag_value(v: &impl ValueEnum) -> String {
    v.to_possible_value()
        .map_or_else(String::new, |p| p.get_name().to_owned())
}

fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

/// The default run directory name.
pub fn default_run_dir(s: &TrainSettings) -> PathBuf {
    // The kind's name as files and flags spell it (serde's kebab-case).
    let kind = serde_json::to_value(s.model.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_else(|| "model".to_owned());
    let mut objective = s
        .adversarial
        .as_ref()
        .map_or("std".to_owned(), |a| format!("{}-{}", a.norm, a.eps));
    if let TrainObjective::Trades { beta } = s.objective {
        objective.push_str(&format!("-trades{beta}"));
    }
    if let Some(awp) = &s.awp {
        objective.push_str(&format!("-awp{}", awp.gamma));
    }
    let rule = match s.optimizer {
        OptimizerSettings::Sgd { .. } => "",
        OptimizerSettings::EntropySgd(_) => "-esgd",
    };
    PathBuf::from("runs").join(format!("{kind}-{objective}{rule}-s{}", s.seed))
}

/// Whether `--config` or any flag that sets a training setting was given.
pub fn settings_given(args: &TrainArgs) -> bool {
    let TrainArgs {
        config,
        out: _,
        resume: _,
        overwrite: _,
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
        checkpoint_every,
    } = args;
    let RobustArgs {
        trades_beta,
        awp_gamma,
        awp_warmup,
    } = robust;
    [
        config.is_some(),
        seed.is_some(),
        *data != DataArgs::default(),
        *model != ModelArgs::default(),
        epochs.is_some(),
        batch_size.is_some(),
        lr.is_some(),
        *schedules != ScheduleArgs::default(),
        optimizer.is_some(),
        momentum.is_some(),
        weight_decay.is_some(),
        nesterov.is_some(),
        gradient_budget.is_some(),
        !entropy.given().is_empty(),
        norm.is_some(),
        eps.is_some(),
        steps.is_some(),
        step_size.is_some(),
        trades_beta.is_some(),
        awp_gamma.is_some(),
        awp_warmup.is_some(),
        !eval_attacks.is_empty(),
        eval_subset.is_some(),
        checkpoint_every.is_some(),
    ]
    .into_iter()
    .any(|given| given)
}

/// The settings where `stored` and `given` differ, as `field: stored → given` lines.
pub fn setting_differences(stored: &TrainSettings, given: &TrainSettings) -> Result<Vec<String>> {
    fn walk(path: &str, stored: Option<&Value>, given: Option<&Value>, out: &mut Vec<String>) {
        let show = |v: Option<&Value>| v.map_or_else(|| "unset".to_owned(), Value::to_string);
        match (stored, given) {
            (Some(Value::Object(a)), Some(Value::Object(b))) => {
                let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
                keys.sort();
                keys.dedup();
                for key in keys {
                    let field = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    walk(&field, a.get(key), b.get(key), out);
                }
            }
            (a, b) if a == b => {}
            (a, b) => out.push(format!("{path}: {} → {}", show(a), show(b))),
        }
    }
    let mut out = Vec::new();
    walk(
        "",
        Some(&serde_json::to_value(stored)?),
        Some(&serde_json::to_value(given)?),
        &mut out,
    );
    Ok(out)
}

#[cfg(test)]
#[path = "train_settings_tests.rs"]
mod tests;
