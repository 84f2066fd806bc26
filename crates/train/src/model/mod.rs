//! The architectures, one file each, and the one `match` that builds them.

mod batch_norm;
mod cnn;
mod host_pool;
mod mlp;
mod pattern;
mod preact;
mod resnet;
#[cfg(test)]
pub(crate) mod torch_oracle;
mod wide;

pub use batch_norm::{BnMode, InputNorm, PreActBlock, Sequential};
pub use cnn::Cnn;
pub use host_pool::Selection;
pub use mlp::Mlp;
pub use pattern::{ActivationPattern, Gate};
pub use preact::PreActResNet;
pub use resnet::{Block, ResNet};
pub use wide::{BasicBlock, NetworkBlock, WideResNet};

pub(crate) use batch_norm::SetRunningStats;
use pattern::Gating;

use advland_schema::{ModelKind, ModelSpec};
use burn::module::Module;
use burn::tensor::{Device, Gradients, Int, Tensor};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::loss::cross_entropy;

/// Examples per chunk where a batch is split to run in parallel on the CPU device (the CNN's
/// [`Model::loss_input_gradient`], the analysis objectives' losses and gradients): each chunk
/// runs burn-flex's single-threaded elementwise operations on its own thread, and a chunk's
/// activations (`[64, 16, 26, 26]` f32: 2.8 MB) stay in the 4 MiB L2 where a batch of 1,000
/// (43 MB) does not. Measured on PGD-10 over 1,000 images (2 cores): 1.45 s unchunked, 1.20 at
/// 500, 1.24 at 250, 1.02–1.11 at 128, and 64 within the noise of 128 there; but a training
/// batch of 128 is one chunk of 128 and two of 64, and PGD-7 training went from 2.34–2.66 s
/// to 1.94–2.09 s an epoch of 2,000 images (`bench/RESULTS.md`). Fixed, not derived from the
/// thread count: a result can depend on its chunk's size in the last bits (GEMM blocking, the
/// order of sums), so a size independent of the machine keeps a run's numbers independent of
/// it too.
pub const CHUNK: usize = 64;

/// Examples per piece of parallel work on `device`: [`CHUNK`] on the CPU device; the whole
/// batch elsewhere, where a GPU's parallelism is inside each operation and a batch cut into
/// pieces of 64 would only launch more, smaller kernels from competing threads.
pub fn chunk_for(device: &Device) -> usize {
    if device.clone().inner() == Device::flex() {
        CHUNK
    } else {
        usize::MAX
    }
}

/// Input and output sizes a model is built for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelShape {
    /// `[channels, height, width]` of one input.
    pub input: [usize; 3],
    /// Number of classes (logits).
    pub classes: usize,
}

/// Any advland model. Every analysis sees this one type.
// The CNN variant is larger, but burn's Module derive needs plain (unboxed) variants, and a
// model is built once and then moved, not copied in hot loops.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Model {
    /// See [`Mlp`].
    Mlp(Mlp),
    /// See [`Cnn`].
    Cnn(Cnn),
    /// See [`ResNet`].
    ResNet(ResNet),
    /// See [`PreActResNet`].
    PreActResNet(PreActResNet),
    /// See [`WideResNet`].
    WideResNet(WideResNet),
}

