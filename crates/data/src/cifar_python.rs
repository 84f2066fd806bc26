//! CIFAR-10 / CIFAR-100 as torchvision downloads them: the "python version" pickles.
//!
//! `cifar-10-batches-py/data_batch_{1..5}` and `test_batch` (and `cifar-100-python/train`,
//! `test`) each hold a pickled dict: `data`, a `uint8` numpy array `[n, 3072]` whose rows are
//! the same 1024 red, 1024 green, 1024 blue bytes as the binary version's records, and the
//! labels as a list of ints (`labels`; CIFAR-100: `fine_labels` and `coarse_labels`).

use std::path::{Path, PathBuf};

use crate::cifar::{CifarVariant, PIXELS};
use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::pickle::{self, Value};
use crate::storage::read_file;

/// Loads and concatenates CIFAR python-version files into one dataset of shape `[3, 32, 32]`.
///
/// Every label list is checked against the array's rows and its classes (for CIFAR-100 both
/// the coarse and the fine labels, whichever is kept), as the binary reader does.
///
/// # Errors
/// [`Error::Missing`] for an absent file, [`Error::Format`] naming the file and the rule (an
/// opcode or global outside the subset these files use, a missing key, a wrong shape),
/// [`Error::LabelOutOfRange`] for a label beyond the classes.
pub fn load_cifar_python(paths: &[PathBuf], variant: CifarVariant, name: &str) -> Result<Dataset> {
    if paths.is_empty() {
        return Err(Error::invalid(name, "no CIFAR files given"));
    }
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for path in paths {
        let bytes = read_file(path)?;
        let root = pickle::parse(&bytes, path)?;
        if !matches!(root, Value::Dict(_)) {
            return Err(Error::format(
                path,
                format!("holds {}, not a CIFAR batch dict", root.kind()),
            ));
        }
        let data = match root.get("data") {
            Some(Value::Array(a)) if a.shape.len() == 2 && a.shape[1] == PIXELS => a,
            Some(Value::Array(a)) => {
                return Err(Error::format(
                    path,
                    format!("`data` has shape {:?}, expected [n, {PIXELS}]", a.shape),
                ));
            }
            Some(other) => {
                return Err(Error::format(
                    path,
                    format!("`data` is {}, expected a uint8 numpy array", other.kind()),
                ));
            }
            None => return Err(Error::format(path, "no `data` entry")),
        };
        let rows = data.shape[0];
        let file_labels = match variant {
            CifarVariant::Cifar10 => label_list(&root, "labels", 10, rows, path)?,
            CifarVariant::Cifar100Fine | CifarVariant::Cifar100Coarse => {
                let coarse = label_list(&root, "coarse_labels", 20, rows, path)?;
                let fine = label_list(&root, "fine_labels", 100, rows, path)?;
                if variant == CifarVariant::Cifar100Fine {
                    fine
                } else {
                    coarse
                }
            }
        };
        pixels.extend_from_slice(&data.data);
        labels.extend(file_labels);
    }
    Dataset::from_u8(name, &pixels, labels, [3, 32, 32], variant.class_names())
}

fn label_list(
    root: &Value,
    key: &str,
    num_classes: usize,
    rows: usize,
    path: &Path,
) -> Result<Vec<u8>> {
    let Some(Value::List(items)) = root.get(key) else {
        return Err(Error::format(path, format!("no `{key}` list")));
    };
    if items.len() != rows {
        return Err(Error::format(
            path,
            format!("`{key}` has {} labels for {rows} images", items.len()),
        ));
    }
    items
        .iter()
        .enumerate()
        .map(|(index, item)| match item {
            Value::Int(label) => match u8::try_from(*label) {
                Ok(label) if usize::from(label) < num_classes => Ok(label),
                Ok(label) => Err(Error::LabelOutOfRange {
                    path: path.to_path_buf(),
                    index,
                    label,
                    num_classes,
                }),
                Err(_) => Err(Error::format(
                    path,
                    format!("`{key}`[{index}] is {label}, not a class below {num_classes}"),
                )),
            },
            other => Err(Error::format(
                path,
                format!("`{key}`[{index}] is {}, not an int", other.kind()),
            )),
        })
        .collect()
}
