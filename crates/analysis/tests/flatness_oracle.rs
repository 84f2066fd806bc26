//! Input-space flatness against closed forms (linear model), dense Hessians (ReLU MLP) and
//! finite differences of the loss.

// A test helper that unwraps fails the test, which is what it is for.
#![allow(clippy::unwrap_used)]

use advland_analysis::flatness::{
    ExampleFlatness, GradientFn, InputFlatnessConfig, InputHessian, estimate_input_flatness,
    input_flatness, loss_curves,
};
use advland_analysis::precision::central_difference_step;
use advland_schema::{ModelKind, ModelSpec, Precision};
use advland_train::params::init_seeded;
use advland_train::{Model, ModelShape};
use burn::tensor::{DType, Device, Int, Tensor, TensorData};
use nalgebra::{DMatrix, SymmetricEigen};

const D: usize = 12;

/// The 2-logit linear model with margin direction `w` and zero bias.
fn linear_model(w: &[f64], device: &Device) -> Model {
    Model::two_class_linear([1, 3, 4], w, 0.0, device).unwrap()
}

/// Weights exactly representable in f32, so the f64 copy of the model has exactly w.
fn weights() -> Vec<f64> {
    (0..D)
        .map(|i| {
            if i % 3 == 0 {
                -0.75
            } else {
                0.25 * i as f64 - 1.0
            }
        })
        .collect()
}

fn images(values: Vec<f64>, dims: [usize; 4], device: &Device) -> Tensor<4> {
    Tensor::from_data(TensorData::new(values, dims), (device, DType::F64))
}

fn labels(values: Vec<i64>, device: &Device) -> Tensor<1, Int> {
    let n = values.len();
    Tensor::from_data(TensorData::new(values, [n]), device)
}

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

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(1e-300)
}

#[test]
fn linear_model_matches_rank_one_closed_form() {
    let device = Device::flex().autodiff();
    let w = weights();
    let model = linear_model(&w, &device);
    let b = 4;
    let x = pseudo_random(b * D, 7);
    let y = vec![0i64, 1, 1, 0];
    let samples = 400;
    let config = InputFlatnessConfig {
        trace_samples: samples,
        seed: 3,
        ..InputFlatnessConfig::default()
    };
    let out = input_flatness(
        &model,
        images(x.clone(), [b, 1, 3, 4], &device),
        labels(y.clone(), &device),
        &config,
    )
    .unwrap();
    let w2: f64 = w.iter().map(|v| v * v).sum();
    let w4: f64 = w.iter().map(|v| v.powi(4)).sum();
    let w1: f64 = w.iter().map(|v| v.abs()).sum();
    for (n, e) in out.iter().enumerate() {
        // Margin of the true class: ±wᵀx; p = σ(margin) is its softmax probability.
        let sign = if y[n] == 1 { 1.0 } else { -1.0 };
        let m = sign * (0..D).map(|i| w[i] * x[n * D + i]).sum::<f64>();
        let p = 1.0 / (1.0 + (-m).exp());
        let curv = p * (1.0 - p) * w2;
        assert!(rel(e.loss, -p.ln()) < 1e-10, "{n}: {e:?}");
        assert!(rel(e.grad_l2, (1.0 - p) * w2.sqrt()) < 1e-3, "{n}: {e:?}");
        assert!(rel(e.grad_l1, (1.0 - p) * w1) < 1e-3, "{n}: {e:?}");
        assert!(rel(e.hessian_top, curv) < 1e-3, "{n}: {e:?} want {curv}");
        assert!(
            rel(e.curvature_along_gradient, curv) < 1e-3,
            "{n}: {e:?} want {curv}"
        );
        // H = uuᵀ, u = √(p(1−p))·w: zᵀHz = (uᵀz)² has variance 2Σ_{i≠j}u_i²u_j² per probe.
        let var = 2.0 * (p * (1.0 - p)).powi(2) * (w2 * w2 - w4);
        let std = (var / samples as f64).sqrt();
        assert!(
            (e.hessian_trace - curv).abs() < 4.0 * std,
            "{n}: trace {} want {curv} ± {std}",
            e.hessian_trace
        );
        // The estimate is not trivially exact: the tolerance is a real bound.
        assert!(std > 1e-3 * curv, "{std}");
    }
}

