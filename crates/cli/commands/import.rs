//! `advland import`: another program's weights file as an advland checkpoint directory, for
//! users who want to keep one (every command also reads the file directly with --weights).

use std::path::PathBuf;

use advland_analysis::load::{Imported, ReadAs, import_checkpoint};
use advland_schema::{DataSettings, DatasetName};
use anyhow::{Result, bail};
use burn::tensor::Device;
use clap::Args;

/// `advland import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The weights file: PyTorch `.pt`/`.pth` or safetensors, with PyTorch's names.
    #[arg(id = "weights", value_name = "FILE")]
    pub file: PathBuf,
    /// How to read it (--model is required).
    #[command(flatten)]
    pub read: ReadAs,
    /// The data set the model is for (its input shape and classes; default: the bundled
    /// Fashion-MNIST subset). Recorded in the checkpoint, so analyses find their test split.
    #[arg(long, visible_alias = "data", value_enum)]
    pub dataset: Option<DatasetName>,
    /// Directory with the data set's files.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// The checkpoint directory to write; it must not exist (or be an earlier import, with
    /// --overwrite).
    #[arg(long)]
    pub out: PathBuf,
    /// Replace an existing checkpoint directory at --out.
    #[arg(long)]
    pub overwrite: bool,
}

/// Runs `advland import`.
pub fn run(args: &ImportArgs, device: &Device) -> Result<()> {
    if args.read.model.kind.is_none() {
        bail!(
            "--model: import needs the architecture of {}",
            args.file.display()
        );
    }
    let defaults = DataSettings::default();
    let data = DataSettings {
        dataset: args.dataset.unwrap_or(defaults.dataset),
        data_dir: args.data_dir.clone(),
        ..defaults
    };
    let Imported { parameters, source } = import_checkpoint(
        &args.file,
        &args.read.request(),
        &data,
        (&args.out, args.overwrite),
        device,
    )
    .map_err(crate::args::flag_error)?;
    println!(
        "{} ({} parameters read from {}, sha256 {})",
        args.out.display(),
        parameters,
        args.file.display(),
        &source.sha256[..16.min(source.sha256.len())]
    );
    for note in &source.notes {
        println!("note: {note}");
    }
    Ok(())
}
