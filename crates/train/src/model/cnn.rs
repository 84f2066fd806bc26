//! The small CNN of the foundation issue:
//! conv3x3(16) → ReLU → maxpool2 → conv3x3(32) → ReLU → maxpool2 (floor) → flatten → Linear.
//! ReLUs and 2×2 pools go through [`Gating`] so that an activation pattern can be recorded
//! and replayed (see [`super::pattern`]).
//! On 1×28×28 input with 10 classes it has 12,810 parameters.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::module::conv_transpose2d;
use burn::tensor::ops::ConvTransposeOptions;
use burn::tensor::{Device, Int, Tensor};
use rayon::prelude::*;

use super::CHUNK;
use super::host_pool::pool2_host;
use super::pattern::Gating;
use crate::loss::cross_entropy;

/// The CNN. Parameter names follow PyTorch: `conv1`, `conv2`, `fc1`.
#[derive(Module, Debug)]
pub struct Cnn {
    /// 3×3 convolution, 16 filters, no padding.
    pub conv1: Conv2d,
    /// 3×3 convolution, 32 filters, no padding.
    pub conv2: Conv2d,
    /// Classifier on the flattened (C, H, W) features.
    pub fc1: Linear,
}

/// Spatial size after `conv3x3` (valid) then `maxpool2` (floor).
fn stage(size: usize) -> usize {
    size.saturating_sub(2) / 2
}

impl Cnn {
    /// Builds the CNN for `[channels, height, width]` inputs and `classes` outputs.
    ///
    /// # Panics
    /// If the input is smaller than 10×10 (no features left after two stages); callers
    /// validate shapes first.
    pub fn new(input: [usize; 3], classes: usize, device: &Device) -> Self {
        let [c, h, w] = input;
        let (h2, w2) = (stage(stage(h)), stage(stage(w)));
        assert!(h2 > 0 && w2 > 0, "input {h}x{w} too small for the CNN");
        Self {
            conv1: Conv2dConfig::new([c, 16], [3, 3]).init(device),
            conv2: Conv2dConfig::new([16, 32], [3, 3]).init(device),
            fc1: LinearConfig::new(32 * h2 * w2, classes).init(device),
        }
    }

