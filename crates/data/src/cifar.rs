//! The CIFAR-10 / CIFAR-100 binary format.
//!
//! A file is a sequence of fixed-size records: the label byte(s) then 3072 pixel bytes
//! (1024 red, 1024 green, 1024 blue, each row-major 32x32), which is already `[c, h, w]`.

use std::path::{Path, PathBuf};

use crate::classes::{
    CIFAR10_CLASSES, CIFAR100_COARSE_CLASSES, CIFAR100_FINE_CLASSES, class_names,
};
use crate::dataset::{Dataset, Splits};
use crate::error::{Error, Result};
use crate::storage::{decompress, read_file};

const PIXELS: usize = 3 * 32 * 32;

/// Which CIFAR binary format, and for CIFAR-100 which label to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CifarVariant {
    /// CIFAR-10: 1 label byte (< 10) + 3072 pixel bytes.
    Cifar10,
    /// CIFAR-100 with its 100 fine labels: coarse byte, fine byte, 3072 pixel bytes.
    Cifar100Fine,
    /// CIFAR-100 with its 20 coarse labels: same records as [`CifarVariant::Cifar100Fine`].
    Cifar100Coarse,
}

impl CifarVariant {
    /// Bytes per record.
    pub fn record_len(self) -> usize {
        self.label_bytes() + PIXELS
    }

    /// Class names of the labels this variant yields.
    pub fn class_names(self) -> Vec<String> {
        let names: &[&str] = match self {
            Self::Cifar10 => &CIFAR10_CLASSES,
            Self::Cifar100Fine => &CIFAR100_FINE_CLASSES,
            Self::Cifar100Coarse => &CIFAR100_COARSE_CLASSES,
        };
        class_names(names)
    }

    fn label_bytes(self) -> usize {
        match self {
            Self::Cifar10 => 1,
            Self::Cifar100Fine | Self::Cifar100Coarse => 2,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Self::Cifar10 => "CIFAR-10 record (1 label byte + 3072 pixel bytes)",
            Self::Cifar100Fine | Self::Cifar100Coarse => {
                "CIFAR-100 record (coarse and fine label bytes + 3072 pixel bytes)"
            }
        }
    }
}

/// Loads and concatenates CIFAR binary files into one dataset of shape `[3, 32, 32]`.
///
/// Each file's size must be a non-zero multiple of the record size, and every label must be in
/// range (10 for CIFAR-10; for CIFAR-100 both the coarse (< 20) and fine (< 100) labels are
/// checked whichever one is kept).
pub fn load_cifar_binary(paths: &[PathBuf], variant: CifarVariant, name: &str) -> Result<Dataset> {
    if paths.is_empty() {
        return Err(Error::invalid(name, "no CIFAR files given"));
    }
    let record_len = variant.record_len();
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for path in paths {
        let bytes = read_file(path)?;
        let bytes = decompress(&bytes, path)?;
        if bytes.is_empty() || bytes.len() % record_len != 0 {
            return Err(Error::format(
                path,
                format!(
                    "file size {} bytes is not a non-zero multiple of the {record_len}-byte {}",
                    bytes.len(),
                    variant.describe()
                ),
            ));
        }
        pixels.reserve(bytes.len() / record_len * PIXELS);
        for (index, record) in bytes.chunks_exact(record_len).enumerate() {
            labels.push(record_label(record, variant, path, index)?);
            pixels.extend_from_slice(&record[variant.label_bytes()..]);
        }
    }
    Dataset::from_u8(name, &pixels, labels, [3, 32, 32], variant.class_names())
}

fn record_label(record: &[u8], variant: CifarVariant, path: &Path, index: usize) -> Result<u8> {
    let check = |label: u8, num_classes: usize| {
        if usize::from(label) < num_classes {
            Ok(label)
        } else {
            Err(Error::LabelOutOfRange {
                path: path.to_path_buf(),
                index,
                label,
                num_classes,
            })
        }
    };
    match variant {
        CifarVariant::Cifar10 => check(record[0], 10),
        CifarVariant::Cifar100Fine | CifarVariant::Cifar100Coarse => {
            let coarse = check(record[0], 20)?;
            let fine = check(record[1], 100)?;
            Ok(if variant == CifarVariant::Cifar100Fine {
                fine
            } else {
                coarse
            })
        }
    }
}

/// CIFAR-10 from `dir/data_batch_{1..5}.bin` + `dir/test_batch.bin`, or the same files under
/// `dir/cifar-10-batches-bin/` (the layout of the official tarball).
pub fn cifar10_splits(dir: &Path) -> Result<Splits> {
    let root = locate(
        dir,
        "cifar-10-batches-bin",
        "data_batch_1.bin",
        CIFAR10_HINT,
    )?;
    let train: Vec<PathBuf> = (1..=5)
        .map(|i| root.join(format!("data_batch_{i}.bin")))
        .collect();
    let test = [root.join("test_batch.bin")];
    Ok(Splits {
        train: load_cifar_binary(&train, CifarVariant::Cifar10, "cifar-10/train")?,
        test: load_cifar_binary(&test, CifarVariant::Cifar10, "cifar-10/test")?,
    })
}

/// CIFAR-100 from `dir/train.bin` + `dir/test.bin`, or the same files under
/// `dir/cifar-100-binary/`; `coarse` selects the 20 superclass labels instead of the 100 fine.
pub fn cifar100_splits(dir: &Path, coarse: bool) -> Result<Splits> {
    let root = locate(dir, "cifar-100-binary", "train.bin", CIFAR100_HINT)?;
    let (variant, prefix) = if coarse {
        (CifarVariant::Cifar100Coarse, "cifar-100-coarse")
    } else {
        (CifarVariant::Cifar100Fine, "cifar-100-fine")
    };
    Ok(Splits {
        train: load_cifar_binary(
            &[root.join("train.bin")],
            variant,
            &format!("{prefix}/train"),
        )?,
        test: load_cifar_binary(&[root.join("test.bin")], variant, &format!("{prefix}/test"))?,
    })
}

