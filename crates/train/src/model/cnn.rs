//! The small CNN of the foundation issue:
//! conv3x3(16) → ReLU → maxpool2 → conv3x3(32) → ReLU → maxpool2 (floor) → flatten → Linear.
//! ReLUs and 2×2 pools go through [`Gating`] so that an activation pattern can be recorded
//! and replayed (see [`super::pattern`]).
//! On 1×28×28 input with 10 classes it has 12,810 parameters.

use std::borrow::Cow;

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::module::conv_transpose2d;
use burn::tensor::ops::ConvTransposeOptions;
use burn::tensor::{Device, Gradients, Int, Tensor};
use rayon::prelude::*;

use super::CHUNK;
use super::batch_norm::InputNorm;
use super::host_pool::{Selection, im2col3x3, pool2_host};
use super::pattern::{ActivationPattern, Gate, Gating};
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
    /// Per-channel input normalisation before conv1 (`model.normalize`).
    pub normalize: Option<InputNorm>,
}

/// What the hand-written passes keep of a forward pass (inner device).
struct Tape<'a> {
    /// The first stage's output, the second conv's input.
    a1: Tensor<4>,
    /// Each stage's winners: found live, or a recorded pattern's.
    s1: Cow<'a, Selection>,
    s2: Cow<'a, Selection>,
    /// The second stage's output shape `[b, 32, h2, w2]`.
    pooled: [usize; 4],
    /// The second stage's output flattened, `[b, features]`.
    features: Tensor<2>,
}

/// [`Cnn::backward_by_hand`]'s result.
struct HandBackward<'a> {
    tape: Tape<'a>,
    /// Σᵢ CE(f(xᵢ), yᵢ).
    loss: f64,
    /// The classifier's gradients (of the sum / divisor).
    grads: Gradients,
    /// The gradients of each conv's output.
    g_z2: Tensor<4>,
    g_z1: Tensor<4>,
}

/// A conv's parameter gradients.
struct ConvGradients {
    weight: Tensor<4>,
    bias: Tensor<1>,
}

impl ConvGradients {
    /// From the conv's input and the gradient of its output: the weight gradient as one matrix
    /// product of the output gradient `[out, b·positions]` with the input's patches
    /// ([`im2col3x3`]), the bias gradient as that matrix's row sums (burn's conv backward sums
    /// the same layout, so the bias is bit for bit burn's; the weight differs from burn's only
    /// in the order of its sums).
    fn of(input: Tensor<4>, g_out: Tensor<4>) -> Self {
        let [b, o, h, w] = g_out.dims();
        let [_, c, _, _] = input.dims();
        let g = g_out.swap_dims(0, 1).reshape([o, b * h * w]);
        let weight = g.clone().matmul(im2col3x3(input)).reshape([o, c, 3, 3]);
        let bias = g.sum_dim(1).reshape([o]);
        Self { weight, bias }
    }
}

