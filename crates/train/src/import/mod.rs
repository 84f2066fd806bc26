//! Weights written by other programs: PyTorch checkpoints (`.pt`/`.pth`) and safetensors.
//!
//! Three steps, each usable alone, so a model with buffers (BatchNorm running statistics) or
//! a future architecture only needs its own list of [`Expected`] tensors:
//!
//! 1. [`read_weights`] reads every tensor of a file onto the host as f32 ([`HostTensor`], with
//!    the file's dtype kept), with the non-tensor entries of a checkpoint (`epoch`,
//!    `test_robust_acc`, …) as JSON [`WeightFile::extras`] and the file's SHA-256. It undoes
//!    the wrappers researchers save without asking for a flag, in this order: a checkpoint
//!    dict is unwrapped (the tensors under the first of [`WRAPPER_KEYS`] it holds), then the
//!    `module.` prefix `DataParallel` adds is stripped.
//! 2. [`match_weights`] renames the file's tensors by the caller's [`KeyMap`] (applied after
//!    the two steps above, rule by rule), drops `num_batches_tracked` counters and what the
//!    [`IgnoreList`] names, and checks the rest strictly against the expected names, shapes
//!    (PyTorch's, so `Linear` weights are `[out, in]`) and float dtypes: one error lists every
//!    problem, each with the closest name on the other side.
//! 3. [`load_matched`] writes matched tensors into a [`Model`](crate::Model)'s parameters,
//!    transposing `Linear` weights into burn's layout; [`expected_params`] is the list of
//!    tensors it needs.
//!
//! PyTorch files are parsed by burn's own reader (`burn::store::pytorch_reader`: ZIP, legacy,
//! TAR and plain-pickle containers; no Python is run). Nothing in a pickle is executed: classes
//! the reader does not know are skipped, never called.

mod glue;
mod key_map;
mod matcher;
mod read;

#[cfg(test)]
mod tests;

pub use glue::{expected_params, import_weights, load_matched};
pub use key_map::{IGNORE_FLAG, IgnoreList, KEY_MAP_FLAG, KeyMap};
pub use matcher::{Expected, MatchOptions, Matched, match_weights};
pub use read::{DType, HostTensor, WRAPPER_KEYS, WeightFile, WeightFormat, read_weights};
