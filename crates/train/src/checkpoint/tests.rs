//! Checkpoints: round trips, strict loading, the last checkpoint of a run, resume state.

use super::weights::half_to_f32;
use super::*;
use crate::params::{flatten, init_seeded, named_tensors, to_host};
use advland_schema::ModelKind;
use safetensors::tensor::{Dtype, TensorView};

/// θ's tensors (from [`named_tensors`]) as name, PyTorch shape and little-endian f32 bytes.
pub(crate) fn raw_f32(
    tensors: Vec<(crate::params::ParamEntry, Vec<f32>)>,
) -> Vec<(String, Vec<usize>, Vec<u8>)> {
    tensors
        .into_iter()
        .map(|(e, v)| {
            let bytes = v.iter().flat_map(|x| x.to_le_bytes()).collect();
            (e.name, e.torch_shape, bytes)
        })
        .collect()
}

/// Writes `raw` as a safetensors file, tensor i declared as `dtype(i)`.
pub(crate) fn write_raw(
    path: &Path,
    raw: &[(String, Vec<usize>, Vec<u8>)],
    dtype: impl Fn(usize) -> Dtype,
) {
    let views = raw
        .iter()
        .enumerate()
        .map(|(i, (n, s, b))| (n.clone(), TensorView::new(dtype(i), s.clone(), b).unwrap()));
    std::fs::write(path, safetensors::serialize(views, &None).unwrap()).unwrap();
}

fn cnn(seed: u64) -> Model {
    let spec = ModelSpec {
        kind: ModelKind::Cnn,
        hidden: vec![],
        ..ModelSpec::default()
    };
    let shape = ModelShape {
        input: [1, 12, 12],
        classes: 4,
    };
    init_seeded(Model::build(&spec, shape, &Device::flex()).unwrap(), seed).unwrap()
}

/// The description of [`cnn`]'s model after `epoch` epochs, without training state.
fn cnn_info(epoch: usize) -> CheckpointInfo {
    CheckpointInfo {
        model: ModelSpec {
            kind: ModelKind::Cnn,
            ..ModelSpec::default()
        },
        shape: ModelShape {
            input: [1, 12, 12],
            classes: 4,
        },
        epoch,
        settings: TrainSettings::default(),
        training: None,
    }
}

#[test]
fn weights_round_trip_through_safetensors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.safetensors");
    let a = cnn(1);
    save_weights(&a, &path).unwrap();
    let b = load_weights(cnn(2), &path).unwrap();
    assert_eq!(to_host(&flatten(&a)), to_host(&flatten(&b)));
    let file = std::fs::read(&path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&file).unwrap();
    assert_eq!(st.tensor("fc1.weight").unwrap().shape(), &[4, 32]);
    assert_eq!(st.tensor("conv1.weight").unwrap().shape(), &[16, 1, 3, 3]);
}

#[test]
fn load_weights_names_missing_extra_and_misshaped_tensors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.safetensors");
    let w = vec![0u8; 4 * 3];
    let views = vec![
        (
            "conv1.weight".to_owned(),
            TensorView::new(Dtype::F32, vec![3], &w).unwrap(),
        ),
        (
            "surplus".to_owned(),
            TensorView::new(Dtype::F32, vec![3], &w).unwrap(),
        ),
    ];
    std::fs::write(&path, safetensors::serialize(views, &None).unwrap()).unwrap();
    let err = load_weights(cnn(0), &path).unwrap_err().to_string();
    assert!(err.contains("bad.safetensors"), "{err}");
    assert!(err.contains("unexpected tensor(s) surplus"), "{err}");
    assert!(err.contains("conv1.weight has shape [3]"), "{err}");
    assert!(err.contains("missing tensor fc1.bias"), "{err}");
}

