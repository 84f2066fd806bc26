//! `bound::measure` against dense matrices on the smooth GELU MLP fixture (16 inputs, 163
//! parameters): per example, the input Hessian and the mixed Hessian ∂²ℓ/∂x∂θ are built
//! column by column from first derivatives, restricted to the face's tangent space with
//! nalgebra, and their eigenvalues and top singular value compared with what the Lanczos runs
//! on the tangent-space operators reported; L_θθ against the dense parameter Hessian of the
//! frozen-attack loss; the bounds against the formulas over the reported per-example values.

// A test helper that unwraps fails the test, which is what it is for.
#![allow(clippy::unwrap_used)]

mod smooth_fixture;

use advland_analysis::Subject;
use advland_analysis::bound::{BoundConfig, Face, measure};
use advland_analysis::flatness::{InputGradients, ModelGradients};
use advland_analysis::hessian::FiniteDifferenceHessian;
use advland_analysis::model_objective::{ModelObjective, ObjectiveSpec, Precision};
use advland_analysis::{LinearOperator, Objective, ObjectiveKind};
use advland_schema::{Activation, Norm, PgdSettings};
use advland_train::Silent;
use advland_train::attack::Attack;
use advland_train::params::load_flat;
use burn::tensor::{DType, Device, Int, Tensor, TensorData};
use nalgebra::{DMatrix, SymmetricEigen};
use smooth_fixture::{DIM, EXAMPLES, load};

const H: f64 = 1e-4;

fn close(got: f64, want: f64, scale: f64, what: &str) {
    assert!(
        (got - want).abs() <= 1e-5 * scale.max(1e-3),
        "{what}: {got} vs {want}"
    );
}

/// An orthonormal basis of the tangent space, built from the rule itself: the null space of
/// the active constraints' normals (the pinned coordinates' e_j, and δ over the free ones
/// where L2's sphere is active), from the eigenvectors of CᵀC with eigenvalue 0.
fn tangent_basis(x_adv: &[f64], delta: &[f64], attack: &PgdSettings, tol: f64) -> DMatrix<f64> {
    let edge = (1.0 - tol) * attack.eps;
    let pinned: Vec<bool> = (0..DIM)
        .map(|j| {
            x_adv[j] <= 1e-9
                || x_adv[j] >= 1.0 - 1e-9
                || (attack.norm == Norm::Linf && delta[j].abs() >= edge)
        })
        .collect();
    let mut normals: Vec<Vec<f64>> = (0..DIM)
        .filter(|&j| pinned[j])
        .map(|j| (0..DIM).map(|i| f64::from(u8::from(i == j))).collect())
        .collect();
    let length = delta.iter().map(|v| v * v).sum::<f64>().sqrt();
    if attack.norm == Norm::L2 && length >= edge {
        normals.push(
            (0..DIM)
                .map(|j| if pinned[j] { 0.0 } else { delta[j] })
                .collect(),
        );
    }
    if normals.is_empty() {
        return DMatrix::identity(DIM, DIM);
    }
    let c = DMatrix::from_fn(normals.len(), DIM, |r, j| normals[r][j]);
    let gram = c.transpose() * &c;
    let eigen = SymmetricEigen::new(gram);
    let scale = eigen.eigenvalues.amax();
    let null: Vec<usize> = (0..DIM)
        .filter(|&i| eigen.eigenvalues[i].abs() <= 1e-10 * scale)
        .collect();
    DMatrix::from_fn(DIM, null.len(), |i, j| eigen.eigenvectors[(i, null[j])])
}