impl Model {
    /// Builds a model with burn's default initialisation; [`crate::params::init_seeded`]
    /// then gives it its seeded, device-independent weights.
    ///
    /// # Errors
    /// A shape the architecture cannot take.
    pub fn build(spec: &ModelSpec, shape: ModelShape, device: &Device) -> Result<Self> {
        let [c, h, w] = shape.input;
        if c == 0 || h == 0 || w == 0 || shape.classes < 2 {
            return Err(Error::invalid(
                "model",
                format!("needs a non-empty input and >= 2 classes, got {shape:?}"),
            ));
        }
        if let Some(problem) = spec.problems("model").into_iter().next() {
            return Err(problem.into());
        }
        // Checked first so that the constructors' own size arithmetic (c·h·w, width·2ˢ) cannot
        // overflow, whatever a hand-edited or corrupt file asks for.
        let addressable = Self::param_count(spec, shape)
            .and_then(|m| m.checked_mul(std::mem::size_of::<f32>()))
            .is_some_and(|bytes| isize::try_from(bytes).is_ok());
        if !addressable {
            return Err(Error::invalid(
                "model",
                format!(
                    "a {:?} for input {c}x{h}x{w} and {} classes has more parameters than \
                     memory can address",
                    spec.kind, shape.classes
                ),
            ));
        }
        let normalize = match &spec.normalize {
            None => None,
            Some(n) if n.mean.len() != c => {
                return Err(Error::invalid(
                    "model.normalize",
                    format!(
                        "has {} values per statistic for {c}-channel inputs",
                        n.mean.len()
                    ),
                ));
            }
            Some(n) => Some(InputNorm::new(&n.mean, &n.std, device)),
        };
        let bn_net = match spec.kind {
            ModelKind::PreactResnet18 => Some(("preact-resnet18", 3, preact::POOL)),
            ModelKind::WideResnet => Some(("wide-resnet", 2, wide::POOL)),
            _ => None,
        };
        if let Some((name, halvings, pool)) = bn_net
            && (batch_norm::pooled_size(h, halvings, pool) != 1
                || batch_norm::pooled_size(w, halvings, pool) != 1)
        {
            let (lo, hi) = ((pool - 1) << halvings, (2 * pool - 1) << halvings);
            return Err(Error::invalid(
                "model.kind",
                format!(
                    "{name} average-pools its last map with a {pool}x{pool} window into one \
                     value per channel, which needs inputs of {}x{} to {hi}x{hi} (32x32 as \
                     CIFAR), got {h}x{w}",
                    lo + 1,
                    lo + 1
                ),
            ));
        }
        Ok(match spec.kind {
            ModelKind::PreactResnet18 => Model::PreActResNet(PreActResNet::new(
                c,
                spec.base_channels(),
                shape.classes,
                normalize,
                device,
            )),
            ModelKind::WideResnet => Model::WideResNet(WideResNet::new(
                c,
                [spec.wrn_depth(), spec.wrn_widen(), spec.base_channels()],
                shape.classes,
                normalize,
                device,
            )),
            ModelKind::Mlp => Model::Mlp(Mlp {
                normalize,
                activation: spec.activation,
                ..Mlp::new(c * h * w, &spec.hidden, shape.classes, device)
            }),
            ModelKind::Cnn => {
                if h < 10 || w < 10 {
                    return Err(Error::invalid(
                        "model.kind",
                        format!("the CNN needs inputs of at least 10x10, got {h}x{w}"),
                    ));
                }
                Model::Cnn(Cnn {
                    normalize,
                    ..Cnn::new(shape.input, shape.classes, device)
                })
            }
            ModelKind::Resnet => Model::ResNet(ResNet {
                normalize,
                ..ResNet::new(c, &spec.blocks, spec.width, shape.classes, device)
            }),
        })
    }

    /// The number of parameters (θ, without batch norm's running statistics) [`Model::build`]
    /// makes for `spec` and `shape`, computed without
    /// building anything; `None` where it overflows `usize`. Lets a reader compare what a
    /// description asks for with the data there is before allocating it.
    pub fn param_count(spec: &ModelSpec, shape: ModelShape) -> Option<usize> {
        let [c, h, w] = shape.input;
        match spec.kind {
            ModelKind::Mlp => Mlp::param_count(
                c.checked_mul(h)?.checked_mul(w)?,
                &spec.hidden,
                shape.classes,
            ),
            ModelKind::Cnn => Cnn::param_count(shape.input, shape.classes),
            ModelKind::Resnet => ResNet::param_count(c, &spec.blocks, spec.width, shape.classes),
            ModelKind::PreactResnet18 => {
                PreActResNet::param_count(c, spec.base_channels(), shape.classes)
            }
            ModelKind::WideResnet => WideResNet::param_count(
                c,
                [spec.wrn_depth(), spec.wrn_widen(), spec.base_channels()],
                shape.classes,
            ),
        }
    }

    /// The binary linear classifier of paper.md §2.3 as a 2-logit model: z₁ − z₀ = wᵀx + b with
    /// w₁ = w/2, w₀ = −w/2, b₁ = b/2, b₀ = −b/2, so that cross-entropy equals the logistic loss
    /// of the margin y(wᵀx + b). The oracle of every closed-form attack and curvature test.
    ///
    /// # Errors
    /// If `w` does not have one weight per input value.
    pub fn two_class_linear(input: [usize; 3], w: &[f64], b: f64, device: &Device) -> Result<Self> {
        let d: usize = input.iter().product();
        if w.len() != d {
            return Err(Error::invalid(
                "w",
                format!("needs {d} weights for input {input:?}, got {}", w.len()),
            ));
        }
        let spec = ModelSpec {
            kind: ModelKind::Mlp,
            hidden: vec![],
            ..ModelSpec::default()
        };
        let model = Model::build(&spec, ModelShape { input, classes: 2 }, device)?;
        // burn stores the weight as [in, out] (row i: w₀ᵢ, w₁ᵢ), then the bias (b₀, b₁).
        let flat: Vec<f32> = w
            .iter()
            .chain(std::iter::once(&b))
            .flat_map(|&v| [(-v / 2.0) as f32, (v / 2.0) as f32])
            .collect();
        crate::params::load_flat(model, crate::params::from_host(flat, device))
    }

