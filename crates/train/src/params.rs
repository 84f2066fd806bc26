//! Parameters as one flat vector, with PyTorch names.
//!
//! Optimizers (SGD and EntropySGD alike) and every analysis work on θ ∈ R^m as a single
//! 1-D tensor; [`ParamLayout`] maps it back to the model's tensors. Walking the module with
//! burn's visitor/mapper (instead of hand-written per-model code) means a new architecture
//! gets flattening, safetensors export/import and seeded init for free.
//!
//! Names follow PyTorch (`conv1.weight`, `fc1.bias`): the enum variant of [`Model`] is
//! dropped, a `Vec` of layers named `fc` becomes `fc1`, `fc2`, …, and `Linear` weights, which
//! burn stores as `[in, out]`, are exported transposed as PyTorch's `[out, in]`. The flat
//! vector keeps burn's layout (no transposes on the hot path); [`ParamEntry::transposed`]
//! says where the two differ.
//!
//! Batch norm's affine weight and bias are parameters with PyTorch's names (`bn1.weight`,
//! `bn1.bias`, burn's `gamma`/`beta`). Its running statistics are not: burn visits them like
//! parameters, and every visitor here skips them (by their path in the module tree), so θ, its
//! gradient and [`theta_len`] never include them (burn's `num_params` does). They travel with
//! the weights ([`named_buffers`], [`load_buffers`]).

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{Device, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::{Error, Result};
use crate::model::Model;

/// One parameter tensor inside the flat vector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamEntry {
    /// PyTorch-style name, e.g. `conv1.weight`.
    pub name: String,
    /// Shape as burn stores it.
    pub shape: Vec<usize>,
    /// Shape as PyTorch stores it (differs only for transposed `Linear` weights).
    pub torch_shape: Vec<usize>,
    /// Whether the PyTorch layout is the transpose of burn's.
    pub transposed: bool,
    /// Offset in the flat vector.
    pub offset: usize,
    /// Number of scalars.
    pub len: usize,
    /// Fan-in of the layer the parameter belongs to (for initialisation).
    pub fan_in: usize,
    /// Whether this is a batch-norm affine weight or bias (`…bn1.weight`, `…bn1.bias`).
    pub batch_norm: bool,
}

impl ParamEntry {
    /// Whether this is a 1-D tensor: a bias or a batch-norm weight or bias, which
    /// loss-landscape directions skip by default (`--ignore biasbn`).
    pub fn is_vector(&self) -> bool {
        self.shape.len() == 1
    }

    /// Whether this is a batch-norm affine weight or bias.
    pub fn is_batch_norm(&self) -> bool {
        self.batch_norm
    }
}

/// The ordered list of a model's parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamLayout {
    /// Entries in the model's visit order.
    pub entries: Vec<ParamEntry>,
}

impl ParamLayout {
    /// Reads the layout of `model`.
    pub fn of(model: &Model) -> Self {
        let mut v = LayoutVisitor::default();
        model.visit(&mut v);
        let mut entries = v.entries;
        // A bias takes the fan-in of the weight of its layer (PyTorch's default init).
        for i in 0..entries.len() {
            if entries[i].is_vector() && !entries[i].batch_norm && i > 0 {
                entries[i].fan_in = entries[i - 1].fan_in;
            }
        }
        Self { entries }
    }

    /// Total number of scalars m.
    pub fn len(&self) -> usize {
        self.entries.last().map_or(0, |e| e.offset + e.len)
    }

    /// Whether the model has no parameters.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The entry named `name`.
    pub fn get(&self, name: &str) -> Option<&ParamEntry> {
        self.entries.iter().find(|e| e.name == name)
    }
}

/// Where a visitor is in the module tree, for PyTorch names and to tell parameters from
/// batch norm's running statistics.
#[derive(Default)]
pub(crate) struct TensorPath {
    segments: Vec<(String, String)>,
}

const BATCH_NORM: &str = "Struct:BatchNorm";

