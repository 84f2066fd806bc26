//! Per-example parameter gradients and their cosine similarities against PyTorch: the fixture
//! `tests/fixtures/perturbation/gradient_cosines.json` from
//! `bench/make_perturbation_fixture.py` (an MLP with fixed weights at fixed adversarial inputs,
//! torch.autograd in float64).

// A test helper that unwraps fails the test, which is what it is for.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use advland_analysis::perturbation::{cosine_stats, per_example_gradients};
use advland_analysis::vector::{dot, norm};
use advland_schema::{ModelKind, ModelSpec};
use advland_train::params::{ParamLayout, from_host, load_flat, theta_len};
use advland_train::{Model, ModelShape};
use burn::tensor::{DType, Device, Int, Tensor, TensorData};
use serde_json::Value;

fn numbers(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

#[test]
fn per_example_gradient_cosines_match_pytorch() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/perturbation/gradient_cosines.json");
    let fixture: Value = serde_json::from_str(&fs_err::read_to_string(path).unwrap()).unwrap();
    let device = Device::flex().autodiff();
    let spec = ModelSpec {
        kind: ModelKind::Mlp,
        hidden: vec![6],
        ..ModelSpec::default()
    };
    let shape = ModelShape {
        input: [1, 4, 4],
        classes: 3,
    };
    let model = Model::build(&spec, shape, &device).unwrap();
    let mut flat = vec![0f32; theta_len(&model)];
    for e in ParamLayout::of(&model).entries {
        let torch = numbers(&fixture["state_dict"][&e.name]["values"]);
        assert_eq!(torch.len(), e.len, "{}", e.name);
        for (i, v) in torch.iter().enumerate() {
            // PyTorch's Linear weight is [out, in]; burn keeps [in, out].
            let at = if e.transposed {
                let (out, inp) = (e.torch_shape[0], e.torch_shape[1]);
                (i % inp) * out + i / inp
            } else {
                i
            };
            flat[e.offset + at] = *v as f32;
        }
    }
    let model = load_flat(model, from_host(flat, &device))
        .unwrap()
        .in_dtype(DType::F64)
        .unwrap();
    let inputs = numbers(&fixture["inputs"]);
    let labels: Vec<i64> = numbers(&fixture["labels"])
        .iter()
        .map(|&l| l as i64)
        .collect();
    let n = labels.len();
    let x = Tensor::<4>::from_data(TensorData::new(inputs, [n, 1, 4, 4]), (&device, DType::F64));
    let y = Tensor::<1, Int>::from_data(TensorData::new(labels, [n]), &device);
    let rows = per_example_gradients(&model, &x, &y).unwrap();
    let m = rows.len() / n;
    let want_norms = numbers(&fixture["norms"]);
    let want = numbers(&fixture["cosines"]);
    let mut worst = 0f64;
    let mut pair = 0;
    for i in 0..n {
        let gi = &rows[i * m..(i + 1) * m];
        worst = worst.max((norm(gi) - want_norms[i]).abs());
        for j in i + 1..n {
            let gj = &rows[j * m..(j + 1) * m];
            let cos = dot(gi, gj) / (norm(gi) * norm(gj));
            worst = worst.max((cos - want[pair]).abs());
            pair += 1;
        }
    }
    let stats = cosine_stats(&rows, m, "gradients").unwrap();
    worst = worst.max((stats.mean - fixture["mean_cosine"].as_f64().unwrap()).abs());
    assert!(worst < 1e-5, "largest difference from PyTorch {worst:e}");
    eprintln!("largest difference from PyTorch: {worst:e}");
}
