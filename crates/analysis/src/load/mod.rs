//! Where an analysed model comes from: an advland checkpoint directory, or another program's
//! weights file (PyTorch `.pt`/`.pth` or safetensors) read into an architecture. Either
//! becomes a [`Subject`]: the model with the test split it is measured on.
//!
//! ```no_run
//! use advland_analysis::Subject;
//! use advland_analysis::load::ReadWeights;
//! use advland_schema::{DataSettings, ModelKind, ModelSpec};
//! use burn::tensor::Device;
//!
//! let device = Device::flex().autodiff();
//! let trained = Subject::from_checkpoint("runs/at/checkpoints/epoch-0010".as_ref(), &device)?;
//! let read = ReadWeights::new(ModelSpec { kind: ModelKind::PreactResnet18, ..ModelSpec::default() });
//! let (imported, provenance) =
//!     Subject::from_weights("model_best.pth".as_ref(), &read, &DataSettings::default(), &device)?;
//! # Ok::<(), advland_analysis::Error>(())
//! ```

use std::path::{Path, PathBuf};

use advland_schema::{
    DataSettings, ModelKind, ModelSpec, TrainSettings, WeightsSource, file_sha256, write_json,
};
use advland_train::checkpoint::{
    CHECKPOINT_FILE, CheckpointInfo, WEIGHTS_FILE, checkpoint_dir, load_checkpoint, save_checkpoint,
};
use advland_train::data::{checkpoint_test_set, load_splits};
use advland_train::import::{
    IgnoreList, KeyMap, MatchOptions, expected_params, load_matched, match_weights, read_weights,
};
use advland_train::trainer::model_shape;
use advland_train::{Model, ModelShape};
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::subject::Subject;

#[cfg(feature = "clap")]
mod source;

#[cfg(feature = "clap")]
pub use source::{ModelSource, ReadAs, WeightsArgs};

/// Tensors of RobustBench WideResNet files that the architecture does not use.
const WRN_UNUSED_BLOCK: &str = r"^sub_block1\.";

/// How to read another program's weights file: the architecture it holds and the renames on
/// the way (field names are the command line's flags).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadWeights {
    /// The architecture the file is read into (its input and output sizes come from the data).
    pub model: ModelSpec,
    /// Renames of the file's tensors before matching, `REGEX=REPLACEMENT`, applied in order.
    #[serde(default)]
    pub key_map: Vec<String>,
    /// Tensors of the file the model does not use, by regex on their (mapped) names.
    /// (`wide-resnet` always drops the unused `sub_block1.*` of some RobustBench files.)
    #[serde(default)]
    pub ignore_key: Vec<String>,
}

impl ReadWeights {
    /// Reads files of the architecture `model`, with no renames.
    pub fn new(model: ModelSpec) -> Self {
        Self {
            model,
            key_map: Vec::new(),
            ignore_key: Vec::new(),
        }
    }

    /// Builds the architecture for `shape` and reads `path` into it, strictly: every missing,
    /// unexpected or mis-shaped tensor is an error. Returns the model and what the file said
    /// about itself, for reports.
    ///
    /// # Errors
    /// [`Error::LoadModel`] naming `path`: a bad architecture, key map or ignore pattern; an
    /// unreadable file; a file that does not match the model (every problem listed).
    pub fn load(
        &self,
        path: &Path,
        shape: ModelShape,
        device: &Device,
    ) -> Result<(Model, WeightsSource)> {
        self.read(path, shape, device)
            .map_err(|source| Error::LoadModel {
                kind: "weights",
                path: path.to_owned(),
                source: Box::new(source),
            })
    }

    fn read(
        &self,
        path: &Path,
        shape: ModelShape,
        device: &Device,
    ) -> advland_train::Result<(Model, WeightsSource)> {
        let model = Model::build(&self.model, shape, device)?;
        let mut ignore = self.ignore_key.clone();
        if self.model.kind == ModelKind::WideResnet {
            // Some RobustBench WideResNets keep an unused first block under this name (their
            // `sub_block1`, never called in `forward`); the matcher notes what it drops.
            ignore.push(WRN_UNUSED_BLOCK.to_owned());
        }
        let options = MatchOptions {
            key_map: KeyMap::parse(&self.key_map)?,
            ignore: IgnoreList::parse(&ignore)?,
        };
        let file = read_weights(path)?;
        let matched = match_weights(&expected_params(&model), &file, &options)?;
        let model = load_matched(model, &matched)?;
        let source = WeightsSource {
            path: path.display().to_string(),
            sha256: file.sha256,
            format: file.format.as_str().to_owned(),
            renamed: matched.renamed.into_iter().map(|(a, b)| [a, b]).collect(),
            notes: matched.notes,
            extras: file.extras,
        };
        Ok((model, source))
    }
}