/// The gradient of a conv's input from that of its output, as burn's conv backward computes
/// it (stride 1 needs no output padding).
fn conv_input_gradient(conv: &Conv2d, g_out: Tensor<4>) -> Tensor<4> {
    let options = ConvTransposeOptions::new([1, 1], [0, 0], [0, 0], [1, 1], 1);
    conv_transpose2d(g_out, conv.weight.val(), None, options)
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
            normalize: None,
        }
    }

    /// The number of parameters [`Cnn::new`] makes, or `None` where it overflows `usize`.
    pub(crate) fn param_count(input: [usize; 3], classes: usize) -> Option<usize> {
        let [c, h, w] = input;
        let features = 32usize
            .checked_mul(stage(stage(h)))?
            .checked_mul(stage(stage(w)))?;
        let conv1 = c.checked_mul(16 * 9)?.checked_add(16)?;
        let conv2 = 16 * 32 * 9 + 32;
        let fc1 = features.checked_mul(classes)?.checked_add(classes)?;
        conv1.checked_add(conv2)?.checked_add(fc1)
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
        // The hand-written passes start at conv1; a normalised model leaves them to autodiff.
        if self.normalize.is_some() || !device.is_autodiff() || device.inner() != Device::flex() {
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
        let back = self.backward_by_hand(&plain, x.clone().inner(), labels, None, 1.0)?;
        Some(conv_input_gradient(&plain.conv1, back.g_z1))
    }

    /// Σᵢ CE(f(xᵢ), yᵢ), and the gradients of that sum / `divisor` for every parameter, through
    /// the live network or through `pattern`'s gates, on the CPU device (`None` elsewhere, or
    /// for a pattern that is not this CNN's). The conv stages are differentiated by hand as in
    /// [`Cnn::loss_input_gradient`] — a replayed gate passes on its recorded winners
    /// ([`Selection::gather`]) — and each conv weight gradient is one matrix product with the
    /// input's patches ([`ConvGradients::of`]; 15–20 % faster Hessians than burn's
    /// `conv2d_weight_backward`). The loss and every gradient but the conv weights' equal
    /// autodiff's through [`Cnn::forward`] or the mask replay bit for bit; the conv weights'
    /// differ in the order of their sums (≤ 1e-6 of the largest gradient in f32, 1e-13 in
    /// f64, `loss_and_gradients_equal_autodiff_live_and_replayed`). The conv gradients are put
    /// into the classifier's [`Gradients`] (`grad_replace`), where
    /// [`crate::params::flat_gradient`] finds them.
    pub(crate) fn loss_and_gradients(
        &self,
        x: &Tensor<4>,
        labels: &Tensor<1, Int>,
        pattern: Option<&ActivationPattern>,
        divisor: f64,
    ) -> Option<(f64, Gradients)> {
        let device = x.device();
        // Without tracked parameters there is nothing to put the conv gradients next to.
        let tracked = self.conv1.weight.is_require_grad();
        // As in `loss_input_gradient`: a normalised model goes through autodiff.
        if self.normalize.is_some()
            || !tracked
            || !device.is_autodiff()
            || device.inner() != Device::flex()
        {
            return None;
        }
        let gates = match pattern.map(|p| p.gates.as_slice()) {
            None => None,
            Some(
                [
                    Gate::Pool { selection: s1, .. },
                    Gate::Pool { selection: s2, .. },
                ],
            ) => Some([s1, s2]),
            Some(_) => return None,
        };
        let plain = self.valid();
        let x = x.clone().inner();
        let back = self.backward_by_hand(&plain, x.clone(), labels, gates, divisor)?;
        let mut grads = back.grads;
        let stage2 = ConvGradients::of(back.tape.a1, back.g_z2);
        let stage1 = ConvGradients::of(x, back.g_z1);
        for (conv, g) in [(&self.conv1, stage1), (&self.conv2, stage2)] {
            conv.weight.val().grad_replace(&mut grads, g.weight);
            if let Some(bias) = &conv.bias {
                bias.val().grad_replace(&mut grads, g.bias);
            }
        }
        Some((back.loss, grads))
    }

    /// What both hand-written gradients share: the forward pass by hand (`plain` is `self` on
    /// the inner device), the classifier and the loss through autodiff (`self`'s, so its
    /// parameters' gradients land in `grads` when they are tracked), then the conv stages'
    /// ReLU + pool backward down to the gradient of each conv's output. `grads` holds the
    /// gradients of Σᵢ CE / `divisor`.
    fn backward_by_hand<'a>(
        &self,
        plain: &Cnn,
        x: Tensor<4>,
        labels: &Tensor<1, Int>,
        gates: Option<[&'a Selection; 2]>,
        divisor: f64,
    ) -> Option<HandBackward<'a>> {
        let tape = plain.forward_by_hand(x, gates);
        let features = Tensor::from_inner(tape.features.clone()).require_grad();
        let sum = cross_entropy(self.fc1.forward(features.clone()), labels.clone()).sum();
        let loss = sum.clone().detach().inner().into_scalar::<f64>();
        let grads = sum.div_scalar(divisor).backward();
        let g_z2 = tape.s2.unpool(features.grad(&grads)?.reshape(tape.pooled));
        let g_z1 = tape
            .s1
            .unpool(conv_input_gradient(&plain.conv2, g_z2.clone()));
        Some(HandBackward {
            tape,
            loss,
            grads,
            g_z2,
            g_z1,
        })
    }

    /// The forward pass with the conv stages' ReLU + pool on the host, live (`gates` `None`)
    /// or replaying recorded winners; `self` and `x` on the inner device.
    fn forward_by_hand<'a>(&self, x: Tensor<4>, gates: Option<[&'a Selection; 2]>) -> Tape<'a> {
        let stage = |z: Tensor<4>, recorded: Option<&'a Selection>| match recorded {
            Some(selection) => (selection.gather(z), Cow::Borrowed(selection)),
            None => {
                let pooled = pool2_host(z, true, true);
                let selection = pooled.selection.expect("the selection was asked for");
                (pooled.values, Cow::Owned(selection))
            }
        };
        let (a1, s1) = stage(self.conv1.forward(x), gates.map(|g| g[0]));
        let (a2, s2) = stage(self.conv2.forward(a1.clone()), gates.map(|g| g[1]));
        let pooled = a2.dims();
        Tape {
            a1,
            s1,
            s2,
            pooled,
            features: a2.flatten(1, 3),
        }
    }

    pub(crate) fn forward_gated(&self, x: Tensor<4>, gating: &mut Gating<'_>) -> Tensor<2> {
        let x = InputNorm::apply(self.normalize.as_ref(), x);
        let x = gating.relu_pool2(self.conv1.forward(x));
        let x = gating.relu_pool2(self.conv2.forward(x)); // [b, 32, h2, w2]
        self.fc1.forward(x.flatten(1, 3))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Model, ModelShape};
    use crate::params::{ParamLayout, flat_gradient, flatten, init_seeded, load_flat};
    use advland_schema::ModelSpec;
    use burn::tensor::{DType, Distribution, TensorData};

    fn host(t: Tensor<4>) -> Vec<f64> {
        t.into_data().convert::<f64>().try_to_vec::<f64>().unwrap()
    }

    /// Inputs and a seeded CNN for them: `n` Fashion-MNIST images, and 5 random 3×13×15 inputs
    /// far from the data, where each stage drops a row or column (13×15 → 11×13 → 5×6 → 3×4
    /// → 1×2) and many windows are switched off.
    fn cases(
        n: usize,
        seed: u64,
        device: &Device,
    ) -> Vec<([usize; 3], Model, TensorData, TensorData)> {
        let data = advland_data::fashion_mnist_bundled().unwrap().test;
        let (pixels, labels) = data.gather(&(0..n).collect::<Vec<_>>());
        let fashion = (
            TensorData::new(pixels, [n, 1, 28, 28]),
            TensorData::new(labels, [n]),
        );
        let odd = (
            Tensor::<4>::random([5, 3, 13, 15], Distribution::Normal(0.0, 2.0), device).into_data(),
            TensorData::new(vec![0i64, 1, 2, 3, 4], [5]),
        );
        [([1, 28, 28], fashion), ([3, 13, 15], odd)]
            .into_iter()
            .map(|(input, (x, y))| {
                let shape = ModelShape { input, classes: 10 };
                let model = Model::build(&ModelSpec::default(), shape, device).unwrap();
                (input, init_seeded(model, seed).unwrap(), x, y)
            })
            .collect()
    }

    #[test]
    fn loss_input_gradient_equals_autodiff() {
        let device = Device::flex().autodiff();
        let data = advland_data::fashion_mnist_bundled().unwrap().test;
        for (input, model, x, y) in cases(48, 5, &device) {
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

    #[test]
    fn loss_and_gradients_equal_autodiff_live_and_replayed() {
        let device = Device::flex().autodiff();
        for (input, model, x, y) in cases(40, 7, &device) {
            for dtype in [DType::F32, DType::F64] {
                let model = load_flat(model.clone(), flatten(&model).cast(dtype)).unwrap();
                let Model::Cnn(cnn) = &model else {
                    unreachable!("built as a CNN")
                };
                let x = Tensor::<4>::from_data(x.clone(), (&device, dtype));
                let y = Tensor::<1, Int>::from_data(y.clone(), &device);
                let (_, pattern) = model.forward_recording(x.clone());
                // Replayed away from the recording point, as θ + hv moves the activations.
                let shifted = x.clone() + x.clone().sin().mul_scalar(0.3);
                for (x, pattern) in [(x.clone(), None), (shifted, Some(&pattern))] {
                    let (loss, grads) = cnn.loss_and_gradients(&x, &y, pattern, 7.0).unwrap();
                    let fast = flat_gradient(&model, &grads);
                    let logits = match pattern {
                        Some(p) => model.forward_with_pattern(x, p),
                        None => model.forward(x),
                    };
                    let sum = cross_entropy(logits, y.clone()).sum();
                    let expected_loss = sum.clone().detach().inner().into_scalar::<f64>();
                    let autodiff = flat_gradient(&model, &sum.div_scalar(7.0).backward());
                    let what = format!("{input:?} {dtype:?} replayed {}", pattern.is_some());
                    assert_eq!(loss, expected_loss, "{what}");
                    let (fast, autodiff) = (host1(fast), host1(autodiff));
                    assert!(fast.iter().any(|&g| g != 0.0), "{what}");
                    // The conv weights' sums run in another order (one matrix product over
                    // all positions); everything else is the same operation on the same values.
                    let scale = autodiff.iter().fold(0.0f64, |m, g| m.max(g.abs()));
                    let tol = if dtype == DType::F64 { 1e-13 } else { 1e-6 };
                    for entry in ParamLayout::of(&model).entries {
                        let range = entry.offset..entry.offset + entry.len;
                        let gap = fast[range.clone()]
                            .iter()
                            .zip(&autodiff[range])
                            .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
                        if entry.name.starts_with("conv") && entry.name.ends_with("weight") {
                            assert!(
                                gap <= tol * scale,
                                "{what} {}: {gap} (scale {scale})",
                                entry.name
                            );
                        } else {
                            assert!(gap == 0.0, "{what} {}: {gap}", entry.name);
                        }
                    }
                }
            }
        }
        // A pattern of another architecture is not the CNN's to replay.
        let Model::Cnn(cnn) = init_seeded(
            Model::build(
                &ModelSpec::default(),
                ModelShape {
                    input: [1, 28, 28],
                    classes: 10,
                },
                &device,
            )
            .unwrap(),
            1,
        )
        .unwrap() else {
            unreachable!("built as a CNN")
        };
        let x = Tensor::<4>::zeros([2, 1, 28, 28], &device);
        let y = Tensor::<1, Int>::zeros([2], &device);
        let empty = ActivationPattern::default();
        assert!(cnn.loss_and_gradients(&x, &y, Some(&empty), 1.0).is_none());
        assert!(cnn.loss_and_gradients(&x, &y, None, 1.0).is_some());
        // Nor is a network whose parameters are not tracked.
        let frozen = cnn.no_grad();
        assert!(frozen.loss_and_gradients(&x, &y, None, 1.0).is_none());
    }

    fn host1(t: Tensor<1>) -> Vec<f64> {
        t.into_data().convert::<f64>().try_to_vec::<f64>().unwrap()
    }
}
