//! One training run kept in its run directory: what every caller that trains to disk does
//! around [`train`]: load the data, record the resolved settings, hand checkpoints and the log
//! to a [`RunWriter`], release the directory.

use std::path::Path;

use advland_schema::{DataSubset, Meta, TrainLog, TrainSettings, write_json};
use burn::tensor::Device;

use super::{CONFIG_FILE, Observer, RunDir, RunDirMode, RunWriter, train};
use crate::checkpoint::{Resume, last_checkpoint, load_resume};
use crate::data::load_described;
use crate::error::{Error, Result, RunDirIssue};
use crate::model::Model;

/// Trains one model as `settings` say into `run` (from `resume` if given) and returns it with
/// its log: the run's data are loaded from `settings.data`, the settings are written to
/// [`CONFIG_FILE`], checkpoints and `train.json` (whose metadata `meta` builds from the
/// training split's description: the command, device and provenance are the caller's) go
/// into the directory, progress and epochs to `progress`.
///
/// `run` is released when done; a run that fails before its first checkpoint leaves nothing
/// behind (see [`RunDir`]).
///
/// # Errors
/// Data that cannot be loaded ([`crate::Error::Data`]), as [`train`], IO.
pub fn train_into(
    settings: &TrainSettings,
    run: RunDir,
    resume: Option<Resume>,
    device: &Device,
    meta: impl FnOnce(DataSubset) -> Meta,
    progress: &mut dyn Observer,
) -> Result<(Model, TrainLog)> {
    let (splits, used) = load_described(&settings.data)?;
    let meta = meta(used.train);
    write_json(&run.path().join(CONFIG_FILE), settings)?;
    let mut writer = RunWriter::new(run.path(), meta, progress);
    let trained = train(settings, &splits, device, resume, &mut writer)?;
    run.finish();
    Ok(trained)
}

/// A run to continue ([`resume_run`]).
pub enum Resumption {
    /// The run had already reached its end: nothing is left to train, and the directory was
    /// not taken.
    Complete(Box<Resume>),
    /// The run directory, held by this process, and the state to continue from.
    Continue(RunDir, Box<Resume>),
}

/// Takes the run in `path` to continue it from its last checkpoint. Every refusal comes before
/// the directory's lock is taken, so a refused or finished run is left untouched: a directory
/// that is no run or holds no checkpoint, a checkpoint without its training state, and (when
/// the caller names the settings it expects, `given`) settings that differ from the run's.
/// Under the lock, a checkpoint that another process wrote in the meantime is refused too.
///
/// # Errors
/// [`Error::RunDir`] for the directory (that race included), those of [`load_resume`], and
/// [`Error::Schema`] listing the settings that differ.
pub fn resume_run(
    path: &Path,
    given: Option<&TrainSettings>,
    device: &Device,
) -> Result<Resumption> {
    RunDir::check(path, RunDirMode::Resume)?;
    let from = load_resume(path, device)?;
    if let Some(given) = given {
        from.settings
            .check_resumable_with(given, path, &from.checkpoint)?;
    }
    if from.is_complete() {
        return Ok(Resumption::Complete(Box::new(from)));
    }
    let run = RunDir::open(path, RunDirMode::Resume)?;
    if last_checkpoint(path)? != from.checkpoint {
        return Err(Error::RunDir {
            path: path.to_owned(),
            issue: RunDirIssue::InUse,
            reason: "another advland process wrote a checkpoint while this one was resuming it; \
                     try again"
                .to_owned(),
        });
    }
    Ok(Resumption::Continue(run, Box::new(from)))
}

#[cfg(test)]
mod tests {
    use advland_schema::{
        Cost, DataSettings, EvalSettings, ModelKind, ModelSpec, Report, TrainingSettings, read_json,
    };

    use super::*;
    use crate::Silent;
    use crate::trainer::{RunDirMode, TRAIN_LOG_FILE};

