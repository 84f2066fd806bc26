//! [`InputHessian`]: batched per-example input gradients and finite-difference HVPs, over any
//! [`InputGradients`] source (a model, or a closed-form loss).

use advland_train::Model;
use advland_train::loss::cross_entropy;
use advland_train::model::ActivationPattern;
use burn::module::Module;
use burn::tensor::{DType, Device, Int, Tensor, TensorData};

use crate::error::{Error, Result};
use crate::operator::BlockOperator;
use crate::vector::central_difference;

/// Per-example losses and input gradients of a batch at chosen inputs: all that the
/// input-Hessian estimators ([`InputHessian`], [`estimate_input_flatness`]) need. A model gives
/// them through [`ModelGradients`]; a closed-form loss (tests, e.g. a quadratic in x) through
/// [`GradientFn`].
///
/// [`estimate_input_flatness`]: super::estimate_input_flatness
pub trait InputGradients {
    /// `[b, d]`: examples and values per example.
    fn shape(&self) -> [usize; 2];

    /// Per-example losses `[b]` and input gradients `[b·d]` at inputs `x` (`[b·d]`,
    /// example-major); `x` has the right length.
    ///
    /// # Errors
    /// Whatever evaluating the loss can fail with.
    fn evaluate(&self, x: &[f64]) -> Result<(Vec<f64>, Vec<f64>)>;
}

/// A closure `x ↦ (losses, gradients)` as [`InputGradients`] for `examples` examples of
/// `example_dim` values.
pub struct GradientFn<F> {
    shape: [usize; 2],
    f: F,
}

impl<F> GradientFn<F>
where
    F: Fn(&[f64]) -> Result<(Vec<f64>, Vec<f64>)>,
{
    /// Wraps `f`.
    pub fn new(examples: usize, example_dim: usize, f: F) -> Self {
        Self {
            shape: [examples, example_dim],
            f,
        }
    }
}

impl<F> InputGradients for GradientFn<F>
where
    F: Fn(&[f64]) -> Result<(Vec<f64>, Vec<f64>)>,
{
    fn shape(&self) -> [usize; 2] {
        self.shape
    }
    fn evaluate(&self, x: &[f64]) -> Result<(Vec<f64>, Vec<f64>)> {
        let (loss, gradient) = (self.f)(x)?;
        let [b, d] = self.shape;
        if loss.len() != b || gradient.len() != b * d {
            return Err(Error::Dimension {
                expected: b * d,
                got: gradient.len(),
            });
        }
        Ok((loss, gradient))
    }
}

/// Per-example cross-entropy losses ℓ(x) = CE(f(x), y) of a model and their input gradients,
/// through the activation pattern recorded at the base point if there is one (one batched
/// gradient pass per evaluation).
pub struct ModelGradients {
    model: Model,
    labels: Tensor<1, Int>,
    pattern: Option<ActivationPattern>,
    dims: [usize; 4],
    dtype: DType,
    device: Device,
}

impl ModelGradients {
    /// The live network's losses and input gradients for `labels` at inputs of shape `dims`
    /// (`[b, c, h, w]`) in `dtype` on the autodiff `device`.
    pub fn new(
        model: Model,
        labels: Tensor<1, Int>,
        dims: [usize; 4],
        dtype: DType,
        device: Device,
    ) -> Self {
        Self {
            model,
            labels,
            pattern: None,
            dims,
            dtype,
            device,
        }
    }
}

impl InputGradients for ModelGradients {
    fn shape(&self) -> [usize; 2] {
        [self.dims[0], self.dims[1] * self.dims[2] * self.dims[3]]
    }
    fn evaluate(&self, x: &[f64]) -> Result<(Vec<f64>, Vec<f64>)> {
        let input = Tensor::<4>::from_data(
            TensorData::new(x.to_vec(), self.dims),
            (&self.device, self.dtype),
        )
        .require_grad();
        let logits = match &self.pattern {
            Some(p) => self.model.forward_with_pattern(input.clone(), p),
            None => self.model.forward(input.clone()),
        };
        loss_and_gradient(&input, logits, self.labels.clone())
    }
}

