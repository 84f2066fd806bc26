//! `advland train`'s flags as [`TrainOverrides`] of the training file (plain copies: the
//! overrides are named like the flags, and the library applies them with their rules).

use advland_schema::{DataOverrides, TrainOverrides, TrainSettings};
use anyhow::Result;

use crate::args::DataArgs;
use crate::commands::train::TrainArgs;

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
        schedules: schedules.clone(),
        optimizer: *optimizer,
        momentum: *momentum,
        weight_decay: *weight_decay,
        nesterov: *nesterov,
        gradient_budget: *gradient_budget,
        entropy: entropy.clone(),
        norm: *norm,
        eps: *eps,
        steps: *steps,
        step_size: *step_size,
        robust: robust.clone(),
        eval_attacks: eval_attacks.clone(),
        eval_subset: *eval_subset,
        checkpoint_every: *checkpoint_every,
    }
}

#[cfg(test)]
#[path = "train_settings_tests.rs"]
mod tests;
