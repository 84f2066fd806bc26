//! Oracles: `tests/fixtures/import/`, written by `bench/make_import_fixtures.py` with PyTorch.

use std::path::{Path, PathBuf};

use advland_schema::{ModelKind, ModelSpec};
use burn::tensor::{Device, Tensor, TensorData};

use super::*;
use crate::error::Error;
use crate::model::{Model, ModelShape};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/import")
        .join(name)
}

fn expected_json() -> serde_json::Value {
    let text = std::fs::read_to_string(fixture("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn floats(v: &serde_json::Value) -> Vec<f32> {
    #[allow(clippy::cast_possible_truncation)]
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn cnn() -> Model {
    let spec = ModelSpec {
        kind: ModelKind::Cnn,
        ..ModelSpec::default()
    };
    let shape = ModelShape {
        input: [1, 12, 12],
        classes: 10,
    };
    Model::build(&spec, shape, &Device::flex()).unwrap()
}

fn mlp() -> Model {
    let spec = ModelSpec {
        kind: ModelKind::Mlp,
        hidden: vec![8],
        ..ModelSpec::default()
    };
    let shape = ModelShape {
        input: [1, 4, 4],
        classes: 3,
    };
    Model::build(&spec, shape, &Device::flex()).unwrap()
}

fn match_cnn(name: &str, options: &MatchOptions) -> Result<Matched, Error> {
    let file = read_weights(&fixture(name))?;
    match_weights(&expected_params(&cnn()), &file, options)
}

fn weights_reason(err: Error) -> String {
    match err {
        Error::Weights { reason, .. } => reason,
        other => panic!("expected a weights error, got {other}"),
    }
}

/// The model's logits on the fixture's input against PyTorch's.
fn assert_logits(model: &Model, case: &serde_json::Value) {
    let shape: Vec<usize> = case["input_shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| usize::try_from(d.as_u64().unwrap()).unwrap())
        .collect();
    let input = TensorData::new(floats(&case["input"]), shape);
    let x = Tensor::<4>::from_data(input, &Device::flex());
    let got = model.forward(x).into_data().try_to_vec::<f32>().unwrap();
    let want = floats(&case["logits"]);
    assert_eq!(got.len(), want.len());
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert!((g - w).abs() <= 1e-5, "logit {i}: {g} vs PyTorch's {w}");
    }
}

#[test]
fn every_wrapper_loads_and_gives_pytorchs_logits() {
    let expected = expected_json();
    for name in [
        "cnn_wrapped.pt",
        "cnn_legacy.pth",
        "cnn_model_state_dict.pt",
        "cnn.safetensors",
    ] {
        let (model, matched) = import_weights(cnn(), &fixture(name), &MatchOptions::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(matched.tensors.len(), 6, "{name}");
        assert_logits(&model, &expected["cnn"]);
    }
    let (model, _) = import_weights(mlp(), &fixture("mlp.pt"), &MatchOptions::default()).unwrap();
    assert_logits(&model, &expected["mlp"]);
}

#[test]
fn formats_are_recognised_by_content() {
    let format = |name| read_weights(&fixture(name)).unwrap().format;
    assert_eq!(format("cnn_wrapped.pt"), WeightFormat::PytorchZip);
    assert_eq!(format("cnn_legacy.pth"), WeightFormat::PytorchLegacy);
    assert_eq!(format("cnn.safetensors"), WeightFormat::Safetensors);
}

#[test]
fn wrapped_checkpoint_is_unwrapped_stripped_and_keeps_its_extras() {
    let file = read_weights(&fixture("cnn_wrapped.pt")).unwrap();
    let names: Vec<&str> = file.tensors.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "bn1.num_batches_tracked",
            "conv1.bias",
            "conv1.weight",
            "conv2.bias",
            "conv2.weight",
            "fc1.bias",
            "fc1.weight"
        ]
    );
    assert_eq!(file.tensors["bn1.num_batches_tracked"].dtype, DType::I64);
    assert_eq!(file.tensors["bn1.num_batches_tracked"].data, [5.0]);
    let extras = &expected_json()["extras"];
    assert_eq!(file.extras["epoch"], extras["epoch"]);
    assert_eq!(file.extras["test_robust_acc"], extras["test_robust_acc"]);
    assert_eq!(file.extras["args.arch"], extras["args"]["arch"]);
    assert_eq!(file.extras["args.milestones"], extras["args"]["milestones"]);
    assert!(file.extras.contains_key("optimizer.param_groups"));
    let tensor_extras = &expected_json()["tensor_extras"];
    assert_eq!(file.extras["best_acc"], tensor_extras["best_acc"]);
    assert_eq!(file.extras["best_epoch"], tensor_extras["best_epoch"]);
    let notes = file.notes.join("\n");
    assert!(notes.contains("`state_dict`"), "{notes}");
    assert!(notes.contains("module."), "{notes}");
    assert!(
        notes.contains("outside `state_dict`: optimizer.state.0.momentum_buffer"),
        "{notes}"
    );

    let matched = match_cnn("cnn_wrapped.pt", &MatchOptions::default()).unwrap();
    assert!(
        matched
            .notes
            .iter()
            .any(|n| n.contains("num_batches_tracked"))
    );
}

#[test]
fn sha256_is_the_files() {
    let expected = expected_json();
    for (name, digest) in expected["sha256"].as_object().unwrap() {
        let file = read_weights(&fixture(name)).unwrap();
        assert_eq!(&file.sha256, digest.as_str().unwrap(), "{name}");
    }
}

#[test]
fn narrow_and_wide_floats_convert_as_pytorch_does() {
    let expected = expected_json();
    for (name, dtypes) in [
        ("cnn_half.pt", vec![("conv1.weight", DType::F16)]),
        (
            "cnn_mixed.pt",
            vec![
                ("conv1.weight", DType::F64),
                ("conv2.bias", DType::BF16),
                ("fc1.bias", DType::F16),
            ],
        ),
    ] {
        let file = read_weights(&fixture(name)).unwrap();
        for (tensor, dtype) in dtypes {
            assert_eq!(file.tensors[tensor].dtype, dtype, "{name} {tensor}");
            let want = floats(&expected["converted"][name][tensor]);
            assert_eq!(file.tensors[tensor].data, want, "{name} {tensor}");
        }
        let notes = file.notes.join("\n");
        assert!(notes.contains("f16 tensor(s) to f32"), "{notes}");
        match_cnn(name, &MatchOptions::default()).unwrap();
    }
}

#[test]
fn strict_match_lists_every_problem_with_did_you_mean() {
    let reason = weights_reason(match_cnn("cnn_broken.pt", &MatchOptions::default()).unwrap_err());
    assert!(
        reason.starts_with("does not match the model (4 problems):"),
        "{reason}"
    );
    for line in [
        "missing tensor conv2.bias [32] (did you mean conv3.weight [4, 32, 3, 3]?)",
        "unexpected tensor conv3.weight [4, 32, 3, 3] (did you mean conv2.bias?)",
        "tensor conv1.weight has shape [8, 1, 3, 3] in the file, the model expects [16, 1, 3, 3]",
        "tensor conv1.bias has dtype i64, the model expects floating point",
    ] {
        assert!(reason.contains(line), "{line} not in {reason}");
    }
    let reason = weights_reason(match_cnn("cnn_missing.pt", &MatchOptions::default()).unwrap_err());
    assert!(
        reason.contains("missing tensor conv2.bias [32]"),
        "{reason}"
    );
    let reason =
        weights_reason(match_cnn("cnn_misshaped.pt", &MatchOptions::default()).unwrap_err());
    assert!(
        reason.contains("conv1.weight has shape [8, 1, 3, 3]"),
        "{reason}"
    );
}

#[test]
fn key_map_renames_what_the_strict_match_refused() {
    let reason = weights_reason(match_cnn("cnn_fc.pt", &MatchOptions::default()).unwrap_err());
    assert!(
        reason.contains("missing tensor fc1.weight [10, 32] (did you mean fc.weight [10, 32]?)"),
        "{reason}"
    );
    assert!(
        reason.contains("unexpected tensor fc.bias [10] (did you mean fc1.bias?)"),
        "{reason}"
    );
    let options = MatchOptions {
        key_map: KeyMap::parse(&[r"^fc\.=fc1."]).unwrap(),
        ..MatchOptions::default()
    };
    let matched = match_cnn("cnn_fc.pt", &options).unwrap();
    assert_eq!(
        matched.renamed,
        [
            ("fc.bias".to_owned(), "fc1.bias".to_owned()),
            ("fc.weight".to_owned(), "fc1.weight".to_owned())
        ]
    );
    let model = load_matched(cnn(), &matched).unwrap();
    assert_logits(&model, &expected_json()["cnn"]);
}

#[test]
fn key_map_rules_run_in_order_with_groups() {
    let map = KeyMap::parse(&[r"^layer(\d)\.=block$1.", r"^block1\.=stem."]).unwrap();
    assert_eq!(map.rename("layer1.conv.weight"), "stem.conv.weight");
    assert_eq!(map.rename("layer2.conv.weight"), "block2.conv.weight");
    assert_eq!(map.rename("fc.weight"), "fc.weight");
}

#[test]
fn key_map_collisions_name_both_tensors() {
    let options = MatchOptions {
        key_map: KeyMap::parse(&[r"^conv\d\.bias$=conv.bias"]).unwrap(),
        ..MatchOptions::default()
    };
    let reason = weights_reason(match_cnn("cnn_legacy.pth", &options).unwrap_err());
    assert!(
        reason.contains("--key-map rules: tensors conv1.bias and conv2.bias both become conv.bias"),
        "{reason}"
    );
}

#[test]
fn key_map_parse_errors_name_the_flag_and_rule() {
    let message = |rules: &[&str]| KeyMap::parse(rules).unwrap_err().to_string();
    assert_eq!(
        message(&["a=b", "nothing"]),
        "--key-map: rule 2 `nothing`: expected REGEX=REPLACEMENT"
    );
    assert_eq!(
        message(&["=x"]),
        "--key-map: rule 1 `=x`: the regex before `=` is empty"
    );
    assert!(message(&["(fc=x"]).starts_with("--key-map: rule 1 `(fc=x`: bad regex:"));
    let message = IgnoreList::parse(&["ok", "[x"]).unwrap_err().to_string();
    assert!(
        message.starts_with("--ignore-key: pattern 2 `[x`: bad regex"),
        "{message}"
    );
}

#[test]
fn ignore_list_accepts_unused_blocks_with_a_note() {
    let reason =
        weights_reason(match_cnn("cnn_sub_block.pt", &MatchOptions::default()).unwrap_err());
    assert!(
        reason.contains("unexpected tensor sub_block1.layer.0.conv1.weight [2, 2]"),
        "{reason}"
    );
    let options = MatchOptions {
        ignore: IgnoreList::parse(&[r"^sub_block1\."]).unwrap(),
        ..MatchOptions::default()
    };
    let matched = match_cnn("cnn_sub_block.pt", &options).unwrap();
    assert!(
        matched
            .notes
            .iter()
            .any(|n| n.contains("ignored 1 tensor(s) as asked: sub_block1.layer.0.conv1.weight")),
        "{:?}",
        matched.notes
    );
}

#[test]
fn stripping_module_refuses_two_tensors_becoming_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("both.safetensors");
    let one = [0u8; 4];
    let view =
        |bytes| safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![1], bytes);
    let tensors = [
        ("module.fc1.bias", view(&one).unwrap()),
        ("fc1.bias", view(&one).unwrap()),
    ];
    safetensors::serialize_to_file(tensors, &None, &path).unwrap();
    let reason = weights_reason(read_weights(&path).unwrap_err());
    assert_eq!(
        reason,
        "stripping the `module.` prefix: tensors fc1.bias and module.fc1.bias both become fc1.bias"
    );
}

