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