impl TensorPath {
    pub(crate) fn enter(&mut self, name: &str, container: &str) {
        self.segments.push((name.to_owned(), container.to_owned()));
    }
    pub(crate) fn exit(&mut self) {
        self.segments.pop();
    }
    fn last_is(&self, container: &str, names: &[&str]) -> bool {
        self.segments
            .last()
            .is_some_and(|(n, c)| c == container && names.contains(&n.as_str()))
    }
    /// Whether the current tensor is a batch norm's running statistic, not a parameter.
    pub(crate) fn is_buffer(&self) -> bool {
        self.last_is(BATCH_NORM, &["running_mean", "running_var"])
    }
    /// Whether the current tensor is a batch norm's affine weight or bias.
    fn is_batch_norm_affine(&self) -> bool {
        self.last_is(BATCH_NORM, &["gamma", "beta"])
    }
    /// PyTorch name of the current parameter and whether it is a `Linear` weight.
    pub(crate) fn torch_name(&self) -> (String, bool) {
        // A field's Vec numbers its items from 1 into the field's name (`fc: Vec<Linear>` gives
        // `fc1`, `fc2`, as in hand-written PyTorch models); a Vec inside a Vec, or the items of
        // a `Sequential`, are a PyTorch `Sequential` (`layer: Vec<Vec<Block>>` gives
        // `layer1.0`, `layer1.1`; `shortcut: Sequential<Conv2d>` gives `shortcut.0`).
        let mut parts: Vec<String> = Vec::new();
        let mut in_vec = false;
        let mut sequential = false;
        for (name, container) in &self.segments {
            if container.starts_with("Enum:") {
                continue;
            }
            if container == "Struct:Sequential" {
                sequential = true;
                continue;
            }
            if container == "Vec" {
                let index: usize = name.parse().unwrap_or(0);
                match parts.last_mut() {
                    Some(last) if !in_vec && !sequential => {
                        last.push_str(&(index + 1).to_string());
                    }
                    _ => parts.push(name.clone()),
                }
                in_vec = true;
                sequential = false;
                continue;
            }
            in_vec = false;
            let torch = match (container.as_str(), name.as_str()) {
                (BATCH_NORM, "gamma") => "weight",
                (BATCH_NORM, "beta") => "bias",
                _ => name,
            };
            parts.push(torch.to_owned());
        }
        let linear_weight = self
            .segments
            .last()
            .is_some_and(|(n, c)| n == "weight" && c == "Struct:Linear");
        (parts.join("."), linear_weight)
    }
}

#[derive(Default)]
struct LayoutVisitor {
    path: TensorPath,
    entries: Vec<ParamEntry>,
}

impl ModuleVisitor for LayoutVisitor {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.path.enter(name, container_type);
    }
    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.exit();
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if self.path.is_buffer() {
            return;
        }
        let (name, transposed) = self.path.torch_name();
        let shape: Vec<usize> = param.lazy_shape().to_vec();
        let mut torch_shape = shape.clone();
        if transposed {
            torch_shape.reverse();
        }
        // Fan-in in PyTorch's sense: everything but the output dimension.
        let fan_in = torch_shape.iter().skip(1).product::<usize>().max(1);
        let len = shape.iter().product();
        let offset = self.entries.last().map_or(0, |e| e.offset + e.len);
        self.entries.push(ParamEntry {
            name,
            shape,
            torch_shape,
            transposed,
            offset,
            len,
            fan_in,
            batch_norm: self.path.is_batch_norm_affine(),
        });
    }
}

/// Visitor and mapper methods that track the path, so `visit_float`/`map_float` can skip
/// running statistics.
macro_rules! track_path {
    () => {
        fn enter_module(&mut self, name: &str, container_type: &str) {
            self.path.enter(name, container_type);
        }
        fn exit_module(&mut self, _name: &str, _container_type: &str) {
            self.path.exit();
        }
    };
}

struct FlattenVisitor {
    path: TensorPath,
    parts: Vec<Tensor<1>>,
}

impl ModuleVisitor for FlattenVisitor {
    track_path!();
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if self.path.is_buffer() {
            return;
        }
        let t = param.val().inner();
        let n = t.shape().num_elements();
        self.parts.push(t.reshape([n]));
    }
}

/// θ as one 1-D tensor on `model`'s device, without autodiff.
///
/// # Panics
/// If the model has no parameters.
pub fn flatten(model: &Model) -> Tensor<1> {
    let mut v = FlattenVisitor {
        path: TensorPath::default(),
        parts: Vec::new(),
    };
    model.visit(&mut v);
    assert!(!v.parts.is_empty(), "model has no parameters");
    Tensor::cat(v.parts, 0)
}

struct GradVisitor<'a> {
    path: TensorPath,
    grads: &'a burn::tensor::Gradients,
    parts: Vec<Tensor<1>>,
}

impl ModuleVisitor for GradVisitor<'_> {
    track_path!();
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if self.path.is_buffer() {
            return;
        }
        let value = param.val();
        let n = value.shape().num_elements();
        // A parameter the loss does not depend on has a zero gradient, not a missing one.
        let g = value.grad(self.grads).map_or_else(
            || Tensor::zeros([n], &value.device().inner()),
            |g| g.reshape([n]),
        );
        self.parts.push(g);
    }
}

