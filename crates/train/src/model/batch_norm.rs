//! Batch normalisation as PyTorch's `BatchNorm2d` computes it, on burn's [`BatchNorm`] module,
//! and the layers the two batch-norm ResNets share (bias-free convs, the BN → ReLU →
//! average-pool → linear head, input normalisation).
//!
//! Which statistics a layer uses is its mode ([`BnMode`]), held in burn's own `training` flag
//! of each layer and set for the whole model by [`super::Model::with_bn_mode`]:
//! - **eval**: the running statistics. The layer is then affine, so the loss is a function of θ
//!   alone and activation patterns replay exactly. Gradients reach the affine weight and bias
//!   on an autodiff device, and nothing is written. Every model is built in this mode, so
//!   attacks, measures and surfaces get it without asking.
//! - **train**: the batch's statistics, and PyTorch's update of the running ones,
//!   `running ← (1 − m)·running + m·batch` with m = 0.1, where the running variance takes the
//!   *unbiased* batch variance (n/(n − 1) times the biased one that normalises the batch).
//!   burn's own training path (`BatchNorm::forward` on an autodiff device) feeds the biased
//!   variance into `running_var`, so this file runs its own ([`forward_train`]) on burn's
//!   `batch_norm_train`; the eval path is burn's. The mode, not the device, picks the path,
//!   so a train-mode forward also runs on a device without autodiff (re-estimation,
//!   [`super::Model::recompute_bn_statistics`]).
//!
//! Running statistics live in burn's `RunningState`, shared by clones of a module: a train-mode
//! forward on a clone updates the original too, as PyTorch's in-place buffers do within one
//! module. Re-estimation therefore works on fresh copies ([`fresh_statistics`]).

// `PreActBlock::convShortcut`: the field's name is PyTorch's parameter name, and the Module
// derive repeats it in generated code, out of reach of an attribute on the field.
#![allow(non_snake_case)]

pub use advland_schema::BnMode;
use burn::module::{Module, ModuleMapper, Param, RunningState};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, PaddingConfig2d};
use burn::tensor::{Device, Tensor, TensorData};

use super::pattern::Gating;

/// PyTorch's `BatchNorm2d` defaults.
const MOMENTUM: f64 = 0.1;
const EPSILON: f64 = 1e-5;

/// A `BatchNorm2d(features)` with PyTorch's momentum and ε, in eval mode.
pub(crate) fn batch_norm(features: usize, device: &Device) -> BatchNorm {
    let bn = BatchNormConfig::new(features)
        .with_momentum(MOMENTUM)
        .with_epsilon(EPSILON)
        .init(device);
    BatchNorm {
        training: bn.training.clone().with_value(false),
        ..bn
    }
}

/// A bias-free conv, padding 1 for 3×3 kernels and 0 for 1×1 (PyTorch's `bias=False` convs of
/// both ResNets).
pub(crate) fn conv(channels: [usize; 2], kernel: usize, stride: usize, device: &Device) -> Conv2d {
    let pad = kernel / 2;
    Conv2dConfig::new(channels, [kernel, kernel])
        .with_stride([stride, stride])
        .with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad))
        .with_bias(false)
        .init(device)
}

/// The mode of `bn`.
pub(crate) fn mode(bn: &BatchNorm) -> BnMode {
    if bn.training.is_enabled() {
        BnMode::Train
    } else {
        BnMode::Eval
    }
}

/// `bn` applied to `x` in its mode (see the module docs).
pub(crate) fn forward(bn: &BatchNorm, x: Tensor<4>) -> Tensor<4> {
    match mode(bn) {
        // Flag off: burn's inference path, whatever the device.
        BnMode::Eval => bn.forward(x),
        BnMode::Train => forward_train(bn, x),
    }
}

/// Batch statistics, and PyTorch's running-statistics update with `bn.momentum`.
fn forward_train(bn: &BatchNorm, x: Tensor<4>) -> Tensor<4> {
    let [b, _, h, w] = x.dims();
    let n = b * h * w;
    let device = x.device();
    let out = burn::tensor::module::batch_norm_train(x, bn.gamma.val(), bn.beta.val(), bn.epsilon);
    // PyTorch refuses a train-mode batch of one value per channel; the unbiased variance is
    // undefined there, and the biased one (0) is kept instead of dividing by zero.
    let bessel = if n > 1 {
        n as f64 / (n - 1) as f64
    } else {
        1.0
    };
    let m = bn.momentum;
    let update = |state: &RunningState<Tensor<1>>, batch: Tensor<1>| {
        let old = state.value_sync().to_device(&device);
        let new = old.mul_scalar(1.0 - m).add(batch.mul_scalar(m)).detach();
        state.update(new);
        // Merges this thread's update at once: the state then holds the new value for every
        // reader (a checkpoint's visitor reads it without syncing).
        let _ = state.value_sync();
    };
    update(&bn.running_mean, out.mean.detach());
    update(&bn.running_var, out.variance.detach().mul_scalar(bessel));
    out.output
}

