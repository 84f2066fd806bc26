//! The logit Lipschitz estimate on a linear model f(x) = Wx + b, where the sup of
//! ‖W(x' − x)‖₂/‖x' − x‖ over the interior of the ball is known: σ_max(W) for L2 (the top
//! right singular vector fits in the ball) and ‖W‖_{∞→2} = max over sign vectors s of ‖Ws‖₂
//! for L∞ (a convex function on the L∞ unit ball peaks at a vertex).

// A test helper that unwraps fails the test, which is what it is for.
#![allow(clippy::unwrap_used)]

use advland_analysis::flatness::logit_lipschitz;
use advland_schema::{ModelKind, ModelSpec, Norm, PgdSettings};
use advland_train::attack::Attack;
use advland_train::params::{from_host, load_flat};
use advland_train::{Model, ModelShape};
use burn::tensor::{DType, Device, Tensor, TensorData};
use nalgebra::DMatrix;

const D: usize = 8;
const C: usize = 3;

fn pseudo_random(n: usize, seed: u64) -> Vec<f64> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (s >> 11) as f64 / (1u64 << 53) as f64
        })
        .collect()
}

/// W (C×D) in multiples of 1/16, exact in f32, and the linear model f(x) = Wx + b.
fn linear(device: &Device) -> (DMatrix<f64>, Model) {
    let w: Vec<f64> = pseudo_random(C * D, 17)
        .iter()
        .map(|v| ((v - 0.5) * 64.0).round() / 16.0)
        .collect();
    let w = DMatrix::from_row_slice(C, D, &w);
    let spec = ModelSpec {
        kind: ModelKind::Mlp,
        hidden: vec![],
        ..ModelSpec::default()
    };
    let shape = ModelShape {
        input: [1, 2, 4],
        classes: C,
    };
    let model = Model::build(&spec, shape, device).unwrap();
    // burn's Linear weight is [in, out], then the bias.
    let mut flat: Vec<f32> = Vec::new();
    for i in 0..D {
        for c in 0..C {
            flat.push(w[(c, i)] as f32);
        }
    }
    flat.extend([0.5f32, -0.25, 0.125]);
    (w, load_flat(model, from_host(flat, device)).unwrap())
}

/// Inputs in [0.3, 0.7] with ε = 0.05: the [0,1] box never binds.
fn inputs(b: usize, device: &Device) -> Tensor<4> {
    let x: Vec<f64> = pseudo_random(b * D, 23)
        .iter()
        .map(|v| 0.3 + 0.4 * v)
        .collect();
    Tensor::from_data(TensorData::new(x, [b, 1, 2, 4]), (device, DType::F64))
}

fn settings(norm: Norm, steps: usize, restarts: usize) -> PgdSettings {
    PgdSettings {
        restarts,
        ..PgdSettings::new(norm, 0.05, steps)
    }
}

#[test]
fn l2_estimate_approaches_top_singular_value_from_below() {
    let device = Device::flex().autodiff();
    let (w, model) = linear(&device);
    let sigma = w.clone().svd(false, false).singular_values.max();
    let s = settings(Norm::L2, 400, 3);
    let out = logit_lipschitz(&model, inputs(4, &device), &Attack::new(s), 9).unwrap();
    for (n, &e) in out.estimate.iter().enumerate() {
        let rel = (sigma - e) / sigma;
        eprintln!("L2 example {n}: estimate {e:.10} sigma_max {sigma:.10} rel gap {rel:.2e}");
        assert!(
            e <= sigma * (1.0 + 1e-9),
            "{n}: {e} above sigma_max {sigma}"
        );
        assert!(rel < 1e-3, "{n}: {e} vs sigma_max {sigma}");
    }
    assert_eq!(out.cost.backward, 4 * 400 * 3);
}

#[test]
fn linf_estimate_lies_between_top_singular_sign_vector_and_exact_operator_norm() {
    let device = Device::flex().autodiff();
    let (w, model) = linear(&device);
    // ‖W‖_{∞→2} by enumerating the 2^D vertices of the unit L∞ ball.
    let exact = (0..1u32 << D)
        .map(|bits| {
            let s =
                nalgebra::DVector::from_fn(D, |i, _| if bits >> i & 1 == 1 { 1.0 } else { -1.0 });
            (&w * s).norm()
        })
        .fold(0.0f64, f64::max);
    let svd = w.clone().svd(false, true);
    let top = svd
        .singular_values
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .unwrap()
        .0;
    let v1 = svd.v_t.unwrap().row(top).transpose();
    let at_sign = (&w * v1.map(f64::signum)).norm();
    let s = settings(Norm::Linf, 100, 4);
    let out = logit_lipschitz(&model, inputs(4, &device), &Attack::new(s), 9).unwrap();
    for (n, &e) in out.estimate.iter().enumerate() {
        eprintln!(
            "Linf example {n}: estimate {e:.10} at sign(v1) {at_sign:.10} exact {exact:.10} rel gap {:.2e}",
            (exact - e) / exact
        );
        assert!(
            e <= exact * (1.0 + 1e-9),
            "{n}: {e} above ‖W‖_inf->2 = {exact}"
        );
        assert!(
            e >= at_sign * (1.0 - 1e-9),
            "{n}: {e} below ‖W sign(v1)‖ = {at_sign}"
        );
    }
}

#[test]
fn lipschitz_refuses_a_start_at_x() {
    let device = Device::flex().autodiff();
    let (_, model) = linear(&device);
    let s = PgdSettings {
        random_start: false,
        ..settings(Norm::L2, 3, 1)
    };
    assert!(logit_lipschitz(&model, inputs(1, &device), &Attack::new(s), 0).is_err());
}
