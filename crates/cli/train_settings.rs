//! `advland train`'s flags as [`TrainOverrides`] of the training file (plain copies: the
//! overrides are named like the flags, and the library applies them with their rules).

use advland_schema::{
    DataOverrides, EntropySgdOverrides, RobustOverrides, ScheduleOverrides, TrainOverrides,
    TrainSettings,
};
use anyhow::Result;

use crate::args::DataArgs;
use crate::commands::train::{EntropySgdArgs, RobustArgs, ScheduleArgs, TrainArgs};

/// The settings of `--config` (or the defaults) with the flags applied and checked.
pub fn resolve(args: &TrainArgs) -> Result<TrainSettings> {
    Ok(overrides(args).resolve(args.config.as_deref())?)
}

/// Whether `--config` or any flag that sets a training setting was given.
pub fn settings_given(args: &TrainArgs) -> bool {
    args.config.is_some() || !overrides(args).is_empty()
}

/// The settings flags as overrides.
pub fn overrides(args: &TrainArgs) -> TrainOverrides {
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
    let DataArgs {
        dataset,
        data_dir,
        train_subset,
        test_subset,
    } = data;
    let RobustArgs {
        trades_beta,
        awp_gamma,
        awp_warmup,
    } = robust;
    TrainOverrides {
        seed: *seed,
        data: DataOverrides {
            dataset: *dataset,
            data_dir: data_dir.clone(),
            train_subset: *train_subset,
            test_subset: *test_subset,
        },
        model: model.overrides(),
        epochs: *epochs,
        batch_size: *batch_size,
        lr: *lr,
        schedules: schedule_overrides(schedules),
        optimizer: *optimizer,
        momentum: *momentum,
        weight_decay: *weight_decay,
        nesterov: *nesterov,
        gradient_budget: *gradient_budget,
        entropy: entropy_overrides(entropy),
        norm: *norm,
        eps: *eps,
        steps: *steps,
        step_size: *step_size,
        robust: RobustOverrides {
            trades_beta: *trades_beta,
            awp_gamma: *awp_gamma,
            awp_warmup: *awp_warmup,
        },
        eval_attacks: eval_attacks.clone(),
        eval_subset: *eval_subset,
        checkpoint_every: *checkpoint_every,
    }
}

fn schedule_overrides(schedules: &ScheduleArgs) -> ScheduleOverrides {
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
    } = schedules;
    ScheduleOverrides {
        schedule: *schedule,
        milestones: milestones.clone(),
        lr_factor: *lr_factor,
        warmup_epochs: *warmup_epochs,
        eps_schedule: *eps_schedule,
        eps_warmup_epochs: *eps_warmup_epochs,
        eps_start: *eps_start,
        eps_periods: *eps_periods,
        eps_peak: *eps_peak,
    }
}

fn entropy_overrides(entropy: &EntropySgdArgs) -> EntropySgdOverrides {
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
    EntropySgdOverrides {
        inner_steps: *inner_steps,
        gamma0: *gamma0,
        gamma1: *gamma1,
        scoping: *scoping,
        inner_lr: *inner_lr,
        noise: *noise,
        noise_convention: *noise_convention,
        mean_weight: *mean_weight,
        outer_convention: *outer_convention,
        outer_momentum: *outer_momentum,
        outer_nesterov: *outer_nesterov,
        outer_weight_decay: *outer_weight_decay,
        anchor_gradient: *anchor_gradient,
    }
}

#[cfg(test)]
#[path = "train_settings_tests.rs"]
mod tests;