/// `bn` with running statistics of its own (the same values), no longer shared with the
/// module it was cloned from.
pub(crate) fn fresh_statistics(bn: BatchNorm) -> BatchNorm {
    let mean = bn.running_mean.value_sync();
    let var = bn.running_var.value_sync();
    BatchNorm {
        running_mean: RunningState::new(mean),
        running_var: RunningState::new(var),
        ..bn
    }
}

/// `bn` with running statistics of its own, cast to `dtype`.
pub(crate) fn statistics_as(bn: BatchNorm, dtype: burn::tensor::DType) -> BatchNorm {
    let mean = bn.running_mean.value_sync().cast(dtype);
    let var = bn.running_var.value_sync().cast(dtype);
    BatchNorm {
        running_mean: RunningState::new(mean),
        running_var: RunningState::new(var),
        ..bn
    }
}

/// `bn` in `mode`.
pub(crate) fn with_mode(bn: BatchNorm, mode: BnMode) -> BatchNorm {
    BatchNorm {
        training: bn.training.clone().with_value(mode == BnMode::Train),
        ..bn
    }
}

/// `bn` with momentum `m` for later train-mode forwards.
pub(crate) fn with_momentum(bn: BatchNorm, momentum: f64) -> BatchNorm {
    BatchNorm { momentum, ..bn }
}

/// PyTorch's momentum, restored after a re-estimation.
pub(crate) fn with_default_momentum(bn: BatchNorm) -> BatchNorm {
    with_momentum(bn, MOMENTUM)
}

/// ReLU(BN(x)), the pre-activation of both ResNets' blocks and heads.
pub(crate) fn bn_relu(bn: &BatchNorm, x: Tensor<4>, gating: &mut Gating<'_>) -> Tensor<4> {
    gating.relu4(forward(bn, x))
}

/// How a [`PreActBlock`]'s projection is named, which is all that tells the two families'
/// blocks apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shortcut {
    /// robust_overfitting's `shortcut = nn.Sequential(conv1x1)` (`shortcut.0.weight`), where
    /// the block changes width or resolution.
    Sequential,
    /// TRADES' `convShortcut` (`convShortcut.weight`), where the block changes width.
    Conv,
}

/// The pre-activation residual block of both batch-norm ResNets (robust_overfitting's
/// `PreActBlock`, TRADES' `BasicBlock`): `a = relu(bn1(x))`, then
/// `conv2(relu(bn2(conv1(a)))) + s` where `s` is the projection of `a` if the block has one,
/// else `x`. TRADES writes its
/// shape-changing case as `x = relu(bn1(x))` followed by `convShortcut(x)`: the same function.
/// One of the two projection fields is set, by the family's rule and under its name.
#[derive(Module, Debug)]
pub struct PreActBlock {
    /// BN of the block's input.
    pub bn1: BatchNorm,
    /// 3×3, carries the stride.
    pub conv1: Conv2d,
    /// BN between the convs.
    pub bn2: BatchNorm,
    /// 3×3, stride 1.
    pub conv2: Conv2d,
    /// robust_overfitting's projection, `nn.Sequential(conv1x1)`.
    pub shortcut: Option<Sequential<Conv2d>>,
    /// TRADES' projection.
    pub convShortcut: Option<Conv2d>,
}

impl PreActBlock {
    pub(crate) fn new(
        channels: [usize; 2],
        stride: usize,
        family: Shortcut,
        device: &Device,
    ) -> Self {
        let [c_in, c_out] = channels;
        let projection = || conv(channels, 1, stride, device);
        let (shortcut, conv_shortcut) = match family {
            Shortcut::Sequential => (
                (stride != 1 || c_in != c_out).then(|| Sequential {
                    items: vec![projection()],
                }),
                None,
            ),
            Shortcut::Conv => (None, (c_in != c_out).then(projection)),
        };
        Self {
            bn1: batch_norm(c_in, device),
            conv1: conv(channels, 3, stride, device),
            bn2: batch_norm(c_out, device),
            conv2: conv([c_out, c_out], 3, 1, device),
            shortcut,
            convShortcut: conv_shortcut,
        }
    }

    pub(crate) fn forward_gated(&self, x: Tensor<4>, gating: &mut Gating<'_>) -> Tensor<4> {
        let a = bn_relu(&self.bn1, x.clone(), gating);
        let projection = match (&self.shortcut, &self.convShortcut) {
            (Some(sequential), _) => sequential.items.first(),
            (None, conv) => conv.as_ref(),
        };
        let s = match projection {
            Some(p) => p.forward(a.clone()),
            None => x,
        };
        let h = self.conv1.forward(a);
        let h = self.conv2.forward(bn_relu(&self.bn2, h, gating));
        h + s
    }

    pub(crate) fn map_batch_norms(self, f: &mut impl FnMut(BatchNorm) -> BatchNorm) -> Self {
        Self {
            bn1: f(self.bn1),
            bn2: f(self.bn2),
            ..self
        }
    }
}

