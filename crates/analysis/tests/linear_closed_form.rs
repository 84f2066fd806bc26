//! The closed-form binary linear case (paper.md §2.3 [DERIVED], §3.2 E-A, claims C1/C2) against
//! finite differences, against PGD on the equivalent 2-logit burn model, and against its own
//! predictions of gradient jumps (L∞) and of the ε/‖w‖ smoothness blow-up (L2).
//!
//! Data: Fashion-MNIST T-shirt (0) vs Shirt (6), 300 bundled training images with pixels
//! squeezed to x = 0.5 + 0.1·(p − 0.5) ∈ [0.45, 0.55] so that with ε ≤ 0.05 the [0,1] box never
//! binds (the closed form ignores it), plus two small Gaussian blobs.

// A test helper that unwraps fails the test, which is what it is for.
#![allow(clippy::unwrap_used)]

use advland_analysis::Objective;
use advland_analysis::hessian::FiniteDifferenceHessian;
use advland_analysis::linear::{AdversarialLinearLoss, BinaryLinearData, logistic_loss_d1};
use advland_analysis::operator::LinearOperator;
use advland_data::Dataset;
use advland_schema::{Norm, PgdSettings};
use advland_train::loss::cross_entropy;
use advland_train::params::{flat_gradient, to_host};
use advland_train::{Attack, Batch, Model, pgd_attack};
use burn::tensor::Device;

const EPS: f64 = 0.05;

/// splitmix64 → uniform [0, 1); test-local so the weights do not depend on other crates' RNGs.
struct Rng(u64);

