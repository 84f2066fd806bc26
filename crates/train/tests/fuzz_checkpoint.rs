//! Fuzzing the weights loader and the checkpoint-directory reader: no `model.safetensors` or
//! `checkpoint.json` makes them panic or allocate beyond what the files justify, every error
//! names a file, and weights are loaded only when every tensor is present, shaped, of a float
//! dtype and finite.
//!
//! Inputs derive from a checkpoint of a 23-parameter MLP written by `save_checkpoint`. Case
//! counts, each from a fixed seed; the whole file takes 0.5 s of CPU (2-7 s of wall time on a
//! 2-core machine busy with builds, most of it writing the files):
//!
//! | property | cases |
//! |---|---|
//! | `load_weights`, tensor-level edits (drop, extra, reshape, dtype, NaN/∞) with the verdict known | 384 |
//! | `load_weights`, byte edits of the file (header length, offsets, truncation) | 512 |
//! | `load_weights`, edits of the parsed header JSON, re-framed with a correct length | 384 |
//! | `load_checkpoint`, edits of `checkpoint.json` (parsed and as text) and of the weights | 384 |
//! | `load_weights` on random bytes | 128 |

// A test helper that unwraps fails the test, which is what it is for.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::Path;

use advland_schema::{ModelKind, ModelSpec, TrainSettings, write_json};
use advland_train::checkpoint::{
    CHECKPOINT_FILE, CheckpointInfo, WEIGHTS_FILE, load_checkpoint, load_weights, save_checkpoint,
};
use advland_train::params::{flatten, init_seeded, to_host};
use advland_train::{Error, Model, ModelShape};
use burn::tensor::Device;
use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use safetensors::tensor::{Dtype, TensorView};
use serde_json::Value;

#[path = "../../../tests/support/fuzz.rs"]
mod fuzz;
#[path = "../../../tests/support/fuzz_json.rs"]
mod fuzz_json;

use fuzz::{Mutation, Outcomes, config, mutate, mutations};
use fuzz_json::{edit_json, json_edits, json_edits_within, json_tokens};

// The test model holds 23 parameters and burn's CPU device needs a few megabytes; a loader
// that builds what a corrupt `checkpoint.json` describes before checking it against the
// weights (a layer of 2^32 inputs) aborts the binary here instead of swapping the machine.
#[global_allocator]
static ALLOCATOR: cap::Cap<std::alloc::System> = cap::Cap::new(std::alloc::System, 512 << 20);

fn spec() -> ModelSpec {
    ModelSpec {
        kind: ModelKind::Mlp,
        hidden: vec![3],
        ..ModelSpec::default()
    }
}

const SHAPE: ModelShape = ModelShape {
    input: [1, 2, 2],
    classes: 2,
};

fn model(seed: u64) -> Model {
    init_seeded(Model::build(&spec(), SHAPE, &Device::flex()).unwrap(), seed).unwrap()
}

fn values(model: &Model) -> Vec<f32> {
    to_host(&flatten(model))
}

fn names(err: &Error, path: &Path) -> bool {
    err.to_string().contains(&path.display().to_string())
}

/// One tensor of a weights file as the tests build it.
#[derive(Clone, Debug)]
struct Entry {
    name: String,
    dtype: Dtype,
    shape: Vec<usize>,
    /// The values the bytes encode (kept as f32 so later edits can re-encode them).
    values: Vec<f32>,
}

impl Entry {
    fn bytes(&self) -> Vec<u8> {
        let numel: usize = self.shape.iter().product();
        match self.dtype {
            Dtype::F32 => self.values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            Dtype::F64 => self
                .values
                .iter()
                .flat_map(|&v| f64::from(v).to_le_bytes())
                .collect(),
            Dtype::BF16 => self
                .values
                .iter()
                .flat_map(|v| ((v.to_bits() >> 16) as u16).to_le_bytes())
                .collect(),
            Dtype::F16 => self
                .values
                .iter()
                .flat_map(|&v| f16_bits(v).to_le_bytes())
                .collect(),
            other => vec![0x5a; numel * other.size()],
        }
    }

    fn is_float(&self) -> bool {
        matches!(
            self.dtype,
            Dtype::F32 | Dtype::F64 | Dtype::F16 | Dtype::BF16
        )
    }
}

