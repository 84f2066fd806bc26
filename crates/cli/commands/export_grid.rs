//! `advland export-grid`: a complete surface's loss and accuracy grids and their axes as NumPy
//! `.npy` files and/or CSV, with a JSON sidecar (`grid.json`) that names every file and
//! carries the axes and the surface's provenance (the files and their layout:
//! [`advland_schema::grid_export`]).

use std::path::PathBuf;

use advland_schema::grid_export::{GridFormat, SIDECAR, export_grid};
use anyhow::Result;
use clap::Args;

/// `advland export-grid`.
#[derive(Debug, Args)]
pub struct ExportGridArgs {
    /// A complete surface report (`advland surface` or `advland merge`); shards are refused.
    pub surface: PathBuf,
    /// File formats, comma separated: `npy` (numpy.load) and/or `csv` (numpy.loadtxt with
    /// delimiter=",", values in shortest round-trip decimal form).
    #[arg(long, value_enum, value_delimiter = ',', default_value = "npy")]
    pub format: Vec<GridFormat>,
    /// Output directory: `x`, `y` (2-D), `<objective>-loss`, `<objective>-accuracy` per
    /// format, and `grid.json`. Files of the same names are replaced.
    #[arg(long)]
    pub out: PathBuf,
}

/// Runs `advland export-grid`.
pub fn run(args: &ExportGridArgs) -> Result<()> {
    let ExportGridArgs {
        surface,
        format,
        out,
    } = args;
    let written = export_grid(surface, format, out, crate::meta::command_line())?;
    println!(
        "{} arrays ({}) and {SIDECAR}: {}",
        written.arrays.len(),
        written
            .format
            .iter()
            .map(|f| f.extension())
            .collect::<Vec<_>>()
            .join(", "),
        out.display()
    );
    Ok(())
}
