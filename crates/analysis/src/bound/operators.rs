//! One example's second derivatives on its face, as symmetric operators on the tangent
//! coordinates (size k, see [`Face`]) for Lanczos: the input Hessian QᵀH_xxQ and the mixed
//! Hessian's Gram matrix Qᵀ H_xθ H_θx Q, whose largest eigenvalue is ‖P H_xθ‖². Every product
//! is a central difference of first derivatives along a unit direction; the counts of model
//! passes are kept for the report's cost.

use std::cell::Cell;

use advland_train::Model;
use advland_train::params::load_flat;
use burn::tensor::{DType, Device, Int, Tensor, TensorData};

use super::face::Face;
use crate::error::Result;
use crate::flatness::{InputGradients, ModelGradients};
use crate::operator::LinearOperator;
use crate::perturbation::per_example_gradients;
use crate::vector::central_difference;

/// A batch at its attack points under the model at θ, with the central differences of first
/// derivatives taken there: what the operators of one example (a batch of one) and the
/// probes of the whole batch share.
pub struct Point<'a> {
    /// The model at θ (f64, autodiff device).
    pub model: &'a Model,
    /// θ as host f64.
    pub theta: &'a [f64],
    /// x + δ of the batch (b·d values, example-major).
    pub x_adv: Vec<f64>,
    /// The labels, `[b]`.
    pub labels: Tensor<1, Int>,
    /// `[b, c, h, w]`.
    pub dims: [usize; 4],
    /// Central-difference step along unit directions.
    pub h: f64,
    /// The model's dtype.
    pub dtype: DType,
    /// The autodiff device.
    pub device: Device,
    /// Gradient passes spent (each one forward and one backward, per example).
    pub passes: Cell<u64>,
}

impl Point<'_> {
    fn d(&self) -> usize {
        self.x_adv.len()
    }

    /// ∇ₓℓ at `inputs`, k copies of the batch's shape stacked, for `model`.
    fn input_gradients(&self, model: &Model, inputs: Vec<f64>) -> Result<Vec<f64>> {
        let copies = inputs.len() / self.d();
        let [b, c, h, w] = self.dims;
        let source = ModelGradients::new(
            model.clone(),
            Tensor::cat(vec![self.labels.clone(); copies], 0),
            [copies * b, c, h, w],
            self.dtype,
            self.device.clone(),
        );
        self.passes.set(self.passes.get() + (copies * b) as u64);
        Ok(source.evaluate(&inputs)?.1)
    }

    /// H_xθ w: the change of every example's ∇ₓℓ at x + δ when θ moves along `w`.
    pub fn mixed_theta(&self, w: &[f64]) -> Result<Vec<f64>> {
        let m = self.theta.len();
        let product = central_difference(self.theta, w, m, self.h, |points| {
            let mut stacked = Vec::with_capacity(2 * self.d());
            for moved in points.chunks(m) {
                let flat = Tensor::<1>::from_data(
                    TensorData::new(moved.to_vec(), [m]),
                    (&self.device.clone().inner(), self.dtype),
                );
                let model = load_flat(self.model.clone(), flat)?;
                stacked.extend(self.input_gradients(&model, self.x_adv.clone())?);
            }
            Ok(stacked)
        })?;
        Ok(product.unwrap_or_else(|| vec![0.0; self.d()]))
    }

    /// H_θx v: the change of ∇θ of the batch's summed loss when the inputs move along `v`.
    fn mixed_input(&self, v: &[f64]) -> Result<Option<Vec<f64>>> {
        let [b, c, h, w] = self.dims;
        central_difference(&self.x_adv, v, self.d(), self.h, |points| {
            let x = Tensor::<4>::from_data(
                TensorData::new(points, [2 * b, c, h, w]),
                (&self.device, self.dtype),
            );
            let labels = Tensor::cat(vec![self.labels.clone(); 2], 0);
            let rows = per_example_gradients(self.model, &x, &labels)?;
            self.passes.set(self.passes.get() + 2 * b as u64);
            let m = rows.len() / (2 * b);
            // Each half's rows summed: the gradient of the batch's summed loss.
            Ok(rows
                .chunks_exact(m * b)
                .fold(Vec::with_capacity(2 * m), |mut sums, half| {
                    sums.extend(half.chunks_exact(m).fold(vec![0.0; m], |mut acc, row| {
                        acc.iter_mut().zip(row).for_each(|(a, r)| *a += r);
                        acc
                    }));
                    sums
                }))
        })
    }
}

/// QᵀH_xxQ: the input Hessian of one example (a [`Point`] of one) on its face's tangent
/// space.
pub struct FaceHessian<'a>(pub &'a Point<'a>, pub &'a Face);

impl LinearOperator for FaceHessian<'_> {
    fn dim(&self) -> usize {
        self.1.dim()
    }
    fn apply(&self, y: &[f64]) -> Result<Vec<f64>> {
        let (e, face) = (self.0, self.1);
        let v = face.embed(y, e.d());
        let product = central_difference(&e.x_adv, &v, e.d(), e.h, |points| {
            e.input_gradients(e.model, points)
        })?;
        Ok(product.map_or_else(|| vec![0.0; y.len()], |p| face.restrict(&p)))
    }
}

/// Qᵀ H_xθ H_θx Q: the mixed Hessian's Gram matrix of one example on its face's tangent
/// space.
pub struct FaceMixedGram<'a>(pub &'a Point<'a>, pub &'a Face);

impl LinearOperator for FaceMixedGram<'_> {
    fn dim(&self) -> usize {
        self.1.dim()
    }
    fn apply(&self, y: &[f64]) -> Result<Vec<f64>> {
        let (e, face) = (self.0, self.1);
        let v = face.embed(y, e.d());
        let Some(w) = e.mixed_input(&v)? else {
            return Ok(vec![0.0; y.len()]);
        };
        Ok(face.restrict(&e.mixed_theta(&w)?))
    }
}
