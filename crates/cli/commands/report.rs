//! `advland report`: every figure redrawn from report JSON alone, and a self-contained
//! `index.html` with the figures, the numbers and the configs that produced them.

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;

use crate::render::{LogColour, write};

/// `advland report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Report files or run directories (searched recursively for `*.json` reports).
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Output directory (`index.html` and `figures/`).
    #[arg(long)]
    pub out: PathBuf,
    /// Colour scale of 2-D surfaces: log10 when the loss spans more than two decades (`auto`),
    /// or always/never.
    #[arg(long, value_enum, default_value = "auto")]
    pub log_colour: LogColour,
}

/// Runs `advland report`.
pub fn run(args: &ReportArgs) -> Result<()> {
    let summary = write(&args.inputs, &args.out, args.log_colour)?;
    for s in &summary.skipped {
        eprintln!("skipped {}: {}", s.path.display(), s.reason);
    }
    println!(
        "{} reports, {} figures: {}",
        summary.reports.len(),
        summary.figures.len(),
        summary.index.display()
    );
    Ok(())
}