/// A ReLU MLP 16 → 12 → 5 with seeded weights.
fn relu_mlp(device: &Device) -> Model {
    let spec = ModelSpec {
        kind: ModelKind::Mlp,
        hidden: vec![12],
        ..ModelSpec::default()
    };
    let shape = ModelShape {
        input: [1, 4, 4],
        classes: 5,
    };
    init_seeded(Model::build(&spec, shape, device).unwrap(), 11).unwrap()
}

#[test]
fn relu_mlp_top_eigenvalue_matches_dense_hessian() {
    let device = Device::flex().autodiff();
    let model = relu_mlp(&device);
    let (b, d) = (3, 16);
    let x = pseudo_random(b * d, 5);
    let y = vec![0i64, 3, 4];
    let dims = [b, 1, 4, 4];
    let op = InputHessian::new(
        &model,
        images(x.clone(), dims, &device),
        labels(y.clone(), &device),
        1e-4,
        true,
    )
    .unwrap();
    // Column j of every example's Hessian from one batched HVP along e_j.
    let mut dense = vec![DMatrix::<f64>::zeros(d, d); b];
    for j in 0..d {
        let mut v = vec![0.0; b * d];
        for n in 0..b {
            v[n * d + j] = 1.0;
        }
        let hv = op.apply(&v, j).unwrap();
        for n in 0..b {
            for i in 0..d {
                dense[n][(i, j)] = hv[n * d + i];
            }
        }
    }
    let config = InputFlatnessConfig {
        power_iterations: 400,
        top_k: 3,
        ..InputFlatnessConfig::default()
    };
    let out = input_flatness(
        &model,
        images(x.clone(), dims, &device),
        labels(y.clone(), &device),
        &config,
    )
    .unwrap();
    for n in 0..b {
        let h = &dense[n];
        let asym = (h - h.transpose()).amax();
        assert!(asym < 1e-6 * h.amax(), "{n}: asymmetry {asym}");
        let eig = SymmetricEigen::new((h + h.transpose()) * 0.5);
        let top = eig
            .eigenvalues
            .iter()
            .copied()
            .max_by(|a, b| a.abs().total_cmp(&b.abs()))
            .unwrap();
        assert!(top.abs() > 1e-6, "{n}: degenerate Hessian");
        assert!(
            rel(out[n].hessian_top, top) < 1e-3,
            "{n}: power {} dense {top}",
            out[n].hessian_top
        );
        let mut exact: Vec<f64> = eig.eigenvalues.iter().copied().collect();
        exact.sort_by(|a, b| b.abs().total_cmp(&a.abs()));
        assert_eq!(out[n].hessian_top_k.len(), 3);
        assert_eq!(out[n].hessian_top_k[0], out[n].hessian_top);
        for (j, (est, want)) in out[n].hessian_top_k.iter().zip(&exact).enumerate() {
            // The input Hessian has rank ≤ min(active units, classes − 1): the zero
            // eigenvalues are matched in absolute terms, at rounding level.
            let err = (est - want).abs();
            eprintln!(
                "relu mlp example {n} eigenvalue {j}: {est:.6e} vs {want:.6e}, error {err:.2e}"
            );
            assert!(
                err < 1e-3 * want.abs() + 1e-9 * top.abs(),
                "{n}/{j}: power {est} dense {want}"
            );
        }
        // Rademacher zᵀHz has variance 2Σ_{i≠j}H_ij² per probe.
        let off: f64 = (0..d)
            .flat_map(|i| (0..d).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| h[(i, j)].powi(2))
            .sum();
        let std = (2.0 * off / config.trace_samples as f64).sqrt();
        assert!(
            (out[n].hessian_trace - h.trace()).abs() < 4.0 * std,
            "{n}: trace {} dense {} ± {std}",
            out[n].hessian_trace,
            h.trace()
        );
        // CE∘affine has a PSD input Hessian.
        assert!(eig.eigenvalues.min() > -1e-6 * top.abs(), "{n}");
    }

    // Input-gradient norms against central differences of the loss along each e_j.
    let step = 1e-6;
    let mut fd = vec![0.0; b * d];
    for j in 0..d {
        let mut e = vec![0.0; b * d];
        for n in 0..b {
            e[n * d + j] = 1.0;
        }
        let curves = loss_curves(
            &model,
            images(x.clone(), dims, &device),
            labels(y.clone(), &device),
            &images(e, dims, &device),
            &[step, -step],
        )
        .unwrap();
        for n in 0..b {
            fd[n * d + j] = (curves[0][n] - curves[1][n]) / (2.0 * step);
        }
    }
    for (n, e) in out.iter().enumerate() {
        let g = &fd[n * d..(n + 1) * d];
        let l2 = g.iter().map(|v| v * v).sum::<f64>().sqrt();
        let l1: f64 = g.iter().map(|v| v.abs()).sum();
        assert!(rel(e.grad_l2, l2) < 1e-6, "{n}: {} vs fd {l2}", e.grad_l2);
        assert!(rel(e.grad_l1, l1) < 1e-6, "{n}: {} vs fd {l1}", e.grad_l1);
    }
}

