//! One training run kept in its run directory: what every caller that trains to disk does
//! around [`train`]: load the data, record the resolved settings, hand checkpoints and the log
//! to a [`RunWriter`], release the directory.

use advland_schema::{DataSubset, Meta, TrainLog, TrainSettings, write_json};
use burn::tensor::Device;

use super::{CONFIG_FILE, Observer, RunDir, RunWriter, train};
use crate::checkpoint::Resume;
use crate::data::{describe, load_splits};
use crate::error::Result;
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
    let splits = load_splits(&settings.data)?;
    let total = splits.train.len();
    let meta = meta(describe(&splits.train, total));
    write_json(&run.path().join(CONFIG_FILE), settings)?;
    let mut writer = RunWriter::new(run.path(), meta, progress);
    let trained = train(settings, &splits, device, resume, &mut writer)?;
    run.finish();
    Ok(trained)
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
}
