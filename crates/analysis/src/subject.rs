//! What an analysis measures and what it hands back: a model with the test data it is judged
//! on ([`Subject`]), and a payload with its cost and the data it used ([`Measured`]).

use advland_data::Dataset;
use advland_schema::{Cost, DataSubset, PgdSettings};
use advland_train::Model;
use advland_train::data::{describe, subset};

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
