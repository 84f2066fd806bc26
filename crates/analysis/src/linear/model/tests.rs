//! Closed forms against finite differences, brute force and each other.

use super::*;
use nalgebra::{DMatrix, SymmetricEigen};

/// n = 12 examples in d = 4, labels alternating, inputs in a bounded range.
fn data() -> BinaryLinearData {
    let mut rng = SplitMix64::new(7);
    let (n, d) = (12, 4);
    let x = (0..n * d).map(|_| rng.uniform() * 2.0 - 1.0).collect();
    let y = (0..n)
        .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
        .collect();
    BinaryLinearData::new(x, y, d).unwrap()
}

fn loss(norm: Norm, bias: bool) -> AdversarialLinearLoss {
    AdversarialLinearLoss::new(data(), norm, 0.3, bias).unwrap()
}

const THETA: [f64; 5] = [0.8, -0.5, 0.3, -1.1, 0.2];

#[test]
fn logistic_loss_matches_naive_formula_and_is_stable() {
    for m in [-5.0f64, -0.3, 0.0, 0.7, 4.0] {
        let naive = (1.0 + (-m).exp()).ln();
        assert!((logistic_loss(m) - naive).abs() < 1e-15);
        let h = 1e-5;
        let fd1 = (logistic_loss(m + h) - logistic_loss(m - h)) / (2.0 * h);
        let fd2 = (logistic_loss_d1(m + h) - logistic_loss_d1(m - h)) / (2.0 * h);
        assert!((logistic_loss_d1(m) - fd1).abs() < 1e-9, "ℓ' at {m}");
        assert!((logistic_loss_d2(m) - fd2).abs() < 1e-9, "ℓ'' at {m}");
    }
    assert_eq!(logistic_loss(-800.0), 800.0);
    assert!(logistic_loss(800.0) >= 0.0 && logistic_loss(40.0) > 0.0);
    assert_eq!(logistic_loss_d1(-800.0), -1.0);
    assert!(logistic_loss_d2(800.0) >= 0.0 && logistic_loss_d2(0.0) == 0.25);
}

#[test]
fn new_rejects_bad_labels_and_shapes() {
    assert!(BinaryLinearData::new(vec![0.0; 4], vec![1.0, 0.0], 2).is_err());
    assert!(BinaryLinearData::new(vec![0.0; 3], vec![1.0, -1.0], 2).is_err());
    assert!(BinaryLinearData::new(vec![], vec![], 2).is_err());
    assert!(AdversarialLinearLoss::new(data(), Norm::L2, -0.1, false).is_err());
    assert!(loss(Norm::L2, true).loss(&THETA[..4]).is_err());
}

/// The closed form is the true inner maximum: no vertex of the L∞ cube (which contains
/// the maximiser of a monotone function of a linear score) nor any sampled point of the L2
/// sphere beats ℓ(y(wᵀx + b) − ε‖w‖_q), and δ* = −yε s(w) attains it.
fn check_closed_form_is_the_inner_max(norm: Norm) {
    let l = loss(norm, true);
    let (w, b, eps) = (&THETA[..4], THETA[4], l.eps());
    let margins = l.margins(&THETA).unwrap();
    let s = l.dual_direction(w);
    let mut rng = SplitMix64::new(3);
    for (k, &m) in margins.iter().enumerate() {
        let (x, y) = (l.data().row(k), l.data().y()[k]);
        let attacked = |delta: &[f64]| {
            let xd: Vec<f64> = x.iter().zip(delta).map(|(a, b)| a + b).collect();
            logistic_loss(y * (dot(w, &xd) + b))
        };
        let star: Vec<f64> = s.iter().map(|si| -y * eps * si).collect();
        assert!((attacked(&star) - logistic_loss(m)).abs() < 1e-14);
        let candidates: Vec<Vec<f64>> = match norm {
            Norm::Linf => (0..16u32)
                .map(|c| {
                    (0..4)
                        .map(|i| if c >> i & 1 == 1 { eps } else { -eps })
                        .collect()
                })
                .collect(),
            Norm::L2 => (0..200)
                .map(|_| {
                    let mut u: Vec<f64> = (0..4).map(|_| normal(&mut rng)).collect();
                    normalize(&mut u);
                    u.iter().map(|v| v * eps).collect()
                })
                .collect(),
        };
        for delta in candidates {
            assert!(
                attacked(&delta) <= logistic_loss(m) + 1e-14,
                "{norm} example {k}"
            );
        }
    }
}

