//! The model enum: layouts, parameter counts, pattern replay, input normalisation.

use super::*;

#[test]
fn cnn_has_12810_parameters_on_fashion_mnist() {
    let spec = ModelSpec {
        kind: ModelKind::Cnn,
        hidden: vec![],
        ..ModelSpec::default()
    };
    let shape = ModelShape {
        input: [1, 28, 28],
        classes: 10,
    };
    let model = Model::build(&spec, shape, &Device::flex()).unwrap();
    assert_eq!(model.num_params(), 12_810);
    let y = model.forward(Tensor::zeros([3, 1, 28, 28], &Device::flex()));
    assert_eq!(y.dims(), [3, 10]);
}

#[test]
fn param_count_matches_the_built_models() {
    let layouts = [
        (ModelKind::Mlp, vec![], vec![], 1, [1, 2, 2], 2),
        (ModelKind::Mlp, vec![5, 4], vec![], 1, [3, 4, 5], 7),
        (ModelKind::Cnn, vec![], vec![], 1, [1, 10, 10], 2),
        (ModelKind::Cnn, vec![], vec![], 1, [3, 32, 17], 10),
        (ModelKind::Resnet, vec![], vec![1], 4, [3, 8, 8], 10),
        (ModelKind::Resnet, vec![], vec![2, 1, 3], 3, [1, 8, 8], 5),
        (ModelKind::Resnet, vec![], vec![1, 1], 2, [2, 8, 8], 2),
    ];
    for (kind, hidden, blocks, width, input, classes) in layouts {
        let spec = ModelSpec {
            kind,
            hidden,
            blocks,
            width,
            ..ModelSpec::default()
        };
        let shape = ModelShape { input, classes };
        let model = Model::build(&spec, shape, &Device::flex()).unwrap();
        assert_eq!(
            Model::param_count(&spec, shape),
            Some(model.num_params()),
            "{spec:?} {shape:?}"
        );
    }
}

/// Sizes from a corrupt or hand-edited file used to reach the constructors' unchecked
/// arithmetic: `c·h·w` of the MLP and `32·h'·w'` of the CNN overflowed, and the ResNet's
/// `width << stage` panicked past 64 stages.
#[test]
fn build_refuses_layouts_whose_size_overflows() {
    let huge = 1usize << 40;
    let cases = [
        (ModelKind::Mlp, vec![], 1, [huge, huge, 1]),
        (ModelKind::Mlp, vec![huge, huge], 1, [1, 2, 2]),
        (ModelKind::Cnn, vec![], 1, [1, huge, huge]),
        (ModelKind::Resnet, vec![1; 70], 1, [1, 8, 8]),
        (ModelKind::Resnet, vec![1], usize::MAX / 2, [1, 8, 8]),
    ];
    for (kind, sizes, width, input) in cases {
        let spec = ModelSpec {
            kind,
            hidden: sizes.clone(),
            blocks: sizes,
            width,
            ..ModelSpec::default()
        };
        let shape = ModelShape { input, classes: 2 };
        assert_eq!(Model::param_count(&spec, shape), None, "{spec:?}");
        let err = Model::build(&spec, shape, &Device::flex()).unwrap_err();
        assert!(
            err.to_string().contains("more parameters than memory"),
            "{err}"
        );
    }
}

#[test]
fn replayed_pattern_reproduces_logits_and_gradients_at_the_recording_point() {
    use crate::params::{flat_gradient, init_seeded, to_host};
    let device = Device::flex().autodiff();
    for kind in [ModelKind::Cnn, ModelKind::Mlp, ModelKind::Resnet] {
        let spec = ModelSpec {
            kind,
            hidden: vec![7],
            blocks: vec![1, 2],
            width: 4,
            ..ModelSpec::default()
        };
        let shape = ModelShape {
            input: [1, 12, 12],
            classes: 3,
        };
        let model = init_seeded(Model::build(&spec, shape, &device).unwrap(), 2).unwrap();
        let x = Tensor::<4>::random(
            [4, 1, 12, 12],
            burn::tensor::Distribution::Uniform(0.0, 1.0),
            &device,
        );
        let (live, pattern) = model.forward_recording(x.clone());
        let replay = model.forward_with_pattern(x.clone(), &pattern);
        assert_eq!(
            to_host(&live.clone().reshape([12])),
            to_host(&replay.clone().reshape([12]))
        );
        let g_live = flat_gradient(&model, &live.sum().backward());
        let g_replay = flat_gradient(&model, &replay.sum().backward());
        assert_eq!(to_host(&g_live), to_host(&g_replay), "{kind:?}");
    }
}

