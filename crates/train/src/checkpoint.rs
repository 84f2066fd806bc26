//! Weights in safetensors with PyTorch names and layouts, and checkpoint directories.
//!
//! A checkpoint is a directory holding `model.safetensors` and `checkpoint.json` (the model
//! spec, shapes, epoch and the run's resolved settings): enough to rebuild the model and
//! load it. The weights file is exactly what `torch.nn.Module.load_state_dict` expects, so
//! the same file serves `advland export` and PyTorch interoperability.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use advland_schema::{ModelSpec, TrainSettings, read_json, write_atomic, write_json};
use burn::module::Module;
use burn::tensor::Device;
use safetensors::tensor::{Dtype, TensorView};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::{Model, ModelShape};
use crate::params::{ParamLayout, from_host, load_flat, named_tensors, transpose2};

/// File name of the weights inside a checkpoint directory.
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// File name of the description inside a checkpoint directory.
pub const CHECKPOINT_FILE: &str = "checkpoint.json";

/// What a checkpoint directory says about its model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointInfo {
    /// Architecture.
    pub model: ModelSpec,
    /// Input and output sizes.
    pub shape: ModelShape,
    /// Epochs trained when saved (0 for imported weights).
    pub epoch: usize,
    /// The settings of the run that produced it.
    pub settings: TrainSettings,
}