#[test]
fn closed_form_linf_is_the_inner_max() {
    check_closed_form_is_the_inner_max(Norm::Linf);
}

#[test]
fn closed_form_l2_is_the_inner_max() {
    check_closed_form_is_the_inner_max(Norm::L2);
}

fn check_gradient_and_hessian_match_finite_differences(norm: Norm) {
    let l = loss(norm, true);
    let (_, g) = l.loss_and_gradient(&THETA).unwrap();
    let hess = l.hessian(&THETA).unwrap();
    let h = 1e-5;
    for j in 0..5 {
        let mut plus = THETA.to_vec();
        plus[j] += h;
        let mut minus = THETA.to_vec();
        minus[j] -= h;
        let (lp, gp) = l.loss_and_gradient(&plus).unwrap();
        let (lm, gm) = l.loss_and_gradient(&minus).unwrap();
        assert!(
            (g[j] - (lp - lm) / (2.0 * h)).abs() < 1e-9,
            "{norm} ∂L/∂θ_{j}"
        );
        for k in 0..5 {
            let fd = (gp[k] - gm[k]) / (2.0 * h);
            assert!((hess[k * 5 + j] - fd).abs() < 1e-8, "{norm} H[{k},{j}]");
        }
    }
}

#[test]
fn gradient_and_hessian_linf_match_finite_differences() {
    check_gradient_and_hessian_match_finite_differences(Norm::Linf);
}

#[test]
fn gradient_and_hessian_l2_match_finite_differences() {
    check_gradient_and_hessian_match_finite_differences(Norm::L2);
}

fn check_hessian_is_psd(norm: Norm) {
    let h = loss(norm, true).hessian(&THETA).unwrap();
    let eig = SymmetricEigen::new(DMatrix::from_row_slice(5, 5, &h)).eigenvalues;
    assert!(eig.min() > -1e-14, "{norm}: L is convex, got {eig}");
}

#[test]
fn hessian_linf_is_positive_semidefinite() {
    check_hessian_is_psd(Norm::Linf);
}

#[test]
fn hessian_l2_is_positive_semidefinite() {
    check_hessian_is_psd(Norm::L2);
}

#[test]
fn hessian_refuses_points_where_it_does_not_exist() {
    let mut theta = THETA;
    theta[2] = 0.0;
    assert!(loss(Norm::Linf, true).hessian(&theta).is_err());
    assert!(loss(Norm::L2, true).hessian(&theta).is_ok());
    assert!(
        loss(Norm::L2, true)
            .hessian(&[0.0, 0.0, 0.0, 0.0, 0.3])
            .is_err()
    );
}

/// At w_i = 0 the gradient with sign(0) = 0 is the midpoint of the two one-sided limits
/// (the centre of the convex loss's subdifferential interval), half a jump from each.
#[test]
fn linf_gradient_on_hyperplane_is_midpoint_of_one_sided_limits() {
    let l = loss(Norm::Linf, false);
    let mut theta = THETA[..4].to_vec();
    theta[1] = 0.0;
    let t = 1e-9;
    let g = |v: f64| {
        let mut p = theta.clone();
        p[1] = v;
        l.loss_and_gradient(&p).unwrap().1[1]
    };
    let (left, mid, right) = (g(-t), g(0.0), g(t));
    let jump = l.linf_jump(&theta, 1).unwrap();
    assert!((mid - 0.5 * (left + right)).abs() < 1e-8);
    assert!(
        ((right - left) - jump).abs() < 1e-8 * jump,
        "{right} - {left} vs {jump}"
    );
}

