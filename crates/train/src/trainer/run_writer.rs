//! The observer that keeps a training run on disk: checkpoints below the run directory and the
//! log `train.json`, rewritten atomically after every epoch so an interrupted run leaves a
//! valid log. Progress goes on to another observer.

use std::path::PathBuf;

use advland_schema::{Cost, EpochRecord, Meta, Report, TrainLog, write_json};

use super::{Observer, TRAIN_LOG_FILE};
use crate::checkpoint::{CheckpointInfo, save_checkpoint};
use crate::error::Result;
use crate::model::Model;
use crate::optim::RuleState;

/// Writes a run's checkpoints and log into `dir` (the caller owns the directory: see
/// [`RunDir`](super::RunDir)); progress and epochs go on to `progress`.
pub struct RunWriter<'a> {
    dir: PathBuf,
    meta: Meta,
    progress: &'a mut dyn Observer,
}

impl<'a> RunWriter<'a> {
    /// A writer into `dir` whose log records `meta` (the metadata the caller knows: command,
    /// device, versions, configuration; duration and cost are filled in per epoch).
    pub fn new(dir: impl Into<PathBuf>, meta: Meta, progress: &'a mut dyn Observer) -> Self {
        Self {
            dir: dir.into(),
            meta,
            progress,
        }
    }
}

impl Observer for RunWriter<'_> {
    fn progress(&mut self, phase: &str, done: usize, total: usize) {
        self.progress.progress(phase, done, total);
    }

    fn epoch(&mut self, record: &EpochRecord) {
        self.progress.epoch(record);
    }

    fn checkpoint(
        &mut self,
        relative: &str,
        model: &Model,
        info: &CheckpointInfo,
        rule: &RuleState,
    ) -> Result<()> {
        save_checkpoint(&self.dir.join(relative), model, info, Some(rule))
    }

    fn log(&mut self, log: &TrainLog, duration_s: f64, cost: Cost) -> Result<()> {
        let mut meta = self.meta.clone();
        meta.duration_s = duration_s;
        meta.cost = cost;
        if !meta.provenance.is_empty() {
            meta.provenance.peak_rss_mib = advland_schema::peak_rss_mib();
        }
        write_json(
            &self.dir.join(TRAIN_LOG_FILE),
            &Report::of(meta, log.clone()),
        )?;
        Ok(())
    }
}
