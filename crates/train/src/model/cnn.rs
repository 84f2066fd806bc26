//! The small CNN of the foundation issue:
//! conv3x3(16) → ReLU → maxpool2 → conv3x3(32) → ReLU → maxpool2 (floor) → flatten → Linear.
//! ReLUs and 2×2 pools go through [`Gating`] so that an activation pattern can be recorded
//! and replayed (see [`super::pattern`]).
//! On 1×28×28 input with 10 classes it has 12,810 parameters.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor};

use super::pattern::Gating;

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

    pub(crate) fn forward_gated(&self, x: Tensor<4>, gating: &mut Gating<'_>) -> Tensor<2> {
        let x = gating.relu_pool2(self.conv1.forward(x));
        let x = gating.relu_pool2(self.conv2.forward(x)); // [b, 32, h2, w2]
        self.fc1.forward(x.flatten(1, 3))
    }
}
