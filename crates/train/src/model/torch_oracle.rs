//! The batch-norm models against PyTorch: fixtures written by `bench/make_model_fixtures.py`
//! (`tests/fixtures/torch/`), PyTorch's own definitions of robust_overfitting's PreActResNet18
//! and TRADES' WideResNet evaluated in float64. Its fixture readers also serve the TRADES and AWP
//! oracle of `trainer/objective/tests.rs`.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use advland_schema::{ModelKind, ModelSpec, Normalize};
use burn::tensor::{Device, Int, Tensor, TensorData};
use safetensors::SafeTensors;
use safetensors::tensor::Dtype;

use super::{BnMode, Model, ModelShape};
use crate::checkpoint::{load_weights, save_weights};
use crate::loss::cross_entropy;
use crate::params::{ParamLayout, flat_gradient, flatten, init_seeded, named_buffers, to_host};

const CIFAR: ModelShape = ModelShape {
    input: [3, 32, 32],
    classes: 10,
};

pub(crate) fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/torch")
        .join(name)
}

/// The two fixtures: file stem and the spec of the same network.
fn fixtures() -> [(&'static str, ModelSpec); 2] {
    [
        (
            "preact_w4",
            ModelSpec {
                kind: ModelKind::PreactResnet18,
                base_width: Some(4),
                ..ModelSpec::default()
            },
        ),
        (
            "wrn16_2_b4",
            ModelSpec {
                kind: ModelKind::WideResnet,
                depth: Some(16),
                widen: Some(2),
                base_width: Some(4),
                normalize: Some(Normalize {
                    mean: vec![0.4914, 0.4822, 0.4465],
                    std: vec![0.2471, 0.2435, 0.2616],
                }),
                ..ModelSpec::default()
            },
        ),
    ]
}

/// Tensors of `<stem>_expected.safetensors` as f64.
pub(crate) struct Expected(HashMap<String, (Vec<usize>, Vec<f64>)>);

impl Expected {
    pub(crate) fn read(stem: &str) -> Self {
        let bytes = std::fs::read(fixture(&format!("{stem}_expected.safetensors"))).unwrap();
        let file = SafeTensors::deserialize(&bytes).unwrap();
        let mut map = HashMap::new();
        for (name, view) in file.tensors() {
            let data = view.data();
            let values: Vec<f64> = match view.dtype() {
                Dtype::F64 => data
                    .chunks_exact(8)
                    .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
                    .collect(),
                Dtype::F32 => data
                    .chunks_exact(4)
                    .map(|c| f64::from(f32::from_le_bytes(c.try_into().unwrap())))
                    .collect(),
                Dtype::I64 => data
                    .chunks_exact(8)
                    .map(|c| i64::from_le_bytes(c.try_into().unwrap()) as f64)
                    .collect(),
                // Pixels: the input is byte / 255 in f32, as PyTorch computed it.
                Dtype::U8 => data
                    .iter()
                    .map(|&b| f64::from(f32::from(b) / 255.0))
                    .collect(),
                other => panic!("{name}: unexpected dtype {other:?}"),
            };
            map.insert(name, (view.shape().to_vec(), values));
        }
        Self(map)
    }

    /// The tensor `name`, if the fixture has it.
    pub(crate) fn find(&self, name: &str) -> Option<&[f64]> {
        self.0.get(name).map(|(_, values)| values.as_slice())
    }

    pub(crate) fn get(&self, name: &str) -> &[f64] {
        &self
            .0
            .get(name)
            .unwrap_or_else(|| panic!("{name} not in fixture"))
            .1
    }

    pub(crate) fn images(&self, name: &str, device: &Device) -> Tensor<4> {
        let (shape, values) = &self.0[name];
        let values: Vec<f32> = values.iter().map(|&v| v as f32).collect();
        Tensor::from_data(
            TensorData::new(values, [shape[0], shape[1], shape[2], shape[3]]),
            device,
        )
    }

    pub(crate) fn labels(&self, device: &Device) -> Tensor<1, Int> {
        let labels: Vec<i64> = self.get("labels").iter().map(|&v| v as i64).collect();
        let n = labels.len();
        Tensor::from_data(TensorData::new(labels, [n]), device)
    }
}

fn load(stem: &str, spec: &ModelSpec, device: &Device) -> Model {
    let model = Model::build(spec, CIFAR, device).unwrap();
    load_weights(model, &fixture(&format!("{stem}.safetensors"))).unwrap()
}

pub(crate) fn host<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.into_data().convert::<f64>().try_to_vec::<f64>().unwrap()
}

pub(crate) fn assert_close(what: &str, got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let worst = got
        .iter()
        .zip(want)
        .map(|(g, w)| (g - w).abs() / w.abs().max(1.0))
        .fold(0.0, f64::max);
    assert!(worst <= tol, "{what}: worst error {worst:e} > {tol:e}");
}

