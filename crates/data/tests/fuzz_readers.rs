//! Fuzzing the IDX and CIFAR readers: no input makes them panic or allocate more than the file
//! justifies, and every error names the file it is about.
//!
//! Inputs are valid small files (IDX images 3x4x5 and labels, CIFAR-10 and CIFAR-100 records)
//! under random edits (`tests/support/fuzz.rs`), optionally gzipped before or after the edits,
//! and plain random bytes. Case counts, each from a fixed seed; the whole file takes 0.5 s of CPU
//! (2-4 s of wall time on a 2-core machine busy with builds, most of it writing the files):
//!
//! | property | cases |
//! |---|---|
//! | `parse_idx_images` / `parse_idx_labels` on edited files | 1024 + 512 |
//! | IDX parsers on random bytes (half behind an IDX or gzip magic) | 512 |
//! | `load_idx_dataset` on an edited images or labels file | 256 |
//! | `fashion_mnist_full` on a directory with one edited file | 96 |
//! | `load_cifar_binary` (the three variants) on edited files | 384 |
//! | `cifar10_splits` / `cifar100_splits` with one edited file | 64 + 64 |

// A test helper that unwraps fails the test, which is what it is for.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::{Path, PathBuf};

use advland_data::{
    CifarVariant, Error, FASHION_MNIST_CLASSES, cifar10_splits, cifar100_splits,
    fashion_mnist_full, load_cifar_binary, load_idx_dataset, parse_idx_images, parse_idx_labels,
    read_idx_images, read_idx_labels,
};
use flate2::Compression;
use flate2::write::GzEncoder;
use proptest::prelude::*;
use proptest::test_runner::TestRunner;

#[path = "../../../tests/support/fuzz.rs"]
mod fuzz;

use fuzz::{Mutation, Outcomes, config, mutate, mutations};

// Far above anything these small inputs legitimately need, far below what a reader that
// trusted a header (2^31 images) would reserve: such a reader aborts the test binary.
#[global_allocator]
static ALLOCATOR: cap::Cap<std::alloc::System> = cap::Cap::new(std::alloc::System, 256 << 20);

const IDX_IMAGES_MAGIC: u32 = 0x0000_0803;
const IDX_LABELS_MAGIC: u32 = 0x0000_0801;
const N: u32 = 3;
const H: u32 = 4;
const W: u32 = 5;
const CIFAR_PIXELS: usize = 3 * 32 * 32;

fn idx(magic: u32, dims: &[u32], body: &[u8]) -> Vec<u8> {
    let mut v = magic.to_be_bytes().to_vec();
    for d in dims {
        v.extend_from_slice(&d.to_be_bytes());
    }
    v.extend_from_slice(body);
    v
}

fn valid_images() -> Vec<u8> {
    let body: Vec<u8> = (0..N * H * W).map(|v| (v * 7) as u8).collect();
    idx(IDX_IMAGES_MAGIC, &[N, H, W], &body)
}

