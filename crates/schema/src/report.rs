//! The JSON documents advland writes: one envelope (`schema_version`, `kind`, `meta`, `data`)
//! around a kind-specific payload, and the one way to write them (atomically, never NaN).

use std::io::Write;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::output::write_atomic;
use crate::settings::SCHEMA_VERSION;

/// Provenance of a report: enough to re-run it and to know what it cost.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    /// advland's version.
    pub advland_version: String,
    /// burn's version.
    pub burn_version: String,
    /// The command line that produced the report.
    pub command: Vec<String>,
    /// The device, in words (`cpu (flex)`, `wgpu`, `cuda:0`).
    pub device: String,
    /// The seed every random choice derived from.
    pub seed: u64,
    /// The full resolved configuration.
    pub config: serde_json::Value,
    /// The data actually used.
    pub data: DataSubset,
    /// Seconds since the Unix epoch when the work started.
    pub started_unix_s: u64,
    /// Wall-clock seconds the work took.
    pub duration_s: f64,
    /// Forward/backward work done.
    pub cost: Cost,
    /// The weights files the models came from, where they were not advland checkpoints
    /// (`--weights`, `advland import`), in the order they were read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weights: Vec<WeightsSource>,
    /// The build and the process that made the report (absent in reports made before it
    /// existed and where a library caller sets none).
    #[serde(default, skip_serializing_if = "Provenance::is_empty")]
    pub provenance: Provenance,
}

/// Which program made a report and what it held: the source it was built from, its bytes,
/// its peak memory.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// The git commit the binary was built from, with `-dirty` appended when tracked files
    /// differed from it; absent when it was not built from a git checkout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_revision: Option<String>,
    /// SHA-256 of the running executable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary_sha256: Option<String>,
    /// Peak resident memory of the process when the report was written, MiB (Linux's
    /// `VmHWM`; host memory only, a GPU's is not included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peak_rss_mib: Option<f64>,
    /// The processor the numbers were computed on: results are bitwise the same on one
    /// processor, not across processors ([`crate::host`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<crate::host::Host>,
}

impl Provenance {
    /// Nothing recorded.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// The process's peak resident memory so far in MiB (`VmHWM` of `/proc/self/status`); `None`
/// where the system does not say.
pub fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Provenance of weights read from another program's file: which file, what was done to its
/// names, and the entries beside the tensors (a training script's `epoch`, `test_robust_acc`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeightsSource {
    /// The file as given.
    pub path: String,
    /// SHA-256 of the file's bytes.
    pub sha256: String,
    /// `safetensors`, `pytorch-zip`, `pytorch-legacy`, ….
    pub format: String,
    /// The file's names that were renamed on the way to the model's, as `[file, model]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub renamed: Vec<[String; 2]>,
    /// What reading and matching did besides copying tensors (prefixes stripped, dtypes
    /// converted, counters dropped).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The file's non-tensor entries, by dotted name.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub extras: std::collections::BTreeMap<String, serde_json::Value>,
}

/// Which examples a result was computed on.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSubset {
    /// Data set name and split(s), e.g. `fashion-mnist/test`.
    pub name: String,
    /// Number of examples used.
    pub examples: usize,
    /// Number of examples in the split before sub-setting.
    pub total: usize,
    /// How the subset was chosen (`all`, `evenly-spaced`).
    pub selection: String,
}

/// Counts of model passes, in examples (a batch of 128 counts 128), so that runs with
/// different batch sizes and optimizers compare at equal budget.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cost {
    /// Examples passed forward (attack steps included).
    pub forward: u64,
    /// Examples passed backward (attack steps included).
    pub backward: u64,
}

impl std::ops::AddAssign for Cost {
    fn add_assign(&mut self, rhs: Self) {
        self.forward += rhs.forward;
        self.backward += rhs.backward;
    }
}

/// The envelope every report shares.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report<T> {
    /// [`SCHEMA_VERSION`] at the time of writing.
    pub schema_version: u32,
    /// What `data` holds (`train`, `eval`, ...).
    pub kind: String,
    /// Provenance.
    pub meta: Meta,
    /// The payload.
    pub data: T,
}

/// A report payload: the type names its `kind`, so a report can never carry another kind's
/// label (and readers check the label against the type they ask for).
pub trait Payload {
    /// The `kind` written into the envelope (`sharpness`, `surface`, ...).
    const KIND: &'static str;
}

impl<T: Payload> Report<T> {
    /// Wraps a payload with the current schema version and its type's kind.
    pub fn of(meta: Meta, data: T) -> Self {
        Self::new(T::KIND, meta, data)
    }
}

impl<T> Report<T> {
    /// Wraps a payload with the current schema version.
    pub fn new(kind: impl Into<String>, meta: Meta, data: T) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            kind: kind.into(),
            meta,
            data,
        }
    }
}

