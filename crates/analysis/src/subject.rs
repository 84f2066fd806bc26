//! What an analysis measures and what it hands back: a model with the test data it is judged
//! on ([`Subject`]), and a payload with its cost and the data it used ([`Measured`]).

use advland_data::Dataset;
use std::time::{SystemTime, UNIX_EPOCH};

use advland_schema::{Cost, DataSubset, Meta, Payload, PgdSettings, Precision, Report};
use advland_train::data::{describe, subset};
use advland_train::{Batch, Model};
use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::Serialize;

use crate::error::Result;

/// A model under measurement, however it was loaded (a checkpoint today, imported weights
/// later): the analyses need the weights, the test split it is measured on and how reports
/// name it, never the files.
#[derive(Debug)]
pub struct Subject {
    /// The model.
    pub model: Model,
    /// The whole test split the model is measured on; each analysis takes its own evenly
    /// spaced subset.
    pub test: Dataset,
    /// How reports name the model (the checkpoint path as given).
    pub checkpoint: String,
    /// Epochs trained (0 for imported weights).
    pub epoch: usize,
    /// The attack the model was trained against, if any: the default of analyses whose
    /// configuration names none.
    pub trained_with: Option<PgdSettings>,
    /// The training split (as the run used it), where batch-norm statistics are re-estimated
    /// (`bn_recompute` of the configurations); `None` when the source has none.
    pub train: Option<Dataset>,
}

impl Subject {
    /// The first `n` evenly spaced test examples (refused beyond the split's size), with the
    /// description reports record.
    ///
    /// # Errors
    /// `n` larger than the test split; `field` names the setting in the message.
    pub fn test_subset(&self, n: usize, field: &str) -> Result<(Dataset, DataSubset)> {
        self.check_subset(n, field)?;
        let total = self.test.len();
        let data = subset(self.test.clone(), Some(n), field)?;
        let description = describe(&data, total);
        Ok((data, description))
    }
}

impl Subject {
    /// The first `n` evenly spaced test examples as one batch in `precision` on `device`, the
    /// model in the same precision, and the subset's description: what the per-example
    /// analyses (flatness, perturbation statistics) measure at once.
    ///
    /// # Errors
    /// `n` larger than the test split (`field` names the setting), a model that cannot change
    /// precision.
    pub fn test_batch(
        &self,
        n: usize,
        field: &str,
        precision: Precision,
        device: &Device,
    ) -> Result<(Model, Batch, DataSubset)> {
        let (test, data) = self.test_subset(n, field)?;
        let dtype = crate::precision::dtype_on(precision, device)?;
        let model = self.model.in_dtype(dtype)?;
        let indices: Vec<usize> = (0..test.len()).collect();
        let (pixels, labels) = test.gather(&indices);
        let [c, h, w] = test.shape;
        let n = test.len();
        let batch = Batch {
            images: Tensor::from_data(TensorData::new(pixels, [n, c, h, w]), (device, dtype)),
            labels: Tensor::<1, Int>::from_data(TensorData::new(labels, [n]), device),
        };
        Ok((model, batch, data))
    }

    /// The first `n` evenly spaced training examples, for re-estimating batch-norm statistics.
    ///
    /// # Errors
    /// No training split, or fewer than `n` examples in it.
    pub fn bn_examples(&self, n: usize) -> Result<Dataset> {
        let train = self.train.as_ref().ok_or_else(|| {
            advland_train::Error::invalid("bn_recompute", "the model comes without training data")
        })?;
        Ok(subset(train.clone(), Some(n), "bn_recompute")?)
    }

    /// Refuses a subset of `n` examples the test split cannot give, before any work (and
    /// before settings whose errors would hide this one).
    ///
    /// # Errors
    /// `n` larger than the test split; `field` names the setting in the message.
    pub fn check_subset(&self, n: usize, field: &str) -> Result<()> {
        if n > self.test.len() {
            return Err(advland_train::Error::invalid(
                field,
                format!(
                    "asks for {n} examples but {} has {}",
                    self.test.name,
                    self.test.len()
                ),
            )
            .into());
        }
        Ok(())
    }
}

/// An analysis result: the report payload, the model passes it cost, and the data it used
/// (what a report's `meta` records next to the configuration).
#[derive(Clone, Debug, PartialEq)]
pub struct Measured<T> {
    /// The report payload.
    pub report: T,
    /// Forward/backward passes, in examples.
    pub cost: Cost,
    /// The data subset measured.
    pub data: DataSubset,
}

impl<T: Payload> Measured<T> {
    /// The report of this result, as the command line writes it: `config` (the analysis
    /// configuration) recorded whole, `command` and `device` named by the caller.
    ///
    /// # Panics
    /// If `config` cannot be represented as JSON (a map with non-string keys): configurations
    /// are plain structs, so that is a programming error.
    pub fn into_report<C: Serialize>(
        self,
        config: &C,
        seed: u64,
        command: Vec<String>,
        device: &str,
        duration_s: f64,
    ) -> Report<T> {
        let meta = Meta {
            duration_s,
            cost: self.cost,
            ..meta(config, seed, command, device, self.data)
        };
        Report::of(meta, self.report)
    }
}

/// A report's metadata before the work is counted: versions, `command`, `device`, `seed`,
/// `config` recorded whole, the `data` measured, the time now; zero duration and cost, no
/// weights files or provenance (filled in by whoever finishes the work).
///
/// # Panics
/// If `config` cannot be represented as JSON (a map with non-string keys): configurations are
/// plain structs, so that is a programming error.
pub fn meta<C: Serialize>(
    config: &C,
    seed: u64,
    command: Vec<String>,
    device: &str,
    data: DataSubset,
) -> Meta {
    Meta {
        advland_version: env!("CARGO_PKG_VERSION").to_owned(),
        burn_version: crate::BURN_VERSION.to_owned(),
        command,
        device: device.to_owned(),
        seed,
        config: serde_json::to_value(config).expect("configurations serialise to JSON"),
        data,
        started_unix_s: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        duration_s: 0.0,
        cost: Cost::default(),
        weights: Vec::new(),
        provenance: Default::default(),
    }
}
