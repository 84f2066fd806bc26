//! Payload of `advland compare`: every measure per checkpoint and run, in one table.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::report::DataSubset;

/// One checkpoint of one run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompareRow {
    /// The run (its directory as given).
    pub run: String,
    /// Epoch of the checkpoint.
    pub epoch: usize,
    /// Measure name → value; a measure not taken at this checkpoint is absent.
    pub values: BTreeMap<String, f64>,
}

/// Payload of a `compare` report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompareReport {
    /// The runs, in the order given.
    pub runs: Vec<String>,
    /// Every measure name that occurs, sorted.
    pub measures: Vec<String>,
    /// One row per run and epoch, runs in order, epochs increasing.
    pub rows: Vec<CompareRow>,
    /// The test data every run was evaluated on (checked equal across runs).
    pub data: DataSubset,
    /// The surface directions hash the runs share, when they have surfaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directions: Option<String>,
}

impl crate::report::Payload for CompareReport {
    const KIND: &'static str = "compare";
}