/// The input Hessians of a batch of per-example losses at x, as a batched operator.
///
/// [`InputHessian::apply`] maps per-example directions V (`[b, c, h, w]`, flat) to
/// Hv_n ≈ (∇ₓℓ(x + h·v̂_n) − ∇ₓℓ(x − h·v̂_n))/(2h)·‖v_n‖ per example n, with v̂_n = v_n/‖v_n‖
/// (zero directions give zero). Scaling to unit directions keeps the step h meaningful in
/// input units whatever the direction's size. Cost: 2 gradient evaluations (batched passes
/// for a model) per apply. For a loss quadratic in x the central difference is exact up to
/// rounding.
pub struct InputHessian<G = ModelGradients> {
    source: G,
    x: Vec<f64>,
    loss: Vec<f64>,
    gradient: Vec<f64>,
    h: f64,
}

impl<G> std::fmt::Debug for InputHessian<G> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InputHessian")
            .field("values", &self.x.len())
            .field("h", &self.h)
            .finish_non_exhaustive()
    }
}

fn check_fd_step(fd_step: f64) -> Result<()> {
    if fd_step.is_finite() && fd_step > 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidConfig {
            field: "fd_step",
            reason: format!("must be positive and finite, got {fd_step}"),
        })
    }
}

/// The model as a detached copy in `dtype` (the caller's is left alone).
pub(super) fn model_in(model: &Model, dtype: DType) -> Result<Model> {
    Ok(model.in_dtype(dtype)?.no_grad())
}

pub(super) fn to_host(data: TensorData) -> Vec<f64> {
    data.iter::<f64>().collect()
}

pub(super) fn check_finite(what: &'static str, values: &[f64], step: usize) -> Result<()> {
    if values.iter().all(|v| v.is_finite()) {
        Ok(())
    } else {
        Err(Error::NonFinite { what, step })
    }
}

pub(super) fn check_batch(images: &Tensor<4>, labels: &Tensor<1, Int>) -> Result<()> {
    if !images.device().is_autodiff() {
        return Err(Error::InvalidConfig {
            field: "device",
            reason: "input gradients need an autodiff device".to_owned(),
        });
    }
    let [b, c, h, w] = images.dims();
    if b == 0 || c * h * w == 0 {
        return Err(Error::InvalidConfig {
            field: "images",
            reason: format!("empty batch {:?}", images.dims()),
        });
    }
    let [n] = labels.dims();
    if n != b {
        return Err(Error::Dimension {
            expected: b,
            got: n,
        });
    }
    Ok(())
}

impl InputHessian {
    /// The operator at `images` (on an autodiff device; their dtype is used throughout) with
    /// finite-difference step `fd_step`. Computes the per-example losses and input gradients
    /// at x (1 batched gradient pass) and, if `freeze_activations`, records the activation
    /// pattern there.
    ///
    /// # Errors
    /// A non-autodiff device, an empty batch, labels of another length, a non-positive step,
    /// a non-finite loss or gradient.
    pub fn new(
        model: &Model,
        images: Tensor<4>,
        labels: Tensor<1, Int>,
        fd_step: f64,
        freeze_activations: bool,
    ) -> Result<Self> {
        check_batch(&images, &labels)?;
        check_fd_step(fd_step)?;
        let dtype = images.dtype();
        let device = images.device();
        let model = model_in(model, dtype)?;
        let x = images.detach().require_grad();
        let (logits, pattern) = if freeze_activations {
            let (logits, pattern) = model.forward_recording(x.clone());
            (logits, Some(pattern))
        } else {
            (model.forward(x.clone()), None)
        };
        let (loss, gradient) = loss_and_gradient(&x, logits, labels.clone())?;
        check_finite("input loss", &loss, 0)?;
        check_finite("input gradient", &gradient, 0)?;
        Ok(Self {
            x: to_host(x.to_data()),
            source: ModelGradients {
                dims: x.dims(),
                model,
                labels,
                pattern,
                dtype,
                device,
            },
            loss,
            gradient,
            h: fd_step,
        })
    }
}