/// Both batch-norm ResNets end to end: the optional input normalisation, the stem conv, the
/// blocks in order, then [`head`] with `bn`, `linear` and a `pool`×`pool` average pool.
pub(crate) fn forward_network<'a>(
    normalize: Option<&InputNorm>,
    stem: &Conv2d,
    blocks: impl Iterator<Item = &'a PreActBlock>,
    (bn, linear, pool): (&BatchNorm, &Linear, usize),
    x: Tensor<4>,
    gating: &mut Gating<'_>,
) -> Tensor<2> {
    let x = InputNorm::apply(normalize, x);
    let mut h = stem.forward(x);
    for block in blocks {
        h = block.forward_gated(h, gating);
    }
    head(bn, linear, h, pool, gating)
}

/// The head of both ResNets: ReLU(BN(x)) → `avg_pool2d(·, pool)` → flatten → linear. The
/// pooled map is 1×1 ([`pooled_size`] is checked when the model is built), so the pool is the
/// mean of the top-left `pool`×`pool` window, as PyTorch's floor-mode pool reads it.
pub(crate) fn head(
    bn: &BatchNorm,
    linear: &Linear,
    x: Tensor<4>,
    pool: usize,
    gating: &mut Gating<'_>,
) -> Tensor<2> {
    let h = bn_relu(bn, x, gating);
    let [b, c, _, _] = h.dims();
    let window = h.slice([0..b, 0..c, 0..pool, 0..pool]);
    let pooled: Tensor<2> = window.flatten::<3>(2, 3).mean_dim(2).reshape([b, c]);
    linear.forward(pooled)
}

/// Side of the map after `halvings` stride-2, padding-1 3×3 convs (each takes ⌈s/2⌉) and a
/// floor-mode `avg_pool2d(·, pool)`: 1 exactly where the network's linear layer fits.
pub(crate) fn pooled_size(side: usize, halvings: u32, pool: usize) -> usize {
    let s = (0..halvings).fold(side, |s, _| s.div_ceil(2));
    if s < pool { 0 } else { (s - pool) / pool + 1 }
}

/// PyTorch's `nn.Sequential`: its items are named by index under the field that holds it
/// (`shortcut.0.weight`, `block1.layer.0.bn1.weight`), where a plain `Vec` field numbers its
/// items into the field's name (`fc1`; see [`crate::params`]).
#[derive(Module, Debug)]
pub struct Sequential<M> {
    /// The modules in order.
    pub items: Vec<M>,
}

/// Per-channel (x − mean)/std as a model's first layer: constants (not parameters, not in θ,
/// not in the weights file; the checkpoint's model spec records them).
#[derive(Module, Debug)]
pub struct InputNorm {
    /// `[1, c, 1, 1]`.
    pub mean: Tensor<4>,
    /// 1/std, `[1, c, 1, 1]`.
    pub inv_std: Tensor<4>,
}

impl InputNorm {
    /// From the spec's values (validated there: one per channel, std > 0).
    pub(crate) fn new(mean: &[f64], std: &[f64], device: &Device) -> Self {
        let c = mean.len();
        let column = |v: Vec<f32>| Tensor::<4>::from_data(TensorData::new(v, [1, c, 1, 1]), device);
        Self {
            mean: column(mean.iter().map(|&m| m as f32).collect()),
            inv_std: column(std.iter().map(|&s| (1.0 / s) as f32).collect()),
        }
    }

    /// `x` through `norm` where a model has one.
    pub(crate) fn apply(norm: Option<&InputNorm>, x: Tensor<4>) -> Tensor<4> {
        match norm {
            Some(norm) => norm.forward(x),
            None => x,
        }
    }

    pub(crate) fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let device = x.device();
        // The constants follow the input's dtype: an f64 analysis runs the whole network in
        // f64.
        let dtype = x.dtype();
        let mean = self.mean.clone().to_device(&device).cast(dtype);
        let inv_std = self.inv_std.clone().to_device(&device).cast(dtype);
        (x - mean) * inv_std
    }
}

/// Sets every running statistic a mapper meets to the value `values` holds for its PyTorch
/// name (the other tensors pass through); used by [`super::Model`]'s buffer loading.
pub(crate) struct SetRunningStats<'a> {
    pub(crate) path: crate::params::TensorPath,
    pub(crate) values: &'a std::collections::HashMap<String, Vec<f32>>,
}

impl ModuleMapper for SetRunningStats<'_> {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.path.enter(name, container_type);
    }
    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.exit();
    }
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        if !self.path.is_buffer() {
            return param;
        }
        let Some(values) = self.values.get(&self.path.torch_name().0) else {
            return param;
        };
        let (id, old, mapper) = param.consume();
        let value = Tensor::<1>::from_data(
            TensorData::new(values.clone(), [values.len()]),
            &old.device(),
        )
        .reshape(old.dims());
        Param::from_mapped_value(id, value, mapper)
    }
}
