//! `advland train`: resolve settings (flags > training file > defaults), take the run
//! directory (new, resumed or overwritten), train, report.

use std::path::{Path, PathBuf};

use advland_schema::overrides::TrainFlags;
use advland_schema::{TrainLog, TrainSettings};
use advland_train::trainer::{Resumption, RunDirMode, TRAIN_LOG_FILE, resume_run};
use anyhow::Result;
use burn::tensor::Device;
use clap::Args;

use crate::training::{advise, open_run_dir, run_training};

/// `advland train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// The training file and the flags that override it.
    #[command(flatten)]
    pub settings: TrainFlags,
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
}

/// Runs `advland train`.
///
/// `--resume` of a run that already finished says so on stderr, prints the run's summary and
/// succeeds without training, so that a job restarted until it succeeds stops restarting.
pub fn run(args: &TrainArgs, device: &Device, device_name: &str, quiet: bool) -> Result<()> {
    if args.resume {
        return resume(args, device, device_name, quiet);
    }
    let settings = args.settings.resolve()?;
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
    let given = if args.settings.settings_given() {
        Some(args.settings.resolve()?)
    } else {
        None
    };
    let run_dir = match (&args.out, &given) {
        (Some(out), _) => out.clone(),
        (None, Some(s)) => s.default_run_dir(),
        (None, None) => TrainSettings::default().default_run_dir(),
    };
    let resumed = resume_run(&run_dir, given.as_ref(), device).map_err(|e| match e {
        e @ advland_train::Error::RunDir { .. } => advise(e, &run_dir),
        // Names the run itself.
        e @ advland_train::Error::Schema(advland_schema::Error::SettingsDiffer { .. }) => e.into(),
        e => anyhow::Error::new(e).context(format!("resuming {}", run_dir.display())),
    })?;
    let (run, from) = match resumed {
        Resumption::Continue(run, from) => (run, *from),
        Resumption::Complete(from) => {
            eprintln!(
                "{} is already complete (epoch {} of {}): nothing to resume",
                run_dir.display(),
                from.epoch,
                from.settings.training.epochs
            );
            return summary(&run_dir, &from.state.log);
        }
    };
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
    anyhow::ensure!(!log.epochs.is_empty(), "no epoch was trained");
    println!("run directory: {}", run_dir.display());
    println!("log: {}", run_dir.join(TRAIN_LOG_FILE).display());
    if let Some(c) = log.checkpoints.last() {
        println!("last checkpoint: {}", run_dir.join(&c.path).display());
    }
    print!("{log}");
    Ok(())
}
