//! Reading a weights file onto the host: safetensors or any PyTorch container.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use burn::store::pytorch_reader::{self as torch, PickleValue, PytorchReader};
use safetensors::tensor::Dtype as SafeDtype;

use crate::error::{Error, Result};

/// Keys under which training scripts save the weights inside a checkpoint dict, in the order
/// they are tried: the first one the file's top-level dict holds tensors under is unwrapped.
pub const WRAPPER_KEYS: [&str; 7] = [
    "state_dict",
    "model_state_dict",
    "model",
    "net",
    "network",
    "model_state",
    "weights",
];

/// The prefix `torch.nn.DataParallel` puts before every name.
const DATA_PARALLEL_PREFIX: &str = "module.";

/// How many names a note lists before it says "and N more".
const NAMES_IN_NOTE: usize = 5;

/// Element type of a tensor as the file stored it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum DType {
    F64,
    F32,
    F16,
    BF16,
    I64,
    I32,
    I16,
    I8,
    U64,
    U32,
    U16,
    U8,
    Bool,
}

impl DType {
    /// Whether the values are floating point (only those are weights).
    pub fn is_float(self) -> bool {
        matches!(self, Self::F64 | Self::F32 | Self::F16 | Self::BF16)
    }

    fn size(self) -> usize {
        match self {
            Self::F64 | Self::I64 | Self::U64 => 8,
            Self::F32 | Self::I32 | Self::U32 => 4,
            Self::F16 | Self::BF16 | Self::I16 | Self::U16 => 2,
            Self::I8 | Self::U8 | Self::Bool => 1,
        }
    }

    fn from_torch(dtype: torch::DType) -> Self {
        match dtype {
            torch::DType::F64 => Self::F64,
            torch::DType::F32 => Self::F32,
            torch::DType::F16 => Self::F16,
            torch::DType::BF16 => Self::BF16,
            torch::DType::I64 => Self::I64,
            torch::DType::I32 => Self::I32,
            torch::DType::I16 => Self::I16,
            torch::DType::I8 => Self::I8,
            torch::DType::U64 => Self::U64,
            torch::DType::U32 => Self::U32,
            torch::DType::U16 => Self::U16,
            torch::DType::U8 => Self::U8,
            torch::DType::Bool => Self::Bool,
        }
    }

    fn from_safetensors(dtype: SafeDtype) -> Option<Self> {
        Some(match dtype {
            SafeDtype::F64 => Self::F64,
            SafeDtype::F32 => Self::F32,
            SafeDtype::F16 => Self::F16,
            SafeDtype::BF16 => Self::BF16,
            SafeDtype::I64 => Self::I64,
            SafeDtype::I32 => Self::I32,
            SafeDtype::I16 => Self::I16,
            SafeDtype::I8 => Self::I8,
            SafeDtype::U64 => Self::U64,
            SafeDtype::U32 => Self::U32,
            SafeDtype::U16 => Self::U16,
            SafeDtype::U8 => Self::U8,
            SafeDtype::BOOL => Self::Bool,
            _ => return None,
        })
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Self::F64 => "f64",
            Self::F32 => "f32",
            Self::F16 => "f16",
            Self::BF16 => "bf16",
            Self::I64 => "i64",
            Self::I32 => "i32",
            Self::I16 => "i16",
            Self::I8 => "i8",
            Self::U64 => "u64",
            Self::U32 => "u32",
            Self::U16 => "u16",
            Self::U8 => "u8",
            Self::Bool => "bool",
        };
        f.write_str(name)
    }
}

/// One tensor of a file, on the host, in the file's (PyTorch's) layout.
#[derive(Clone, Debug, PartialEq)]
pub struct HostTensor {
    /// Extents, outermost first, as the file has them.
    pub shape: Vec<usize>,
    /// The dtype the file stored; `data` holds it converted to f32 (integers too, so a
    /// `num_batches_tracked` counter stays recognisable by this field, not by its values).
    pub dtype: DType,
    /// Row-major values.
    pub data: Vec<f32>,
}

/// The container a weights file came in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeightFormat {
    /// safetensors.
    Safetensors,
    /// `torch.save` since PyTorch 1.6 (a ZIP archive).
    PytorchZip,
    /// `torch.save(..., _use_new_zipfile_serialization=False)` and PyTorch 0.1.10–1.5.
    PytorchLegacy,
    /// PyTorch before 0.1.10 (a TAR archive).
    PytorchTar,
    /// A bare pickle holding no tensor storage.
    Pickle,
}

impl WeightFormat {
    /// The format's name in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Safetensors => "safetensors",
            Self::PytorchZip => "pytorch-zip",
            Self::PytorchLegacy => "pytorch-legacy",
            Self::PytorchTar => "pytorch-tar",
            Self::Pickle => "pickle",
        }
    }
}

