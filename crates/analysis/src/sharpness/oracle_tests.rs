//! The weight-perturbation estimators against closed forms on f(θ) = ½(θ − θ₀)ᵀA(θ − θ₀)
//! (+ a linear term away from the minimum), written as [`Quadratic`] with b = −Aθ₀ + c.
//!
//! With δ = D u (D = diag|θ₀| for the adaptive balls, I otherwise) the increase at the minimum
//! is ½uᵀ(DAD)u, so: worst case over ‖u‖₂ ≤ ρ: ½ρ²λmax(DAD); over ‖u‖∞ ≤ ρ with A diagonal
//! and positive: ½ρ² tr(DAD) (a corner); average over u ~ N(0, ρ²I): ½ρ² tr(DAD), with
//! variance ½ρ⁴ tr((DAD)²). Away from the minimum, f(θ₀ + δ) − f(θ₀) = gᵀδ + ½δᵀAδ ≥ gᵀδ, so
//! the worst case is at least max gᵀDu = ρ‖Dg‖_* and, A being PSD, at most that plus the
//! curvature term.

// A single tensor spanning θ is a one-element list of ranges, which is what the lint flags.
#![allow(clippy::single_range_in_vec_init)]

use advland_schema::{Estimator, PerturbedParams, WeightBall};
use nalgebra::{DMatrix, SymmetricEigen};

use super::ascent::{AscentSettings, ascend, average_increase};
use super::ball::Ball;
use super::config::WeightPerturbationConfig;
use super::weight::measure_batch;
use crate::Objective;
use crate::objective::Quadratic;

const THETA0: [f64; 5] = [0.8, -1.5, 0.3, 2.0, -0.6];

/// A fixed symmetric positive definite 5×5 matrix with distinct eigenvalues.
fn matrix() -> Vec<f64> {
    let b = DMatrix::from_row_slice(
        5,
        5,
        &[
            1.0, 0.2, -0.3, 0.0, 0.5, //
            0.1, 2.0, 0.4, -0.2, 0.0, //
            0.0, 0.3, 0.7, 0.1, -0.4, //
            0.2, 0.0, 0.1, 1.5, 0.3, //
            -0.1, 0.2, 0.0, 0.3, 0.9,
        ],
    );
    let a = &b * b.transpose() + DMatrix::identity(5, 5) * 0.1;
    a.as_slice().to_vec()
}

/// ½(θ − θ₀)ᵀA(θ − θ₀) + cᵀθ.
fn shifted(a: &[f64], c: &[f64]) -> Quadratic {
    let n = THETA0.len();
    let b = (0..n)
        .map(|i| -(0..n).map(|j| a[i * n + j] * THETA0[j]).sum::<f64>() + c[i])
        .collect();
    Quadratic { a: a.to_vec(), b }
}

/// D A D for the adaptive balls, A otherwise.
fn scaled(a: &[f64], adaptive: bool) -> DMatrix<f64> {
    let d = |i: usize| if adaptive { THETA0[i].abs() } else { 1.0 };
    DMatrix::from_fn(5, 5, |i, j| d(i) * a[i * 5 + j] * d(j))
}

fn worst_case(q: &Quadratic, kind: WeightBall, rho: f64, rand_init: bool) -> f64 {
    let ball = Ball::new(kind, rho, &THETA0, &[0..5]);
    let loss0 = q.loss(&THETA0).unwrap();
    let settings = AscentSettings {
        iterations: 200,
        step_size_mult: 1.0,
        rand_init,
        seed: 3,
    };
    ascend(q, &THETA0, loss0, &ball, &settings).unwrap().loss - loss0
}

fn check_worst_case_l2_at_the_minimum(kind: WeightBall) {
    let a = matrix();
    let q = shifted(&a, &[0.0; 5]);
    let rho = 0.1;
    let m = scaled(&a, kind == WeightBall::AdaptiveL2);
    let lambda_max = SymmetricEigen::new(m).eigenvalues.max();
    let expected = 0.5 * rho * rho * lambda_max;
    let got = worst_case(&q, kind, rho, true);
    assert!(
        (got - expected).abs() <= 1e-6 * expected,
        "{kind:?}: {got} vs ½ρ²λmax = {expected}"
    );
}

#[test]
fn worst_case_l2_at_a_minimum_is_half_rho_squared_lambda_max() {
    check_worst_case_l2_at_the_minimum(WeightBall::L2);
}

#[test]
fn worst_case_adaptive_l2_at_a_minimum_is_half_rho_squared_lambda_max_of_dad() {
    check_worst_case_l2_at_the_minimum(WeightBall::AdaptiveL2);
}

