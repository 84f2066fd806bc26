//! Checking a file's tensors against the tensors a model needs, strictly.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::PathBuf;

use crate::error::{Error, Result};

use super::key_map::{IgnoreList, KEY_MAP_FLAG, KeyMap};
use super::read::{HostTensor, WeightFile, list_names, rename_all};

/// Name of PyTorch's BatchNorm step counter, which no advland model reads.
const BATCH_COUNTER: &str = "num_batches_tracked";

/// A float tensor the model needs, named and shaped as PyTorch has it (a `Linear` weight is
/// `[out, in]`: [`ParamEntry::torch_shape`](crate::params::ParamEntry::torch_shape)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expected {
    /// PyTorch name, e.g. `layer1.0.bn1.running_mean`.
    pub name: String,
    /// PyTorch shape.
    pub shape: Vec<usize>,
}

/// What the caller adds to the automatic unwrapping ([`super::read_weights`]).
#[derive(Clone, Debug, Default)]
pub struct MatchOptions {
    /// Renames applied to the file's names before matching.
    pub key_map: KeyMap,
    /// Names (after `key_map`) the model does not use and the file may hold.
    pub ignore: IgnoreList,
}

/// The file's tensors under the expected names, ready for a model.
#[derive(Clone, Debug)]
pub struct Matched {
    /// The file they came from.
    pub path: PathBuf,
    /// One tensor per [`Expected`], by its name, with the expected shape.
    pub tensors: BTreeMap<String, HostTensor>,
    /// `(name in the file, name in the model)` for every tensor the key map renamed.
    pub renamed: Vec<(String, String)>,
    /// The reader's notes followed by the matcher's (ignored tensors, dropped counters).
    pub notes: Vec<String>,
}

/// Matches `file`'s tensors to `expected`, strictly.
///
/// In order: `options.key_map` renames the file's names (two names becoming one is an error),
/// `num_batches_tracked` counters and names `options.ignore` matches are dropped with a note,
/// and then every expected tensor must be present with its shape and a float dtype, and no
/// other tensor may remain. Non-finite values are refused.
///
/// # Errors
/// [`Error::Weights`] naming the file, with one line per problem: missing tensors (with their
/// shape and the closest unused name of the file), unexpected tensors (with the closest
/// expected name), tensors of the wrong shape or of an integer dtype, non-finite values.
pub fn match_weights(
    expected: &[Expected],
    file: &WeightFile,
    options: &MatchOptions,
) -> Result<Matched> {
    let path = &file.path;
    let mut notes = file.notes.clone();
    let mut renamed = Vec::new();
    let mut tensors = file.tensors.clone();
    if !options.key_map.is_empty() {
        let step = format!("{KEY_MAP_FLAG} rules");
        tensors = rename_all(path, tensors, &step, |name| {
            let new = options.key_map.rename(name);
            if new != name {
                renamed.push((name.to_owned(), new.clone()));
            }
            new
        })?;
        renamed.sort();
    }
    let wanted: BTreeMap<&str, &Expected> = expected.iter().map(|e| (e.name.as_str(), e)).collect();
    let mut counters = Vec::new();
    let mut ignored = Vec::new();
    tensors.retain(|name, _| {
        if wanted.contains_key(name.as_str()) {
            true
        } else if name == BATCH_COUNTER || name.ends_with(&format!(".{BATCH_COUNTER}")) {
            counters.push(name.clone());
            false
        } else if options.ignore.matches(name) {
            ignored.push(name.clone());
            false
        } else {
            true
        }
    });
    if !counters.is_empty() {
        notes.push(format!(
            "dropped {} BatchNorm `{BATCH_COUNTER}` counter(s)",
            counters.len()
        ));
    }
    if !ignored.is_empty() {
        notes.push(format!(
            "ignored {} tensor(s) as asked: {}",
            ignored.len(),
            list_names(&ignored)
        ));
    }

    let missing: Vec<&Expected> = expected
        .iter()
        .filter(|e| !tensors.contains_key(&e.name))
        .collect();
    let unexpected: Vec<&String> = tensors
        .keys()
        .filter(|n| !wanted.contains_key(n.as_str()))
        .collect();
    let mut problems = Vec::new();
    for e in &missing {
        let mut line = format!("missing tensor {} {:?}", e.name, e.shape);
        let unused = unexpected.iter().map(|n| n.as_str());
        if let Some(near) = closest(&e.name, unused) {
            let _ = write!(line, " (did you mean {near} {:?}?)", tensors[near].shape);
        }
        problems.push(line);
    }
    for name in &unexpected {
        let mut line = format!("unexpected tensor {name} {:?}", tensors[*name].shape);
        let near = if missing.is_empty() {
            closest(name, expected.iter().map(|e| e.name.as_str()))
        } else {
            closest(name, missing.iter().map(|e| e.name.as_str()))
        };
        if let Some(near) = near {
            let _ = write!(line, " (did you mean {near}?)");
        }
        problems.push(line);
    }
    for e in expected {
        let Some(t) = tensors.get(&e.name) else {
            continue;
        };
        if t.shape != e.shape {
            problems.push(format!(
                "tensor {} has shape {:?} in the file, the model expects {:?}",
                e.name, t.shape, e.shape
            ));
        } else if !t.dtype.is_float() {
            problems.push(format!(
                "tensor {} has dtype {}, the model expects floating point",
                e.name, t.dtype
            ));
        } else if let Some(bad) = t.data.iter().position(|v| !v.is_finite()) {
            problems.push(format!(
                "tensor {} has a non-finite value at index {bad}",
                e.name
            ));
        }
    }
    if !problems.is_empty() {
        let mut reason = format!(
            "does not match the model ({} problem{}):",
            problems.len(),
            if problems.len() == 1 { "" } else { "s" }
        );
        for p in problems {
            let _ = write!(reason, "\n  - {p}");
        }
        return Err(Error::Weights {
            path: path.clone(),
            reason,
        });
    }
    Ok(Matched {
        path: path.clone(),
        tensors,
        renamed,
        notes,
    })
}

/// The candidate nearest to `name` in edit distance (the first in order on ties).
fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates.min_by_key(|c| strsim::levenshtein(name, c))
}
