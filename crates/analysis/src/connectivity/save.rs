//! The trained curve's control point φ kept as a checkpoint directory of its own.

use std::path::Path;

use advland_train::Model;
use advland_train::checkpoint::save_checkpoint;
use burn::tensor::Device;

use super::TrainedCurve;
use crate::error::Result;
use crate::load::load_checkpoint_model;

impl TrainedCurve {
    /// Saves φ as the checkpoint directory `dir`: `model` (θ_A's architecture and batch-norm
    /// statistics) with φ as its parameters, and the architecture and data settings of θ_A's
    /// checkpoint `start`. It continues no run, so it keeps no training state.
    ///
    /// # Errors
    /// As [`load_checkpoint_model`] of `start`, [`Self::control_model`]; an unwritable `dir`.
    pub fn save_control_point(
        &self,
        start: &Path,
        model: &Model,
        dir: &Path,
        device: &Device,
    ) -> Result<()> {
        let mut info = load_checkpoint_model(start, device)?.info;
        info.training = None;
        let control = self.control_model(model)?;
        save_checkpoint(dir, &control, &info, None)?;
        Ok(())
    }
}
