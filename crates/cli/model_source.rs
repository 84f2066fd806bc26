//! Where an analysis command's model comes from: one argument group and one loader, so a new
//! source (weights files, other formats) is added here once for every command.

use std::path::{Path, PathBuf};

use advland_analysis::Subject;
use advland_schema::file_sha256;
use advland_train::Model;
use advland_train::checkpoint::{CheckpointInfo, WEIGHTS_FILE, checkpoint_dir, load_checkpoint};
use advland_train::data::checkpoint_test_set;
use anyhow::{Context, Result, bail};
use burn::tensor::Device;
use clap::Args;

/// The model(s) a command measures.
#[derive(Clone, Debug, Args)]
pub struct ModelSource {
    /// Checkpoint directory (or its checkpoint.json / model.safetensors), or a training run
    /// directory for its last checkpoint. `sharpness lipschitz` and `relate` take several
    /// (sharpness: in training order, for trajectory secants).
    #[arg(long, required = true)]
    pub checkpoint: Vec<PathBuf>,
}

/// A loaded model with what its files say about it.
pub struct Loaded {
    /// The model.
    pub model: Model,
    /// Architecture, shape, epoch and the settings that trained it.
    pub info: CheckpointInfo,
    /// The path it was loaded from, as given.
    pub path: PathBuf,
}

impl ModelSource {
    /// The one model of a command that measures one.
    ///
    /// # Errors
    /// Several given, or missing or malformed files, naming them.
    pub fn path(&self) -> Result<&Path> {
        match self.checkpoint.as_slice() {
            [one] => Ok(one),
            [] => bail!("--checkpoint is required"),
            _ => bail!(
                "--checkpoint: this command measures one model, got {}",
                self.checkpoint.len()
            ),
        }
    }

    /// The model with the test split it is measured on.
    ///
    /// # Errors
    /// As [`Self::load`], or data that is missing or does not fit the model.
    pub fn subject(&self, device: &Device) -> Result<Subject> {
        subject(self.path()?, device)
    }

    /// The first model with its test split, and the models after it (a trajectory).
    ///
    /// # Errors
    /// As [`Self::subject`].
    pub fn trajectory(&self, device: &Device) -> Result<(Subject, Vec<Model>)> {
        let (first, later) = self
            .checkpoint
            .split_first()
            .context("--checkpoint is required")?;
        let subject = subject(first, device)?;
        let later = later
            .iter()
            .map(|p| load(p, device).map(|l| l.model))
            .collect::<Result<_>>()?;
        Ok((subject, later))
    }

    /// Each model with its test split, loaded when the iterator reaches it (one in memory at
    /// a time).
    pub fn subjects<'a>(
        &'a self,
        device: &'a Device,
    ) -> impl ExactSizeIterator<Item = Result<Subject>> + 'a {
        self.checkpoint.iter().map(move |p| subject(p, device))
    }
}

/// Loads the checkpoint at `path` (the checkpoints an analysis takes besides its model: a
/// trajectory, `--to`, relate's list).
///
/// # Errors
/// Missing or malformed files, naming them.
pub fn load(path: &Path, device: &Device) -> Result<Loaded> {
    let (model, info) = load_checkpoint(path, device)
        .with_context(|| format!("loading checkpoint {}", path.display()))?;
    Ok(Loaded {
        model,
        info,
        path: path.to_owned(),
    })
}

/// Loads the checkpoint at `path` with its run's test split.
///
/// # Errors
/// As [`load`], or data that is missing or does not fit the model.
pub fn subject(path: &Path, device: &Device) -> Result<Subject> {
    let Loaded { model, info, path } = load(path, device)?;
    let test = checkpoint_test_set(&info, &path).context("loading the data")?;
    Ok(Subject {
        model,
        test,
        checkpoint: path.display().to_string(),
        epoch: info.epoch,
        trained_with: info.settings.adversarial,
    })
}

/// The checkpoint directory `path` stands for (a run directory resolves to its last
/// checkpoint) and the SHA-256 of its weights file: how surfaces identify their origin.
///
/// # Errors
/// A path that is no checkpoint, an unreadable weights file.
pub fn weights_identity(path: &Path) -> Result<(PathBuf, String)> {
    let dir = checkpoint_dir(path)?;
    let hash = file_sha256(&dir.join(WEIGHTS_FILE))?;
    Ok((dir, hash))
}
