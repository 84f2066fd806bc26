//! Multi-layer perceptron: flatten → (Linear → activation)* → Linear.

use advland_schema::Activation;
use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::{gelu, softplus};
use burn::tensor::{Device, Tensor};

use super::batch_norm::InputNorm;
use super::pattern::Gating;

/// An MLP, ReLU unless built with another [`Activation`]. Layers are named `fc1`, `fc2`, … in exported weights (see
/// [`crate::params`]).
#[derive(Module, Debug)]
pub struct Mlp {
    /// The linear layers, input to output.
    pub fc: Vec<Linear>,
    /// Per-channel input normalisation before the first layer (`model.normalize`).
    pub normalize: Option<InputNorm>,
    /// The hidden nonlinearity: not a parameter, fixed by the spec.
    #[module(skip)]
    pub activation: Activation,
}

impl Mlp {
    /// Builds the layers for `inputs` features, the given hidden widths and `classes` outputs.
    pub fn new(inputs: usize, hidden: &[usize], classes: usize, device: &Device) -> Self {
        let mut widths = Vec::with_capacity(hidden.len() + 2);
        widths.push(inputs);
        widths.extend_from_slice(hidden);
        widths.push(classes);
        let fc = widths
            .windows(2)
            .map(|w| LinearConfig::new(w[0], w[1]).init(device))
            .collect();
        Self {
            fc,
            normalize: None,
            activation: Activation::Relu,
        }
    }

    /// The number of parameters [`Mlp::new`] makes, or `None` where it overflows `usize`.
    pub(crate) fn param_count(inputs: usize, hidden: &[usize], classes: usize) -> Option<usize> {
        let widths: Vec<usize> = std::iter::once(inputs)
            .chain(hidden.iter().copied())
            .chain(std::iter::once(classes))
            .collect();
        widths.windows(2).try_fold(0usize, |total, w| {
            total.checked_add(w[0].checked_mul(w[1])?.checked_add(w[1])?)
        })
    }

    /// Logits.
    ///
    /// # Shapes
    /// `x`: `[b, c, h, w]` → `[b, classes]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        self.forward_gated(x, &mut Gating::Live)
    }

    pub(crate) fn forward_gated(&self, x: Tensor<4>, gating: &mut Gating<'_>) -> Tensor<2> {
        let x = InputNorm::apply(self.normalize.as_ref(), x);
        let mut h: Tensor<2> = x.flatten(1, 3); // [b, c*h*w]
        let last = self.fc.len().saturating_sub(1);
        for (i, layer) in self.fc.iter().enumerate() {
            h = layer.forward(h);
            if i < last {
                // Smooth activations have no gates: a replayed pattern of a smooth MLP is
                // empty and its forward pass is the live one, whose finite-difference
                // curvature is already exact to O(h²).
                h = match self.activation {
                    Activation::Relu => gating.relu2(h),
                    Activation::Softplus => softplus(h, 1.0),
                    Activation::Gelu => gelu(h),
                };
            }
        }
        h
    }
}