/// Everything read from a weights file.
#[derive(Clone, Debug)]
pub struct WeightFile {
    /// The file.
    pub path: PathBuf,
    /// Its container.
    pub format: WeightFormat,
    /// Tensors by name, after the checkpoint wrapper and the `module.` prefix were removed.
    pub tensors: BTreeMap<String, HostTensor>,
    /// Non-tensor entries outside the weights (`epoch`, `test_robust_acc`, safetensors
    /// metadata) and one-element tensors there (a metric saved as a tensor, as a number),
    /// nested dicts flattened with `.`, kept for provenance.
    pub extras: BTreeMap<String, serde_json::Value>,
    /// SHA-256 of the file's bytes, lower-case hex.
    pub sha256: String,
    /// What was undone or converted on the way, in words (for the report of an import).
    pub notes: Vec<String>,
}

/// Reads every tensor of `path`, a safetensors file or a PyTorch checkpoint, recognised by
/// its content rather than its extension.
///
/// A checkpoint dict holding the weights under one of [`WRAPPER_KEYS`] is unwrapped (tensors
/// outside it, e.g. an optimizer's buffers, are dropped with a note), then a `module.` prefix
/// is stripped. f64, f16 and bf16 tensors are converted to f32 with a note.
///
/// # Errors
/// [`Error::Io`] if the file cannot be read; [`Error::Weights`] naming the file if it is
/// neither format or is corrupt, or if stripping `module.` makes two names one.
pub fn read_weights(path: &Path) -> Result<WeightFile> {
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    let sha256 = advland_schema::sha256_hex(&bytes);
    let mut file = if looks_like_safetensors(&bytes) {
        read_safetensors(path, &bytes)?
    } else {
        drop(bytes);
        read_pytorch(path)?
    };
    file.sha256 = sha256;
    strip_data_parallel(&mut file)?;
    note_conversions(&mut file);
    Ok(file)
}

/// safetensors starts with a little-endian header length and a JSON object; PyTorch files
/// start with `PK` (ZIP), a pickle opcode (legacy) or a TAR name, never with that.
fn looks_like_safetensors(bytes: &[u8]) -> bool {
    bytes.len() >= 10 && bytes[8] == b'{' && !bytes.starts_with(b"PK")
}

