//! Weights in safetensors with PyTorch names and layouts, and checkpoint directories.
//!
//! A checkpoint is a directory holding `model.safetensors` and `checkpoint.json` (the model
//! spec, shapes, epoch and the run's resolved settings): enough to rebuild the model and
//! load it. The weights file is exactly what `torch.nn.Module.load_state_dict` expects, so
//! the same file serves `advland export` and PyTorch interoperability.
//!
//! Checkpoints written by training also hold what continuing the run needs ([`TrainState`] in
//! `checkpoint.json`, the update rule's buffers in `optimizer.safetensors`), read back by
//! [`load_resume`]. Checkpoints without it (older ones, imported weights) still load for
//! evaluation and the analyses. A checkpoint directory is built under a temporary name and
//! renamed into place, so `epoch-NNNN/` is complete or absent, never half-written.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use advland_schema::{
    EpochRecord, ModelSpec, Payload, PgdSettings, Report, TrainLog, TrainSettings, read_json,
    read_report, write_atomic, write_json,
};
use burn::tensor::{Device, Tensor};
use safetensors::tensor::{Dtype, TensorView};
use serde::{Deserialize, Serialize};

mod weights;

use weights::{decode, weights_error};
pub use weights::{load_weights, save_weights};

use crate::error::{Error, Result};
use crate::model::{Model, ModelShape};
use crate::optim::{RuleCounts, RuleState};
use crate::params::{from_host, to_host};
use crate::trainer::TRAIN_LOG_FILE;

/// Suffix of PyTorch's batch-norm batch counter, which advland neither keeps nor writes (it
/// only matters to `momentum=None` layers); accepted and ignored on load.
const BATCH_COUNTER: &str = ".num_batches_tracked";

/// File name of the weights inside a checkpoint directory.
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// File name of the description inside a checkpoint directory.
pub const CHECKPOINT_FILE: &str = "checkpoint.json";
/// File name of the update rule's buffers inside a checkpoint directory.
pub const OPTIMIZER_FILE: &str = "optimizer.safetensors";
/// Directory of the checkpoints inside a run directory.
pub const CHECKPOINTS_DIR: &str = "checkpoints";
/// Prefix of a checkpoint directory being written (renamed to `epoch-NNNN` once complete).
pub const TEMPORARY_PREFIX: &str = ".tmp-";
/// Name of the momentum buffer in `optimizer.safetensors`.
const MOMENTUM_TENSOR: &str = "momentum";

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
    /// The run's state when saved, for resuming it; absent in checkpoints that cannot be
    /// resumed (saved before advland kept it, or imported weights).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training: Option<TrainState>,
}

/// What a run had done when a checkpoint was saved, beyond the weights: with the update rule's
/// buffers in `optimizer.safetensors`, enough to continue it to the result of an uninterrupted
/// run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainState {
    /// Minibatch gradients served so far; every training attack's random start derives from
    /// this counter.
    pub step: u64,
    /// The update rule's counters (EntropySGD's scope γ_t follows its outer steps).
    pub rule: RuleCounts,
    /// EntropySGD's chains started, the index of the next chain's noise stream (0 for SGD).
    pub chains: u64,
    /// Wall-clock seconds spent training so far.
    pub duration_s: f64,
    /// The training log up to and including this checkpoint's epoch.
    pub log: TrainLog,
}

/// Saves a checkpoint directory: `model.safetensors`, `checkpoint.json` and, when `rule` is
/// given (it must be whenever `info.training` is), `optimizer.safetensors`.
///
/// The files are written into a temporary sibling directory that is then renamed to `dir`, so
/// `dir` never exists half-written (a full disk leaves no `epoch-NNNN/` at all); a directory
/// already at `dir` is replaced.
///
/// # Errors
/// IO errors naming the file; nothing is left behind then.
pub fn save_checkpoint(
    dir: &Path,
    model: &Model,
    info: &CheckpointInfo,
    rule: Option<&RuleState>,
) -> Result<()> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| weights_error(dir, "a checkpoint directory needs a name"))?;
    let parent = dir.parent().unwrap_or(Path::new("."));
    let tmp = parent.join(format!("{TEMPORARY_PREFIX}{name}-{}", std::process::id()));
    let written = write_checkpoint_files(&tmp, model, info, rule).and_then(|()| {
        if dir.exists() {
            std::fs::remove_dir_all(dir).map_err(|source| io_error(dir, source))?;
        }
        std::fs::rename(&tmp, dir).map_err(|source| io_error(dir, source))
    });
    if written.is_err() {
        // The error already names what failed; a temporary directory that cannot be removed
        // either is ignored by every reader.
        let _ = std::fs::remove_dir_all(&tmp);
    }
    written
}