fn valid_labels() -> Vec<u8> {
    idx(IDX_LABELS_MAGIC, &[N], &[0, 9, 4])
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// Edits before and after an optional gzip: the first reach the format checks through the
/// decoder, the second corrupt the gzip stream itself.
#[derive(Clone, Debug)]
struct Corruption {
    before: Vec<Mutation>,
    gzip: bool,
    after: Vec<Mutation>,
}

impl Corruption {
    fn apply(&self, valid: &[u8]) -> Vec<u8> {
        let bytes = mutate(valid, &self.before);
        let bytes = if self.gzip { gzip(&bytes) } else { bytes };
        mutate(&bytes, &self.after)
    }

    fn is_identity(&self) -> bool {
        self.before.is_empty() && self.after.is_empty()
    }
}

fn corruption(header_words: usize) -> impl Strategy<Value = Corruption> {
    (
        mutations(4, header_words),
        any::<bool>(),
        prop_oneof![3 => Just(Vec::new()), 1 => mutations(2, 4)],
    )
        .prop_map(|(before, gzip, after)| Corruption {
            before,
            gzip,
            after,
        })
}

/// An `Err` must name `path`; checked on the message, which is what a user sees.
fn names(err: &Error, path: &Path) -> bool {
    err.to_string().contains(&path.display().to_string())
}

#[test]
fn idx_images_parser_survives_edits() {
    let origin = Path::new("/fuzz/train-images-idx3-ubyte");
    let valid = valid_images();
    let outcomes = Outcomes::default();
    let mut runner = TestRunner::new(config(1024, 1));
    runner
        .run(&corruption(4), |c| {
            let bytes = c.apply(&valid);
            match parse_idx_images(&bytes, origin) {
                Ok((pixels, [n, h, w])) => {
                    outcomes.accept();
                    prop_assert!(h > 0 && w > 0);
                    prop_assert_eq!(pixels.len(), n * h * w);
                    if c.is_identity() {
                        prop_assert_eq!(&pixels[..], &valid[16..]);
                        prop_assert_eq!([n, h, w], [3, 4, 5]);
                    }
                }
                Err(e) => {
                    outcomes.refuse();
                    prop_assert!(!c.is_identity(), "valid file refused: {e}");
                    prop_assert!(names(&e, origin), "{e}");
                }
            }
            Ok(())
        })
        .unwrap();
    outcomes.assert_both(64);
}

#[test]
fn idx_labels_parser_survives_edits() {
    let origin = Path::new("/fuzz/t10k-labels-idx1-ubyte.gz");
    let valid = valid_labels();
    let outcomes = Outcomes::default();
    let mut runner = TestRunner::new(config(512, 2));
    runner
        .run(&corruption(2), |c| {
            let bytes = c.apply(&valid);
            match parse_idx_labels(&bytes, origin) {
                Ok(labels) => {
                    outcomes.accept();
                    if c.is_identity() {
                        prop_assert_eq!(labels, vec![0, 9, 4]);
                    }
                }
                Err(e) => {
                    outcomes.refuse();
                    prop_assert!(!c.is_identity(), "valid file refused: {e}");
                    prop_assert!(names(&e, origin), "{e}");
                }
            }
            Ok(())
        })
        .unwrap();
    outcomes.assert_both(32);
}

#[test]
fn idx_parsers_survive_random_bytes() {
    let origin = Path::new("/fuzz/random.idx");
    let prefix = prop_oneof![
        Just(Vec::new()),
        Just(IDX_IMAGES_MAGIC.to_be_bytes().to_vec()),
        Just(IDX_LABELS_MAGIC.to_be_bytes().to_vec()),
        Just(vec![0x1f, 0x8b]),
        Just(vec![0x1f, 0x8b, 8, 0]),
    ];
    let bytes = (prefix, proptest::collection::vec(any::<u8>(), 0..64))
        .prop_map(|(prefix, tail)| [prefix, tail].concat());
    let mut runner = TestRunner::new(config(512, 3));
    runner
        .run(&bytes, |bytes| {
            if let Err(e) = parse_idx_images(&bytes, origin) {
                prop_assert!(names(&e, origin), "{e}");
            }
            if let Err(e) = parse_idx_labels(&bytes, origin) {
                prop_assert!(names(&e, origin), "{e}");
            }
            Ok(())
        })
        .unwrap();
}

/// Which of a pair of files an edit goes to.
fn which() -> impl Strategy<Value = (bool, bool)> {
    prop_oneof![Just((true, false)), Just((false, true)), Just((true, true))]
}

#[test]
fn idx_dataset_loader_survives_edits() {
    let dir = tempfile::tempdir().unwrap();
    let (images, labels) = (dir.path().join("images.idx"), dir.path().join("labels.idx"));
    let (valid_images, valid_labels) = (valid_images(), valid_labels());
    let classes: Vec<String> = FASHION_MNIST_CLASSES.iter().map(|&s| s.into()).collect();
    let outcomes = Outcomes::default();
    let mut runner = TestRunner::new(config(256, 4));
    runner
        .run(
            &(corruption(4), which()),
            |(c, (edit_images, edit_labels))| {
                let image_bytes = if edit_images {
                    c.apply(&valid_images)
                } else {
                    valid_images.clone()
                };
                let label_bytes = if edit_labels {
                    c.apply(&valid_labels)
                } else {
                    valid_labels.clone()
                };
                fs_err::write(&images, &image_bytes).unwrap();
                fs_err::write(&labels, &label_bytes).unwrap();
                match load_idx_dataset(&images, &labels, "fuzz", classes.clone()) {
                    Ok(ds) => {
                        outcomes.accept();
                        prop_assert!(!ds.is_empty());
                        prop_assert_eq!(ds.images.len(), ds.len() * ds.image_len());
                        prop_assert!(ds.labels.iter().all(|&l| usize::from(l) < 10));
                        prop_assert!(ds.images.iter().all(|p| (0.0..=1.0).contains(p)));
                    }
                    Err(e) => {
                        outcomes.refuse();
                        prop_assert!(!c.is_identity(), "valid files refused: {e}");
                        let blamed = (edit_images && names(&e, &images))
                            || (edit_labels && names(&e, &labels));
                        prop_assert!(blamed, "{e}");
                    }
                }
                Ok(())
            },
        )
        .unwrap();
    outcomes.assert_both(16);
}

#[test]
fn fashion_mnist_directory_survives_one_edited_file() {
    let dir = tempfile::tempdir().unwrap();
    let names_in_dir = [
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte",
        "t10k-labels-idx1-ubyte",
    ];
    let valid = [
        valid_images(),
        valid_labels(),
        valid_images(),
        valid_labels(),
    ];
    let outcomes = Outcomes::default();
    let mut runner = TestRunner::new(config(96, 5));
    runner
        .run(&(corruption(4), 0..4usize), |(c, target)| {
            for (i, (name, bytes)) in names_in_dir.iter().zip(&valid).enumerate() {
                let bytes = if i == target {
                    c.apply(bytes)
                } else {
                    bytes.clone()
                };
                fs_err::write(dir.path().join(name), bytes).unwrap();
            }
            match fashion_mnist_full(dir.path()) {
                Ok(splits) => {
                    outcomes.accept();
                    prop_assert!(!splits.train.is_empty() && !splits.test.is_empty());
                    prop_assert_eq!(splits.train.num_classes, 10);
                }
                Err(e) => {
                    outcomes.refuse();
                    prop_assert!(!c.is_identity(), "valid files refused: {e}");
                    prop_assert!(names(&e, &dir.path().join(names_in_dir[target])), "{e}");
                }
            }
            Ok(())
        })
        .unwrap();
    outcomes.assert_both(8);
}

fn cifar_record(labels: &[u8], fill: u8) -> Vec<u8> {
    let mut r = labels.to_vec();
    r.extend((0..CIFAR_PIXELS).map(|i| fill.wrapping_add(i as u8)));
    r
}

fn valid_cifar(variant: CifarVariant) -> Vec<u8> {
    match variant {
        CifarVariant::Cifar10 => [cifar_record(&[3], 0), cifar_record(&[9], 100)].concat(),
        _ => [cifar_record(&[19, 99], 0), cifar_record(&[0, 5], 50)].concat(),
    }
}

fn variant() -> impl Strategy<Value = CifarVariant> {
    prop_oneof![
        Just(CifarVariant::Cifar10),
        Just(CifarVariant::Cifar100Fine),
        Just(CifarVariant::Cifar100Coarse),
    ]
}

#[test]
fn cifar_reader_survives_edits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data_batch_1.bin");
    let outcomes = Outcomes::default();
    let mut runner = TestRunner::new(config(384, 6));
    runner
        .run(&(variant(), corruption(2)), |(variant, c)| {
            fs_err::write(&path, c.apply(&valid_cifar(variant))).unwrap();
            match load_cifar_binary(std::slice::from_ref(&path), variant, "fuzz") {
                Ok(ds) => {
                    outcomes.accept();
                    prop_assert!(!ds.is_empty());
                    prop_assert_eq!(ds.images.len(), ds.len() * CIFAR_PIXELS);
                    prop_assert!(ds.labels.iter().all(|&l| usize::from(l) < ds.num_classes));
                    if c.is_identity() {
                        prop_assert_eq!(ds.len(), 2);
                    }
                }
                Err(e) => {
                    outcomes.refuse();
                    prop_assert!(!c.is_identity(), "valid file refused: {e}");
                    prop_assert!(names(&e, &path), "{e}");
                }
            }
            Ok(())
        })
        .unwrap();
    outcomes.assert_both(24);
}