    /// One epoch of a small MLP on 100 examples.
    fn settings() -> TrainSettings {
        TrainSettings {
            seed: 1,
            data: DataSettings {
                train_subset: Some(100),
                test_subset: Some(20),
                ..DataSettings::default()
            },
            model: ModelSpec {
                kind: ModelKind::Mlp,
                hidden: vec![8],
                ..ModelSpec::default()
            },
            training: TrainingSettings {
                epochs: 1,
                batch_size: 50,
                checkpoint_every: 1,
                ..TrainingSettings::default()
            },
            eval: EvalSettings {
                subset: Some(20),
                attacks: Vec::new(),
                batch_size: 20,
            },
            ..TrainSettings::default()
        }
    }

    fn meta(data: DataSubset) -> Meta {
        Meta {
            advland_version: "test".into(),
            burn_version: "test".into(),
            command: vec!["test".into()],
            device: "cpu".into(),
            seed: 1,
            config: serde_json::json!({ "test": true }),
            data,
            started_unix_s: 0,
            duration_s: 0.0,
            cost: Cost::default(),
            weights: Vec::new(),
            provenance: Default::default(),
        }
    }

    #[test]
    fn a_run_leaves_its_settings_log_and_checkpoint_and_releases_the_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        let s = settings();
        let run = RunDir::open(&dir, RunDirMode::Fresh).unwrap();
        let device = Device::flex().autodiff();
        let (_, log) = train_into(&s, run, None, &device, meta, &mut Silent).unwrap();
        assert_eq!(log.checkpoints.len(), 1);
        let written: TrainSettings = read_json(&dir.join(CONFIG_FILE)).unwrap();
        assert_eq!(written, s);
        let report: Report<TrainLog> = read_json(&dir.join(TRAIN_LOG_FILE)).unwrap();
        assert_eq!(report.meta.command, ["test"]);
        assert_eq!(report.meta.data.examples, 100);
        assert_eq!(report.data.epochs.len(), 1);
        assert!(dir.join(&log.checkpoints[0].path).is_dir());
        // Released: the run can be taken again, to continue it.
        RunDir::check(&dir, RunDirMode::Resume).unwrap();
    }

    #[test]
    fn a_run_that_fails_before_its_first_checkpoint_leaves_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        let mut s = settings();
        s.training.batch_size = 0;
        let run = RunDir::open(&dir, RunDirMode::Fresh).unwrap();
        let device = Device::flex().autodiff();
        let err = train_into(&s, run, None, &device, meta, &mut Silent).unwrap_err();
        assert!(err.to_string().contains("training.batch_size"), "{err}");
        assert!(!dir.exists());
    }

    /// A finished run is complete (and not taken); one with a checkpoint before its end
    /// continues and is held; settings that differ from the run's are refused.
    #[test]
    fn resume_run_tells_finished_runs_from_ones_to_continue() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("run");
        let mut s = settings();
        s.training.epochs = 2;
        let device = Device::flex().autodiff();
        let run = RunDir::open(&dir, RunDirMode::Fresh).unwrap();
        train_into(&s, run, None, &device, meta, &mut Silent).unwrap();
        match resume_run(&dir, Some(&s), &device).unwrap() {
            Resumption::Complete(from) => assert_eq!(from.epoch, 2),
            Resumption::Continue(..) => panic!("a finished run continues"),
        }
        RunDir::check(&dir, RunDirMode::Resume).unwrap();

        // As if killed during epoch 2.
        fs_err::remove_dir_all(dir.join("checkpoints/epoch-0002")).unwrap();
        let Resumption::Continue(held, from) = resume_run(&dir, None, &device).unwrap() else {
            panic!("a run with an epoch to go is complete")
        };
        assert_eq!(from.epoch, 1);
        let err = RunDir::check(&dir, RunDirMode::Resume).unwrap_err();
        assert!(
            matches!(
                err,
                Error::RunDir {
                    issue: RunDirIssue::InUse,
                    ..
                }
            ),
            "{err}"
        );
        drop(held);

        let mut other = s.clone();
        other.seed = 2;
        let err = resume_run(&dir, Some(&other), &device).err().unwrap();
        assert!(err.to_string().contains("seed"), "{err}");
    }
}
