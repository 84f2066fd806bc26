//! A pre-activation ResNet (He et al. 2016, "Identity Mappings in Deep Residual Networks"), the
//! family of the PreActResNet-18 that adversarial-training code bases use on CIFAR-10, without
//! batch normalisation.
//!
//! Why no batch norm: every analysis here treats the loss as a function of θ alone (Hessians,
//! κ probes, surfaces, attacks re-solved at each θ). With batch norm that function depends on
//! the batch in train mode and on running statistics (state outside θ) in eval mode, and the
//! Python tools disagree on which mode attacks and landscapes use (see
//! `shared/research/anchors.md`, "BN mode during training-time attacks"). The batch-norm
//! networks of the published robust models ([`super::PreActResNet`], [`super::WideResNet`])
//! are here too, analysed in eval mode, where the running statistics are fixed constants and
//! the loss is again a function of θ (see [`super::batch_norm`] for the modes; in burn 0.22.1
//! an autodiff device alone does not switch a layer to batch statistics, its `training` flag
//! does). This network has no such state at all: it stays piecewise linear in its inputs with
//! ReLU gates only, so activation patterns replay exactly (see [`super::pattern`]). What lets it train without normalisation is its
//! initialisation ([`ResNet::init_gain`]), after Fixup (Zhang et al. 2019): He-scaled weights
//! keep the signal's variance through every ReLU and conv, and each branch's last conv is scaled
//! by 1/√(number of blocks) so the sum over the residual path stays O(1). PyTorch's default
//! U(±1/√fan_in) shrinks the variance 6× per conv, and measured here a 2-stage net barely moved
//! off chance in 48 steps with it.
//!
//! Layout: conv3x3(width) → stages s = 0.. of `blocks[s]` blocks with width·2ˢ channels (stride
//! 2 in the first block of every stage after the first) → ReLU → global average pool → Linear.
//! A block is `y = x' + conv2(relu(conv1(relu(x))))` where x' is x, or a strided 1×1 conv of
//! relu(x) where the shape changes. `blocks = [2, 2, 2, 2]`, `width = 64` is the ResNet-18
//! layout (11.2 M parameters on CIFAR-10).

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::{Device, Tensor};

use super::batch_norm::InputNorm;
use super::pattern::Gating;

/// One pre-activation residual block.
#[derive(Module, Debug)]
pub struct Block {
    /// 3×3, carries the block's stride.
    pub conv1: Conv2d,
    /// 3×3, stride 1.
    pub conv2: Conv2d,
    /// 1×1 strided projection where the block changes width or resolution.
    pub shortcut: Option<Conv2d>,
}

fn conv3x3(channels: [usize; 2], stride: usize, device: &Device) -> Conv2d {
    Conv2dConfig::new(channels, [3, 3])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .init(device)
}

impl Block {
    fn new(channels: [usize; 2], stride: usize, device: &Device) -> Self {
        let shortcut = (stride != 1 || channels[0] != channels[1]).then(|| {
            Conv2dConfig::new(channels, [1, 1])
                .with_stride([stride, stride])
                .init(device)
        });
        Self {
            conv1: conv3x3(channels, stride, device),
            conv2: conv3x3([channels[1], channels[1]], 1, device),
            shortcut,
        }
    }

    fn forward_gated(&self, x: Tensor<4>, gating: &mut Gating<'_>) -> Tensor<4> {
        let a = gating.relu4(x.clone());
        let identity = match &self.shortcut {
            Some(projection) => projection.forward(a.clone()),
            None => x,
        };
        let h = self.conv1.forward(a);
        let h = self.conv2.forward(gating.relu4(h));
        h + identity
    }
}

/// Stages s = 0.. of `blocks[s]` blocks with width·2ˢ channels, stride 2 in the first block of
/// every stage after the first, each block made by `block([c_in, c_out], stride)`; and the
/// last stage's width. The layout of this ResNet and of PreActResNet-18.
pub(super) fn stages<B>(
    blocks: &[usize],
    width: usize,
    mut block: impl FnMut([usize; 2], usize) -> B,
) -> (Vec<Vec<B>>, usize) {
    let mut c_in = width;
    let layer = blocks
        .iter()
        .enumerate()
        .map(|(s, &n)| {
            let c_out = width << s;
            (0..n)
                .map(|i| {
                    let stride = if s > 0 && i == 0 { 2 } else { 1 };
                    let made = block([c_in, c_out], stride);
                    c_in = c_out;
                    made
                })
                .collect()
        })
        .collect();
    (layer, c_in)
}

