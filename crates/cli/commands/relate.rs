//! `advland relate`: input-space flatness next to parameter-space smoothness across
//! checkpoints and attacks, with rank correlations (paper.md §2.4, §5 C5).

use std::path::PathBuf;
use std::time::Instant;

use advland_analysis::relate::{RelateConfig, relate};
use advland_schema::{ThreatSpec, write_json};
use anyhow::Result;
use burn::tensor::Device;
use clap::Args;

use crate::args::{at_least_one, parse_threat, positive_number};
use crate::meta::report;
use crate::model_source::ModelSource;
use crate::progress::Bars;
use crate::tables::print_relation;

/// `advland relate`.
#[derive(Debug, Args)]
pub struct RelateArgs {
    /// Checkpoint directories (several epochs, norms, ε).
    #[command(flatten)]
    pub source: ModelSource,
    /// Attacks as `NORM:EPS[:STEPS]`; repeatable (default: each checkpoint's training attack,
    /// or linf:0.1 for standard training).
    #[arg(long = "attack", value_parser = parse_threat)]
    pub attacks: Vec<ThreatSpec>,
    /// Test examples (evenly spaced) for both measurements.
    #[arg(long, value_parser = at_least_one, default_value_t = 64)]
    pub subset: usize,
    /// κ probe radii as fractions of ‖θ‖.
    #[arg(long, value_delimiter = ',', value_parser = positive_number, default_value = "1e-3,1e-2")]
    pub radii: Vec<f64>,
    /// Random directions per radius.
    #[arg(long, default_value_t = 2)]
    pub directions: usize,
    /// Ascent steps of the worst-case κ probe (counted in κ's maximum).
    #[arg(long, default_value_t = 2)]
    pub ascent_steps: usize,
    /// Power-iteration steps of the input-Hessian eigenvalue.
    #[arg(long, default_value_t = 20)]
    pub power_iterations: usize,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Report path.
    #[arg(long, default_value = "runs/relate.json")]
    pub out: PathBuf,
}

impl RelateArgs {
    fn config(&self) -> RelateConfig {
        let Self {
            source: _,
            attacks,
            subset,
            radii,
            directions,
            ascent_steps,
            power_iterations,
            seed,
            out: _,
        } = self;
        RelateConfig {
            // An attack without its own step count takes PGD-10 (that of a checkpoint's own
            // attack when none is given).
            attacks: attacks.iter().map(|t| t.resolve(10)).collect(),
            subset: *subset,
            radii: radii.clone(),
            directions: *directions,
            ascent_steps: *ascent_steps,
            power_iterations: *power_iterations,
            seed: *seed,
        }
    }
}

/// Runs `advland relate`.
pub fn run(args: &RelateArgs, device: &Device, device_name: &str, quiet: bool) -> Result<()> {
    let start = Instant::now();
    advland_schema::check_output(&args.out)?;
    let config = args.config();
    let mut bars = Bars::new("relate", quiet);
    let measured = relate(args.source.subjects(device), &config, device, &mut bars);
    bars.finish();
    let mut report = report(measured?, &config, config.seed, device_name, start);
    report.meta.weights = args.source.provenance();
    write_json(&args.out, &report)?;
    print_relation(&report.data);
    println!("report: {}", args.out.display());
    Ok(())
}
