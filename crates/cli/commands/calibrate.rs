//! `advland calibrate`: the radius of the other norm's attack that matches a reference attack's
//! strength on a model (paper.md §3.2 option (c)), by bisection inside the bracket the balls'
//! geometry gives.

use std::path::PathBuf;

use advland_analysis::calibrate::CalibrateConfig;
use advland_analysis::load::ModelSource;
use advland_schema::{AttackRequest, Norm, PgdSettings};
use anyhow::Result;
use burn::tensor::Device;
use clap::Args;

/// `advland calibrate`.
#[derive(Debug, Args)]
pub struct CalibrateArgs {
    /// The model.
    #[command(flatten)]
    pub source: ModelSource,
    /// The reference attack (PGD steps and step size rule shared by every attack).
    #[command(flatten)]
    pub reference: AttackRequest,
    /// The norm whose radius is searched (default: the other one).
    #[arg(long, value_enum)]
    pub to: Option<Norm>,
    /// How the search runs.
    #[command(flatten)]
    pub config: CalibrateConfig,
    /// Report path (default: `calibrate-<norm>.json` in the checkpoint directory).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

impl CalibrateArgs {
    /// The configuration these arguments ask for; `trained` (the checkpoint's training attack)
    /// gives whichever of --norm/--eps is not given (else linf, 0.1).
    fn config(&self, trained: Option<&PgdSettings>) -> CalibrateConfig {
        let defaults = CalibrateConfig::new(self.reference.or_standard(trained));
        CalibrateConfig {
            reference: defaults.reference,
            norm: self.to.unwrap_or(defaults.norm),
            ..self.config.clone()
        }
    }
}

/// Runs `advland calibrate`.
pub fn run(args: &CalibrateArgs, device: &Device, device_name: &str) -> Result<()> {
    crate::model_source::run_attack_analysis(
        &args.source,
        args.out.as_ref(),
        device_name,
        |trained| Ok(args.config(trained)),
        device,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{Command, parse_command};

    #[test]
    fn default_flags_give_the_library_defaults() {
        let Command::Calibrate(args) = parse_command(&["calibrate", "--checkpoint", "c"]) else {
            panic!("not calibrate")
        };
        assert_eq!(
            args.config(None),
            CalibrateConfig::new(PgdSettings::new(Norm::Linf, 0.1, 20))
        );
    }
}
