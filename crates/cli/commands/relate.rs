//! `advland relate`: input-space flatness next to parameter-space smoothness across
//! checkpoints and attacks, with rank correlations (paper.md §2.4, §5 C5).

use std::path::PathBuf;
use std::time::Instant;

use advland_analysis::load::ModelSource;
use advland_analysis::relate::{DEFAULT_ATTACK_STEPS, RelateConfig, relate};
use advland_schema::ThreatSpec;
use anyhow::Result;
use burn::tensor::Device;
use clap::Args;

use crate::args::{flag_error, parse_threat};
use crate::model_source::write_report;
use crate::progress::Bars;

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
    /// The measurements.
    #[command(flatten)]
    pub config: RelateConfig,
    /// Report path.
    #[arg(long, default_value = "runs/relate.json")]
    pub out: PathBuf,
}

impl RelateArgs {
    fn config(&self) -> RelateConfig {
        RelateConfig {
            attacks: self
                .attacks
                .iter()
                .map(|t| t.resolve(DEFAULT_ATTACK_STEPS))
                .collect(),
            ..self.config.clone()
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
    let measured = measured.map_err(flag_error)?;
    let run = (device_name, start);
    write_report(measured, &config, config.seed, run, &args.source, &args.out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{Command, parse_command};

    #[test]
    fn default_flags_give_the_library_defaults() {
        let Command::Relate(args) = parse_command(&["relate", "--checkpoint", "c"]) else {
            panic!("not relate")
        };
        assert_eq!(args.config(), RelateConfig::default());
    }
}