#[test]
fn frozen_pattern_reproduces_the_live_gradient_at_x() {
    let device = Device::flex().autodiff();
    let model = relu_mlp(&device);
    let (b, d) = (4, 16);
    let x = pseudo_random(b * d, 9);
    let dims = [b, 1, 4, 4];
    let make = |freeze| {
        InputHessian::new(
            &model,
            images(x.clone(), dims, &device),
            labels(vec![1, 2, 0, 4], &device),
            1e-4,
            freeze,
        )
        .unwrap()
    };
    let (frozen, live) = (make(true), make(false));
    let (loss_f, grad_f) = frozen.gradient_at(&x).unwrap();
    let (loss_l, grad_l) = live.gradient_at(&x).unwrap();
    assert_eq!(grad_f, grad_l);
    assert_eq!(loss_f, loss_l);
    assert_eq!(grad_f, frozen.gradient());
    assert!(grad_f.iter().any(|g| *g != 0.0));
    // Summaries at x agree whatever the gating; the curvature may only differ via switches.
    let run = |freeze_activations| -> Vec<ExampleFlatness> {
        let config = InputFlatnessConfig {
            freeze_activations,
            ..InputFlatnessConfig::default()
        };
        input_flatness(
            &model,
            images(x.clone(), dims, &device),
            labels(vec![1, 2, 0, 4], &device),
            &config,
        )
        .unwrap()
    };
    let (f, l) = (run(true), run(false));
    for (a, c) in f.iter().zip(&l) {
        assert_eq!(
            (a.loss, a.grad_l2, a.grad_l1),
            (c.loss, c.grad_l2, c.grad_l1)
        );
    }
}

