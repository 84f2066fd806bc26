//! From [`DataSettings`] to the examples actually used.

use std::path::{Path, PathBuf};

use advland_data::{
    Dataset, FASHION_MNIST_SYSTEM_DIR, Splits, cifar10_splits, cifar100_splits,
    fashion_mnist_bundled, fashion_mnist_full, mnist_full,
};
use advland_schema::{DataSettings, DataSubset, DatasetName};

use crate::error::{Error, Result};

/// Loads the data set named in `settings` and applies its subsets.
///
/// # Errors
/// Missing or malformed files (named), a subset larger than the split.
pub fn load_splits(settings: &DataSettings) -> Result<Splits> {
    let dir = |default: Option<&str>| -> Result<PathBuf> {
        match (&settings.data_dir, default) {
            (Some(d), _) => Ok(d.clone()),
            (None, Some(d)) => Ok(PathBuf::from(d)),
            (None, None) => Err(Error::invalid(
                "data.data_dir",
                format!("data set {} needs --data-dir", settings.dataset.as_str()),
            )),
        }
    };
    let splits = match settings.dataset {
        DatasetName::FashionMnist => fashion_mnist_bundled()?,
        DatasetName::FashionMnistFull => fashion_mnist_full(&dir(Some(FASHION_MNIST_SYSTEM_DIR))?)?,
        DatasetName::Mnist => mnist_full(&dir(None)?)?,
        DatasetName::Cifar10 => cifar10_splits(&dir(None)?)?,
        DatasetName::Cifar100 => cifar100_splits(&dir(None)?, false)?,
    };
    Ok(Splits {
        train: subset(splits.train, settings.train_subset, "data.train_subset")?,
        test: subset(splits.test, settings.test_subset, "data.test_subset")?,
    })
}

/// Evenly spaced subset when `n` is given.
///
/// # Errors
/// `n` larger than the data set.
pub fn subset(data: Dataset, n: Option<usize>, field: &str) -> Result<Dataset> {
    match n {
        None => Ok(data),
        Some(n) if n > data.len() => Err(Error::invalid(
            field,
            format!("asks for {n} examples but {} has {}", data.name, data.len()),
        )),
        Some(n) => Ok(data.subset_evenly(n)?),
    }
}

/// Description of a data set for report metadata.
pub fn describe(data: &Dataset, total: usize) -> DataSubset {
    DataSubset {
        name: data.name.clone(),
        examples: data.len(),
        total,
        selection: if data.len() == total {
            "all".to_owned()
        } else {
            "evenly-spaced".to_owned()
        },
    }
}

/// Whether a path looks like a directory that exists (for friendlier CLI errors).
pub fn exists(path: &Path) -> bool {
    path.exists()
}
