//! Training a model into its run directory with progress bars: shared by `train` and `demo`.

use std::path::Path;

use advland_schema::{TrainLog, TrainSettings};
use advland_train::checkpoint::Resume;
use advland_train::error::RunDirIssue;
use advland_train::trainer::{RunDir, RunDirMode, train_into};
use anyhow::{Result, anyhow};
use burn::tensor::Device;

use crate::meta::meta;
use crate::progress::Bars;

/// Takes `path` as `mode` says, turning a refusal into advice on the flags.
pub fn open_run_dir(path: &Path, mode: RunDirMode) -> Result<RunDir> {
    RunDir::open(path, mode).map_err(|e| advise(e, path))
}

/// A run directory refusal with the flags that get past it.
pub fn advise(e: advland_train::Error, path: &Path) -> anyhow::Error {
    let advice = match &e {
        advland_train::Error::RunDir { issue, .. } => match issue {
            RunDirIssue::NotEmpty => {
                "; pass --resume to continue its run from its last checkpoint, or --overwrite to \
                 delete it and train afresh"
            }
            RunDirIssue::NotARun => "; give another --out, or empty it yourself",
            RunDirIssue::NothingToResume if path.is_dir() => {
                "; pass --overwrite (without --resume) to train afresh in it"
            }
            _ => "",
        },
        _ => "",
    };
    anyhow!("{e}{advice}")
}

/// Trains one model as `settings` say into `run` (from `resume` if given) with progress bars
/// labelled `label`; returns its log. `run` is released when done, and a run that fails before
/// its first checkpoint leaves nothing behind ([`train_into`]).
pub fn run_training(
    settings: &TrainSettings,
    run: RunDir,
    resume: Option<Resume>,
    device: &Device,
    device_name: &str,
    label: &str,
    quiet: bool,
) -> Result<TrainLog> {
    let run_dir = run.path().to_owned();
    let mut bars = Bars::new(label, quiet);
    let trained = train_into(
        settings,
        run,
        resume,
        device,
        |data| meta(device_name, settings.seed, settings, data),
        &mut bars,
    );
    let (_, log) = match trained {
        Ok(trained) => trained,
        Err(e @ advland_train::Error::Data(_)) => {
            return Err(anyhow::Error::new(e).context("loading the data"));
        }
        Err(e) => {
            return Err(anyhow::Error::new(e).context(format!("training {}", run_dir.display())));
        }
    };
    bars.finish();
    Ok(log)
}
