//! Matched tensors into an advland [`Model`]: today its parameters; BatchNorm buffers become
//! more [`Expected`] entries and one more write when the models have them.

use std::path::Path;

use burn::tensor::Device;

use crate::error::{Error, Result};
use crate::model::Model;
use crate::params::{ParamLayout, from_host, load_flat, transpose2};

use super::matcher::{Expected, MatchOptions, Matched, match_weights};
use super::read::read_weights;

/// The tensors `model` needs from a file, with PyTorch names and shapes.
pub fn expected_params(model: &Model) -> Vec<Expected> {
    ParamLayout::of(model)
        .entries
        .into_iter()
        .map(|e| Expected {
            name: e.name,
            shape: e.torch_shape,
        })
        .collect()
}

/// `model` with its parameters replaced by `matched` (from [`expected_params`] of the same
/// architecture), `Linear` weights transposed from PyTorch's `[out, in]` to burn's layout.
///
/// # Errors
/// [`Error::Weights`] if a parameter of the model is not in `matched` or has another number
/// of values (a `matched` made for another model).
pub fn load_matched(model: Model, matched: &Matched) -> Result<Model> {
    let layout = ParamLayout::of(&model);
    let mut flat = vec![0.0f32; layout.len()];
    for e in &layout.entries {
        let tensor = matched
            .tensors
            .get(&e.name)
            .filter(|t| t.shape == e.torch_shape)
            .ok_or_else(|| Error::Weights {
                path: matched.path.clone(),
                reason: format!(
                    "no tensor {} {:?} among the matched ones",
                    e.name, e.torch_shape
                ),
            })?;
        let burn = if e.transposed {
            transpose2(&tensor.data, e.torch_shape[0], e.torch_shape[1])
        } else {
            tensor.data.clone()
        };
        flat[e.offset..e.offset + e.len].copy_from_slice(&burn);
    }
    // `load_flat` moves the values to the model's device.
    load_flat(model, from_host(flat, &Device::flex()))
}

/// Reads `path`, matches it to `model` with `options` and loads it: [`read_weights`],
/// [`match_weights`] with [`expected_params`], then [`load_matched`]. The [`Matched`] carries
/// the notes and renamings for the caller's report.
///
/// # Errors
/// As the three steps.
pub fn import_weights(
    model: Model,
    path: &Path,
    options: &MatchOptions,
) -> Result<(Model, Matched)> {
    let file = read_weights(path)?;
    let matched = match_weights(&expected_params(&model), &file, options)?;
    let model = load_matched(model, &matched)?;
    Ok((model, matched))
}