/// Parameter count of the layout by hand: 3×3 convs with biases, a 1×1 projection where a
/// stage starts, the classifier on the last width.
fn resnet_params(c: usize, blocks: &[usize], width: usize, classes: usize) -> usize {
    let conv = |k: usize, i: usize, o: usize| k * k * i * o + o;
    let mut n = conv(3, c, width);
    let mut c_in = width;
    for (s, &b) in blocks.iter().enumerate() {
        let c_out = width << s;
        for _ in 0..b {
            n += conv(3, c_in, c_out) + conv(3, c_out, c_out);
            if c_in != c_out {
                n += conv(1, c_in, c_out);
            }
            c_in = c_out;
        }
    }
    n + c_in * classes + classes
}

#[test]
fn resnet_layout_counts_names_and_shapes() {
    let device = Device::flex();
    let spec = ModelSpec {
        kind: ModelKind::Resnet,
        blocks: vec![2, 1, 1],
        width: 8,
        ..ModelSpec::default()
    };
    let shape = ModelShape {
        input: [3, 32, 32],
        classes: 10,
    };
    let model = Model::build(&spec, shape, &device).unwrap();
    assert_eq!(model.num_params(), resnet_params(3, &[2, 1, 1], 8, 10));
    let y = model.forward(Tensor::zeros([2, 3, 32, 32], &device));
    assert_eq!(y.dims(), [2, 10]);
    // Odd sizes: the strided stages round up, as PyTorch's padding-1 convs do.
    let model = Model::build(
        &spec,
        ModelShape {
            input: [1, 7, 5],
            classes: 3,
        },
        &device,
    )
    .unwrap();
    assert_eq!(
        model.forward(Tensor::zeros([1, 1, 7, 5], &device)).dims(),
        [1, 3]
    );

    let layout = crate::params::ParamLayout::of(&model);
    let names: Vec<&str> = layout.entries.iter().map(|e| e.name.as_str()).collect();
    for name in [
        "conv1.weight",
        "layer1.0.conv1.weight",
        "layer1.1.conv2.bias",
        "layer2.0.shortcut.weight",
        "layer3.0.conv2.weight",
        "linear.weight",
    ] {
        assert!(names.contains(&name), "{name} not in {names:?}");
    }
    assert!(!names.iter().any(|n| n.starts_with("layer1.0.shortcut")));
    assert_eq!(
        layout.get("layer2.0.shortcut.weight").unwrap().torch_shape,
        [16, 8, 1, 1]
    );
    assert_eq!(layout.get("layer2.0.conv1.bias").unwrap().fan_in, 8 * 9);

    for (blocks, width, field) in [
        (vec![], 8, "model.blocks"),
        (vec![1, 0], 8, "model.blocks"),
        (vec![1], 0, "model.width"),
    ] {
        let bad = ModelSpec {
            blocks,
            width,
            ..spec.clone()
        };
        let err = Model::build(&bad, shape, &device).unwrap_err().to_string();
        assert!(err.contains(field), "{err}");
    }
}

#[test]
fn resnet18_layout_has_its_parameter_count() {
    // PreActResNet-18 on CIFAR-10 has 11,172,170 parameters with batch norm and bias-free
    // convs (`preact-resnet18`, checked against PyTorch in `torch_oracle.rs`). Here there is no batch norm and every conv has a bias: counted by hand,
    // 1,792 (stem) + 147,712 + 524,928 + 2,098,432 + 8,391,168 (stages) + 5,130 (linear).
    let spec = ModelSpec {
        kind: ModelKind::Resnet,
        ..ModelSpec::default()
    };
    let shape = ModelShape {
        input: [3, 32, 32],
        classes: 10,
    };
    let model = Model::build(&spec, shape, &Device::flex()).unwrap();
    assert_eq!(model.num_params(), 11_169_162);
}

