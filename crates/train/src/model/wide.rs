//! The wide ResNet of TRADES (Zhang et al. 2019, `models/wideresnet.py`) as RobustBench loads
//! it, layer for layer and name for name, with batch norm (see [`super::batch_norm`]).
//!
//! WRN-d-k: conv3x3(b) → three `NetworkBlock`s of n = (d − 4)/6 `BasicBlock`s with b·k, 2b·k,
//! 4b·k channels (strides 1, 2, 2) → ReLU(BN) → `avg_pool2d(·, 8)` → linear; b = 16 as
//! published (WRN-34-10: 46,160,474 parameters on CIFAR-10, WRN-28-10: 36,479,194). A
//! `BasicBlock(in, out, stride)` with `equal = in == out`:
//! ```text
//! equal:     a = relu(bn1(x)); out = conv2(relu(bn2(conv1(a)))); return x + out
//! not equal: x = relu(bn1(x)); out = conv2(relu(bn2(conv1(x)))); return convShortcut(x) + out
//! ```
//! so a shape-changing block's shortcut reads the activated input and an identity block's the
//! raw one: the function of robust_overfitting's `PreActBlock`, whose code it shares
//! ([`PreActBlock`]; the sum's order differs, which f32 addition ignores). Dropout is TRADES' `dropRate = 0` (the published models), i.e. absent. TRADES' own
//! files carry an unused `sub_block1`, left out here as RobustBench leaves it out.
//!
//! Initialisation: U(±1/√fan_in) (PyTorch's defaults) for convs and the linear layer, BN weight 1
//! and bias 0; TRADES draws its convs from N(0, 2/(k²·out)), a different scale that batch norm
//! makes irrelevant to the function at init.

use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, Linear, LinearConfig};
use burn::tensor::{Device, Tensor};

use super::batch_norm::{
    InputNorm, PreActBlock, Sequential, Shortcut, batch_norm, conv, forward_network,
};
use super::pattern::Gating;

/// The head's `avg_pool2d` kernel.
pub(crate) const POOL: usize = 8;

/// TRADES' `BasicBlock`: the function and the keys of [`PreActBlock`] but for the shortcut's
/// name (`convShortcut`), present exactly where the width changes.
pub type BasicBlock = PreActBlock;

/// TRADES' `NetworkBlock`: a `Sequential` named `layer`.
#[derive(Module, Debug)]
pub struct NetworkBlock {
    /// The blocks.
    pub layer: Sequential<BasicBlock>,
}

/// The network. PyTorch names: `conv1`, `block1.layer.0.bn1`, …,
/// `block2.layer.0.convShortcut`, `bn1`, `fc`.
#[derive(Module, Debug)]
pub struct WideResNet {
    /// Input normalisation (constants), if the spec asks for it.
    pub normalize: Option<InputNorm>,
    /// Stem, 3×3 to `base` channels, no bias.
    pub conv1: Conv2d,
    /// `block1`, `block2`, `block3`.
    pub block: Vec<NetworkBlock>,
    /// BN of the head.
    pub bn1: BatchNorm,
    /// Classifier.
    pub fc: Linear,
}

/// Channels of the stem and the three stages.
fn widths(base: usize, widen: usize) -> Option<[usize; 4]> {
    let stage = base.checked_mul(widen)?;
    Some([base, stage, stage.checked_mul(2)?, stage.checked_mul(4)?])
}

impl WideResNet {
    /// WRN-`depth`-`widen` with a stem of `base` channels for `channels`-channel inputs.
    ///
    /// # Panics
    /// If `depth` is not 6n + 4 with n ≥ 1 or the widths overflow; callers validate first.
    pub(crate) fn new(
        channels: usize,
        [depth, widen, base]: [usize; 3],
        classes: usize,
        normalize: Option<InputNorm>,
        device: &Device,
    ) -> Self {
        assert!(
            depth >= 10 && (depth - 4).is_multiple_of(6),
            "WRN depth {depth}"
        );
        let n = (depth - 4) / 6;
        let w = widths(base, widen).expect("the spec's widths were checked");
        let block = (0..3)
            .map(|s| NetworkBlock {
                layer: Sequential {
                    items: (0..n)
                        .map(|i| {
                            let c_in = if i == 0 { w[s] } else { w[s + 1] };
                            let stride = if s > 0 && i == 0 { 2 } else { 1 };
                            let channels = [c_in, w[s + 1]];
                            PreActBlock::new(channels, stride, Shortcut::Conv, device)
                        })
                        .collect(),
                },
            })
            .collect();
        Self {
            normalize,
            conv1: conv([channels, base], 3, 1, device),
            block,
            bn1: batch_norm(w[3], device),
            fc: LinearConfig::new(w[3], classes).init(device),
        }
    }

    /// Parameters (θ, not the running statistics) of [`WideResNet::new`]; `None` on overflow
    /// or an invalid depth.
    pub(crate) fn param_count(
        channels: usize,
        [depth, widen, base]: [usize; 3],
        classes: usize,
    ) -> Option<usize> {
        if depth < 10 || !(depth - 4).is_multiple_of(6) {
            return None;
        }
        let n = (depth - 4) / 6;
        let w = widths(base, widen)?;
        let conv =
            |c_in: usize, c_out: usize, k: usize| c_in.checked_mul(c_out)?.checked_mul(k * k);
        let block = |c_in: usize, c_out: usize| -> Option<usize> {
            let mut p = (2 * c_in)
                .checked_add(conv(c_in, c_out, 3)?)?
                .checked_add(2 * c_out)?
                .checked_add(conv(c_out, c_out, 3)?)?;
            if c_in != c_out {
                p = p.checked_add(conv(c_in, c_out, 1)?)?;
            }
            Some(p)
        };
        let mut total = conv(channels, base, 3)?;
        for s in 0..3 {
            let rest = block(w[s + 1], w[s + 1])?.checked_mul(n - 1)?;
            total = total
                .checked_add(block(w[s], w[s + 1])?)?
                .checked_add(rest)?;
        }
        total
            .checked_add(2 * w[3])?
            .checked_add(w[3].checked_mul(classes)?.checked_add(classes)?)
    }

    pub(crate) fn forward_gated(&self, x: Tensor<4>, gating: &mut Gating<'_>) -> Tensor<2> {
        forward_network(
            self.normalize.as_ref(),
            &self.conv1,
            self.block.iter().flat_map(|b| &b.layer.items),
            (&self.bn1, &self.fc, POOL),
            x,
            gating,
        )
    }

    pub(crate) fn map_batch_norms(self, f: &mut impl FnMut(BatchNorm) -> BatchNorm) -> Self {
        Self {
            block: self
                .block
                .into_iter()
                .map(|b| NetworkBlock {
                    layer: Sequential {
                        items: b
                            .layer
                            .items
                            .into_iter()
                            .map(|x| x.map_batch_norms(f))
                            .collect(),
                    },
                })
                .collect(),
            bn1: f(self.bn1),
            ..self
        }
    }

    /// The first BN (all share one mode).
    pub(crate) fn first_bn(&self) -> &BatchNorm {
        &self.block[0].layer.items[0].bn1
    }
}