#[test]
fn linear_model_is_unaffected_by_freezing_and_f32_inputs_work() {
    let device = Device::flex().autodiff();
    let model = linear_model(&weights(), &device);
    let x = pseudo_random(2 * D, 1);
    let run = |freeze_activations, dtype, precision| {
        let config = InputFlatnessConfig {
            freeze_activations,
            fd_step: central_difference_step(precision),
            ..InputFlatnessConfig::default()
        };
        let imgs =
            Tensor::<4>::from_data(TensorData::new(x.clone(), [2, 1, 3, 4]), (&device, dtype));
        input_flatness(&model, imgs, labels(vec![1, 0], &device), &config).unwrap()
    };
    let (a, b) = (
        run(true, DType::F64, Precision::F64),
        run(false, DType::F64, Precision::F64),
    );
    assert_eq!(a, b);
    // f32 at its own step agrees with f64 to a few 1e-4; at f64's step it loses digits.
    let c = run(true, DType::F32, Precision::F32);
    let coarse = run(true, DType::F32, Precision::F64);
    let err = |f: &ExampleFlatness, e: &ExampleFlatness| {
        rel(f.hessian_top, e.hessian_top).max(rel(f.hessian_trace, e.hessian_trace))
    };
    for ((e, f), g) in a.iter().zip(&c).zip(&coarse) {
        assert!(rel(f.grad_l2, e.grad_l2) < 1e-5, "{e:?} {f:?}");
        assert!(err(f, e) < 1e-3, "{e:?} {f:?}");
        assert!(err(f, e) < err(g, e), "{e:?} {f:?} {g:?}");
    }
}

#[test]
fn invalid_settings_are_rejected() {
    let device = Device::flex().autodiff();
    let model = linear_model(&weights(), &device);
    let imgs = || images(vec![0.5; D], [1, 1, 3, 4], &device);
    for config in [
        InputFlatnessConfig {
            fd_step: 0.0,
            ..InputFlatnessConfig::default()
        },
        InputFlatnessConfig {
            power_iterations: 0,
            ..InputFlatnessConfig::default()
        },
        InputFlatnessConfig {
            trace_samples: 0,
            ..InputFlatnessConfig::default()
        },
    ] {
        assert!(input_flatness(&model, imgs(), labels(vec![0], &device), &config).is_err());
    }
    let err = input_flatness(
        &model,
        imgs(),
        labels(vec![0, 1], &device),
        &InputFlatnessConfig::default(),
    );
    assert!(err.is_err());
}

/// Q·diag(λ)·Qᵀ with a seeded random orthogonal Q (identity when `rotate` is false).
fn matrix_with_spectrum(eigenvalues: &[f64], rotate: bool, seed: u64) -> DMatrix<f64> {
    let n = eigenvalues.len();
    let diag = DMatrix::from_diagonal(&nalgebra::DVector::from_row_slice(eigenvalues));
    if !rotate {
        return diag;
    }
    let r: Vec<f64> = pseudo_random(n * n, seed).iter().map(|v| v - 0.5).collect();
    let q = DMatrix::from_row_slice(n, n, &r).qr().q();
    &q * diag * q.transpose()
}