/// A checkpoint's model with what its files say about it.
#[derive(Debug)]
pub struct LoadedCheckpoint {
    /// The model.
    pub model: Model,
    /// Architecture, shape, epoch and the settings that trained it.
    pub info: CheckpointInfo,
    /// The path it was loaded from, as given.
    pub path: PathBuf,
}

/// Loads the checkpoint at `path` (a checkpoint directory, its `checkpoint.json` or weights
/// file, a run directory for its last checkpoint, `RUN/best` for its best), without its data.
///
/// # Errors
/// [`Error::LoadModel`] naming `path`: missing or malformed files.
pub fn load_checkpoint_model(path: &Path, device: &Device) -> Result<LoadedCheckpoint> {
    let (model, info) = load_checkpoint(path, device).map_err(|source| Error::LoadModel {
        kind: "checkpoint",
        path: path.to_owned(),
        source: Box::new(source),
    })?;
    Ok(LoadedCheckpoint {
        model,
        info,
        path: path.to_owned(),
    })
}

/// The checkpoint directory `path` stands for (a run directory resolves to its last
/// checkpoint) and the SHA-256 of its weights file: how surfaces identify their origin.
///
/// # Errors
/// A path that is no checkpoint, an unreadable weights file.
pub fn weights_identity(path: &Path) -> Result<(PathBuf, String)> {
    let dir = checkpoint_dir(path)?;
    let hash = file_sha256(&dir.join(WEIGHTS_FILE)).map_err(advland_train::Error::from)?;
    Ok((dir, hash))
}

/// A data error while loading a subject's splits.
fn data_error(source: advland_train::Error) -> Error {
    Error::LoadData {
        source: Box::new(source),
    }
}

impl Subject {
    /// The checkpoint at `path` with its run's whole test split (and its training split when
    /// the model has batch norm, for re-estimating the statistics).
    ///
    /// # Errors
    /// As [`load_checkpoint_model`]; [`Error::LoadData`]: data that is missing or does not fit
    /// the model.
    pub fn from_checkpoint(path: &Path, device: &Device) -> Result<Self> {
        Self::checkpoint_with(path, device, false)
    }

    /// [`Self::from_checkpoint`] with the training split always read, for analyses that train
    /// on it (mode connectivity).
    ///
    /// # Errors
    /// As [`Self::from_checkpoint`].
    pub fn from_checkpoint_for_training(path: &Path, device: &Device) -> Result<Self> {
        Self::checkpoint_with(path, device, true)
    }

    fn checkpoint_with(path: &Path, device: &Device, train: bool) -> Result<Self> {
        let LoadedCheckpoint { model, info, path } = load_checkpoint_model(path, device)?;
        let test = checkpoint_test_set(&info, &path).map_err(data_error)?;
        // Besides training (`connect`), the training split serves batch norm's re-estimation
        // (`bn_recompute`).
        let train = if train || model.bn_mode().is_some() {
            Some(load_splits(&info.settings.data).map_err(data_error)?.train)
        } else {
            None
        };
        Ok(Self {
            model,
            test,
            checkpoint: path.display().to_string(),
            epoch: info.epoch,
            trained_with: info.settings.adversarial,
            train,
        })
    }

    /// The weights file at `path` read as `read` says, with the test and training splits of
    /// `data`; returns the weights' provenance for reports beside it. Imported weights count
    /// as trained for 0 epochs, against no attack.
    ///
    /// # Errors
    /// [`Error::LoadData`]: data that is missing; as [`ReadWeights::load`].
    pub fn from_weights(
        path: &Path,
        read: &ReadWeights,
        data: &DataSettings,
        device: &Device,
    ) -> Result<(Self, WeightsSource)> {
        let splits = load_splits(data).map_err(data_error)?;
        let (model, source) = read.load(path, model_shape(&splits), device)?;
        let subject = Self {
            model,
            test: splits.test,
            checkpoint: path.display().to_string(),
            epoch: 0,
            trained_with: None,
            train: Some(splits.train),
        };
        Ok((subject, source))
    }

    /// The input and output sizes of the subject's data: the shape of the other models an
    /// analysis compares it with.
    pub fn shape(&self) -> ModelShape {
        ModelShape {
            input: self.test.shape,
            classes: self.test.num_classes,
        }
    }
}

/// File beside an imported checkpoint's own files that records where its weights came from.
pub const SOURCE_FILE: &str = "source.json";

/// A weights file saved as an advland checkpoint ([`import_checkpoint`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Imported {
    /// Scalars of θ read.
    pub parameters: usize,
    /// What the file said about itself (also in the checkpoint's [`SOURCE_FILE`]).
    pub source: WeightsSource,
}