#[test]
fn l2_jump_is_zero_unless_crossing_passes_through_origin() {
    let l = loss(Norm::L2, false);
    assert_eq!(l.linf_jump(&THETA[..4], 0).unwrap(), 0.0);
    let axis = [0.4, 0.0, 0.0, 0.0];
    let predicted = l.linf_jump(&axis, 0).unwrap();
    let measured = l.gradient_jump(&axis, 0, 1e-9).unwrap();
    assert!(predicted > 0.0 && (measured - predicted).abs() < 1e-7 * predicted);
}

/// Across ŵ and every a_n = (y x_n − εŵ, y) only the curvature term of ∇²L acts: with
/// x = (0.6, 0.8, 0) and w ∥ x, e₃ is such a direction and H e₃ = ε·mean|ℓ'|/‖w‖·e₃ (L2).
/// ‖·‖₁ is piecewise linear: L∞ has neither the term nor the bound built on it.
#[test]
fn curvature_term_is_the_hessian_across_w_and_only_l2_has_one() {
    let data = BinaryLinearData::new(vec![0.6, 0.8, 0.0], vec![1.0], 3).unwrap();
    let theta = [-6.0, -8.0, 0.0, 2.0];
    let l = AdversarialLinearLoss::new(data.clone(), Norm::L2, 0.1, true).unwrap();
    let term = l.curvature_term(&theta).unwrap().unwrap();
    assert!((term - 0.1 * l.mean_abs_slope(&theta).unwrap() / 10.0).abs() < 1e-15);
    let h = l.hessian(&theta).unwrap();
    for row in 0..4 {
        let want = if row == 2 { term } else { 0.0 };
        assert!(
            (h[row * 4 + 2] - want).abs() < 1e-15,
            "H[{row}][2] = {}",
            h[row * 4 + 2]
        );
    }
    let linf = AdversarialLinearLoss::new(data, Norm::Linf, 0.1, true).unwrap();
    assert_eq!(linf.curvature_term(&theta).unwrap(), None);
    assert_eq!(linf.smoothness_bound(&theta[..3]).unwrap(), None);
}

/// One example with w = −c·y·x̂ and b chosen so that m = 0: a = (y x − εŵ, y) has norm²
/// (‖x‖ + ε)² + 1 and ℓ''(0) = 1/4, so the top eigenvalue is the bound's data term exactly
/// (the curvature term acts on ŵ^⊥, orthogonal to a).
#[test]
fn smoothness_bound_is_attained_by_a_worst_case_l2_example() {
    let data = BinaryLinearData::new(vec![0.6, 0.8, 0.0], vec![1.0], 3).unwrap();
    let (eps, c) = (0.1, 10.0);
    let l = AdversarialLinearLoss::new(data, Norm::L2, eps, true).unwrap();
    let theta = [-c * 0.6, -c * 0.8, 0.0, c + eps * c];
    assert!(l.margins(&theta).unwrap()[0].abs() < 1e-14);
    let h = l.hessian(&theta).unwrap();
    let top = SymmetricEigen::new(DMatrix::from_row_slice(4, 4, &h))
        .eigenvalues
        .max();
    let bound = l.smoothness_bound(&theta[..3]).unwrap().unwrap();
    assert!((top - (1.1f64 * 1.1 + 1.0) / 4.0).abs() < 1e-12, "{top}");
    assert!(
        top <= bound && bound - top <= eps / c + 1e-12,
        "{top} vs {bound}"
    );
}

#[test]
fn local_lipschitz_of_a_hessian_is_reached_along_its_range() {
    // κ is a max of secant ratios, so it never exceeds the largest Hessian eigenvalue
    // over the probed ball, and with many directions gets within a modest factor of it.
    let l = loss(Norm::L2, true);
    let h = l.hessian(&THETA).unwrap();
    let top = SymmetricEigen::new(DMatrix::from_row_slice(5, 5, &h))
        .eigenvalues
        .max();
    let kappa = l.local_lipschitz(&THETA, 1e-6, 200, 1).unwrap();
    assert!(
        kappa <= top * (1.0 + 1e-4) && kappa >= 0.5 * top,
        "{kappa} vs {top}"
    );
    assert!(kappa <= l.smoothness_bound(&THETA[..4]).unwrap().unwrap());
    assert!(l.local_lipschitz(&THETA, 0.0, 1, 0).is_err());
}
