//! The Fashion-MNIST subset embedded in the binary, and how it is made.
//!
//! The bundle lets every command run with no data installed: 800 examples per class from the
//! official train split and 200 per class from the official test split, chosen by
//! [`stratified_evenly`] and stored as gzip IDX files under `assets/fashion-mnist-subset/`.

use std::fs;
use std::path::Path;

use crate::classes::{FASHION_MNIST_CLASSES, class_names};
use crate::dataset::{Dataset, Splits, evenly_spaced};
use crate::error::{Error, Result};
use crate::fashion::IDX_FILE_NAMES;
use crate::idx::{dataset_from_idx_bytes, write_idx_images_gz, write_idx_labels_gz};

/// Examples per class in the bundled train split.
pub const BUNDLE_TRAIN_PER_CLASS: usize = 800;
/// Examples per class in the bundled test split.
pub const BUNDLE_TEST_PER_CLASS: usize = 200;

macro_rules! asset {
    ($file:literal) => {
        (
            include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/assets/fashion-mnist-subset/",
                $file
            )),
            concat!("<bundled>/assets/fashion-mnist-subset/", $file),
        )
    };
}

const TRAIN_IMAGES: (&[u8], &str) = asset!("train-images-idx3-ubyte.gz");
const TRAIN_LABELS: (&[u8], &str) = asset!("train-labels-idx1-ubyte.gz");
const TEST_IMAGES: (&[u8], &str) = asset!("t10k-images-idx3-ubyte.gz");
const TEST_LABELS: (&[u8], &str) = asset!("t10k-labels-idx1-ubyte.gz");

/// The bundled subset (8,000 train / 2,000 test), parsed from bytes embedded at compile time.
///
/// No file system access; validated by the same parser as [`crate::load_idx_dataset`]. Error
/// messages name the embedded file as `<bundled>/assets/fashion-mnist-subset/...`.
pub fn fashion_mnist_bundled() -> Result<Splits> {
    let load = |images: (&[u8], &str), labels: (&[u8], &str), name: &str| {
        dataset_from_idx_bytes(
            images.0,
            Path::new(images.1),
            labels.0,
            Path::new(labels.1),
            name,
            class_names(&FASHION_MNIST_CLASSES),
        )
    };
    Ok(Splits {
        train: load(TRAIN_IMAGES, TRAIN_LABELS, "fashion-mnist-bundled/train")?,
        test: load(TEST_IMAGES, TEST_LABELS, "fashion-mnist-bundled/test")?,
        validation: None,
    })
}

/// Deterministic, stratified selection: from each class take `per_class` examples evenly
/// spaced among that class's indices (`(j * count_c) / per_class` for `j in 0..per_class`),
/// then order all chosen indices ascending.
///
/// Errors if `per_class == 0` or some class has fewer than `per_class` examples.
pub fn stratified_evenly(ds: &Dataset, per_class: usize) -> Result<Vec<usize>> {
    if per_class == 0 {
        return Err(Error::invalid(
            &ds.name,
            "stratified selection needs per_class >= 1",
        ));
    }
    let mut by_class = vec![Vec::new(); ds.num_classes];
    for (i, &label) in ds.labels.iter().enumerate() {
        by_class[usize::from(label)].push(i);
    }
    let mut chosen = Vec::with_capacity(per_class * ds.num_classes);
    for (class, members) in by_class.iter().enumerate() {
        if members.len() < per_class {
            return Err(Error::invalid(
                &ds.name,
                format!(
                    "class {class} has {} examples, fewer than the {per_class} requested",
                    members.len()
                ),
            ));
        }
        chosen.extend(
            evenly_spaced(members.len(), per_class)
                .into_iter()
                .map(|j| members[j]),
        );
    }
    chosen.sort_unstable();
    Ok(chosen)
}

/// Writes the four bundle files (gzip IDX, standard names) into `out_dir`: `train_per_class`
/// examples per class of `full.train` and `test_per_class` of `full.test`, chosen by
/// [`stratified_evenly`]. The bundle proper uses 800 and 200.
///
/// Output is byte-identical on regeneration (fixed gzip level, no timestamp).
pub fn make_fashion_mnist_bundle(
    full: &Splits,
    out_dir: &Path,
    train_per_class: usize,
    test_per_class: usize,
) -> Result<()> {
    fs::create_dir_all(out_dir)
        .map_err(|error| Error::io(out_dir, "cannot create directory", error))?;
    let [train_images, train_labels, test_images, test_labels] = IDX_FILE_NAMES;
    for (ds, per_class, images, labels) in [
        (&full.train, train_per_class, train_images, train_labels),
        (&full.test, test_per_class, test_images, test_labels),
    ] {
        let subset = ds.select(&stratified_evenly(ds, per_class)?);
        let pixels = to_u8_pixels(&subset)?;
        let [_, h, w] = subset.shape;
        let path = out_dir.join(format!("{images}.gz"));
        write_idx_images_gz(&path, &pixels, subset.len(), h, w)?;
        write_idx_labels_gz(&out_dir.join(format!("{labels}.gz")), &subset.labels)?;
    }
    Ok(())
}

