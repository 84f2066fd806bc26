//! Fuzzing `read_json` into the surface report that `advland merge` reads as a shard: no file
//! makes it panic or allocate beyond what the file justifies, every error names the file, and
//! whatever it accepts writes back and reads again unchanged.
//!
//! Only the reader is covered here; whether an accepted shard is consistent (arrays as long as
//! the point list, a shard count above zero) is checked where shards are merged. Case counts,
//! each from a fixed seed; the whole file takes 0.4 s of CPU (2-5 s of wall time on a 2-core
//! machine busy with builds, most of it writing the files):
//!
//! | property | cases |
//! |---|---|
//! | edits of the parsed document (values, removed and unknown keys, deep nesting) | 512 |
//! | byte and token edits of the text | 512 |
//! | random bytes (half behind a `{`) | 256 |

// A test helper that unwraps fails the test, which is what it is for.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use advland_schema::{
    Axis, Cost, DataSubset, DirectionKind, DirectionsInfo, Error, IgnoreParams, Meta, Norm,
    Normalization, ObjectiveKind, PgdSettings, Precision, Report, Shard, SurfaceReport,
    SurfaceValues, read_json, write_json,
};
use proptest::prelude::*;
use proptest::test_runner::TestRunner;

#[path = "../../../tests/support/fuzz.rs"]
mod fuzz;
#[path = "../../../tests/support/fuzz_json.rs"]
mod fuzz_json;

use fuzz::{Mutation, Outcomes, config, mutate, mutations};
use fuzz_json::{edit_json, json_edits_within, json_tokens};

// serde caps what it reserves for a sequence by its size hint, so a claimed length costs
// nothing until the elements are there; this ceiling keeps it that way.
#[global_allocator]
static ALLOCATOR: cap::Cap<std::alloc::System> = cap::Cap::new(std::alloc::System, 256 << 20);

type ShardReport = Report<SurfaceReport>;

fn shard() -> ShardReport {
    let meta = Meta {
        advland_version: "0.1.0".into(),
        burn_version: "0.22.1".into(),
        command: vec![
            "advland".into(),
            "surface".into(),
            "--shard".into(),
            "1/2".into(),
        ],
        device: "cpu (flex)".into(),
        seed: 7,
        config: serde_json::json!({"grid": [3, 2], "workers": 1}),
        data: DataSubset {
            name: "fashion-mnist-bundled/test".into(),
            examples: 4,
            total: 2000,
            selection: "evenly-spaced".into(),
        },
        started_unix_s: 1_700_000_000,
        duration_s: 1.25,
        cost: Cost {
            forward: 24,
            backward: 0,
        },
        weights: Vec::new(),
        provenance: Default::default(),
    };
    let data = SurfaceReport {
        checkpoint: "runs/x/checkpoints/epoch-0003".into(),
        checkpoint_hash: "ab".repeat(32),
        epoch: 3,
        theta_norm: 12.5,
        directions: DirectionsInfo {
            kind: DirectionKind::Random,
            count: 2,
            hash: "cd".repeat(32),
            norms: vec![12.4, 12.6],
            normalization: Some(Normalization::Filter),
            ignore: Some(IgnoreParams::Biasbn),
            seed: Some(3),
            checkpoints: vec![],
            eigenvalues: vec![],
            cosine: Some(0.01),
        },
        x: Axis {
            min: -1.0,
            max: 1.0,
            points: 3,
        },
        y: Some(Axis {
            min: -0.5,
            max: 0.5,
            points: 2,
        }),
        attack: Some(PgdSettings::new(Norm::Linf, 0.1, 5)),
        precision: Precision::F32,
        bn_recompute: None,
        examples: 4,
        shard: Shard { index: 1, count: 2 },
        points: vec![1, 3, 5],
        values: vec![
            SurfaceValues {
                objective: ObjectiveKind::Clean,
                loss: vec![0.5, 0.25, 0.75],
                accuracy: vec![1.0, 0.75, 0.5],
            },
            SurfaceValues {
                objective: ObjectiveKind::Adversarial,
                loss: vec![1.5, 1.25, 2.0],
                accuracy: vec![0.25, 0.0, 0.5],
            },
        ],
    };
    Report::new("surface", meta, data)
}

