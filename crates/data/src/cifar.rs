//! The CIFAR-10 / CIFAR-100 binary format, and finding either version on disk.
//!
//! A file is a sequence of fixed-size records: the label byte(s) then 3072 pixel bytes
//! (1024 red, 1024 green, 1024 blue, each row-major 32x32), which is already `[c, h, w]`.
//! [`cifar10_splits`] and [`cifar100_splits`] read this version or the Python one
//! ([`crate::cifar_python`], what torchvision downloads), whichever the directory holds.

use std::path::{Path, PathBuf};

use crate::cifar_python::load_cifar_python;
use crate::classes::{
    CIFAR10_CLASSES, CIFAR100_COARSE_CLASSES, CIFAR100_FINE_CLASSES, class_names,
};
use crate::dataset::{Dataset, Splits};
use crate::error::{Error, Result};
use crate::storage::{decompress, read_file};

pub(crate) const PIXELS: usize = 3 * 32 * 32;

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

/// CIFAR-10 from the binary version (`dir/data_batch_{1..5}.bin` + `dir/test_batch.bin`, or
/// the same files under `dir/cifar-10-batches-bin/`, the official tarball's layout) or the
/// Python version (`data_batch_{1..5}` + `test_batch` in `dir` or `dir/cifar-10-batches-py/`,
/// torchvision's layout), the first of these four places that holds `data_batch_1`.
pub fn cifar10_splits(dir: &Path) -> Result<Splits> {
    let (root, version) = locate(dir, &CIFAR10_LAYOUTS, "data_batch_1", CIFAR10_HINT)?;
    let file = |stem: &str| root.join(format!("{stem}{}", version.suffix()));
    let train: Vec<PathBuf> = (1..=5).map(|i| file(&format!("data_batch_{i}"))).collect();
    let test = [file("test_batch")];
    let variant = CifarVariant::Cifar10;
    Ok(Splits {
        train: version.load(&train, variant, "cifar-10/train")?,
        test: version.load(&test, variant, "cifar-10/test")?,
        validation: None,
    })
}

/// CIFAR-100 from the binary version (`dir/train.bin` + `dir/test.bin`, or under
/// `dir/cifar-100-binary/`) or the Python version (`train` + `test` in `dir` or
/// `dir/cifar-100-python/`); `coarse` selects the 20 superclass labels instead of the 100 fine.
pub fn cifar100_splits(dir: &Path, coarse: bool) -> Result<Splits> {
    let (root, version) = locate(dir, &CIFAR100_LAYOUTS, "train", CIFAR100_HINT)?;
    let (variant, prefix) = if coarse {
        (CifarVariant::Cifar100Coarse, "cifar-100-coarse")
    } else {
        (CifarVariant::Cifar100Fine, "cifar-100-fine")
    };
    let file = |stem: &str| [root.join(format!("{stem}{}", version.suffix()))];
    Ok(Splits {
        train: version.load(&file("train"), variant, &format!("{prefix}/train"))?,
        test: version.load(&file("test"), variant, &format!("{prefix}/test"))?,
        validation: None,
    })
}

const CIFAR10_HINT: &str = "download the CIFAR-10 binary or python version from \
     https://www.cs.toronto.edu/~kriz/cifar.html (or let torchvision fetch it), extract it and \
     pass --data-dir";
const CIFAR100_HINT: &str = "download the CIFAR-100 binary or python version from \
     https://www.cs.toronto.edu/~kriz/cifar.html (or let torchvision fetch it), extract it and \
     pass --data-dir";

/// The two versions the CIFAR datasets are distributed in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Version {
    Binary,
    Python,
}

impl Version {
    fn suffix(self) -> &'static str {
        match self {
            Self::Binary => ".bin",
            Self::Python => "",
        }
    }

    fn load(self, paths: &[PathBuf], variant: CifarVariant, name: &str) -> Result<Dataset> {
        match self {
            Self::Binary => load_cifar_binary(paths, variant, name),
            Self::Python => load_cifar_python(paths, variant, name),
        }
    }
}

/// Where each version may be, in the order tried: `None` is the directory itself.
const CIFAR10_LAYOUTS: [(Option<&str>, Version); 4] = [
    (None, Version::Binary),
    (Some("cifar-10-batches-bin"), Version::Binary),
    (None, Version::Python),
    (Some("cifar-10-batches-py"), Version::Python),
];
const CIFAR100_LAYOUTS: [(Option<&str>, Version); 4] = [
    (None, Version::Binary),
    (Some("cifar-100-binary"), Version::Binary),
    (None, Version::Python),
    (Some("cifar-100-python"), Version::Python),
];

/// The first layout whose directory holds `probe` (with the version's suffix).
fn locate(
    dir: &Path,
    layouts: &[(Option<&str>, Version)],
    probe: &str,
    hint: &str,
) -> Result<(PathBuf, Version)> {
    let candidates: Vec<(PathBuf, Version)> = layouts
        .iter()
        .map(|&(sub, version)| {
            (
                sub.map_or_else(|| dir.to_path_buf(), |s| dir.join(s)),
                version,
            )
        })
        .collect();
    let probe_in =
        |(root, version): &(PathBuf, Version)| root.join(format!("{probe}{}", version.suffix()));
    if let Some(found) = candidates.iter().find(|c| probe_in(c).is_file()) {
        return Ok(found.clone());
    }
    let others: Vec<String> = candidates[1..]
        .iter()
        .map(|c| probe_in(c).display().to_string())
        .collect();
    Err(Error::Missing {
        path: probe_in(&candidates[0]),
        hint: format!("also looked for {}; {hint}", others.join(", ")),
    })
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
