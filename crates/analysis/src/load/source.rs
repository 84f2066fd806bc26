//! The command line's model sources (the `clap` feature): one argument group, so every
//! analysis command takes the same sources: an advland checkpoint (`--checkpoint`) or another
//! program's weights file (`--weights` with `--model` and its size flags). The flags become a
//! [`ModelOrigin`], which loads.

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use advland_schema::overrides::ModelArgs;
use advland_schema::{DataSettings, DatasetName, ModelSpec, WeightsSource};
use advland_train::{Model, ModelShape};
use burn::tensor::Device;
use clap::Args;

use super::{ModelOrigin, ReadWeights};
use crate::error::{Error, Result};
use crate::subject::Subject;

/// Neither `--checkpoint` nor `--weights` given (clap requires one; a caller building the
/// group by hand may not).
fn none_given() -> Error {
    Error::InvalidConfig {
        field: "--checkpoint",
        reason: "required, or --weights".to_owned(),
    }
}

/// The model(s) a command measures.
#[derive(Clone, Debug, Args)]
pub struct ModelSource {
    /// Checkpoint directory (or its checkpoint.json / model.safetensors), a training run
    /// directory for its last checkpoint, or RUN/best for its best (highest per-epoch
    /// validation accuracy, else test accuracy, under its training threat). `sharpness lipschitz` and `relate` take several
    /// (sharpness: in training order, for trajectory secants).
    #[arg(long, required_unless_present = "weights")]
    pub checkpoint: Vec<PathBuf>,
    /// Another program's weights instead (see --weights).
    #[command(flatten)]
    pub weights: WeightsArgs,
    /// Data set of --weights (default: the bundled Fashion-MNIST subset; a checkpoint
    /// brings its own).
    #[arg(long, visible_alias = "data", value_enum, requires = "weights")]
    pub dataset: Option<DatasetName>,
    /// Directory with the data set's files (CIFAR: `cifar-10-batches-py/` as torchvision
    /// leaves it, or the binary version).
    #[arg(long, requires = "weights")]
    pub data_dir: Option<PathBuf>,
    /// What the weights files read so far said about themselves, for the reports.
    #[arg(skip)]
    read: RefCell<Vec<WeightsSource>>,
}

/// A weights file from another program and the architecture to read it into.
#[derive(Clone, Debug, Args)]
pub struct WeightsArgs {
    /// Weights from another program: a PyTorch `.pt`/`.pth` (zip or legacy `torch.save`; a
    /// `state_dict`/`model`/`model_state_dict` wrapper and a `module.` prefix are undone) or
    /// a safetensors file, with PyTorch's names, read into --model (and its size flags).
    /// Strict: every missing, unexpected or mis-shaped tensor is an error. Repeatable where
    /// --checkpoint is.
    #[arg(long, conflicts_with = "checkpoint", requires = "model")]
    pub weights: Vec<PathBuf>,
    /// How to read them.
    #[command(flatten)]
    pub read: ReadAs,
}

/// The architecture a weights file is read into, and the renames on the way.
#[derive(Clone, Debug, Args)]
pub struct ReadAs {
    /// Architecture of the weights.
    #[command(flatten)]
    pub model: ModelArgs,
    /// Renames the file's tensors before matching, `REGEX=REPLACEMENT` (e.g. `^fc\.=fc1.`),
    /// applied in order; repeatable.
    #[arg(
        long = "key-map",
        value_name = "REGEX=REPLACEMENT",
        requires = "weights"
    )]
    pub key_map: Vec<String>,
    /// Tensors of the file the model does not use, by regex on their (mapped) names;
    /// repeatable. (`wide-resnet` always drops the unused `sub_block1.*` of some RobustBench
    /// files, with a note.)
    #[arg(long = "ignore-key", value_name = "REGEX", requires = "weights")]
    pub ignore_key: Vec<String>,
}

impl ReadAs {
    /// The library's request these flags make.
    pub fn request(&self) -> ReadWeights {
        ReadWeights {
            model: self.model.apply(ModelSpec::default()),
            key_map: self.key_map.clone(),
            ignore_key: self.ignore_key.clone(),
        }
    }
}

impl ModelSource {
    /// The paths given, checkpoints or weights files.
    pub fn paths(&self) -> &[PathBuf] {
        if self.weights.weights.is_empty() {
            &self.checkpoint
        } else {
            &self.weights.weights
        }
    }