/// ∇θ as one 1-D tensor (same order as [`flatten`]) from the gradients of a backward pass.
///
/// Requires `model` to live on an autodiff device with `require_grad` parameters.
pub fn flat_gradient(model: &Model, grads: &burn::tensor::Gradients) -> Tensor<1> {
    let mut v = GradVisitor {
        path: TensorPath::default(),
        grads,
        parts: Vec::new(),
    };
    model.visit(&mut v);
    Tensor::cat(v.parts, 0)
}

struct LoadFlatMapper {
    path: TensorPath,
    flat: Tensor<1>,
    offset: usize,
}

impl ModuleMapper for LoadFlatMapper {
    track_path!();
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        // A running statistic is left alone (its `RunningState` is shared with the clones
        // of the model, and θ does not hold it).
        if self.path.is_buffer() {
            return param;
        }
        let (id, old, mapper) = param.consume();
        let dims = old.dims();
        let n: usize = dims.iter().product();
        let slice = self.flat.clone().narrow(0, self.offset, n);
        self.offset += n;
        let mut value: Tensor<D> = slice.reshape(dims);
        if old.is_autodiff() {
            value = value.autodiff();
            if old.is_require_grad() {
                value = value.require_grad();
            }
        }
        Param::from_mapped_value(id, value, mapper)
    }
}

/// Returns `model` with θ replaced by `flat` (burn layout, [`flatten`] order). Parameter ids,
/// the device's autodiff context and `require_grad` flags are kept.
///
/// # Errors
/// If `flat` does not have exactly as many scalars as the model.
pub fn load_flat(model: Model, flat: Tensor<1>) -> Result<Model> {
    let expected = theta_len(&model);
    let [got] = flat.dims();
    if got != expected {
        return Err(Error::invalid(
            "parameters",
            format!("flat vector has {got} values, the model has {expected}"),
        ));
    }
    let device = model.devices().first().cloned();
    let flat = match device {
        Some(d) => flat.inner().to_device(&d.inner()),
        None => flat,
    };
    Ok(model.map(&mut LoadFlatMapper {
        path: TensorPath::default(),
        flat,
        offset: 0,
    }))
}

/// m, the number of scalars in θ: burn's `num_params` without batch norm's running
/// statistics.
pub fn theta_len(model: &Model) -> usize {
    ParamLayout::of(model).len()
}

struct BufferVisitor {
    path: TensorPath,
    buffers: Vec<(String, Vec<usize>, Vec<f32>)>,
}

impl ModuleVisitor for BufferVisitor {
    track_path!();
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if !self.path.is_buffer() {
            return;
        }
        let value = param.val();
        let values = value
            .to_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .expect("a float tensor converts to f32");
        self.buffers
            .push((self.path.torch_name().0, value.dims().to_vec(), values));
    }
}

/// Batch norm's running statistics with PyTorch names (`layer1.0.bn1.running_mean`,
/// `…running_var`) and shapes, f32, in visit order; empty for models without batch norm.
pub fn named_buffers(model: &Model) -> Vec<(String, Vec<usize>, Vec<f32>)> {
    let mut v = BufferVisitor {
        path: TensorPath::default(),
        buffers: Vec::new(),
    };
    model.visit(&mut v);
    v.buffers
}

/// Returns `model` with the running statistics named in `values` (PyTorch names, as
/// [`named_buffers`] gives them) set to those values; the others are kept. The values go into
/// the model's `RunningState`s, which its clones share: load into a model no clone of which is
/// in use (a freshly built one), as the checkpoint reader does.
///
/// # Errors
/// A value whose length does not match its statistic.
pub fn load_buffers(
    model: Model,
    values: &std::collections::HashMap<String, Vec<f32>>,
) -> Result<Model> {
    for (name, shape, _) in named_buffers(&model) {
        let n: usize = shape.iter().product();
        if let Some(v) = values.get(&name)
            && v.len() != n
        {
            return Err(Error::invalid(
                "buffers",
                format!("{name} has {} values, the model's has {n}", v.len()),
            ));
        }
    }
    Ok(model.map(&mut crate::model::SetRunningStats {
        path: TensorPath::default(),
        values,
    }))
}

/// Copies a flat vector to the host as f32.
///
/// # Panics
/// If the backend cannot read the tensor back (a device failure).
pub fn to_host(flat: &Tensor<1>) -> Vec<f32> {
    flat.to_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("a float tensor converts to f32")
}

/// A flat vector from host values.
pub fn from_host(values: Vec<f32>, device: &Device) -> Tensor<1> {
    let n = values.len();
    Tensor::from_data(TensorData::new(values, [n]), &device.clone().inner())
}