fn write_checkpoint_files(
    dir: &Path,
    model: &Model,
    info: &CheckpointInfo,
    rule: Option<&RuleState>,
) -> Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(|source| io_error(dir, source))?;
    }
    std::fs::create_dir_all(dir).map_err(|source| io_error(dir, source))?;
    save_weights(model, &dir.join(WEIGHTS_FILE))?;
    if let Some(rule) = rule {
        save_rule_buffers(rule, &dir.join(OPTIMIZER_FILE))?;
    }
    write_json(&dir.join(CHECKPOINT_FILE), info)?;
    Ok(())
}

fn io_error(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.to_owned(),
        source,
    }
}

/// Writes the rule's buffers as f32 safetensors (a rule without momentum writes none).
fn save_rule_buffers(rule: &RuleState, path: &Path) -> Result<()> {
    let momentum = rule.momentum.as_ref().map(to_host);
    let raw: Option<(usize, Vec<u8>)> = momentum
        .as_ref()
        .map(|m| (m.len(), m.iter().flat_map(|v| v.to_le_bytes()).collect()));
    let views = raw
        .iter()
        .map(|(n, bytes)| {
            TensorView::new(Dtype::F32, vec![*n], bytes)
                .map(|v| (MOMENTUM_TENSOR.to_owned(), v))
                .map_err(|e| weights_error(path, format!("tensor {MOMENTUM_TENSOR}: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let data =
        safetensors::serialize(views, &None).map_err(|e| weights_error(path, e.to_string()))?;
    write_atomic(path, &data)?;
    Ok(())
}

/// Reads the momentum buffer of `optimizer.safetensors` for a model of `params` parameters.
fn load_rule_buffers(path: &Path, params: usize, device: &Device) -> Result<Option<Tensor<1>>> {
    let bytes = std::fs::read(path).map_err(|source| io_error(path, source))?;
    let file = safetensors::SafeTensors::deserialize(&bytes)
        .map_err(|e| weights_error(path, format!("not a valid safetensors file: {e}")))?;
    let mut extra: Vec<String> = file
        .names()
        .into_iter()
        .filter(|n| n.as_str() != MOMENTUM_TENSOR)
        .cloned()
        .collect();
    if !extra.is_empty() {
        extra.sort();
        return Err(weights_error(
            path,
            format!("unexpected tensor(s) {}", extra.join(", ")),
        ));
    }
    let Ok(view) = file.tensor(MOMENTUM_TENSOR) else {
        return Ok(None);
    };
    // Exactly f32: a converted buffer would not continue the run bit for bit.
    if view.dtype() != Dtype::F32 || view.shape() != [params] {
        return Err(weights_error(
            path,
            format!(
                "tensor {MOMENTUM_TENSOR} is {:?} {:?}, expected F32 [{params}]",
                view.dtype(),
                view.shape()
            ),
        ));
    }
    let values = decode(Dtype::F32, view.data())
        .ok_or_else(|| weights_error(path, "undecodable momentum buffer"))?;
    Ok(Some(from_host(values, device)))
}

/// Whether `name` is a checkpoint directory still being written (or left by a killed run).
pub fn is_temporary(name: &str) -> bool {
    name.starts_with(TEMPORARY_PREFIX)
}

/// The epoch of a checkpoint directory named `epoch-NNNN` (any number of digits).
fn checkpoint_epoch(name: &str) -> Option<usize> {
    let digits = name.strip_prefix("epoch-")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The checkpoints of a training run directory (`run/checkpoints/epoch-NNNN`) by epoch.
/// Directories being written (temporary names) and without `checkpoint.json` are not
/// checkpoints.
///
/// # Errors
/// An unreadable `checkpoints/` directory.
fn run_checkpoints(run_dir: &Path) -> Result<BTreeMap<usize, PathBuf>> {
    let checkpoints = run_dir.join(CHECKPOINTS_DIR);
    Ok(std::fs::read_dir(&checkpoints)
        .map_err(|e| weights_error(run_dir, format!("{}: {e}", checkpoints.display())))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.join(CHECKPOINT_FILE).exists())
        .filter_map(|p| Some((checkpoint_epoch(p.file_name()?.to_str()?)?, p)))
        .collect())
}

/// The last checkpoint of a training run directory (highest epoch of [`run_checkpoints`]), so
/// that commands can name a run without knowing how long it trained.
///
/// # Errors
/// A run without checkpoints.
pub fn last_checkpoint(run_dir: &Path) -> Result<PathBuf> {
    run_checkpoints(run_dir)?
        .pop_last()
        .map(|(_, p)| p)
        .ok_or_else(|| no_checkpoint(run_dir))
}

fn no_checkpoint(run_dir: &Path) -> Error {
    weights_error(
        run_dir,
        format!(
            "no checkpoint (epoch-NNNN) in {}",
            run_dir.join(CHECKPOINTS_DIR).display()
        ),
    )
}

/// The name that, after a run directory, stands for its best checkpoint: `RUN/best`.
pub const BEST_CHECKPOINT: &str = "best";

/// The epoch among `saved` with the highest accuracy in `log` under the run's training
/// threat `threat` (its norm and radius; the lowest of several attacks there; the clean
/// accuracy for standard training, `None`), on the validation split when the run held one out
/// (`data.validation_subset`), else on the test split. The earliest of equal epochs, as
/// robust_overfitting replaces `model_best.pth` only on an improvement.
///
/// # Errors
/// Why no epoch qualifies: the log has no accuracy under the threat, or no logged epoch was
/// saved.
pub fn best_epoch(
    log: &TrainLog,
    threat: Option<&PgdSettings>,
    saved: &BTreeSet<usize>,
) -> std::result::Result<usize, String> {
    let ranked_on = if log.epochs.iter().any(|e| e.validation.is_some()) {
        "validation"
    } else {
        "test"
    };
    let accuracy = |e: &EpochRecord| {
        let (_, result) = e.evaluations().find(|(split, _)| *split == ranked_on)?;
        match threat {
            None => Some(result.clean.accuracy),
            Some(t) => result
                .robust
                .iter()
                .filter(|r| {
                    r.attack.norm == t.norm && (r.attack.eps - t.eps).abs() <= 1e-12 * t.eps
                })
                .map(|r| r.metrics.accuracy)
                .reduce(f64::min),
        }
    };
    let scored: Vec<(usize, f64)> = log
        .epochs
        .iter()
        .filter_map(|e| Some((e.epoch, accuracy(e)?)))
        .collect();
    if scored.is_empty()
        && let Some(t) = threat
    {
        let evaluated: Vec<String> = log
            .epochs
            .first()
            .map(|e| e.test.robust.iter().map(|r| r.attack.threat()).collect())
            .unwrap_or_default();
        return Err(format!(
            "the best checkpoint is the one with the highest {} accuracy under the run's \
             training threat ({}), but the run was evaluated only under [{}]: name a checkpoint \
             (RUN/checkpoints/epoch-NNNN) instead",
            ranked_on,
            t.threat(),
            evaluated.join(", ")
        ));
    }
    scored
        .into_iter()
        .filter(|(epoch, _)| saved.contains(epoch))
        .fold(
            None,
            |best: Option<(usize, f64)>, (epoch, acc)| match best {
                Some((_, b)) if b >= acc => best,
                _ => Some((epoch, acc)),
            },
        )
        .map(|(epoch, _)| epoch)
        .ok_or_else(|| "no epoch of the log has a checkpoint".to_owned())
}

/// The best checkpoint of a training run directory ([`best_epoch`] of its `train.json`, under
/// the training threat its last checkpoint records).
///
/// # Errors
/// A run without checkpoints or log, a log without accuracy under the training threat.
pub fn best_checkpoint(run_dir: &Path) -> Result<PathBuf> {
    let mut saved = run_checkpoints(run_dir)?;
    let (_, last) = saved
        .last_key_value()
        .ok_or_else(|| no_checkpoint(run_dir))?;
    let info: CheckpointInfo = read_json(&last.join(CHECKPOINT_FILE))?;
    let log_path = run_dir.join(TRAIN_LOG_FILE);
    let log: Report<TrainLog> = read_report(&log_path, TrainLog::KIND)?;
    let epochs = saved.keys().copied().collect();
    let epoch = best_epoch(&log.data, info.settings.adversarial.as_ref(), &epochs)
        .map_err(|reason| weights_error(&log_path, reason))?;
    saved
        .remove(&epoch)
        .ok_or_else(|| weights_error(run_dir, format!("no checkpoint of epoch {epoch}")))
}

/// The checkpoint directory `path` names: itself, the directory of its `checkpoint.json` or
/// `model.safetensors`, a run directory's last checkpoint, or for `RUN/best` (when no such
/// file exists) the run's [`best_checkpoint`].
///
/// # Errors
/// A run directory without checkpoints.
pub fn checkpoint_dir(path: &Path) -> Result<PathBuf> {
    if std::fs::symlink_metadata(path).is_err() {
        if let Some(run) = path.parent()
            && path.file_name() == Some(BEST_CHECKPOINT.as_ref())
            && run.join(CHECKPOINTS_DIR).is_dir()
        {
            return best_checkpoint(run);
        }
        // Otherwise the parent's checkpoint.json would be reported missing, not the path given.
        return Err(weights_error(
            path,
            "does not exist (give a checkpoint directory, its checkpoint.json, a run directory, \
             or RUN/best for a run's best checkpoint)",
        ));
    }
    Ok(if path.is_dir() {
        if !path.join(CHECKPOINT_FILE).exists() && path.join(CHECKPOINTS_DIR).is_dir() {
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
/// Missing files, bad JSON, a description of a model that cannot be built or that the weights
/// file is too small to hold (refused before the model is built), weights that do not match
/// the described model; each naming the file at fault.
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
    let weights = dir.join(WEIGHTS_FILE);
    check_weights_hold(&info, &info_path, &weights)?;
    let model = Model::build(&info.model, info.shape, device).map_err(|e| {
        weights_error(
            &info_path,
            format!("describes a model that cannot be built: {e}"),
        )
    })?;
    let model = load_weights(model, &weights)?;
    Ok((model, info))
}

/// Refuses a description whose model the weights file is too small to hold, before the model
/// exists: its sizes come from a JSON file, and a corrupt one can ask for any size.
fn check_weights_hold(info: &CheckpointInfo, info_path: &Path, weights: &Path) -> Result<()> {
    let bytes = std::fs::metadata(weights)
        .map_err(|source| Error::Io {
            path: weights.to_owned(),
            source,
        })?
        .len();
    // Every parameter takes at least 2 bytes in a file `load_weights` accepts (f16/bf16).
    let needed = Model::param_count(&info.model, info.shape)
        .and_then(|m| u64::try_from(m).ok())
        .and_then(|m| m.checked_mul(2));
    match needed {
        Some(needed) if needed <= bytes => Ok(()),
        _ => Err(weights_error(
            info_path,
            format!(
                "describes a {:?} for input {:?} and {} classes, more parameters than the {bytes} \
                 bytes of {} can hold",
                info.model.kind,
                info.shape.input,
                info.shape.classes,
                weights.display()
            ),
        )),
    }
}

/// A checkpoint read back to continue its run: the model, the settings it was trained with,
/// and the state of the loop and the update rule after its epoch.
#[derive(Debug)]
pub struct Resume {
    /// The checkpoint directory.
    pub checkpoint: PathBuf,
    /// The weights after `epoch` epochs.
    pub model: Model,
    /// Input and output sizes the model was built for.
    pub shape: ModelShape,
    /// Epochs finished.
    pub epoch: usize,
    /// The run's resolved settings.
    pub settings: TrainSettings,
    /// The loop's state.
    pub state: TrainState,
    /// The update rule's state.
    pub rule: RuleState,
}

impl Resume {
    /// Whether the run had already finished: all its epochs, or its gradient budget, spent.
    pub fn is_complete(&self) -> bool {
        let t = &self.settings.training;
        self.epoch >= t.epochs
            || t.gradient_budget
                .is_some_and(|b| self.state.log.updates.gradient_evaluations >= b)
    }
}

/// Reads a checkpoint (as [`load_checkpoint`] names it) with the state that continues its run,
/// onto `device` (an autodiff device, to train on).
///
/// # Errors
/// [`Error::NotResumable`] for a checkpoint saved without its state (older advland, imported
/// weights) or whose state does not fit it; missing or bad files as [`load_checkpoint`].
pub fn load_resume(path: &Path, device: &Device) -> Result<Resume> {
    let dir = checkpoint_dir(path)?;
    let (model, info) = load_checkpoint(&dir, device)?;
    let not_resumable = |reason: String| Error::NotResumable {
        path: dir.clone(),
        reason,
    };
    let Some(state) = info.training else {
        return Err(not_resumable(format!(
            "{CHECKPOINT_FILE} has no training state (optimizer buffers, step counter, log): it \
             was saved by an advland that did not keep them, or holds imported weights. It still \
             serves eval, export and the analyses, but continuing from it would not reproduce \
             the uninterrupted run"
        )));
    };
    let logged = state.log.epochs.last().map(|r| r.epoch);
    if logged != Some(info.epoch) || state.log.epochs.len() != info.epoch {
        return Err(not_resumable(format!(
            "the saved log holds {} epoch record(s) ending at epoch {}, but the checkpoint is \
             epoch {}",
            state.log.epochs.len(),
            logged.unwrap_or(0),
            info.epoch
        )));
    }
    let optimizer = dir.join(OPTIMIZER_FILE);
    if !optimizer.exists() {
        return Err(not_resumable(format!("{} is missing", optimizer.display())));
    }
    let momentum = load_rule_buffers(&optimizer, crate::params::theta_len(&model), device)?;
    let rule = RuleState {
        counts: state.rule,
        chains: state.chains,
        momentum,
    };
    Ok(Resume {
        checkpoint: dir,
        model,
        shape: info.shape,
        epoch: info.epoch,
        settings: info.settings,
        state,
        rule,
    })
}

#[cfg(test)]
pub(crate) mod tests;