impl Rng {
    fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        let (u1, u2) = (1.0 - self.uniform(), self.uniform());
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

/// The T-shirt/Shirt pair, squeezed into [0.45, 0.55] (in f32, so the burn model sees exactly
/// the inputs the closed form sees).
fn fashion_pair() -> Dataset {
    let all = advland_data::fashion_mnist_bundled().unwrap().train;
    let mut pair = all
        .filter_classes(&[0, 6])
        .unwrap()
        .subset_evenly(300)
        .unwrap();
    for p in &mut pair.images {
        *p = 0.5 + 0.1 * (*p - 0.5);
    }
    pair
}

fn fashion_data(pair: &Dataset) -> BinaryLinearData {
    // `pair` is already filtered, so its classes are 0 and 1.
    BinaryLinearData::from_dataset(pair, [0, 1]).unwrap()
}

/// Two Gaussian blobs in d = 6 around ±0.5·1.
fn blobs() -> BinaryLinearData {
    let (n, d) = (40, 6);
    let mut rng = Rng(11);
    let y: Vec<f64> = (0..n)
        .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
        .collect();
    let x = y
        .iter()
        .flat_map(|&yi| (0..d).map(|_| 0.5 * yi + rng.normal()).collect::<Vec<_>>())
        .collect();
    BinaryLinearData::new(x, y, d).unwrap()
}

/// θ = (w, b) with |w_i| ∈ [lo, lo + 0.045], random signs, b = 0.1; every value is an f32 so
/// the f32 burn model holds exactly these weights.
fn theta(d: usize, lo: f64, seed: u64) -> Vec<f64> {
    let mut rng = Rng(seed);
    let mut t: Vec<f64> = (0..d)
        .map(|_| {
            let magnitude = lo + 0.045 * rng.uniform();
            let v = if rng.uniform() < 0.5 {
                -magnitude
            } else {
                magnitude
            };
            f64::from(v as f32)
        })
        .collect();
    t.push(0.1);
    t
}

fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

fn l2(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

fn mean_abs_d1(loss: &AdversarialLinearLoss, theta: &[f64]) -> f64 {
    let m = loss.margins(theta).unwrap();
    m.iter().map(|&v| logistic_loss_d1(v).abs()).sum::<f64>() / m.len() as f64
}

// ---------------------------------------------------------------------------------------------
// 1–2. Closed-form gradient and Hessian against finite differences.

/// Central differences of L (h = 1e-6, far from the L∞ kinks at |w_i| ≥ 0.005) reproduce ∇L,
/// and central differences of ∇L along random directions reproduce Hv.
fn check_derivatives(data: BinaryLinearData, norm: Norm, full_hessian: bool) {
    let d = data.d();
    let loss = AdversarialLinearLoss::new(data, norm, EPS, true).unwrap();
    let th = theta(d, 0.005, 5);
    let (_, g) = loss.loss_and_gradient(&th).unwrap();
    let h = 1e-6;
    let fd: Vec<f64> = (0..th.len())
        .map(|j| {
            let mut p = th.clone();
            p[j] += h;
            let mut m = th.clone();
            m[j] -= h;
            (loss.loss(&p).unwrap() - loss.loss(&m).unwrap()) / (2.0 * h)
        })
        .collect();
    let err: Vec<f64> = g.iter().zip(&fd).map(|(a, b)| a - b).collect();
    assert!(
        max_abs(&err) <= 1e-7 * max_abs(&g),
        "{norm}: gradient vs FD {} (|g|∞ {})",
        max_abs(&err),
        max_abs(&g)
    );

    let hess = loss.hessian(&th).unwrap();
    let p = th.len();
    let fdh = FiniteDifferenceHessian::new(&loss, th.clone(), 1e-5).unwrap();
    let probes: Vec<Vec<f64>> = if full_hessian {
        (0..p)
            .map(|j| (0..p).map(|k| f64::from(j == k)).collect())
            .collect()
    } else {
        let mut rng = Rng(17);
        (0..4)
            .map(|_| (0..p).map(|_| rng.normal()).collect())
            .collect()
    };
    for v in probes {
        let hv: Vec<f64> = hess
            .chunks_exact(p)
            .map(|row| row.iter().zip(&v).map(|(a, b)| a * b).sum())
            .collect();
        let fd = fdh.apply(&v).unwrap();
        let err: Vec<f64> = hv.iter().zip(&fd).map(|(a, b)| a - b).collect();
        assert!(
            l2(&err) <= 1e-6 * l2(&hv),
            "{norm}: Hv vs FD {} (|Hv| {})",
            l2(&err),
            l2(&hv)
        );
    }
}

#[test]
fn gradient_and_hessian_linf_match_finite_differences_on_blobs() {
    check_derivatives(blobs(), Norm::Linf, true);
}

#[test]
fn gradient_and_hessian_l2_match_finite_differences_on_blobs() {
    check_derivatives(blobs(), Norm::L2, true);
}

#[test]
fn gradient_and_hessian_linf_match_finite_differences_on_fashion() {
    check_derivatives(fashion_data(&fashion_pair()), Norm::Linf, false);
}

#[test]
fn gradient_and_hessian_l2_match_finite_differences_on_fashion() {
    check_derivatives(fashion_data(&fashion_pair()), Norm::L2, false);
}

// ---------------------------------------------------------------------------------------------
// 3. PGD + autodiff on the 2-logit burn model against the closed form.
//
// With logits z = (w₀ᵀx + b₀, w₁ᵀx + b₁), w₁ = w/2, w₀ = −w/2, b₁ = b/2, b₀ = −b/2, the
// cross-entropy of label k is log(1 + e^{−(z_k − z_other)}) = ℓ(y(wᵀx + b)) with y = +1 for
// label 1 and −1 for label 0. PGD without random start moves δ along the constant ascent
// direction −y·s(w) (L∞: sign steps; L2: normalised steps) and is clipped/projected onto the
// ball's optimum after ε/α = 20 of its 100 steps, so x + δ_PGD = x + δ*. Back-propagating CE
// at x + δ_PGD with δ fixed (Danskin) gives ∂/∂w₁ = mean ℓ'(m)·y(x + δ*) = mean ℓ'(m)(y x − ε
// s(w)) = ∇_w L, ∂/∂w₀ = −∇_w L, and likewise for the biases; the model computes in f32.

fn two_logit_model(theta: &[f64], image: [usize; 3], device: &Device) -> Model {
    let (w, b) = theta.split_at(theta.len() - 1);
    Model::two_class_linear(image, w, b[0], device).unwrap()
}

/// (∇θ of mean CE at the PGD points for w₁ and b₁, the same for w₀ and b₀, max |δ_PGD − δ*|).
fn pgd_gradient(
    pair: &Dataset,
    loss: &AdversarialLinearLoss,
    th: &[f64],
) -> (Vec<f64>, Vec<f64>, f64) {
    let device = Device::flex().autodiff();
    let model = two_logit_model(th, pair.shape, &device);
    let indices: Vec<usize> = (0..pair.len()).collect();
    let batch = Batch::gather(pair, &indices, &device);
    let mut pgd = PgdSettings::new(loss.norm(), loss.eps(), 100);
    pgd.step_size = loss.eps() / 20.0;
    pgd.random_start = false;
    let out = pgd_attack(&model, &batch, &Attack::new(pgd), 0);

    let d = pair.image_len();
    let adv = to_host(&out.adversarial.clone().inner().reshape([pair.len() * d]));
    let s = loss.dual_direction(&th[..d]);
    let mut delta_err = 0.0f64;
    for (k, &y) in loss.data().y().iter().enumerate() {
        for i in 0..d {
            let got = f64::from(adv[k * d + i]) - f64::from(pair.images[k * d + i]);
            delta_err = delta_err.max((got + y * loss.eps() * s[i]).abs());
        }
    }

    let ce = cross_entropy(model.forward(out.adversarial), batch.labels).mean();
    let grads = ce.backward();
    let g: Vec<f64> = to_host(&flat_gradient(&model, &grads))
        .into_iter()
        .map(f64::from)
        .collect();
    let one = (0..d).map(|i| g[2 * i + 1]).chain([g[2 * d + 1]]).collect();
    let zero = (0..d).map(|i| g[2 * i]).chain([g[2 * d]]).collect();
    (one, zero, delta_err)
}

fn check_pgd_matches_closed_form(norm: Norm, zero_weights: bool) {
    let pair = fashion_pair();
    let loss = AdversarialLinearLoss::new(fashion_data(&pair), norm, EPS, true).unwrap();
    let mut th = theta(pair.image_len(), 0.005, 5);
    if zero_weights {
        // Exactly on L∞ hyper-planes: PGD's input gradient is exactly 0 there and sign(0) = 0
        // leaves δ_i = 0, which is the closed form's sign(0) = 0 choice.
        for i in (0..th.len() - 1).step_by(7) {
            th[i] = 0.0;
        }
    }
    let (_, want) = loss.loss_and_gradient(&th).unwrap();
    let (g1, g0, delta_err) = pgd_gradient(&pair, &loss, &th);
    // x + δ is formed in f32 near 0.5 (ulp 6e-8); the L2 direction is normalised in f32 too.
    // Measured: 1.8e-8 (L∞), 6e-7 (L2).
    assert!(delta_err <= 5e-6, "{norm}: max |δ_PGD − δ*| = {delta_err}");
    let scale = max_abs(&want);
    let err1: Vec<f64> = g1.iter().zip(&want).map(|(a, b)| a - b).collect();
    let err0: Vec<f64> = g0.iter().zip(&want).map(|(a, b)| a + b).collect();
    // f32 forward/backward over 300 examples; measured 9e-7 (L∞) and 2.6e-6 (L2) relative.
    assert!(
        max_abs(&err1) <= 2e-5 * scale && max_abs(&err0) <= 2e-5 * scale,
        "{norm}: PGD ∂/∂w₁ off by {}, ∂/∂w₀ by {} (|∇L|∞ = {scale})",
        max_abs(&err1),
        max_abs(&err0)
    );
}

#[test]
fn pgd_gradient_linf_matches_closed_form() {
    check_pgd_matches_closed_form(Norm::Linf, false);
}

#[test]
fn pgd_gradient_l2_matches_closed_form() {
    check_pgd_matches_closed_form(Norm::L2, false);
}

#[test]
fn pgd_gradient_linf_on_hyperplanes_matches_sign_zero_closed_form() {
    check_pgd_matches_closed_form(Norm::Linf, true);
}

// ---------------------------------------------------------------------------------------------
// 4. Gradient jumps across w_i = 0 (claim C2).

/// L∞: ‖∇L(w_i = t) − ∇L(w_i = −t)‖ → 2ε·mean|ℓ'(m⁰)| as t → 0 (the other coordinates move
/// by O(t)), for several coordinates of the Fashion model.
#[test]
fn linf_gradient_jump_matches_two_eps_mean_abs_d1() {
    let pair = fashion_pair();
    let loss = AdversarialLinearLoss::new(fashion_data(&pair), Norm::Linf, EPS, true).unwrap();
    let th = theta(pair.image_len(), 0.005, 5);
    for i in [0, 100, 407, 783] {
        let predicted = loss.linf_jump(&th, i).unwrap();
        let mut at_zero = th.clone();
        at_zero[i] = 0.0;
        assert!((predicted - 2.0 * EPS * mean_abs_d1(&loss, &at_zero)).abs() < 1e-15);
        let measured = loss.gradient_jump(&th, i, 1e-9).unwrap();
        assert!(
            (measured - predicted).abs() <= 1e-6 * predicted,
            "coordinate {i}: measured {measured}, predicted {predicted}"
        );
        // Not a vanishing artefact of t: it stays put over six decades.
        let wide = loss.gradient_jump(&th, i, 1e-3).unwrap();
        assert!((wide - predicted).abs() <= 1e-2 * predicted);
    }
}

/// L2: the same measurement shrinks linearly in t, bounded by 2t·sup‖∇²L‖ on the segment ≤
/// 2t·smoothness_bound(w with w_i = 0); the predicted jump is 0.
#[test]
fn l2_gradient_jump_vanishes_linearly_in_t() {
    let pair = fashion_pair();
    let loss = AdversarialLinearLoss::new(fashion_data(&pair), Norm::L2, EPS, true).unwrap();
    let th = theta(pair.image_len(), 0.005, 5);
    let d = pair.image_len();
    for i in [0, 407] {
        assert_eq!(loss.linf_jump(&th, i).unwrap(), 0.0);
        let mut w0 = th[..d].to_vec();
        w0[i] = 0.0;
        let bound = loss.smoothness_bound(&w0).unwrap().unwrap();
        let mut ratios = Vec::new();
        for t in [1e-2, 1e-4, 1e-6] {
            let jump = loss.gradient_jump(&th, i, t).unwrap();
            assert!(
                jump <= 2.0 * t * bound,
                "t = {t}: jump {jump} > {}",
                2.0 * t * bound
            );
            ratios.push(jump / t);
        }
        // O(t), not O(1): jump/t settles (to 2‖∇²L e_i‖) instead of growing like 1/t.
        assert!(
            (ratios[2] - ratios[1]).abs() <= 1e-2 * ratios[1],
            "{ratios:?}"
        );
        assert!(ratios[0] <= 2.0 * ratios[2], "{ratios:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// 5. L2 local Lipschitz constant: below the bound, growing like ε/‖w‖ (claim C1).

#[test]
fn l2_local_lipschitz_is_below_bound_and_grows_like_eps_over_norm() {
    let pair = fashion_pair();
    let loss = AdversarialLinearLoss::new(fashion_data(&pair), Norm::L2, EPS, true).unwrap();
    let d = pair.image_len();
    let th = theta(d, 0.005, 5);
    let w_norm = l2(&th[..d]);
    let mut kappas = Vec::new();
    for s in [1.0, 0.1, 0.01, 0.001] {
        let mut ts = th.clone();
        ts[..d].iter_mut().for_each(|v| *v *= s);
        let r = 1e-3 * s * w_norm;
        let kappa = loss.local_lipschitz(&ts, r, 8, 3).unwrap();
        // Every point of the probed ball has ‖w'‖ ≥ (1 − 10⁻³)‖w‖.
        let shrunk: Vec<f64> = ts[..d].iter().map(|v| v * (1.0 - 1e-3)).collect();
        let bound = loss.smoothness_bound(&shrunk).unwrap().unwrap();
        assert!(kappa <= bound, "s = {s}: κ = {kappa} > bound {bound}");
        // The curvature term alone, ε·mean|ℓ'(m)|·‖(I − ŵŵᵀ)u‖/‖w‖, with ‖(I − ŵŵᵀ)u‖ ≈ 1 for
        // random u in 785 dimensions.
        let curvature = EPS * mean_abs_d1(&loss, &ts) / (s * w_norm);
        kappas.push((s, kappa, curvature));
    }
    for pair in kappas.windows(2) {
        assert!(
            pair[1].1 > pair[0].1,
            "κ must grow as w shrinks: {kappas:?}"
        );
    }
    // κ(s·w)·s stays bounded while κ itself grows ...
    let kappa_at_one = kappas[0].1;
    for &(s, kappa, _) in &kappas {
        assert!(kappa * s <= kappa_at_one, "{kappas:?}");
    }
    // ... and at small ‖w‖ the ε/‖w‖ term is all of κ.
    let (_, kappa, curvature) = kappas[3];
    assert!((kappa / curvature - 1.0).abs() <= 0.05, "{kappas:?}");
}