    /// Logits.
    ///
    /// # Shapes
    /// `x`: `[b, c, h, w]` → `[b, classes]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        self.forward_gated(x, &mut Gating::Live)
    }

    /// ∇ₓ Σᵢ CE(f(xᵢ), yᵢ) on the CPU device, `None` on others; the attack's inner loop.
    ///
    /// Autodiff through burn-flex spends a quarter of a PGD step in its max-pool backward (a
    /// scalar scatter-add) and records a graph it then walks; here the two conv stages are
    /// differentiated by hand: each ReLU + pool runs on the host keeping one byte per window
    /// ([`pool2_host`]), its backward writes each window's gradient to its winner
    /// ([`super::host_pool::Selection::unpool`]), and each conv's input gradient is the same
    /// `conv_transpose2d` that burn's conv backward calls (stride 1, no padding, so no output
    /// padding). Only the classifier and the loss go through autodiff, on the `[b, features]`
    /// activations. Every step is the operation autodiff would run on the same values, so the
    /// result equals autodiff's bit for bit (`loss_input_gradient_equals_autodiff`). Batches of
    /// more than [`CHUNK`] examples run as chunks of [`CHUNK`] in parallel; each chunk's
    /// gradient equals autodiff's on that chunk bit for bit.
    pub(crate) fn loss_input_gradient(
        &self,
        x: &Tensor<4>,
        labels: &Tensor<1, Int>,
    ) -> Option<Tensor<4>> {
        let device = x.device();
        if !device.is_autodiff() || device.inner() != Device::flex() {
            return None;
        }
        let [b, ..] = x.dims();
        if b <= CHUNK {
            return self.loss_input_gradient_chunk(x, labels);
        }
        let grads: Option<Vec<Tensor<4>>> = (0..b.div_ceil(CHUNK))
            .into_par_iter()
            .map(|i| {
                let rows = i * CHUNK..((i + 1) * CHUNK).min(b);
                let x = x.clone().slice([rows.clone()]);
                self.loss_input_gradient_chunk(&x, &labels.clone().slice([rows]))
            })
            .collect();
        Some(Tensor::cat(grads?, 0))
    }

    /// [`Cnn::loss_input_gradient`] of one chunk, in one thread of control.
    fn loss_input_gradient_chunk(
        &self,
        x: &Tensor<4>,
        labels: &Tensor<1, Int>,
    ) -> Option<Tensor<4>> {
        let plain = self.valid();
        let s1 = pool2_host(&plain.conv1.forward(x.clone().inner()), true, true);
        let s2 = pool2_host(&plain.conv2.forward(s1.values), true, true);
        let pooled = s2.values.dims();
        let features = Tensor::from_inner(s2.values.flatten(1, 3)).require_grad();
        let loss = cross_entropy(self.fc1.forward(features.clone()), labels.clone()).sum();
        let grad = features.grad(&loss.backward())?.reshape(pooled);
        let (s1, s2) = (s1.selection?, s2.selection?);
        let transpose = ConvTransposeOptions::new([1, 1], [0, 0], [0, 0], [1, 1], 1);
        let grad = conv_transpose2d(
            s2.unpool(grad),
            plain.conv2.weight.val(),
            None,
            transpose.clone(),
        );
        let grad = conv_transpose2d(s1.unpool(grad), plain.conv1.weight.val(), None, transpose);
        Some(grad)
    }

    pub(crate) fn forward_gated(&self, x: Tensor<4>, gating: &mut Gating<'_>) -> Tensor<2> {
        let x = gating.relu_pool2(self.conv1.forward(x));
        let x = gating.relu_pool2(self.conv2.forward(x)); // [b, 32, h2, w2]
        self.fc1.forward(x.flatten(1, 3))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Model, ModelShape};
    use crate::params::{flatten, init_seeded, load_flat};
    use advland_schema::ModelSpec;
    use burn::tensor::{DType, Distribution, TensorData};

    fn host(t: Tensor<4>) -> Vec<f64> {
        t.into_data().convert::<f64>().try_to_vec::<f64>().unwrap()
    }

    #[test]
    fn loss_input_gradient_equals_autodiff() {
        let device = Device::flex().autodiff();
        let data = advland_data::fashion_mnist_bundled().unwrap().test;
        let (pixels, labels) = data.gather(&(0..48).collect::<Vec<_>>());
        let fashion = (
            TensorData::new(pixels, [48, 1, 28, 28]),
            TensorData::new(labels, [48]),
        );
        // Odd sizes: each stage drops a row or column (13×15 → 11×13 → 5×6 → 3×4 → 1×2), and
        // inputs far from the data switch many windows off.
        let odd = (
            Tensor::<4>::random([5, 3, 13, 15], Distribution::Normal(0.0, 2.0), &device)
                .into_data(),
            TensorData::new(vec![0i64, 1, 2, 3, 4], [5]),
        );
        for (input, (x, y)) in [([1, 28, 28], fashion), ([3, 13, 15], odd)] {
            let shape = ModelShape { input, classes: 10 };
            let model = Model::build(&ModelSpec::default(), shape, &device).unwrap();
            let model = init_seeded(model, 5).unwrap();
            for dtype in [DType::F32, DType::F64] {
                let model = load_flat(model.clone(), flatten(&model).cast(dtype))
                    .unwrap()
                    .no_grad();
                let x = Tensor::<4>::from_data(x.clone(), (&device, dtype));
                let y = Tensor::<1, Int>::from_data(y.clone(), &device);
                let fast = model.loss_input_gradient(&x, &y).expect("the CNN on flex");
                let tracked = x.clone().require_grad();
                let grads = cross_entropy(model.forward(tracked.clone()), y)
                    .sum()
                    .backward();
                let autodiff = tracked.grad(&grads).unwrap();
                assert_eq!(fast.dtype(), dtype);
                let (fast, autodiff) = (host(fast), host(autodiff));
                assert!(fast.iter().any(|&g| g != 0.0), "{input:?} {dtype:?}");
                assert!(fast == autodiff, "{input:?} {dtype:?}: gradients differ");
            }
        }
        // Larger batches: chunk by chunk, the autodiff gradient of that chunk.
        let shape = ModelShape {
            input: [1, 28, 28],
            classes: 10,
        };
        let model = init_seeded(
            Model::build(&ModelSpec::default(), shape, &device).unwrap(),
            6,
        )
        .unwrap()
        .no_grad();
        let b = 2 * CHUNK + 44;
        let (pixels, labels) = data.gather(&(0..b).collect::<Vec<_>>());
        let x = Tensor::<4>::from_data(TensorData::new(pixels, [b, 1, 28, 28]), &device);
        let y = Tensor::<1, Int>::from_data(TensorData::new(labels, [b]), &device);
        let fast = host(model.loss_input_gradient(&x, &y).unwrap());
        let mut chunked = Vec::new();
        for start in (0..b).step_by(CHUNK) {
            let rows = start..(start + CHUNK).min(b);
            let x = x.clone().slice([rows.clone()]).require_grad();
            let loss = cross_entropy(model.forward(x.clone()), y.clone().slice([rows]));
            chunked.extend(host(x.grad(&loss.sum().backward()).unwrap()));
        }
        assert!(fast == chunked, "chunked gradients differ");

        // Without autodiff there is no classifier gradient to start from.
        let plain = Model::build(
            &ModelSpec::default(),
            ModelShape {
                input: [1, 28, 28],
                classes: 10,
            },
            &Device::flex(),
        )
        .unwrap();
        let x = Tensor::<4>::zeros([2, 1, 28, 28], &Device::flex());
        let y = Tensor::<1, Int>::zeros([2], &Device::flex());
        assert!(plain.loss_input_gradient(&x, &y).is_none());
    }
}
