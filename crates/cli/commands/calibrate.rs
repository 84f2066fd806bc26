//! `advland calibrate`: the radius of the other norm's attack that matches a reference attack's
//! strength on a model (paper.md §3.2 option (c)), by bisection inside the bracket the balls'
//! geometry gives.

use std::path::PathBuf;

use advland_analysis::calibrate::{CalibrateConfig, calibrate};
use advland_schema::{AttackRequest, CalibrateReport, MatchOn, Norm, PgdSettings};
use anyhow::Result;
use burn::tensor::Device;
use clap::Args;

use advland_analysis::load::ModelSource;

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
    let (report, out) = crate::model_source::run_attack_analysis(
        &args.source,
        args.out.as_ref(),
        "calibrate",
        device_name,
        |trained| Ok(args.config(trained)),
        |subject, config| calibrate(subject, config, device, &mut advland_train::Silent),
        device,
    )?;
    print_summary(&report.data);
    println!("report: {}", out.display());
    Ok(())
}

fn print_summary(r: &CalibrateReport) {
    let on = match r.matched_on {
        MatchOn::Accuracy => "accuracy",
        MatchOn::Loss => "loss",
    };
    println!(
        "reference {} eps={} PGD-{}: accuracy {:.4}, loss {:.4}",
        r.reference.norm,
        r.reference.eps,
        r.reference.steps,
        r.reference_metrics.accuracy,
        r.reference_metrics.loss
    );
    println!("| {} eps | accuracy | loss |", r.norm);
    println!("|---|---|---|");
    for s in &r.steps {
        println!(
            "| {:.6} | {:.4} | {:.4} |",
            s.eps, s.metrics.accuracy, s.metrics.loss
        );
    }
    println!(
        "matched {on}: {} eps = {:.6} ({:.3} x the reference radius; bracket [{:.4}, {:.4}] from d = {}), \
         accuracy {:.4}, loss {:.4}",
        r.norm,
        r.eps,
        r.ratio,
        r.bracket[0],
        r.bracket[1],
        r.dimension,
        r.metrics.accuracy,
        r.metrics.loss
    );
    if !r.bracketed {
        println!(
            "warning: the attacks at the bracket's ends do not enclose the target (PGD is not \
             exact; try more --steps): the radius is the nearer end"
        );
    } else if !r.converged {
        println!(
            "warning: --max-evaluations ran out before the bracket was --relative-width narrow"
        );
    }
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