fn write_all(files: &[(PathBuf, Vec<u8>)]) {
    for (path, bytes) in files {
        fs_err::write(path, bytes).unwrap();
    }
}

#[test]
fn cifar10_directory_survives_one_edited_file() {
    let dir = tempfile::tempdir().unwrap();
    let valid = valid_cifar(CifarVariant::Cifar10);
    let paths: Vec<PathBuf> = (1..=5)
        .map(|i| format!("data_batch_{i}.bin"))
        .chain(["test_batch.bin".to_owned()])
        .map(|name| dir.path().join(name))
        .collect();
    let outcomes = Outcomes::default();
    let mut runner = TestRunner::new(config(64, 7));
    runner
        .run(&(corruption(2), 0..6usize), |(c, target)| {
            let files: Vec<(PathBuf, Vec<u8>)> = paths
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let bytes = if i == target {
                        c.apply(&valid)
                    } else {
                        valid.clone()
                    };
                    (p.clone(), bytes)
                })
                .collect();
            write_all(&files);
            match cifar10_splits(dir.path()) {
                Ok(splits) => {
                    outcomes.accept();
                    prop_assert_eq!(splits.train.num_classes, 10);
                }
                Err(e) => {
                    outcomes.refuse();
                    prop_assert!(!c.is_identity(), "valid files refused: {e}");
                    prop_assert!(names(&e, &paths[target]), "{e}");
                }
            }
            Ok(())
        })
        .unwrap();
    outcomes.assert_both(8);
}

