//! `advland compare`: every measure of several runs per checkpoint (the rules in
//! [`advland_schema::compare`]), in one table and one report (`compare.json`), with
//! measure-versus-epoch figures (robust overfitting shows there).

use std::path::PathBuf;

use advland_schema::compare::compare_runs;
use advland_schema::{Report, write_json};
use anyhow::Result;
use clap::Args;

use crate::meta::meta;

/// `advland compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Run directories (each with a `train.json`), in the order to show them.
    #[arg(required = true)]
    pub runs: Vec<PathBuf>,
    /// Output directory: `compare.json`, and with figures `index.html` + `figures/`.
    #[arg(long)]
    pub out: PathBuf,
    /// Only the table and `compare.json`, no figures.
    #[arg(long)]
    pub no_figures: bool,
}

/// Runs `advland compare`.
pub fn run(args: &CompareArgs, device_name: &str) -> Result<()> {
    let start = std::time::Instant::now();
    advland_schema::check_output(&args.out.join("compare.json"))?;
    let report = compare_runs(&args.runs)?;
    let config = serde_json::json!({
        "runs": args.runs.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
    });
    let mut meta = meta(device_name, 0, &config, report.data.clone());
    meta.duration_s = start.elapsed().as_secs_f64();
    let path = args.out.join("compare.json");
    write_json(&path, &Report::of(meta, report.clone()))?;
    print!("{report}");
    if !args.no_figures {
        let summary = crate::render::write(
            std::slice::from_ref(&path),
            &args.out,
            crate::render::LogColour::Auto,
        )?;
        println!("figures: {}", summary.index.display());
    }
    println!("report: {}", path.display());
    Ok(())
}
