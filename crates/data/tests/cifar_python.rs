//! CIFAR's Python version (torchvision's download) against the binary version of the same
//! images: `tests/fixtures/cifar/`, written by `bench/make_cifar_fixtures.py`.

// A test helper that unwraps fails the test, which is what it is for.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use advland_data::{
    CifarVariant, Dataset, Error, cifar10_splits, cifar100_splits, load_cifar_python,
};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/cifar")
}

fn assert_same(a: &Dataset, b: &Dataset) {
    assert_eq!(a.name, b.name);
    assert_eq!(a.shape, b.shape);
    assert_eq!(a.labels, b.labels, "{}", a.name);
    assert_eq!(a.images, b.images, "{}", a.name);
    assert_eq!(a.class_names, b.class_names);
}

#[test]
fn cifar10_python_version_equals_the_binary_version() {
    let python = cifar10_splits(&fixtures().join("cifar-10-batches-py")).unwrap();
    let binary = cifar10_splits(&fixtures().join("cifar-10-batches-bin")).unwrap();
    assert_eq!((python.train.len(), python.test.len()), (15, 3));
    assert_same(&python.train, &binary.train);
    assert_same(&python.test, &binary.test);
    assert!(python.train.images.iter().any(|&p| p > 0.5));
}

#[test]
fn cifar100_python_version_equals_the_binary_version() {
    for coarse in [false, true] {
        let python = cifar100_splits(&fixtures().join("cifar-100-python"), coarse).unwrap();
        let binary = cifar100_splits(&fixtures().join("cifar-100-binary"), coarse).unwrap();
        assert_eq!((python.train.len(), python.test.len()), (4, 3));
        assert_eq!(python.train.num_classes, if coarse { 20 } else { 100 });
        assert_same(&python.train, &binary.train);
        assert_same(&python.test, &binary.test);
    }
}

#[test]
fn python3_redumps_read_like_the_original() {
    let original = [fixtures().join("cifar-10-batches-py/test_batch")];
    let want = load_cifar_python(&original, CifarVariant::Cifar10, "t").unwrap();
    for protocol in [2, 4] {
        let path = fixtures().join(format!("py3/test_batch.protocol{protocol}"));
        let got = load_cifar_python(&[path], CifarVariant::Cifar10, "t").unwrap();
        assert_same(&got, &want);
    }
}

#[test]
fn python_version_is_found_under_its_torchvision_directory() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("cifar-10-batches-py");
    fs_err::create_dir(&nested).unwrap();
    for entry in fs_err::read_dir(fixtures().join("cifar-10-batches-py")).unwrap() {
        let entry = entry.unwrap();
        fs_err::copy(entry.path(), nested.join(entry.file_name())).unwrap();
    }
    let splits = cifar10_splits(dir.path()).unwrap();
    assert_eq!(splits.train.len(), 15);
}

#[test]
fn neither_version_names_every_place_looked() {
    let dir = tempfile::tempdir().unwrap();
    let message = cifar100_splits(dir.path(), false).unwrap_err().to_string();
    for place in [
        "train.bin",
        "cifar-100-binary/train.bin",
        "cifar-100-python/train",
        "binary or python version",
    ] {
        assert!(message.contains(place), "{place} not in {message}");
    }
    let message = cifar10_splits(dir.path()).unwrap_err().to_string();
    assert!(
        message.contains("cifar-10-batches-py/data_batch_1"),
        "{message}"
    );
}

/// A pickle: PROTO 2, the body, STOP.
fn pickle(body: &[u8]) -> Vec<u8> {
    [&[0x80, 2][..], body, b"."].concat()
}

fn refusal(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data_batch_1");
    fs_err::write(&path, bytes).unwrap();
    let err =
        load_cifar_python(std::slice::from_ref(&path), CifarVariant::Cifar10, "t").unwrap_err();
    let message = err.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    message
}

#[test]
fn code_and_unknown_opcodes_are_refused_by_name() {
    let message = refusal(&pickle(b"cos\nsystem\nU\x02lsR"));
    assert!(
        message.contains("refusing the global os.system"),
        "{message}"
    );
    let message = refusal(&pickle(b"S'abc'\n"));
    assert!(
        message.contains("opcode 0x53 (STRING) is outside the subset"),
        "{message}"
    );
    let message = refusal(&pickle(b"}U\x04dataK\x01s"));
    assert!(
        message.contains("`data` is an int, expected a uint8 numpy array"),
        "{message}"
    );
    let message = refusal(&pickle(b"]"));
    assert!(
        message.contains("holds a list, not a CIFAR batch dict"),
        "{message}"
    );
}

#[test]
fn lengths_beyond_the_file_are_refused_before_allocating() {
    let message = refusal(&pickle(b"T\xff\xff\xff\x7fabc"));
    assert!(
        message.contains("a byte string needs 2147483647 bytes, the file has"),
        "{message}"
    );
    let original = fs_err::read(fixtures().join("cifar-10-batches-py/test_batch")).unwrap();
    let message = refusal(&original[..original.len() / 2]);
    assert!(message.contains("needs"), "{message}");
}

#[test]
fn labels_out_of_range_are_refused() {
    let original = fs_err::read(fixtures().join("cifar-10-batches-py/test_batch")).unwrap();
    // The label list is `labels` ] q <memo> ( K a K b K c e: set the first label to 10.
    let at = original.windows(6).position(|w| w == b"labels").unwrap();
    let list = at + original[at..].iter().position(|&b| b == b']').unwrap();
    let first = list + original[list..].iter().position(|&b| b == b'K').unwrap() + 1;
    let mut edited = original.clone();
    edited[first] = 10;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("test_batch");
    fs_err::write(&path, &edited).unwrap();
    let err = load_cifar_python(&[path], CifarVariant::Cifar10, "t").unwrap_err();
    assert!(
        matches!(
            err,
            Error::LabelOutOfRange {
                index: 0,
                label: 10,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn shared_references_that_could_grow_are_refused() {
    // A list fetched again from the memo could have been filled since it was stored.
    let message = refusal(&pickle(b"]q\x01h\x01\x86"));
    assert!(
        message.contains("a second reference to a list"),
        "{message}"
    );
    // Tuples of tuples fetched again and again would grow exponentially.
    let message = refusal(&pickle(b"K\x01K\x02\x86q\x01h\x01h\x01\x86q\x02h\x02"));
    assert!(
        message.contains("a second reference to a tuple"),
        "{message}"
    );
}
