//! `advland merge`: joins the shards of one surface (`surface --shard I/N`) into a complete
//! report, refusing shards that do not belong together.

use std::path::PathBuf;

use advland_schema::merge::{merge_shards, read_shards};
use advland_schema::write_json;
use anyhow::Result;
use clap::Args;

/// `advland merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Shard reports of one surface, in any order.
    #[arg(required = true)]
    pub shards: Vec<PathBuf>,
    /// The merged report.
    #[arg(long)]
    pub out: PathBuf,
}

/// Runs `advland merge`.
pub fn run(args: &MergeArgs) -> Result<()> {
    advland_schema::check_output(&args.out)?;
    let reports = read_shards(&args.shards)?;
    let mut merged = merge_shards(&reports)?;
    merged.meta.command = crate::meta::command_line();
    write_json(&args.out, &merged)?;
    println!(
        "merged {} shards into {} ({} points)",
        reports.len(),
        args.out.display(),
        merged.data.points.len()
    );
    Ok(())
}