/// f32 → IEEE half, rounding toward zero; enough for weights of magnitude <= 1 and NaN/∞.
fn f16_bits(v: f32) -> u16 {
    let sign = if v.is_sign_negative() { 0x8000 } else { 0 };
    if v.is_nan() {
        return 0x7e00;
    }
    let a = v.abs();
    if a >= 65520.0 {
        return sign | 0x7c00;
    }
    if a < 2f32.powi(-14) {
        return sign;
    }
    let bits = a.to_bits();
    let exp = ((bits >> 23) & 0xff) as i32 - 127 + 15;
    sign | ((exp as u16) << 10) | ((bits >> 13) & 0x3ff) as u16
}

fn valid_entries(model: &Model) -> Vec<Entry> {
    advland_train::params::named_tensors(model)
        .into_iter()
        .map(|(e, values)| Entry {
            name: e.name,
            dtype: Dtype::F32,
            shape: e.torch_shape,
            values,
        })
        .collect()
}

fn serialize(entries: &[Entry]) -> Vec<u8> {
    let bytes: Vec<Vec<u8>> = entries.iter().map(Entry::bytes).collect();
    let views: Vec<(String, TensorView<'_>)> = entries
        .iter()
        .zip(&bytes)
        .map(|(e, b)| {
            let view = TensorView::new(e.dtype, e.shape.clone(), b).unwrap();
            (e.name.clone(), view)
        })
        .collect();
    let metadata = HashMap::from([("format".to_owned(), "pt".to_owned())]);
    safetensors::serialize(views, &Some(metadata)).unwrap()
}

/// An edit of one tensor (index modulo the number left).
#[derive(Clone, Debug)]
enum TensorEdit {
    Drop(usize),
    Extra(String, Vec<usize>),
    Reshape(usize, Vec<usize>),
    NonFinite {
        tensor: usize,
        at: usize,
        value: f32,
    },
    Dtype(usize, Dtype),
}

fn tensor_edit() -> impl Strategy<Value = TensorEdit> {
    let dtype = proptest::sample::select(vec![
        Dtype::F32,
        Dtype::F64,
        Dtype::F16,
        Dtype::BF16,
        Dtype::F8_E4M3,
        Dtype::BOOL,
        Dtype::U8,
        Dtype::I16,
        Dtype::I32,
        Dtype::U32,
        Dtype::I64,
    ]);
    let shape = proptest::collection::vec(0usize..6, 0..4);
    let non_finite = proptest::sample::select(vec![f32::NAN, f32::INFINITY, f32::NEG_INFINITY]);
    prop_oneof![
        1 => any::<usize>().prop_map(TensorEdit::Drop),
        1 => ("[a-z]{1,6}", shape.clone())
            .prop_map(|(n, s)| TensorEdit::Extra(format!("extra.{n}"), s)),
        1 => (any::<usize>(), shape).prop_map(|(i, s)| TensorEdit::Reshape(i, s)),
        1 => (any::<usize>(), any::<usize>(), non_finite)
            .prop_map(|(tensor, at, value)| TensorEdit::NonFinite { tensor, at, value }),
        2 => (any::<usize>(), dtype).prop_map(|(i, d)| TensorEdit::Dtype(i, d)),
    ]
}

fn apply_tensor_edit(entries: &mut Vec<Entry>, edit: &TensorEdit) {
    let n = entries.len();
    match edit {
        TensorEdit::Drop(i) if n > 0 => {
            entries.remove(i % n);
        }
        TensorEdit::Extra(name, shape) if entries.iter().all(|e| &e.name != name) => {
            entries.push(Entry {
                name: name.clone(),
                dtype: Dtype::F32,
                shape: shape.clone(),
                values: vec![0.5; shape.iter().product()],
            });
        }
        TensorEdit::Reshape(i, shape) if n > 0 => {
            let e = &mut entries[i % n];
            if &e.shape != shape {
                e.values = vec![0.25; shape.iter().product()];
                e.shape = shape.clone();
            }
        }
        TensorEdit::NonFinite { tensor, at, value } if n > 0 => {
            let e = &mut entries[tensor % n];
            if !e.values.is_empty() {
                let len = e.values.len();
                e.values[at % len] = *value;
            }
        }
        TensorEdit::Dtype(i, dtype) if n > 0 => entries[i % n].dtype = *dtype,
        _ => {}
    }
}

/// Whether the strict loader must accept `entries`: the same names and shapes as the model,
/// float dtypes, finite values.
fn acceptable(entries: &[Entry], original: &[Entry]) -> bool {
    entries.len() == original.len()
        && original.iter().all(|o| {
            entries.iter().any(|e| {
                e.name == o.name
                    && e.shape == o.shape
                    && e.is_float()
                    && e.values.iter().all(|v| v.is_finite())
            })
        })
}

#[test]
fn load_weights_verdicts_on_tensor_edits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(WEIGHTS_FILE);
    let original_model = model(1);
    let original = valid_entries(&original_model);
    let expected = values(&original_model);
    let edits = proptest::collection::vec(tensor_edit(), 0..4);
    let outcomes = Outcomes::default();
    let mut runner = TestRunner::new(config(384, 11));
    runner
        .run(&edits, |edits| {
            let mut entries = original.clone();
            for edit in &edits {
                apply_tensor_edit(&mut entries, edit);
            }
            fs_err::write(&path, serialize(&entries)).unwrap();
            let must_accept = acceptable(&entries, &original);
            match load_weights(model(2), &path) {
                Ok(loaded) => {
                    outcomes.accept();
                    prop_assert!(must_accept, "accepted {entries:?}");
                    let got = values(&loaded);
                    let exact = entries
                        .iter()
                        .all(|e| matches!(e.dtype, Dtype::F32 | Dtype::F64));
                    for (a, b) in got.iter().zip(&expected) {
                        prop_assert!(a.is_finite());
                        if exact {
                            prop_assert_eq!(a, b);
                        } else {
                            prop_assert!((a - b).abs() <= 0.01 * b.abs() + 1e-4, "{a} vs {b}");
                        }
                    }
                }
                Err(e) => {
                    outcomes.refuse();
                    prop_assert!(!must_accept, "refused {entries:?}: {e}");
                    prop_assert!(names(&e, &path), "{e}");
                }
            }
            Ok(())
        })
        .unwrap();
    outcomes.assert_both(24);
}