/// The ResNet. Exported names follow PyTorch's PreActResNet: `conv1`, `layer1.0.conv1`, …,
/// `layer2.0.shortcut`, `linear`.
#[derive(Module, Debug)]
pub struct ResNet {
    /// Stem, 3×3 to `width` channels.
    pub conv1: Conv2d,
    /// Stages of blocks.
    pub layer: Vec<Vec<Block>>,
    /// Classifier on the pooled features.
    pub linear: Linear,
    /// Per-channel input normalisation before the stem (`model.normalize`).
    pub normalize: Option<InputNorm>,
}

impl ResNet {
    /// Builds the ResNet for `channels`-channel inputs (any spatial size), `blocks[s]` blocks in
    /// stage s and `width` channels in the first stage.
    ///
    /// # Panics
    /// If `blocks` is empty, a stage has no block or `width` is 0; callers validate first.
    pub fn new(
        channels: usize,
        blocks: &[usize],
        width: usize,
        classes: usize,
        device: &Device,
    ) -> Self {
        assert!(
            !blocks.is_empty() && !blocks.contains(&0) && width > 0,
            "invalid ResNet layout {blocks:?} x {width}"
        );
        let (layer, c_in) = stages(blocks, width, |channels, stride| {
            Block::new(channels, stride, device)
        });
        Self {
            conv1: conv3x3([channels, width], 1, device),
            layer,
            linear: LinearConfig::new(c_in, classes).init(device),
            normalize: None,
        }
    }

    /// The number of parameters [`ResNet::new`] makes, or `None` where it overflows `usize`;
    /// computed stage by stage, not block by block, so a corrupt layout of 2^60 blocks is
    /// refused at once.
    pub(crate) fn param_count(
        channels: usize,
        blocks: &[usize],
        width: usize,
        classes: usize,
    ) -> Option<usize> {
        // Weights c_in·c_out·k² plus c_out biases.
        let conv = |c_in: usize, c_out: usize, k: usize| {
            c_in.checked_mul(c_out)?
                .checked_mul(k * k)?
                .checked_add(c_out)
        };
        let mut total = conv(channels, width, 3)?;
        let mut c_in = width;
        for (s, &n) in blocks.iter().enumerate() {
            if n == 0 {
                continue;
            }
            let c_out = width.checked_mul(1usize.checked_shl(u32::try_from(s).ok()?)?)?;
            let mut first = conv(c_in, c_out, 3)?.checked_add(conv(c_out, c_out, 3)?)?;
            if s > 0 || c_in != c_out {
                first = first.checked_add(conv(c_in, c_out, 1)?)?;
            }
            let rest = conv(c_out, c_out, 3)?.checked_mul(2)?.checked_mul(n - 1)?;
            total = total.checked_add(first)?.checked_add(rest)?;
            c_in = c_out;
        }
        total.checked_add(c_in.checked_mul(classes)?.checked_add(classes)?)
    }

    /// Initialisation gain of parameter `name` (PyTorch name) relative to U(±1/√fan_in): √6,
    /// i.e. He-uniform U(±√(6/fan_in)), for conv weights; that divided by √(number of blocks)
    /// for each block's `conv2`; 1 (PyTorch's default) for biases and the classifier.
    pub fn init_gain(&self, name: &str) -> f64 {
        let he = 6f64.sqrt();
        if !name.ends_with(".weight") || name.starts_with("linear.") {
            1.0
        } else if name.ends_with(".conv2.weight") {
            let blocks = self.layer.iter().map(Vec::len).sum::<usize>();
            he / (blocks as f64).sqrt()
        } else {
            he
        }
    }

    pub(crate) fn forward_gated(&self, x: Tensor<4>, gating: &mut Gating<'_>) -> Tensor<2> {
        let x = InputNorm::apply(self.normalize.as_ref(), x);
        let mut h = self.conv1.forward(x);
        for block in self.layer.iter().flatten() {
            h = block.forward_gated(h, gating);
        }
        let h = gating.relu4(h);
        let [b, c, _, _] = h.dims();
        let pooled: Tensor<2> = h.flatten::<3>(2, 3).mean_dim(2).reshape([b, c]);
        self.linear.forward(pooled)
    }
}