    /// Whether the network is piecewise linear in θ and x (ReLU gates, max-pool choices), so
    /// that an activation pattern can be recorded and replayed; a smooth MLP has no gates.
    pub fn has_gates(&self) -> bool {
        match self {
            Model::Mlp(m) => m.activation.is_relu(),
            Model::Cnn(_) | Model::ResNet(_) | Model::PreActResNet(_) | Model::WideResNet(_) => {
                true
            }
        }
    }

    /// Scale of the seeded initialisation of parameter `name` relative to PyTorch's default
    /// U(±1/√fan_in) (see [`crate::params::init_seeded`]): 1 for the MLP, the CNN and the
    /// batch-norm ResNets (PyTorch's defaults, as their published code keeps them), the
    /// BN-free ResNet's own rule for it (see [`ResNet::init_gain`]).
    pub fn init_gain(&self, name: &str) -> f64 {
        match self {
            Model::Mlp(_) | Model::Cnn(_) | Model::PreActResNet(_) | Model::WideResNet(_) => 1.0,
            Model::ResNet(m) => m.init_gain(name),
        }
    }

    /// Logits.
    ///
    /// # Shapes
    /// `x`: `[b, c, h, w]` → `[b, classes]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        self.forward_gated(x, &mut Gating::Live)
    }

    /// Logits and the activation pattern (ReLU masks, pooling choices) on `x`.
    ///
    /// # Shapes
    /// `x`: `[b, c, h, w]` → `[b, classes]`
    pub fn forward_recording(&self, x: Tensor<4>) -> (Tensor<2>, ActivationPattern) {
        let mut pattern = ActivationPattern::default();
        let logits = self.forward_gated(x, &mut Gating::Record(&mut pattern));
        (logits, pattern)
    }

    /// Logits with the gates of `pattern` (recorded on inputs of the same shape) in place of
    /// the live ReLUs and pools: the network as a smooth function of θ on one linear piece.
    ///
    /// # Panics
    /// If `pattern` was recorded on inputs of another shape or another architecture.
    pub fn forward_with_pattern(&self, x: Tensor<4>, pattern: &ActivationPattern) -> Tensor<2> {
        self.forward_gated(x, &mut Gating::Replay(pattern, 0))
    }

    /// ∇ₓ Σᵢ CE(f(xᵢ), yᵢ) by a hand-written backward, where one serves this model and
    /// device (the CNN on the CPU device: `Cnn::loss_input_gradient`); `None` elsewhere, and
    /// callers then differentiate [`Model::forward`] with autodiff. The result equals
    /// autodiff's bit for bit on batches of up to [`CHUNK`] examples; larger batches run in
    /// chunks of [`CHUNK`], each equal to autodiff's on that chunk.
    ///
    /// # Shapes
    /// `x`: `[b, c, h, w]`, `labels`: `[b]` → `[b, c, h, w]` (on the inner device, as autodiff's
    /// `grad` gives it)
    pub fn loss_input_gradient(&self, x: &Tensor<4>, labels: &Tensor<1, Int>) -> Option<Tensor<4>> {
        match self {
            Model::Cnn(m) => m.loss_input_gradient(x, labels),
            Model::Mlp(_) | Model::ResNet(_) | Model::PreActResNet(_) | Model::WideResNet(_) => {
                None
            }
        }
    }

    /// Σᵢ CE(f(xᵢ), yᵢ) over the batch, and the gradients of that sum / `divisor` for every
    /// tracked parameter: through `pattern`'s gates if one is given, else through the live
    /// network. The CNN on the CPU device differentiates its conv stages by hand
    /// (`Cnn::loss_and_gradients`: the same values as autodiff, bit for bit but for the order
    /// of the sums in the conv weights' gradients); other models and devices use autodiff. Read
    /// the gradients with [`crate::params::flat_gradient`].
    ///
    /// # Shapes
    /// `x`: `[b, c, h, w]`, `labels`: `[b]`
    ///
    /// # Panics
    /// If `pattern` was recorded on inputs of another shape or another architecture.
    pub fn loss_and_gradients(
        &self,
        x: Tensor<4>,
        labels: Tensor<1, Int>,
        pattern: Option<&ActivationPattern>,
        divisor: f64,
    ) -> (f64, Gradients) {
        if let Model::Cnn(m) = self
            && let Some(out) = m.loss_and_gradients(&x, &labels, pattern, divisor)
        {
            return out;
        }
        let logits = match pattern {
            Some(pattern) => self.forward_with_pattern(x, pattern),
            None => self.forward(x),
        };
        let sum = cross_entropy(logits, labels).sum();
        let loss = sum.clone().detach().inner().into_scalar::<f64>();
        (loss, sum.div_scalar(divisor).backward())
    }

    fn forward_gated(&self, x: Tensor<4>, gating: &mut Gating<'_>) -> Tensor<2> {
        match self {
            Model::Mlp(m) => m.forward_gated(x, gating),
            Model::Cnn(m) => m.forward_gated(x, gating),
            Model::ResNet(m) => m.forward_gated(x, gating),
            Model::PreActResNet(m) => m.forward_gated(x, gating),
            Model::WideResNet(m) => m.forward_gated(x, gating),
        }
    }

    /// The batch-norm mode (see [`BnMode`]); `None` for models without
    /// batch norm. Models are built in [`BnMode::Eval`].
    pub fn bn_mode(&self) -> Option<BnMode> {
        match self {
            Model::PreActResNet(m) => Some(batch_norm::mode(m.first_bn())),
            Model::WideResNet(m) => Some(batch_norm::mode(m.first_bn())),
            Model::Mlp(_) | Model::Cnn(_) | Model::ResNet(_) => None,
        }
    }

    /// The model with every batch norm in `mode` (no-op without batch norm). Eval makes the
    /// loss a function of θ alone, gradients still reaching the affine parameters; train uses
    /// and updates batch statistics as PyTorch's `model.train()`.
    pub fn with_bn_mode(self, mode: BnMode) -> Self {
        self.map_batch_norms(&mut |bn| batch_norm::with_mode(bn, mode))
    }

    /// A copy (same θ, same mode) whose batch norms keep running statistics of their own, equal
    /// to `self`'s: its train-mode forwards leave `self`'s statistics alone, as a separate
    /// PyTorch module would (AWP's proxy network). Models without batch norm are cloned.
    pub fn with_own_statistics(&self) -> Self {
        self.clone()
            .map_batch_norms(&mut batch_norm::fresh_statistics)
    }

    fn map_batch_norms(
        self,
        f: &mut impl FnMut(burn::nn::BatchNorm) -> burn::nn::BatchNorm,
    ) -> Self {
        match self {
            Model::PreActResNet(m) => Model::PreActResNet(m.map_batch_norms(f)),
            Model::WideResNet(m) => Model::WideResNet(m.map_batch_norms(f)),
            other @ (Model::Mlp(_) | Model::Cnn(_) | Model::ResNet(_)) => other,
        }
    }

    /// The model with θ and the batch norms' running statistics in `dtype` (an f64 analysis
    /// of an f32 model: statistics left in f32 would meet f64 activations). The statistics are
    /// copies: `self`'s, shared with its clones, keep their dtype.
    ///
    /// # Errors
    /// As [`crate::params::load_flat`].
    pub fn in_dtype(&self, dtype: burn::tensor::DType) -> Result<Model> {
        let theta = crate::params::flatten(self).cast(dtype);
        let model = self
            .clone()
            .map_batch_norms(&mut |bn| batch_norm::statistics_as(bn, dtype));
        crate::params::load_flat(model, theta)
    }

    /// A copy of the model (same θ, same mode) whose running statistics are re-estimated
    /// from scratch on `batches`, as PyTorch does with `momentum=None` after
    /// `reset_running_stats()`: train-mode forwards, each layer's statistics the plain average
    /// of the batch means and of the unbiased batch variances. For analyses that evaluate a
    /// perturbed θ with statistics of its own (the `states` question of loss-landscape
    /// plots). The original's statistics are not touched. Models without batch norm come back
    /// unchanged.
    ///
    /// # Errors
    /// No batches.
    pub fn recompute_bn_statistics(&self, batches: &[Tensor<4>]) -> Result<Model> {
        let Some(mode) = self.bn_mode() else {
            return Ok(self.clone());
        };
        if batches.is_empty() {
            return Err(Error::invalid(
                "batches",
                "re-estimating batch-norm statistics needs at least one batch",
            ));
        }
        let mut model = self
            .clone()
            .map_batch_norms(&mut batch_norm::fresh_statistics)
            .with_bn_mode(BnMode::Train);
        for (k, x) in batches.iter().enumerate() {
            // Momentum 1/(k+1) makes the update the running average of k + 1 batches.
            let m = 1.0 / (k + 1) as f64;
            model = model.map_batch_norms(&mut |bn| batch_norm::with_momentum(bn, m));
            let _ = model.forward(x.clone().detach());
        }
        Ok(model
            .map_batch_norms(&mut batch_norm::with_default_momentum)
            .with_bn_mode(mode))
    }
}

#[cfg(test)]
mod tests;
