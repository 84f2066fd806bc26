//! `advland train`: resolve settings (flags > training file > defaults), take the run
//! directory (new, resumed or overwritten), train, report.

use std::path::{Path, PathBuf};

use advland_schema::{TrainLog, TrainOverrides, TrainSettings};
use advland_train::checkpoint::{last_checkpoint, load_resume};
use advland_train::trainer::{RunDir, RunDirMode, TRAIN_LOG_FILE};
use anyhow::{Context, Result, bail};
use burn::tensor::Device;
use clap::Args;

use crate::args::ModelArgs;
use crate::train_settings::{resolve, settings_given};
use crate::training::{advise, open_run_dir, run_training};

/// `advland train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Training file (TOML, e.g. `analysis/<name>/train.toml`); flags override its values.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Run directory for checkpoints and the log (default `runs/<model>-<norm|std>-s<seed>`).
    /// It must be new or empty unless --resume or --overwrite is given, and only one process
    /// writes it at a time (it holds advland.lock).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Continue the run in --out from its last checkpoint, to the result an uninterrupted run
    /// would have reached. Its stored settings are used; settings flags or --config, if given,
    /// must resolve to exactly those. A run that already finished is left as it is.
    #[arg(long, conflicts_with = "overwrite")]
    pub resume: bool,
    /// Delete the run in --out first, then train afresh. Refused for a directory that does not
    /// look like an advland run directory (no config.resolved.json, train.json or checkpoint).
    #[arg(long)]
    pub overwrite: bool,
    /// The training settings' flags, as the library's overrides of the training file.
    #[command(flatten)]
    pub overrides: TrainOverrides,
    /// Architecture.
    #[command(flatten, next_help_heading = "Model")]
    pub model: ModelArgs,
}

/// Runs `advland train`.
///
/// `--resume` of a run that already finished says so on stderr, prints the run's summary and
/// succeeds without training, so that a job restarted until it succeeds stops restarting.
pub fn run(args: &TrainArgs, device: &Device, device_name: &str, quiet: bool) -> Result<()> {
    if args.resume {
        return resume(args, device, device_name, quiet);
    }
    let settings = resolve(args)?;
    let run_dir = args
        .out
        .clone()
        .unwrap_or_else(|| settings.default_run_dir());
    let mode = if args.overwrite {
        RunDirMode::Overwrite
    } else {
        RunDirMode::Fresh
    };
    let run = open_run_dir(&run_dir, mode)?;
    let log = run_training(
        &settings,
        run,
        None,
        device,
        device_name,
        &label(&run_dir),
        quiet,
    )?;
    summary(&run_dir, &log)
}

/// `advland train --resume`.
fn resume(args: &TrainArgs, device: &Device, device_name: &str, quiet: bool) -> Result<()> {
    let given = if settings_given(args) {
        Some(resolve(args)?)
    } else {
        None
    };
    let run_dir = match (&args.out, &given) {
        (Some(out), _) => out.clone(),
        (None, Some(s)) => s.default_run_dir(),
        (None, None) => TrainSettings::default().default_run_dir(),
    };
    // Everything that can refuse is checked before the lock is taken, so a refusal (or a
    // finished run) leaves the directory untouched.
    RunDir::check(&run_dir, RunDirMode::Resume).map_err(|e| advise(e, &run_dir))?;
    let from =
        load_resume(&run_dir, device).with_context(|| format!("resuming {}", run_dir.display()))?;
    if let Some(given) = &given {
        from.settings
            .check_resumable_with(given, &run_dir, &from.checkpoint)?;
    }
    if from.is_complete() {
        eprintln!(
            "{} is already complete (epoch {} of {}): nothing to resume",
            run_dir.display(),
            from.epoch,
            from.settings.training.epochs
        );
        return summary(&run_dir, &from.state.log);
    }
    let run = open_run_dir(&run_dir, RunDirMode::Resume)?;
    if last_checkpoint(&run_dir)? != from.checkpoint {
        bail!(
            "{}: another advland process wrote a checkpoint while this one was resuming it; \
             try again",
            run_dir.display()
        );
    }
    if !quiet {
        eprintln!(
            "resuming {} after epoch {} of {}",
            run_dir.display(),
            from.epoch,
            from.settings.training.epochs
        );
    }
    let settings = from.settings.clone();
    let log = run_training(
        &settings,
        run,
        Some(from),
        device,
        device_name,
        &label(&run_dir),
        quiet,
    )?;
    summary(&run_dir, &log)
}

fn label(run_dir: &Path) -> String {
    run_dir
        .file_name()
        .map_or("train".to_owned(), |n| n.to_string_lossy().into_owned())
}

/// Prints where the run is and how it ended.
fn summary(run_dir: &Path, log: &TrainLog) -> Result<()> {
    let last = log.epochs.last().context("no epoch was trained")?;
    println!("run directory: {}", run_dir.display());
    println!("log: {}", run_dir.join(TRAIN_LOG_FILE).display());
    if let Some(c) = log.checkpoints.last() {
        println!("last checkpoint: {}", run_dir.join(&c.path).display());
    }
    let u = &log.updates;
    println!(
        "training gradients: {} ({} discarded), outer steps: {}, inner steps: {}",
        u.gradient_evaluations, u.discarded_gradient_evaluations, u.outer_steps, u.inner_steps
    );
    println!("test clean accuracy: {:.4}", last.test.clean.accuracy);
    for r in &last.test.robust {
        println!(
            "test robust accuracy ({} eps={} PGD-{}): {:.4}",
            r.attack.norm, r.attack.eps, r.attack.steps, r.metrics.accuracy
        );
    }
    Ok(())
}