/// Writes `model` as a PyTorch-layout safetensors file (f32), atomically.
///
/// # Errors
/// IO errors naming the file.
pub fn save_weights(model: &Model, path: &Path) -> Result<()> {
    let tensors = named_tensors(model);
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .into_iter()
        .map(|(e, values)| {
            let raw = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            (e.name, e.torch_shape, raw)
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

fn weights_error(path: &Path, reason: impl Into<String>) -> Error {
    Error::Weights {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

/// Loads a PyTorch-layout safetensors file into `model`, strictly: every tensor of the model
/// must be present with its exact shape and no other tensor may be in the file. f32, f64, f16
/// and bf16 files are accepted (converted to f32).
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
    let mut problems = Vec::new();
    let expected: BTreeMap<&str, _> = layout
        .entries
        .iter()
        .map(|e| (e.name.as_str(), e))
        .collect();
    let mut extra: Vec<String> = file
        .names()
        .into_iter()
        .filter(|n| !expected.contains_key(n.as_str()))
        .cloned()
        .collect();
    extra.sort();
    if !extra.is_empty() {
        problems.push(format!("unexpected tensor(s) {}", extra.join(", ")));
    }
    let mut flat = vec![0.0f32; layout.len()];
    for e in &layout.entries {
        let view = match file.tensor(&e.name) {
            Ok(v) => v,
            Err(_) => {
                problems.push(format!("missing tensor {} {:?}", e.name, e.torch_shape));
                continue;
            }
        };
        if view.shape() != e.torch_shape.as_slice() {
            problems.push(format!(
                "tensor {} has shape {:?}, expected {:?}",
                e.name,
                view.shape(),
                e.torch_shape
            ));
            continue;
        }
        let values = match decode(view.dtype(), view.data()) {
            Some(v) => v,
            None => {
                problems.push(format!(
                    "tensor {} has dtype {:?}, expected a float type",
                    e.name,
                    view.dtype()
                ));
                continue;
            }
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
    let device = model
        .devices()
        .first()
        .cloned()
        .unwrap_or_else(Device::flex);
    load_flat(model, from_host(flat, &device))
}

fn decode(dtype: Dtype, data: &[u8]) -> Option<Vec<f32>> {
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

fn half_to_f32(h: u16) -> f32 {
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

/// Saves a checkpoint directory (`model.safetensors` + `checkpoint.json`).
///
/// # Errors
/// IO errors naming the file.
pub fn save_checkpoint(dir: &Path, model: &Model, info: &CheckpointInfo) -> Result<()> {
    save_weights(model, &dir.join(WEIGHTS_FILE))?;
    write_json(&dir.join(CHECKPOINT_FILE), info)?;
    Ok(())
}

/// The last checkpoint of a training run directory (`run/checkpoints/epoch-NNNN`, highest
/// epoch), so that commands can name a run without knowing how long it trained.
///
/// # Errors
/// A run without checkpoints.
pub fn last_checkpoint(run_dir: &Path) -> Result<PathBuf> {
    let checkpoints = run_dir.join("checkpoints");
    let last = std::fs::read_dir(&checkpoints)
        .map_err(|e| weights_error(run_dir, format!("{}: {e}", checkpoints.display())))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.join(CHECKPOINT_FILE).exists())
        .filter_map(|p| {
            let epoch = p
                .file_name()?
                .to_str()?
                .strip_prefix("epoch-")?
                .parse::<usize>()
                .ok()?;
            Some((epoch, p))
        })
        .max_by_key(|(epoch, _)| *epoch)
        .map(|(_, p)| p);
    last.ok_or_else(|| {
        weights_error(
            run_dir,
            format!("no checkpoint (epoch-NNNN) in {}", checkpoints.display()),
        )
    })
}

/// The checkpoint directory `path` names: itself, the directory of its `checkpoint.json` or
/// `model.safetensors`, or a run directory's last checkpoint.
///
/// # Errors
/// A run directory without checkpoints.
pub fn checkpoint_dir(path: &Path) -> Result<PathBuf> {
    if std::fs::symlink_metadata(path).is_err() {
        // Otherwise the parent's checkpoint.json would be reported missing, not the path given.
        return Err(weights_error(
            path,
            "does not exist (give a checkpoint directory, its checkpoint.json, or a run \
             directory)",
        ));
    }
    Ok(if path.is_dir() {
        if !path.join(CHECKPOINT_FILE).exists() && path.join("checkpoints").is_dir() {
            last_checkpoint(path)?
        } else {
            path.to_owned()
        }
    } else {
        path.parent().map(Path::to_owned).unwrap_or_default()
    })
}

/// Reads a checkpoint: a directory, its `checkpoint.json`/`model.safetensors` file, or a
/// training run directory (its last checkpoint, see [`last_checkpoint`]).
///
/// # Errors
/// Missing files, bad JSON, weights that do not match the described model.
pub fn load_checkpoint(path: &Path, device: &Device) -> Result<(Model, CheckpointInfo)> {
    let dir = checkpoint_dir(path)?;
    let info_path = dir.join(CHECKPOINT_FILE);
    if !info_path.exists() {
        return Err(weights_error(
            path,
            format!("not a checkpoint: {} is missing", info_path.display()),
        ));
    }
    let info: CheckpointInfo = read_json(&info_path)?;
    let model = Model::build(&info.model, info.shape, device)?;
    let model = load_weights(model, &dir.join(WEIGHTS_FILE))?;
    Ok((model, info))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::{flatten, init_seeded, to_host};
    use advland_schema::ModelKind;

    fn cnn(seed: u64) -> Model {
        let spec = ModelSpec {
            kind: ModelKind::Cnn,
            hidden: vec![],
            ..ModelSpec::default()
        };
        let shape = ModelShape {
            input: [1, 12, 12],
            classes: 4,
        };
        init_seeded(Model::build(&spec, shape, &Device::flex()).unwrap(), seed).unwrap()
    }

    #[test]
    fn weights_round_trip_through_safetensors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.safetensors");
        let a = cnn(1);
        save_weights(&a, &path).unwrap();
        let b = load_weights(cnn(2), &path).unwrap();
        assert_eq!(to_host(&flatten(&a)), to_host(&flatten(&b)));
        let file = std::fs::read(&path).unwrap();
        let st = safetensors::SafeTensors::deserialize(&file).unwrap();
        assert_eq!(st.tensor("fc1.weight").unwrap().shape(), &[4, 32]);
        assert_eq!(st.tensor("conv1.weight").unwrap().shape(), &[16, 1, 3, 3]);
    }

    #[test]
    fn load_weights_names_missing_extra_and_misshaped_tensors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.safetensors");
        let w = vec![0u8; 4 * 3];
        let views = vec![
            (
                "conv1.weight".to_owned(),
                TensorView::new(Dtype::F32, vec![3], &w).unwrap(),
            ),
            (
                "surplus".to_owned(),
                TensorView::new(Dtype::F32, vec![3], &w).unwrap(),
            ),
        ];
        std::fs::write(&path, safetensors::serialize(views, &None).unwrap()).unwrap();
        let err = load_weights(cnn(0), &path).unwrap_err().to_string();
        assert!(err.contains("bad.safetensors"), "{err}");
        assert!(err.contains("unexpected tensor(s) surplus"), "{err}");
        assert!(err.contains("conv1.weight has shape [3]"), "{err}");
        assert!(err.contains("missing tensor fc1.bias"), "{err}");
    }

    #[test]
    fn a_run_directory_loads_its_highest_epoch() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path();
        let err = load_checkpoint(run, &Device::flex())
            .unwrap_err()
            .to_string();
        assert!(err.contains("checkpoint.json"), "{err}");
        std::fs::create_dir_all(run.join("checkpoints/notes")).unwrap();
        let err = last_checkpoint(run).unwrap_err().to_string();
        assert!(err.contains("no checkpoint"), "{err}");
        for (epoch, seed) in [(9, 1), (10, 2), (2, 3)] {
            let info = CheckpointInfo {
                model: ModelSpec {
                    kind: ModelKind::Cnn,
                    ..ModelSpec::default()
                },
                shape: ModelShape {
                    input: [1, 12, 12],
                    classes: 4,
                },
                epoch,
                settings: TrainSettings::default(),
            };
            // Unpadded names order differently as text than as numbers.
            let ckpt = run.join(format!("checkpoints/epoch-{epoch}"));
            std::fs::create_dir_all(&ckpt).unwrap();
            save_checkpoint(&ckpt, &cnn(seed), &info).unwrap();
        }
        assert_eq!(
            last_checkpoint(run).unwrap(),
            run.join("checkpoints/epoch-10")
        );
        let (model, info) = load_checkpoint(run, &Device::flex()).unwrap();
        assert_eq!(info.epoch, 10);
        assert_eq!(to_host(&flatten(&model)), to_host(&flatten(&cnn(2))));
    }

    #[test]
    fn load_weights_rejects_garbage_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("junk.safetensors");
        std::fs::write(&path, b"not safetensors").unwrap();
        let err = load_weights(cnn(0), &path).unwrap_err().to_string();
        assert!(
            err.contains("junk.safetensors") && err.contains("not a valid"),
            "{err}"
        );
    }

    #[test]
    fn half_conversion_matches_known_values() {
        assert_eq!(half_to_f32(0x3c00), 1.0);
        assert_eq!(half_to_f32(0xc000), -2.0);
        assert_eq!(half_to_f32(0x3555), 0.333_251_95);
    }
}