fn check(norm: Norm, eps: f64) {
    let device = Device::flex().autodiff();
    let (model, data, _) = load(Activation::Gelu, "mlp_gelu", &device);
    let subject = Subject {
        model: model.clone(),
        test: data.clone(),
        checkpoint: "fixture".to_owned(),
        epoch: 0,
        trained_with: None,
        train: None,
    };
    let attack = PgdSettings::new(norm, eps, 30);
    let config = BoundConfig {
        subset: EXAMPLES,
        // Lanczos on an operator of dimension ≤ 16 with 16 steps is exact.
        lanczos_steps: DIM,
        ..BoundConfig::new(attack.clone())
    };
    let report = measure(&subject, &config, &device, &mut Silent)
        .unwrap()
        .report;

    // The same attack, from the same seeded start, gives the same δ.
    let spec = |kind| ObjectiveSpec {
        kind,
        attack: Some(Attack::new(attack.clone())),
        precision: Precision::F64,
        batch_size: EXAMPLES,
        seed: config.seed,
        freeze_activations: false,
    };
    let adversarial =
        ModelObjective::new(&model, &data, &spec(ObjectiveKind::Adversarial), &device).unwrap();
    let theta = adversarial.reference();
    let delta = adversarial.perturbation_at(&theta).unwrap();
    let x_adv: Vec<f64> = data
        .images
        .iter()
        .zip(&delta)
        .map(|(&x, d)| f64::from(x) + d)
        .collect();
    let model = model.in_dtype(DType::F64).unwrap();
    let labels: Vec<i64> = data.labels.iter().map(|&l| i64::from(l)).collect();
    let labels = Tensor::<1, Int>::from_data(TensorData::new(labels, [EXAMPLES]), &device);
    let gradients_at = |model: &advland_train::Model, x: &[f64]| {
        ModelGradients::new(
            model.clone(),
            labels.clone(),
            [EXAMPLES, 1, 4, 4],
            DType::F64,
            device.clone(),
        )
        .evaluate(x)
        .unwrap()
        .1
    };
    // Input Hessians: column j of every example's from inputs moved along e_j.
    let mut input_hessians = vec![DMatrix::<f64>::zeros(DIM, DIM); EXAMPLES];
    for j in 0..DIM {
        let moved = |s: f64| {
            let mut x = x_adv.clone();
            for n in 0..EXAMPLES {
                x[n * DIM + j] += s;
            }
            gradients_at(&model, &x)
        };
        let (plus, minus) = (moved(H), moved(-H));
        for n in 0..EXAMPLES {
            for i in 0..DIM {
                input_hessians[n][(i, j)] = (plus[n * DIM + i] - minus[n * DIM + i]) / (2.0 * H);
            }
        }
    }
    // Mixed Hessians: column k from θ moved along e_k.
    let m = theta.len();
    let mut mixed = vec![DMatrix::<f64>::zeros(DIM, m); EXAMPLES];
    for k in 0..m {
        let at = |s: f64| {
            let mut t = theta.clone();
            t[k] += s;
            let flat = Tensor::<1>::from_data(
                TensorData::new(t, [m]),
                (&device.clone().inner(), DType::F64),
            );
            gradients_at(&load_flat(model.clone(), flat).unwrap(), &x_adv)
        };
        let (plus, minus) = (at(H), at(-H));
        for n in 0..EXAMPLES {
            for i in 0..DIM {
                mixed[n][(i, k)] = (plus[n * DIM + i] - minus[n * DIM + i]) / (2.0 * H);
            }
        }
    }
    let constraint = Attack::new(attack.clone());
    let mut faces_seen = 0;
    for n in 0..EXAMPLES {
        let rows = n * DIM..(n + 1) * DIM;
        let face = Face::at(
            constraint.constraint(),
            &x_adv[rows.clone()],
            &delta[rows.clone()],
            config.face_tol,
        );
        let got = &report.per_example[n];
        assert_eq!(got.face_dim, face.dim(), "example {n}");
        let k = face.dim();
        if k == 0 {
            assert_eq!(got.curvature_max, None);
            assert_eq!(got.mixed, 0.0);
            continue;
        }
        faces_seen += 1;
        let q = tangent_basis(
            &x_adv[rows.clone()],
            &delta[rows.clone()],
            &attack,
            config.face_tol,
        );
        assert_eq!(q.ncols(), k, "example {n}: tangent dimension");
        let restricted = q.transpose() * &input_hessians[n] * &q;
        let values = SymmetricEigen::new((&restricted + restricted.transpose()) * 0.5).eigenvalues;
        let (top, bottom) = (values.max(), values.min());
        let scale = top.abs().max(bottom.abs());
        close(got.curvature_max.unwrap(), top, scale, "curvature max");
        close(got.curvature_min.unwrap(), bottom, scale, "curvature min");
        let projected = q.transpose() * &mixed[n];
        let sigma = projected.singular_values().max();
        close(got.mixed, sigma, sigma, "mixed Hessian norm");
        let multiplier = face.multiplier(&delta[rows.clone()], &gradients_at(&model, &x_adv)[rows]);
        close(got.multiplier, multiplier, multiplier.abs(), "multiplier");
        close(got.mu.unwrap(), multiplier - top, scale, "mu");
    }
    assert!(
        faces_seen > 0,
        "every example at a vertex: nothing was compared"
    );

    // L_θθ: the dense parameter Hessian of the loss at the frozen attack points.
    let frozen = ModelObjective::new(
        &subject.model,
        &data,
        &spec(ObjectiveKind::AdversarialFrozen),
        &device,
    )
    .unwrap();
    let op = FiniteDifferenceHessian::new(&frozen, theta.clone(), H).unwrap();
    let dense = DMatrix::from_fn(m, m, |i, j| {
        let mut e = vec![0.0; m];
        e[j] = 1.0;
        op.apply(&e).unwrap()[i]
    });
    let values = SymmetricEigen::new((&dense + dense.transpose()) * 0.5).eigenvalues;
    let norm_want = values.max().abs().max(values.min().abs());
    // Lanczos with 16 of 163 steps: the extreme Ritz value converges from inside.
    assert!(report.hessian_norm <= norm_want * (1.0 + 1e-6));
    assert!(
        report.hessian_norm >= 0.95 * norm_want,
        "{} vs {norm_want}",
        report.hessian_norm
    );
    assert!(frozen.loss(&theta).unwrap().is_finite());

    // The bounds are the propositions' formulas over the reported values.
    let sum: f64 = report
        .per_example
        .iter()
        .filter_map(|e| match (e.mu, e.motion_bound) {
            (Some(mu), Some(bound)) => {
                close(bound, e.mixed / mu, bound, "motion bound");
                Some(e.mixed * e.mixed / mu)
            }
            _ => None,
        })
        .sum();
    close(
        report.kappa_bound_concave,
        report.hessian_norm + sum / EXAMPLES as f64,
        report.kappa_bound_concave,
        "kappa bound",
    );
    assert_eq!(
        report.kappa_bound.is_some(),
        report.concave == EXAMPLES,
        "the bound is stated only when every example has one"
    );
}

#[test]
fn l2_faces_match_dense_matrices() {
    check(Norm::L2, 0.5);
}

#[test]
fn linf_faces_match_dense_matrices() {
    check(Norm::Linf, 0.05);
}