fn buffers(model: &Model) -> HashMap<String, Vec<f64>> {
    named_buffers(model)
        .into_iter()
        .map(|(name, _, v)| (name, v.into_iter().map(f64::from).collect()))
        .collect()
}

fn assert_buffers(what: &str, model: &Model, expected: &Expected, prefix: &str, tol: f64) {
    let got = buffers(model);
    let mut n = 0;
    for (name, values) in &got {
        assert_close(
            &format!("{what} {name}"),
            values,
            expected.get(&format!("{prefix}.{name}")),
            tol,
        );
        n += 1;
    }
    // Every BN layer of the fixture has its two statistics here.
    let want = expected
        .0
        .keys()
        .filter(|k| k.starts_with(&format!("{prefix}.")))
        .count();
    assert_eq!(n, want, "{what}: statistics compared");
}

#[test]
fn eval_logits_and_loss_match_pytorch() {
    let device = Device::flex();
    for (stem, spec) in fixtures() {
        let model = load(stem, &spec, &device);
        assert_eq!(model.bn_mode(), Some(BnMode::Eval), "built in eval mode");
        let expected = Expected::read(stem);
        let x = expected.images("input_u8", &device);
        let logits = model.forward(x);
        assert_close(
            stem,
            &host(logits.clone()),
            expected.get("eval_logits"),
            1e-5,
        );
        let loss = cross_entropy(logits, expected.labels(&device)).mean();
        assert_close(stem, &host(loss), expected.get("eval_loss"), 1e-5);
    }
}

#[test]
fn train_mode_forward_and_running_statistics_match_pytorch() {
    // On the autodiff device (training) and without it (the mode, not the device, decides).
    for device in [Device::flex().autodiff(), Device::flex()] {
        for (stem, spec) in fixtures() {
            let model = load(stem, &spec, &device).with_bn_mode(BnMode::Train);
            let expected = Expected::read(stem);
            let logits = model.forward(expected.images("input_u8", &device));
            assert_close(stem, &host(logits), expected.get("train_logits"), 1e-4);
            assert_buffers(stem, &model, &expected, "train", 1e-5);
        }
    }
}

#[test]
fn recompute_matches_pytorch_cumulative_average_and_leaves_the_original_alone() {
    let device = Device::flex();
    for (stem, spec) in fixtures() {
        let model = load(stem, &spec, &device);
        let before = buffers(&model);
        let expected = Expected::read(stem);
        let batches: Vec<Tensor<4>> = (0..3)
            .map(|i| expected.images(&format!("recompute_batch_u8.{i}"), &device))
            .collect();
        let re = model.recompute_bn_statistics(&batches).unwrap();
        assert_eq!(re.bn_mode(), Some(BnMode::Eval));
        assert_buffers(stem, &re, &expected, "recompute", 1e-5);
        assert_eq!(
            buffers(&model),
            before,
            "{stem}: the original's statistics changed"
        );
        assert_eq!(to_host(&flatten(&re)), to_host(&flatten(&model)));
    }
    let err = fixtures()[0].1.clone();
    let model = Model::build(&err, CIFAR, &device).unwrap();
    assert!(model.recompute_bn_statistics(&[]).is_err());
}

#[test]
fn eval_mode_on_autodiff_backpropagates_and_keeps_running_statistics() {
    let device = Device::flex().autodiff();
    for (stem, spec) in fixtures() {
        let model = load(stem, &spec, &device);
        let before = buffers(&model);
        let expected = Expected::read(stem);
        let logits = model.forward(expected.images("input_u8", &device));
        assert_close(
            stem,
            &host(logits.clone()),
            expected.get("eval_logits"),
            1e-5,
        );
        let grads = cross_entropy(logits, expected.labels(&device))
            .mean()
            .backward();
        let g = to_host(&flat_gradient(&model, &grads));
        let layout = ParamLayout::of(&model);
        assert_eq!(g.len(), layout.len());
        for e in &layout.entries {
            let part = &g[e.offset..e.offset + e.len];
            assert!(
                part.iter().any(|&v| v != 0.0),
                "{stem}: no gradient reaches {}",
                e.name
            );
        }
        assert_eq!(
            buffers(&model),
            before,
            "{stem}: eval mode wrote statistics"
        );
    }
}