/// Reads `path` as `read` says into a model of `data`'s shape and saves it as the checkpoint
/// directory `out`: epoch 0, with `data` and the architecture as its run's settings (so
/// analyses find its test split) and the weights' provenance in [`SOURCE_FILE`]. A checkpoint
/// already at `out` is replaced only with `overwrite`; anything else there never is.
///
/// # Errors
/// [`Error::InvalidConfig`] on `out` (something already there);
/// [`Error::LoadData`]: data that cannot be read; as [`ReadWeights::load`]; an unwritable
/// `out`.
pub fn import_checkpoint(
    path: &Path,
    read: &ReadWeights,
    data: &DataSettings,
    (out, overwrite): (&Path, bool),
    device: &Device,
) -> Result<Imported> {
    check_import_target(out, overwrite)?;
    let splits = load_splits(data).map_err(data_error)?;
    let shape = model_shape(&splits);
    let (model, source) = read.load(path, shape, device)?;
    let info = CheckpointInfo {
        model: read.model.clone(),
        shape,
        epoch: 0,
        settings: TrainSettings {
            data: data.clone(),
            model: read.model.clone(),
            ..TrainSettings::default()
        },
        training: None,
    };
    save_checkpoint(out, &model, &info, None)?;
    write_json(&out.join(SOURCE_FILE), &source).map_err(advland_train::Error::from)?;
    Ok(Imported {
        parameters: advland_train::params::theta_len(&model),
        source,
    })
}

/// Refuses an import onto an `out` that holds anything but a checkpoint (always) or a
/// checkpoint (without `overwrite`), before any work.
fn check_import_target(out: &Path, overwrite: bool) -> Result<()> {
    if out.exists() {
        let is_checkpoint = out.join(CHECKPOINT_FILE).is_file();
        if !overwrite || !is_checkpoint {
            let rule = if is_checkpoint {
                "give --overwrite to replace this checkpoint"
            } else {
                "not a checkpoint directory, so it is never replaced"
            };
            return Err(Error::InvalidConfig {
                field: "out",
                reason: format!("{} already exists; {rule}", out.display()),
            });
        }
    }
    advland_schema::check_output(&out.join(SOURCE_FILE)).map_err(advland_train::Error::from)?;
    Ok(())
}

/// Where all models of one analysis come from: advland checkpoints, or weights files of one
/// architecture measured on one data set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
// One per command, never in a collection: boxing would only obscure the match.
#[allow(clippy::large_enum_variant)]
pub enum ModelOrigin {
    /// Checkpoint directories (or run directories, for their last checkpoint); each brings its
    /// architecture and data.
    Checkpoint,
    /// Another program's weights files.
    Weights {
        /// How to read them.
        read: ReadWeights,
        /// The data they are measured on.
        data: DataSettings,
    },
}

impl ModelOrigin {
    /// The model at `path` with its test split (and, with `train`, or for checkpoints of
    /// batch-norm models, its training split), and the provenance of a weights file.
    ///
    /// # Errors
    /// As [`Subject::from_checkpoint`] or [`Subject::from_weights`].
    pub fn subject(
        &self,
        path: &Path,
        train: bool,
        device: &Device,
    ) -> Result<(Subject, Option<WeightsSource>)> {
        match self {
            Self::Checkpoint => Ok((Subject::checkpoint_with(path, device, train)?, None)),
            Self::Weights { read, data } => {
                let (subject, source) = Subject::from_weights(path, read, data, device)?;
                Ok((subject, Some(source)))
            }
        }
    }

    /// Another model of this origin, of the shape `shape` (the first model's): a checkpoint, or
    /// a weights file of the same architecture; with a weights file's provenance.
    ///
    /// # Errors
    /// As [`load_checkpoint_model`] or [`ReadWeights::load`].
    pub fn model(
        &self,
        path: &Path,
        shape: ModelShape,
        device: &Device,
    ) -> Result<(Model, Option<WeightsSource>)> {
        match self {
            Self::Checkpoint => Ok((load_checkpoint_model(path, device)?.model, None)),
            Self::Weights { read, .. } => {
                let (model, source) = read.load(path, shape, device)?;
                Ok((model, Some(source)))
            }
        }
    }

    /// A trajectory: the model at `first` with its test split, and the models at `later` (in
    /// training order); with the provenance of the weights files read, in order.
    ///
    /// # Errors
    /// As [`Self::subject`] and [`Self::model`].
    pub fn trajectory(
        &self,
        first: &Path,
        later: &[PathBuf],
        device: &Device,
    ) -> Result<(Subject, Vec<Model>, Vec<WeightsSource>)> {
        let (subject, source) = self.subject(first, false, device)?;
        let mut sources: Vec<WeightsSource> = source.into_iter().collect();
        let shape = subject.shape();
        let mut models = Vec::with_capacity(later.len());
        for path in later {
            let (model, source) = self.model(path, shape, device)?;
            models.push(model);
            sources.extend(source);
        }
        Ok((subject, models, sources))
    }