#[test]
fn damaged_files_are_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["cnn_wrapped.pt", "cnn_legacy.pth", "cnn.safetensors"] {
        let bytes = std::fs::read(fixture(name)).unwrap();
        for cut in [0, 7, 100, bytes.len() / 2, bytes.len() - 1] {
            let path = dir.path().join(format!("cut-{cut}-{name}"));
            std::fs::write(&path, &bytes[..cut]).unwrap();
            let err = read_weights(&path).unwrap_err();
            let message = err.to_string();
            assert!(message.contains(&path.display().to_string()), "{message}");
        }
    }
    let missing = dir.path().join("absent.pt");
    assert!(
        read_weights(&missing)
            .unwrap_err()
            .to_string()
            .contains("absent.pt")
    );
}

#[test]
fn batch_norm_buffers_match_as_more_expected_tensors() {
    // What a BatchNorm model's glue will ask for: its parameters and running statistics, by
    // PyTorch name, and never the `num_batches_tracked` counters.
    let oracle = &expected_json()["bn_net"];
    let expected: Vec<Expected> = oracle
        .as_object()
        .unwrap()
        .iter()
        .filter(|(name, _)| !name.ends_with("num_batches_tracked"))
        .map(|(name, t)| Expected {
            name: name.clone(),
            shape: t["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| usize::try_from(d.as_u64().unwrap()).unwrap())
                .collect(),
        })
        .collect();
    assert_eq!(expected.len(), 11);
    let file = read_weights(&fixture("bn_net.pth")).unwrap();
    let matched = match_weights(&expected, &file, &MatchOptions::default()).unwrap();
    for e in &expected {
        assert_eq!(
            matched.tensors[&e.name].data,
            floats(&oracle[&e.name]["values"]),
            "{}",
            e.name
        );
    }
    assert!(
        matched
            .notes
            .contains(&"dropped 2 BatchNorm `num_batches_tracked` counter(s)".to_owned()),
        "{:?}",
        matched.notes
    );
    assert_eq!(file.extras["test_robust_acc"], 0.5);
}