    /// The one model of a command that measures one.
    ///
    /// # Errors
    /// Several given, or none.
    pub fn path(&self) -> Result<&Path> {
        match self.paths() {
            [one] => Ok(one),
            [] => Err(none_given()),
            more => Err(Error::InvalidConfig {
                field: self.flag(),
                reason: format!("this command measures one model, got {}", more.len()),
            }),
        }
    }

    fn flag(&self) -> &'static str {
        if self.weights.weights.is_empty() {
            "--checkpoint"
        } else {
            "--weights"
        }
    }

    /// Where a report named `name` goes by default: inside the (first) checkpoint directory,
    /// or next to the (first) weights file with its stem in front.
    ///
    /// # Errors
    /// No path given.
    pub fn default_out(&self, name: &str) -> Result<PathBuf> {
        let path = self.paths().first().ok_or_else(none_given)?;
        if self.weights.weights.is_empty() {
            return Ok(path.join(name));
        }
        let stem = path
            .file_stem()
            .map_or_else(|| "weights".into(), |s| s.to_string_lossy());
        Ok(path.with_file_name(format!("{stem}-{name}")))
    }

    /// `out` as given, else [`Self::default_out`] of `name`.
    ///
    /// # Errors
    /// No path given.
    pub fn out_or(&self, out: Option<&PathBuf>, name: &str) -> Result<PathBuf> {
        out.map_or_else(|| self.default_out(name), |out| Ok(out.clone()))
    }

    /// The weights files read so far, for the reports' `meta.weights`.
    pub fn provenance(&self) -> Vec<WeightsSource> {
        self.read.borrow().clone()
    }

    /// Where the models come from, for the library: checkpoints, or the weights files' flags.
    pub fn origin(&self) -> ModelOrigin {
        if self.weights.weights.is_empty() {
            return ModelOrigin::Checkpoint;
        }
        let defaults = DataSettings::default();
        ModelOrigin::Weights {
            read: self.weights.read.request(),
            data: DataSettings {
                dataset: self.dataset.unwrap_or(defaults.dataset),
                data_dir: self.data_dir.clone(),
                ..defaults
            },
        }
    }

    /// Keeps what a weights file said about itself for the reports.
    fn record<T>(&self, (value, source): (T, Option<WeightsSource>)) -> T {
        self.read.borrow_mut().extend(source);
        value
    }

    /// The model with the test split it is measured on.
    ///
    /// # Errors
    /// A model or data that cannot be loaded ([`ModelOrigin::subject`]).
    pub fn subject(&self, device: &Device) -> Result<Subject> {
        self.subject_at(self.path()?, device)
    }

    /// The model with its test split and always its training split (commands that train on
    /// it: `connect`); [`Self::subject`] reads a checkpoint's training split for batch-norm
    /// models only.
    ///
    /// # Errors
    /// As [`Self::subject`].
    pub fn training_subject(&self, device: &Device) -> Result<Subject> {
        Ok(self.record(self.origin().subject(self.path()?, true, device)?))
    }

    /// The first model with its test split, and the models after it (a trajectory).
    ///
    /// # Errors
    /// As [`Self::subject`].
    pub fn trajectory(&self, device: &Device) -> Result<(Subject, Vec<Model>)> {
        let (first, later) = self.paths().split_first().ok_or_else(none_given)?;
        let (subject, later, sources) = self.origin().trajectory(first, later, device)?;
        self.read.borrow_mut().extend(sources);
        Ok((subject, later))
    }

    /// Each model with its test split, loaded when the iterator reaches it (one in memory at
    /// a time).
    pub fn subjects<'a>(
        &'a self,
        device: &'a Device,
    ) -> impl ExactSizeIterator<Item = Result<Subject>> + 'a {
        self.paths().iter().map(move |p| self.subject_at(p, device))
    }

    /// Another model of the same source and shape as `subject` (surface `--to`): a checkpoint
    /// with --checkpoint, a weights file of the same architecture with --weights.
    ///
    /// # Errors
    /// As [`ModelOrigin::model`].
    pub fn model_at(&self, path: &Path, shape: ModelShape, device: &Device) -> Result<Model> {
        Ok(self.record(self.origin().model(path, shape, device)?))
    }

    /// How surfaces identify their origin: the checkpoint directory and its weights file's
    /// SHA-256, or the weights file and its own.
    ///
    /// # Errors
    /// A path that is no checkpoint, an unreadable file.
    pub fn identity(&self) -> Result<(PathBuf, String)> {
        self.origin().identity(self.path()?)
    }

    fn subject_at(&self, path: &Path, device: &Device) -> Result<Subject> {
        Ok(self.record(self.origin().subject(path, false, device)?))
    }
}