#[test]
fn cifar100_directory_survives_one_edited_file() {
    let dir = tempfile::tempdir().unwrap();
    let valid = valid_cifar(CifarVariant::Cifar100Fine);
    let paths = [dir.path().join("train.bin"), dir.path().join("test.bin")];
    let outcomes = Outcomes::default();
    let mut runner = TestRunner::new(config(64, 8));
    runner
        .run(
            &(corruption(2), 0..2usize, any::<bool>()),
            |(c, target, coarse)| {
                let mut files: Vec<(PathBuf, Vec<u8>)> =
                    paths.iter().map(|p| (p.clone(), valid.clone())).collect();
                files[target].1 = c.apply(&valid);
                write_all(&files);
                match cifar100_splits(dir.path(), coarse) {
                    Ok(splits) => {
                        outcomes.accept();
                        prop_assert_eq!(splits.test.num_classes, if coarse { 20 } else { 100 });
                    }
                    Err(e) => {
                        outcomes.refuse();
                        prop_assert!(!c.is_identity(), "valid files refused: {e}");
                        prop_assert!(names(&e, &paths[target]), "{e}");
                    }
                }
                Ok(())
            },
        )
        .unwrap();
    outcomes.assert_both(8);
}

/// A header claiming 2^31 images (or labels) over a tiny body is refused by comparing with the
/// bytes actually there, before anything is reserved for them (the capped allocator would
/// abort the binary otherwise); raw or gzip, from memory or from a file.
#[test]
fn idx_header_claiming_2_pow_31_examples_is_refused_before_allocating() {
    let dir = tempfile::tempdir().unwrap();
    let huge = 1u32 << 31;
    let cases = [
        (
            "images",
            idx(IDX_IMAGES_MAGIC, &[huge, 28, 28], &[0; 784]),
            huge as u64 * 784,
        ),
        (
            "images-max",
            idx(IDX_IMAGES_MAGIC, &[huge, u32::MAX, u32::MAX], &[0; 8]),
            0,
        ),
        (
            "labels",
            idx(IDX_LABELS_MAGIC, &[huge], &[1; 8]),
            huge as u64,
        ),
    ];
    for (name, raw, declared) in cases {
        for bytes in [raw.clone(), gzip(&raw)] {
            let path = dir.path().join(name);
            fs_err::write(&path, &bytes).unwrap();
            let err = if name.starts_with("images") {
                read_idx_images(&path).unwrap_err()
            } else {
                read_idx_labels(&path).unwrap_err()
            };
            assert!(names(&err, &path), "{err}");
            if declared > 0 {
                assert!(
                    matches!(err, Error::Truncated { expected, .. } if expected == declared),
                    "{err}"
                );
            } else {
                assert!(err.to_string().contains("overflow"), "{err}");
            }
        }
    }
}

#[test]
fn cifar_gzip_of_garbage_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("test_batch.bin");
    let mut bytes = gzip(&valid_cifar(CifarVariant::Cifar10));
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    fs_err::write(&path, &bytes).unwrap();
    let err =
        load_cifar_binary(std::slice::from_ref(&path), CifarVariant::Cifar10, "c").unwrap_err();
    assert!(names(&err, &path), "{err}");
}
