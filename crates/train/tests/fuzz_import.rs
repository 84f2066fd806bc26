//! Fuzzing the weight import (`advland_train::import`): no PyTorch or safetensors file makes
//! `read_weights` / `import_weights` panic or allocate beyond what the file justifies, every
//! error names the file, and what loads has the model's tensors.
//!
//! Inputs are the MLP fixtures of `tests/fixtures/import/` (`mlp.pt`: ZIP, `mlp_legacy.pth`:
//! legacy pickle stream; 3 KB each, so edits often reach the pickle and the headers) and the
//! CNN's safetensors file, under random edits (`tests/support/fuzz.rs`), and random bytes.
//! 384 + 128 cases from fixed seeds.

// A test helper that unwraps fails the test, which is what it is for.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use advland_schema::{ModelKind, ModelSpec};
use advland_train::import::{MatchOptions, import_weights, read_weights};
use advland_train::{Error, Model, ModelShape};
use burn::tensor::Device;
use proptest::prelude::*;
use proptest::test_runner::TestRunner;

#[path = "../../../tests/support/fuzz.rs"]
mod fuzz;

use fuzz::{Outcomes, config, mutate, mutations};

// A reader that trusted a size field (a storage of 2^40 elements) aborts the binary here.
#[global_allocator]
static ALLOCATOR: cap::Cap<std::alloc::System> = cap::Cap::new(std::alloc::System, 512 << 20);

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/import")
        .join(name)
}

fn model(kind: ModelKind) -> Model {
    let (spec, shape) = match kind {
        ModelKind::Mlp => (
            ModelSpec {
                kind,
                hidden: vec![8],
                ..ModelSpec::default()
            },
            ModelShape {
                input: [1, 4, 4],
                classes: 3,
            },
        ),
        _ => (
            ModelSpec {
                kind,
                ..ModelSpec::default()
            },
            ModelShape {
                input: [1, 12, 12],
                classes: 10,
            },
        ),
    };
    Model::build(&spec, shape, &Device::flex()).unwrap()
}

fn names(err: &Error, path: &Path) -> bool {
    err.to_string().contains(&path.display().to_string())
}

#[test]
fn import_survives_edits() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = [
        ("mlp.pt", ModelKind::Mlp),
        ("mlp_legacy.pth", ModelKind::Mlp),
        ("cnn.safetensors", ModelKind::Cnn),
    ];
    let valid: Vec<Vec<u8>> = inputs
        .iter()
        .map(|(name, _)| fs_err::read(fixture(name)).unwrap())
        .collect();
    let outcomes = Outcomes::default();
    let mut runner = TestRunner::new(config(384, 31));
    runner
        .run(&(0..inputs.len(), mutations(3, 16)), |(which, edits)| {
            let (name, kind) = inputs[which];
            let path = dir.path().join(name);
            fs_err::write(&path, mutate(&valid[which], &edits)).unwrap();
            match import_weights(model(kind), &path, &MatchOptions::default()) {
                Ok((_, matched)) => {
                    outcomes.accept();
                    prop_assert_eq!(matched.tensors.len(), if which < 2 { 4 } else { 6 });
                }
                Err(e) => outcomes.refused(!edits.is_empty(), &e, &path)?,
            }
            Ok(())
        })
        .unwrap();
    outcomes.assert_both(24);
}

#[test]
fn read_weights_survives_random_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("random.pt");
    let heads: [&[u8]; 4] = [
        b"",
        b"PK\x03\x04",
        b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19.",
        b"\x10\0\0\0\0\0\0\0{",
    ];
    let mut runner = TestRunner::new(config(128, 32));
    runner
        .run(
            &(
                0..heads.len(),
                proptest::collection::vec(any::<u8>(), 0..256),
            ),
            |(head, body)| {
                fs_err::write(&path, [heads[head], &body].concat()).unwrap();
                if let Err(e) = read_weights(&path) {
                    prop_assert!(names(&e, &path), "{e}");
                }
                Ok(())
            },
        )
        .unwrap();
}