#[test]
fn build_rejects_tiny_inputs() {
    let spec = ModelSpec::default();
    let shape = ModelShape {
        input: [1, 8, 8],
        classes: 10,
    };
    let err = Model::build(&spec, shape, &Device::flex()).unwrap_err();
    assert!(err.to_string().contains("10x10"), "{err}");
}

/// Input normalisation on the BN-free models: the model on x equals the same weights
/// without it on (x − mean)/std, logits and parameter gradients alike, and the input
/// gradient is the plain one scaled by 1/std per channel (the CNN then leaves its
/// hand-written passes to autodiff, which this compares with the hand-written plain one).
#[test]
fn input_normalisation_is_a_first_layer_of_every_model() {
    use crate::params::{flat_gradient, init_seeded, to_host};
    let device = Device::flex().autodiff();
    let mean = [0.2, 0.5];
    let std = [0.25, 2.0];
    for kind in [ModelKind::Mlp, ModelKind::Cnn, ModelKind::Resnet] {
        let plain_spec = ModelSpec {
            kind,
            hidden: vec![5],
            blocks: vec![1],
            width: 3,
            ..ModelSpec::default()
        };
        let spec = ModelSpec {
            normalize: Some(advland_schema::Normalize {
                mean: mean.to_vec(),
                std: std.to_vec(),
            }),
            ..plain_spec.clone()
        };
        let shape = ModelShape {
            input: [2, 12, 12],
            classes: 3,
        };
        let plain = init_seeded(Model::build(&plain_spec, shape, &device).unwrap(), 4).unwrap();
        let normed = init_seeded(Model::build(&spec, shape, &device).unwrap(), 4).unwrap();
        let x = Tensor::<4>::random(
            [3, 2, 12, 12],
            burn::tensor::Distribution::Uniform(0.0, 1.0),
            &device,
        );
        let per_channel = |v: [f64; 2]| {
            Tensor::<4>::from_data(
                burn::tensor::TensorData::new(v.map(|a| a as f32).to_vec(), [1, 2, 1, 1]),
                &device,
            )
        };
        let z = (x.clone() - per_channel(mean)) / per_channel(std);
        let close = |a: Vec<f32>, b: Vec<f32>, what: &str| {
            for (p, q) in a.iter().zip(&b) {
                assert!(
                    (p - q).abs() <= 1e-5 * q.abs().max(1.0),
                    "{kind:?} {what}: {p} vs {q}"
                );
            }
        };
        let a = normed.forward(x.clone());
        let b = plain.forward(z.clone());
        close(
            to_host(&a.clone().reshape([9])),
            to_host(&b.clone().reshape([9])),
            "logits",
        );
        close(
            to_host(&flat_gradient(&normed, &a.sum().backward())),
            to_host(&flat_gradient(&plain, &b.sum().backward())),
            "parameter gradient",
        );
        let labels = Tensor::<1, Int>::from_data(
            burn::tensor::TensorData::new(vec![0i64, 2, 1], [3]),
            &device,
        );
        let input_gradient = |m: &Model, x: Tensor<4>| {
            m.loss_input_gradient(&x, &labels).unwrap_or_else(|| {
                let x = x.detach().require_grad();
                let loss = cross_entropy(m.forward(x.clone()), labels.clone()).sum();
                x.grad(&loss.backward()).unwrap()
            })
        };
        let g_normed = input_gradient(&normed, x);
        let g_plain = input_gradient(&plain, z);
        let inv_std = Tensor::<4>::from_data(
            burn::tensor::TensorData::new(std.map(|s| (1.0 / s) as f32).to_vec(), [1, 2, 1, 1]),
            &g_plain.device(),
        );
        close(
            to_host(&g_normed.reshape([864])),
            to_host(&(g_plain * inv_std).reshape([864])),
            "input gradient",
        );
    }
}

#[test]
fn the_cpu_device_splits_batches_into_chunks_with_or_without_autodiff() {
    assert_eq!(chunk_for(&Device::flex()), CHUNK);
    assert_eq!(chunk_for(&Device::flex().autodiff()), CHUNK);
}