#[test]
fn a_run_directory_loads_its_highest_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path();
    let err = load_checkpoint(run, &Device::flex())
        .unwrap_err()
        .to_string();
    assert!(err.contains("checkpoint.json"), "{err}");
    std::fs::create_dir_all(run.join("checkpoints/notes")).unwrap();
    let err = last_checkpoint(run).unwrap_err().to_string();
    assert!(err.contains("no checkpoint"), "{err}");
    for (epoch, seed) in [(9, 1), (10, 2), (2, 3)] {
        let info = cnn_info(epoch);
        // Unpadded names order differently as text than as numbers.
        let ckpt = run.join(format!("checkpoints/epoch-{epoch}"));
        save_checkpoint(&ckpt, &cnn(seed), &info, None).unwrap();
    }
    // A checkpoint still being written, or left by a killed run, is not the last one.
    let partial = run.join(format!("checkpoints/{TEMPORARY_PREFIX}epoch-0011-7"));
    std::fs::create_dir_all(&partial).unwrap();
    std::fs::copy(
        run.join("checkpoints/epoch-10").join(CHECKPOINT_FILE),
        partial.join(CHECKPOINT_FILE),
    )
    .unwrap();
    std::fs::create_dir_all(run.join("checkpoints/epoch-12x")).unwrap();
    assert_eq!(
        last_checkpoint(run).unwrap(),
        run.join("checkpoints/epoch-10")
    );
    let (model, info) = load_checkpoint(run, &Device::flex()).unwrap();
    assert_eq!(info.epoch, 10);
    assert_eq!(to_host(&flatten(&model)), to_host(&flatten(&cnn(2))));
    let err = load_resume(run, &Device::flex()).unwrap_err().to_string();
    assert!(
        err.contains("epoch-10") && err.contains("no training state"),
        "{err}"
    );
}

#[test]
fn save_checkpoint_replaces_a_partial_directory_and_leaves_no_temporary() {
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("checkpoints/epoch-0003");
    std::fs::create_dir_all(&ckpt).unwrap();
    std::fs::write(ckpt.join("junk"), b"half a checkpoint").unwrap();
    let info = cnn_info(3);
    save_checkpoint(&ckpt, &cnn(4), &info, None).unwrap();
    let mut names: Vec<String> = std::fs::read_dir(&ckpt)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, [CHECKPOINT_FILE, WEIGHTS_FILE]);
    let siblings = std::fs::read_dir(dir.path().join("checkpoints"))
        .unwrap()
        .count();
    assert_eq!(siblings, 1, "a temporary directory was left behind");
    // The same write into a parent that is a file fails and creates nothing.
    std::fs::write(dir.path().join("file"), b"").unwrap();
    let err = save_checkpoint(&dir.path().join("file/epoch-0001"), &cnn(4), &info, None);
    assert!(err.is_err());
}

fn mlp_info(input: [usize; 3], classes: usize) -> CheckpointInfo {
    CheckpointInfo {
        model: ModelSpec {
            kind: ModelKind::Mlp,
            hidden: vec![128],
            ..ModelSpec::default()
        },
        shape: ModelShape { input, classes },
        epoch: 1,
        settings: TrainSettings::default(),
        training: None,
    }
}

/// A `checkpoint.json` edited to a 2^32-input MLP used to be built (lazily) and then given
/// a 2 TB buffer by `load_weights`, aborting the process; one edited to a ResNet stage of
/// 2^40 blocks built them one by one until memory ran out. Both are refused by size first.
#[test]
fn load_checkpoint_refuses_a_model_larger_than_its_weights() {
    let dir = tempfile::tempdir().unwrap();
    save_checkpoint(dir.path(), &cnn(1), &mlp_info([1, 12, 12], 4), None).unwrap();
    let info_path = dir.path().join(CHECKPOINT_FILE);
    let mut resnet = mlp_info([1, 12, 12], 4);
    resnet.model = ModelSpec {
        kind: ModelKind::Resnet,
        blocks: vec![1 << 40],
        width: 1,
        ..ModelSpec::default()
    };
    for info in [mlp_info([1, 1 << 16, 1 << 16], 4), resnet] {
        write_json(&info_path, &info).unwrap();
        let err = load_checkpoint(dir.path(), &Device::flex())
            .unwrap_err()
            .to_string();
        assert!(err.contains(&info_path.display().to_string()), "{err}");
        assert!(err.contains("more parameters than the"), "{err}");
        assert!(err.contains(WEIGHTS_FILE), "{err}");
    }
}

/// Build errors used to surface as `model: ...`, naming no file.
#[test]
fn load_checkpoint_names_the_description_of_a_model_that_cannot_be_built() {
    let dir = tempfile::tempdir().unwrap();
    save_checkpoint(dir.path(), &cnn(1), &mlp_info([1, 12, 12], 4), None).unwrap();
    let info_path = dir.path().join(CHECKPOINT_FILE);
    write_json(&info_path, &mlp_info([1, 2, 2], 1)).unwrap();
    let err = load_checkpoint(dir.path(), &Device::flex())
        .unwrap_err()
        .to_string();
    assert!(err.contains(&info_path.display().to_string()), "{err}");
    assert!(err.contains(">= 2 classes"), "{err}");
}

