//! `advland train`'s flags as [`TrainOverrides`] of the training file: the overrides are the
//! flags (clap on the library's type), and the library applies them with their rules.

use advland_schema::{TrainOverrides, TrainSettings};
use anyhow::Result;

use crate::commands::train::TrainArgs;

/// The settings of `--config` (or the defaults) with the flags applied and checked.
pub fn resolve(args: &TrainArgs) -> Result<TrainSettings> {
    Ok(overrides(args).resolve(args.config.as_deref())?)
}

/// Whether `--config` or any flag that sets a training setting was given.
pub fn settings_given(args: &TrainArgs) -> bool {
    args.config.is_some() || !overrides(args).is_empty()
}

/// The settings flags as overrides: the architecture's flags are the CLI's own (`--model`
/// takes published names such as wrn-34-10 with their sizes).
pub fn overrides(args: &TrainArgs) -> TrainOverrides {
    TrainOverrides {
        model: args.model.overrides(),
        ..args.overrides.clone()
    }
}

#[cfg(test)]
#[path = "train_settings_tests.rs"]
mod tests;
