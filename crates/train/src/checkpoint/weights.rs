//! The weights file: θ and batch norm's running statistics as PyTorch-layout safetensors.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use advland_schema::write_atomic;
use burn::module::Module;
use burn::tensor::Device;
use safetensors::tensor::{Dtype, TensorView};

use super::BATCH_COUNTER;
use crate::error::{Error, Result};
use crate::model::Model;
use crate::params::{
    ParamLayout, from_host, load_buffers, load_flat, named_buffers, named_tensors, transpose2,
};

/// Writes `model` as a PyTorch-layout safetensors file (f32), atomically: θ, and batch norm's
/// running statistics (`…running_mean`, `…running_var`). PyTorch's `num_batches_tracked` is
/// not written; `load_state_dict` fills a missing one with 0, which changes nothing for
/// layers with a momentum (every layer here).
///
/// # Errors
/// IO errors naming the file.
pub fn save_weights(model: &Model, path: &Path) -> Result<()> {
    let tensors = named_tensors(model)
        .into_iter()
        .map(|(e, values)| (e.name, e.torch_shape, values))
        .chain(named_buffers(model));
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .map(|(name, shape, values)| {
            let raw = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            (name, shape, raw)
        })
        .collect();
    let views = bytes
        .iter()
        .map(|(name, shape, raw)| {
            TensorView::new(Dtype::F32, shape.clone(), raw)
                .map(|v| (name.clone(), v))
                .map_err(|e| weights_error(path, format!("tensor {name}: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let metadata: HashMap<String, String> = HashMap::from([("format".to_owned(), "pt".to_owned())]);
    let data = safetensors::serialize(views, &Some(metadata))
        .map_err(|e| weights_error(path, e.to_string()))?;
    write_atomic(path, &data)?;
    Ok(())
}

pub(super) fn weights_error(path: &Path, reason: impl Into<String>) -> Error {
    Error::Weights {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

/// Loads a PyTorch-layout safetensors file into `model`, strictly: every tensor of the model
/// (parameters and batch norm's running statistics) must be present with its exact shape and no
/// other tensor may be in the file, but for batch norm's `num_batches_tracked`, which is
/// ignored. f32, f64, f16
/// and bf16 files are accepted (converted to f32); NaN and ±∞ (also from an f64 beyond the
/// f32 range) are refused. Nothing the size of the model is allocated before the file is
/// known to hold every tensor.
///
/// # Errors
/// [`Error::Weights`] naming the file and the offending tensor.
pub fn load_weights(model: Model, path: &Path) -> Result<Model> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    let file = safetensors::SafeTensors::deserialize(&bytes)
        .map_err(|e| weights_error(path, format!("not a valid safetensors file: {e}")))?;
    let layout = ParamLayout::of(&model);
    let buffers = named_buffers(&model);
    let mut problems = Vec::new();
    let expected: BTreeMap<&str, &[usize]> = layout
        .entries
        .iter()
        .map(|e| (e.name.as_str(), e.torch_shape.as_slice()))
        .chain(
            buffers
                .iter()
                .map(|(n, shape, _)| (n.as_str(), shape.as_slice())),
        )
        .collect();
    let is_counter = |name: &str| {
        name.strip_suffix(BATCH_COUNTER)
            .is_some_and(|bn| expected.contains_key(format!("{bn}.running_mean").as_str()))
    };
    let mut extra: Vec<String> = file
        .names()
        .into_iter()
        .filter(|n| !expected.contains_key(n.as_str()) && !is_counter(n))
        .cloned()
        .collect();
    extra.sort();
    if !extra.is_empty() {
        problems.push(format!("unexpected tensor(s) {}", extra.join(", ")));
    }
    // Names, shapes and dtypes before anything the size of the model is allocated: the model
    // may have been built from a corrupt `checkpoint.json` (burn allocates parameters lazily),
    // and only a file that holds every tensor justifies its size.
    let mut views = Vec::with_capacity(layout.entries.len());
    for e in &layout.entries {
        let Ok(view) = file.tensor(&e.name) else {
            problems.push(format!("missing tensor {} {:?}", e.name, e.torch_shape));
            continue;
        };
        if view.shape() != e.torch_shape.as_slice() {
            problems.push(format!(
                "tensor {} has shape {:?}, expected {:?}",
                e.name,
                view.shape(),
                e.torch_shape
            ));
        } else if !matches!(
            view.dtype(),
            Dtype::F32 | Dtype::F64 | Dtype::F16 | Dtype::BF16
        ) {
            problems.push(format!(
                "tensor {} has dtype {:?}, expected F32, F64, F16 or BF16",
                e.name,
                view.dtype()
            ));
        } else {
            views.push((e, view));
        }
    }
    if !problems.is_empty() {
        return Err(weights_error(path, problems.join("; ")));
    }
    let mut flat = vec![0.0f32; layout.len()];
    for (e, view) in views {
        let Some(values) = decode(view.dtype(), view.data()) else {
            problems.push(format!("tensor {} cannot be decoded", e.name));
            continue;
        };
        if let Some(bad) = values.iter().position(|v| !v.is_finite()) {
            problems.push(format!(
                "tensor {} has a non-finite value at index {bad}",
                e.name
            ));
            continue;
        }
        let burn = if e.transposed {
            transpose2(&values, e.torch_shape[0], e.torch_shape[1])
        } else {
            values
        };
        flat[e.offset..e.offset + e.len].copy_from_slice(&burn);
    }
    if !problems.is_empty() {
        return Err(weights_error(path, problems.join("; ")));
    }
    let mut statistics = HashMap::new();
    for (name, shape, _) in &buffers {
        match file.tensor(name) {
            Err(_) => problems.push(format!("missing tensor {name} {shape:?}")),
            Ok(view) if view.shape() != shape.as_slice() => problems.push(format!(
                "tensor {name} has shape {:?}, expected {shape:?}",
                view.shape()
            )),
            Ok(view) => match decode(view.dtype(), view.data()) {
                None => problems.push(format!(
                    "tensor {name} has dtype {:?}, expected F32, F64, F16 or BF16",
                    view.dtype()
                )),
                Some(values) if values.iter().any(|v| !v.is_finite()) => {
                    problems.push(format!("tensor {name} has a non-finite value"));
                }
                Some(values) => {
                    statistics.insert(name.clone(), values);
                }
            },
        }
    }
    if !problems.is_empty() {
        return Err(weights_error(path, problems.join("; ")));
    }
    let device = model
        .devices()
        .first()
        .cloned()
        .unwrap_or_else(Device::flex);
    let model = load_flat(model, from_host(flat, &device))?;
    if statistics.is_empty() {
        return Ok(model);
    }
    load_buffers(model, &statistics)
}

pub(super) fn decode(dtype: Dtype, data: &[u8]) -> Option<Vec<f32>> {
    Some(match dtype {
        Dtype::F32 => data
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        Dtype::F64 => data
            .chunks_exact(8)
            .map(|c| {
                let mut b = [0u8; 8];
                b.copy_from_slice(c);
                f64::from_le_bytes(b) as f32
            })
            .collect(),
        Dtype::F16 => data
            .chunks_exact(2)
            .map(|c| half_to_f32(u16::from_le_bytes([c[0], c[1]])))
            .collect(),
        Dtype::BF16 => data
            .chunks_exact(2)
            .map(|c| f32::from_bits(u32::from(u16::from_le_bytes([c[0], c[1]])) << 16))
            .collect(),
        _ => return None,
    })
}

pub(super) fn half_to_f32(h: u16) -> f32 {
    let sign = if h & 0x8000 == 0 { 1.0 } else { -1.0 };
    let exp = i32::from((h >> 10) & 0x1f);
    let frac = f32::from(h & 0x3ff);
    match exp {
        0 => sign * frac * 2f32.powi(-24),
        31 => {
            if frac == 0.0 {
                sign * f32::INFINITY
            } else {
                f32::NAN
            }
        }
        _ => sign * (1.0 + frac / 1024.0) * 2f32.powi(exp - 15),
    }
}
