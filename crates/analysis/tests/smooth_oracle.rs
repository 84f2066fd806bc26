//! The smooth-activation MLP (`model.activation = "softplus" | "gelu"`) against PyTorch
//! (`bench/make_smooth_fixtures.py`, `tests/fixtures/smooth/`): logits, the eigenvalues of the
//! parameter Hessian and the per-example input Hessians, built column by column from advland's
//! finite-difference HVPs and compared with PyTorch's double backward. The input Hessians have
//! negative eigenvalues, which the same weights with ReLU, through the frozen pattern (JᵀHJ),
//! can never have: the contrast the paper's Proposition A (concavity of the inner problem)
//! needs a smooth model for.

// A test helper that unwraps fails the test, which is what it is for.
#![allow(clippy::unwrap_used)]

use advland_analysis::flatness::InputHessian;
use advland_analysis::hessian::FiniteDifferenceHessian;
use advland_analysis::model_objective::{ModelObjective, ObjectiveSpec, Precision};
use advland_analysis::{LinearOperator, ObjectiveKind};
use advland_data::Dataset;
use advland_schema::Activation;
use advland_train::Model;
use burn::tensor::{DType, Device, Int, Tensor, TensorData};
use nalgebra::{DMatrix, SymmetricEigen};

mod smooth_fixture;

use smooth_fixture::{DIM, EXAMPLES, load};

/// Column by column: `apply(e_j)` for every j.
fn dense(dim: usize, apply: impl Fn(&[f64]) -> Vec<f64>) -> DMatrix<f64> {
    let mut h = DMatrix::zeros(dim, dim);
    let mut e = vec![0.0; dim];
    for j in 0..dim {
        e[j] = 1.0;
        for (i, v) in apply(&e).into_iter().enumerate() {
            h[(i, j)] = v;
        }
        e[j] = 0.0;
    }
    h
}

fn eigenvalues(h: &DMatrix<f64>) -> Vec<f64> {
    let mut values: Vec<f64> = SymmetricEigen::new((h + h.transpose()) * 0.5)
        .eigenvalues
        .iter()
        .copied()
        .collect();
    values.sort_by(f64::total_cmp);
    values
}

fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0.0, |m, x| m.max(x.abs()))
}

/// Per-example input Hessians `[b][d×d]` of the per-example cross-entropy at the fixture's
/// inputs: every block of v is e_j at once, so column j of all of them comes from one HVP.
fn input_hessians(
    model: &Model,
    data: &Dataset,
    device: &Device,
    freeze: bool,
) -> Vec<DMatrix<f64>> {
    let images: Vec<f64> = data.images.iter().map(|&v| f64::from(v)).collect();
    let images = Tensor::<4>::from_data(TensorData::new(images, [EXAMPLES, 1, 4, 4]), device)
        .cast(DType::F64);
    assert_eq!(images.dtype(), DType::F64);
    let labels: Vec<i64> = data.labels.iter().map(|&l| i64::from(l)).collect();
    let labels = Tensor::<1, Int>::from_data(TensorData::new(labels, [EXAMPLES]), device);
    let op = InputHessian::new(model, images, labels, 1e-4, freeze).unwrap();
    let mut columns = vec![DMatrix::zeros(DIM, DIM); EXAMPLES];
    for j in 0..DIM {
        let mut v = vec![0.0; EXAMPLES * DIM];
        for n in 0..EXAMPLES {
            v[n * DIM + j] = 1.0;
        }
        let hv = op.apply(&v, j).unwrap();
        for n in 0..EXAMPLES {
            for i in 0..DIM {
                columns[n][(i, j)] = hv[n * DIM + i];
            }
        }
    }
    columns
}

fn check(activation: Activation, stem: &str) {
    let device = Device::flex().autodiff();
    let (model, data, expected) = load(activation, stem, &device);

    let images = Tensor::<4>::from_data(
        TensorData::new(data.images.to_vec(), [EXAMPLES, 1, 4, 4]),
        &device,
    );
    let logits: Vec<f64> = model
        .forward(images)
        .into_data()
        .try_to_vec::<f32>()
        .unwrap()
        .into_iter()
        .map(f64::from)
        .collect();
    let want = expected.get("logits");
    for (got, want) in logits.iter().zip(&want) {
        assert!((got - want).abs() < 1e-5, "{stem} logits: {got} vs {want}");
    }

    let spec = ObjectiveSpec {
        kind: ObjectiveKind::Clean,
        attack: None,
        precision: Precision::F64,
        batch_size: EXAMPLES,
        seed: 0,
        freeze_activations: true,
    };
    let objective = ModelObjective::new(&model, &data, &spec, &device).unwrap();
    let theta = objective.reference();
    let op = FiniteDifferenceHessian::new(&objective, theta.clone(), 1e-4).unwrap();
    let got = eigenvalues(&dense(theta.len(), |v| op.apply(v).unwrap()));
    let want = expected.get("param_hessian_eigenvalues");
    assert_eq!(got.len(), want.len());
    let scale = max_abs(&want);
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-6 * scale,
            "{stem} parameter λ{i}: {g} vs {w}"
        );
    }
    // A smooth network's parameter Hessian is indefinite here; PyTorch agrees on the sign.
    assert!(got[0] < -1e-3 * scale, "{stem}: λmin {}", got[0]);

    let want = expected.get("input_hessians");
    for (n, h) in input_hessians(&model, &data, &device, true)
        .iter()
        .enumerate()
    {
        let w = DMatrix::from_row_slice(DIM, DIM, &want[n * DIM * DIM..(n + 1) * DIM * DIM]);
        let error = (h - &w).amax();
        assert!(
            error <= 1e-6 * w.amax(),
            "{stem} input Hessian {n}: error {error}"
        );
        let lowest = eigenvalues(h)[0];
        assert!(
            lowest < -1e-3 * w.amax(),
            "{stem} input Hessian {n}: λmin {lowest}"
        );
    }
}

#[test]
fn softplus_mlp_matches_pytorch() {
    check(Activation::Softplus, "mlp_softplus");
}

#[test]
fn gelu_mlp_matches_pytorch() {
    check(Activation::Gelu, "mlp_gelu");
}

/// The same weights with ReLU: through the frozen pattern each input Hessian is JᵀHJ with H
/// the softmax cross-entropy's Hessian in the logits, positive semi-definite.
#[test]
fn relu_input_hessians_through_the_frozen_pattern_are_psd() {
    let device = Device::flex().autodiff();
    let (model, data, _) = load(Activation::Relu, "mlp_softplus", &device);
    for (n, h) in input_hessians(&model, &data, &device, true)
        .iter()
        .enumerate()
    {
        let values = eigenvalues(h);
        assert!(
            values[0] >= -1e-7 * max_abs(&values),
            "example {n}: λmin {} of {values:?}",
            values[0]
        );
    }
}
