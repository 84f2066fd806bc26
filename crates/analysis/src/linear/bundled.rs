//! The data the linear case runs on by default: a split of the Fashion-MNIST subset bundled
//! into the binary, so the teaching case needs no download.

use advland_data::{Dataset, fashion_mnist_bundled};
use serde::{Deserialize, Serialize};

use crate::error::Result;

/// Which split of the bundled Fashion-MNIST.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum BundledSplit {
    /// The bundled train split (800 examples per class).
    Train,
    /// The bundled test split (200 examples per class).
    Test,
}

/// The split `split` of the bundled Fashion-MNIST subset (no file system access).
///
/// # Errors
/// An embedded file that does not parse (a broken build), as the data crate's error.
pub fn bundled(split: BundledSplit) -> Result<Dataset> {
    let splits = fashion_mnist_bundled().map_err(advland_train::Error::from)?;
    Ok(match split {
        BundledSplit::Train => splits.train,
        BundledSplit::Test => splits.test,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_bundled_splits_hold_ten_classes() {
        let train = bundled(BundledSplit::Train).unwrap();
        let test = bundled(BundledSplit::Test).unwrap();
        assert_eq!((train.len(), test.len()), (8000, 2000));
        assert_eq!((train.num_classes, test.num_classes), (10, 10));
    }
}