const CIFAR10_HINT: &str = "download the CIFAR-10 binary version (cifar-10-binary.tar.gz) from \
     https://www.cs.toronto.edu/~kriz/cifar.html, extract it and pass --data-dir";
const CIFAR100_HINT: &str = "download the CIFAR-100 binary version (cifar-100-binary.tar.gz) \
     from https://www.cs.toronto.edu/~kriz/cifar.html, extract it and pass --data-dir";

/// `dir` if it holds `probe`, else `dir/subdir` if that does.
fn locate(dir: &Path, subdir: &str, probe: &str, hint: &str) -> Result<PathBuf> {
    let nested = dir.join(subdir);
    if dir.join(probe).is_file() {
        Ok(dir.to_path_buf())
    } else if nested.join(probe).is_file() {
        Ok(nested)
    } else {
        Err(Error::Missing {
            path: dir.join(probe),
            hint: format!("also looked for {}; {hint}", nested.join(probe).display()),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    fn record(labels: &[u8], fill: u8) -> Vec<u8> {
        let mut r = labels.to_vec();
        r.extend(std::iter::repeat_n(fill, PIXELS));
        r
    }

    #[test]
    fn cifar_names_have_expected_counts() {
        assert_eq!(CifarVariant::Cifar10.class_names().len(), 10);
        assert_eq!(CifarVariant::Cifar100Fine.class_names().len(), 100);
        assert_eq!(CifarVariant::Cifar100Coarse.class_names().len(), 20);
    }

    #[test]
    fn cifar10_splits_reads_nested_layout() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("cifar-10-batches-bin");
        fs::create_dir(&nested).unwrap();
        for i in 1..=5 {
            let bytes = [record(&[i], 255), record(&[9], 0)].concat();
            fs::write(nested.join(format!("data_batch_{i}.bin")), bytes).unwrap();
        }
        fs::write(nested.join("test_batch.bin"), record(&[3], 51)).unwrap();
        let s = cifar10_splits(dir.path()).unwrap();
        assert_eq!((s.train.len(), s.test.len()), (10, 1));
        assert_eq!(s.train.shape, [3, 32, 32]);
        assert_eq!(s.train.labels, vec![1, 9, 2, 9, 3, 9, 4, 9, 5, 9]);
        assert_eq!(s.train.class_names[0], "airplane");
        assert!(s.train.image(0).iter().all(|&p| p == 1.0));
        assert!(s.test.image(0).iter().all(|&p| p == 0.2));
        assert_eq!(s.test.name, "cifar-10/test");
    }

    #[test]
    fn cifar100_picks_fine_or_coarse() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = [record(&[19, 99], 0), record(&[0, 5], 0)].concat();
        fs::write(dir.path().join("train.bin"), &bytes).unwrap();
        fs::write(dir.path().join("test.bin"), &bytes).unwrap();
        let fine = cifar100_splits(dir.path(), false).unwrap();
        assert_eq!(
            (fine.train.labels.clone(), fine.train.num_classes),
            (vec![99, 5], 100)
        );
        let coarse = cifar100_splits(dir.path(), true).unwrap();
        assert_eq!(
            (coarse.test.labels.clone(), coarse.test.num_classes),
            (vec![19, 0], 20)
        );
        assert_eq!(coarse.test.name, "cifar-100-coarse/test");
    }

    #[test]
    fn cifar_rejects_size_not_multiple_of_record() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data_batch_1.bin");
        let mut bytes = record(&[1], 0);
        bytes.pop();
        fs::write(&path, bytes).unwrap();
        let msg = load_cifar_binary(std::slice::from_ref(&path), CifarVariant::Cifar10, "c")
            .unwrap_err()
            .to_string();
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        assert!(
            msg.contains("3072 bytes is not a non-zero multiple of the 3073-byte"),
            "{msg}"
        );
        fs::write(&path, []).unwrap();
        assert!(load_cifar_binary(&[path], CifarVariant::Cifar10, "c").is_err());
    }

    #[test]
    fn cifar_rejects_label_out_of_range() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("test_batch.bin");
        fs::write(&path, [record(&[0], 0), record(&[10], 0)].concat()).unwrap();
        let err =
            load_cifar_binary(std::slice::from_ref(&path), CifarVariant::Cifar10, "c").unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(
                err,
                Error::LabelOutOfRange {
                    index: 1,
                    label: 10,
                    ..
                }
            ),
            "{msg}"
        );
        assert!(msg.contains(&path.display().to_string()), "{msg}");

        // A bad coarse label is caught even when only fine labels are requested.
        fs::write(&path, record(&[20, 0], 0)).unwrap();
        let err = load_cifar_binary(&[path], CifarVariant::Cifar100Fine, "c").unwrap_err();
        assert!(matches!(
            err,
            Error::LabelOutOfRange {
                label: 20,
                num_classes: 20,
                ..
            }
        ));
    }

    #[test]
    fn cifar_missing_dir_names_both_candidates() {
        let dir = tempfile::tempdir().unwrap();
        let msg = cifar10_splits(dir.path()).unwrap_err().to_string();
        assert!(
            msg.contains("data_batch_1.bin") && msg.contains("cifar-10-batches-bin"),
            "{msg}"
        );
    }
}
