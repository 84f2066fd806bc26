//! Fuzzing the pickle subset behind CIFAR's Python version: no input makes
//! `load_cifar_python` panic or allocate more than the file justifies, and every error names
//! the file.
//!
//! Inputs are the fixture batches of `tests/fixtures/cifar/` (Python 2 protocol 2, and a
//! Python 3 protocol 4 re-dump) under random edits (`tests/support/fuzz.rs`), and random
//! bytes behind a pickle header. 512 + 256 cases from fixed seeds, well under a second.

// A test helper that unwraps fails the test, which is what it is for.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use advland_data::{CifarVariant, Error, load_cifar_python};
use proptest::prelude::*;
use proptest::test_runner::TestRunner;

#[path = "../../../tests/support/fuzz.rs"]
mod fuzz;

use fuzz::{Outcomes, config, mutate, mutations};

// A reader that trusted a 4-byte length would reserve up to 4 GiB; this aborts it.
#[global_allocator]
static ALLOCATOR: cap::Cap<std::alloc::System> = cap::Cap::new(std::alloc::System, 256 << 20);

fn fixture(name: &str) -> Vec<u8> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/cifar");
    fs_err::read(dir.join(name)).unwrap()
}

fn names(err: &Error, path: &Path) -> bool {
    err.to_string().contains(&path.display().to_string())
}

fn load(path: &PathBuf) -> Result<usize, Error> {
    load_cifar_python(std::slice::from_ref(path), CifarVariant::Cifar10, "fuzz").map(|d| d.len())
}

#[test]
fn cifar_python_reader_survives_edits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("test_batch");
    let valid = [
        fixture("cifar-10-batches-py/test_batch"),
        fixture("py3/test_batch.protocol4"),
    ];
    // The structure sits in the first ~300 bytes and after the pixels; edits land anywhere,
    // so the words of the header are edited as often as the rest.
    let outcomes = Outcomes::default();
    let mut runner = TestRunner::new(config(512, 21));
    runner
        .run(&(0..2usize, mutations(3, 80)), |(which, edits)| {
            fs_err::write(&path, mutate(&valid[which], &edits)).unwrap();
            match load(&path) {
                Ok(n) => {
                    outcomes.accept();
                    if edits.is_empty() {
                        prop_assert_eq!(n, 3);
                    }
                }
                Err(e) => outcomes.refused(!edits.is_empty(), &e, &path)?,
            }
            Ok(())
        })
        .unwrap();
    outcomes.assert_both(32);
}

#[test]
fn cifar_python_reader_survives_random_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data_batch_1");
    let mut runner = TestRunner::new(config(256, 22));
    runner
        .run(&proptest::collection::vec(any::<u8>(), 0..512), |body| {
            let bytes = [&[0x80, 2][..], &body].concat();
            fs_err::write(&path, bytes).unwrap();
            if let Err(e) = load(&path) {
                prop_assert!(names(&e, &path), "{e}");
            }
            Ok(())
        })
        .unwrap();
}