/// ℓ_n(x) = ½xᵀA_n x + b_nᵀx per example: the input Hessian is A_n everywhere, so the
/// estimators (finite-difference HVPs, lockstep power iteration with deflation, Hutchinson,
/// curvature along the gradient) are checked against nalgebra's eigenvalues, tr A_n and
/// gᵀA_n g/‖g‖² (g = A_n x + b_n). Central differences are exact on a quadratic, so what is
/// left is the estimators' own error.
#[test]
fn quadratic_in_x_matches_dense_eigenvalues_trace_and_curvature() {
    let d = 10;
    let spectra: [Vec<f64>; 3] = [
        // Diagonal: Hutchinson with Rademacher probes is exact.
        (0..d).map(|i| 3.0 * 0.6f64.powi(i as i32) + 0.1).collect(),
        // Negative dominant eigenvalue (a saddle), rotated.
        (0..d)
            .map(|i| match i {
                0 => -4.0,
                1 => 2.5,
                2 => -1.5,
                _ => 0.5 / (i as f64),
            })
            .collect(),
        // PSD with a gap, rotated.
        (0..d).map(|i| 5.0 * 0.7f64.powi(i as i32)).collect(),
    ];
    let a: Vec<DMatrix<f64>> = spectra
        .iter()
        .enumerate()
        .map(|(n, s)| matrix_with_spectrum(s, n > 0, 20 + n as u64))
        .collect();
    let b_vec: Vec<f64> = pseudo_random(3 * d, 31).iter().map(|v| v - 0.5).collect();
    let x = pseudo_random(3 * d, 32);
    let (a_fn, b_fn) = (a.clone(), b_vec.clone());
    let source = GradientFn::new(3, d, move |x: &[f64]| {
        let mut loss = Vec::new();
        let mut grad = Vec::new();
        for (n, an) in a_fn.iter().enumerate() {
            let xn = nalgebra::DVector::from_column_slice(&x[n * d..(n + 1) * d]);
            let bn = nalgebra::DVector::from_column_slice(&b_fn[n * d..(n + 1) * d]);
            let g = an * &xn + &bn;
            loss.push(0.5 * xn.dot(&(an * &xn)) + bn.dot(&xn));
            grad.extend(g.iter());
        }
        Ok((loss, grad))
    });
    let op = InputHessian::from_gradients(source, x.clone(), 1e-4).unwrap();
    let samples = 400;
    let config = InputFlatnessConfig {
        power_iterations: 300,
        top_k: 4,
        trace_samples: samples,
        seed: 5,
        ..InputFlatnessConfig::default()
    };
    let out = estimate_input_flatness(&op, &config).unwrap();
    for (n, e) in out.iter().enumerate() {
        let an = &a[n];
        let xn = nalgebra::DVector::from_column_slice(&x[n * d..(n + 1) * d]);
        let bn = nalgebra::DVector::from_column_slice(&b_vec[n * d..(n + 1) * d]);
        let g = an * &xn + &bn;
        assert!(rel(e.loss, 0.5 * xn.dot(&(an * &xn)) + bn.dot(&xn)) < 1e-12);
        assert!(rel(e.grad_l2, g.norm()) < 1e-12);
        let mut exact: Vec<f64> = SymmetricEigen::new(an.clone())
            .eigenvalues
            .iter()
            .copied()
            .collect();
        exact.sort_by(|p, q| q.abs().total_cmp(&p.abs()));
        assert_eq!(e.hessian_top_k.len(), 4);
        assert_eq!(e.hessian_top, e.hessian_top_k[0]);
        for (j, (est, want)) in e.hessian_top_k.iter().zip(&exact).enumerate() {
            eprintln!(
                "quadratic example {n} eigenvalue {j}: {est} vs {want}, rel error {:.2e}",
                rel(*est, *want)
            );
            assert!(rel(*est, *want) < 1e-3, "{n}/{j}: {est} vs {want}");
        }
        let curvature = g.dot(&(an * &g)) / g.norm_squared();
        eprintln!(
            "quadratic example {n} curvature: rel error {:.2e}",
            rel(e.curvature_along_gradient, curvature)
        );
        assert!(rel(e.curvature_along_gradient, curvature) < 1e-3);
        let off: f64 = (0..d)
            .flat_map(|i| (0..d).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| an[(i, j)].powi(2))
            .sum();
        let std = (2.0 * off / samples as f64).sqrt();
        eprintln!(
            "quadratic example {n} trace: rel error {:.2e} (std {std:.2e})",
            rel(e.hessian_trace, an.trace())
        );
        if n == 0 {
            assert!(rel(e.hessian_trace, an.trace()) < 1e-3);
        } else {
            assert!(
                (e.hessian_trace - an.trace()).abs() < 4.0 * std,
                "{n}: {} ± {std}",
                e.hessian_trace
            );
        }
    }
    // k larger than the input dimension is refused.
    let too_many = InputFlatnessConfig {
        top_k: d + 1,
        ..config
    };
    assert!(estimate_input_flatness(&op, &too_many).is_err());
}

fn softplus(z: f64) -> f64 {
    if z > 0.0 {
        z + (-z).exp().ln_1p()
    } else {
        z.exp().ln_1p()
    }
}

