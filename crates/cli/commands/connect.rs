//! `advland connect`: mode connectivity between two checkpoints (Garipov et al. 2018): trains
//! the control point φ of the quadratic Bézier curve θ(t) = (1 − t)²·θ_A + 2t(1 − t)·φ + t²·θ_B
//! on the clean or adversarial training loss, then scans loss and accuracy along the curve and
//! along the straight line (the interpolation of `surface --to`).

use std::path::PathBuf;
use std::time::Instant;

use advland_analysis::connectivity::{self, ConnectConfig};
use advland_analysis::load::ModelSource;
use advland_schema::ObjectiveKind;
use advland_train::checkpoint::CHECKPOINT_FILE;
use anyhow::{Context, Result, bail};
use burn::tensor::Device;
use clap::Args;

use crate::args::flag_error;
use crate::model_source::write_report;

/// `advland connect`.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// θ_A, the start of the curve (its data: the training split the curve trains on, the
    /// test split it is scanned on).
    #[command(flatten)]
    pub source: ModelSource,
    /// θ_B, the end: a checkpoint of the same architecture (a weights file with --weights).
    #[arg(long, value_name = "PATH")]
    pub to: PathBuf,
    /// The attack of adversarial training and the adversarial scan.
    #[command(flatten)]
    pub attack: advland_schema::OptionalAttack,
    /// The curve's training and scans.
    #[command(flatten)]
    pub config: ConnectConfig,
    /// Save the trained control point φ as a checkpoint directory (θ_A's architecture, data
    /// settings and batch-norm statistics; --checkpoint only).
    #[arg(long, value_name = "DIR")]
    pub save_curve: Option<PathBuf>,
    /// Report path (default: `connectivity.json` in the checkpoint directory).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

impl ConnectArgs {
    /// The configuration these arguments ask for; `trained` is the checkpoint's training
    /// attack, the default of whichever of --norm/--eps is not given.
    fn config(&self, trained: Option<&advland_schema::PgdSettings>) -> Result<ConnectConfig> {
        let config = &self.config;
        let needed = config.objective == ObjectiveKind::Adversarial || config.scan_adversarial;
        let needed_by = "--objective adversarial or --scan-adversarial";
        let attack = self.attack.require(needed, trained, needed_by)?;
        Ok(ConnectConfig {
            attack,
            ..config.clone()
        })
    }
}

/// Runs `advland connect`.
pub fn run(args: &ConnectArgs, device: &Device, device_name: &str) -> Result<()> {
    let start = Instant::now();
    let out = args.source.out_or(args.out.as_ref(), "connectivity.json")?;
    advland_schema::check_output(&out)?;
    if let Some(dir) = &args.save_curve {
        if !args.source.weights.weights.is_empty() {
            bail!("--save-curve: takes --checkpoint (a weights file brings no run settings)");
        }
        advland_schema::check_output(&dir.join(CHECKPOINT_FILE))?;
    }
    let subject = args.source.training_subject(device)?;
    let config = args.config(subject.trained_with.as_ref())?;
    let to = args
        .source
        .model_at(&args.to, subject.shape(), device)
        .with_context(|| format!("--to {}", args.to.display()))?;
    let to_name = args.to.display().to_string();
    let (measured, trained) = connectivity::measure(
        &subject,
        &to,
        &to_name,
        &config,
        device,
        &mut advland_train::Silent,
    )
    .map_err(flag_error)?;
    if let Some(dir) = &args.save_curve {
        trained
            .save_control_point(args.source.path()?, &subject.model, dir, device)
            .with_context(|| format!("--save-curve {}", dir.display()))?;
    }
    let run = (device_name, start);
    write_report(measured, &config, config.seed, run, &args.source, &out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{Command, parse_command};

    #[test]
    fn default_flags_give_the_library_defaults() {
        let Command::Connect(args) = parse_command(&["connect", "--checkpoint", "a", "--to", "b"])
        else {
            panic!("not connect")
        };
        assert_eq!(
            args.config(None).expect("resolves"),
            ConnectConfig::default()
        );
    }
}