fn names(err: &Error, path: &Path) -> bool {
    err.to_string().contains(&path.display().to_string())
}

/// Reads `bytes` as a shard; an accepted one must write back and read again unchanged.
fn check(
    bytes: &[u8],
    path: &Path,
    untouched: bool,
    outcomes: &Outcomes,
) -> Result<(), TestCaseError> {
    fs_err::write(path, bytes).unwrap();
    match read_json::<ShardReport>(path) {
        Ok(report) => {
            outcomes.accept();
            if untouched {
                prop_assert_eq!(&report, &shard());
            }
            // `merge` writes what it read; the writer refuses `null` (its sign of a NaN), which
            // only a free-form `meta.config` can hold after reading.
            let again = path.with_extension("again.json");
            match write_json(&again, &report) {
                Ok(()) => prop_assert_eq!(read_json::<ShardReport>(&again).unwrap(), report),
                Err(e) => prop_assert!(names(&e, &again), "{e}"),
            }
        }
        Err(e) => {
            outcomes.refuse();
            prop_assert!(!untouched, "valid shard refused: {e}");
            prop_assert!(names(&e, path), "{e}");
        }
    }
    Ok(())
}

#[test]
fn shard_reader_survives_document_edits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("surface-shard-1.json");
    let doc = serde_json::to_value(shard()).unwrap();
    let edits = json_edits_within(4, &["data", "meta"]);
    let outcomes = Outcomes::default();
    let mut runner = TestRunner::new(config(512, 21));
    runner
        .run(&edits, |edits| {
            let bytes = serde_json::to_vec_pretty(&edit_json(&doc, &edits)).unwrap();
            check(&bytes, &path, edits.is_empty(), &outcomes)
        })
        .unwrap();
    outcomes.assert_both(32);
}

#[test]
fn shard_reader_survives_text_edits() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("surface-shard-2.json");
    let text = serde_json::to_vec_pretty(&shard()).unwrap();
    let token =
        (any::<usize>(), json_tokens()).prop_map(|(at, bytes)| Mutation::Insert { at, bytes });
    let edits = prop_oneof![
        1 => proptest::collection::vec(token, 0..3),
        1 => mutations(3, 0),
    ];
    let outcomes = Outcomes::default();
    let mut runner = TestRunner::new(config(512, 22));
    runner
        .run(&edits, |edits| {
            check(&mutate(&text, &edits), &path, edits.is_empty(), &outcomes)
        })
        .unwrap();
    outcomes.assert_both(8);
}

#[test]
fn shard_reader_survives_random_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("random.json");
    let bytes = (
        any::<bool>(),
        proptest::collection::vec(any::<u8>(), 0..128),
    )
        .prop_map(|(brace, tail)| {
            if brace {
                [b"{".to_vec(), tail].concat()
            } else {
                tail
            }
        });
    let outcomes = Outcomes::default();
    let mut runner = TestRunner::new(config(256, 23));
    runner
        .run(&bytes, |bytes| check(&bytes, &path, false, &outcomes))
        .unwrap();
}

/// Nesting far past serde_json's recursion limit is refused, not a stack overflow.
#[test]
fn deeply_nested_shard_is_refused_with_the_file_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deep.json");
    let mut doc = serde_json::to_value(shard()).unwrap();
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    doc["meta"]["config"] = serde_json::Value::Null;
    let text = serde_json::to_string(&doc)
        .unwrap()
        .replace("\"config\":null", &format!("\"config\":{deep}"));
    fs_err::write(&path, text).unwrap();
    let err = read_json::<ShardReport>(&path).unwrap_err();
    assert!(names(&err, &path), "{err}");
    assert!(err.to_string().contains("recursion limit"), "{err}");
}

#[test]
fn shard_that_is_not_utf8_or_missing_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latin1.json");
    let mut bytes = serde_json::to_vec(&shard()).unwrap();
    bytes[10] = 0xe9;
    fs_err::write(&path, bytes).unwrap();
    let err = read_json::<ShardReport>(&path).unwrap_err();
    assert!(names(&err, &path), "{err}");
    let missing = dir.path().join("absent.json");
    let err = read_json::<ShardReport>(&missing).unwrap_err();
    assert!(names(&err, &missing), "{err}");
}
