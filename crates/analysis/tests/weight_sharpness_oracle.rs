//! `sharpness::measure` worst-case and awp against PyTorch (`bench/weight_sharpness_oracle.py`,
//! fixture `tests/fixtures/weight_sharpness/mlp.json`): a 16-8-10 ReLU MLP with fixed weights
//! on 16 fixed inputs, clean loss in f64, m = 8, no random start, weight matrices perturbed.

// A test helper that unwraps fails the test, which is what it is for.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use advland_analysis::Subject;
use advland_analysis::sharpness::{self, SharpnessConfig, WeightPerturbationConfig};
use advland_data::Dataset;
use advland_schema::{
    Estimator, ModelKind, ModelSpec, ObjectiveKind, SharpnessEstimate, WeightBall,
    WeightSharpnessResult,
};
use advland_train::params::{ParamLayout, from_host, load_flat};
use advland_train::{Model, ModelShape, Silent};
use burn::tensor::Device;
use serde_json::Value;

/// Agreement asked of the oracle: both sides compute in f64 from the same f32 weights.
const TOL: f64 = 1e-9;

fn fixture() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/weight_sharpness/mlp.json");
    serde_json::from_slice(&fs_err::read(path).unwrap()).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

/// The fixture's model and data, θ in burn's layout (PyTorch's `Linear` weights transposed).
fn subject(f: &Value, device: &Device) -> Subject {
    #[allow(clippy::cast_possible_truncation)]
    let images: Vec<f32> = floats(&f["images"]).iter().map(|&x| x as f32).collect();
    let labels: Vec<u8> = f["labels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| u8::try_from(l.as_u64().unwrap()).unwrap())
        .collect();
    let names = (0..10).map(|i| i.to_string()).collect();
    let test = Dataset::new("oracle", images, labels, [1, 4, 4], names).unwrap();
    let spec = ModelSpec {
        kind: ModelKind::Mlp,
        hidden: vec![8],
        ..ModelSpec::default()
    };
    let shape = ModelShape {
        input: [1, 4, 4],
        classes: 10,
    };
    let model = Model::build(&spec, shape, device).unwrap();
    let mut theta = Vec::new();
    for e in ParamLayout::of(&model).entries {
        let values = floats(&f["params"][&e.name]);
        assert_eq!(values.len(), e.len, "{}", e.name);
        if e.transposed {
            let [rows, cols] = [e.torch_shape[0], e.torch_shape[1]];
            theta.extend((0..cols).flat_map(|c| {
                let values = &values;
                (0..rows).map(move |r| values[r * cols + c])
            }));
        } else {
            theta.extend(values);
        }
    }
    #[allow(clippy::cast_possible_truncation)]
    let theta: Vec<f32> = theta.iter().map(|&x| x as f32).collect();
    let model = load_flat(model, from_host(theta, device)).unwrap();
    Subject {
        model,
        test,
        checkpoint: "oracle".to_owned(),
        epoch: 0,
        trained_with: None,
        train: None,
    }
}

fn measure(
    s: &Subject,
    f: &Value,
    estimator: Estimator,
    ball: WeightBall,
    rho: f64,
) -> WeightSharpnessResult {
    let device = Device::flex().autodiff();
    let config = SharpnessConfig {
        estimator,
        objective: ObjectiveKind::Clean,
        subset: 16,
        perturbation: WeightPerturbationConfig {
            rho,
            ball,
            m: usize::try_from(f["m"].as_u64().unwrap()).unwrap(),
            iterations: usize::try_from(f["iterations"].as_u64().unwrap()).unwrap(),
            gamma: f["gamma"].as_f64().unwrap(),
            ..WeightPerturbationConfig::default()
        },
        ..SharpnessConfig::default()
    };
    let m = sharpness::measure(s, &[], &config, &device, &mut Silent).unwrap();
    match m.report.estimate {
        SharpnessEstimate::WorstCase(w) | SharpnessEstimate::Awp(w) => w,
        other => panic!("{other:?}"),
    }
}

fn close(got: f64, want: f64, what: &str) {
    assert!(
        (got - want).abs() <= TOL * want.abs().max(1.0),
        "{what}: advland {got:.15e} vs PyTorch {want:.15e}"
    );
}

#[test]
fn worst_case_sharpness_matches_pytorch_in_every_ball() {
    let f = fixture();
    let device = Device::flex().autodiff();
    let s = subject(&f, &device);
    for (name, ball) in [
        ("adaptive-l2", WeightBall::AdaptiveL2),
        ("l2", WeightBall::L2),
        ("linf", WeightBall::Linf),
        ("adaptive-linf", WeightBall::AdaptiveLinf),
    ] {
        let rho = f["rho"][name].as_f64().unwrap();
        let w = measure(&s, &f, Estimator::WorstCase, ball, rho);
        assert_eq!(w.batches.len(), 2);
        for (b, want) in w
            .batches
            .iter()
            .zip(f["expected"]["worst-case"][name].as_array().unwrap())
        {
            close(b.increase, want["increase"].as_f64().unwrap(), name);
            close(b.delta_norm, want["delta_norm"].as_f64().unwrap(), name);
        }
        for (b, want) in w.batches.iter().zip(floats(&f["expected"]["loss"])) {
            close(b.loss, want, "L(θ₀)");
        }
    }
}

#[test]
fn awp_perturbation_matches_pytorch() {
    let f = fixture();
    let device = Device::flex().autodiff();
    let s = subject(&f, &device);
    let w = measure(&s, &f, Estimator::Awp, WeightBall::AdaptiveL2, 0.1);
    let awp = &f["expected"]["awp"];
    for (i, b) in w.batches.iter().enumerate() {
        close(
            b.one_step_increase.unwrap(),
            awp["one_step"][i].as_f64().unwrap(),
            "AWP one step",
        );
        close(
            b.increase,
            awp["increase"][i].as_f64().unwrap(),
            "AWP ascent",
        );
    }
}