fn weights_error(path: &Path, reason: impl Into<String>) -> Error {
    Error::Weights {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

fn read_safetensors(path: &Path, bytes: &[u8]) -> Result<WeightFile> {
    let (_, metadata) = safetensors::SafeTensors::read_metadata(bytes)
        .map_err(|e| weights_error(path, format!("not a valid safetensors file: {e}")))?;
    let file = safetensors::SafeTensors::deserialize(bytes)
        .map_err(|e| weights_error(path, format!("not a valid safetensors file: {e}")))?;
    let mut tensors = BTreeMap::new();
    for (name, view) in file.tensors() {
        let dtype = DType::from_safetensors(view.dtype()).ok_or_else(|| {
            weights_error(
                path,
                format!(
                    "tensor {name} has dtype {:?}, which advland cannot read",
                    view.dtype()
                ),
            )
        })?;
        let data = decode(dtype, view.data(), Endian::Little).ok_or_else(|| {
            weights_error(
                path,
                format!("tensor {name}: data length does not match its dtype"),
            )
        })?;
        let shape = view.shape().to_vec();
        tensors.insert(name, HostTensor { shape, dtype, data });
    }
    let extras = metadata
        .metadata()
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
        .collect();
    Ok(WeightFile {
        path: path.to_owned(),
        format: WeightFormat::Safetensors,
        tensors,
        extras,
        sha256: String::new(),
        notes: Vec::new(),
    })
}

fn read_pytorch(path: &Path) -> Result<WeightFile> {
    let not_a_checkpoint = |e: torch::PytorchError| {
        weights_error(
            path,
            format!("neither safetensors nor a readable PyTorch checkpoint: {e}"),
        )
    };
    let reader = PytorchReader::new(path).map_err(not_a_checkpoint)?;
    let format = match reader.metadata().format_type {
        torch::FileFormat::Zip => WeightFormat::PytorchZip,
        torch::FileFormat::Legacy => WeightFormat::PytorchLegacy,
        torch::FileFormat::Tar => WeightFormat::PytorchTar,
        torch::FileFormat::Pickle => WeightFormat::Pickle,
    };
    let root = PytorchReader::read_pickle_data(path, None).map_err(not_a_checkpoint)?;
    let raw = reader.into_tensors();
    let mut notes = Vec::new();
    let wrapper = WRAPPER_KEYS.into_iter().find(|key| {
        matches!(&root, PickleValue::Dict(d) if d.contains_key(*key))
            && raw.keys().any(|name| under(name, key))
    });
    let mut tensors = BTreeMap::new();
    let mut outside = Vec::new();
    let mut extras = BTreeMap::new();
    for (name, tensor) in &raw {
        let kept = match wrapper {
            Some(key) if under(name, key) => Some(name[key.len() + 1..].to_owned()),
            // One-element tensors beside the weights are metrics (`best_acc`), kept as extras.
            Some(_) if tensor.num_elements() != 1 => {
                outside.push(name.clone());
                continue;
            }
            Some(_) => None,
            None => Some(name.clone()),
        };
        let dtype = DType::from_torch(tensor.dtype());
        let bytes = tensor
            .read()
            .map_err(|e| weights_error(path, format!("cannot read tensor {name}: {e}")))?;
        let data = decode(dtype, &bytes, Endian::Native).ok_or_else(|| {
            weights_error(
                path,
                format!("tensor {name}: data length does not match its dtype"),
            )
        })?;
        let shape = tensor.shape().to_vec();
        match kept {
            Some(kept) => {
                tensors.insert(kept, HostTensor { shape, dtype, data });
            }
            None => {
                extras.insert(name.clone(), scalar_json(dtype, &bytes, data[0]));
            }
        }
    }
    if let Some(key) = wrapper {
        notes.push(format!(
            "took the tensors under the checkpoint's `{key}` entry"
        ));
    }
    if !outside.is_empty() {
        outside.sort();
        notes.push(format!(
            "ignored {} tensor(s) outside `{}`: {}",
            outside.len(),
            wrapper.unwrap_or_default(),
            list_names(&outside)
        ));
    }
    if let PickleValue::Dict(dict) = root {
        collect_extras(dict, "", wrapper, &raw, &mut extras, &mut notes);
    }
    Ok(WeightFile {
        path: path.to_owned(),
        format,
        tensors,
        extras,
        sha256: String::new(),
        notes,
    })
}

fn under(name: &str, key: &str) -> bool {
    name.strip_prefix(key)
        .is_some_and(|rest| rest.starts_with('.'))
}

/// Non-tensor values of a checkpoint dict, dotted names for nested dicts; the weights' own
/// entry is skipped (a state dict's non-tensor entries are not provenance).
fn collect_extras(
    dict: HashMap<String, PickleValue>,
    prefix: &str,
    wrapper: Option<&str>,
    tensors: &HashMap<String, torch::Tensor>,
    extras: &mut BTreeMap<String, serde_json::Value>,
    notes: &mut Vec<String>,
) {
    let mut entries: Vec<_> = dict.into_iter().collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    for (key, value) in entries {
        let name = format!("{prefix}{key}");
        if prefix.is_empty() && wrapper == Some(key.as_str()) || tensors.contains_key(&name) {
            continue;
        }
        match value {
            PickleValue::Dict(inner) => {
                collect_extras(inner, &format!("{name}."), wrapper, tensors, extras, notes);
            }
            other => match to_json(other) {
                Ok(json) => {
                    extras.insert(name, json);
                }
                Err(what) => notes.push(format!("did not keep `{name}` ({what})")),
            },
        }
    }
}

/// A pickled value as JSON, or what made that impossible.
fn to_json(value: PickleValue) -> std::result::Result<serde_json::Value, String> {
    use serde_json::Value;
    Ok(match value {
        PickleValue::None => Value::Null,
        PickleValue::Bool(b) => Value::Bool(b),
        PickleValue::Int(i) => Value::from(i),
        PickleValue::Float(x) => serde_json::Number::from_f64(x)
            .map(Value::Number)
            .ok_or_else(|| format!("the non-finite number {x}"))?,
        PickleValue::String(s) => Value::String(s),
        PickleValue::Bytes(b) => return Err(format!("{} bytes", b.len())),
        PickleValue::List(items) => Value::Array(
            items
                .into_iter()
                .map(to_json)
                .collect::<std::result::Result<_, _>>()?,
        ),
        PickleValue::Dict(dict) => {
            let mut entries: Vec<_> = dict.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            let mut object = serde_json::Map::new();
            for (k, v) in entries {
                object.insert(k, to_json(v)?);
            }
            Value::Object(object)
        }
        PickleValue::Unsupported(kind) => return Err(format!("a {kind}")),
    })
}

/// A one-element tensor as a JSON number, without a detour through f32 where that would
/// round (an f64 accuracy, an i64 epoch).
fn scalar_json(dtype: DType, bytes: &[u8], as_f32: f32) -> serde_json::Value {
    let value = match (dtype, <[u8; 8]>::try_from(bytes)) {
        (DType::F64, Ok(b)) => f64::from_ne_bytes(b),
        (DType::I64, Ok(b)) => return i64::from_ne_bytes(b).into(),
        _ => f64::from(as_f32),
    };
    serde_json::Number::from_f64(value).map_or(serde_json::Value::Null, serde_json::Value::Number)
}

fn strip_data_parallel(file: &mut WeightFile) -> Result<()> {
    let stripped = file
        .tensors
        .keys()
        .filter(|n| n.starts_with(DATA_PARALLEL_PREFIX))
        .count();
    if stripped == 0 {
        return Ok(());
    }
    let tensors = std::mem::take(&mut file.tensors);
    file.tensors = rename_all(
        &file.path,
        tensors,
        "stripping the `module.` prefix",
        |name| {
            name.strip_prefix(DATA_PARALLEL_PREFIX)
                .unwrap_or(name)
                .to_owned()
        },
    )?;
    file.notes.push(format!(
        "stripped the `module.` prefix (torch.nn.DataParallel) from {stripped} name(s)"
    ));
    Ok(())
}

/// Renames every tensor by `rename`; two tensors that would get one name are an error naming
/// both and `step`.
pub(super) fn rename_all(
    path: &Path,
    tensors: BTreeMap<String, HostTensor>,
    step: &str,
    mut rename: impl FnMut(&str) -> String,
) -> Result<BTreeMap<String, HostTensor>> {
    let mut out: BTreeMap<String, (String, HostTensor)> = BTreeMap::new();
    for (name, tensor) in tensors {
        let new = rename(&name);
        if let Some((first, _)) = out.get(&new) {
            return Err(weights_error(
                path,
                format!("{step}: tensors {first} and {name} both become {new}"),
            ));
        }
        out.insert(new, (name, tensor));
    }
    Ok(out.into_iter().map(|(k, (_, t))| (k, t)).collect())
}

fn note_conversions(file: &mut WeightFile) {
    let mut by_dtype: BTreeMap<String, usize> = BTreeMap::new();
    for t in file.tensors.values() {
        if t.dtype.is_float() && t.dtype != DType::F32 {
            *by_dtype.entry(t.dtype.to_string()).or_default() += 1;
        }
    }
    for (dtype, count) in by_dtype {
        file.notes
            .push(format!("converted {count} {dtype} tensor(s) to f32"));
    }
}

pub(super) fn list_names(names: &[String]) -> String {
    let shown = names
        .iter()
        .take(NAMES_IN_NOTE)
        .cloned()
        .collect::<Vec<_>>();
    match names.len().saturating_sub(NAMES_IN_NOTE) {
        0 => shown.join(", "),
        more => format!("{} and {more} more", shown.join(", ")),
    }
}

#[derive(Clone, Copy)]
enum Endian {
    /// safetensors: little-endian whatever the machine.
    Little,
    /// burn's PyTorch reader hands out the machine's byte order.
    Native,
}

/// `bytes` as f32 values; `None` if their length is not a multiple of the element size.
fn decode(dtype: DType, bytes: &[u8], endian: Endian) -> Option<Vec<f32>> {
    fn each<const N: usize>(bytes: &[u8], endian: Endian, f: impl Fn([u8; N]) -> f32) -> Vec<f32> {
        bytes
            .chunks_exact(N)
            .map(|c| {
                let mut b: [u8; N] = c.try_into().expect("chunks_exact gives N bytes");
                if matches!(endian, Endian::Little) && cfg!(target_endian = "big") {
                    b.reverse();
                }
                f(b)
            })
            .collect()
    }
    if !bytes.len().is_multiple_of(dtype.size()) {
        return None;
    }
    // Values are decoded as native-endian after the swap above.
    #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
    Some(match dtype {
        DType::F64 => each(bytes, endian, |b| f64::from_ne_bytes(b) as f32),
        DType::F32 => each(bytes, endian, f32::from_ne_bytes),
        DType::F16 => each(bytes, endian, |b| half::f16::from_ne_bytes(b).to_f32()),
        DType::BF16 => each(bytes, endian, |b| half::bf16::from_ne_bytes(b).to_f32()),
        DType::I64 => each(bytes, endian, |b| i64::from_ne_bytes(b) as f32),
        DType::I32 => each(bytes, endian, |b| i32::from_ne_bytes(b) as f32),
        DType::I16 => each(bytes, endian, |b| f32::from(i16::from_ne_bytes(b))),
        DType::I8 => each(bytes, endian, |b: [u8; 1]| f32::from(b[0].cast_signed())),
        DType::U64 => each(bytes, endian, |b| u64::from_ne_bytes(b) as f32),
        DType::U32 => each(bytes, endian, |b| u32::from_ne_bytes(b) as f32),
        DType::U16 => each(bytes, endian, |b| f32::from(u16::from_ne_bytes(b))),
        DType::U8 | DType::Bool => each(bytes, endian, |b: [u8; 1]| f32::from(b[0])),
    })
}
