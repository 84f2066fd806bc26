//! `advland train`: resolve settings (flags > training file > defaults), take the run
//! directory (new, resumed or overwritten), train, report.

use std::path::{Path, PathBuf};

use advland_schema::{
    EntropySgdOverrides, Norm, OptimizerKind, RobustOverrides, ScheduleOverrides, ThreatSpec,
    TrainLog, TrainSettings,
};
use advland_train::checkpoint::{last_checkpoint, load_resume};
use advland_train::trainer::{RunDir, RunDirMode, TRAIN_LOG_FILE};
use anyhow::{Context, Result, bail};
use burn::tensor::Device;
use clap::Args;

use crate::args::{DataArgs, ModelArgs, at_least_one, parse_eps, parse_threat};
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
    /// Seed of every random choice (init, shuffling, attack starts).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Data.
    #[command(flatten)]
    pub data: DataArgs,
    /// Architecture.
    #[command(flatten)]
    pub model: ModelArgs,
    /// Epochs.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Minibatch size.
    #[arg(long, value_parser = at_least_one)]
    pub batch_size: Option<usize>,
    /// Base learning rate.
    #[arg(long)]
    pub lr: Option<f64>,
    /// Learning-rate and ε schedules.
    #[command(flatten, next_help_heading = "Schedules")]
    pub schedules: ScheduleOverrides,
    /// Update rule (default: the training file's, else sgd). Switching kind starts from the
    /// new kind's defaults.
    #[arg(long, value_enum)]
    pub optimizer: Option<OptimizerKind>,
    /// Momentum [sgd: 0.9; entropy-sgd: 0.9, both loops, as the reference code shares it].
    #[arg(long)]
    pub momentum: Option<f64>,
    /// Weight decay [sgd: 5e-4; entropy-sgd: 0, both loops].
    #[arg(long)]
    pub weight_decay: Option<f64>,
    /// Nesterov momentum [sgd: false; entropy-sgd: true, both loops].
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub nesterov: Option<bool>,
    /// Stop once this many minibatch gradients of the training objective (adversarial under
    /// AT) have been computed, to compare update rules at equal gradient budget.
    #[arg(long)]
    pub gradient_budget: Option<u64>,
    /// EntropySGD.
    #[command(flatten, next_help_heading = "EntropySGD (--optimizer entropy-sgd)")]
    pub entropy: EntropySgdOverrides,
    /// Adversarial training under this norm (omit for standard training).
    #[arg(long, value_enum)]
    pub norm: Option<Norm>,
    /// Attack radius in pixel units, e.g. 0.1 or 8/255 (required with --norm).
    #[arg(long, value_parser = parse_eps)]
    pub eps: Option<f64>,
    /// PGD steps of the training attack.
    #[arg(long)]
    pub steps: Option<usize>,
    /// PGD step size (default 2.5·eps/steps).
    #[arg(long, value_parser = parse_eps)]
    pub step_size: Option<f64>,
    /// Objective and weight perturbation.
    #[command(flatten, next_help_heading = "TRADES and AWP (with --norm and --eps)")]
    pub robust: RobustOverrides,
    /// Evaluate after every epoch under this attack (`NORM:EPS[:STEPS]`); repeatable. Default: the
    /// training attack with 20 steps.
    #[arg(long = "eval-attack", value_parser = parse_threat)]
    pub eval_attacks: Vec<ThreatSpec>,
    /// Evaluate on this many test examples after every epoch.
    #[arg(long, value_parser = at_least_one)]
    pub eval_subset: Option<usize>,
    /// Save a checkpoint every N epochs (the last is always saved).
    #[arg(long)]
    pub checkpoint_every: Option<usize>,
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
