//! `advland sharpness`: parameter-space smoothness and sharpness of a checkpoint's loss
//! (paper.md §3.2 E-B): Hessian eigenvalues, gradient-Lipschitz probes, gradient jumps.

use std::path::PathBuf;
use std::time::Instant;

use advland_analysis::load::ModelSource;
use advland_analysis::sharpness::{self, SharpnessConfig};
use advland_schema::{ObjectiveKind, PgdSettings};
use anyhow::Result;
use burn::tensor::Device;
use clap::Args;

use crate::args::flag_error;
use crate::model_source::write_report;

/// `advland sharpness`.
#[derive(Debug, Args)]
pub struct SharpnessArgs {
    /// The model(s).
    #[command(flatten)]
    pub source: ModelSource,
    /// The attack of the adversarial objectives.
    #[command(flatten)]
    pub attack: advland_schema::OptionalAttack,
    /// What to measure and how.
    #[command(flatten)]
    pub config: SharpnessConfig,
    /// Report path (default: next to the checkpoint).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

impl SharpnessArgs {
    /// The configuration these arguments ask for; `trained` is the checkpoint's training
    /// attack, the default of whichever of --norm/--eps is not given.
    fn config(&self, trained: Option<&PgdSettings>) -> Result<SharpnessConfig> {
        let objective = self.config.objective;
        let needed_by = format!("--objective {}", objective.as_str());
        let attack = self
            .attack
            .require(objective != ObjectiveKind::Clean, trained, &needed_by)?;
        Ok(SharpnessConfig {
            attack,
            ..self.config.clone()
        })
    }
}

/// Runs `advland sharpness`.
pub fn run(args: &SharpnessArgs, device: &Device, device_name: &str, quiet: bool) -> Result<()> {
    let start = Instant::now();
    let out = match &args.out {
        Some(out) => out.clone(),
        None => default_out(args)?,
    };
    advland_schema::check_output(&out)?;
    let (subject, later) = args.source.trajectory(device)?;
    subject
        .check_subset(args.config.subset, "subset")
        .map_err(flag_error)?;
    let config = args.config(subject.trained_with.as_ref())?;
    // The estimators report no intermediate progress, so a ticking spinner with the elapsed
    // time shows the run is alive.
    let spinner = crate::progress::spinner(
        &format!(
            "sharpness {} ({})",
            args.config.estimator.as_str(),
            args.config.objective.as_str()
        ),
        quiet,
    );
    let measured = sharpness::measure(
        &subject,
        &later,
        &config,
        device,
        &mut advland_train::Silent,
    );
    spinner.finish_and_clear();
    let measured = measured.map_err(flag_error)?;
    let run = (device_name, start);
    write_report(measured, &config, config.seed, run, &args.source, &out)?;
    Ok(())
}

/// Where a report goes without `--out`: with the (first) checkpoint or weights file.
fn default_out(args: &SharpnessArgs) -> Result<PathBuf> {
    Ok(args.source.default_out(&format!(
        "sharpness-{}-{}.json",
        args.config.estimator.as_str(),
        args.config.objective.as_str()
    ))?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{Command, parse_command};
    use advland_schema::{Norm, PgdSettings};

    /// The flags' defaults are the library's, so a report from the command line and one from
    /// `SharpnessConfig::default()` mean the same measurement.
    #[test]
    fn default_flags_give_the_library_defaults() {
        let Command::Sharpness(args) =
            parse_command(&["sharpness", "hessian", "--checkpoint", "c"])
        else {
            panic!("not sharpness")
        };
        let trained = PgdSettings::new(Norm::L2, 0.5, 7);
        let config = args.config(Some(&trained)).expect("resolves");
        assert_eq!(
            config,
            SharpnessConfig {
                attack: Some(PgdSettings::new(Norm::L2, 0.5, 10)),
                ..SharpnessConfig::default()
            }
        );
    }
}
