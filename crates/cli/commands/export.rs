//! `advland export`: a checkpoint's weights as a PyTorch-layout safetensors file.

use std::path::PathBuf;

use advland_train::checkpoint::{load_checkpoint, save_weights};
use anyhow::{Context, Result};
use burn::tensor::Device;
use clap::Args;

/// `advland export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Checkpoint directory, or a training run directory for its last checkpoint.
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Output safetensors file.
    #[arg(long)]
    pub out: PathBuf,
}

/// Runs `advland export`.
pub fn run(args: &ExportArgs, device: &Device) -> Result<()> {
    let (model, _) = load_checkpoint(&args.checkpoint, device)
        .with_context(|| format!("loading checkpoint {}", args.checkpoint.display()))?;
    save_weights(&model, &args.out)?;
    println!("{}", args.out.display());
    Ok(())
}
