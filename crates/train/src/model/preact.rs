//! robust_overfitting's / AWP's `PreActResNet18` (Rice et al. 2020, Wu et al. 2020), layer for
//! layer and name for name, with batch norm (see [`super::batch_norm`] for its modes).
//!
//! conv3x3(w) → 4 stages of 2 blocks with w, 2w, 4w, 8w channels (strides 1, 2, 2, 2) →
//! ReLU(BN) → `avg_pool2d(·, 4)` → linear; w = 64 as published (11,172,170 parameters on
//! CIFAR-10). A block: `a = relu(bn1(x))`, `shortcut = conv1x1(a)` where it changes shape,
//! else `x`; `out = conv2(relu(bn2(conv1(a)))) + shortcut`. The shortcut reads the activated
//! input, as robust_overfitting's `PreActBlock` (RobustBench's `PreActBlockV2` reads `x`; the
//! keys are the same, the function is not).
//!
//! Initialisation: PyTorch's defaults, which robust_overfitting keeps (U(±1/√fan_in) for convs
//! and the linear layer, BN weight 1 and bias 0).

use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, Linear, LinearConfig};
use burn::tensor::{Device, Tensor};

use super::batch_norm::{InputNorm, PreActBlock, Shortcut, batch_norm, conv, forward_network};
use super::pattern::Gating;
use super::resnet::stages;

/// Blocks per stage of ResNet-18.
const BLOCKS: [usize; 4] = [2, 2, 2, 2];
/// The head's `avg_pool2d` kernel.
pub(crate) const POOL: usize = 4;

/// The network. PyTorch names: `conv1`, `layer1.0.bn1`, …, `layer2.0.shortcut.0`, `bn`,
/// `linear`.
#[derive(Module, Debug)]
pub struct PreActResNet {
    /// Input normalisation (constants), if the spec asks for it.
    pub normalize: Option<InputNorm>,
    /// Stem, 3×3 to `width` channels, no bias.
    pub conv1: Conv2d,
    /// Four stages of two blocks.
    pub layer: Vec<Vec<PreActBlock>>,
    /// BN of the head.
    pub bn: BatchNorm,
    /// Classifier.
    pub linear: Linear,
}

impl PreActResNet {
    /// PreActResNet-18 for `channels`-channel inputs with `width` channels in the first stage.
    pub(crate) fn new(
        channels: usize,
        width: usize,
        classes: usize,
        normalize: Option<InputNorm>,
        device: &Device,
    ) -> Self {
        let (layer, c_in) = stages(&BLOCKS, width, |channels, stride| {
            PreActBlock::new(channels, stride, Shortcut::Sequential, device)
        });
        Self {
            normalize,
            conv1: conv([channels, width], 3, 1, device),
            layer,
            bn: batch_norm(c_in, device),
            linear: LinearConfig::new(c_in, classes).init(device),
        }
    }

    /// Parameters (θ, not the running statistics) of [`PreActResNet::new`]; `None` on
    /// overflow.
    pub(crate) fn param_count(channels: usize, width: usize, classes: usize) -> Option<usize> {
        let conv =
            |c_in: usize, c_out: usize, k: usize| c_in.checked_mul(c_out)?.checked_mul(k * k);
        let mut total = conv(channels, width, 3)?;
        let mut c_in = width;
        for (s, &blocks) in BLOCKS.iter().enumerate() {
            let c_out = width.checked_mul(1 << s)?;
            for i in 0..blocks {
                total = total
                    .checked_add(2 * c_in)?
                    .checked_add(conv(c_in, c_out, 3)?)?
                    .checked_add(2 * c_out)?
                    .checked_add(conv(c_out, c_out, 3)?)?;
                if i == 0 && (s > 0 || c_in != c_out) {
                    total = total.checked_add(conv(c_in, c_out, 1)?)?;
                }
                c_in = c_out;
            }
        }
        total
            .checked_add(2 * c_in)?
            .checked_add(c_in.checked_mul(classes)?.checked_add(classes)?)
    }

    pub(crate) fn forward_gated(&self, x: Tensor<4>, gating: &mut Gating<'_>) -> Tensor<2> {
        forward_network(
            self.normalize.as_ref(),
            &self.conv1,
            self.layer.iter().flatten(),
            (&self.bn, &self.linear, POOL),
            x,
            gating,
        )
    }

    pub(crate) fn map_batch_norms(self, f: &mut impl FnMut(BatchNorm) -> BatchNorm) -> Self {
        Self {
            layer: self
                .layer
                .into_iter()
                .map(|stage| stage.into_iter().map(|b| b.map_batch_norms(f)).collect())
                .collect(),
            bn: f(self.bn),
            ..self
        }
    }

    /// The mode of the first BN (all share one: [`super::Model::with_bn_mode`] sets them
    /// together).
    pub(crate) fn first_bn(&self) -> &BatchNorm {
        &self.layer[0][0].bn1
    }
}