fn loaded_or_named(
    result: advland_train::Result<Model>,
    path: &Path,
    outcomes: &Outcomes,
) -> Result<(), TestCaseError> {
    match result {
        Ok(loaded) => {
            outcomes.accept();
            prop_assert!(values(&loaded).iter().all(|v| v.is_finite()));
        }
        Err(e) => {
            outcomes.refuse();
            prop_assert!(names(&e, path), "{e}");
        }
    }
    Ok(())
}

#[test]
fn load_weights_survives_byte_edits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(WEIGHTS_FILE);
    let valid = serialize(&valid_entries(&model(1)));
    // Word edits land in the 8-byte header length and the start of the header JSON.
    let outcomes = Outcomes::default();
    let mut runner = TestRunner::new(config(512, 12));
    runner
        .run(&mutations(4, 6), |edits| {
            fs_err::write(&path, mutate(&valid, &edits)).unwrap();
            loaded_or_named(load_weights(model(2), &path), &path, &outcomes)
        })
        .unwrap();
    outcomes.assert_both(32);
}

/// The header JSON of a safetensors file and what follows it.
fn split_header(file: &[u8]) -> (Value, Vec<u8>) {
    let n = u64::from_le_bytes(file[..8].try_into().unwrap()) as usize;
    let header = serde_json::from_slice(&file[8..8 + n]).unwrap();
    (header, file[8 + n..].to_vec())
}

#[test]
fn load_weights_survives_header_edits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(WEIGHTS_FILE);
    let (header, data) = split_header(&serialize(&valid_entries(&model(1))));
    let outcomes = Outcomes::default();
    let mut runner = TestRunner::new(config(384, 13));
    runner
        .run(&json_edits(3), |edits| {
            let text = serde_json::to_vec(&edit_json(&header, &edits)).unwrap();
            let mut file = (text.len() as u64).to_le_bytes().to_vec();
            file.extend_from_slice(&text);
            file.extend_from_slice(&data);
            fs_err::write(&path, &file).unwrap();
            loaded_or_named(load_weights(model(2), &path), &path, &outcomes)
        })
        .unwrap();
    outcomes.assert_both(24);
}