#[test]
fn save_then_load_keeps_running_statistics_and_theta() {
    let device = Device::flex().autodiff();
    let dir = tempfile::tempdir().unwrap();
    for (stem, spec) in fixtures() {
        // Statistics that are neither the defaults nor the fixture's.
        let model = load(stem, &spec, &device).with_bn_mode(BnMode::Train);
        let expected = Expected::read(stem);
        let _ = model.forward(expected.images("input_u8", &device));
        let path = dir.path().join(format!("{stem}.safetensors"));
        save_weights(&model, &path).unwrap();
        let back = load_weights(Model::build(&spec, CIFAR, &device).unwrap(), &path).unwrap();
        assert_eq!(buffers(&back), buffers(&model), "{stem}");
        assert_eq!(
            to_host(&flatten(&back)),
            to_host(&flatten(&model)),
            "{stem}"
        );
        let names = SafeTensors::deserialize(&std::fs::read(&path).unwrap())
            .unwrap()
            .names()
            .len();
        assert_eq!(
            names,
            ParamLayout::of(&model).entries.len() + buffers(&model).len()
        );
    }
}

#[test]
fn load_weights_requires_running_statistics() {
    let dir = tempfile::tempdir().unwrap();
    let (stem, spec) = &fixtures()[0];
    let device = Device::flex();
    let model = load(stem, spec, &device);
    // θ alone: a file written before the statistics were.
    let raw = crate::checkpoint::tests::raw_f32(crate::params::named_tensors(&model));
    let path = dir.path().join("theta.safetensors");
    crate::checkpoint::tests::write_raw(&path, &raw, |_| Dtype::F32);
    let err = load_weights(Model::build(spec, CIFAR, &device).unwrap(), &path)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("missing tensor layer1.0.bn1.running_mean"),
        "{err}"
    );
}

#[test]
fn replayed_pattern_reproduces_logits_and_gradients_with_batch_norm() {
    let device = Device::flex().autodiff();
    for (stem, spec) in fixtures() {
        let model = load(stem, &spec, &device);
        let x = Expected::read(stem).images("input_u8", &device);
        let (live, pattern) = model.forward_recording(x.clone());
        let replay = model.forward_with_pattern(x, &pattern);
        assert_eq!(host(live.clone()), host(replay.clone()), "{stem}");
        let g_live = flat_gradient(&model, &live.sum().backward());
        let g_replay = flat_gradient(&model, &replay.sum().backward());
        assert_eq!(to_host(&g_live), to_host(&g_replay), "{stem}");
    }
}

/// `keys.json`: full-size models as PyTorch counts and names them.
fn torch_keys() -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(fixture("keys.json")).unwrap()).unwrap()
}