/// Inverts the `p / 255` scaling exactly; refuses data that did not come from 8-bit pixels,
/// since writing it to IDX would silently change it.
fn to_u8_pixels(ds: &Dataset) -> Result<Vec<u8>> {
    if ds.shape[0] != 1 {
        return Err(Error::invalid(
            &ds.name,
            format!("IDX images need 1 channel, shape is {:?}", ds.shape),
        ));
    }
    ds.images
        .iter()
        .map(|&x| {
            let scaled = (x * 255.0).round();
            let exact = (0.0..=255.0).contains(&scaled) && f32::from(scaled as u8) / 255.0 == x;
            if exact {
                Ok(scaled as u8)
            } else {
                Err(Error::invalid(
                    &ds.name,
                    format!("pixel value {x} is not an 8-bit value / 255"),
                ))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::tests::toy;

    #[test]
    fn fashion_mnist_bundled_has_expected_counts() {
        let s = fashion_mnist_bundled().unwrap();
        assert_eq!((s.train.len(), s.test.len()), (8000, 2000));
        assert_eq!(s.train.class_counts(), vec![BUNDLE_TRAIN_PER_CLASS; 10]);
        assert_eq!(s.test.class_counts(), vec![BUNDLE_TEST_PER_CLASS; 10]);
        assert_eq!(s.train.shape, [1, 28, 28]);
        assert_eq!(s.train.name, "fashion-mnist-bundled/train");
        assert_eq!(s.test.class_names[0], "T-shirt/top");
        for ds in [&s.train, &s.test] {
            assert!(ds.images.iter().all(|p| (0.0..=1.0).contains(p)));
            assert!(ds.images.contains(&1.0) && ds.images.contains(&0.0));
        }
    }

    #[test]
    fn stratified_evenly_takes_per_class_from_each_class() {
        let ds = toy(30, 3);
        let idx = stratified_evenly(&ds, 4).unwrap();
        assert_eq!(ds.select(&idx).class_counts(), vec![4, 4, 4]);
        assert!(idx.windows(2).all(|w| w[0] < w[1]));
        // Class 1 holds 1, 4, ..., 28; positions (j * 10) / 4 = 0, 2, 5, 7.
        let class1: Vec<usize> = idx.iter().copied().filter(|i| i % 3 == 1).collect();
        assert_eq!(class1, vec![1, 7, 16, 22]);
    }

    #[test]
    fn stratified_evenly_rejects_too_few_or_zero() {
        let ds = toy(30, 3);
        let msg = stratified_evenly(&ds, 11).unwrap_err().to_string();
        assert!(
            msg.contains("toy") && msg.contains("fewer than the 11"),
            "{msg}"
        );
        assert!(stratified_evenly(&ds, 0).is_err());
    }

    #[test]
    fn make_bundle_roundtrips_and_is_reproducible() {
        let names = class_names(&FASHION_MNIST_CLASSES);
        let pixels: Vec<u8> = (0..40 * 4).map(|v| (v * 7 % 256) as u8).collect();
        let labels: Vec<u8> = (0..40).map(|i| (i % 10) as u8).collect();
        let ds = Dataset::from_u8("f/train", &pixels, labels, [1, 2, 2], names).unwrap();
        let full = Splits {
            train: ds.clone(),
            test: ds,
            validation: None,
        };
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        make_fashion_mnist_bundle(&full, &a, 3, 1).unwrap();
        make_fashion_mnist_bundle(&full, &b, 3, 1).unwrap();
        for base in IDX_FILE_NAMES {
            let file = format!("{base}.gz");
            assert_eq!(
                fs::read(a.join(&file)).unwrap(),
                fs::read(b.join(&file)).unwrap()
            );
        }
        let back = crate::fashion::fashion_mnist_full(&a).unwrap();
        assert_eq!((back.train.len(), back.test.len()), (30, 10));
        let expected = full
            .train
            .select(&stratified_evenly(&full.train, 3).unwrap());
        assert_eq!(back.train.images, expected.images);
        assert_eq!(back.train.labels, expected.labels);
    }

    #[test]
    fn u8_scaling_inverts_exactly() {
        let all: Vec<u8> = (0..=255).collect();
        let ds = Dataset::from_u8("d", &all, vec![0], [1, 16, 16], vec!["x".into()]).unwrap();
        assert_eq!(to_u8_pixels(&ds).unwrap(), all);
        let mut bad = ds;
        bad.images[3] = 0.5;
        assert!(to_u8_pixels(&bad).is_err());
    }
}