fn info() -> CheckpointInfo {
    CheckpointInfo {
        model: spec(),
        shape: SHAPE,
        epoch: 3,
        settings: TrainSettings::default(),
        training: None,
    }
}

/// How a checkpoint directory is damaged.
#[derive(Clone, Debug)]
struct CheckpointCorruption {
    json: Vec<fuzz_json::JsonEdit>,
    text: Vec<Mutation>,
    weights: Vec<Mutation>,
}

fn checkpoint_corruption() -> impl Strategy<Value = CheckpointCorruption> {
    let token =
        (any::<usize>(), json_tokens()).prop_map(|(at, bytes)| Mutation::Insert { at, bytes });
    let text = prop_oneof![
        3 => Just(Vec::new()),
        1 => proptest::collection::vec(token, 1..3),
        1 => mutations(2, 0),
    ];
    let weights = prop_oneof![3 => Just(Vec::new()), 1 => mutations(2, 6)];
    let json = json_edits_within(3, &["model", "shape"]);
    (json, text, weights).prop_map(|(json, text, weights)| CheckpointCorruption {
        json,
        text,
        weights,
    })
}

#[test]
fn load_checkpoint_survives_edits() {
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("checkpoints/epoch-3");
    fs_err::create_dir_all(&ckpt).unwrap();
    let original = model(1);
    save_checkpoint(&ckpt, &original, &info(), None).unwrap();
    let (json_path, weights_path) = (ckpt.join(CHECKPOINT_FILE), ckpt.join(WEIGHTS_FILE));
    let info_doc: Value = serde_json::from_slice(&fs_err::read(&json_path).unwrap()).unwrap();
    let weights = fs_err::read(&weights_path).unwrap();
    let expected = values(&original);
    let device = Device::flex();
    let outcomes = Outcomes::default();
    let mut runner = TestRunner::new(config(384, 14));
    runner
        .run(&checkpoint_corruption(), |c| {
            let doc = serde_json::to_vec_pretty(&edit_json(&info_doc, &c.json)).unwrap();
            fs_err::write(&json_path, mutate(&doc, &c.text)).unwrap();
            fs_err::write(&weights_path, mutate(&weights, &c.weights)).unwrap();
            // The run directory, as commands name it, goes through `last_checkpoint` too.
            match load_checkpoint(dir.path(), &device) {
                Ok((loaded, _)) => {
                    outcomes.accept();
                    let got = values(&loaded);
                    prop_assert!(got.iter().all(|v| v.is_finite()));
                    if c.weights.is_empty() {
                        prop_assert_eq!(got, expected.clone());
                    }
                }
                Err(e) => {
                    outcomes.refuse();
                    let untouched = c.json.is_empty() && c.text.is_empty() && c.weights.is_empty();
                    prop_assert!(!untouched, "valid checkpoint refused: {e}");
                    prop_assert!(names(&e, &json_path) || names(&e, &weights_path), "{e}");
                }
            }
            Ok(())
        })
        .unwrap();
    outcomes.assert_both(24);
}

#[test]
fn load_weights_survives_random_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("random.safetensors");
    let bytes = proptest::collection::vec(any::<u8>(), 0..96);
    let outcomes = Outcomes::default();
    let mut runner = TestRunner::new(config(128, 15));
    runner
        .run(&bytes, |bytes| {
            fs_err::write(&path, &bytes).unwrap();
            loaded_or_named(load_weights(model(2), &path), &path, &outcomes)
        })
        .unwrap();
}

#[test]
fn checkpoint_json_written_by_save_checkpoint_is_what_the_suite_edits() {
    // Guards the suite itself: the edits start from a document `load_checkpoint` accepts.
    let dir = tempfile::tempdir().unwrap();
    write_json(&dir.path().join(CHECKPOINT_FILE), &info()).unwrap();
    advland_train::checkpoint::save_weights(&model(1), &dir.path().join(WEIGHTS_FILE)).unwrap();
    let (loaded, read) = load_checkpoint(dir.path(), &Device::flex()).unwrap();
    assert_eq!(read, info());
    assert_eq!(values(&loaded), values(&model(1)));
}
