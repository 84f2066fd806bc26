//! Hessian oracles on a tiny ReLU MLP (874 parameters): the dense Hessian built column by
//! column from finite-difference HVPs through the frozen activation pattern, decomposed by
//! nalgebra, against power iteration and Lanczos; and the HVP error in f64 and f32.

// A test helper that unwraps fails the test, which is what it is for.
#![allow(clippy::unwrap_used)]

use advland_analysis::hessian::{
    FiniteDifferenceHessian, LanczosConfig, PowerIterationConfig, lanczos, top_eigenpairs,
};
use advland_analysis::model_objective::{ModelObjective, ObjectiveSpec, Precision};
use advland_analysis::{LinearOperator, ObjectiveKind};
use advland_data::Dataset;
use advland_schema::{ModelKind, ModelSpec};
use advland_train::params::init_seeded;
use advland_train::{Model, ModelShape};
use burn::tensor::Device;
use nalgebra::{DMatrix, SymmetricEigen};

/// 64 random 4×4 "images" with labels from a fixed rule, and a 16-32-10 ReLU MLP.
fn tiny(precision: Precision) -> ModelObjective {
    let device = Device::flex().autodiff();
    let mut state = 7u64;
    let mut next = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 40) as f32 / (1u64 << 24) as f32
    };
    let images: Vec<f32> = (0..64 * 16).map(|_| next()).collect();
    let labels: Vec<u8> = images
        .chunks(16)
        .map(|x| (x.iter().sum::<f32>() * 3.0) as u8 % 10)
        .collect();
    let names = (0..10).map(|i| i.to_string()).collect();
    let data = Dataset::new("tiny", images, labels, [1, 4, 4], names).unwrap();
    let spec = ModelSpec {
        kind: ModelKind::Mlp,
        hidden: vec![32],
        ..ModelSpec::default()
    };
    let shape = ModelShape {
        input: [1, 4, 4],
        classes: 10,
    };
    let model = init_seeded(Model::build(&spec, shape, &device).unwrap(), 5).unwrap();
    let spec = ObjectiveSpec {
        kind: ObjectiveKind::Clean,
        attack: None,
        precision,
        batch_size: 64,
        seed: 0,
        freeze_activations: true,
    };
    ModelObjective::new(&model, &data, &spec, &device).unwrap()
}

fn dense(op: &dyn LinearOperator) -> DMatrix<f64> {
    let m = op.dim();
    let mut h = DMatrix::zeros(m, m);
    let mut e = vec![0.0; m];
    for j in 0..m {
        e[j] = 1.0;
        let column = op.apply(&e).unwrap();
        e[j] = 0.0;
        for (i, v) in column.into_iter().enumerate() {
            h[(i, j)] = v;
        }
    }
    h
}

#[test]
fn power_iteration_and_lanczos_match_dense_hessian_of_a_tiny_mlp() {
    let objective = tiny(Precision::F64);
    let theta = objective.reference();
    assert_eq!(theta.len(), 16 * 32 + 32 + 32 * 10 + 10);
    let op = FiniteDifferenceHessian::new(&objective, theta, 1e-4).unwrap();
    let h = dense(&op);
    let symmetry = (&h - h.transpose()).norm() / h.norm();
    eprintln!("relative symmetry error ‖H − Hᵀ‖/‖H‖ = {symmetry:.3e}");
    assert!(symmetry < 1e-6, "FD Hessian not symmetric: {symmetry}");
    let mut exact: Vec<f64> = SymmetricEigen::new((&h + h.transpose()) * 0.5)
        .eigenvalues
        .iter()
        .copied()
        .collect();
    exact.sort_by(|a, b| b.abs().total_cmp(&a.abs()));
    let config = PowerIterationConfig {
        k: 5,
        tol: 1e-7,
        max_iter: 2000,
        seed: 1,
    };
    let found = top_eigenpairs(&op, &config).unwrap();
    for (i, (est, want)) in found.iter().zip(&exact).enumerate() {
        eprintln!("λ{}: power {:+.6e}, dense {:+.6e}", i + 1, est.value, want);
        assert!(
            (est.value - want).abs() <= 0.01 * want.abs(),
            "λ{}: {} vs {want}",
            i + 1,
            est.value
        );
    }
    let ritz = lanczos(
        &op,
        &LanczosConfig {
            steps: 60,
            seed: 2,
            settle: None,
        },
    )
    .unwrap();
    let top = ritz.largest(1)[0];
    let max = exact.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    assert!(
        (top - max).abs() <= 1e-3 * max.abs(),
        "Lanczos λmax {top} vs {max}"
    );
}

#[test]
fn hvp_error_is_small_in_f64_and_documented_in_f32() {
    let f64_objective = tiny(Precision::F64);
    let theta = f64_objective.reference();
    let v: Vec<f64> = (0..theta.len())
        .map(|i| ((i * 37) % 11) as f64 - 5.0)
        .collect();
    let hv = |o: &ModelObjective, h: f64| {
        FiniteDifferenceHessian::new(o, theta.clone(), h)
            .unwrap()
            .apply(&v)
            .unwrap()
    };
    // Richardson: (4·D(h/2) − D(h))/3 cancels the O(h²) term; the reference for both dtypes.
    let d1 = hv(&f64_objective, 2e-3);
    let d2 = hv(&f64_objective, 1e-3);
    let reference: Vec<f64> = d1
        .iter()
        .zip(&d2)
        .map(|(a, b)| (4.0 * b - a) / 3.0)
        .collect();
    let rel = |x: &[f64]| {
        let num: f64 = x.iter().zip(&reference).map(|(a, b)| (a - b).powi(2)).sum();
        let den: f64 = reference.iter().map(|b| b * b).sum();
        (num / den).sqrt()
    };
    let f64_error = rel(&hv(&f64_objective, 1e-4));
    let f32_objective = tiny(Precision::F32);
    let f32_errors: Vec<(f64, f64)> = [1e-1, 1e-2, 1e-3]
        .iter()
        .map(|&h| (h, rel(&hv(&f32_objective, h))))
        .collect();
    let forward_errors: Vec<(f64, f64)> = [1e-6, 1e-7, 1e-8]
        .iter()
        .map(|&h| {
            let op = FiniteDifferenceHessian::forward(&f64_objective, theta.clone(), h).unwrap();
            (h, rel(&op.apply(&v).unwrap()))
        })
        .collect();
    eprintln!(
        "relative HVP error: f64 h=1e-4 {f64_error:.2e}; f64 forward {forward_errors:?}; \
         f32 {f32_errors:?}"
    );
    assert!(f64_error < 1e-6, "f64 HVP error {f64_error}");
    // The forward scheme at `sharpness`'s f64 step, 1e-7: O(h) truncation, still far below the
    // 1e-3 tolerance of the eigen-solvers.
    assert!(
        forward_errors[1].1 < 1e-6,
        "f64 forward HVP error {forward_errors:?}"
    );
    // f32 cannot reach f64's accuracy at any step: rounding (~1e-7/h) meets truncation (~h²).
    let best_f32 = f32_errors.iter().map(|e| e.1).fold(f64::INFINITY, f64::min);
    assert!(best_f32 > 10.0 * f64_error);
}