/// burn allocates parameters lazily, so a model can exist whose size nothing has paid for
/// yet; `load_weights` used to allocate that size before looking at the file.
#[test]
fn load_weights_checks_the_file_before_allocating_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("small.safetensors");
    save_weights(&cnn(1), &path).unwrap();
    let info = mlp_info([1, 1 << 16, 1 << 16], 4);
    let huge = Model::build(&info.model, info.shape, &Device::flex()).unwrap();
    let err = load_weights(huge, &path).unwrap_err().to_string();
    assert!(err.contains("small.safetensors"), "{err}");
    assert!(err.contains("expected [128, 4294967296]"), "{err}");
    assert!(err.contains("missing tensor fc2.weight [4, 128]"), "{err}");
}

#[test]
fn load_weights_refuses_non_finite_and_integer_tensors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.safetensors");
    let model = cnn(1);
    let mut tensors = named_tensors(&model);
    tensors[0].1[3] = f32::NAN;
    let raw = raw_f32(tensors);
    write_raw(&path, &raw, |_| Dtype::F32);
    let err = load_weights(cnn(2), &path).unwrap_err().to_string();
    assert!(err.contains("non-finite value at index 3"), "{err}");

    write_raw(
        &path,
        &raw,
        |i| if i == 1 { Dtype::I32 } else { Dtype::F32 },
    );
    let err = load_weights(cnn(2), &path).unwrap_err().to_string();
    assert!(
        err.contains("has dtype I32, expected F32, F64, F16 or BF16"),
        "{err}"
    );
}

#[test]
fn load_weights_rejects_garbage_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("junk.safetensors");
    std::fs::write(&path, b"not safetensors").unwrap();
    let err = load_weights(cnn(0), &path).unwrap_err().to_string();
    assert!(
        err.contains("junk.safetensors") && err.contains("not a valid"),
        "{err}"
    );
}

#[test]
fn half_conversion_matches_known_values() {
    assert_eq!(half_to_f32(0x3c00), 1.0);
    assert_eq!(half_to_f32(0xc000), -2.0);
    assert_eq!(half_to_f32(0x3555), 0.333_251_95);
}

/// A log whose epoch `e` (1-based) has `clean[e-1]` clean accuracy and, per attack of
/// `robust`, `(norm, ε, accuracies)`'s accuracy.
fn log_of(clean: &[f64], robust: &[(&str, f64, &[f64])]) -> TrainLog {
    let metrics =
        |accuracy: f64| serde_json::json!({"loss": 1.0, "accuracy": accuracy, "examples": 500});
    let epochs = clean
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            let robust: Vec<_> = robust
                .iter()
                .map(|(norm, eps, acc)| {
                    serde_json::json!({
                        "attack": {"norm": norm, "eps": eps, "step_size": eps / 4.0, "steps": 10,
                                   "random_start": true, "restarts": 1},
                        "metrics": metrics(acc[i]),
                    })
                })
                .collect();
            serde_json::json!({
                "epoch": i + 1, "lr": 0.1, "train_objective": metrics(0.5), "train_clean": metrics(0.5),
                "test": {"clean": metrics(c), "robust": robust},
                "duration_s": 1.0, "cost": {"forward": 0, "backward": 0},
            })
        })
        .collect::<Vec<_>>();
    serde_json::from_value(serde_json::json!({
        "parameters": 1, "epochs": epochs, "checkpoints": [],
    }))
    .unwrap()
}