/// Seeded, device-independent initialisation: every tensor but batch norm's ~ U(−g/√fan_in, g/√fan_in) with the
/// gain g of [`Model::init_gain`]; g = 1 is PyTorch's default for `Linear` and `Conv2d`
/// (kaiming-uniform with a = √5, and its bias rule).
/// Drawn on the host from ChaCha8 so the same seed gives the same weights on every backend.
///
/// # Errors
/// Never in practice (the vector is built to the layout's size).
pub fn init_seeded(model: Model, seed: u64) -> Result<Model> {
    let layout = ParamLayout::of(&model);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut values = Vec::with_capacity(layout.len());
    for e in &layout.entries {
        if e.batch_norm {
            // PyTorch's BatchNorm2d starts as the identity (weight 1, bias 0); no draws, so
            // the other tensors' values do not depend on how many BN layers come first.
            let one = if e.name.ends_with(".weight") {
                1.0
            } else {
                0.0
            };
            values.extend(std::iter::repeat_n(one, e.len));
            continue;
        }
        let bound = model.init_gain(&e.name) / (e.fan_in as f64).sqrt();
        values.extend(
            (0..e.len)
                .map(|_| (rng.random::<f64>() * 2.0 - 1.0) * bound)
                .map(|v| v as f32),
        );
    }
    let device = model
        .devices()
        .first()
        .cloned()
        .unwrap_or_else(Device::flex);
    load_flat(model, from_host(values, &device))
}

/// Named tensors in PyTorch layout (f32), in layout order.
pub fn named_tensors(model: &Model) -> Vec<(ParamEntry, Vec<f32>)> {
    let layout = ParamLayout::of(model);
    let flat = to_host(&flatten(model));
    layout
        .entries
        .into_iter()
        .map(|e| {
            let burn = &flat[e.offset..e.offset + e.len];
            let values = if e.transposed {
                transpose2(burn, e.shape[0], e.shape[1])
            } else {
                burn.to_vec()
            };
            (e, values)
        })
        .collect()
}

/// Row-major `[rows, cols]` → `[cols, rows]`.
pub(crate) fn transpose2(values: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0; values.len()];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = values[r * cols + c];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ModelShape;
    use advland_schema::{ModelKind, ModelSpec};

    fn mlp() -> Model {
        let spec = ModelSpec {
            kind: ModelKind::Mlp,
            hidden: vec![5, 4],
            ..ModelSpec::default()
        };
        let shape = ModelShape {
            input: [1, 2, 3],
            classes: 3,
        };
        Model::build(&spec, shape, &Device::flex()).unwrap()
    }

    #[test]
    fn layout_uses_pytorch_names_and_shapes() {
        let layout = ParamLayout::of(&mlp());
        let names: Vec<_> = layout.entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "fc1.weight",
                "fc1.bias",
                "fc2.weight",
                "fc2.bias",
                "fc3.weight",
                "fc3.bias"
            ]
        );
        let w1 = layout.get("fc1.weight").unwrap();
        assert_eq!(w1.shape, vec![6, 5]);
        assert_eq!(w1.torch_shape, vec![5, 6]);
        assert_eq!(w1.fan_in, 6);
        assert_eq!(layout.get("fc1.bias").unwrap().fan_in, 6);
        assert_eq!(layout.len(), 6 * 5 + 5 + 5 * 4 + 4 + 4 * 3 + 3);
    }

    #[test]
    fn flatten_then_load_flat_round_trips() {
        let model = init_seeded(mlp(), 3).unwrap();
        let flat = flatten(&model);
        let doubled = flat.clone().mul_scalar(2.0);
        let model2 = load_flat(model, doubled).unwrap();
        let back = to_host(&flatten(&model2));
        let orig = to_host(&flat);
        for (a, b) in orig.iter().zip(&back) {
            assert_eq!(2.0 * a, *b);
        }
    }

    #[test]
    fn init_seeded_is_deterministic_and_bounded() {
        let a = to_host(&flatten(&init_seeded(mlp(), 11).unwrap()));
        let b = to_host(&flatten(&init_seeded(mlp(), 11).unwrap()));
        let c = to_host(&flatten(&init_seeded(mlp(), 12).unwrap()));
        assert_eq!(a, b);
        assert_ne!(a, c);
        let bound = 1.0 / 6f32.sqrt();
        assert!(a[..30].iter().all(|v| v.abs() <= bound));
    }

    #[test]
    fn load_flat_rejects_wrong_length() {
        let err = load_flat(mlp(), from_host(vec![0.0; 3], &Device::flex())).unwrap_err();
        assert!(err.to_string().contains("3 values"), "{err}");
    }

    #[test]
    fn transpose2_transposes() {
        assert_eq!(
            transpose2(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2, 3),
            [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]
        );
    }
}
