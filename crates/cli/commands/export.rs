//! `advland export`: a checkpoint's weights as a PyTorch-layout safetensors file.

use std::path::PathBuf;

use advland_analysis::load::load_checkpoint_model;
use advland_train::checkpoint::save_weights;
use anyhow::Result;
use burn::tensor::Device;
use clap::Args;

/// `advland export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Checkpoint directory, a training run directory for its last checkpoint, or RUN/best for
    /// its best.
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// Output safetensors file.
    #[arg(long)]
    pub out: PathBuf,
}

/// Runs `advland export`.
pub fn run(args: &ExportArgs, device: &Device) -> Result<()> {
    let model = load_checkpoint_model(&args.checkpoint, device)?.model;
    save_weights(&model, &args.out)?;
    println!("{}", args.out.display());
    Ok(())
}