impl<G: InputGradients> InputHessian<G> {
    /// The operator of any gradient source at `x` (`[b·d]`) with finite-difference step
    /// `fd_step`; evaluates the losses and gradients at x once.
    ///
    /// # Errors
    /// An empty shape, `x` of the wrong length, a non-positive step, a non-finite loss or
    /// gradient.
    pub fn from_gradients(source: G, x: Vec<f64>, fd_step: f64) -> Result<Self> {
        check_fd_step(fd_step)?;
        let [b, d] = source.shape();
        if b * d == 0 {
            return Err(Error::InvalidConfig {
                field: "shape",
                reason: format!("empty batch [{b}, {d}]"),
            });
        }
        if x.len() != b * d {
            return Err(Error::Dimension {
                expected: b * d,
                got: x.len(),
            });
        }
        let (loss, gradient) = source.evaluate(&x)?;
        check_finite("input loss", &loss, 0)?;
        check_finite("input gradient", &gradient, 0)?;
        Ok(Self {
            source,
            x,
            loss,
            gradient,
            h: fd_step,
        })
    }

    /// Number of examples b.
    pub fn examples(&self) -> usize {
        self.source.shape()[0]
    }

    /// Input dimension c·h·w of one example.
    pub fn example_dim(&self) -> usize {
        self.source.shape()[1]
    }

    /// Per-example losses at x, `[b]`.
    pub fn losses(&self) -> &[f64] {
        &self.loss
    }

    /// Per-example input gradients at x, `[b·c·h·w]` (for a model: computed by the live
    /// network, which equals the frozen one at x).
    pub fn gradient(&self) -> &[f64] {
        &self.gradient
    }

    /// Per-example losses and input gradients at inputs `x` (`[b·c·h·w]`), through the frozen
    /// pattern if there is one. One batched gradient pass.
    ///
    /// # Errors
    /// `x` of the wrong length.
    pub fn gradient_at(&self, x: &[f64]) -> Result<(Vec<f64>, Vec<f64>)> {
        if x.len() != self.x.len() {
            return Err(Error::Dimension {
                expected: self.x.len(),
                got: x.len(),
            });
        }
        self.source.evaluate(x)
    }

    /// H·V per example (see the type's docs). `step` labels a non-finite error.
    ///
    /// # Errors
    /// `v` of the wrong length, a non-finite product.
    pub fn apply(&self, v: &[f64], step: usize) -> Result<Vec<f64>> {
        let d = self.example_dim();
        if v.len() != self.x.len() {
            return Err(Error::Dimension {
                expected: self.x.len(),
                got: v.len(),
            });
        }
        let n = self.x.len();
        let out = central_difference(&self.x, v, d, self.h, |points| {
            let (_, mut gradients) = self.gradient_at(&points[..n])?;
            gradients.extend(self.gradient_at(&points[n..])?.1);
            Ok(gradients)
        })?
        .unwrap_or_else(|| vec![0.0; n]);
        check_finite("input Hessian-vector product", &out, step)?;
        Ok(out)
    }
}

impl<G: InputGradients> BlockOperator for InputHessian<G> {
    fn blocks(&self) -> usize {
        self.examples()
    }
    fn block_dim(&self) -> usize {
        self.example_dim()
    }
    fn apply_blocks(&self, v: &[f64], step: usize) -> Result<Vec<f64>> {
        self.apply(v, step)
    }
}

/// Per-example losses `[b]` and ∇ₓ of their sum (= per-example input gradients).
fn loss_and_gradient(
    x: &Tensor<4>,
    logits: Tensor<2>,
    labels: Tensor<1, Int>,
) -> Result<(Vec<f64>, Vec<f64>)> {
    let loss = cross_entropy(logits, labels);
    let grads = loss.clone().sum().backward();
    let grad = x.grad(&grads).ok_or_else(|| Error::InvalidConfig {
        field: "device",
        reason: "no input gradient: inputs must be on an autodiff device".to_owned(),
    })?;
    Ok((to_host(loss.to_data()), to_host(grad.to_data())))
}