/// A JSON formatter that refuses to write `null`.
///
/// serde_json writes NaN and ±∞ as `null`, and a report with such a value no longer reads
/// back into its type. advland's documents never hold `null` on purpose (absent optional
/// fields are skipped), so a `null` here can only be a non-finite number, and writing fails
/// instead of producing a silently broken file.
struct NoNullFormatter(serde_json::ser::PrettyFormatter<'static>);

impl serde_json::ser::Formatter for NoNullFormatter {
    fn write_null<W: ?Sized + Write>(&mut self, _writer: &mut W) -> std::io::Result<()> {
        Err(std::io::Error::other(
            "a value is NaN, infinite or null (reports store none of these)",
        ))
    }
    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.0.end_object_value(w)
    }
}

/// Serialises `value` as pretty JSON, failing on non-finite numbers.
///
/// # Errors
/// [`Error::Json`] naming `path` (used only in the message) when a value is NaN/∞.
pub fn to_json_bytes<T: Serialize>(value: &T, path: &Path) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(
        &mut out,
        NoNullFormatter(serde_json::ser::PrettyFormatter::new()),
    );
    value.serialize(&mut ser).map_err(|source| Error::Json {
        path: path.to_owned(),
        source,
    })?;
    out.push(b'\n');
    Ok(out)
}

/// Writes `value` as JSON atomically (see [`to_json_bytes`], [`write_atomic`]).
///
/// # Errors
/// Non-finite numbers or IO errors, naming the file; nothing is written then.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let bytes = to_json_bytes(value, path)?;
    write_atomic(path, &bytes)
}

/// Reads a JSON document into `T`.
///
/// # Errors
/// IO or parse errors naming the file.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| Error::Json {
        path: path.to_owned(),
        source,
    })
}

/// Reads a report of `kind` (`surface`, `train`, ...), refusing one of another kind or
/// written under another [`SCHEMA_VERSION`]: its fields may mean other things.
///
/// # Errors
/// IO or parse errors, or [`Error::Format`], naming the file.
pub fn read_report<T: DeserializeOwned>(path: &Path, kind: &str) -> Result<Report<T>> {
    let value: serde_json::Value = read_json(path)?;
    let version = value
        .get("schema_version")
        .and_then(serde_json::Value::as_u64);
    if version != Some(u64::from(SCHEMA_VERSION)) {
        let found = version.map_or_else(|| "none".to_owned(), |v| v.to_string());
        return Err(Error::format(
            path,
            format!(
                "schema_version {found}: this advland reads reports of schema version {SCHEMA_VERSION} only"
            ),
        ));
    }
    let found = value.get("kind").and_then(serde_json::Value::as_str);
    if found != Some(kind) {
        return Err(Error::format(
            path,
            format!("a `{}` report, not a `{kind}` report", found.unwrap_or("?")),
        ));
    }
    serde_json::from_value(value).map_err(|source| Error::Json {
        path: path.to_owned(),
        source,
    })
}

/// Returns `value` if finite, else [`Error::NonFinite`] naming `what`.
///
/// # Errors
/// When `value` is NaN or infinite.
pub fn finite(what: &str, value: f64) -> Result<f64> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(Error::NonFinite {
            what: what.to_owned(),
            value,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Doc {
        x: f64,
        #[serde(skip_serializing_if = "Option::is_none")]
        y: Option<f64>,
    }

    #[test]
    fn write_json_refuses_nan_and_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        let err = write_json(
            &path,
            &Doc {
                x: f64::NAN,
                y: None,
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("r.json"), "{err}");
        assert!(!path.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn write_json_writes_finite_values_and_skips_absent_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/r.json");
        write_json(&path, &Doc { x: 1.5, y: None }).unwrap();
        let v: serde_json::Value = read_json(&path).unwrap();
        assert_eq!(v, serde_json::json!({"x": 1.5}));
    }

    #[test]
    fn read_report_refuses_other_versions_and_kinds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        let doc = |version: u32, kind: &str| {
            let meta = Meta {
                advland_version: String::new(),
                burn_version: String::new(),
                command: Vec::new(),
                device: String::new(),
                seed: 0,
                config: serde_json::json!({}),
                data: DataSubset::default(),
                started_unix_s: 0,
                duration_s: 0.0,
                cost: Cost::default(),
                weights: Vec::new(),
                provenance: Provenance::default(),
            };
            let mut r = Report::new(kind, meta, 1.5f64);
            r.schema_version = version;
            write_json(&path, &r).unwrap();
        };
        doc(SCHEMA_VERSION, "x");
        assert_eq!(read_report::<f64>(&path, "x").unwrap().data, 1.5);
        let err = read_report::<f64>(&path, "surface")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("r.json") && err.contains("not a `surface`"),
            "{err}"
        );
        doc(99, "x");
        let err = read_report::<f64>(&path, "x").unwrap_err().to_string();
        assert!(err.contains("schema_version 99"), "{err}");
    }

    #[test]
    fn finite_names_the_quantity() {
        assert!(finite("loss", 1.0).is_ok());
        let err = finite("test loss", f64::INFINITY).unwrap_err().to_string();
        assert!(err.contains("test loss"), "{err}");
    }
}