    /// How surfaces identify the origin at `path`: the checkpoint directory and its weights
    /// file's SHA-256 ([`weights_identity`]), or the weights file and its own.
    ///
    /// # Errors
    /// A path that is no checkpoint, an unreadable file.
    pub fn identity(&self, path: &Path) -> Result<(PathBuf, String)> {
        match self {
            Self::Checkpoint => weights_identity(path),
            Self::Weights { .. } => {
                let hash = file_sha256(path).map_err(advland_train::Error::from)?;
                Ok((path.to_owned(), hash))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_checkpoint_is_named_with_its_path() {
        let device = Device::flex();
        let err = Subject::from_checkpoint(Path::new("no/such/checkpoint"), &device)
            .expect_err("no checkpoint there");
        assert!(matches!(
            err,
            Error::LoadModel {
                kind: "checkpoint",
                ..
            }
        ));
        assert!(
            err.to_string()
                .contains("loading checkpoint no/such/checkpoint"),
            "{err}"
        );
    }

    #[test]
    fn a_missing_weights_file_is_named_with_its_path() {
        let device = Device::flex();
        let read = ReadWeights::new(ModelSpec::default());
        let shape = ModelShape {
            input: [1, 28, 28],
            classes: 10,
        };
        let err = read
            .load(Path::new("no/such.pt"), shape, &device)
            .expect_err("no file there");
        assert!(matches!(
            err,
            Error::LoadModel {
                kind: "weights",
                ..
            }
        ));
        assert_eq!(err.to_string(), "loading weights no/such.pt");
    }

    #[test]
    fn an_import_replaces_only_a_checkpoint_and_only_when_asked() {
        let dir = tempfile::tempdir().expect("temp dir");
        let new = dir.path().join("new");
        assert!(check_import_target(&new, false).is_ok());
        let other = dir.path().join("other");
        fs_err::create_dir(&other).expect("mkdir");
        for overwrite in [false, true] {
            let err = check_import_target(&other, overwrite).expect_err("not a checkpoint");
            assert!(err.to_string().contains("never replaced"), "{err}");
        }
        fs_err::write(other.join(CHECKPOINT_FILE), "{}").expect("write");
        let err = check_import_target(&other, false).expect_err("no --overwrite");
        assert!(err.to_string().starts_with("out: "), "{err}");
        assert!(check_import_target(&other, true).is_ok());
    }

    /// The repository's fixtures: a narrow PreAct-ResNet-18 saved by PyTorch, CIFAR-10 files.
    fn fixtures() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
    }

    #[test]
    fn a_pytorch_file_becomes_a_subject_with_its_provenance() {
        let device = Device::flex();
        let read = ReadWeights::new(ModelSpec {
            kind: ModelKind::PreactResnet18,
            base_width: Some(4),
            ..ModelSpec::default()
        });
        let data = DataSettings {
            dataset: advland_schema::DatasetName::Cifar10,
            data_dir: Some(fixtures().join("cifar")),
            ..DataSettings::default()
        };
        let pt = fixtures().join("torch/preact_w4.pt");
        let origin = ModelOrigin::Weights { read, data };
        let copy = fixtures().join("torch/preact_w4.safetensors");
        let (subject, later, sources) = origin
            .trajectory(&pt, std::slice::from_ref(&copy), &device)
            .expect("the fixtures load");
        assert_eq!(subject.epoch, 0);
        assert!(subject.trained_with.is_none() && subject.train.is_some());
        assert_eq!(subject.shape().classes, 10);
        assert_eq!(later.len(), 1);
        let formats: Vec<&str> = sources.iter().map(|s| s.format.as_str()).collect();
        assert_eq!(formats, ["pytorch-zip", "safetensors"]);
        let (path, sha256) = origin.identity(&pt).expect("readable");
        assert_eq!((path, sha256), (pt, sources[0].sha256.clone()));
    }

    #[test]
    fn a_bad_key_map_is_refused_before_the_file_is_read() {
        let device = Device::flex();
        let read = ReadWeights {
            key_map: vec!["(".to_owned()],
            ..ReadWeights::new(ModelSpec::default())
        };
        let shape = ModelShape {
            input: [1, 28, 28],
            classes: 10,
        };
        let err = read
            .load(Path::new("no/such.pt"), shape, &device)
            .expect_err("bad rule");
        let Error::LoadModel { source, .. } = err else {
            panic!("not a load error: {err}")
        };
        assert!(source.to_string().contains("key-map"), "{source}");
    }
}