/// Two-class linear model, margin m = s·wᵀx (s = ±1 for y = 1/0): ℓ = softplus(−m), so
/// ∇ₓℓ = −σ(−m)·s·w and u = −s·w/‖w‖. Along u the margin falls by ‖w‖ per unit, and v ⊥ u
/// leaves it alone: ℓ(x + a·u + b·v) = softplus(a‖w‖ − m) for every b, and the prediction is
/// the true class while m − a‖w‖ > 0.
#[test]
fn input_surface_of_linear_model_matches_closed_form() {
    let device = Device::flex().autodiff();
    let w = weights();
    let model = linear_model(&w, &device);
    let x = pseudo_random(D, 3);
    let norm_w = w.iter().map(|v| v * v).sum::<f64>().sqrt();
    let random = pseudo_random(D, 4);
    let a: Vec<f64> = (0..9).map(|i| -2.0 + 0.5 * f64::from(i)).collect();
    let b = [-1.0, 0.0, 0.7];
    for y in [0i64, 1] {
        let s = if y == 1 { 1.0 } else { -1.0 };
        let m = s * (0..D).map(|i| w[i] * x[i]).sum::<f64>();
        let out = advland_analysis::flatness::input_surface(
            &model,
            images(x.clone(), [1, 1, 3, 4], &device),
            labels(vec![y], &device),
            &random,
            &a,
            &b,
            4,
        )
        .unwrap();
        for (i, ui) in out.u.iter().enumerate() {
            assert!((ui + s * w[i] / norm_w).abs() < 1e-9, "u = −s·w/‖w‖");
        }
        assert_eq!(out.loss.len(), a.len() * b.len());
        let mut worst: f64 = 0.0;
        for (bi, _) in b.iter().enumerate() {
            for (ai, &av) in a.iter().enumerate() {
                let k = bi * a.len() + ai;
                let want = softplus(av * norm_w - m);
                worst = worst.max(rel(out.loss[k], want));
                assert!(
                    rel(out.loss[k], want) < 1e-9,
                    "({av}, {bi}): {} vs {want}",
                    out.loss[k]
                );
                let margin = m - av * norm_w;
                let expected = if margin > 0.0 { y } else { 1 - y };
                assert_eq!(
                    out.predicted[k] as i64, expected,
                    "({av}, {bi}) margin {margin}"
                );
            }
        }
        eprintln!("linear surface (y = {y}): worst rel error {worst:.2e}");
    }
}

/// On a ReLU MLP: the centre is the example's loss, and the b = 0 row is the 1-D gradient
/// curve of [`loss_curves`].
#[test]
fn input_surface_centre_is_the_loss_and_its_axis_is_the_gradient_curve() {
    let device = Device::flex().autodiff();
    let model = relu_mlp(&device);
    let d = 16;
    let dims = [1, 1, 4, 4];
    let x = pseudo_random(d, 12);
    let a = [-0.2, -0.1, 0.0, 0.1, 0.2];
    let b = [-0.1, 0.0, 0.1];
    let out = advland_analysis::flatness::input_surface(
        &model,
        images(x.clone(), dims, &device),
        labels(vec![2], &device),
        &pseudo_random(d, 13),
        &a,
        &b,
        7,
    )
    .unwrap();
    let op = InputHessian::new(
        &model,
        images(x.clone(), dims, &device),
        labels(vec![2], &device),
        1e-4,
        false,
    )
    .unwrap();
    assert!((out.loss[a.len() + 2] - op.losses()[0]).abs() < 1e-12);
    let curve = loss_curves(
        &model,
        images(x, dims, &device),
        labels(vec![2], &device),
        &images(out.u.clone(), dims, &device),
        &a,
    )
    .unwrap();
    for (ai, c) in curve.iter().enumerate() {
        assert!((out.loss[a.len() + ai] - c[0]).abs() < 1e-12, "{ai}");
    }
    let uv: f64 = out.u.iter().zip(&out.v).map(|(p, q)| p * q).sum();
    assert!(uv.abs() < 1e-12);
    assert!(out.predicted.iter().all(|&p| p < 5));
}