#[test]
fn full_size_models_have_pytorchs_counts_and_keys() {
    // Printed by bench/make_model_fixtures.py: PreAct-ResNet-18 11,172,170 parameters and
    // 107 keys, WRN-28-10 36,479,194 and 155, WRN-34-10 46,160,474 and 191.
    let keys = torch_keys();
    let device = Device::flex();
    let cases = [
        (
            "preact-resnet18",
            ModelKind::PreactResnet18,
            None,
            11_172_170,
            107,
        ),
        (
            "wrn-28-10",
            ModelKind::WideResnet,
            Some(28),
            36_479_194,
            155,
        ),
        (
            "wrn-34-10",
            ModelKind::WideResnet,
            Some(34),
            46_160_474,
            191,
        ),
    ];
    for (name, kind, depth, params, n_keys) in cases {
        let torch = &keys[name];
        assert_eq!(torch["params"], params, "{name}: fixture");
        let spec = ModelSpec {
            kind,
            depth,
            ..ModelSpec::default()
        };
        assert_eq!(Model::param_count(&spec, CIFAR), Some(params), "{name}");
        // burn allocates parameters lazily: the layout of the full model costs nothing.
        let model = Model::build(&spec, CIFAR, &device).unwrap();
        let layout = ParamLayout::of(&model);
        assert_eq!(layout.len(), params, "{name}");
        let buffers = named_buffers(&model);
        let buffer_values: usize = buffers.iter().map(|(_, _, v)| v.len()).sum();
        let counters = buffers.len() / 2;
        // PyTorch's buffers: the two statistics and one counter per layer.
        assert_eq!(torch["buffers"], buffer_values + counters, "{name}");
        let mut ours: BTreeSet<String> = layout.entries.iter().map(|e| e.name.clone()).collect();
        for (b, _, _) in &buffers {
            ours.insert(b.clone());
            if let Some(bn) = b.strip_suffix(".running_mean") {
                ours.insert(format!("{bn}.num_batches_tracked"));
            }
        }
        let theirs: BTreeSet<String> = torch["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(theirs.len(), n_keys, "{name}");
        assert_eq!(ours, theirs, "{name}");
        for e in &layout.entries {
            assert_eq!(
                e.is_batch_norm(),
                e.name.contains(".bn") || e.name.starts_with("bn"),
                "{}",
                e.name
            );
        }
    }
}

#[test]
fn param_count_matches_small_built_models() {
    let device = Device::flex();
    for (kind, depth, widen, base) in [
        (ModelKind::PreactResnet18, None, None, Some(2)),
        (ModelKind::PreactResnet18, None, None, Some(3)),
        (ModelKind::WideResnet, Some(10), Some(1), Some(2)),
        (ModelKind::WideResnet, Some(16), Some(3), Some(1)),
    ] {
        let spec = ModelSpec {
            kind,
            depth,
            widen,
            base_width: base,
            ..ModelSpec::default()
        };
        for shape in [
            CIFAR,
            ModelShape {
                input: [1, 30, 30],
                classes: 3,
            },
        ] {
            let model = init_seeded(Model::build(&spec, shape, &device).unwrap(), 1).unwrap();
            assert_eq!(
                Model::param_count(&spec, shape),
                Some(ParamLayout::of(&model).len()),
                "{spec:?} {shape:?}"
            );
            assert_eq!(
                model
                    .forward(Tensor::zeros(
                        [2, shape.input[0], shape.input[1], shape.input[2]],
                        &device
                    ))
                    .dims(),
                [2, shape.classes]
            );
        }
    }
}

#[test]
fn build_refuses_bad_batch_norm_specs_naming_the_field() {
    let device = Device::flex();
    let preact = fixtures()[0].1.clone();
    let cases = [
        (
            preact.clone(),
            ModelShape {
                input: [3, 16, 16],
                classes: 10,
            },
            "model.kind",
            "25x25 to 56x56",
        ),
        (
            fixtures()[1].1.clone(),
            ModelShape {
                input: [3, 64, 64],
                classes: 10,
            },
            "model.kind",
            "29x29 to 60x60",
        ),
        (
            ModelSpec {
                normalize: fixtures()[1].1.normalize.clone(),
                ..preact.clone()
            },
            ModelShape {
                input: [1, 32, 32],
                classes: 10,
            },
            "model.normalize",
            "3 values per statistic for 1-channel",
        ),
        (
            ModelSpec {
                depth: Some(12),
                ..fixtures()[1].1.clone()
            },
            CIFAR,
            "model.depth",
            "6n + 4",
        ),
    ];
    for (spec, shape, field, rule) in cases {
        let err = Model::build(&spec, shape, &device).unwrap_err().to_string();
        assert!(err.contains(field) && err.contains(rule), "{err}");
    }
}

/// The `.pt` files as robust_overfitting saves them (`{state_dict: {module.…}, test_robust_acc,
/// epoch, …}`) through the import pipeline: PyTorch's logits, the same θ and running
/// statistics as the safetensors copy, the counters dropped and the scalars kept.
#[test]
fn pytorch_checkpoints_import_with_running_statistics() {
    use crate::import::{MatchOptions, import_weights};
    let device = Device::flex();
    for (stem, spec) in fixtures() {
        let fresh = Model::build(&spec, CIFAR, &device).unwrap();
        let (model, matched) = import_weights(
            fresh,
            &fixture(&format!("{stem}.pt")),
            &MatchOptions::default(),
        )
        .unwrap();
        let reference = load(stem, &spec, &device);
        assert_eq!(
            to_host(&flatten(&model)),
            to_host(&flatten(&reference)),
            "{stem}: θ"
        );
        assert_eq!(
            named_buffers(&model),
            named_buffers(&reference),
            "{stem}: statistics"
        );
        let expected = Expected::read(stem);
        let logits = model.forward(expected.images("input_u8", &device));
        assert_close(stem, &host(logits), expected.get("eval_logits"), 1e-5);
        assert!(
            matched
                .notes
                .iter()
                .any(|n| n.contains("num_batches_tracked")),
            "{stem}: {:?}",
            matched.notes
        );
    }
    let file = crate::import::read_weights(&fixture("preact_w4.pt")).unwrap();
    assert_eq!(file.extras["test_robust_acc"], 0.5);
    assert_eq!(file.extras["epoch"], 3);
}

/// An f64 analysis casts θ, the running statistics and the input normalisation alike: the
/// logits then match PyTorch's float64 evaluation far below f32 rounding, and the model it was
/// made from keeps computing in f32 (its statistics are shared with its clones, so a cast in
/// place would have changed it).
#[test]
fn f64_copy_matches_pytorch_in_float64_and_leaves_the_original_in_f32() {
    use burn::tensor::DType;
    let device = Device::flex();
    for (stem, spec) in fixtures() {
        let model = load(stem, &spec, &device);
        let wide = model.in_dtype(DType::F64).unwrap();
        let expected = Expected::read(stem);
        let x = expected.images("input_u8", &device);
        let logits = wide.forward(x.clone().cast(DType::F64));
        assert_eq!(logits.dtype(), DType::F64);
        assert_close(stem, &host(logits), expected.get("eval_logits"), 1e-9);
        let narrow = model.forward(x);
        assert_eq!(narrow.dtype(), DType::F32, "{stem}: the original stays f32");
        assert_close(stem, &host(narrow), expected.get("eval_logits"), 1e-5);
    }
}