#[test]
fn worst_case_linf_on_a_diagonal_quadratic_is_a_corner() {
    let diag = [1.0, 3.0, 0.5, 2.0, 4.0];
    let a: Vec<f64> = (0..25)
        .map(|k| if k % 6 == 0 { diag[k / 5] } else { 0.0 })
        .collect();
    let q = shifted(&a, &[0.0; 5]);
    let rho = 0.05;
    for (kind, d2) in [
        (WeightBall::Linf, [1.0; 5]),
        (WeightBall::AdaptiveLinf, THETA0.map(|t| t * t)),
    ] {
        let expected: f64 = 0.5 * rho * rho * diag.iter().zip(d2).map(|(a, d)| a * d).sum::<f64>();
        let got = worst_case(&q, kind, rho, true);
        assert!(
            (got - expected).abs() <= 1e-12 * expected,
            "{kind:?}: {got} vs {expected}"
        );
    }
}

#[test]
fn worst_case_away_from_the_minimum_is_at_least_the_first_order_term() {
    let a = matrix();
    let c = [0.3, -0.2, 0.5, 0.1, -0.4];
    let q = shifted(&a, &c);
    let (_, g) = q.loss_and_gradient(&THETA0).unwrap();
    let rho = 0.02;
    for kind in [
        WeightBall::L2,
        WeightBall::AdaptiveL2,
        WeightBall::Linf,
        WeightBall::AdaptiveLinf,
    ] {
        let adaptive = matches!(kind, WeightBall::AdaptiveL2 | WeightBall::AdaptiveLinf);
        let dg: Vec<f64> = (0..5)
            .map(|i| g[i] * if adaptive { THETA0[i].abs() } else { 1.0 })
            .collect();
        let (dual, radius_sq) = match kind {
            WeightBall::L2 | WeightBall::AdaptiveL2 => {
                (dg.iter().map(|x| x * x).sum::<f64>().sqrt(), rho * rho)
            }
            _ => (dg.iter().map(|x| x.abs()).sum::<f64>(), 5.0 * rho * rho),
        };
        let first_order = rho * dual;
        let curvature =
            0.5 * radius_sq * SymmetricEigen::new(scaled(&a, adaptive)).eigenvalues.max();
        let got = worst_case(&q, kind, rho, false);
        assert!(
            got >= first_order * (1.0 - 1e-12),
            "{kind:?}: {got} < ρ‖Dg‖_* = {first_order}"
        );
        assert!(
            got <= first_order + curvature,
            "{kind:?}: {got} above the quadratic's bound"
        );
    }
}

#[test]
fn average_case_is_half_rho_squared_trace_within_monte_carlo_error() {
    let a = matrix();
    let q = shifted(&a, &[0.0; 5]);
    let rho = 0.1;
    let samples = 4000;
    for (kind, adaptive) in [(WeightBall::L2, false), (WeightBall::AdaptiveL2, true)] {
        let m = scaled(&a, adaptive);
        let expected = 0.5 * rho * rho * m.trace();
        // Var ½uᵀMu = ½ρ⁴ tr(M²) for u ~ N(0, ρ²I).
        let se = (0.5 * rho.powi(4) * (&m * &m).trace() / f64::from(samples)).sqrt();
        let ball = Ball::new(kind, rho, &THETA0, &[0..5]);
        let loss0 = q.loss(&THETA0).unwrap();
        let (mean, reported_se, _) =
            average_increase(&q, &THETA0, loss0, &ball, samples as usize, 11).unwrap();
        assert!(
            (mean - expected).abs() <= 4.0 * se,
            "{kind:?}: {mean} vs ½ρ²tr = {expected} (s.e. {se})"
        );
        let reported_se = reported_se.unwrap();
        assert!(
            (reported_se / se - 1.0).abs() < 0.1,
            "{reported_se} vs {se}"
        );
    }
}

#[test]
fn awp_one_step_is_the_layerwise_normalised_gradient() {
    let a = matrix();
    let c = [0.3, -0.2, 0.5, 0.1, -0.4];
    let q = shifted(&a, &c);
    let config = WeightPerturbationConfig {
        gamma: 0.05,
        iterations: 10,
        perturbed: PerturbedParams::Weights,
        ..WeightPerturbationConfig::default()
    };
    // Two "tensors", and a fifth coordinate that is not perturbed.
    let layers = [0..2, 2..4];
    let batch = measure_batch(Estimator::Awp, &config, &q, &THETA0, &layers, 0).unwrap();
    let (loss0, g) = q.loss_and_gradient(&THETA0).unwrap();
    let mut theta = THETA0.to_vec();
    for r in &layers {
        let w = THETA0[r.clone()].iter().map(|x| x * x).sum::<f64>().sqrt();
        let gn = g[r.clone()].iter().map(|x| x * x).sum::<f64>().sqrt();
        for i in r.clone() {
            theta[i] += config.gamma * w * g[i] / gn;
        }
    }
    let expected = q.loss(&theta).unwrap() - loss0;
    let one_step = batch.one_step_increase.unwrap();
    assert!(
        (one_step - expected).abs() < 1e-14,
        "{one_step} vs {expected}"
    );
    // The first ascent iterate is the one-step point; later ones only climb.
    assert!((batch.trace[0] - expected).abs() < 1e-14);
    assert!(batch.increase >= one_step);
}
