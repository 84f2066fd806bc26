//! PGD against the closed-form optimal attack on a linear binary classifier.
//!
//! Two logits z = Wᵀx + b form the margin m = y·(w₁ − w₀)ᵀx + const with y = ±1 for labels
//! 1/0; cross-entropy is decreasing in m, so the loss-maximising perturbation minimises
//! y·wᵀδ over the ball (w = w₁ − w₀). By Hölder: δ* = −ε·y·sign(w) for L∞ and
//! δ* = −ε·y·w/‖w‖₂ for L2 (paper.md §2.3), provided the [0,1] box is inactive — inputs sit
//! at 0.5 and ε ≤ 0.2 here.

// A test helper that unwraps fails the test, which is what it is for.
#![allow(clippy::unwrap_used)]

use advland_schema::{Norm, PgdSettings};
use advland_train::params::to_host;
use advland_train::{Attack, Batch, Model, pgd_attack};
use burn::tensor::{Device, Int, Tensor, TensorData};

const D: usize = 12;

/// The 2-logit linear model with margin direction `w` and zero bias.
fn linear_model(w: &[f32], device: &Device) -> Model {
    let w: Vec<f64> = w.iter().map(|&v| f64::from(v)).collect();
    Model::two_class_linear([1, 3, 4], &w, 0.0, device).unwrap()
}

fn weights() -> Vec<f32> {
    (0..D)
        .map(|i| {
            if i % 3 == 0 {
                -0.7
            } else {
                0.2 + 0.1 * i as f32
            }
        })
        .collect()
}

fn optimum(norm: Norm, eps: f64, w: &[f32], y: f32) -> Vec<f32> {
    let norm2 = w.iter().map(|v| v * v).sum::<f32>().sqrt();
    w.iter()
        .map(|wi| match norm {
            Norm::Linf => -(eps as f32) * y * wi.signum(),
            Norm::L2 => -(eps as f32) * y * wi / norm2,
        })
        .collect()
}

fn check_pgd_reaches_closed_form(
    norm: Norm,
    eps: f64,
    random_start: bool,
    step_size: f64,
    tol: f32,
) {
    let steps = 40;
    let device = Device::flex().autodiff();
    let w = weights();
    let model = linear_model(&w, &device);
    let batch = Batch {
        images: Tensor::from_data(TensorData::new(vec![0.5f32; 2 * D], [2, 1, 3, 4]), &device),
        labels: Tensor::<1, Int>::from_data(TensorData::new(vec![0i64, 1], [2]), &device),
    };
    let mut pgd = PgdSettings::new(norm, eps, steps);
    pgd.step_size = step_size;
    pgd.random_start = random_start;
    let out = pgd_attack(&model, &batch, &Attack::new(pgd), 9);
    let adv = to_host(&out.adversarial.inner().reshape([2 * D]));
    for (example, y) in [(0usize, -1.0f32), (1, 1.0)] {
        let want = optimum(norm, eps, &w, y);
        for i in 0..D {
            let got = adv[example * D + i] - 0.5;
            assert!(
                (got - want[i]).abs() <= tol,
                "{norm} example {example} coord {i}: PGD δ = {got}, closed form {}",
                want[i]
            );
        }
    }
    assert_eq!(out.cost.forward, 2 * steps as u64);
}

#[test]
fn pgd_linf_reaches_closed_form_optimum() {
    check_pgd_reaches_closed_form(Norm::Linf, 0.1, false, 0.01, 1e-6);
    check_pgd_reaches_closed_form(Norm::Linf, 0.1, true, 0.01, 1e-6);
}

#[test]
fn pgd_l2_reaches_closed_form_optimum() {
    check_pgd_reaches_closed_form(Norm::L2, 0.2, false, 0.01, 1e-5);
    // From a random start the iterate slides along the sphere towards δ*, its tangential
    // error shrinking by about ε/(ε + α) per step: 40 steps of α = ε/2 leave ~1e-7·ε.
    check_pgd_reaches_closed_form(Norm::L2, 0.2, true, 0.1, 1e-5);
}

#[test]
fn pgd_keeps_inputs_in_the_unit_box() {
    let device = Device::flex().autodiff();
    let w = weights();
    let model = linear_model(&w, &device);
    let pixels: Vec<f32> = (0..2 * D)
        .map(|i| if i % 2 == 0 { 0.0 } else { 1.0 })
        .collect();
    let batch = Batch {
        images: Tensor::from_data(TensorData::new(pixels, [2, 1, 3, 4]), &device),
        labels: Tensor::<1, Int>::from_data(TensorData::new(vec![0i64, 1], [2]), &device),
    };
    for norm in [Norm::Linf, Norm::L2] {
        let attack = Attack::new(PgdSettings::new(norm, 0.5, 10));
        let out = pgd_attack(&model, &batch, &attack, 1);
        let adv = to_host(&out.adversarial.inner().reshape([2 * D]));
        assert!(
            adv.iter().all(|v| (0.0..=1.0).contains(v)),
            "{norm}: {adv:?}"
        );
    }
}

#[test]
fn restarts_keep_the_worst_per_example() {
    // With restarts the loss at the returned point is at least that of a single run from
    // the same first start.
    let device = Device::flex().autodiff();
    let model = linear_model(&weights(), &device);
    let batch = Batch {
        images: Tensor::from_data(TensorData::new(vec![0.5f32; 2 * D], [2, 1, 3, 4]), &device),
        labels: Tensor::<1, Int>::from_data(TensorData::new(vec![0i64, 1], [2]), &device),
    };
    let mut one = PgdSettings::new(Norm::L2, 0.2, 2);
    one.step_size = 0.01;
    let mut many = one.clone();
    many.restarts = 4;
    let loss = |x: Tensor<4>| {
        to_host(&advland_train::loss::cross_entropy(model.forward(x), batch.labels.clone()).inner())
    };
    let a = loss(pgd_attack(&model, &batch, &Attack::new(one), 3).adversarial);
    let out = pgd_attack(&model, &batch, &Attack::new(many), 3);
    let b = loss(out.adversarial);
    for (x, y) in a.iter().zip(&b) {
        assert!(y + 1e-6 >= *x, "restarts lost loss: {y} < {x}");
    }
    assert_eq!(out.cost.backward, 2 * 2 * 4);
}
