//! `advland export`: a checkpoint's weights as a PyTorch-layout safetensors file.

use advland_train::checkpoint::{load_checkpoint, save_weights};
use anyhow::{Context, Result};
use burn::tensor::Device;

use crate::args::ExportArgs;

/// Runs `advland export`.
pub fn run(args: &ExportArgs, device: &Device) -> Result<()> {
    let (model, _) = load_checkpoint(&args.checkpoint, device)
        .with_context(|| format!("loading checkpoint {}", args.checkpoint.display()))?;
    save_weights(&model, &args.out)?;
    println!("{}", args.out.display());
    Ok(())
}
