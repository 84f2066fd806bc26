//! The full Fashion-MNIST and MNIST datasets from a directory of IDX files.

use std::path::{Path, PathBuf};

use crate::classes::{FASHION_MNIST_CLASSES, MNIST_CLASSES, class_names};
use crate::dataset::Splits;
use crate::error::{Error, Result};
use crate::idx::load_idx_dataset;

/// Where the Debian package `dataset-fashion-mnist` installs the full dataset.
pub const FASHION_MNIST_SYSTEM_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// Standard IDX file names of the MNIST family: (train images, train labels, test images,
/// test labels), without the `.gz` that the distributed copies carry.
pub const IDX_FILE_NAMES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

const FASHION_HINT: &str = "install it with `apt-get install dataset-fashion-mnist` (files land \
     in /usr/share/datasets/fashion-mnist) or pass --data-dir pointing at the IDX files";
const MNIST_HINT: &str = "download the four MNIST IDX files (train-images-idx3-ubyte.gz, \
     train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) into \
     one directory and pass --data-dir";

/// The full 70k Fashion-MNIST (60,000 train / 10,000 test) from `dir`, which holds
/// `train-images-idx3-ubyte(.gz)`, `train-labels-idx1-ubyte(.gz)` and the `t10k-` pair.
///
/// A missing directory or file gives [`Error::Missing`] naming it and how to get the data.
pub fn fashion_mnist_full(dir: &Path) -> Result<Splits> {
    load_mnist_family(dir, "fashion-mnist", &FASHION_MNIST_CLASSES, FASHION_HINT)
}

/// The full MNIST digits from `dir`, with the same file names as [`fashion_mnist_full`].
pub fn mnist_full(dir: &Path) -> Result<Splits> {
    load_mnist_family(dir, "mnist", &MNIST_CLASSES, MNIST_HINT)
}

fn load_mnist_family(dir: &Path, prefix: &str, classes: &[&str], hint: &str) -> Result<Splits> {
    if !dir.is_dir() {
        return Err(Error::Missing {
            path: dir.to_path_buf(),
            hint: hint.to_owned(),
        });
    }
    let [train_images, train_labels, test_images, test_labels] =
        IDX_FILE_NAMES.map(|base| find_idx_file(dir, base, hint));
    Ok(Splits {
        train: load_idx_dataset(
            &train_images?,
            &train_labels?,
            &format!("{prefix}/train"),
            class_names(classes),
        )?,
        test: load_idx_dataset(
            &test_images?,
            &test_labels?,
            &format!("{prefix}/test"),
            class_names(classes),
        )?,
        validation: None,
    })
}

/// `dir/base.gz` if present, else `dir/base` (an already unpacked copy).
fn find_idx_file(dir: &Path, base: &str, hint: &str) -> Result<PathBuf> {
    let gz = dir.join(format!("{base}.gz"));
    let raw = dir.join(base);
    if gz.is_file() {
        Ok(gz)
    } else if raw.is_file() {
        Ok(raw)
    } else {
        Err(Error::Missing {
            path: gz,
            hint: format!("nor is there an unpacked {}; {hint}", raw.display()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idx::{write_idx_images_gz, write_idx_labels_gz};

    #[test]
    fn fashion_mnist_full_missing_dir_says_how_to_install() {
        let msg = fashion_mnist_full(Path::new("/nonexistent/fmnist"))
            .unwrap_err()
            .to_string();
        assert!(msg.contains("/nonexistent/fmnist"), "{msg}");
        assert!(
            msg.contains("apt-get install dataset-fashion-mnist"),
            "{msg}"
        );
        assert!(msg.contains("--data-dir"), "{msg}");
    }

    #[test]
    fn fashion_mnist_full_missing_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        write_idx_images_gz(
            &dir.path().join("train-images-idx3-ubyte.gz"),
            &[0; 4],
            1,
            2,
            2,
        )
        .unwrap();
        let msg = fashion_mnist_full(dir.path()).unwrap_err().to_string();
        assert!(msg.contains("train-labels-idx1-ubyte.gz"), "{msg}");
        assert!(
            msg.contains("apt-get install dataset-fashion-mnist"),
            "{msg}"
        );
    }

    #[test]
    fn mnist_full_accepts_gz_and_unpacked_files() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write_idx_images_gz(&d.join("train-images-idx3-ubyte.gz"), &[0; 8], 2, 2, 2).unwrap();
        write_idx_labels_gz(&d.join("train-labels-idx1-ubyte.gz"), &[7, 3]).unwrap();
        // Unpacked names hold gzip bytes here; content detection makes that irrelevant.
        write_idx_images_gz(&d.join("t10k-images-idx3-ubyte"), &[9; 4], 1, 2, 2).unwrap();
        write_idx_labels_gz(&d.join("t10k-labels-idx1-ubyte"), &[9]).unwrap();
        let s = mnist_full(d).unwrap();
        assert_eq!((s.train.len(), s.test.len()), (2, 1));
        assert_eq!(s.train.name, "mnist/train");
        assert_eq!(s.test.class_names[9], "9");
    }

    #[test]
    fn fashion_mnist_full_system_dir() {
        let dir = Path::new(FASHION_MNIST_SYSTEM_DIR);
        if !dir.is_dir() {
            eprintln!("skipping: {FASHION_MNIST_SYSTEM_DIR} absent (dataset-fashion-mnist)");
            return;
        }
        let s = fashion_mnist_full(dir).unwrap();
        assert_eq!((s.train.len(), s.test.len()), (60_000, 10_000));
        assert_eq!(s.train.shape, [1, 28, 28]);
        assert_eq!(s.train.class_counts(), vec![6000; 10]);
        assert_eq!(s.test.class_counts(), vec![1000; 10]);
        assert_eq!(s.train.class_names[9], "Ankle boot");
    }
}