#[test]
fn the_best_epoch_is_the_earliest_highest_under_the_training_threat() {
    use advland_schema::Norm;
    let log = log_of(
        &[0.5, 0.6, 0.7, 0.65],
        &[
            ("linf", 0.1, &[0.3, 0.5, 0.5, 0.45]),
            ("l2", 1.0, &[0.4, 0.3, 0.5, 0.2]),
            // A stronger attack at the same threat: the lower accuracy counts.
            ("linf", 0.1, &[0.3, 0.5, 0.48, 0.45]),
        ],
    );
    let all: BTreeSet<usize> = (1..=4).collect();
    let linf = PgdSettings::new(Norm::Linf, 0.1, 5);
    let l2 = PgdSettings::new(Norm::L2, 1.0, 5);
    // Epochs 2 and 3 tie at 0.5 under the first L∞ attack; the second breaks it towards 2.
    assert_eq!(best_epoch(&log, Some(&linf), &all), Ok(2));
    assert_eq!(best_epoch(&log, Some(&l2), &all), Ok(3));
    assert_eq!(best_epoch(&log, None, &all), Ok(3));
    // Only saved epochs count.
    assert_eq!(best_epoch(&log, Some(&linf), &[1, 3, 4].into()), Ok(3));
    assert_eq!(best_epoch(&log, Some(&linf), &[1, 4].into()), Ok(4));
    let tie = log_of(&[0.5, 0.6, 0.6], &[]);
    assert_eq!(best_epoch(&tie, None, &(1..=3).collect()), Ok(2));
    let err = best_epoch(&log, Some(&PgdSettings::new(Norm::Linf, 0.2, 5)), &all).unwrap_err();
    assert!(
        err.contains("(linf ε=0.2)") && err.contains("[linf ε=0.1, l2 ε=1, linf ε=0.1]"),
        "{err}"
    );
    let err = best_epoch(&log, Some(&linf), &BTreeSet::new()).unwrap_err();
    assert!(
        err.contains("no epoch of the log has a checkpoint"),
        "{err}"
    );
}

/// With a validation split the ranking is the validation accuracy's, whatever the test says.
#[test]
fn the_best_epoch_is_chosen_on_the_validation_split_when_the_run_holds_one_out() {
    use advland_schema::Norm;
    let mut log = log_of(&[0.5, 0.6, 0.7], &[("linf", 0.1, &[0.3, 0.5, 0.4])]);
    let validation = log_of(&[0.9, 0.5, 0.6], &[("linf", 0.1, &[0.2, 0.3, 0.35])]);
    for (e, v) in log.epochs.iter_mut().zip(validation.epochs) {
        e.validation = Some(v.test);
    }
    let all: BTreeSet<usize> = (1..=3).collect();
    let linf = PgdSettings::new(Norm::Linf, 0.1, 5);
    assert_eq!(best_epoch(&log, Some(&linf), &all), Ok(3));
    assert_eq!(best_epoch(&log, None, &all), Ok(1));
    let err = best_epoch(&log, Some(&PgdSettings::new(Norm::L2, 1.0, 5)), &all).unwrap_err();
    assert!(err.contains("highest validation accuracy"), "{err}");
}

#[test]
fn run_slash_best_names_the_best_checkpoint() {
    use advland_schema::{Meta, Norm};
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path();
    let best = run.join(BEST_CHECKPOINT);
    // Without checkpoints, `RUN/best` is a path that does not exist.
    let err = checkpoint_dir(&best).unwrap_err().to_string();
    assert!(err.contains("RUN/best"), "{err}");
    let mut info = cnn_info(0);
    info.settings.adversarial = Some(PgdSettings::new(Norm::L2, 1.0, 5));
    for epoch in 1..=3 {
        info.epoch = epoch;
        let ckpt = run.join(format!("checkpoints/epoch-{epoch:04}"));
        save_checkpoint(&ckpt, &cnn(epoch as u64), &info, None).unwrap();
    }
    let err = checkpoint_dir(&best).unwrap_err().to_string();
    assert!(err.contains("train.json"), "{err}");
    let log = log_of(
        &[0.9, 0.8, 0.7],
        &[
            ("linf", 0.1, &[0.3, 0.2, 0.1]),
            ("l2", 1.0, &[0.1, 0.4, 0.3]),
        ],
    );
    write_json(
        &run.join(TRAIN_LOG_FILE),
        &Report::of(
            Meta {
                config: serde_json::json!({}),
                ..Meta::default()
            },
            log,
        ),
    )
    .unwrap();
    assert_eq!(
        checkpoint_dir(&best).unwrap(),
        run.join("checkpoints/epoch-0002")
    );
    let (model, loaded) = load_checkpoint(&best, &Device::flex()).unwrap();
    assert_eq!(loaded.epoch, 2);
    assert_eq!(to_host(&flatten(&model)), to_host(&flatten(&cnn(2))));
    // A real entry named `best` is itself, not the best checkpoint.
    std::fs::create_dir(&best).unwrap();
    assert_eq!(checkpoint_dir(&best).unwrap(), best);
}
